"""The database, damaged or out of room: exit 4 with one sentence naming the file, and nothing lost.

Faults are real: bytes overwritten in a page of a database `newsbot run` wrote, a tmpfs remounted
read-only, a 2 MB tmpfs filled up (mounting needs root; the tests skip without it).
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsbot.models import FeedbackAction
from newsbot.storage.database import Storage
from newsbot.storage.feedback import Click, MuteTarget
from tests.conftest import Workspace, newsbot_environment, run_newsbot
from tests.servers import FakeSlack, FeedServer, Route, recent, rss

VOCABULARY = [f"{stem}{number}" for stem in ("signal", "roam", "carrier", "breach", "vendor") for number in range(400)]


def article(seed: int, words: int = 120) -> str:
    """A text of its own for each story, so that no two are clustered together as copies."""
    pick = random.Random(seed)
    return " ".join(pick.choice(VOCABULARY) for _ in range(words))


def story(number: int) -> dict[str, str]:
    """A feed item; every third one names Mitto AG and SS7, and so alerts."""
    mitto = number % 3 == 0
    return {
        "title": f"{'Mitto AG sold SS7 access to locate phones' if mitto else 'Regulator notes'} (story {number})",
        "link": f"https://news.example.com/story-{number}",
        "description": article(number),
        "pubDate": recent(1 + number / 100),
    }


STORY_LINK = re.compile(r"https://news\.example\.com/story-\d+")


def rows(database: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(sql).fetchall()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_sentence(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# --- a damaged page, in every table and index ---------------------------------------------------


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    server.add("/wire.xml", Route(rss([story(number) for number in range(150)])))
    server.add("/gone.xml", Route(status=404))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, feeds: FeedServer) -> Path:
    """A database as `newsbot run` wrote it — stories, their full-text index, clusters, alerts, a
    failing source — plus a notice, a health notice, a mute click from Slack, a digest's owed full
    message and feed links to stories stored under other addresses, so that every table and index
    has rows."""
    workspace = Workspace(tmp_path_factory.mktemp("written"))
    configure(workspace, feeds)
    result = workspace.newsbot("run")
    assert result.returncode == 0, result.stderr
    storage = Storage.open(workspace.database)
    storage.record_notice("digest", datetime.now(UTC), "a notice")
    storage.record_health("Broken", "failing", "HTTP 404", datetime.now(UTC), ("failing", "Broken is failing"))
    alert, watchlist = rows(workspace.database, "SELECT id, watchlist FROM alerts LIMIT 1")[0]
    click = Click(alert, "U0ANALYST1", "analyst", FeedbackAction.MUTE_7D, datetime.now(UTC))
    storage.record_click(click, [MuteTarget(watchlist, vendor="Mitto AG")], datetime.now(UTC) + timedelta(days=7))
    # delivered by a digest whose thread still lacks its full message (the partial index's one row)
    storage.mark_sent([alert], datetime.now(UTC), "C0VENDOR1", "1733300000.000100", digest=True, detail_due=True)
    with storage.transaction():  # feed links to stories stored under their pages' canonicals (m015)
        storage.db.execute(
            "INSERT INTO story_links (url, story_id) SELECT 'https://feeds.example/r/' || id, id FROM stories"
        )
    storage.close()
    empty = rows(workspace.database, "SELECT name FROM dbstat GROUP BY name HAVING sum(ncell) = 0")
    assert not empty, f"these tables or indexes have no rows to damage: {empty}"
    return workspace.database


def configure(workspace: Workspace, feeds: FeedServer) -> None:
    workspace.source("Wire", feeds.url + "/wire.xml")
    workspace.source("Broken", feeds.url + "/gone.xml")


def fullest_pages(database: Path) -> dict[str, int]:
    """Per table and index (sqlite_schema included), its b-tree page with the least free space."""
    found = rows(
        database,
        "SELECT name, pageno FROM dbstat WHERE pagetype != 'overflow' ORDER BY name, unused, pageno",
    )
    pages: dict[str, int] = {}
    for name, page in found:
        pages.setdefault(name, page)
    return pages


def damage(database: Path, page: int) -> None:
    """Overwrite 32 bytes at the page's middle cell: real rows or keys, not free space (which
    SQLite, built with SECURE_DELETE, keeps zeroed and never reads)."""
    page_size = rows(database, "PRAGMA page_size")[0][0]
    with database.open("r+b") as file:
        file.seek((page - 1) * page_size)
        content = file.read(page_size)
        header = 100 if page == 1 else 0  # page 1 starts with the file's header
        cells = int.from_bytes(content[header + 3 : header + 5], "big")
        pointers = header + (8 if content[header] in (10, 13) else 12)  # leaf pages have a shorter header
        middle = pointers + 2 * (cells // 2)
        file.seek((page - 1) * page_size + int.from_bytes(content[middle : middle + 2], "big"))
        file.write(b"\xa5" * 32)


def damaged_copy(folder: Path, written: Path, feeds: FeedServer, page: int) -> Workspace:
    """A workspace with a copy of `written`, its `page` damaged (none: 0)."""
    folder.mkdir(exist_ok=True)
    workspace = Workspace(folder)
    configure(workspace, feeds)
    workspace.write()
    shutil.copy(written, workspace.database)
    if page:
        damage(workspace.database, page)
    return workspace


def test_a_damaged_page_in_any_table_or_index_stops_a_run_with_exit_4_and_changes_nothing(
    tmp_path: Path, written: Path, feeds: FeedServer
) -> None:
    pages = fullest_pages(written)
    assert len(pages) >= 27, pages  # 13 tables, 13 indexes and the schema itself
    workspaces = {name: damaged_copy(tmp_path / name, written, feeds, page) for name, page in sorted(pages.items())}
    before = {name: digest(workspace.database) for name, workspace in workspaces.items()}
    requests_before = len(feeds.requests)

    def run(workspace: Workspace) -> subprocess.CompletedProcess[str]:
        return run_newsbot("run", "--config", str(workspace.config), cwd=workspace.folder)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(workspaces, pool.map(run, workspaces.values()), strict=True))

    problems = []
    for name, result in results.items():
        database = workspaces[name].database
        lines = result.stderr.strip().splitlines()
        if (
            result.returncode != 4
            or len(lines) != 1
            or not lines[0].startswith(f"newsbot: the database {database} is damaged (")
            or "restore the file from a backup" not in lines[0]
        ):
            problems.append(f"{name}: exit {result.returncode}: {result.stderr[-300:]}")
        elif digest(database) != before[name]:
            problems.append(f"{name}: the file was changed")
    assert not problems, "\n".join(problems)
    assert len(feeds.requests) == requests_before  # refused before fetching anything


def made_stale(database: Path, index: str, change: str) -> None:
    """Rows changed behind an index's back, every page still well formed: the index's schema entry is
    taken out while `change` runs, then put back, so SQLite does not keep the index up to date."""
    with closing(sqlite3.connect(database)) as connection:
        entry = connection.execute(
            "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema WHERE name = ?", [index]
        ).fetchone()
        connection.execute("PRAGMA writable_schema = ON")
        connection.execute("DELETE FROM sqlite_schema WHERE name = ?", [index])
        connection.commit()
    with closing(sqlite3.connect(database)) as connection:
        assert connection.execute(change).rowcount > 0
        connection.commit()
    with closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA writable_schema = ON")
        connection.execute("INSERT INTO sqlite_schema VALUES (?, ?, ?, ?, ?)", entry)
        connection.commit()
    assert rows(database, "PRAGMA quick_check") == [("ok",)], "quick_check alone does not see a stale index"
    assert rows(database, "PRAGMA integrity_check") != [("ok",)]


FIRST_ROW = "WHERE rowid = (SELECT min(rowid) FROM {})"


@pytest.mark.parametrize(
    ("index", "change"),
    [
        ("idx_alerts_story_id_watchlist", "UPDATE alerts SET watchlist = 'renamed' " + FIRST_ROW.format("alerts")),
        ("idx_stories_url", "UPDATE stories SET url = url || '?copy' " + FIRST_ROW.format("stories")),
        ("idx_alerts_status", "UPDATE alerts SET status = 'pending' " + FIRST_ROW.format("alerts")),
    ],
)
def test_an_index_that_disagrees_with_its_table_stops_a_run_with_exit_4(
    tmp_path: Path, written: Path, feeds: FeedServer, index: str, change: str
) -> None:
    """No page is damaged, so only comparing the index with its rows finds it: a stale index of alerts
    could send one twice or hide a pending one from the outbox for ever, a stale index of addresses
    let a story in twice."""
    workspace = damaged_copy(tmp_path, written, feeds, page=0)
    made_stale(workspace.database, index, change)
    before = digest(workspace.database)
    requests_before = len(feeds.requests)

    result = run_newsbot("run", "--config", str(workspace.config), cwd=workspace.folder)

    assert result.returncode == 4, result.stderr
    assert one_sentence(result.stderr).startswith(f"newsbot: the database {workspace.database} is damaged (")
    assert digest(workspace.database) == before
    assert len(feeds.requests) == requests_before


@pytest.mark.parametrize("command", ["status", "search"])
@pytest.mark.parametrize("damaged_object", ["alerts", "idx_stories_url", "stories_fts_data"])
def test_a_damaged_page_stops_status_and_search_with_exit_4(
    tmp_path: Path, written: Path, feeds: FeedServer, command: str, damaged_object: str
) -> None:
    workspace = damaged_copy(tmp_path, written, feeds, fullest_pages(written)[damaged_object])
    arguments = [command, "--config", str(workspace.config), *(["Mitto"] if command == "search" else [])]
    result = run_newsbot(*arguments, cwd=workspace.folder)
    assert result.returncode == 4, result.stderr
    assert one_sentence(result.stderr).startswith(f"newsbot: the database {workspace.database} is damaged (")


def test_a_dry_run_on_a_damaged_database_names_the_real_file_not_its_throwaway_copy(
    tmp_path: Path, written: Path, feeds: FeedServer
) -> None:
    workspace = damaged_copy(tmp_path, written, feeds, fullest_pages(written)["alerts"])
    before = digest(workspace.database)
    result = run_newsbot("run", "--dry-run", "--config", str(workspace.config), cwd=workspace.folder)
    assert result.returncode == 4, result.stderr
    assert one_sentence(result.stderr).startswith(f"newsbot: the database {workspace.database} is damaged (")
    assert digest(workspace.database) == before


def test_text_damaged_inside_an_intact_page_is_a_sentence_when_it_is_read(
    tmp_path: Path, written: Path, feeds: FeedServer
) -> None:
    """No check sees a changed byte inside a text value (SQLite keeps no checksums), but reading
    it must still end in a sentence, not a traceback."""
    workspace = Workspace(tmp_path)
    configure(workspace, feeds)
    workspace.write()
    shutil.copy(written, workspace.database)
    content = workspace.database.read_bytes()
    where = content.index(b"the server answered HTTP 404")  # the failing source's last_error
    with workspace.database.open("r+b") as file:
        file.seek(where + 4)
        file.write(b"\xff\xfe")
    assert rows(workspace.database, "PRAGMA integrity_check") == [("ok",)]

    result = run_newsbot("status", "--config", str(workspace.config), cwd=workspace.folder)

    assert result.returncode == 4, result.stderr
    sentence = one_sentence(result.stderr)
    assert sentence.startswith(f"newsbot: the database {workspace.database} is damaged (")
    assert "a value in the column 'last_error' is not UTF-8 text" in sentence


# --- a read-only folder and a full disk, on real file systems -------------------------------------


@contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=False, capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_dry_run_whose_temporary_folder_is_full_names_its_copy_not_the_real_database(
    tmp_path: Path, feeds: FeedServer
) -> None:
    """It said "the disk holding the database <the real file> is full", whose disk had room."""
    (tmp_path / "work").mkdir()
    workspace = Workspace(tmp_path / "work")
    configure(workspace, feeds)
    assert workspace.newsbot("run").returncode == 0
    size = workspace.database.stat().st_size
    with tmpfs(tmp_path / "temporary", f"size={size // 2}") as temporary:
        workspace.environment["TMPDIR"] = str(temporary)
        result = workspace.newsbot("run", "--dry-run")
    assert result.returncode == 4, result.stderr
    sentence = one_sentence(result.stderr)
    assert f"{temporary}/newsbot-dry-run-" in sentence and sentence.endswith(
        "(the dry run's throwaway copy of the database: TMPDIR sets where it goes)"
    ), sentence
    assert str(workspace.database) not in sentence


def test_a_read_only_folder_is_exit_4_with_a_sentence_and_nothing_changes(tmp_path: Path, feeds: FeedServer) -> None:
    with tmpfs(tmp_path / "disk", "size=4m") as disk:
        workspace = Workspace(disk)
        configure(workspace, feeds)
        assert workspace.newsbot("run").returncode == 0
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        before = digest(workspace.database)

        result = run_newsbot("run", "--config", str(workspace.config), cwd=disk)

        assert result.returncode == 4, result.stderr
        sentence = one_sentence(result.stderr)
        assert sentence.startswith(f"newsbot: cannot write the database {workspace.database}: ")
        assert "make the folder writable" in sentence
        assert digest(workspace.database) == before


def fill(disk: Path, leave: int) -> Path:
    """Fill the file system, then give back `leave` bytes: room to open the database, not to write."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(descriptor, bytes(65536))
    except OSError:
        pass
    finally:
        os.close(descriptor)
    os.truncate(filler, filler.stat().st_size - leave)
    return filler


