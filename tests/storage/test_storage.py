"""newsbot.storage.database on a real SQLite file: identity, migrations, atomic writes, the outbox."""

from __future__ import annotations

import contextlib
import random
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from newsbot.clustering.assign import assign_clusters
from newsbot.errors import StorageError
from newsbot.models import FeedEntry, FetchResult, FetchStatus, Match, RuleHit, RunSummary, Severity, Story
from newsbot.storage.database import Storage
from newsbot.storage.migrations import MIGRATIONS, m015_story_links
from newsbot.storage.schema import INDEXES, TABLES
from newsbot.stories.normalize import to_story
from tests.conftest import REPOSITORY
from tests.end_to_end.test_database_faults import fill, tmpfs

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def story(path: str, source: str = "Wire", title: str = "Mitto and SS7") -> Story:
    made = to_story(FeedEntry(link=f"https://news.example.com/{path}", title=title, summary="s"), source)
    assert made is not None
    return made


def fetched(source: str, status: FetchStatus = FetchStatus.OK, **fields: Any) -> FetchResult:
    return FetchResult(source, f"https://{source.lower()}.example/feed.xml", status, **fields)


MATCH = Match("SMS vendors", (RuleHit("vendor-surveillance", Severity.HIGH, ("Mitto AG", "SS7")),))


def test_new_database_is_wal_and_migrated_once(tmp_path: Path) -> None:
    Storage.open(tmp_path / "a.db").close()
    again = Storage.open(tmp_path / "a.db")

    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [m.name for m in MIGRATIONS.applied(again.db)] == [m.name for m in MIGRATIONS._migrations]
    assert {"stories", "sources", "alerts", "story_sources", "runs"} <= set(again.db.table_names())
    again.close()


def test_someone_elses_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER)")

    with pytest.raises(StorageError, match="is not a newsbot database"):
        Storage.open(path)


def test_database_from_a_newer_newsbot_is_refused(storage: Storage, tmp_path: Path) -> None:
    storage.db.table("_sqlite_migrations").insert(
        {"migration_set": "newsbot", "name": "m999_future", "applied_at": "2030-01-01"}
    )
    storage.close()

    with pytest.raises(StorageError, match=r"newer newsbot.*m999_future"):
        Storage.open(tmp_path / "newsbot.db")


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        Storage.open(tmp_path / "no" / "such" / "newsbot.db")


def test_same_story_from_two_sources_is_stored_once_and_remembers_both(storage: Storage) -> None:
    first = storage.record_fetch(fetched("Wire"), [story("a"), story("b")], NOW)
    second = storage.record_fetch(fetched("Desk"), [story("a", source="Desk")], NOW + timedelta(minutes=1))

    assert (first, second) == (2, 0)
    assert storage.story_count() == 2
    sources = storage.db.execute("SELECT source FROM story_sources ORDER BY seen_at").fetchall()
    assert sources == [("Wire",), ("Wire",), ("Desk",)]


def test_validators_are_kept_from_the_last_successful_fetch_only(storage: Storage) -> None:
    storage.record_fetch(fetched("Wire", etag='"1"', last_modified="Mon"), [], NOW)
    storage.record_fetch(fetched("Wire", FetchStatus.NOT_MODIFIED), [], NOW)
    storage.record_fetch(fetched("Wire", FetchStatus.ERROR, error="HTTP 500"), [], NOW)
    storage.record_fetch(fetched("Wire", FetchStatus.ERROR, error="HTTP 500"), [], NOW)

    state = storage.fetch_state(["Wire"])["Wire"]
    assert (state.url, state.etag, state.last_modified) == ("https://wire.example/feed.xml", '"1"', "Mon")
    [row] = storage.source_rows()
    assert (row.last_status, row.last_error, row.consecutive_failures) == ("error", "HTTP 500", 2)


