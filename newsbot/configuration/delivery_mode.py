"""Which way alerts leave, as `newsbot check` says it, and the routing keys that way cannot obey.

newsbot delivers in one of three modes, decided by newsbot.yaml's `slack:` section alone: no section
is the terminal, `webhook_url:` is incoming webhooks (each posts to the one channel it was created
for), `token:` is a bot token (any channel, threads, buttons). A watchlist file may carry routing for
either mode (`channel:` for a token, `webhook_url:` for webhooks), and a file written for one mode
stays valid under the other, where that key does nothing. `check` names the mode and where alerts
go, and warns at `file:line` about each routing key the mode ignores, so that nobody expects an
alert in `#sec-incidents` from a webhook that posts to `#general`.
"""

from __future__ import annotations

from newsbot.configuration.config import Config, SlackConfig
from newsbot.configuration.watchlists import Watchlist


def describe_delivery(config: Config) -> str:
    """Where alerts go, for `check`'s OK line: the mode first, in the words the README uses."""
    slack = config.settings.slack
    if slack is None:
        return "the terminal (no slack: section in newsbot.yaml)"
    if slack.token is not None:
        return f"Slack (bot token; alerts with no other route to {slack.channel}){_token_routes(config, slack)}"
    return f"Slack (incoming webhook){_webhook_routes(config, slack)}"


def ignored_routing(config: Config) -> list[str]:
    """`file:line: sentence` for every routing key of a watchlist the configured mode does not use."""
    slack = config.settings.slack
    if slack is None:
        return []
    if slack.token is not None:
        return [
            f"{watchlist.where(('webhook_url',))}: webhook_url: is for incoming webhooks, but newsbot.yaml "
            f"sets slack.token, so alerts of '{watchlist.config.name}' do not go to this webhook; "
            "give the watchlist a channel: instead"
            for watchlist in config.watchlists
            if watchlist.config.webhook_url is not None
        ]
    return [warning for watchlist in config.watchlists for warning in _channels_without_token(watchlist)]


def _channels_without_token(watchlist: Watchlist) -> list[str]:
    why = (
        "is for a bot token, but newsbot.yaml sets slack.webhook_url, and a webhook posts only to the channel "
        "it was created for"
    )
    warnings = []
    if watchlist.config.channel is not None:
        warnings.append(
            f"{watchlist.where(('channel',))}: channel: {why}; give the watchlist a webhook_url: of that channel "
            "instead, or use slack.token"
        )
    for index, rule in enumerate(watchlist.config.rules):
        if rule.channel is not None:
            warnings.append(
                f"{watchlist.where(('rules', index, 'channel'))}: rule '{rule.name}' sets channel: which {why}; "
                "with webhooks a rule cannot have a channel of its own (use slack.token)"
            )
    return warnings


def _token_routes(config: Config, slack: SlackConfig) -> str:
    routes = [f"{severity} alerts to {channel}" for severity, channel in slack.severity_channels.items()]
    routes += [
        f"watchlist '{watchlist.config.name}' to {watchlist.config.channel}"
        for watchlist in config.watchlists
        if watchlist.config.channel
    ]
    if slack.ops_channel:
        routes.append(f"source health to {slack.ops_channel}")
    return f"; {', '.join(routes)}" if routes else ""


def _webhook_routes(config: Config, slack: SlackConfig) -> str:
    routes = [
        f"watchlist '{watchlist.config.name}' to its own webhook"
        for watchlist in config.watchlists
        if watchlist.config.webhook_url
    ]
    if slack.ops_webhook_url:
        routes.append("source health to slack.ops_webhook_url")
    return f"; {', '.join(routes)}" if routes else ""
