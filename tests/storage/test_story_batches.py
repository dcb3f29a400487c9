"""A fetch's stories are stored together (newsbot.storage.stories.insert_stories, three statements for
the whole feed): each story once, every source that carried it remembered, a story stored before found
by its URL even under an id of an older canonical form, and a feed with no story costs no statement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsbot.models import FetchResult, FetchStatus, Story
from newsbot.storage.database import Storage
from tests.sqlite_steps import statement_steps

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def story(number: int, source: str = "Wire", story_id: str | None = None) -> Story:
    url = f"https://news.example.com/story/{number}"
    return Story(
        id=story_id or f"id-{number}",
        url=url,
        title=f"Story {number}",
        summary=f"Summary {number}",
        text=f"Text of story {number}",
        source=source,
        published_at=NOW - timedelta(hours=number),
    )


def fetched(source: str) -> FetchResult:
    return FetchResult(source, f"https://{source.lower()}.example/feed.xml", FetchStatus.OK)


def test_a_feed_stores_each_story_once_with_every_field(storage: Storage) -> None:
    stories = [story(number) for number in range(25)]

    new = storage.record_fetch(fetched("Wire"), [*stories, stories[3]], NOW)  # a feed may list an item twice

    assert new == 25
    rows = {row["id"]: row for row in storage.db.query("SELECT * FROM stories")}
    assert set(rows) == {item.id for item in stories}
    assert rows["id-7"]["title"] == "Story 7" and rows["id-7"]["text"] == "Text of story 7"
    assert rows["id-7"]["published_at"] == (NOW - timedelta(hours=7)).isoformat()
    assert rows["id-7"]["first_seen_at"] == NOW.isoformat() and rows["id-7"]["cluster_id"] is None
    assert storage.db.execute("SELECT count(*) FROM story_sources WHERE source = 'Wire'").fetchone()[0] == 25


def test_a_story_stored_before_is_found_by_its_url_even_under_an_older_id(storage: Storage) -> None:
    """Migration m004 kept the ids of stories whose stored URL it brought to today's canonical form:
    the same address seen again has a new id, and must still be the stored story."""
    storage.record_fetch(fetched("Wire"), [story(1, story_id="id-of-an-older-form"), story(2)], NOW)

    later = NOW + timedelta(minutes=10)
    new = storage.record_fetch(fetched("Desk"), [story(1, "Desk"), story(2, "Desk"), story(3, "Desk")], later)

    assert new == 1
    assert storage.story_count() == 3
    carried = storage.db.execute("SELECT story_id, source FROM story_sources ORDER BY story_id, source").fetchall()
    assert carried == [
        ("id-2", "Desk"),
        ("id-2", "Wire"),
        ("id-3", "Desk"),
        ("id-of-an-older-form", "Desk"),
        ("id-of-an-older-form", "Wire"),
    ]
    assert storage.cluster_id("id-1") is None and storage.story_by_url(story(1).url) is not None


def test_a_feed_without_stories_touches_no_story_table(storage: Storage) -> None:
    """A warm run's 304s (and empty feeds) pay for their source's row only."""
    statements: list[str] = []
    storage.db.conn.set_trace_callback(statements.append)
    try:
        storage.record_fetch(FetchResult("Wire", "https://wire.example/feed.xml", FetchStatus.NOT_MODIFIED), [], NOW)
    finally:
        storage.db.conn.set_trace_callback(None)

    assert statements, "the trace saw the fetch being recorded"
    assert not [sql for sql in statements if "stories" in sql or "story_sources" in sql]


def test_reading_a_batch_of_unmatched_stories_costs_the_batch_not_every_unmatched_story(storage: Storage) -> None:
    """While the clustering process decides a batch, the run reads the batch's stories to match them
    ahead (`unmatched_of`). For a chunk of hundreds of ids SQLite chose the index of `matched_at`
    and read every unmatched story for each chunk of 500: a cold run's 20,000, four times a batch."""
    storage.record_fetch(fetched("Wire"), [story(number) for number in range(12_000)], NOW)
    batch = [f"id-{number}" for number in range(1_000)]
    read_among_all_unmatched = statement_steps(storage, lambda: storage.unmatched_of(batch))
    with storage.transaction():
        storage.mark_matched([f"id-{number}" for number in range(1_000, 12_000)], NOW)

    read_alone = statement_steps(storage, lambda: storage.unmatched_of(batch))

    assert sorted(item.id for item in storage.unmatched_of(batch)) == sorted(batch)
    assert read_among_all_unmatched < 1.5 * read_alone, (read_among_all_unmatched, read_alone)
