"""newsbot.alerts.outbox.queue_matches on a real SQLite file, with the example watchlist: what a batch of
stories becomes (alerts for those that match, a mark for every one) and what it costs in statements.

A cold run matches tens of thousands of stories and nearly none of them match: those are marked
together, one statement a batch, and their clusters are never looked up. The statements are read
from SQLite's own trace of the connection."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from newsbot.alerts.outbox import STAGE_BATCH, MatchedAhead, queue_matches
from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching.matcher import Matcher
from newsbot.models import FeedEntry, FetchResult, FetchStatus, Match, RunSummary, Story
from newsbot.storage.database import Storage
from newsbot.storage.records import alert_id
from newsbot.stories.normalize import to_story
from tests.conftest import REPOSITORY

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
WATCHLIST = "SMS and 2FA vendors"  # the example watchlist's name
MITTO = "Mitto AG sold access to the SS7 network to track phones, a report says."
QUIET = "A regional carrier opened three new shops and lowered the price of its family plan."
# Every seventh story is about Mitto and SS7 (an alert); the rest match nothing. More than one batch.
TEXTS = [MITTO if number % 7 == 0 else f"{QUIET} Number {number}." for number in range(STAGE_BATCH + 40)]


def matcher() -> Matcher:
    return Matcher([load_watchlist(REPOSITORY / "examples" / "watchlists" / "sms-vendors.yaml")])


def stored(
    storage: Storage, texts: list[str], published: datetime = NOW, *, dates: list[datetime | None] | None = None
) -> list[str]:
    """The texts stored as one source's stories, clustered each on its own (as clustering leaves
    stories that copy nothing); their ids in order. `dates`: each story's own time, else `published`."""
    times = dates or [published] * len(texts)
    entries = [
        FeedEntry(link=f"https://news.example/{number}", title=f"Story {number}", summary=text, published=time)
        for number, (text, time) in enumerate(zip(texts, times, strict=True))
    ]
    stories = [story for entry in entries if (story := to_story(entry, "Wire", NOW))]
    storage.record_fetch(FetchResult("Wire", "https://news.example/feed.xml", FetchStatus.OK), stories, NOW)
    storage.db.execute("UPDATE stories SET cluster_id = id")
    return [story.id for story in stories]


@contextmanager
def traced(storage: Storage) -> Iterator[list[str]]:
    statements: list[str] = []
    storage.db.conn.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        storage.db.conn.set_trace_callback(None)


def test_every_story_is_marked_and_only_those_that_match_alert(storage: Storage) -> None:
    ids = stored(storage, TEXTS)
    summary = RunSummary()

    queue_matches(storage, matcher(), 7, summary, NOW)

    unmatched = storage.db.execute("SELECT count(*) FROM stories WHERE matched_at IS NULL").fetchone()[0]
    alerted = [row[0] for row in storage.db.execute("SELECT story_id FROM alerts ORDER BY created_at, rowid")]
    assert unmatched == 0
    assert sorted(alerted) == sorted(ids[number] for number, text in enumerate(TEXTS) if text == MITTO)
    assert summary.matches == len(alerted) == 20 and summary.too_old == 0
    matched_at = {row[0] for row in storage.db.execute("SELECT DISTINCT matched_at FROM stories")}
    assert matched_at == {NOW.isoformat()}


