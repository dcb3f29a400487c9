"""`newsbot run`'s progress line on a terminal: sources done, new stories, matches, alerts sent.

Only a person at a terminal sees it: stderr must be a terminal that can return to the start of a
line (not TERM=dumb), and neither --quiet nor -v asked for something else (-v's log lines are the
progress then). Cron, pipes and files get exactly the output they always had.

The line is written to stderr, rewritten in place with a carriage return and "erase to end of
line", at most MAX_REDRAWS_PER_SECOND times a second (a burst of sources finishing together draws
once, and its last state is drawn when the interval is over), and ended with a newline when the
run ends, however it ends, so that the summary or the error that follows starts a line of its own.

Alerts printed on the terminal (no Slack configured, or --dry-run) would land in the middle of the
line: while one is printed, the line is taken down, and it is drawn again after.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from typing import TextIO

from newsbot.alerts.routing import Destination
from newsbot.alerts.sinks import Outgoing, Poster, PostResult
from newsbot.alerts.terminal import PayloadPrinter, TerminalPoster
from newsbot.pipeline.progress import Progress, RunProgress, no_progress

MAX_REDRAWS_PER_SECOND = 10
DEFAULT_COLUMNS = 80  # for a terminal that does not say how wide it is (a new pseudo-terminal says 0)
ERASE_TO_END_OF_LINE = "\x1b[K"  # VT100's EL: understood by every terminal but a dumb one


def interactive(stream: TextIO) -> bool:
    """Whether a person is watching `stream`: a terminal able to go back and rewrite a line."""
    try:
        return stream.isatty() and os.environ.get("TERM", "") != "dumb"
    except ValueError:  # closed
        return False


def progress_line(progress: RunProgress) -> str:
    return (
        f"sources {progress.sources_done}/{progress.sources_total}, {progress.new_stories} new stories, "
        f"{progress.matches} matches, {progress.alerts_sent} alerts sent"
    )


class TerminalProgress:
    """The progress line. Called from the crawl's thread and the stage worker's, so every write
    is under one lock; it never raises (a run must not fail because its terminal went away)."""

    def __init__(
        self,
        stream: TextIO,
        max_redraws_per_second: float = MAX_REDRAWS_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._stream = stream
        self._interval = 1 / max_redraws_per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: RunProgress | None = None
        self._shown: RunProgress | None = None  # what the line shows; None while it is down
        self._drawn_at = float("-inf")
        self._drawn_ever = False
        self._set_aside = False  # an alert is being printed: draw nothing until it is
        self._closed = False
        self._later: threading.Timer | None = None

    def __call__(self, progress: RunProgress) -> None:
        with self._lock:
            self._latest = progress
            self._draw_or_schedule()

    @contextlib.contextmanager
    def aside(self) -> Iterator[None]:
        """Take the line down while the block writes to the terminal, and draw it again after."""
        with self._lock:
            self._set_aside = True
            if self._shown is not None:
                self._write(f"\r{ERASE_TO_END_OF_LINE}")
                self._shown = None
        try:
            yield
        finally:
            with self._lock:
                self._set_aside = False
                self._draw_or_schedule()

    def close(self) -> None:
        """The run is over: its last state is drawn and the line ended (nothing, if none was drawn)."""
        with self._lock:
            if self._later is not None:
                self._later.cancel()
            if self._latest is not None and self._latest != self._shown:
                self._draw()
            if self._drawn_ever:
                self._write("\n")
            self._closed = True

    def _draw_or_schedule(self) -> None:
        """Draw now, or when the redraw interval is over if the line was drawn just now (under the lock)."""
        if self._closed or self._set_aside or self._latest is None or self._latest == self._shown:
            return
        wait = self._drawn_at + self._interval - self._clock()
        if wait <= 0:
            self._draw()
        elif self._later is None:
            self._later = threading.Timer(wait, self._draw_later)
            self._later.daemon = True
            self._later.start()

    def _draw_later(self) -> None:
        with self._lock:
            self._later = None
            self._draw_or_schedule()

    def _draw(self) -> None:
        if self._latest is None:
            return
        self._write(f"\r{progress_line(self._latest)[: self._columns() - 1]}{ERASE_TO_END_OF_LINE}")
        self._shown = self._latest
        self._drawn_at = self._clock()
        self._drawn_ever = True

    def _columns(self) -> int:
        """The terminal's width now (it may have been resized): a line that wraps cannot be rewritten."""
        try:
            return os.get_terminal_size(self._stream.fileno()).columns or DEFAULT_COLUMNS
        except (OSError, ValueError):
            return DEFAULT_COLUMNS

    def _write(self, text: str) -> None:
        if self._closed:
            return
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # the terminal is gone: the run goes on without its line
            self._closed = True


class _PrintedAside:
    """A poster that prints on the terminal, with the progress line taken down around each message."""

    def __init__(self, poster: Poster, line: TerminalProgress):
        self._poster = poster
        self._line = line
        self.can_look_back = poster.can_look_back
        self.post_window = poster.post_window

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        with self._line.aside():
            return self._poster.post(destination, message)

    def waits_end_when(self, should_stop: Callable[[], bool]) -> None:
        self._poster.waits_end_when(should_stop)

    def find(
        self,
        destination: Destination,
        alert_ids: Collection[str],
        since: datetime,
        until: datetime,
        thread_ts: str | None = None,
    ) -> dict[str, PostResult]:
        return self._poster.find(destination, alert_ids, since, until, thread_ts)


@contextlib.contextmanager
def run_progress(
    poster: Poster, *, quiet: bool, verbose: int, stream: TextIO | None = None
) -> Iterator[tuple[Poster, Progress]]:
    """The poster to deliver with and the Progress to report to. On a terminal: the progress line,
    and a poster that prints (terminal, dry run) kept clear of it; otherwise no progress and the
    poster as it is. The line is ended when the block ends, however it ends."""
    stream = stream or sys.stderr
    if quiet or verbose or not interactive(stream):
        yield poster, no_progress
        return
    line = TerminalProgress(stream)
    try:
        printing = isinstance(poster, TerminalPoster | PayloadPrinter)
        yield (_PrintedAside(poster, line) if printing else poster), line
    finally:
        line.close()
