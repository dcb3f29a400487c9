"""The database's check begun early (newsbot.storage.integrity.EarlyCheck): `newsbot run` starts it
in a thread before importing Scrapy. Its verdict is the in-line check's, it never creates anything,
whatever it cannot read is left to `Storage.open` to check and explain as before, and leaving it
early stops it."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from newsbot.errors import StorageError
from newsbot.storage.database import Storage
from newsbot.storage.integrity import EarlyCheck
from tests.end_to_end.test_database_faults import damage, fullest_pages


def stored(path: Path) -> Path:
    """A newsbot database with a few hundred runs recorded, so that its tables span several pages."""
    storage = Storage.open(path)
    with storage.transaction():
        storage.db.conn.executemany(
            "INSERT INTO runs (started_at, finished_at, summary) VALUES (?, ?, ?)",
            [(f"2026-12-01 {number}", "later", "{" + "x" * 300 + "}") for number in range(300)],
        )
    storage.close()
    return path


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file whose check takes several seconds: 2,000,000 rows and an index to compare them with. (At
    400,000 rows, one second, a test process starved for that second on a loaded 2-core CI machine
    saw the check finish before it left: made once, it is only read.)"""
    path = tmp_path_factory.mktemp("early") / "large.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
        connection.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) "
            "INSERT INTO t (b) SELECT hex(randomblob(16)) FROM n"
        )
        connection.execute("CREATE INDEX t_b ON t (b)")
        connection.commit()
    return path


def test_open_takes_the_early_verdict_and_does_not_check_a_second_time(tmp_path: Path) -> None:
    """A page damaged after the early check passed is not seen by this open (the check is not run
    twice), and is by the next command's."""
    path = stored(tmp_path / "newsbot.db")
    with EarlyCheck(path) as early:
        assert early.outcome() == (True, None)
        damage(path, fullest_pages(path)["runs"])
        Storage.open(path, early=early).close()
    with pytest.raises(StorageError, match="is damaged"):
        Storage.open(path)


def test_a_damaged_page_found_early_is_the_same_sentence_as_found_in_line(tmp_path: Path) -> None:
    path = stored(tmp_path / "newsbot.db")
    damage(path, fullest_pages(path)["runs"])
    with pytest.raises(StorageError) as in_line:
        Storage.open(path)

    with EarlyCheck(path) as early:
        checked, found = early.outcome()
        with pytest.raises(StorageError) as from_early:
            Storage.open(path, early=early)

    assert checked
    assert found is not None
    assert str(from_early.value) == str(in_line.value)
    assert str(in_line.value).startswith(f"the database {path} is damaged (")


def test_a_missing_file_is_left_to_open_and_nothing_is_created(tmp_path: Path) -> None:
    path = tmp_path / "newsbot.db"
    with EarlyCheck(path) as early:
        assert early.outcome() == (False, None)
    assert list(tmp_path.iterdir()) == []
    with EarlyCheck(path) as early:
        Storage.open(path, early=early).close()  # a first run creates it as before
    assert path.exists()


def test_a_file_that_is_no_database_is_explained_by_open_as_before(tmp_path: Path) -> None:
    path = tmp_path / "newsbot.db"
    path.write_bytes(b"this is not a database, it is a note someone saved here\n" * 200)
    with EarlyCheck(path) as early:
        assert early.outcome() == (False, None)
        with pytest.raises(StorageError, match=f"the database {path}"):
            Storage.open(path, early=early)


def test_a_verdict_on_another_file_is_not_taken(tmp_path: Path) -> None:
    healthy = stored(tmp_path / "healthy.db")
    damaged = stored(tmp_path / "damaged.db")
    damage(damaged, fullest_pages(damaged)["runs"])
    with EarlyCheck(healthy) as early, pytest.raises(StorageError, match="is damaged"):
        Storage.open(damaged, early=early)


@pytest.mark.parametrize("begun", [False, True])
def test_leaving_before_the_check_is_done_stops_it(large: Path, begun: bool) -> None:
    """A command that fails first (another run holds the lock) does not wait for a long check: left
    before it began or once it is reading (the file takes seconds to check here; a fixed wait
    for "half-way" could outlast it on a faster machine), it is interrupted and says it did not check
    the file."""
    with EarlyCheck(large) as early:
        deadline = time.monotonic() + 10
        while begun and early._connection is None:  # the check's own connection: it is reading
            assert time.monotonic() < deadline
            time.sleep(0.001)
    assert early.outcome() == (False, None)