def test_a_full_disk_is_exit_4_the_database_intact_and_the_next_run_catches_up(
    tmp_path: Path, feed_server: FeedServer, slack: FakeSlack
) -> None:
    first = [story(number) for number in (0, 3, 6)]
    later = [story(number) for number in range(9, 129, 3)]  # 40 more that alert
    feed = Route(rss(first))
    feed_server.add("/wire.xml", feed)
    with tmpfs(tmp_path / "disk", "size=2m") as disk:
        workspace = Workspace(disk)
        workspace.source("Wire", feed_server.url + "/wire.xml")
        workspace.use_slack(slack, digest_over=1000, seconds_between_messages=0)
        assert workspace.newsbot("run").returncode == 0
        assert len(slack.delivered) == 3
        feed.body = rss(first + later)
        filler = fill(disk, leave=64 * 1024)

        full = run_newsbot("run", "--config", str(workspace.config), environment=workspace.environment, cwd=disk)

        assert full.returncode == 4, full.stderr
        sentence = one_sentence(full.stderr)
        assert sentence == (
            f"newsbot: the disk holding the database {workspace.database} is full; nothing half-written was kept, "
            "and the next run catches up once there is space"
        )
        assert len(feed_server.requests_to("/wire.xml")) == 2  # it failed writing what it fetched
        assert rows(workspace.database, "PRAGMA integrity_check") == [("ok",)]
        assert rows(workspace.database, "SELECT count(*) FROM stories") == [(3,)]
        assert rows(workspace.database, "SELECT status, count(*) FROM alerts GROUP BY status") == [("sent", 3)]
        assert len(slack.delivered) == 3

        filler.unlink()
        caught_up = run_newsbot("run", "--config", str(workspace.config), environment=workspace.environment, cwd=disk)

        assert caught_up.returncode == 0, caught_up.stderr
        assert rows(workspace.database, "SELECT count(*) FROM stories") == [(43,)]
        assert rows(workspace.database, "SELECT status, count(*) FROM alerts GROUP BY status") == [("sent", 43)]
        links = [link for message in slack.delivered for link in set(STORY_LINK.findall(json.dumps(message)))]
        assert sorted(links) == sorted(item["link"] for item in [*first, *later])  # each exactly once


