"""A clock that moves only when told: tests of time (pacing, "delivery is failing" after hours) run
in no time and exactly, instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsbot.clock import Clock


class FakeClock(Clock):
    def __init__(self, start: datetime | None = None):
        self._now = start or datetime.now(UTC)
        self._monotonic = 1000.0
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(timedelta(seconds=seconds))

    def advance(self, by: timedelta) -> None:
        self._now += by
        self._monotonic += by.total_seconds()
