"""Reads that grow with the database's history: each run reads the last day's run summaries, and
`status` counts every source's stories. Each must cost what it reads, not the whole history: the
work is counted in SQLite's steps (tests/sqlite_steps.py), not timed."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from newsbot.models import FetchResult, FetchStatus, RunSummary, Story
from newsbot.storage.database import Storage
from newsbot.storage.records import iso
from tests.sqlite_steps import statement_steps

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def add_runs(storage: Storage, count: int, last_started: datetime, every: timedelta = timedelta(minutes=10)) -> None:
    """`count` runs, one `every`, the last started at `last_started`, each summary naming its start."""
    starts = [last_started - every * back for back in reversed(range(count))]
    with storage.transaction():
        storage.db.conn.executemany(
            "INSERT INTO runs (started_at, finished_at, summary) VALUES (?, ?, ?)",
            [(iso(start), iso(start), json.dumps({**asdict(RunSummary()), "config": iso(start)})) for start in starts],
        )


def test_the_last_day_s_run_summaries_cost_the_same_after_a_year_of_runs(storage: Storage) -> None:
    since = NOW - timedelta(hours=1)
    add_runs(storage, 5, NOW)
    recent = statement_steps(storage, lambda: storage.run_summaries_since(since))
    add_runs(storage, 30_000, NOW - timedelta(days=2))  # recorded after the five, started before them
    add_runs(storage, 3, NOW + timedelta(minutes=30))
    add_runs(storage, 1, NOW - timedelta(minutes=45))  # recorded last, its clock set back

    found = storage.run_summaries_since(since)
    after_a_year = statement_steps(storage, lambda: storage.run_summaries_since(since))

    # In the order recorded, none of the 30,000 older ones.
    assert [summary["config"] for summary in found] == [
        *(iso(NOW - timedelta(minutes=10) * back) for back in reversed(range(5))),
        *(iso(NOW + timedelta(minutes=30) - timedelta(minutes=10) * back) for back in reversed(range(3))),
        iso(NOW - timedelta(minutes=45)),
    ]
    assert recent > 0 and after_a_year < 3 * recent, (recent, after_a_year)


def carried(source: str, numbers: range) -> tuple[FetchResult, list[Story]]:
    """A fetch of `source` that carried the stories of these numbers (one number, one story anywhere)."""
    stories = [
        Story(f"id-{number}", f"https://news.example/{number}", f"Story {number}", "", "", source) for number in numbers
    ]
    return FetchResult(source, f"https://{source}.example/feed.xml", FetchStatus.OK), stories


def store_sources(storage: Storage, count: int, stories_each: int) -> None:
    """`count` sources carrying `stories_each` stories of their own each (the same ones when repeated)."""
    with storage.transaction():
        for number in range(count):
            first = number * stories_each
            storage.record_fetch(*carried(f"source-{number:04}", range(first, first + stories_each)), NOW)


def test_every_source_s_stories_are_counted_with_a_story_two_carried_counted_for_both(storage: Storage) -> None:
    storage.record_fetch(*carried("wire", range(3)), NOW)
    storage.record_fetch(*carried("desk", range(2, 4)), NOW)  # story 2 carried by both
    storage.record_fetch(FetchResult("silent", "https://silent.example/feed.xml", FetchStatus.OK), [], NOW)

    counts = {row.name: row.stories for row in storage.source_rows()}

    assert counts == {"desk": 2, "silent": 0, "wire": 3}


def test_counting_sources_stories_grows_with_the_stories_not_sources_times_stories(storage: Storage) -> None:
    store_sources(storage, 150, 10)
    first = statement_steps(storage, storage.source_rows)
    store_sources(storage, 600, 10)  # four times the sources and stories (the first 150 again)

    four_times = statement_steps(storage, storage.source_rows)

    assert [row.stories for row in storage.source_rows()] == [10] * 600
    # Counted for each source on its own, four times the sources reading four times the stories
    # cost sixteen times as much; counted in one pass, four.
    assert four_times < 7 * first, (first, four_times)