# --- what stands in the way, named ----------------------------------------------------------------


def test_a_damaged_database_says_to_move_its_log_aside_with_it(
    tmp_path: Path, written: Path, feeds: FeedServer
) -> None:
    """A backup restored over the file while a killed run's -wal stays beside it is "damaged" again
    (SQLite replays the old log onto it): the sentence names the side files to move with it."""
    page = fullest_pages(written)["stories"]
    workspace = damaged_copy(tmp_path / "damaged", written, feeds, page)
    result = run_newsbot("run", "--config", str(workspace.config), cwd=workspace.folder)
    assert result.returncode == 4
    assert one_sentence(result.stderr).endswith(
        "either way move newsbot.db-wal and newsbot.db-shm aside with it, or SQLite replays their old writes "
        "onto the file that replaces it"
    )


def test_a_folder_where_the_database_should_be_is_named_as_one(tmp_path: Path, feeds: FeedServer) -> None:
    workspace = Workspace(tmp_path)
    configure(workspace, feeds)
    workspace.database.mkdir()
    result = workspace.newsbot("run")
    assert result.returncode == 4
    assert one_sentence(result.stderr) == (
        f"newsbot: cannot use the database {workspace.database}: it is a folder; point `database:` at a file "
        "in it, or elsewhere"
    )


