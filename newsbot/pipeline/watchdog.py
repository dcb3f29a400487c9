"""The last resort that keeps a run's bounds when the run itself cannot: the process ends itself.

The budget (newsbot.pipeline.budget) is kept by the run's own parts stopping: no request starts, downloads
in flight are cancelled, no message starts. That needs the crawl's thread free to hear it, and a
spider callback that never returns (a user's spider waiting on something, a parser stuck on a
page) holds that thread: the run would go on holding the lock while every later cron run exits
LOCKED. So a thread of its own watches the clock, and once the run is past every bound it writes
one sentence to stderr and ends the process with `os._exit`.

Ending there loses nothing, by the run's design (newsbot.pipeline.run): each step commits what it finished
and nothing is marked done before it is, so an uncommitted transaction is rolled back by SQLite, a
source not stored is fetched again, a message being sent is in flight in the outbox and looked up
before it is ever resent, and the kernel releases the run's lock with the process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator

from newsbot.pipeline.budget import RunBudget

OVERRUN_EXIT_STATUS = 6  # documented in the README beside the other exit codes
WINDING_DOWN_SECONDS = 9.0  # after a signal: the run promises to end within 10 s
TICK_SECONDS = 0.25


class Watchdog:
    """Ends the process `winding_down` seconds after a signal, or `overrun` seconds after the
    budget's deadline plus `allowance` (the time the run may take to deliver after the crawl)."""

    def __init__(
        self,
        budget: RunBudget,
        allowance: float,
        overrun: float,
        winding_down: float = WINDING_DOWN_SECONDS,
    ):
        # Real time, not the budget's clock: the last resort must not follow a test's FakeClock.
        self.budget = budget
        self.deadline = time.monotonic() + budget.remaining()
        self.limit = self.deadline + allowance + overrun
        self.winding_down = winding_down
        self._signalled_at: float | None = None
        self._done = threading.Event()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        thread = threading.Thread(target=self._watch, name="newsbot-watchdog", daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._done.set()

    def _watch(self) -> None:
        while not self._done.wait(TICK_SECONDS):
            now = time.monotonic()
            if self._signalled_at is None and self.budget.signal_number is not None:
                self._signalled_at = now  # at most one tick late
            if self._signalled_at is not None and now > self._signalled_at + self.winding_down:
                name = signal.Signals(self.budget.signal_number or signal.SIGTERM).name
                self._end(
                    f"stopped by {name}: the run had not wound down {self.winding_down:g} s later, so it ended "
                    "itself; what was stored stays, unsent alerts wait for the next run",
                    128 + (self.budget.signal_number or signal.SIGTERM),
                )
            if now > self.limit:
                self._end(
                    f"the run was still going {now - self.deadline:.0f} s after its budget "
                    f"of {self.budget.seconds:g} s (fetch.run_budget_seconds) was spent (a spider or a page that "
                    "would not stop?), so it ended itself; what was stored stays, the rest is fetched and sent "
                    "by the next run",
                    OVERRUN_EXIT_STATUS,
                )

    def _end(self, sentence: str, status: int) -> None:
        if self._done.is_set():  # the run ended meanwhile, on its own
            return
        os.write(2, f"newsbot: {sentence}\n".encode())
        os._exit(status)
