"""A run's writers leave checkpoints to a thread beside them (newsbot.storage.checkpoints).

What is written reaches the database file while the writer goes on committing, although the writer
itself does not checkpoint; without the thread it stays in the write-ahead log. A thread that cannot
open the file, or whose file goes away, ends quietly: the writers still checkpoint, far later.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from newsbot.storage.checkpoints import WRITERS_AUTOCHECKPOINT_PAGES, checkpointing, leave_checkpoints_to_the_run
from newsbot.storage.database import Storage

MEGABYTE = 1024 * 1024
WRITTEN = 8 * MEGABYTE


def write(database: Path, storage: Storage) -> None:
    """8 MB in 32 commits, as a run's writer: far fewer pages than the writer's own checkpoints wait for."""
    assert WRITTEN // 4096 < WRITERS_AUTOCHECKPOINT_PAGES / 4
    storage.db.execute("CREATE TABLE IF NOT EXISTS filler (body BLOB)")
    for _ in range(32):
        with storage.transaction():
            storage.db.execute("INSERT INTO filler VALUES (randomblob(?))", [WRITTEN // 32])


def file_size_once_settled(database: Path, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while database.stat().st_size < WRITTEN and time.monotonic() < deadline:
        time.sleep(0.05)
    return database.stat().st_size


def test_what_a_writer_commits_reaches_the_file_through_the_thread(tmp_path: Path) -> None:
    database = tmp_path / "newsbot.db"
    storage = Storage.open(database)
    try:
        leave_checkpoints_to_the_run(storage.db)
        with checkpointing(database):
            write(database, storage)
            size = file_size_once_settled(database, seconds=5)
            assert size >= WRITTEN, "the thread copied the log into the file"
        assert not [thread for thread in threading.enumerate() if thread.name == "newsbot-checkpoints"]
    finally:
        storage.close()


def test_without_the_thread_the_writer_leaves_it_in_the_log(tmp_path: Path) -> None:
    """The control: the same writes, no thread; the file grows only when the last connection closes."""
    database = tmp_path / "newsbot.db"
    storage = Storage.open(database)
    try:
        leave_checkpoints_to_the_run(storage.db)
        write(database, storage)
        assert file_size_once_settled(database, seconds=1) < WRITTEN / 2
        assert Path(f"{database}-wal").stat().st_size >= WRITTEN
    finally:
        storage.close()
    assert database.stat().st_size >= WRITTEN


def test_a_file_the_thread_cannot_open_ends_it_quietly(tmp_path: Path) -> None:
    """A folder where the file should be, and a file that is not there: neither is created or raises."""
    folder = tmp_path / "newsbot.db"
    folder.mkdir()
    missing = tmp_path / "gone.db"
    for database in (folder, missing):
        started = time.monotonic()
        with checkpointing(database):
            time.sleep(0.6)
        assert time.monotonic() - started < 2
    assert folder.is_dir() and not missing.exists()
