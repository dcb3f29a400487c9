"""What every store shares: the connection, and a write transaction taken up front."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from sqlite_utils import Database

from newsbot.storage.records import batched


class StoreBase:
    """The connection the stores work on; newsbot.storage.database.Storage opens and checks it."""

    # One write transaction at a time in this process, whatever the connection. A run writes from two
    # threads, each on its own connection (the crawl stores sources; the stage worker clusters, matches
    # and delivers). Left to SQLite, the one that finds the database locked sleeps in its busy handler,
    # in steps of up to 100 ms, and retries: a cold run's crawl spent a third of its time asleep there.
    # Waiting here instead, it writes the moment the other commits. Other processes (`newsbot serve`,
    # a second run) still meet SQLite's lock and busy timeout.
    _writing = threading.RLock()

    def __init__(self, db: Database):
        self.db = db

    def _story_rows(self, ids: Iterable[str], condition: str = "1") -> list[dict[str, Any]]:
        """The stories table's rows of these ids that meet `condition` (SQL), read whole, a statement
        for each chunk of ids (SQLite bounds the `?` in one)."""
        rows: list[dict[str, Any]] = []
        for chunk in batched(list(ids)):
            marks = ",".join("?" * len(chunk))
            rows += self.db.query(f"SELECT * FROM stories WHERE {condition} AND id IN ({marks})", chunk)
        return rows

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction taken up front, so it never fails half-way on a lock upgrade.

        Nested, it joins the outer one: a run groups many stories' steps into one commit (each
        step is redone by the next run if the group is lost), while each step stays all-or-nothing.
        """
        if self.db.conn.in_transaction:
            yield
            return
        # As long as SQLite itself would wait (the connection's busy timeout), then as SQLite would fail:
        # a run that left a stage behind in a transaction records itself without waiting on it for ever.
        waits_ms = self.db.execute("PRAGMA busy_timeout").fetchone()[0]
        if not self._writing.acquire(timeout=waits_ms / 1000):
            raise sqlite3.OperationalError("database is locked (another thread of this process is writing)")
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.db.execute("COMMIT")  # inside: a COMMIT that fails (a full disk) rolls back too
            except BaseException:
                self.db.rollback()
                raise
        finally:
            self._writing.release()

    @contextlib.contextmanager
    def synced_by_what_follows(self) -> Iterator[None]:
        """Commits in the block wait on no fsync of their own (synchronous NORMAL): the next FULL commit
        or checkpoint syncs them. A power cut may lose the last of them, never one without those
        before it, nor a FULL commit made after them: the log is written and synced in order. For
        writes the next run would redo anyway. Inside a transaction it changes nothing (SQLite
        refuses to change the level there): the outer commit decides."""
        if self.db.conn.in_transaction:
            yield
            return
        level = self.db.execute("PRAGMA synchronous").fetchone()[0]
        self.db.execute("PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            # A transaction left open (its COMMIT and then its rollback failed) would keep the level
            # at NORMAL for every later commit of this connection, alerts included: ended first.
            connection = self.db.conn  # read afresh: the block may have left one open since the test above
            if connection.in_transaction:
                connection.rollback()
            self.db.execute(f"PRAGMA synchronous = {level}")
