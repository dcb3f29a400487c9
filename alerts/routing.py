"""Which Slack channel (bot token) or webhook an alert goes to. Pure, decided at delivery time.

Deciding when sending, not when queuing, means an alert kept because its channel did not exist
goes to the right place once the config is fixed.

Bot token, most specific first: the channel of the most severe rule that fired (if it has one),
`slack.severity_channels` for the alert's severity, the watchlist's `channel`, `slack.channel`.
Webhook: the watchlist's `webhook_url`, else `slack.webhook_url`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from newsbot.configuration.config import SlackConfig
from newsbot.configuration.watchlists import WatchlistConfig
from newsbot.models import Match


@dataclass(frozen=True)
class Destination:
    """A channel name/id (bot token) or a webhook; `label` names it without the webhook secret."""

    label: str
    channel: str | None = None
    webhook_url: str | None = None


TERMINAL = Destination(label="the terminal")


def names_a_channel(label: str) -> bool:
    """Whether a label is a channel's name or id, one a bot token can look in: those never hold a
    space, while the labels of webhooks and the terminal ("the default webhook") always do."""
    return bool(label) and " " not in label


def route(match: Match, slack: SlackConfig, watchlists: Mapping[str, WatchlistConfig]) -> Destination:
    watchlist = watchlists.get(match.watchlist)
    if slack.token is None:
        if watchlist is not None and watchlist.webhook_url:
            return Destination(label=f"the webhook of watchlist '{match.watchlist}'", webhook_url=watchlist.webhook_url)
        return Destination(label="the default webhook", webhook_url=slack.webhook_url)
    by_severity = slack.severity_channels.get(match.severity) if match.rules else None
    channel = _rule_channel(match, watchlist) or by_severity
    if channel is None and watchlist is not None:
        channel = watchlist.channel
    channel = channel or slack.channel
    return Destination(label=channel or "", channel=channel)


def default_destination(slack: SlackConfig) -> Destination:
    """Where newsbot's own notices go (delivery failing, digests of watchlists with no channel)."""
    if slack.token is None:
        return Destination(label="the default webhook", webhook_url=slack.webhook_url)
    return Destination(label=slack.channel or "", channel=slack.channel)


def _rule_channel(match: Match, watchlist: WatchlistConfig | None) -> str | None:
    """The channel of the most severe rule that fired, when it has one; of several as severe, the
    first that has one. A less severe rule's channel is not the alert's: a critical alert went to a
    low rule's `#low-noise` when the critical rule had no channel of its own."""
    if watchlist is None or not match.rules:
        return None
    channels = {rule.name: rule.channel for rule in watchlist.rules if rule.channel}
    return next(
        (channels[hit.rule] for hit in match.rules if hit.severity == match.severity and hit.rule in channels), None
    )


def ops_destination(slack: SlackConfig) -> Destination:
    """Where source health notices go: the ops channel or webhook, else the default destination."""
    if slack.ops_channel:
        return Destination(label=slack.ops_channel, channel=slack.ops_channel)
    if slack.ops_webhook_url:
        return Destination(label="the ops webhook", webhook_url=slack.ops_webhook_url)
    return default_destination(slack)
