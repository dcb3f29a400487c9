"""A second process that reads what the crawl downloads, so that the crawl's own thread only fetches.

Parsing a feed, making its items plain text and extracting an article's text (newsbot.sources.reading)
is pure Python and lxml: in the crawl's thread it holds the interpreter lock that fetching,
storing, clustering and matching need, and for as long as it reads a page the reactor moves
nothing else (not a download, not the budget). Here a large crawl sends each body to this process
and awaits the answer; the reactor goes on meanwhile.

Reads wait for the process while it starts (its imports take about a second) and while it reads
the ones before them: the crawl's thread is the run's scarcest. A read is done in that thread only
when `MAX_QUEUED` reads already wait (the process is far behind), and for the rest of the crawl
once the process has died, unless the run is stopping: then the read is abandoned (ReadingStoppedError)
and its source waits for the next run, as any source the stop cut short. The process starts once
the crawl has read `START_AFTER_READS` feeds and pages itself, or at the first body of
`HEAVY_READ_BYTES`: a small crawl (the demo, most tests) and a warm run's few changed feeds never
pay for its start (about 1.5 s of CPU), unless a page alone would hold the reactor for seconds. A crawl that
knows up front it has that many to read (a first run, a large import: sources never read before)
starts it at once, while the first requests wait on robots.txt and the start delay: its imports are
then not paid in the crawl's busiest seconds (a cold run of 1,000 feeds: 15.9-16.7 s → 15.1-15.8 s).

The child (`python -m newsbot.sources.reading_process`, newsbot.child_process) ignores Ctrl-C like
the run's other child and exits when its stdin closes. What trafilatura and its helpers log there
comes back with each answer and is logged here, where the run collects it as its warnings.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import logging
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, BinaryIO, TypeVar

from newsbot.child_process import (
    HELPER_FAILED,
    STOP_SIGNALS,
    LinesLogged,
    LoggedLine,
    answers_pipe,
    how_it_ended,
    log_again,
    start_module,
)
from newsbot.long_lived import freeze_what_exists
from newsbot.sources.reading import read_article, read_feed

log = logging.getLogger(__name__)

START_AFTER_READS = 100  # reads done in the crawl's thread after which starting the process pays
# A body from which one read alone pays for the start: trafilatura reads 2.5-8 s a megabyte (8 on
# pages of many short elements), and 30 such pages of 1.5 MB read in the crawl's thread of a small
# run held its reactor for minutes: no download moved, and hosts that had answered at once were
# skipped as "did not answer in time".
HEAVY_READ_BYTES = 512 * 1024
# Reads waiting for the process beyond which the next one is done in the crawl's thread. With 16,
# a cold crawl of 1,000 feeds still read 300 pages in its own thread, whose time is the run's
# scarcest; a read waiting costs only memory (the response is held until it is read anyway).
MAX_QUEUED = 64
PIPE_BYTES = 1024 * 1024
READY = b"r"  # the child's first byte: its imports are done
READERS: tuple[Callable[..., Any], ...] = (read_feed, read_article)
Answer = TypeVar("Answer")
Request = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class ReadingStoppedError(Exception):
    """The process died with the run, which is stopping: the read is not done; `str()` says why."""


class ReadingProcess:
    """Runs readers in the child once it is started, in the calling thread otherwise. The child is
    started by `start()`, or by the read that follows `start_after` reads done here; `close()` when
    the crawl ends (the child is killed, not waited for)."""

    def __init__(
        self,
        max_queued: int = MAX_QUEUED,
        stopping: Callable[[], str | None] = lambda: None,
        start_after: int | None = None,
    ) -> None:
        self._max_queued = max_queued
        self._start_after = start_after
        self._reads_here = 0
        self._stopping = stopping  # why the run is stopping, if it is
        self._child: subprocess.Popen[bytes] | None = None
        self._requests: queue.SimpleQueue[Request | None] = queue.SimpleQueue()
        self._sent: collections.deque[Future[Any]] = collections.deque()  # in the order the child answers
        self._gone = False  # the child died or was closed: every read is done here
        self._lock = threading.Lock()  # a read is sent before the child is gone, or not at all
        self._queued = 0
        self._threads: list[threading.Thread] = []
        self.reads_there = 0  # how many reads the child answered (the run's log, and tests)

    def start(self) -> None:
        try:
            self._child = start_module("newsbot.sources.reading_process")
        except OSError as problem:
            log.warning(
                "the reading process could not start (%s); the crawl reads in its own thread",
                problem,
                extra=HELPER_FAILED,
            )
            self._gone = True
            return
        _widen(self._child)
        # One thread sends, one receives, so the child always has the next read waiting. Daemons: a
        # run that must end does not wait for a read in progress.
        self._threads = [
            threading.Thread(target=work, args=(self._child,), name=f"newsbot-reading-{name}", daemon=True)
            for name, work in (("send", self._send), ("receive", self._receive))
        ]
        for thread in self._threads:
            thread.start()

    def expect(self, reads: int) -> None:
        """The crawl will read at least `reads` feeds and pages (its sources never read before): as
        many as `start_after`, and the child is started now rather than after that many reads here."""
        if self._start_after is not None and reads >= self._start_after and self._child is None and not self._gone:
            self.start()

    async def read(self, reader: Callable[..., Answer], *args: Any, size: int = 0) -> Answer:
        """`reader(*args)`'s answer, from the child unless it is far behind or gone. `size`: the
        body's bytes; one of HEAVY_READ_BYTES starts the child however few reads came before.

        Raises ReadingStoppedError when the child died while the run is stopping."""
        starting_pays = self._start_after is not None and (
            self._reads_here >= self._start_after or size >= HEAVY_READ_BYTES
        )
        if self._child is None and not self._gone and starting_pays:
            self.start()
        if self._child is None or self._queued >= self._max_queued:
            self._reads_here += 1
            return reader(*args)
        answered: Future[Any] = Future()
        with self._lock:
            gone = self._gone
            if not gone:
                self._requests.put((answered, reader, args))
        if gone:
            return self._read_here(reader, args)
        self._queued += 1
        try:
            answer, logged = await asyncio.wrap_future(answered)
        except (OSError, EOFError, pickle.UnpicklingError):  # the child is gone: this read is done here
            return self._read_here(reader, args)
        finally:
            self._queued -= 1
        log_again(logged)
        self.reads_there += 1
        result: Answer = answer
        return result

    def _read_here(self, reader: Callable[..., Answer], args: tuple[Any, ...]) -> Answer:
        """A read the dead child left: done here, unless the run is stopping and has no time for it."""
        if stopped := self._stopping():
            raise ReadingStoppedError(stopped)
        return reader(*args)

    def close(self) -> None:
        """Ends the child at once; reads still queued are done by their callers."""
        with self._lock:
            if self._gone:
                return
            self._gone = True
            self._requests.put(None)
        if self._child is not None:
            log.info("the reading process read %d feeds and pages", self.reads_there)
            with contextlib.suppress(ProcessLookupError):
                self._child.kill()

    def join(self, timeout: float) -> None:
        """Until both pipe threads have ended (after `close()` or the child's death)."""
        for thread in self._threads:
            thread.join(timeout)

    def _send(self, child: subprocess.Popen[bytes]) -> None:
        assert child.stdin is not None
        while (request := self._requests.get()) is not None:
            answered, reader, args = request
            with self._lock:
                if self._gone:
                    answered.set_exception(EOFError("the reading process ended"))
                    return
                self._sent.append(answered)
            try:
                pickle.dump((reader, args), child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                child.stdin.flush()
            except OSError:  # the child is gone: the receiving thread finds its end and fails what was sent
                return

    def _receive(self, child: subprocess.Popen[bytes]) -> None:
        assert child.stdout is not None
        try:
            if child.stdout.read(len(READY)) != READY:
                return
            while True:
                answer = pickle.load(child.stdout)
                with self._lock:
                    answered = self._sent.popleft()
                answered.set_result(answer)
        except (OSError, EOFError, pickle.UnpicklingError):
            pass
        finally:
            self._ended(child)

    def _ended(self, child: subprocess.Popen[bytes]) -> None:
        """The child is gone (or going): every read from now on is done here; those sent or queued fail over."""
        with self._lock:
            was_closed = self._gone
            self._gone = True
            unanswered = list(self._sent)
            self._sent.clear()
            while True:
                try:
                    request = self._requests.get_nowait()
                except queue.Empty:
                    break
                if request is not None:
                    unanswered.append(request[0])
            self._requests.put(None)  # the sending thread ends
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        status = child.wait()
        for answered in unanswered:
            answered.set_exception(EOFError("the reading process ended"))
        if not was_closed and -status not in STOP_SIGNALS:
            log.warning(
                "the reading process ended (%s); the crawl reads in its own thread",
                how_it_ended(status),
                extra=HELPER_FAILED,
            )


def _widen(child: subprocess.Popen[bytes]) -> None:
    """Pipes of a megabyte rather than 64 KiB: a feed or page crosses in one write, and each answer
    costs the receiving thread fewer turns at the interpreter lock. Linux only; elsewhere, or past
    the system's pipe-max-size, the pipes stay as they are."""
    if not hasattr(fcntl, "F_SETPIPE_SZ"):
        return
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The child's loop: (reader, arguments) in, (answer, logged lines) out, until stdin closes."""
    logged: list[LoggedLine] = []
    logging.getLogger().addHandler(LinesLogged(logged, logging.WARNING))
    logging.getLogger().setLevel(logging.WARNING)
    logging.captureWarnings(True)  # py.warnings, as in the run's process
    freeze_what_exists()
    answers.write(READY)
    answers.flush()
    while True:
        try:
            reader, args = pickle.load(requests)
        except EOFError:
            return
        if reader not in READERS:
            raise ValueError(f"not a reader: {reader!r}")
        logged.clear()
        answer = replace(reader(*args), read_there=True)
        pickle.dump((answer, list(logged)), answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()


def main() -> None:
    with contextlib.suppress(BrokenPipeError):  # the parent is gone
        serve(sys.stdin.buffer, answers_pipe())


if __name__ == "__main__":
    main()