def test_a_failed_write_leaves_nothing_half_done(storage: Storage) -> None:
    good = story("a")
    broken = Story(id=good.id + "x", url=good.url, title="t", summary="", text="", source="Wire")

    def insert_both() -> None:
        with storage.transaction():
            for row in (good, broken):  # the second breaks the unique URL
                storage.db.execute(
                    "INSERT INTO stories (id, url, title, source) VALUES (?, ?, ?, ?)",
                    [row.id, row.url, row.title, "Wire"],
                )

    with pytest.raises(sqlite3.IntegrityError):
        insert_both()

    assert storage.story_count() == 0


def test_waiting_stories_are_read_a_batch_at_a_time_in_stored_order(storage: Storage) -> None:
    """Read in batches, in stored order; a write half-way through a batch does not find the
    connection stuck in the batch's read while another connection has committed."""
    for hour, path in enumerate("edcba"):  # stored in this order, an hour apart
        storage.record_fetch(fetched("Wire"), [story(path)], NOW + timedelta(hours=hour))
    storage.db.execute("UPDATE stories SET cluster_id = id")
    waiting = storage.unmatched_stories(batch=2)

    first = next(waiting)
    crawl = Storage.open(Path(storage.db.conn.execute("PRAGMA database_list").fetchone()[2]))
    try:
        crawl.record_fetch(fetched("Herald"), [story("f", source="Herald")], NOW)  # a store commits meanwhile
    finally:
        crawl.close()
    storage.record_matches(first[0], [], NOW)  # matched mid-batch, as queue_matches may when told to stop
    rest = list(waiting)

    assert [item.url.rsplit("/", 1)[1] for item, _ in [first, *rest]] == list("edcba")
    assert [seen for _, seen in rest] == [NOW + timedelta(hours=hour) for hour in range(1, 5)]
    assert [item.url for item, _ in storage.unmatched_stories()] == [item.url for item, _ in rest]


def test_matching_queues_one_alert_per_watchlist_and_is_idempotent(storage: Storage) -> None:
    item = story("a")
    storage.record_fetch(fetched("Wire"), [item], NOW)
    assert list(storage.unmatched_stories()) == [], "a story waits for its cluster before it is matched"
    storage.db.execute("UPDATE stories SET cluster_id = id")  # what clustering does
    [(unmatched, first_seen)] = storage.unmatched_stories()

    storage.record_matches(unmatched, [MATCH], NOW)
    requeued = storage.record_matches(unmatched, [MATCH], NOW)

    assert first_seen == NOW and requeued == 0
    assert list(storage.unmatched_stories()) == []
    [alert] = storage.due_alerts(NOW)
    assert alert.story == item and alert.match == MATCH


def test_outbox_retries_wait_for_their_time_and_sent_alerts_leave(storage: Storage) -> None:
    storage.record_fetch(fetched("Wire"), [story("a")], NOW)
    storage.record_matches(story("a"), [MATCH], NOW)
    [alert] = storage.due_alerts(NOW)

    storage.mark_failed([alert.id], "Slack answered HTTP 429", NOW + timedelta(hours=1))
    waiting = storage.due_alerts(NOW + timedelta(minutes=59))
    due_again = storage.due_alerts(NOW + timedelta(hours=1))
    storage.mark_sent([alert.id], NOW + timedelta(hours=1))

    assert waiting == [] and [a.id for a in due_again] == [alert.id]
    assert storage.due_alerts(NOW + timedelta(days=1)) == []
    assert storage.alert_counts() == {"pending": 0, "sent": 1, "unconfirmed": 0, "muted": 0}


def test_stories_are_searchable_once_clustered(storage: Storage) -> None:
    """m012: a story enters the full-text index with its cluster, a batch at a time, not when stored."""
    storage.record_fetch(fetched("Wire"), [story("a", title="Kaleyra outage"), story("b", title="SS7 abuse")], NOW)
    assert storage.search("SS7") == []

    assign_clusters(storage, NOW, timedelta(days=7))

    assert [found.title for found in storage.search("SS7")] == ["SS7 abuse"]
    assert storage.count_with_word("outage") == 1


