"""Where newsbot gets the time: one Clock, handed down from the command to the run, its budget and
its delivery, so a test can stand in a clock that moves only when told instead of sleeping.

Wall time (UTC) is for what is stored and compared with stored times (when an alert was queued,
when delivery started failing); monotonic seconds are for how long something took or may still
take (the run's budget, the pace of messages), which a wall clock set back by NTP must not bend.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """The system's clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = Clock()
