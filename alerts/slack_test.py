"""`newsbot slack-test`: one test message to every place alerts can go, and what Slack said about each.

The first thing a user wants after pasting a webhook or a token is to know it works, rather than find
a run's alerts waiting in the outbox with `channel_not_found`. The destinations are all those
delivery can route to (alerts.routing): with a bot token every distinct channel that `slack.channel`,
`slack.severity_channels`, a watchlist's or a rule's `channel:` and `slack.ops_channel` name; with
webhooks `slack.webhook_url`, each watchlist's `webhook_url:` and `slack.ops_webhook_url`. Messages
go through the poster a run builds (alerts.setup.delivery), so a destination that accepts the test
accepts the run's alerts, and its errors read as a run's do, redacted of every secret.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from newsbot.alerts.format import build_notice
from newsbot.alerts.routing import Destination
from newsbot.alerts.setup import delivery
from newsbot.alerts.sinks import LookBackError, MessageKind, Outgoing, Poster, PostResult
from newsbot.configuration.config import Config, SlackConfig


@dataclass
class Target:
    """One destination and everything routed to it, in words (`alerts of watchlist 'X'`)."""

    name: str  # the channel as configured, or which webhook it is: never the webhook's URL, a secret
    destination: Destination
    uses: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    target: Target
    result: PostResult
    look_back_error: str | None = None  # accepted, but the message could not be looked for (a bot token)

    @property
    def ok(self) -> bool:
        return self.result.ok and self.look_back_error is None

    def describe(self) -> str:
        if self.result.ok and self.look_back_error:
            verdict = (
                f"accepted, but LOOKING BACK FAILED: {self.look_back_error}; after a crash or a lost answer an "
                "alert to it waits, unsent, until newsbot can look"
            )
        elif self.result.ok:
            verdict = "accepted"
        elif self.result.unknown:  # a lost answer, Slack's internal_error: the test message may be there
            verdict = f"NO ANSWER: {self.result.error}; look in the channel for the test message, or try again"
        else:
            verdict = f"FAILED: {self.result.error}"
        return f"  {self.target.name} ({'; '.join(self.target.uses)}): {verdict}"


@dataclass(frozen=True)
class SlackTestReport:
    config: Config
    outcomes: tuple[Outcome, ...]

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes)

    def describe(self) -> str:
        slack = self.config.settings.slack
        if slack is None:
            return no_slack_sentence(self.config)
        lines = [heading(slack, len(self.outcomes)), *(outcome.describe() for outcome in self.outcomes), self.closing()]
        return "\n".join(lines)

    def closing(self) -> str:
        """The last line: how many accepted, and what a refusal means for alerts."""
        accepted = sum(outcome.result.ok for outcome in self.outcomes)
        refused = any(not outcome.result.ok and not outcome.result.unknown for outcome in self.outcomes)
        consequence = ": alerts routed to a FAILED one wait in the outbox until it is fixed" if refused else ""
        blind = sum(outcome.look_back_error is not None for outcome in self.outcomes)
        if blind:
            consequence += f"; newsbot cannot look back in {blind} of them (see above)"
        return f"{accepted} of {len(self.outcomes)} accepted{consequence}"


def no_slack_sentence(config: Config) -> str:
    """What slack-test says without a slack: section: the terminal needs no test, and nothing is sent."""
    return (
        f"newsbot slack-test: {config.path} has no slack: section, so alerts go to the terminal; "
        "nothing was sent (add slack: webhook_url: or token: to post them to Slack)"
    )


def heading(slack: SlackConfig, count: int) -> str:
    """The first line, said before any message is sent."""
    mode = f"bot token, {slack.api_url}" if slack.token is not None else "incoming webhooks"
    to = "1 destination" if count == 1 else f"each of {count} destinations"
    return f"newsbot slack-test: a test message to {to} ({mode})"


def send_test_messages(config: Config, told: Callable[[Outcome], object] = lambda _: None) -> SlackTestReport:
    """Post one test message to every destination and return what Slack said about each; nothing is
    sent without a slack: section (alerts go to the terminal, which needs no test). `told` hears each
    outcome as it comes: a command ended while a later destination hangs has said the earlier ones."""
    slack = config.settings.slack
    if slack is None:
        return SlackTestReport(config, ())
    poster, _ = delivery(config)
    outcomes = []
    for target in destinations(config, slack):
        text = (
            f"A test message from `newsbot slack-test` on {socket.gethostname()}. "
            f"newsbot posts here: {'; '.join(target.uses)}."
        )
        probe = f"slack-test-{uuid.uuid4().hex}"  # no alert's id: a run's look-ups never take it for one
        started = datetime.now(UTC)
        message = Outgoing(build_notice(text), text, (probe,), kind=MessageKind.NOTICE)
        result = poster.post(target.destination, message)
        outcomes.append(Outcome(target, result, _look_back_error(poster, target, result, probe, started)))
        told(outcomes[-1])
    return SlackTestReport(config, tuple(outcomes))


def _look_back_error(poster: Poster, target: Target, result: PostResult, probe: str, started: datetime) -> str | None:
    """Why the test message could not be looked for, as a run looks for an alert whose answer was
    lost (a bot token only): a token with chat:write alone passed slack-test, and its first lost
    answer left the alert in flight for good. Not found yet is no failure: Slack may still be storing it."""
    if not (result.ok and poster.can_look_back):
        return None
    where = Destination(label=target.destination.label, channel=result.channel or target.destination.channel)
    try:
        poster.find(where, [probe], started, started)
    except LookBackError as error:
        return str(error)
    return None


def destinations(config: Config, slack: SlackConfig) -> list[Target]:
    """Every distinct destination delivery can route to, in the order routing reads the config."""
    targets: dict[str, Target] = {}

    def channel(name: str | None, use: str) -> None:
        if name:  # `#vendor-news` and `vendor-news` are one channel to chat.postMessage
            targets.setdefault(name.lstrip("#"), Target(name, Destination(label=name, channel=name))).uses.append(use)

    def webhook(url: str | None, name: str, use: str) -> None:
        if url:
            destination = Destination(label=name, webhook_url=url)
            targets.setdefault(url.strip(), Target(name, destination)).uses.append(use)

    if slack.token is not None:
        channel(slack.channel, "alerts with no other route, newsbot's notices")
        for severity, name in slack.severity_channels.items():
            channel(name, f"{severity} alerts")
        for watchlist in config.watchlists:
            channel(watchlist.config.channel, f"alerts of watchlist '{watchlist.config.name}'")
            for rule in watchlist.config.rules:
                channel(rule.channel, f"alerts of rule '{rule.name}' ({watchlist.config.name})")
        channel(slack.ops_channel, "source health notices")
    else:
        webhook(slack.webhook_url, "the default webhook", "alerts with no other route, newsbot's notices")
        for watchlist in config.watchlists:
            name = watchlist.config.name
            webhook(watchlist.config.webhook_url, f"the webhook of watchlist '{name}'", f"alerts of watchlist '{name}'")
        webhook(slack.ops_webhook_url, "the ops webhook", "source health notices")
    return list(targets.values())
