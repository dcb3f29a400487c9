"""When a run must stop starting work: its time budget is spent, or SIGTERM/SIGINT asked it to stop.

Cron starts newsbot every ten minutes. A run still going when the next one starts makes that one
exit LOCKED, so every source waits another interval; a run therefore has a budget,
`fetch.run_budget_seconds`, 300 s by default: half the usual interval, which leaves the other half
for what follows the crawl (the last stories matched and delivered, at Slack's pace of one message
a second per channel) and for a slow machine. Keep it under the cron interval minus about three
minutes if you change either.

When the budget is spent, or a signal arrives, no new request starts and the downloads in flight
are cancelled (see newsbot.sources.bounds): every source ends at once with what it had, *cut short*. A
cut-short source keeps its old validators (ETag, Last-Modified, body hash), so the next run fetches
it again and carries on: stories already stored are skipped, the rest are fetched.

No Scrapy here: the config reads the default without loading the crawler.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from newsbot.clock import SYSTEM_CLOCK, Clock

DEFAULT_RUN_BUDGET_SECONDS = 300.0
RUN_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)  # what stops a run, as cron, systemd and Ctrl-C send it
Listener = Callable[[str], None]


class RunBudget:
    """The run's deadline and whether it was interrupted; listeners hear the first stop.

    `interrupt` is called from a signal handler, so listeners must only hand the news over to
    their own loop (the crawl's is `reactor.callFromThread`), never take a lock.
    """

    def __init__(self, seconds: float = DEFAULT_RUN_BUDGET_SECONDS, clock: Clock = SYSTEM_CLOCK):
        self.clock = clock
        self.seconds = seconds
        self.deadline = self.clock.monotonic() + seconds  # the budget counts from the run's start
        self.signal_number: int | None = None
        self.interrupted_at: float | None = None
        self._reason: str | None = None
        self._listeners: list[Listener] = []

    def remaining(self) -> float:
        return max(0.0, self.deadline - self.clock.monotonic())

    @property
    def stopped(self) -> str | None:
        """Why no new work may start (a sentence), or None while it may."""
        if self._reason is None and self.clock.monotonic() >= self.deadline:
            return self._spent
        return self._reason

    @property
    def _spent(self) -> str:
        return f"the run's budget of {self.seconds:g} s (fetch.run_budget_seconds) was spent"

    def expire(self) -> None:
        """The deadline has come (called by a timer): tell the listeners."""
        self._stop(self._spent)

    def interrupt(self, signal_number: int) -> None:
        """A signal asked the run to stop; safe to call from a signal handler."""
        if self.signal_number is None:
            self.signal_number = signal_number
            self.interrupted_at = self.clock.monotonic()
        self._stop(f"the run was interrupted ({signal.Signals(signal_number).name})")

    def stop(self, reason: str) -> None:
        """Stop for a reason heard from elsewhere: a crawling process hears its run's (a sentence)."""
        self._stop(reason)

    def _stop(self, reason: str) -> None:
        if self._reason is not None:
            return
        self._reason = reason
        for listener in list(self._listeners):
            listener(reason)

    @contextlib.contextmanager
    def listening(self, listener: Listener) -> Iterator[None]:
        """Call `listener(reason)` on the first stop while the block runs (at once if stopped already)."""
        self._listeners.append(listener)
        try:
            if self._reason is not None:
                listener(self._reason)
            yield
        finally:
            self._listeners.remove(listener)


class Terminated(BaseException):
    """SIGTERM outside a run's own handling (loading the config, checking the database): the
    command ends as Ctrl-C's KeyboardInterrupt ends it, with a sentence, instead of silently."""

    signal_number = signal.SIGTERM


@contextlib.contextmanager
def stop_on_signals(budget: RunBudget) -> Iterator[None]:
    """SIGTERM and SIGINT interrupt the run instead of killing it; a second one kills it at once.

    Python's default SIGINT raises KeyboardInterrupt wherever the main thread happens to be, and
    SIGTERM ends the process with nothing stored; Scrapy's own handlers (not installed: see
    newsbot.sources.crawl) would wait for every download in flight. Only the main thread may set handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signal_number: int, frame: FrameType | None) -> None:
        if budget.signal_number is not None:  # asked twice: the default action, now
            signal.signal(signal_number, signal.SIG_DFL)
            signal.raise_signal(signal_number)
            return
        budget.interrupt(signal_number)

    previous = {number: signal.signal(number, handle) for number in RUN_STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
