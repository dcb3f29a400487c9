"""The database moved away while a run has it open: the run's writers all stay with the file it
opened, and none makes a new, empty one where it was.

The stage worker opened its connection by path when its first pass began: a database moved before
then (an administrator restoring a backup, a volume swapped) was split in two, the stories before
the move in the moved file and those after in a new `newsbot.db` that the next run took for the
database, and re-alerted from.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from newsbot.errors import StorageError
from newsbot.storage.database import Storage
from tests.conftest import Workspace
from tests.feed_items import KALEYRA, MITTO
from tests.servers import FeedServer, Route, recent, rss


def test_a_database_moved_during_the_crawl_is_not_made_again(workspace: Workspace, feed_server: FeedServer) -> None:
    assert workspace.newsbot("run").returncode == 0  # the database exists, with no source yet
    gate = threading.Event()
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([{**MITTO, "pubDate": recent()}]), gate=gate)))
    workspace.source("Desk", feed_server.add("/desk.xml", Route(rss([{**KALEYRA, "pubDate": recent()}]), gate=gate)))
    moved = workspace.database.with_name("moved.db")

    run = workspace.popen("run")
    try:
        deadline = time.monotonic() + 30
        while len(feed_server.requests) < 2 and time.monotonic() < deadline:  # the run has the file open
            time.sleep(0.05)
        workspace.database.rename(moved)
        for suffix in ("-wal", "-shm"):
            if (log := workspace.database.with_name(workspace.database.name + suffix)).exists():
                log.rename(moved.with_name(moved.name + suffix))
        gate.set()
        stdout, stderr = run.communicate(timeout=60)
    finally:
        gate.set()
        run.kill()

    assert not workspace.database.exists(), f"a new database was made where the old one was\n{stdout}{stderr}"
    assert run.returncode == 4, stdout + stderr
    assert f"the database {workspace.database} was moved or removed while the run had it open" in stderr, stderr
    with sqlite3.connect(moved) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_the_run_s_other_writers_open_the_run_s_file_or_none(tmp_path: Path) -> None:
    """The clustering process opens the run's database by its path when its first large batch comes,
    which may be after the file was moved away: it made a new, empty one there, which the next run
    took for a first run's and alerted everything again."""
    database = tmp_path / "newsbot.db"
    Storage.open(database).close()
    database.rename(tmp_path / "moved.db")

    with pytest.raises(StorageError):
        Storage.open(database, migrate=False, checked=True, existing=True)

    assert not database.exists()
