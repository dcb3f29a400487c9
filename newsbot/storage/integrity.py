"""The database's check before a command reads or writes it, and the same check begun early in a thread.

A damaged page fails a run half-way, and a damaged index can let a story in twice or an alert be
sent twice without any error at all, so every command that opens the database checks it first.

Every page of every table and index is read (`PRAGMA quick_check`), and every index but one is
compared with its table (`PRAGMA integrity_check(table)`): quick_check alone skips that comparison,
and missed a damaged index of alerts that integrity_check found. The exception is the shingle
index's index by time (`UNCOMPARED`): it only tells `prune_shingles` which rows have left the
window, and every read of the index filters by time on the rows themselves, so a mismatch cannot
change a cluster or an alert. It is as large as the index it indexes, and comparing the two was two
thirds of the check: a 20,000-story cold run's file (180 MB) is checked in 0.9 s instead of 1.9 s,
on every run after it. FTS5's own 'integrity-check' is not run: a damaged full-text index only
misleads `search`, and the pages of its tables are read like any others. The cost grows with the
file (benchmarks/integrity_check.py).

`newsbot run` begins the check in a thread before it imports Scrapy, Twisted and trafilatura
(0.8-1.1 s of one core): SQLite reads the pages without the interpreter lock, on the other core.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from types import TracebackType

UNCOMPARED = frozenset({"shingle_index"})  # tables whose indexes the check does not compare with their rows


def first_damage(connection: sqlite3.Connection) -> str | None:
    """What SQLite found wrong first in the file (at most 200 characters), or None."""
    found = [row[0] for row in connection.execute("PRAGMA quick_check(1)")]
    for table in _compared_tables(connection) if found == ["ok"] else ():
        quoted = '"' + table.replace('"', '""') + '"'  # not sqlite_utils': `newsbot check` does not load it
        found = [row[0] for row in connection.execute(f"PRAGMA integrity_check({quoted})")]
        if found != ["ok"]:
            break
    if found == ["ok"]:
        return None
    lines = [line for line in "\n".join(found).splitlines() if not line.startswith("***")]
    return str((lines or found)[0])[:200]


def _compared_tables(connection: sqlite3.Connection) -> list[str]:
    """The tables with an index to compare with their rows."""
    rows = connection.execute("SELECT DISTINCT tbl_name FROM sqlite_schema WHERE type = 'index' ORDER BY tbl_name")
    return [row[0] for row in rows if row[0] not in UNCOMPARED]


class EarlyCheck:
    """The check of the file at `path`, run in a thread from the moment the object is entered as a
    context manager; leaving it interrupts the check if it is still running (the command failed first).

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
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        with self._lock:
            self._ended = True
            if self._connection is not None:
                self._connection.interrupt()
        self._thread.join()

    def outcome(self) -> tuple[bool, str | None]:
        """(whether the file was checked, what was found damaged), once the check is done."""
        self._thread.join()
        return self._checked, self._damage

    def _check(self) -> None:
        try:
            connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error:
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
