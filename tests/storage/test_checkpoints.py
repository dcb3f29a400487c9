"""A run's writers leave checkpoints to a thread beside them (newsbot.storage.checkpoints).

What is written reaches the database file while the writer goes on committing, round after round,
although the writer itself does not checkpoint; without the thread it stays in the write-ahead log.
A checkpoint that fails on a full disk (a real tmpfs) is tried again once there is room. A thread
that cannot open the file ends quietly, without creating one.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsbot.storage.checkpoints import (
    POLL_SECONDS,
    RETRY_SECONDS,
    WRITERS_AUTOCHECKPOINT_PAGES,
    checkpointing,
    leave_checkpoints_to_the_run,
)
from newsbot.storage.database import Storage
from tests.end_to_end.test_database_faults import tmpfs

MEGABYTE = 1024 * 1024
ROUND = 2 * MEGABYTE  # a round of writes: far fewer pages than the writer's own checkpoints wait for


@pytest.fixture
def thread_failures(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """What any thread died of: the thread must end quietly, not with an exception nobody sees."""
    failures: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda hook: failures.append(hook.exc_value))
    return failures


@contextlib.contextmanager
def writer(database: Path) -> Iterator[Storage]:
    storage = Storage.open(database)
    try:
        leave_checkpoints_to_the_run(storage.db)
        storage.db.execute("CREATE TABLE IF NOT EXISTS filler (body BLOB)")
        yield storage
    finally:
        storage.close()


def write_round(storage: Storage, size: int = ROUND) -> None:
    assert size // 4096 < WRITERS_AUTOCHECKPOINT_PAGES / 10
    for _ in range(8):
        with storage.transaction():
            storage.db.execute("INSERT INTO filler VALUES (randomblob(?))", [size // 8])


def file_reaches(database: Path, size: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while database.stat().st_size < size and time.monotonic() < deadline:
        time.sleep(0.05)
    return database.stat().st_size


def test_what_a_writer_commits_reaches_the_file_through_the_thread_round_after_round(
    tmp_path: Path, thread_failures: list[BaseException]
) -> None:
    database = tmp_path / "newsbot.db"
    with writer(database) as storage, checkpointing(database):
        for number in range(1, 5):
            write_round(storage)
            time.sleep(2 * POLL_SECONDS)  # past a checkpoint the thread has already made
            assert file_reaches(database, number * ROUND, seconds=5) >= number * ROUND, f"round {number}"
    assert not [thread for thread in threading.enumerate() if thread.name == "newsbot-checkpoints"]
    assert thread_failures == []


def test_without_the_thread_the_writer_leaves_it_in_the_log(tmp_path: Path) -> None:
    """The control: the same writes, no thread; the file grows only when the last connection closes."""
    database = tmp_path / "newsbot.db"
    with writer(database) as storage:
        for _ in range(4):
            write_round(storage)
        assert file_reaches(database, ROUND, seconds=1) < ROUND
        assert Path(f"{database}-wal").stat().st_size >= 4 * ROUND
    assert database.stat().st_size >= 4 * ROUND


def test_a_checkpoint_that_failed_on_a_full_disk_is_tried_again_once_there_is_room(
    tmp_path: Path, thread_failures: list[BaseException]
) -> None:
    with tmpfs(tmp_path / "disk", "size=24m") as disk:
        database = disk / "newsbot.db"
        with writer(database) as storage, checkpointing(database):
            write_round(storage)
            assert file_reaches(database, ROUND, seconds=5) >= ROUND
            filler = disk / "filler"
            with filler.open("wb") as taking_the_rest, contextlib.suppress(OSError):
                while True:
                    taking_the_rest.write(bytes(MEGABYTE // 4))
                    taking_the_rest.flush()
                    os.fsync(taking_the_rest.fileno())
            with contextlib.suppress(Exception):  # the log has room left from before, or the commit fails
                write_round(storage, ROUND // 4)
            time.sleep(3 * POLL_SECONDS)  # a checkpoint now needs the file to grow: it fails
            filler.unlink()
            write_round(storage)
            grown = file_reaches(database, 2 * ROUND, seconds=RETRY_SECONDS + 5)
            assert grown >= 2 * ROUND, "checkpoints go on after the disk had room again"
        assert thread_failures == []


def test_a_file_the_thread_cannot_open_ends_it_quietly(tmp_path: Path, thread_failures: list[BaseException]) -> None:
    """A folder where the file should be, and a file that is not there: neither is created or raises."""
    folder = tmp_path / "newsbot.db"
    folder.mkdir()
    missing = tmp_path / "gone.db"
    for database in (folder, missing):
        with checkpointing(database):
            time.sleep(3 * POLL_SECONDS)
    assert folder.is_dir() and not missing.exists()
    assert thread_failures == []