def test_stories_that_match_nothing_cost_one_statement_a_batch_and_no_cluster_lookup(storage: Storage) -> None:
    stored(storage, TEXTS)

    with traced(storage) as statements:
        queue_matches(storage, matcher(), 7, RunSummary(), NOW)

    marks = [sql for sql in statements if re.match(r"UPDATE stories SET matched_at", sql)]
    cluster_lookups = [sql for sql in statements if "SELECT cluster_id FROM stories WHERE id" in sql]
    batches = -(-len(TEXTS) // STAGE_BATCH)
    matching = TEXTS.count(MITTO)
    # One mark a batch for the stories that match nothing, one for each story that alerts (with its alert).
    assert len(marks) == batches + matching
    assert len(cluster_lookups) == matching
    assert sum(sql.startswith("COMMIT") for sql in statements) == batches


def test_a_story_too_old_to_alert_is_marked_without_an_alert(storage: Storage) -> None:
    stored(storage, [MITTO, QUIET], published=NOW - timedelta(days=30))
    summary = RunSummary()

    queue_matches(storage, matcher(), 7, summary, NOW)

    assert storage.db.execute("SELECT count(*) FROM stories WHERE matched_at IS NULL").fetchone()[0] == 0
    assert storage.db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
    assert (summary.too_old, summary.matches) == (2, 0)


def test_a_stop_mid_batch_marks_what_was_matched_and_leaves_the_rest_for_the_next_pass(storage: Storage) -> None:
    ids = stored(storage, TEXTS[:30])
    answers = iter([False] * 10 + [True] * 100)  # asked before each story: the first ten are matched

    queue_matches(storage, matcher(), 7, RunSummary(), NOW, should_stop=answers.__next__)

    waiting = [story.id for story, _ in storage.unmatched_stories()]
    alerted = [row[0] for row in storage.db.execute("SELECT story_id FROM alerts")]
    assert waiting == ids[10:]
    assert sorted(alerted) == sorted(ids[number] for number in range(10) if TEXTS[number] == MITTO)


def test_alerts_queued_in_one_pass_are_due_in_the_order_their_stories_were_stored(storage: Storage) -> None:
    """One pass queues its alerts at one time (whole seconds): ordered by id, a hash, the outbox sent
    them in no order at all, where the run promises stories in the order they were stored."""
    ids = stored(storage, TEXTS)
    alerting = [ids[number] for number, text in enumerate(TEXTS) if text == MITTO]
    queue_matches(storage, matcher(), 7, RunSummary(), NOW)

    due = [alert.story.id for alert in storage.due_alerts(NOW)]

    assert due == alerting
    assert sorted(due, key=lambda story: alert_id(story, WATCHLIST)) != alerting  # the id order differs


def test_alerts_queued_in_one_pass_are_due_oldest_story_first_whatever_order_the_feed_listed_them(
    storage: Storage,
) -> None:
    """A feed lists its newest story first. Sent in that order, a source's backlog after an outage
    ended on its oldest story, the channel's last message the stalest news; undated stories follow
    the dated ones, in the order they were stored."""
    dates = [NOW - timedelta(hours=1), None, NOW - timedelta(hours=3), NOW - timedelta(hours=2), None]
    ids = stored(storage, [MITTO] * len(dates), dates=dates)
    queue_matches(storage, matcher(), 7, RunSummary(), NOW)

    due = [alert.story.id for alert in storage.due_alerts(NOW)]

    assert due == [ids[2], ids[3], ids[0], ids[1], ids[4]]


def stories_read_back(statements: list[str]) -> int:
    """How many stories the statements read whole (their texts), from the rowids each one names."""
    reads = [sql for sql in statements if sql.startswith("SELECT * FROM stories WHERE rowid IN")]
    named = [re.search(r"json_each\('(\[[^']*\])'\)", sql) for sql in reads]
    return sum(len(json.loads(rowids[1])) for rowids in named if rowids is not None)


def test_stories_matched_ahead_with_nothing_found_or_too_old_are_marked_without_being_read_back(
    storage: Storage,
) -> None:
    """A cold run's stories are matched while the second process clusters them, and nearly all match
    nothing, or are too old to alert: read back whole only to be marked, 20,000 took 0.8 s of the
    run's last stage. Only the stories that alert are read."""
    dates: list[datetime | None] = [NOW - timedelta(days=30 if number % 3 == 0 else 0) for number in range(len(TEXTS))]
    ids = stored(storage, TEXTS, dates=dates)
    summary = RunSummary()
    ahead = MatchedAhead(matcher(), lambda: storage, lambda: NOW, 7, summary)
    for _ in ahead.while_deciding(ids):
        pass

    with traced(storage) as statements:
        queue_matches(storage, matcher(), 7, summary, NOW, ahead=ahead)

    young = [number for number in range(len(TEXTS)) if number % 3]
    alerting = [ids[number] for number in young if TEXTS[number] == MITTO]
    alerted = [row[0] for row in storage.db.execute("SELECT story_id FROM alerts ORDER BY created_at, rowid")]
    assert alerted == alerting and alerting
    assert storage.unmatched_count() == 0
    assert summary.too_old == len(TEXTS) - len(young)
    assert stories_read_back(statements) == len(alerting)


def test_stories_that_get_no_alert_are_marked_with_their_batch_while_the_process_decides(storage: Storage) -> None:
    """Too old to alert, or matched ahead with nothing found: such a story needs no cluster to be
    done with, so it is marked as soon as its batch is matched, before the batch is clustered and
    while the second process still decides it. Left to queue_matches, a cold run's 20,000 took the
    last third of a second after the last batch was written. What alerts waits for its cluster."""
    dates: list[datetime | None] = [NOW - timedelta(days=30 if number % 3 == 0 else 0) for number in range(len(TEXTS))]
    ids = stored(storage, TEXTS, dates=dates)
    storage.db.execute("UPDATE stories SET cluster_id = NULL")  # the batch's clusters: not decided yet
    summary = RunSummary()
    ahead = MatchedAhead(matcher(), lambda: storage, lambda: NOW, 7, summary)

    for _ in ahead.while_deciding(ids):
        pass

    young = [number for number in range(len(TEXTS)) if number % 3]
    alerting = [ids[number] for number in young if TEXTS[number] == MITTO]
    waiting = [row[0] for row in storage.db.execute("SELECT id FROM stories WHERE matched_at IS NULL ORDER BY rowid")]
    assert waiting == alerting and alerting
    assert summary.too_old == len(TEXTS) - len(young)
    assert storage.db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0

    storage.db.execute("UPDATE stories SET cluster_id = id")  # the batch written
    queue_matches(storage, matcher(), 7, summary, NOW, ahead=ahead)

    alerted = [row[0] for row in storage.db.execute("SELECT story_id FROM alerts ORDER BY created_at, rowid")]
    assert alerted == alerting
    assert storage.unmatched_count() == 0 and summary.too_old == len(TEXTS) - len(young)


def test_stories_marked_ahead_of_a_batch_never_written_are_not_matched_or_counted_again(storage: Storage) -> None:
    """A run stopped (or killed) while the process decided a batch, after the batch was matched ahead:
    its stories that get no alert are marked, none is clustered. The next run clusters them again,
    and its matching ahead must leave them be: matched again, the too old ones were reported as too
    old a second time."""
    dates: list[datetime | None] = [NOW - timedelta(days=30 if number % 3 == 0 else 0) for number in range(len(TEXTS))]
    ids = stored(storage, TEXTS, dates=dates)
    storage.db.execute("UPDATE stories SET cluster_id = NULL")
    for _ in MatchedAhead(matcher(), lambda: storage, lambda: NOW, 7, RunSummary()).while_deciding(ids):
        pass  # the stopped run: its batch is never written
    marked = dict(storage.db.execute("SELECT id, matched_at FROM stories WHERE matched_at IS NOT NULL").fetchall())
    matched: list[str] = []

    class Counting(Matcher):
        def match_story(self, story: Story) -> list[Match]:
            matched.append(story.id)
            return super().match_story(story)

    summary = RunSummary()
    later = NOW + timedelta(minutes=10)
    next_run = MatchedAhead(Counting(matcher().watchlists), lambda: storage, lambda: later, 7, summary)
    for _ in next_run.while_deciding(ids):
        pass

    alerting = [ids[number] for number in range(len(TEXTS)) if number % 3 and TEXTS[number] == MITTO]
    assert sorted(matched) == sorted(alerting) and alerting
    assert summary.too_old == 0
    again = dict(storage.db.execute("SELECT id, matched_at FROM stories WHERE matched_at IS NOT NULL").fetchall())
    assert again == marked and len(marked) == len(TEXTS) - len(alerting)


def test_told_to_stop_before_it_starts_it_marks_nothing_not_even_what_needs_no_reading(storage: Storage) -> None:
    """A pass that reaches matching after a SIGTERM or past the delivery allowance starts no work:
    the stories too old to alert and those matched ahead with nothing found wait, unmarked, for the
    next run (marking them would wait on the write lock the run's own record needs)."""
    dates: list[datetime | None] = [NOW - timedelta(days=30 if number % 2 else 0) for number in range(len(TEXTS))]
    ids = stored(storage, TEXTS, dates=dates)
    summary = RunSummary()
    ahead = MatchedAhead(matcher(), lambda: storage, lambda: NOW, 7, summary, should_stop=lambda: True)
    for _ in ahead.while_deciding(ids):
        pass

    queue_matches(storage, matcher(), 7, summary, NOW, should_stop=lambda: True, ahead=ahead)

    assert storage.unmatched_count() == len(TEXTS)
    assert (summary.too_old, summary.matches) == (0, 0)
