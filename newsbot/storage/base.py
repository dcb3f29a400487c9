"""What every store shares: the connection, and a write transaction taken up front."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlite_utils import Database


class StoreBase:
    """The connection the stores work on; newsbot.storage.database.Storage opens and checks it."""

    def __init__(self, db: Database):
        self.db = db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction taken up front, so it never fails half-way on a lock upgrade.

        Nested, it joins the outer one: a run groups many stories' steps into one commit (each
        step is redone by the next run if the group is lost), while each step stays all-or-nothing.
        """
        if self.db.conn.in_transaction:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")  # inside: a COMMIT that fails (a full disk) rolls back too
        except BaseException:
            self.db.rollback()
            raise
