"""An outbox in memory, for delivery's policy tests: tests/alerts/test_delivery_policy.py runs every
one of them against this and against the real outbox (a SQLite file), so the fake cannot drift from
what newsbot.storage does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from newsbot.models import Alert, AlertKind, AlertStatus, Severity, SourceNotice
from newsbot.storage.records import TriedAlert


@dataclass
class _Entry:
    alert: Alert
    created_at: datetime
    status: AlertStatus = AlertStatus.PENDING
    attempts: int = 0
    started_at: datetime | None = None
    destination: str | None = None
    thread: str | None = None  # the thread the attempt replied in; a digest's ts once one delivered it
    channel: str | None = None
    ts: str | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    detail_due: bool = False


class FakeOutbox:
    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}
        self.notices: list[tuple[str, datetime | None, str]] = []

    def add(self, alert: Alert, when: datetime) -> None:
        self.entries.setdefault(alert.id, _Entry(alert, when))

    def due_alerts(self, when: datetime) -> list[Alert]:
        due = []
        for entry in sorted(self.entries.values(), key=_due_order):  # stable: then in the order queued
            if entry.status not in (AlertStatus.PENDING, AlertStatus.SENDING):
                continue
            if entry.next_attempt_at is not None and entry.next_attempt_at > when:
                continue
            if entry.status is AlertStatus.SENDING:
                due.append(
                    replace(
                        entry.alert,
                        in_flight_since=entry.started_at,
                        in_flight_to=entry.destination,
                        in_flight_thread=entry.thread,
                    )
                )
            else:
                due.append(entry.alert)
        return due

    def start_attempt(
        self, alerts: Sequence[str], destination: str, when: datetime, thread_ts: str | None = None
    ) -> None:
        for alert in alerts:
            entry = self.entries[alert]
            entry.status, entry.attempts = AlertStatus.SENDING, entry.attempts + 1
            entry.started_at, entry.destination, entry.thread = when, destination, thread_ts

    def mark_sent(
        self,
        alerts: Sequence[str],
        when: datetime,
        channel: str | None = None,
        ts: str | None = None,
        *,
        digest: bool = False,
        detail_due: bool = False,
    ) -> None:
        for alert in alerts:
            entry = self.entries[alert]
            entry.status, entry.sent_at, entry.last_error, entry.next_attempt_at = AlertStatus.SENT, when, None, None
            entry.channel, entry.ts, entry.detail_due = channel, ts, detail_due
            if digest:
                entry.thread = ts

    def due_details(self, limit: int) -> list[Alert]:
        owed = [entry for entry in self.entries.values() if entry.detail_due]
        owed.sort(
            key=lambda entry: (entry.thread or "", -entry.alert.match.severity.rank, entry.created_at, entry.alert.id)
        )
        return [entry.alert for entry in owed[:limit]]

    def set_detail_due(self, alert: str, due: bool) -> None:
        self.entries[alert].detail_due = due

    def mark_failed(self, alerts: Sequence[str], error: str, retry_at: datetime | None) -> None:
        for alert in alerts:
            entry = self.entries[alert]
            entry.status, entry.last_error, entry.next_attempt_at = AlertStatus.PENDING, error, retry_at

    def mark_unknown(self, alerts: Sequence[str], error: str) -> None:
        for alert in alerts:
            if self.entries[alert].status is AlertStatus.SENDING:
                self.entries[alert].last_error = error

    def mark_unconfirmed(self, alert: str, note: str) -> None:
        self.entries[alert].status, self.entries[alert].last_error = AlertStatus.UNCONFIRMED, note

    def thread_of(self, story: str, destination: str, severity: Severity) -> str | None:
        own = [
            entry
            for entry in self.entries.values()
            if entry.alert.story.id == story
            and entry.destination == destination
            and entry.ts
            and entry.thread is None
            and entry.alert.match.severity.rank >= severity.rank
        ]
        own.sort(key=lambda entry: (entry.sent_at or entry.created_at, float(entry.ts or 0)))
        return own[0].ts if own else None

    def waiting(self, queued_before: datetime) -> list[TriedAlert]:
        return [
            TriedAlert(
                entry.alert.id,
                entry.alert.match.watchlist,
                entry.destination,
                entry.attempts,
                entry.last_error,
                entry.created_at,
                entry.status,
                entry.alert.story.title,
            )
            for entry in self.entries.values()
            if entry.status in (AlertStatus.PENDING, AlertStatus.SENDING)
            and entry.attempts > 0
            and entry.created_at < queued_before
        ]

    def last_notice(self, kind: str) -> datetime | None:
        return max((when for noticed, when, _ in self.notices if noticed == kind and when), default=None)

    def record_notice(self, kind: str, when: datetime | None, detail: str) -> None:
        self.notices.append((kind, when, detail))

    def unsent_notice(self, kind: str) -> tuple[int, str] | None:
        return next(
            (
                (number, detail)
                for number, (noticed, when, detail) in enumerate(self.notices)
                if noticed == kind and not when
            ),
            None,
        )

    def mark_notice_sent(self, notice: int, when: datetime) -> None:
        kind, _, detail = self.notices[notice]
        self.notices[notice] = (kind, when, detail)

    def pending_source_notices(self) -> list[SourceNotice]:
        return []

    def mark_source_notice(self, notice: int, sent_at: datetime | None, error: str | None = None) -> None:
        raise AssertionError("the fake outbox holds no source notices")

    def mute_waiting(self, alerts: Sequence[Alert], now: datetime) -> set[str]:
        return set()  # the fake outbox knows no mutes (tests/alerts/test_mute_at_sending.py uses Storage)

    def sent_message(self, alert: str) -> tuple[str, str] | None:
        entry = self.entries.get(alert)
        if entry is None or entry.status is not AlertStatus.SENT:
            return None
        thread = entry.thread or entry.ts
        return (entry.channel, thread) if entry.channel and thread else None

    def line_in_thread(self, story: str, channel: str, thread: str) -> str | None:
        statuses = {
            entry.status
            for entry in self.entries.values()
            if entry.alert.story.id == story
            and entry.alert.kind is AlertKind.ALSO_IN
            and entry.status in (AlertStatus.SENT, AlertStatus.SENDING)
            and channel in (entry.channel, entry.destination)
            and entry.thread == thread
        }
        return AlertStatus.SENT if AlertStatus.SENT in statuses else next(iter(statuses), None)

    def known_channel(self, destination: str) -> str | None:
        sent = [
            entry
            for entry in self.entries.values()
            if entry.destination == destination and entry.status is AlertStatus.SENT and entry.channel
        ]
        return max(sent, key=lambda entry: entry.sent_at or entry.created_at).channel if sent else None

    def alert_status(self, alert: str) -> str | None:
        entry = self.entries.get(alert)
        return entry.status if entry else None


def _due_order(entry: _Entry) -> tuple[datetime, bool, datetime, int]:
    """The outbox's order: queued first, then the story's own time, undated last, the most severe first."""
    published = entry.alert.story.published_at
    return (entry.created_at, published is None, published or entry.created_at, -entry.alert.match.severity.rank)