@pytest.mark.parametrize("command", [("status",), ("search", "Mitto"), ("digest", "--dry-run")])
def test_an_empty_database_file_is_no_run_yet_not_an_older_newsbots(
    tmp_path: Path, feeds: FeedServer, command: tuple[str, ...]
) -> None:
    """What `touch` or a first run that failed on a full disk leaves: readers said "written by an older
    newsbot; `newsbot run` upgrades it" (exit 4), which hid that the runs were failing."""
    workspace = Workspace(tmp_path)
    configure(workspace, feeds)
    workspace.database.touch()
    result = workspace.newsbot(*command)
    assert result.returncode == 0, result.stderr
    assert "older newsbot" not in result.stdout + result.stderr
    if command[0] == "status":
        assert result.stdout.startswith(f"No run yet: {workspace.database} is empty (a first run that failed"), (
            result.stdout
        )
    assert workspace.database.stat().st_size == 0


def test_a_database_in_a_folder_that_does_not_exist_is_refused_not_started_afresh(
    tmp_path: Path, feeds: FeedServer
) -> None:
    """A typo in `database:`, or a data volume not mounted: the run's lock made the folders, and a new
    database there alerted again every story of the last max_age_days."""
    workspace = Workspace(tmp_path)
    configure(workspace, feeds)
    workspace.settings["database"] = "unmounted/newsbot.db"
    result = workspace.newsbot("run")
    assert result.returncode == 4, result.stderr
    assert one_sentence(result.stderr) == (
        f"newsbot: cannot open the database {tmp_path / 'unmounted' / 'newsbot.db'}: the folder "
        f"{tmp_path / 'unmounted'} does not exist"
    )
    assert not (tmp_path / "unmounted").exists()


