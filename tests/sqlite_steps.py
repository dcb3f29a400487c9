"""How much work a statement does, counted in SQLite's own steps rather than timed: whether a query
reads what it needs or a whole table, told apart on any machine however loaded."""

from __future__ import annotations

from collections.abc import Callable

from newsbot.storage.database import Storage


def statement_steps(storage: Storage, read: Callable[[], object]) -> int:
    """The SQLite virtual machine's steps (in tens) that `read` takes on the storage's connection."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    storage.db.conn.set_progress_handler(count, 10)
    try:
        read()
    finally:
        storage.db.conn.set_progress_handler(None, 0)
    return steps