def fts_is_sound(storage: Storage) -> None:
    """FTS5's own check of its index, and that it holds exactly the clustered stories."""
    storage.db.execute("INSERT INTO stories_fts (stories_fts) VALUES ('integrity-check')")
    indexed = {row[0] for row in storage.db.execute("SELECT id FROM stories_fts_docsize")}  # one row a document
    clustered = {row[0] for row in storage.db.execute("SELECT rowid FROM stories WHERE cluster_id IS NOT NULL")}
    assert indexed == clustered


def test_the_full_text_index_holds_each_clustered_story_once_whatever_happens_to_it(storage: Storage) -> None:
    """A story deleted or edited before it is indexed leaves the index alone (FTS5's 'delete' of what
    was never indexed damages it), and a story clustered again (its cluster cleared, as a reset
    does) is not indexed twice: FTS5's check of the index against the stories table passes."""
    stories = [story("a", title="Kaleyra outage"), story("b", title="SS7 abuse"), story("c", title="Diameter")]
    storage.record_fetch(fetched("Wire"), stories, NOW)
    with storage.transaction():
        storage.db.execute("DELETE FROM story_sources WHERE story_id = ?", [story("c").id])
        storage.db.execute("DELETE FROM stories WHERE id = ?", [story("c").id])
        storage.db.execute("UPDATE stories SET title = 'SS7 and Diameter abuse' WHERE id = ?", [story("b").id])
    assign_clusters(storage, NOW, timedelta(days=7))
    with storage.transaction():
        storage.db.execute("UPDATE stories SET cluster_id = NULL")
        storage.db.execute("DELETE FROM shingle_index")
    assign_clusters(storage, NOW, timedelta(days=7))

    storage.db.execute("INSERT INTO stories_fts (stories_fts, rank) VALUES ('integrity-check', 1)")
    assert [found.title for found in storage.search("Diameter")] == ["SS7 and Diameter abuse"]
    assert storage.count_with_word("outage") == 1


FULL = 2  # PRAGMA synchronous


def test_a_batch_of_clusters_commits_without_an_fsync_and_leaves_the_connection_full(storage: Storage) -> None:
    """Clusters are written NORMAL (synced by the next FULL commit or checkpoint): SQLite's own trace
    of the statements shows the level lowered before the batch's transaction and put back after its
    COMMIT; the alerts the same connection queues next are FULL again. Nested in a transaction, the
    outer commit decides (SQLite refuses to change the level inside one) and the batch commits with it."""
    storage.record_fetch(fetched("Wire"), [story("a"), story("b")], NOW)
    statements: list[str] = []
    storage.db.conn.set_trace_callback(statements.append)
    try:
        assign_clusters(storage, NOW, timedelta(days=7))
    finally:
        storage.db.conn.set_trace_callback(None)
    steps = [
        step
        for step in statements
        if step.startswith(("PRAGMA synchronous =", "BEGIN", "COMMIT", "UPDATE stories SET cluster_id"))
    ]
    first = steps.index(next(step for step in steps if step.startswith("UPDATE stories SET cluster_id")))
    assert steps[first - 2 : first] == ["PRAGMA synchronous = NORMAL", "BEGIN IMMEDIATE"], steps
    assert steps[first + 2 :][:2] == ["COMMIT", f"PRAGMA synchronous = {FULL}"], steps  # after both stories' UPDATE
    assert storage.db.execute("PRAGMA synchronous").fetchone()[0] == FULL
    assert storage.db.execute("SELECT count(*) FROM stories WHERE cluster_id IS NULL").fetchone()[0] == 0

    storage.record_fetch(fetched("Desk"), [story("c")], NOW)
    with storage.transaction():
        assign_clusters(storage, NOW, timedelta(days=7))
        assert storage.db.conn.in_transaction
    assert storage.db.execute("PRAGMA synchronous").fetchone()[0] == FULL
    assert storage.db.execute("SELECT count(*) FROM stories WHERE cluster_id IS NULL").fetchone()[0] == 0


