"""A Poster that keeps what it is sent in a list: delivery's policy (digests, pacing, failures, stops,
look-ups after a crash) tested in milliseconds. What goes over the wire to Slack is tested through
slack-sdk against tests/servers.py's FakeSlack."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from newsbot.alerts.routing import Destination
from newsbot.alerts.sinks import Outgoing, PostResult


class FakePoster:
    can_look_back = True
    post_window = timedelta(seconds=5)

    def __init__(self) -> None:
        self.posted: list[tuple[Destination, Outgoing, str]] = []  # destination, message, its ts
        self.failing: dict[str, str] = {}  # destination label → the error Slack gives

    def waits_end_when(self, should_stop: Callable[[], bool]) -> None:
        """It never waits."""

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        if destination.label in self.failing:
            return PostResult(ok=False, error=self.failing[destination.label])
        ts = f"{len(self.posted) + 1}.000100"
        self.posted.append((destination, message, ts))
        return PostResult(ok=True, ts=ts, channel=destination.channel)

    def find(
        self,
        destination: Destination,
        alert_ids: Collection[str],
        since: datetime,
        until: datetime,
        thread_ts: str | None = None,
    ) -> dict[str, PostResult]:
        return {
            alert: PostResult(ok=True, ts=ts, channel=where.channel, kind=message.kind)
            for where, message, ts in self.posted
            for alert in message.alert_ids
            if alert in alert_ids and where.label == destination.label
        }

    def messages_to(self, label: str) -> list[Outgoing]:
        return [message for where, message, _ in self.posted if where.label == label]
