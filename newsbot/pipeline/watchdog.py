"""The last resort that keeps a run's bounds when the run itself cannot: the process ends itself.

The budget (newsbot.pipeline.budget) is kept by the run's own parts stopping: no request starts, downloads
in flight are cancelled, no message starts. That needs the crawl's thread free to hear it, and a
spider callback that never returns (a user's spider waiting on something, a parser stuck on a
page) holds that thread: the run would go on holding the lock while every later cron run exits
LOCKED. So a thread of its own watches the clock, and once the run is past every bound it writes
one sentence to stderr and ends the process with `os._exit`.

It hears a signal on a line of its own: Python runs a signal handler in the main thread only,
between two bytecodes, so a main thread stuck inside one call into C (a query SQLite is still
running, a parser on a huge page) would never tell the budget, and a signal that lands just before
the main thread starts to wait (a sleep, a poll) is answered only when that wait ends. The
interpreter's own C handler writes each signal's number to `signal.set_wakeup_fd` at once, whatever
the main thread is doing, so the watchdog reads its signals there.

Ending there loses nothing, by the run's design (newsbot.pipeline.run): each step commits what it finished
and nothing is marked done before it is, so an uncommitted transaction is rolled back by SQLite, a
source not stored is fetched again, a message being sent is in flight in the outbox and looked up
before it is ever resent, and the kernel releases the run's lock with the process.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from newsbot.pipeline.budget import RUN_STOP_SIGNALS, RunBudget

OVERRUN_EXIT_STATUS = 6  # documented in the README beside the other exit codes
WINDING_DOWN_SECONDS = 9.0  # after a signal: the run promises to end within 10 s
TICK_SECONDS = 0.25


@dataclass(frozen=True)
class Overrun:
    """What the watchdog says of the command it ends: what it was, what may have held it, and what
    becomes of its work."""

    what: str = "the run"
    cause: str = "a spider or a page that would not stop?"
    aftermath: str = "what was stored stays, the rest is fetched and sent by the next run"


class Watchdog:
    """Ends the process `winding_down` seconds after a signal, or `overrun` seconds after the
    budget's deadline plus `allowance` (the time the run may take to deliver after the crawl)."""

    def __init__(
        self,
        budget: RunBudget,
        allowance: float,
        overrun: float,
        winding_down: float = WINDING_DOWN_SECONDS,
        said: Overrun = Overrun(),
    ):
        # Real time, not the budget's clock: the last resort must not follow a test's FakeClock.
        self.said = said
        self.budget = budget
        self.deadline = time.monotonic() + budget.remaining()
        self.limit = self.deadline + allowance + overrun
        self.winding_down = winding_down
        self._signalled_at: float | None = None
        self._heard: int | None = None  # the first stop signal read from the wakeup fd
        self._done = threading.Event()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Watches while the block runs. In the main thread it also takes the process's wakeup fd
        (there is one) for the block, and gives the one before back after."""
        pipe = _WakeupPipe.taken() if threading.current_thread() is threading.main_thread() else None
        thread = threading.Thread(target=self._watch, args=(pipe,), name="newsbot-watchdog", daemon=True)
        try:
            thread.start()
        except BaseException:
            if pipe is not None:
                pipe.give_back()
                pipe.close()
            raise
        try:
            yield
        finally:
            if pipe is not None:
                pipe.give_back()  # before the thread may close it: no signal meets a closed pipe
            self._done.set()

    def _watch(self, pipe: _WakeupPipe | None) -> None:
        try:
            while not self._done.is_set():
                if pipe is None or not self._listened(pipe):
                    self._done.wait(TICK_SECONDS)
                self._check(time.monotonic())
        finally:
            if pipe is not None:  # a tick after it was given back: a handler writing then has written
                pipe.close()

    def _listened(self, pipe: _WakeupPipe) -> bool:
        """Waits a tick, or less if a signal comes, and notes the first stop signal (however stuck the
        main thread is). False if the pipe cannot be read: the watchdog keeps its limits without it."""
        try:
            stops = [number for number in pipe.signals(TICK_SECONDS) if number in RUN_STOP_SIGNALS]
        except OSError:
            return False
        if stops and self._heard is None:
            self._heard = stops[0]
        return True

    def _check(self, now: float) -> None:
        if self._signalled_at is None and (self.budget.signal_number or self._heard) is not None:
            self._signalled_at = now  # at most one tick late
        if self._signalled_at is not None and now > self._signalled_at + self.winding_down:
            number = self.budget.signal_number or self._heard or signal.SIGTERM
            self._end(
                f"stopped by {signal.Signals(number).name}: {self.said.what} had not wound down "
                f"{self.winding_down:g} s later, so it ended itself; {self.said.aftermath}",
                128 + number,
            )
        if now > self.limit:
            self._end(
                f"{self.said.what} was still going {now - self.deadline:.0f} s after its budget "
                f"of {self.budget.seconds:g} s (fetch.run_budget_seconds) was spent ({self.said.cause}), "
                f"so it ended itself; {self.said.aftermath}",
                OVERRUN_EXIT_STATUS,
            )

    def _end(self, sentence: str, status: int) -> None:
        if self._done.is_set():  # the run ended meanwhile, on its own
            return
        os.write(2, f"newsbot: {sentence}\n".encode())
        os._exit(status)


POSTING_OVERRUN_SECONDS = 10.0  # past the budget and allowance, for a command that only posts


def posting_bounded(budget_seconds: float, allowance: float, said: Overrun) -> contextlib.AbstractContextManager[None]:
    """A command that only posts to Slack (`digest`, `slack-test`), kept within a run's budget plus
    `allowance` (the longest its posts may take, Retry-After waits included). slack-sdk's timeout
    bounds each read, and a Slack (or a proxy) answering a byte every few seconds never reaches it:
    such a digest hung for good, one more each morning."""
    budget = RunBudget(budget_seconds)
    return Watchdog(budget, allowance=allowance, overrun=POSTING_OVERRUN_SECONDS, said=said).watching()


class _WakeupPipe:
    """The process's wakeup fd, taken for a while: the interpreter's C handler writes the number of
    each signal with a Python handler to it the moment the signal comes."""

    def __init__(self) -> None:
        self._heard, self._told = os.pipe()
        os.set_blocking(self._told, False)  # the C handler must never block on a full pipe
        self._poll = select.poll()  # not select.select: a run may have descriptors past 1,023 open
        self._poll.register(self._heard, select.POLLIN)
        self._previous = -1

    @classmethod
    def taken(cls) -> _WakeupPipe | None:
        """The pipe, now the wakeup fd; None if it cannot be (no descriptor left): the watchdog then
        keeps its limits without it, as before."""
        try:
            pipe = cls()
        except OSError:
            return None
        try:
            pipe._previous = signal.set_wakeup_fd(pipe._told, warn_on_full_buffer=False)
        except ValueError:  # not the main interpreter's main thread
            pipe.close()
            return None
        return pipe

    def signals(self, timeout: float) -> bytes:
        """The numbers of the signals that came, waiting up to `timeout` seconds for one."""
        if not self._poll.poll(timeout * 1000):
            return b""
        return os.read(self._heard, 64)

    def give_back(self) -> None:
        try:
            signal.set_wakeup_fd(self._previous)
        except ValueError:  # its owner closed it meanwhile: no wakeup fd rather than this closing one
            signal.set_wakeup_fd(-1)

    def close(self) -> None:
        os.close(self._heard)
        os.close(self._told)