def test_clusters_that_meet_a_full_disk_leave_the_connection_full_and_are_written_once_there_is_room(
    tmp_path: Path,
) -> None:
    """A real 2 MB tmpfs filled up while a batch of clusters is written: the write fails and is rolled
    back, the connection is FULL again (its next commits are alerts), and the same batch is written
    once room is made."""
    with tmpfs(tmp_path / "disk", "size=2m") as disk:
        storage = Storage.open(disk / "newsbot.db")
        try:
            long_text = " ".join(f"word{number} said the operator on {number % 7} lines" for number in range(300))
            stories = [
                to_story(
                    FeedEntry(link=f"https://news.example.com/{n}", title=f"t{n}", summary=f"{n} {long_text}"), "Wire"
                )
                for n in range(40)
            ]
            storage.record_fetch(fetched("Wire"), [made for made in stories if made is not None], NOW)
            filler = fill(disk, leave=0)
            with pytest.raises(sqlite3.OperationalError, match="full"):
                assign_clusters(storage, NOW, timedelta(days=7))
            assert not storage.db.conn.in_transaction
            assert storage.db.execute("PRAGMA synchronous").fetchone()[0] == FULL
            assert storage.db.execute("SELECT count(*) FROM stories WHERE cluster_id IS NOT NULL").fetchone()[0] == 0

            filler.unlink()
            assign_clusters(storage, NOW, timedelta(days=7))
            assert storage.db.execute("SELECT count(*) FROM stories WHERE cluster_id IS NULL").fetchone()[0] == 0
            assert storage.db.execute("PRAGMA synchronous").fetchone()[0] == FULL
        finally:
            storage.close()


def test_m012_takes_unclustered_stories_out_of_the_index_until_they_are_clustered(tmp_path: Path) -> None:
    """A database from before m012 has every stored story indexed, clustered or not (the insert trigger).
    Migrated, the index holds the clustered ones only, each once, and the others join it when
    clustered; an edit of a story's text reaches the index only when the story is in it (FTS5's
    'delete' of what was never indexed would damage it)."""
    path = tmp_path / "old.db"
    old = Storage.open(path, migrate=False)
    old._check_identity(creating=True)
    MIGRATIONS.apply(old.db, stop_before="m012_full_text_index_written_with_clusters")
    m015_story_links(old.db)  # today's record_fetch, used to store below, reads and writes its table
    old.record_fetch(fetched("Wire"), [story("a", title="Kaleyra outage"), story("b", title="SS7 abuse")], NOW)
    old.db.execute("UPDATE stories SET cluster_id = id WHERE id = ?", [story("a").id])
    old.db.conn.commit()
    assert old.count_with_word("SS7") == 1, "the old trigger indexed the unclustered story"
    old.close()

    upgraded = Storage.open(path)
    try:
        fts_is_sound(upgraded)
        assert [found.title for found in upgraded.search("outage")] == ["Kaleyra outage"]
        assert upgraded.search("SS7") == []
        with upgraded.transaction():
            upgraded.db.execute("UPDATE stories SET title = 'SS7 and Diameter abuse' WHERE id = ?", [story("b").id])
            upgraded.db.execute("UPDATE stories SET title = 'Kaleyra outage ends' WHERE id = ?", [story("a").id])
        fts_is_sound(upgraded)

        assign_clusters(upgraded, NOW, timedelta(days=7))

        fts_is_sound(upgraded)
        upgraded.db.execute("INSERT INTO stories_fts (stories_fts, rank) VALUES ('integrity-check', 1)")
        assert [found.title for found in upgraded.search("Diameter")] == ["SS7 and Diameter abuse"]
        assert [found.title for found in upgraded.search("ends")] == ["Kaleyra outage ends"]
        assert upgraded.count_with_word("SS7") == 1
    finally:
        upgraded.close()


