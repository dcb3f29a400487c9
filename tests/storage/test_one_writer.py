"""One write transaction at a time in a process (StoreBase.transaction): a second thread's writer waits
for the first to commit, and gives up as SQLite would once its connection's busy timeout has passed,
so a run that left a stage behind in a transaction can still end."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlite_utils import Database

from newsbot.storage.database import Storage


def test_a_second_thread_writes_once_the_first_commits_and_gives_up_after_its_busy_timeout(tmp_path: Path) -> None:
    Storage.open(tmp_path / "newsbot.db").close()
    holding = threading.Event()
    release = threading.Event()

    def hold_a_transaction() -> None:
        stage = Storage(Database(tmp_path / "newsbot.db"))
        with stage.transaction():
            stage.db.execute("INSERT INTO runs (started_at, finished_at, summary) VALUES ('first', 'first', '{}')")
            holding.set()
            release.wait(30)
        stage.close()

    stage = threading.Thread(target=hold_a_transaction)
    stage.start()
    assert holding.wait(30)
    crawl = Storage(Database(tmp_path / "newsbot.db"))
    crawl.db.execute("PRAGMA busy_timeout = 200")
    with pytest.raises(sqlite3.OperationalError, match="locked"), crawl.transaction():
        crawl.db.execute("INSERT INTO runs (started_at, finished_at, summary) VALUES ('never', 'never', '{}')")

    crawl.db.execute("PRAGMA busy_timeout = 30000")
    threading.Timer(0.2, release.set).start()
    with crawl.transaction():  # waits for the first thread's commit, then writes
        crawl.db.execute("INSERT INTO runs (started_at, finished_at, summary) VALUES ('second', 'second', '{}')")
    stage.join(30)
    written = [row[0] for row in crawl.db.execute("SELECT started_at FROM runs ORDER BY id")]
    crawl.close()

    assert written == ["first", "second"]