WITHOUT_ROOTS_FILE_ACCESS = [
    "setpriv",
    "--bounding-set",
    "-dac_override,-dac_read_search,-fowner",
    "--inh-caps",
    "-dac_override,-dac_read_search,-fowner",
    "--",
]


def run_without_roots_file_access(workspace: Workspace) -> subprocess.CompletedProcess[str]:
    """`newsbot run` as root without the capabilities that let root read and write any file."""
    return subprocess.run(
        [*WITHOUT_ROOTS_FILE_ACCESS, sys.executable, "-m", "newsbot", "run", "--config", str(workspace.config)],
        cwd=workspace.folder,
        env=newsbot_environment(workspace.environment),
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv to run without root's file access")
@pytest.mark.parametrize(("mode", "shown"), [(0o444, "-r--r--r--"), (0o000, "----------")])
def test_a_file_this_user_may_not_write_is_named_with_its_mode(
    tmp_path: Path, feeds: FeedServer, mode: int, shown: str
) -> None:
    """Not "make the folder writable", as it said: the folder is writable, the file is not."""
    workspace = Workspace(tmp_path)
    configure(workspace, feeds)
    assert workspace.newsbot("run").returncode == 0
    workspace.database.chmod(mode)
    result = run_without_roots_file_access(workspace)
    assert result.returncode == 4, result.stderr
    assert one_sentence(result.stderr) == (
        f"newsbot: cannot use the database {workspace.database}: this user may not read and write "
        f"{workspace.database} ({shown}); run newsbot as the user that owns it, or give that user read and "
        "write access to it"
    )


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_a_lock_file_another_user_left_is_named_and_roots_lock_goes_to_the_databases_owner(
    tmp_path: Path, feeds: FeedServer
) -> None:
    """A run as root left newsbot.db.lock root's: every later cron run as the database's owner then
    ended "make the folder writable", for a folder that was writable."""
    workspace = Workspace(tmp_path)
    configure(workspace, feeds)
    assert workspace.newsbot("run").returncode == 0
    lock = Path(f"{workspace.database}.lock")
    os.chown(lock, 65534, 65534)  # as if a run by another user (nobody) had left it
    refused = run_without_roots_file_access(workspace)
    assert refused.returncode == 4, refused.stderr
    owner = pwd.getpwuid(65534).pw_name
    assert one_sentence(refused.stderr) == (
        f"newsbot: cannot take the run lock {lock}: it belongs to {owner} and this user may not write it (a run "
        f"as {owner} left it?); remove it, or give it to this user"
    )

    lock.unlink()
    for path in tmp_path.glob("newsbot.db*"):
        os.chown(path, 65534, 65534)  # the database is cron's user's; root runs it once by hand
    assert workspace.newsbot("run").returncode == 0
    assert lock.stat().st_uid == 65534


def test_a_database_from_a_newer_newsbot_stops_readers_too_naming_the_file(tmp_path: Path, feeds: FeedServer) -> None:
    """Every cron run refuses it: `status` calling all well meanwhile would hide that nothing runs."""
    workspace = Workspace(tmp_path)
    configure(workspace, feeds)
    assert workspace.newsbot("run").returncode == 0
    with closing(sqlite3.connect(workspace.database)) as connection:
        connection.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('newsbot', 'm999_future', '2030-01-01')"
        )
        connection.commit()
    expected = (
        f"newsbot: the database {workspace.database} was written by a newer newsbot (migrations m999_future); "
        "upgrade newsbot before using it"
    )
    for arguments in (("run",), ("run", "--dry-run"), ("status",), ("search", "breach")):
        result = workspace.newsbot(*arguments)
        assert (arguments, result.returncode) == (arguments, 4), result.stderr
        assert one_sentence(result.stderr) == expected  # the real file, not a dry run's throwaway copy


def test_a_database_that_is_a_loop_of_links_is_a_sentence_not_a_traceback(tmp_path: Path, feeds: FeedServer) -> None:
    workspace = Workspace(tmp_path)
    configure(workspace, feeds)
    (tmp_path / "other.db").symlink_to(workspace.database)
    workspace.database.symlink_to(tmp_path / "other.db")
    result = workspace.newsbot("run")
    assert result.returncode == 4
    assert one_sentence(result.stderr) == (
        f"newsbot: cannot use the database {workspace.database}: it is a symbolic link to {tmp_path / 'other.db'}, "
        "which leads to no file that can be opened (a loop of links, or a folder that is not there)"
    )