def test_runs_are_recorded(storage: Storage) -> None:
    storage.record_run(NOW, NOW + timedelta(seconds=3), RunSummary(new_stories=4))

    last = storage.last_run()
    assert last is not None and last.summary["new_stories"] == 4 and last.started_at == NOW.isoformat()


def test_an_older_database_is_migrated_and_keeps_its_alerts(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Storage.open(path, migrate=False)
    old._check_identity(creating=True)
    MIGRATIONS.apply(old.db, stop_before="m002_delivery_state")
    old.db.table("stories").insert({"id": story("a").id, "url": story("a").url, "title": "a", "source": "Wire"})
    old.db.execute(
        "INSERT INTO alerts (id, story_id, watchlist, severity, match, status, attempts, created_at) "
        "VALUES ('x', ?, 'SMS vendors', 'high', ?, 'pending', 0, ?)",
        [story("a").id, '{"rules": [], "snippet": [], "snippet_field": ""}', NOW.isoformat()],
    )
    old.db.conn.commit()
    old.close()

    upgraded = Storage.open(path)

    assert "destination" in upgraded.db["alerts"].columns_dict
    assert [alert.id for alert in upgraded.due_alerts(NOW)] == ["x"]
    upgraded.close()


def test_a_migrated_database_is_exactly_the_schema_page(tmp_path: Path) -> None:
    """newsbot.storage.schema is where a reader learns the database; it must be what migrations build."""
    Storage.open(tmp_path / "newsbot.db").close()
    with sqlite3.connect(tmp_path / "newsbot.db") as connection:
        tables = {
            name: {column: kind for _, column, kind, *_ in connection.execute(f'PRAGMA table_info("{name}")')}
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'stories_fts%' "
                "AND name NOT LIKE '\\_%' ESCAPE '\\'"
            )
        }
        indexes = {
            name: (table, tuple(row[2] for row in connection.execute(f'PRAGMA index_info("{name}")')), bool(unique))
            for name, table, unique in connection.execute(
                "SELECT name, tbl_name, sql LIKE 'CREATE UNIQUE%' FROM sqlite_master WHERE type = 'index' "
                "AND sql IS NOT NULL AND tbl_name NOT LIKE '\\_%' ESCAPE '\\'"
            )
        }

    assert tables == {
        table: {column: kind for column, (kind, _) in columns.items()} for table, columns in TABLES.items()
    }
    assert indexes == INDEXES
    assert all(meaning for columns in TABLES.values() for _, meaning in columns.values())


def test_migrations_call_no_live_code() -> None:
    """A migration does tomorrow what it did the day it was written: it imports only sqlite-utils and
    frozen copies, never a module the rest of newsbot keeps changing."""
    source = (REPOSITORY / "newsbot" / "storage" / "migrations.py").read_text(encoding="utf-8")
    imported = set(re.findall(r"^from (\S+) import", source, flags=re.MULTILINE))
    assert imported == {"__future__", "sqlite_utils", "sqlite_utils.migrations", "newsbot.storage.m004_urls"}


def test_the_full_text_index_merges_16_segments_at_a_time_and_finds_every_commit(storage: Storage) -> None:
    """m011: FTS5 merges 16 segments a level, not 4, so many small commits (a pass each, a segment
    each) leave more segments than FTS5's default would; a story of any of them is still found."""
    (automerge,) = storage.db.execute("SELECT v FROM stories_fts_config WHERE k = 'automerge'").fetchone()
    assert automerge == 16
    segments = "SELECT count(DISTINCT segid) FROM stories_fts_idx"
    with contextlib.closing(sqlite3.connect(":memory:", isolation_level=None)) as default:
        default.execute("CREATE VIRTUAL TABLE stories_fts USING fts5(title)")
        for number in range(100):
            title = f"Outage number{number}"
            storage.record_fetch(fetched(f"Wire{number}"), [story(f"s{number}", title=title)], NOW)
            assign_clusters(storage, NOW, timedelta(days=7))
            default.execute("BEGIN")
            default.execute("INSERT INTO stories_fts (title) VALUES (?)", [title])
            default.execute("COMMIT")
        assert storage.db.execute(segments).fetchone()[0] > default.execute(segments).fetchone()[0]
    for number in (0, 50, 99):
        assert [found.title for found in storage.search(f"number{number}")] == [f"Outage number{number}"]


