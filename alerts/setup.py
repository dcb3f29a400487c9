"""Build the poster and delivery policy from newsbot.yaml: Slack (webhook or bot token) or the terminal."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from newsbot.alerts.deliver import Policy
from newsbot.alerts.routing import TERMINAL, default_destination, ops_destination, route
from newsbot.alerts.sinks import Poster
from newsbot.alerts.slack import BotPoster, WebhookPoster
from newsbot.alerts.terminal import PayloadPrinter, TerminalPoster
from newsbot.configuration.config import Config


def delivery(config: Config, *, dry_run: bool = False) -> tuple[Poster, Policy]:
    slack = config.settings.slack
    if slack is None:
        return (PayloadPrinter() if dry_run else TerminalPoster()), Policy(
            route=lambda match: TERMINAL, seconds_between_messages=0, digest_over=10**9, ops_to=TERMINAL
        )
    watchlists = {watchlist.config.name: watchlist.config for watchlist in config.watchlists}
    policy = Policy(
        route=partial(route, slack=slack, watchlists=watchlists),
        seconds_between_messages=0 if dry_run else slack.seconds_between_messages,
        digest_over=slack.digest_over,
        failing_after=timedelta(hours=slack.failing_after_hours),
        at_most_once=slack.delivery == "at_most_once",
        unfurl_links=slack.unfurl_links,
        # Buttons only where a click can reach newsbot: a bot token's message, from an app `newsbot serve` runs.
        feedback_buttons=slack.token is not None and bool(slack.signing_secret or slack.app_token),
        notices_to=None if dry_run else default_destination(slack),
        ops_to=ops_destination(slack),
    )
    if dry_run:
        return PayloadPrinter(), policy
    if slack.token is not None:
        poster: Poster = BotPoster(
            token=slack.token,
            api_url=slack.api_url,
            timeout=slack.timeout_seconds,
            max_retry_after_seconds=slack.max_retry_after_seconds,
        )
    else:
        webhooks = (slack.webhook_url, slack.ops_webhook_url, *(w.webhook_url for w in watchlists.values()))
        secrets = tuple(url for url in webhooks if url)
        poster = WebhookPoster(
            timeout=slack.timeout_seconds,
            max_retry_after_seconds=slack.max_retry_after_seconds,
            secrets=secrets,
        )
    return poster, policy
