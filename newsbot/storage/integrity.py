"""The database's check before a command reads or writes it, and the same check begun early in a thread.

A damaged page fails a run half-way, and a damaged index can let a story in twice or an alert be
sent twice without any error at all, so every command that opens the database runs `PRAGMA
integrity_check` first: every page is read and every index compared with its table. `quick_check`
skips that comparison, and missed a damaged index of alerts that integrity_check found.

Tried and measured: quick_check over the file, then `integrity_check(table)` for each table but the
shingle index (whose index by time, since dropped by migration m010, only steered pruning). It
halved the check of a 20,000-story cold run's file (1.9 s → 0.9 s), but a table checked by name is
walked a second time, and a long-running database is mostly its stories table: a run against
1,000,000 stories (5.7 GB) spent about 30 s before its crawl, where the whole-file check had cost
19-25 s. A check by table also skips the freelist and the page accounting. Dropping that index
instead took 0.8 of the 1.2 s the check spent on such a file, and kept the check whole. FTS5's own
'integrity-check' is not run: a damaged full-text index only misleads `search`, and the pages of its
tables are read like any others. The cost grows with the file (benchmarks/integrity_check.py: 50,000
stories of 500 words with their full-text index and 5,000 alerts, 343 MB, take 0.4 s with the file
in the page cache, 1.4-2.5 s from a cold cache).

`newsbot run` begins the check in a thread before it imports its CLI, Scrapy, Twisted and
trafilatura (1-1.3 s of one core; newsbot.cli.early_database): SQLite reads the pages without the
interpreter lock, on the other core.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from types import TracebackType


def first_damage(connection: sqlite3.Connection) -> str | None:
    """What SQLite found wrong first in the file (at most 200 characters), or None."""
    found = [row[0] for row in connection.execute("PRAGMA integrity_check(1)")]
    if found == ["ok"]:
        return None
    lines = [line for line in "\n".join(found).splitlines() if not line.startswith("***")]
    return str((lines or found)[0])[:200]


INTERRUPT_AGAIN_SECONDS = 0.01


class EarlyCheck:
    """The check of the file at `path`, run in a thread from `begin()` or the moment the object is
    entered as a context manager; leaving it interrupts the check if it is still running (the
    command failed first).

    Its own read-only connection: it never creates the file or its folder. Whatever keeps it from
    reading the file (no file yet, a folder it cannot write its -shm in, a file that is no database)
    leaves the file unchecked, and `Storage.open` checks it itself and says what is wrong as it
    always did."""

    def __init__(self, path: Path):
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._checked = False
        self._damage: str | None = None
        self._ended = False  # the context was left: a check not yet begun is not begun
        self._lock = threading.Lock()  # the connection is closed by one thread while the other may interrupt it
        self._thread = threading.Thread(target=self._check, name="newsbot-early-check", daemon=True)

    def __enter__(self) -> EarlyCheck:
        return self.begin()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.end()

    def begin(self) -> EarlyCheck:
        """Starts the check, once: one begun before the command entered it (newsbot.cli.early_database)
        goes on."""
        if self._thread.ident is None:
            self._thread.start()
        return self

    def end(self) -> None:
        """Interrupts the check if it is still running, and waits for it to stop; a check not yet
        begun never begins."""
        self.abandon()
        # Again until the thread ends: an interrupt that comes between the check's connecting and its
        # first statement is lost (SQLite interrupts running statements only), and the command that
        # failed first then waited for the whole check.
        while self._thread.is_alive():
            self.abandon()
            self._thread.join(INTERRUPT_AGAIN_SECONDS)

    def abandon(self) -> None:
        """Interrupts the check if it is running, without waiting: one not yet connected (an open of a
        FIFO blocks until a writer comes) ends as it connects, or with the process (a daemon)."""
        with self._lock:
            self._ended = True
            if self._connection is not None:
                self._connection.interrupt()

    def outcome(self) -> tuple[bool, str | None]:
        """(whether the file was checked, what was found damaged), once the check is done."""
        self._thread.join()
        return self._checked, self._damage

    def _check(self) -> None:
        try:
            connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        # RuntimeError: a symlink loop; ValueError: a NUL in the path. The run's own open says so.
        except (sqlite3.Error, OSError, RuntimeError, ValueError):
            return
        with self._lock:
            if self._ended:
                connection.close()
                return
            self._connection = connection
        try:
            with contextlib.suppress(sqlite3.Error):
                self._damage = first_damage(connection)
                self._checked = True
        finally:
            with self._lock:
                self._connection = None
            connection.close()