def test_a_small_pass_after_a_cold_runs_batches_does_not_merge_them_all(storage: Storage) -> None:
    """m016: FTS5 merges a level's segments all at once when 64 pile up, not 16. A cold run leaves a
    large segment a batch (15 after 1,000 feeds); with FTS5's default, the next run's one small batch
    wrote the 16th and merged all of them in its own commit (0.15 s of its last half second). Now a
    later commit does, one whose pages carry FTS5's count past a multiple of 64. Measured as the
    index pages the small pass writes (new rows of the index's data table), against FTS5's default
    fed the same stories; every story is still found."""
    (crisismerge,) = storage.db.execute("SELECT v FROM stories_fts_config WHERE k = 'crisismerge'").fetchone()
    assert crisismerge == 64
    words = [f"relay{number}" for number in range(5000)]
    pick = random.Random(16)
    small_pass = {}
    with contextlib.closing(sqlite3.connect(":memory:", isolation_level=None)) as default:
        default.execute("CREATE VIRTUAL TABLE stories_fts USING fts5(title, summary, text)")
        default.execute("INSERT INTO stories_fts (stories_fts, rank) VALUES ('automerge', 16)")
        for number, size in enumerate([40] * 15 + [2]):  # the cold run's batches, then the next run's
            stories = [
                story(f"p{number}-{each}", title=f"pass{number} " + " ".join(pick.choice(words) for _ in range(300)))
                for each in range(size)
            ]
            storage.record_fetch(fetched(f"Wire{number}"), stories, NOW)
            with pages_written(storage.db.conn) as written:
                assign_clusters(storage, NOW, timedelta(days=7))
            small_pass["newsbot"] = written[0]
            with pages_written(default) as written:
                default.execute("BEGIN")
                rows = [[each.title, each.summary] for each in stories]
                default.executemany("INSERT INTO stories_fts (title, summary) VALUES (?, ?)", rows)
                default.execute("COMMIT")
            small_pass["default"] = written[0]
    assert small_pass["newsbot"] * 4 < small_pass["default"], small_pass
    for number in (0, 7, 15):
        assert storage.search(f"pass{number}"), number


@contextlib.contextmanager
def pages_written(database: sqlite3.Connection) -> Iterator[list[int]]:
    """How many pages of the full-text index the block writes: rows of its data table that are new
    (a merge writes its output as new pages, never in place)."""
    written = [0]
    before = {row[0] for row in database.execute("SELECT id FROM stories_fts_data")}
    yield written
    written[0] = sum(row[0] not in before for row in database.execute("SELECT id FROM stories_fts_data"))


def test_a_clusters_members_are_listed_in_the_order_they_were_stored(storage: Storage) -> None:
    """Stored in one second (one source's stories), they were listed by id, a hash: `newsbot explain
    --url` named the cluster's first story fourth."""
    paths = [f"wire-{number}" for number in range(8)]
    storage.record_fetch(fetched("Wire"), [story(path) for path in paths], NOW)
    root = story(paths[0]).id
    storage.db.execute("UPDATE stories SET cluster_id = ?", [root])

    cluster = storage.cluster_of(root)

    assert cluster is not None
    assert [member.url.rsplit("/", 1)[1] for member in cluster.members] == paths
    assert [item.story.url.rsplit("/", 1)[1] for item in storage.stories_since(NOW)] == paths
