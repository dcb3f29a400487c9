"""Stories: what waits to be matched, its matches queued as alerts, and lookups and search."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from newsbot.models import AlertKind, AlertStatus, Match, StoredStory, Story
from newsbot.storage.base import StoreBase
from newsbot.storage.records import (
    alert_id,
    batched,
    iso,
    match_record,
    story_from_row,
)


def insert_stories(db: Database, source: str, stories: Sequence[Story], when: datetime) -> int:
    """A fetch's stories, each stored once and remembering every source that carried it; how many were
    new. Three statements whatever the number of stories (four when a page named another address),
    inside the caller's transaction (a source's stories are stored with its validators,
    newsbot.storage.sources).

    A story stored before is found by its URL, not its id: it may have been stored under the id of an
    older canonical form of its address (migration m004 kept the ids).
    """
    if not stories:
        return 0  # a 304 or an empty feed: no statement at all
    seen_at = iso(when)
    # Stored under its own address, or under another its page named (a feed's link, story_links).
    stored = dict(
        db.execute(
            "SELECT url, id FROM stories WHERE url IN (SELECT value FROM json_each(:urls)) "
            "UNION ALL SELECT url, story_id FROM story_links WHERE url IN (SELECT value FROM json_each(:urls))",
            {"urls": json.dumps([story.url for story in stories])},
        ).fetchall()
    )
    fresh = [story for story in stories if story.url not in stored]
    new: int = db.conn.executemany(
        "INSERT OR IGNORE INTO stories (id, url, title, summary, text, source, published_at, first_seen_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                story.id,
                story.url,
                story.title,
                story.summary,
                story.text,
                story.source,
                iso(story.published_at),
                seen_at,
            )
            for story in fresh
        ],
    ).rowcount
    db.conn.executemany(
        "INSERT OR IGNORE INTO story_sources (story_id, source, seen_at) VALUES (?, ?, ?)",
        [(stored.get(story.url, story.id), source, seen_at) for story in stories],
    )
    links = [(story.reached_by, stored.get(story.url, story.id)) for story in stories if story.reached_by]
    if links:  # the next run knows a feed's link to a story stored under another address
        db.conn.executemany("INSERT OR IGNORE INTO story_links (url, story_id) VALUES (?, ?)", links)
    return new


# Clustered and not yet matched, oldest first: what unmatched_stories reads and unmatched_ages
# marks, which must be the same stories in the same order.
_WAITING_TO_BE_MATCHED = (
    "FROM stories WHERE matched_at IS NULL AND cluster_id IS NOT NULL ORDER BY first_seen_at, rowid"
)


class StoryStore(StoreBase):
    def unmatched_stories(self, batch: int = 100) -> Iterator[tuple[Story, datetime]]:
        """Stories clustered and not yet matched, with when each was first seen (for the age limit), in
        the order they were stored: the order clusters were assigned in, so a cluster's first story
        comes first. A story stored after the pass's clustering waits for the next pass: matched before
        its cluster is known, a copy would alert on its own instead of joining its original's alert.

        Read `batch` stories at a time: a cold run's thousands of waiting stories are held as rowids,
        not as their texts (tens of MB)."""
        rowids = [row[0] for row in self.db.execute(f"SELECT rowid {_WAITING_TO_BE_MATCHED}")]
        for chunk in batched(rowids, batch):
            # Read whole before the first is yielded: a SELECT left half-read keeps its snapshot open,
            # and the caller's next write on this connection would then fail at once ("database is
            # locked") if another connection had committed meanwhile.
            rows = list(
                self.db.query(
                    "SELECT * FROM stories WHERE rowid IN (SELECT value FROM json_each(?)) "
                    "ORDER BY first_seen_at, rowid",
                    [json.dumps(chunk)],
                )
            )
            yield from ((story_from_row(row), datetime.fromisoformat(row["first_seen_at"])) for row in rows)

    def unmatched_ages(self) -> list[tuple[str, datetime]]:
        """The stories `unmatched_stories` would give, in its order, each with when it was published,
        or first seen if undated (what its age to alert counts from), without their texts."""
        rows = self.db.execute(f"SELECT id, coalesce(nullif(published_at, ''), first_seen_at) {_WAITING_TO_BE_MATCHED}")
        return [(story, datetime.fromisoformat(dated)) for story, dated in rows]

    def unmatched_of(self, ids: Sequence[str]) -> list[Story]:
        """Those of the stories not matched yet. A run stopped while its clustering process decided a
        batch leaves the batch's stories that get no alert matched but not clustered: the next run
        clusters them again, and must not match or count them again.

        The stories are looked up by id, never through the index of `matched_at` (the unary `+` keeps
        SQLite from using it): for a chunk of hundreds of ids SQLite chose that index and read every
        unmatched story for each chunk, a cold run's 20,000 each time (1.3 s of CPU instead of 0.2)."""
        return [story_from_row(row) for row in self._story_rows(ids, "+matched_at IS NULL")]

    def unmatched_count(self) -> int:
        count: int = self.db.execute("SELECT count(*) FROM stories WHERE matched_at IS NULL").fetchone()[0]
        return count

    def cluster_id(self, story: str) -> str | None:
        row = self.db.execute("SELECT cluster_id FROM stories WHERE id = ?", [story]).fetchone()
        return row[0] if row else None

    def outlet_alerted(self, cluster: str, story: Story, watchlist: str) -> bool:
        """Whether the story's own source carried another story of its cluster that queued an alert (of
        any kind) in this watchlist already."""
        row = self.db.execute(
            "SELECT 1 FROM alerts JOIN stories ON stories.id = alerts.story_id "
            "JOIN story_sources ON story_sources.story_id = stories.id "
            "WHERE stories.cluster_id = ? AND stories.id != ? AND alerts.watchlist = ? AND story_sources.source = ? "
            "LIMIT 1",
            [cluster, story.id, watchlist, story.source],
        ).fetchone()
        return row is not None

    def record_matches(
        self,
        story: Story,
        matches: list[Match],
        when: datetime,
        follows: Mapping[str, tuple[AlertKind, str | None]] | None = None,
    ) -> int:
        """Queue one alert per matching watchlist and mark the story matched, atomically.

        `follows` says, per watchlist, how the alert follows an earlier one of the story's cluster:
        ("also_in", earlier alert) for a copy with nothing new, ("continues", earlier alert or None)
        for a copy that matched a rule, or named a vendor, the earlier ones did not.
        """
        queued = 0
        follows = follows or {}
        with self.transaction():
            for match in matches:
                kind, parent = follows.get(match.watchlist, (AlertKind.ALERT, None))
                queued += self.db.execute(
                    "INSERT OR IGNORE INTO alerts (id, story_id, watchlist, severity, match, status, "
                    "attempts, created_at, kind, parent_id) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                    [
                        alert_id(story.id, match.watchlist),
                        story.id,
                        match.watchlist,
                        match.severity.value,
                        json.dumps(match_record(match)),
                        AlertStatus.PENDING,
                        iso(when),
                        kind,
                        parent,
                    ],
                ).rowcount
            self.db.execute("UPDATE stories SET matched_at = ? WHERE id = ?", [iso(when), story.id])
        return queued

    def mark_matched(self, stories: list[str], when: datetime) -> None:
        """Stories with no match to queue (none found, or too old to alert), marked matched in one
        statement: what `record_matches` does for each of them, without a statement each."""
        if stories:
            self.db.execute(
                "UPDATE stories SET matched_at = ? WHERE id IN (SELECT value FROM json_each(?))",
                [iso(when), json.dumps(stories)],
            )

    def story_by_url(self, url: str) -> StoredStory | None:
        rows = list(self.db.query("SELECT * FROM stories WHERE url = ?", [url]))
        return _stored(rows[0]) if rows else None

    def stories_since(self, when: datetime) -> list[StoredStory]:
        """Stories first seen at or after `when`, oldest first (for backtests), with when and in which
        cluster: a backtest decides as the run did, once per cluster and by age when first seen."""
        rows = self.db.query(
            "SELECT * FROM stories WHERE first_seen_at >= ? ORDER BY first_seen_at, rowid", [iso(when)]
        )
        return [_stored(row) for row in rows]

    def earlier_in_clusters(self, stories: Sequence[StoredStory], when: datetime) -> list[StoredStory]:
        """The stories first seen before `when` in the clusters of these, oldest first: what a copy in
        a backtest's window follows (a run weighs a copy against all of its cluster's alerts)."""
        clusters = sorted({item.cluster for item in stories if item.cluster})
        rows = self.db.query(
            "SELECT * FROM stories WHERE cluster_id IN (SELECT value FROM json_each(?)) AND first_seen_at < ? "
            "ORDER BY first_seen_at, rowid",
            [json.dumps(clusters), iso(when)],
        )
        return [_stored(row) for row in rows]

    def story_count(self) -> int:
        count: int = self.db.execute("SELECT count(*) FROM stories").fetchone()[0]
        return count

    def count_with_word(self, word: str) -> int:
        """Stories whose title, summary or text has `word` (one word: the full-text index finds it whole,
        case and accents folded, as the matcher does)."""
        phrase = '"' + word.replace('"', '""') + '"'
        count: int = self.db.execute("SELECT count(*) FROM stories_fts WHERE stories_fts MATCH ?", [phrase]).fetchone()[
            0
        ]
        return count

    def search(self, query: str, limit: int = 20) -> list[Story]:
        """FTS syntax (AND, OR, "phrases") when it parses; otherwise the words as typed."""
        try:
            rows = list(self.db.table("stories").search(query, limit=limit))
        except sqlite3.OperationalError:
            rows = list(self.db.table("stories").search(query, limit=limit, quote=True))
        return [story_from_row(row) for row in rows]


def _stored(row: dict[str, Any]) -> StoredStory:
    return StoredStory(story_from_row(row), datetime.fromisoformat(row["first_seen_at"]), row["cluster_id"])
