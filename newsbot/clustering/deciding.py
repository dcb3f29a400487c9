"""A second process that decides the clusters of large batches, so that a cold run uses both cores.

Deciding a batch (shingling each story, reading the window's index, comparing candidates) is pure
Python: in the run's process it holds the interpreter lock the crawl needs to fetch, parse and store,
and a cold run of 1,000 feeds kept one core of two busy. This process reads the batch's stories from
the database (committed by then: the run stores a source before the stage thread sees it) and sends
back its decisions; the stage thread writes them, so every write stays on the run's own connection
and a kill at any point leaves what `assign_clusters` would leave. While the thread writes one batch
the process decides the next, told that its last answer may not be written yet: it adds that answer
to what it reads of the window's index (newsbot.clustering.window), and an answer decided so is
thrown away, the process with it, if the write before it fails or the run stops.

It is a plain child (`python -m newsbot.clustering.deciding DATABASE`, newsbot.child_process)
speaking pickle over its stdin and stdout: a parent killed by SIGKILL leaves it at end-of-file (or,
mid-batch, with its answer meeting a closed pipe when the batch is decided) and it exits. Small
batches (a warm run's few new stories) are decided in the calling thread: starting the process
costs about 0.3 s of CPU. If the process cannot start or dies, the batch is decided in the thread.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import select
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from newsbot.child_process import HELPER_FAILED, STOP_SIGNALS, answers_pipe, start_module
from newsbot.clustering.assign import decide_here
from newsbot.long_lived import freeze_what_exists
from newsbot.storage.clusters import ClusterAssignment
from newsbot.storage.database import Storage

log = logging.getLogger(__name__)

PROCESS_FROM = 300  # stories in a batch from which deciding it in the second process pays
POLL_SECONDS = 0.1  # how often a wait for the process asks whether the run must stop
STOP_GRACE_SECONDS = 2.0  # how long a child ended by one of them waits for the run to see the same stop
Meanwhile = Callable[[list[str]], Iterator[object]]
_DONE = object()  # a Meanwhile's steps are over


class DecidingProcess:
    """Decides batches of at least `smallest` stories in the child process, smaller ones in the calling
    thread, as is the first of several while the process starts. Call `close()` when the run's stages
    are done."""

    def __init__(self, database: Path, smallest: int = PROCESS_FROM, meanwhile: Meanwhile | None = None):
        self._database = database
        self._smallest = smallest
        # Work for this thread while the process decides a batch: given the batch's ids, it yields
        # after each small step (the run matches the batch's stories; newsbot.alerts.outbox.MatchedAhead).
        self._meanwhile = meanwhile
        self._unfinished: Iterator[object] | None = None  # its steps left when the process answered
        self._matched_later: list[str] = []  # a batch decided here, matched with the next one's wait
        self._child: subprocess.Popen[bytes] | None = None
        self._unused = False  # the process is started but has been sent no batch yet
        self._failed = False  # the process could not start or died: every batch is decided here

    def __call__(
        self, storage: Storage, batches: Iterator[list[str]], since: datetime, should_stop: Callable[[], bool]
    ) -> Generator[tuple[list[str], list[ClusterAssignment]]]:
        """Each batch with its decisions (newsbot.clustering.assign.Decide). A batch the process
        decided is followed at once by the next, sent ahead with word that the one before is not
        written yet: the process decides it while this thread writes, instead of idling meanwhile."""
        in_flight = False  # a batch is sent ahead: its answer counts on one this thread has not written
        try:
            ids = next(batches, None)
            while ids is not None:
                if should_stop():
                    return
                following = next(batches, None)
                if not in_flight and following is not None and self._starts_beside(ids):
                    decided, there = decide_here(storage, ids, since, should_stop), False
                    self._matched_later = ids
                else:
                    decided, there = self._decided(storage, ids, since, should_stop, sent=in_flight)
                in_flight = (
                    there and following is not None and len(decided) == len(ids) and self._sent_ahead(following, since)
                )
                self._finish_meanwhile(should_stop)
                yield ids, decided
                ids = following
        finally:
            self._matched_later = []  # a stop: queue_matches or the next run matches them
            # The caller stopped, or failed to write: an answer sent ahead must never be written, and a
            # process started for batches that will not come would idle until the run's end.
            if in_flight or self._unused:
                self.close()

    def _decided(
        self, storage: Storage, ids: list[str], since: datetime, should_stop: Callable[[], bool], sent: bool
    ) -> tuple[list[ClusterAssignment], bool]:
        """The batch's decisions, and whether the process made them."""
        if not sent and not self._takes(ids):
            return decide_here(storage, ids, since, should_stop), False
        try:
            if not sent:
                self._send(ids, since, previous_unwritten=False)
            return self._answer(ids, should_stop), True
        except (OSError, EOFError, pickle.UnpicklingError) as problem:
            self._failed = True
            exit_status = self._ended(wait_seconds=1.0)
            if stopped_with_the_run(exit_status, should_stop):
                return [], False
            log.warning(
                "the clustering process failed (%s); clustering continues in the run's process",
                f"ended by signal {-exit_status}" if exit_status and exit_status < 0 else problem,
                extra=HELPER_FAILED,
            )
            return decide_here(storage, ids, since, should_stop), False

    def _starts_beside(self, ids: list[str]) -> bool:
        """Whether the process, not started yet, is started now to decide the batches after this one,
        which this thread decides meanwhile: its start (its imports, 0.3-0.45 s at the end of a cold
        run's crawl) then overlaps this batch's deciding and writing, rather than leaving this thread
        idle until the batch's answer (the first batch of a cold run's pass: answered 0.5-0.6 s after the
        pass began, against 0.3-0.4 s decided and written here)."""
        if self._child is not None or not self._takes(ids):
            return False
        try:
            self._started()
            self._unused = True
        except OSError as problem:
            self._failed = True
            log.warning(
                "the clustering process could not start (%s); clustering continues in the run's process",
                problem,
                extra=HELPER_FAILED,
            )
        return True

    def _takes(self, ids: list[str]) -> bool:
        """Whether the process decides this batch: large enough to pay, and the process alive."""
        return len(ids) >= self._smallest and not self._failed

    def _sent_ahead(self, ids: list[str], since: datetime) -> bool:
        if not self._takes(ids):
            return False
        # A process that died here is found when its answer is read: by then the batch before is
        # written, and this one can be decided in the thread.
        with contextlib.suppress(OSError):
            self._send(ids, since, previous_unwritten=True)
        return True

    def _send(self, ids: list[str], since: datetime, previous_unwritten: bool) -> None:
        child = self._started()
        self._unused = False
        assert child.stdin is not None
        pickle.dump((ids, since, previous_unwritten), child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        child.stdin.flush()

    def _answer(self, ids: list[str], should_stop: Callable[[], bool]) -> list[ClusterAssignment]:
        """Waits for the process's decisions on `ids`, matching them meanwhile; the steps left when
        they come are `_finish_meanwhile`'s."""
        child = self._child
        assert child is not None and child.stdout is not None
        steps = self._meanwhile([*self._matched_later, *ids]) if self._meanwhile else None
        self._matched_later = []
        while not select.select([child.stdout], [], [], POLL_SECONDS if steps is None else 0)[0]:
            if should_stop():  # nothing of this batch is written: the next pass or run decides it again
                self.close()
                return []
            if steps is not None and next(steps, _DONE) is _DONE:
                steps = None
        self._unfinished = steps
        outcome, value = pickle.load(child.stdout)
        if outcome == "error":
            raise value
        decided: list[ClusterAssignment] = value
        return decided

    def _finish_meanwhile(self, should_stop: Callable[[], bool]) -> None:
        """The batch's matching that its answer came before, done once the next batch is sent ahead:
        the process decides that one meanwhile. Left for later, it was done after the pass's last
        batch, with the process idle (a cold run of 1,000 feeds: 8,500 of 20,000 stories, 1.3 s)."""
        steps, self._unfinished = self._unfinished, None
        if steps is None:
            return
        for _ in steps:
            if should_stop():
                return

    def _started(self) -> subprocess.Popen[bytes]:
        if self._child is None:
            self._child = start_module("newsbot.clustering.deciding", str(self._database))
        return self._child

    def close(self) -> None:
        """Ends the process: it stops at once if it is deciding (its batch is simply not written)."""
        self._ended(wait_seconds=0)

    def _ended(self, wait_seconds: float) -> int | None:
        """Reaps the process, killing it if it has not exited within `wait_seconds`, and returns its
        exit status (negative: the signal that ended it). A process whose answer broke off is waited
        for, so that the status is the one it died of, not the kill."""
        child, self._child = self._child, None
        self._unused = False
        self._unfinished = None  # matching left of a batch whose answer will not be written
        if child is None:
            return None
        try:
            child.wait(timeout=wait_seconds)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                # A request the process died before reading is still buffered: closing flushes it
                # into a pipe with no reader, which must not turn the fallback into a failure.
                with contextlib.suppress(OSError):
                    pipe.close()
        return child.returncode


def stopped_with_the_run(exit_status: int | None, should_stop: Callable[[], bool]) -> bool:
    """Whether the process ended because the run is being stopped, which is no failure to report.

    A stop of the whole group (`systemctl stop`, cron's kill of the job) ends the process at the same
    moment as it reaches the run, and this thread can read the broken answer before the run's main
    thread has run its signal handler: a process ended by a stop signal is given a moment for the run
    to see the stop too. One ended by anything else (the OOM killer's SIGKILL) is a failure at once."""
    if exit_status is None or -exit_status not in STOP_SIGNALS:
        return should_stop()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while not should_stop():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS / 10)
    return True


def serve(database: Path, requests: BinaryIO, answers: BinaryIO) -> None:
    """The child's loop: a batch's (ids, since, whether its last answer is still being written) in,
    its decisions out, until the parent's end closes."""
    storage = Storage.open(database, migrate=False, checked=True, existing=True)  # the run checked and migrated it
    freeze_what_exists()
    previous: list[ClusterAssignment] = []  # the last answer sent
    try:
        while True:
            try:
                ids, since, previous_unwritten = pickle.load(requests)
            except EOFError:
                return
            try:
                previous = decide_here(storage, ids, since, lambda: False, previous if previous_unwritten else ())
                answer: tuple[str, object] = ("ok", previous)
            except Exception as problem:
                previous = []
                answer = ("error", problem)
            pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
            answers.flush()
    finally:
        storage.close()


def main() -> None:
    with contextlib.suppress(BrokenPipeError):  # the parent is gone
        serve(Path(sys.argv[1]), sys.stdin.buffer, answers_pipe())


if __name__ == "__main__":
    main()
