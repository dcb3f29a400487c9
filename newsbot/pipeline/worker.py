"""A thread that runs the run's later stages (cluster, match, deliver) while the crawl goes on.

The crawl holds the main thread (Twisted's reactor) and stores each source as it finishes; waiting
for the whole crawl before delivering would let one slow source hold every other source's alerts.
So this thread is woken after each stored source and runs a pass over what is stored. It starts
a pass `SETTLE_SECONDS` after the first wake-up since its last pass began, so the sources that
finish together (the usual case: most feeds answer within a second or two) make one pass: copies
of a story from several outlets still become one alert with its "also in" outlets, and many alerts
for one channel still one digest. A slow source never holds an alert back by more than those
seconds. A wake-up that came during a pass longer than that (a cold run's thousands of stories)
has settled by the pass's end: the next pass starts at once, where waiting again left this thread,
the run's slowest stage, idle.

One thread does every pass, one at a time, so stories are clustered and matched in the order they
were stored and the outbox drains in order, as when the stages ran after the crawl; the last pass
starts once the crawl is over. The thread is a daemon: a run interrupted while it waits on Slack
need not wait for it (the alert it was sending is in flight in the database, looked up next run).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SETTLE_SECONDS = 5.0


class StageWorker:
    """Runs `work(final)` in its own thread after each `wake()`, and once more with final=True after
    `finish()`; `cleanup()` runs in the same thread at the end (its database connection is its own)."""

    def __init__(
        self, work: Callable[[bool], None], cleanup: Callable[[], None], settle_seconds: float = SETTLE_SECONDS
    ):
        self._work = work
        self._cleanup = cleanup
        self._settle_seconds = settle_seconds
        self._woken = threading.Event()
        self._woken_at = 0.0  # the first wake-up since the last pass began (time.monotonic)
        self._crawl_over = threading.Event()
        self._thread = threading.Thread(target=self._run, name="newsbot-stages", daemon=True)
        self.problem: BaseException | None = None  # what stopped the thread, re-raised by the run

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        if not self._woken.is_set():
            self._woken_at = time.monotonic()
        self._woken.set()

    def finish(self) -> None:
        """The crawl is over: one last pass, then the thread ends."""
        self._crawl_over.set()
        self._woken.set()

    def join(self, timeout: float) -> bool:
        """Whether the thread has ended (waiting at most `timeout` seconds for it)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            while True:
                self._woken.wait()
                settled_at = self._woken_at + self._settle_seconds
                self._crawl_over.wait(max(0.0, settled_at - time.monotonic()))  # the sources finishing together
                self._woken.clear()
                final = self._crawl_over.is_set()
                self._work(final)
                if final:
                    return
        except BaseException as problem:
            self.problem = problem
        finally:
            self._cleanup()
