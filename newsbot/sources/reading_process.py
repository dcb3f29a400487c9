"""A second process that reads what the crawl downloads, so that the crawl's own thread only fetches.

Parsing a feed, making its items plain text and extracting an article's text (newsbot.sources.reading)
is pure Python and lxml: in the crawl's thread it holds the interpreter lock that fetching,
storing, clustering and matching need, and for as long as it reads a page the reactor moves
nothing else (not a download, not the budget). Here a large crawl sends each body to this process
and awaits the answer; the reactor goes on meanwhile.

The spider never waits for the process to be there: a read is done in the crawl's own thread while
the process is starting (its imports take about half a second), when `MAX_QUEUED` reads already
wait for it (so both cores read when the process is the slower), and for the rest of the crawl
once the process has died. A small crawl (fewer than `READ_THERE_FROM` sources: the demo, most
tests) never starts it.

The child (`python -m newsbot.sources.reading_process`, newsbot.child_process) ignores Ctrl-C like
the run's other child and exits when its stdin closes. What trafilatura and its helpers log there
comes back with each answer and is logged here, where the run collects it as its warnings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, BinaryIO, TypeVar

from newsbot.child_process import answers_pipe, start_module
from newsbot.sources.reading import read_article, read_feed

log = logging.getLogger(__name__)

READ_THERE_FROM = 50  # sources in a crawl from which starting the process pays
MAX_QUEUED = 4  # reads waiting for the process beyond which the next one is done in the crawl's thread
READY = b"r"  # the child's first byte: its imports are done
READERS: tuple[Callable[..., Any], ...] = (read_feed, read_article)
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGHUP})  # the group's stop: no failure to report
Answer = TypeVar("Answer")
LoggedLine = tuple[str, int, str]  # logger's name, level, message


class ReadingProcess:
    """Runs readers in the child once it is ready, in the calling thread otherwise. `start()` once
    the crawl is known to be large; `close()` when it ends (the child is killed, not waited for)."""

    def __init__(self, max_queued: int = MAX_QUEUED) -> None:
        self._max_queued = max_queued
        self._child: subprocess.Popen[bytes] | None = None
        self._requests: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._ready = False  # set by the pipe's thread once the child said so
        self._gone = False  # the child died or was closed: every read is done here
        self._queue_lock = threading.Lock()  # a read is queued before the child is gone, or not at all
        self._queued = 0
        self._thread: threading.Thread | None = None  # the pipe's: it ends when the child does
        self.reads_there = 0  # how many reads the child answered (the run's stage figures, and tests)

    def start(self) -> None:
        try:
            self._child = start_module("newsbot.sources.reading_process")
        except OSError as problem:
            log.warning("the reading process could not start (%s); the crawl reads in its own thread", problem)
            self._gone = True
            return
        # A daemon thread: a run that must end does not wait for a read in progress.
        self._thread = threading.Thread(target=self._pipe, args=(self._child,), name="newsbot-reading", daemon=True)
        self._thread.start()

    async def read(self, reader: Callable[..., Answer], *args: Any) -> Answer:
        """`reader(*args)`'s answer, from the child if it is ready and not too far behind."""
        if not self._ready or self._queued >= self._max_queued:
            return reader(*args)
        answered: Future[Any] = Future()
        with self._queue_lock:
            if self._gone:
                return reader(*args)
            self._requests.put((answered, reader, args))
        self._queued += 1
        try:
            answer, logged = await asyncio.wrap_future(answered)
        except (OSError, EOFError, pickle.UnpicklingError):  # the child is gone: this read is done here
            return reader(*args)
        finally:
            self._queued -= 1
        for name, level, message in logged:
            logging.getLogger(name).log(level, "%s", message)
        self.reads_there += 1
        result: Answer = answer
        return result

    def close(self) -> None:
        """Ends the child at once; reads still queued are done by their callers."""
        with self._queue_lock:
            if self._gone:
                return
            self._gone = True
            self._requests.put(None)
        if self._child is not None:
            log.info("the reading process read %d feeds and pages", self.reads_there)
        if self._child is not None:
            with contextlib.suppress(ProcessLookupError):
                self._child.kill()

    def _pipe(self, child: subprocess.Popen[bytes]) -> None:
        """The pipe's own thread: waits for the child to be ready, then sends it one read at a time."""
        assert child.stdin is not None and child.stdout is not None
        try:
            self._ready = child.stdout.read(len(READY)) == READY
            while self._ready:
                request = self._requests.get()
                if request is None:
                    break
                answered, reader, args = request
                try:
                    pickle.dump((reader, args), child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                    child.stdin.flush()
                    answered.set_result(pickle.load(child.stdout))
                except (OSError, EOFError, pickle.UnpicklingError) as problem:
                    answered.set_exception(problem)
                    break
        finally:
            self._ended(child)

    def _ended(self, child: subprocess.Popen[bytes]) -> None:
        """The child is gone (or going): every read from now on is done here; queued ones fail over."""
        with self._queue_lock:
            was_closed = self._gone
            self._gone = True
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        status = child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        while True:  # what was queued behind the failure: its callers read it themselves
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                break
            if request is not None:
                request[0].set_exception(EOFError("the reading process ended"))
        if not was_closed and -status not in STOP_SIGNALS:
            log.warning(
                "the reading process ended (%s); the crawl reads in its own thread",
                f"signal {-status}" if status < 0 else f"exit status {status}",
            )


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The child's loop: (reader, arguments) in, (answer, logged lines) out, until stdin closes."""
    logged: list[LoggedLine] = []
    handler = _Collecting(logged)
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.WARNING)
    logging.captureWarnings(True)  # py.warnings, as in the run's process
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
        answer = reader(*args)
        pickle.dump((answer, list(logged)), answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()


class _Collecting(logging.Handler):
    def __init__(self, lines: list[LoggedLine]) -> None:
        super().__init__(logging.WARNING)
        self._lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self._lines.append((record.name, record.levelno, record.getMessage()))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the run stops the crawl
    with contextlib.suppress(BrokenPipeError):  # the parent is gone
        serve(sys.stdin.buffer, answers_pipe())


if __name__ == "__main__":
    main()
