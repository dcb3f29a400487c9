"""Drain the outbox: every alert is recorded as being sent before it leaves, and as sent after.

Guarantees, in order of the steps:
- never lost: an alert leaves the outbox only when Slack accepted it; failures keep it pending
  (with Slack's Retry-After as its next attempt), and a destination that fails is left for the
  next run instead of being hammered;
- never twice (bot token): an alert a crashed run was sending is looked up in the channel's
  history by the alert id in its metadata before it is sent again; with a webhook there is no
  way to look, so `delivery: at_least_once` resends it and `at_most_once` marks it unconfirmed;
- paced: at most one message per `seconds_between_messages` per destination, and more than
  `digest_over` alerts for one destination become one digest (details in its thread);
- reported: alerts undelivered for longer than `failing_after` are announced once per episode,
  as soon as Slack answers again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from alerts.format import (
    build_also_in,
    build_digest,
    build_message,
    build_notice,
    plain_also_in,
    plain_digest,
    plain_text,
)
from alerts.routing import TERMINAL, Destination
from alerts.sinks import Outgoing, Poster, PostResult
from alerts.slack import LookBackError
from newsbot.models import Alert, AlertKind, Match, SourceNotice

DELIVERY_FAILING = "delivery_failing"


class Outbox(Protocol):
    """The part of newsbot.storage.Storage that delivery uses."""

    def due_alerts(self, when: datetime) -> list[Alert]: ...
    def start_attempt(self, alerts: Sequence[str], destination: str, when: datetime) -> None: ...
    def mark_sent(
        self, alerts: Sequence[str], when: datetime, channel: str | None = None, ts: str | None = None
    ) -> None: ...
    def mark_failed(self, alerts: Sequence[str], error: str, retry_at: datetime | None) -> None: ...
    def mark_unconfirmed(self, alert: str, note: str) -> None: ...
    def thread_of(self, story: str, destination: str) -> str | None: ...
    def undelivered(self, queued_before: datetime | None = None) -> list[dict[str, Any]]: ...
    def last_notice(self, kind: str) -> datetime | None: ...
    def record_notice(self, kind: str, when: datetime, detail: str) -> None: ...
    def pending_source_notices(self) -> list[SourceNotice]: ...
    def sent_message(self, alert: str) -> tuple[str, str] | None: ...
    def alert_status(self, alert: str) -> str | None: ...
    def mark_source_notice(self, notice: int, sent_at: datetime | None, error: str | None = None) -> None: ...


@dataclass(frozen=True)
class Policy:
    route: Callable[[Match], Destination]
    seconds_between_messages: float = 1.0
    digest_over: int = 20
    failing_after: timedelta = timedelta(hours=6)
    at_most_once: bool = False
    unfurl_links: bool = False
    notices_to: Destination | None = None  # None: no notices (terminal, dry run)
    ops_to: Destination | None = None  # source health notices; None: kept in the database only


@dataclass
class DeliveryReport:
    sent: int = 0
    digests: int = 0
    errors: list[str] = field(default_factory=list)
    slack_answered: bool = False


class Pacer:
    """At most one message per interval per destination (Slack allows about one per second)."""

    def __init__(self, interval: float):
        self.interval = interval
        self._last: dict[str, float] = {}

    def wait(self, key: str) -> None:
        if key in self._last:
            time.sleep(max(0.0, self._last[key] + self.interval - time.monotonic()))
        self._last[key] = time.monotonic()


def now_utc() -> datetime:
    return datetime.now(UTC)


class _Drain:
    def __init__(self, outbox: Outbox, poster: Poster, policy: Policy):
        self.outbox, self.poster, self.policy = outbox, poster, policy
        self.pacer = Pacer(policy.seconds_between_messages)
        self.report = DeliveryReport()

    def run(self) -> DeliveryReport:
        groups: dict[Destination, list[Alert]] = {}
        copies: list[Alert] = []
        for alert in self.outbox.due_alerts(now_utc()):
            if alert.kind is AlertKind.ALSO_IN:
                copies.append(alert)
            else:
                groups.setdefault(self.policy.route(alert.match), []).append(alert)
        for destination, alerts in groups.items():
            to_send = [alert for alert in alerts if self._needs_sending(destination, alert)]
            if len(to_send) > self.policy.digest_over:
                self._send_digest(destination, to_send)
            else:
                for alert in to_send:
                    if not self._send_one(destination, alert):
                        break  # this destination is failing: the rest wait for the next run
        for alert in copies:
            if not self._add_copy(alert):
                break  # Slack is failing: the other copies wait for the next run
        self._announce_failures()
        self._send_source_notices()
        return self.report

    def _add_copy(self, alert: Alert) -> bool:
        """A copy of an alerted story: a reply in the first alert's thread where Slack has one
        (bot token), a line on the terminal, and with a webhook only a record: no second ping.
        False when Slack failed.

        A reply a crashed run may have sent is not sent again: thread replies cannot be looked up
        in the channel's history, and a missing "also in" line costs less than a repeated one.
        """
        destination = self.policy.route(alert.match)
        if alert.in_flight_since is not None or not self.poster.can_look_back:
            if destination == TERMINAL and alert.in_flight_since is None:
                self.poster.post(destination, Outgoing({}, plain_also_in(alert), (alert.id,)))
            self.outbox.mark_sent([alert.id], now_utc())
            return True
        message = alert.parent and self.outbox.sent_message(alert.parent)
        if not message:
            if alert.parent and self.outbox.alert_status(alert.parent) in ("pending", "sending"):
                return True  # the first alert is not in Slack yet: the copy waits for its thread
            self.outbox.mark_sent([alert.id], now_utc())
            return True
        channel, ts = message
        reply = Outgoing(
            build_also_in(alert, unfurl_links=self.policy.unfurl_links), plain_also_in(alert), (alert.id,), ts
        )
        return self._post(Destination(label=channel, channel=channel), reply).ok

    def _needs_sending(self, destination: Destination, alert: Alert) -> bool:
        """False for an alert a crashed run may already have sent, once its fate is settled."""
        if alert.in_flight_since is None:
            return True
        if self.poster.can_look_back:
            try:
                found = self.poster.find(destination, alert.id, alert.in_flight_since)
            except LookBackError as error:
                self.report.errors.append(f"{destination.label}: {error}")
                return False  # still 'sending': the next run asks Slack again
            if found is None:
                return True
            self.outbox.mark_sent([alert.id], now_utc(), found.channel, found.ts)
            return False
        if self.policy.at_most_once:
            self.outbox.mark_unconfirmed(
                alert.id, "a crash interrupted sending it; with delivery: at_most_once it is not sent again"
            )
            return False
        return True

    def _send_one(self, destination: Destination, alert: Alert) -> bool:
        thread = self.outbox.thread_of(alert.story.id, destination.label) if self.poster.can_look_back else None
        message = Outgoing(
            payload=build_message(alert, unfurl_links=self.policy.unfurl_links),
            plain=plain_text(alert),
            alert_ids=(alert.id,),
            thread_ts=thread,
        )
        result = self._post(destination, message)
        if result.ok:
            self.report.sent += 1
        return result.ok

    def _send_digest(self, destination: Destination, alerts: list[Alert]) -> None:
        title = f"newsbot: {len(alerts)} new alerts for {destination.label}"
        digest = Outgoing(
            payload=build_digest(title, alerts, unfurl_links=self.policy.unfurl_links),
            plain=plain_digest(title, alerts),
            alert_ids=tuple(alert.id for alert in alerts),
        )
        result = self._post(destination, digest)
        if not result.ok:
            return
        self.report.sent += len(alerts)
        self.report.digests += 1
        if self.poster.can_look_back and result.ts:
            for alert in alerts:  # details in the digest's thread; the digest already delivered them
                payload = build_message(alert, unfurl_links=self.policy.unfurl_links)
                detail = Outgoing(payload, plain_text(alert), (alert.id,), thread_ts=result.ts)
                self.pacer.wait(destination.label)
                self.poster.post(destination, detail)

    def _post(self, destination: Destination, message: Outgoing) -> PostResult:
        self.outbox.start_attempt(message.alert_ids, destination.label, now_utc())
        self.pacer.wait(destination.label)
        result = self.poster.post(destination, message)
        if result.ok:
            self.report.slack_answered = True
            self.outbox.mark_sent(message.alert_ids, now_utc(), result.channel, result.ts)
            return result
        error = result.error or "unknown error"
        retry_at = now_utc() + timedelta(seconds=result.retry_after) if result.retry_after else None
        self.outbox.mark_failed(message.alert_ids, error, retry_at)
        self.report.errors.append(f"{destination.label}: {error}")
        return result

    def _announce_failures(self) -> None:
        """One notice per episode of alerts stuck for longer than `failing_after`."""
        target = self.policy.notices_to
        if target is None or not self.report.slack_answered:
            return
        stuck = self.outbox.undelivered(queued_before=now_utc() - self.policy.failing_after)
        if not stuck:
            return
        # Stored times have whole seconds: the episode starts at a whole second too, or a notice sent
        # in the same second as the episode began would look older than it and be sent again.
        episode = (min(datetime.fromisoformat(row["created_at"]) for row in stuck) + self.policy.failing_after).replace(
            microsecond=0
        )
        last = self.outbox.last_notice(DELIVERY_FAILING)
        if last is not None and last >= episode:
            return
        causes = sorted({f"{row['destination']}: {row['last_error']}" for row in stuck})
        text = (
            f"newsbot: delivery is failing: {len(stuck)} alerts have waited more than "
            f"{self.policy.failing_after} — " + "; ".join(causes) + ". They are kept and will be sent when fixed."
        )
        result = self.poster.post(target, Outgoing(build_notice(text), text, ()))
        if result.ok:
            self.outbox.record_notice(DELIVERY_FAILING, now_utc(), text)

    def _send_source_notices(self) -> None:
        """Source health changes, oldest first; one that fails waits (with the rest) for the next run."""
        target = self.policy.ops_to
        if target is None:
            return
        for notice in self.outbox.pending_source_notices():
            text = f"newsbot: {notice.text}"
            self.pacer.wait(target.label)
            result = self.poster.post(target, Outgoing(build_notice(text), text, ()))
            if not result.ok:
                error = result.error or "unknown error"
                self.outbox.mark_source_notice(notice.id, None, error)
                self.report.errors.append(f"{target.label}: {error}")
                return
            self.outbox.mark_source_notice(notice.id, now_utc())


def deliver(outbox: Outbox, poster: Poster, policy: Policy) -> DeliveryReport:
    return _Drain(outbox, poster, policy).run()
