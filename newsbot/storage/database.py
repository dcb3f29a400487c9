"""The one module that reads and writes the SQLite database (through sqlite-utils).

Every write that belongs together happens in one `BEGIN IMMEDIATE` transaction — a source's new
stories with its new ETag, a story's alerts with its "matched" mark — so a crash at any point leaves
the database as it was before that step, and the next run redoes only what is missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from newsbot.clustering.clusters import BOILERPLATE_CLUSTERS
from newsbot.errors import StorageError
from newsbot.models import (
    Alert,
    AlertKind,
    FetchResult,
    FetchStatus,
    Match,
    RuleHit,
    RunSummary,
    Severity,
    SourceNotice,
    Story,
)
from newsbot.storage.database_errors import damaged, database_faults
from newsbot.stories.urls import canonical_url

T = TypeVar("T")
APPLICATION_ID = 0x4E425354  # "NBST": refuses to write into some other program's database
MIGRATIONS = Migrations("newsbot")


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    db.table("sources").create(
        {
            "name": str,
            "url": str,
            "etag": str,
            "last_modified": str,
            "last_fetch_at": str,
            "last_status": str,
            "last_error": str,
            "consecutive_failures": int,
        },
        pk="name",
    )
    db.table("stories").create(
        {
            "id": str,
            "url": str,
            "title": str,
            "summary": str,
            "text": str,
            "source": str,
            "published_at": str,
            "first_seen_at": str,
            "matched_at": str,
        },
        pk="id",
    )
    db.table("stories").create_index(["url"], unique=True)
    db.table("stories").create_index(["matched_at"])
    db.table("stories").enable_fts(["title", "summary", "text"], create_triggers=True)
    db.table("story_sources").create(
        {"story_id": str, "source": str, "seen_at": str},
        pk=("story_id", "source"),
        foreign_keys=[("story_id", "stories", "id")],
    )
    db.table("alerts").create(
        {
            "id": str,
            "story_id": str,
            "watchlist": str,
            "severity": str,
            "match": str,
            "status": str,
            "attempts": int,
            "last_error": str,
            "created_at": str,
            "next_attempt_at": str,
            "sent_at": str,
        },
        pk="id",
        foreign_keys=[("story_id", "stories", "id")],
    )
    db.table("alerts").create_index(["story_id", "watchlist"], unique=True)
    db.table("alerts").create_index(["status"])
    db.table("runs").create({"id": int, "started_at": str, "finished_at": str, "summary": str}, pk="id")


@MIGRATIONS()
def m002_delivery_state(db: Database) -> None:
    """Where and when each alert was (being) sent, so a crash mid-send can be checked, not guessed."""
    for column in ("destination", "slack_channel", "slack_ts", "attempt_started_at"):
        db.table("alerts").add_column(column, str)
    db.table("notices").create({"id": int, "kind": str, "sent_at": str, "detail": str}, pk="id")


@MIGRATIONS()
def m003_source_health(db: Database) -> None:
    """What a source's last fetch found, its health, and the health notices waiting to be sent."""
    for column, kind in (
        ("body_hash", str),
        ("feed_url", str),
        ("links_found", int),
        ("last_warning", str),
        ("first_fetch_at", str),
        ("last_new_story_at", str),
        ("health", str),
        ("health_detail", str),
        ("health_since", str),
    ):
        db.table("sources").add_column(column, kind)
    # Sources fetched before health existed: staleness counts from their last new story (or fetch).
    db.execute(
        "UPDATE sources SET first_fetch_at = last_fetch_at, last_new_story_at = "
        "(SELECT max(seen_at) FROM story_sources WHERE story_sources.source = sources.name)"
    )
    db.table("source_notices").create(
        {
            "id": int,
            "source": str,
            "kind": str,
            "detail": str,
            "created_at": str,
            "sent_at": str,
            "attempts": int,
            "last_error": str,
        },
        pk="id",
    )
    db.table("source_notices").create_index(["sent_at"])


@MIGRATIONS()
def m004_clusters(db: Database) -> None:
    """Clusters of copies of one story, the index of sampled shingles, and alerts that follow one.

    Stored URLs are brought to today's canonical form (AMP, mobile, wrappers, ports, slashes), so
    a copy seen again under its old address is still the same story; earlier stories are clusters
    of one.
    """
    for column, kind in (
        ("cluster_id", str),
        ("cluster_score", float),
        ("cluster_neighbour", str),
        ("cluster_note", str),
    ):
        db.table("stories").add_column(column, kind)
    db.execute("UPDATE stories SET cluster_id = id")
    db.table("stories").create_index(["cluster_id"])
    db.table("shingle_index").create({"hash": int, "story_id": str, "cluster_id": str, "seen_at": str})
    db.table("shingle_index").create_index(["hash"])
    db.table("shingle_index").create_index(["seen_at"])
    # sqlite-utils' trigger re-indexes a story on any update; marking it clustered or matched must not.
    db.execute("DROP TRIGGER stories_au")
    db.execute(
        "CREATE TRIGGER stories_au AFTER UPDATE OF title, summary, text ON stories BEGIN "
        "INSERT INTO stories_fts (stories_fts, rowid, title, summary, text) "
        "VALUES('delete', old.rowid, old.title, old.summary, old.text); "
        "INSERT INTO stories_fts (rowid, title, summary, text) VALUES (new.rowid, new.title, new.summary, new.text); "
        "END"
    )
    db.table("alerts").add_column("kind", str)
    db.table("alerts").add_column("parent_id", str)
    db.execute("UPDATE alerts SET kind = 'alert'")
    taken = {row[0] for row in db.execute("SELECT url FROM stories")}
    for story, url in list(db.execute("SELECT id, url FROM stories")):
        canonical = canonical_url(url)
        if canonical != url and canonical not in taken:
            db.execute("UPDATE stories SET url = ? WHERE id = ?", [canonical, story])
            taken.add(canonical)


@MIGRATIONS()
def m005_attempt_thread(db: Database) -> None:
    """The thread an attempt replied in: a reply is found with conversations.replies, not history."""
    db.table("alerts").add_column("attempt_thread_ts", str)


def now_utc() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def _parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Storage:
    """newsbot's database. Open with `Storage.open(path)`; it migrates itself on open."""

    def __init__(self, db: Database):
        self.db = db

    @classmethod
    def open(cls, path: Path, *, migrate: bool = True, checked: bool = False) -> Storage:
        """The database at `path`, checked whole before anything reads or writes it (unless `checked`:
        a copy just made of a checked file); any SQLite error becomes a StorageError whose sentence
        names the file and what to do (newsbot.storage.database_errors)."""
        if not path.parent.is_dir():
            raise StorageError(f"cannot open the database {path}: the folder {path.parent} does not exist")
        with database_faults(path):
            db = Database(path)
            storage = cls(db)
            try:
                if not checked:
                    storage._check_integrity(path)
                storage._check_identity(creating=migrate)
                if migrate:
                    storage._migrate()
            except BaseException:
                db.close()
                raise
        return storage

    def close(self) -> None:
        self.db.close()

    def _check_integrity(self, path: Path) -> None:
        """Refuse a damaged file: a damaged page fails a run half-way, and a damaged index can let a
        story in twice or an alert be sent twice without any error at all.

        `PRAGMA integrity_check`, not quick_check: quick_check skips comparing each index with its
        table, and missed a damaged index of alerts that integrity_check found. Both read every page,
        so the cost grows with the file (benchmarks/integrity_check.py, SQLite 3.40, 2 shared cores):
        50,000 stories of 500 words with their full-text index and 5,000 alerts (343 MB) take 0.4 s
        with the file in the page cache and 1.4–2.5 s from a cold cache; 200,000 stories (1.4 GB)
        1.4–1.8 s warm, 4.7–6.6 s cold. FTS5's own 'integrity-check' would add 2.9 s and 9.8 s warm:
        it is not run (a damaged full-text index only misleads `search`, and SQLite's check still
        covers the pages of its tables).
        """
        found = [row[0] for row in self.db.execute("PRAGMA integrity_check(1)")]
        if found != ["ok"]:
            lines = [line for line in "\n".join(found).splitlines() if not line.startswith("***")]
            raise StorageError(damaged(path, (lines or found)[0][:200]))

    def _check_identity(self, *, creating: bool) -> None:
        application_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        if application_id == APPLICATION_ID:
            return
        if application_id != 0 or self.db.table_names():
            raise StorageError(
                f"{self.db.conn.execute('PRAGMA database_list').fetchone()[2]} is not a newsbot "
                "database (it has other tables); point `database:` at a new file"
            )
        if creating:
            with self.db.ensure_autocommit_on():
                self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self.db.execute("PRAGMA journal_mode = wal")

    def _migrate(self) -> None:
        known = {migration.name for migration in MIGRATIONS._migrations}
        applied = {migration.name for migration in MIGRATIONS.applied(self.db)}
        unknown = applied - known
        if unknown:
            raise StorageError(
                "this database was written by a newer newsbot (migrations "
                f"{', '.join(sorted(unknown))}); upgrade newsbot before running it"
            )
        MIGRATIONS.apply(self.db)

    def needs_upgrade(self) -> bool:
        """Whether migrations are pending (the database was written by an older newsbot)."""
        applied = {migration.name for migration in MIGRATIONS.applied(self.db)}
        return any(migration.name not in applied for migration in MIGRATIONS._migrations)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction taken up front, so it never fails half-way on a lock upgrade.

        Nested, it joins the outer one: a run groups many stories' steps into one commit (each
        step is redone by the next run if the group is lost), while each step stays all-or-nothing.
        """
        if self.db.conn.in_transaction:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")  # inside: a COMMIT that fails (a full disk) rolls back too
        except BaseException:
            self.db.rollback()
            raise

    # Sources -----------------------------------------------------------------------------------

    def fetch_state(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Per source, what its last fetch left: url, etag, last_modified, body_hash, feed_url."""
        wanted = set(names)
        return {row["name"]: row for row in self.db.table("sources").rows if row["name"] in wanted}

    def is_known(self, url: str) -> bool:
        """Whether a story with this canonical URL is stored (its article need not be fetched)."""
        return self.db.execute("SELECT 1 FROM stories WHERE url = ?", [url]).fetchone() is not None

    def record_fetch(self, result: FetchResult, stories: list[Story], when: datetime) -> int:
        """Store a source's outcome and its stories together; return how many stories were new.

        A source cut short (the run stopped, max_articles) keeps its old validators, so the next run
        fetches it again and takes the stories left; one the run stopped before it answered changes
        nothing at all (it did not fail: nothing is known about it).
        """
        new = 0
        answered = not (result.cut_short and result.status is FetchStatus.ERROR)
        with self.transaction():
            previous = self.db.execute(
                "SELECT consecutive_failures FROM sources WHERE name = ?", [result.source]
            ).fetchone()
            state: dict[str, Any] = {
                "name": result.source,
                "url": result.url,
                "last_fetch_at": _iso(when),
                "last_status": result.status.value,
                "last_error": result.error,
            }
            if previous is None:
                state["first_fetch_at"] = _iso(when)
            if result.status is FetchStatus.ERROR:
                state["consecutive_failures"] = ((previous and previous[0]) or 0) + 1
            else:
                state["consecutive_failures"] = 0
            if result.status is FetchStatus.OK:
                if not result.cut_short:
                    state["etag"] = result.etag
                    state["last_modified"] = result.last_modified
                    state["body_hash"] = result.body_hash
                state["feed_url"] = result.feed_url
                state["links_found"] = result.links_found
                state["last_warning"] = _warning(result)
            elif result.status is FetchStatus.NOT_MODIFIED:  # keep what is known; take what is new
                known = {"etag": result.etag, "last_modified": result.last_modified, "feed_url": result.feed_url}
                state.update({key: value for key, value in known.items() if value})
            if answered:
                self.db.table("sources").upsert(state, pk="name")
            for story in stories:
                inserted = self.db.execute(
                    "INSERT OR IGNORE INTO stories (id, url, title, summary, text, source, "
                    "published_at, first_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        story.id,
                        story.url,
                        story.title,
                        story.summary,
                        story.text,
                        story.source,
                        _iso(story.published_at),
                        _iso(when),
                    ],
                ).rowcount
                new += inserted
                stored_id = story.id
                if not inserted:  # stored before, perhaps under an id from an older canonical form
                    found = self.db.execute("SELECT id FROM stories WHERE url = ?", [story.url]).fetchone()
                    stored_id = found[0] if found else story.id
                self.db.execute(
                    "INSERT OR IGNORE INTO story_sources (story_id, source, seen_at) VALUES (?, ?, ?)",
                    [stored_id, result.source, _iso(when)],
                )
            if new:
                self.db.execute("UPDATE sources SET last_new_story_at = ? WHERE name = ?", [_iso(when), result.source])
        return new

    # Clusters -----------------------------------------------------------------------------------

    def unclustered_stories(self) -> list[Story]:
        """Stories not yet given a cluster, oldest first (so the first copy seen is the root)."""
        rows = self.db.query("SELECT * FROM stories WHERE cluster_id IS NULL ORDER BY first_seen_at, rowid")
        return [_story(row) for row in rows]

    def boilerplate(self, hashes: Iterable[int], since: datetime) -> set[int]:
        """The sampled shingles seen in `BOILERPLATE_CLUSTERS` or more clusters since `since`."""
        wanted = list(hashes)
        found: set[int] = set()
        for chunk in batched(wanted):
            found |= {
                row[0]
                for row in self.db.execute(
                    f"SELECT hash FROM shingle_index WHERE hash IN ({','.join('?' * len(chunk))}) AND seen_at >= ? "
                    "GROUP BY hash HAVING count(DISTINCT cluster_id) >= ?",
                    [*chunk, _iso(since), BOILERPLATE_CLUSTERS],
                )
            }
        return found

    def cluster_candidates(self, hashes: Iterable[int], since: datetime, limit: int = 5) -> list[tuple[str, str, int]]:
        """(story id, cluster id, sampled shingles shared) of the stories sharing the most, since `since`."""
        wanted = list(hashes)
        shared: dict[tuple[str, str], int] = {}
        for chunk in batched(wanted):
            marks = ",".join("?" * len(chunk))
            for story, cluster, count in self.db.execute(
                f"SELECT story_id, cluster_id, count(*) FROM shingle_index WHERE hash IN ({marks}) "
                "AND seen_at >= ? GROUP BY story_id",
                [*chunk, _iso(since)],
            ):
                shared[(story, cluster)] = shared.get((story, cluster), 0) + count
        best = sorted(shared.items(), key=lambda item: (-item[1], item[0][0]))[:limit]
        return [(story, cluster, count) for (story, cluster), count in best]

    def stories_by_id(self, ids: Iterable[str]) -> dict[str, Story]:
        wanted = list(ids)
        found: dict[str, Story] = {}
        for chunk in batched(wanted):
            rows = self.db.query(f"SELECT * FROM stories WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            found.update((row["id"], _story(row)) for row in rows)
        return found

    def record_cluster(
        self,
        story: str,
        cluster: str,
        score: float | None,
        neighbour: str | None,
        sampled: Iterable[int],
        when: datetime,
        note: str = "",
    ) -> None:
        """The story's cluster and why (`note`: why it did not join its nearest neighbour), and its
        sampled shingles for the stories after it, atomically."""
        with self.transaction():
            self.db.execute(
                "UPDATE stories SET cluster_id = ?, cluster_score = ?, cluster_neighbour = ?, cluster_note = ? "
                "WHERE id = ?",
                [cluster, score, neighbour, note or None, story],
            )
            seen_at = _iso(when)
            self.db.conn.executemany(
                "INSERT INTO shingle_index (hash, story_id, cluster_id, seen_at) VALUES (?, ?, ?, ?)",
                [(value, story, cluster, seen_at) for value in sampled],
            )

    def prune_shingles(self, before: datetime) -> None:
        """Stories older than the window are never joined again: their index rows can go."""
        with self.transaction():
            self.db.execute("DELETE FROM shingle_index WHERE seen_at < ?", [_iso(before)])

    def cluster_of(self, story: str) -> dict[str, Any] | None:
        """A story's cluster: its root, score, nearest neighbour, members and their outlets."""
        rows = list(
            self.db.query(
                "SELECT id, cluster_id, cluster_score, cluster_neighbour, cluster_note FROM stories WHERE id = ?",
                [story],
            )
        )
        if not rows or rows[0]["cluster_id"] is None:
            return None
        members = list(
            self.db.query(
                "SELECT stories.id, stories.title, stories.url, stories.first_seen_at, story_sources.source "
                "FROM stories JOIN story_sources ON story_sources.story_id = stories.id "
                "WHERE stories.cluster_id = ? ORDER BY stories.first_seen_at, stories.id, story_sources.seen_at",
                [rows[0]["cluster_id"]],
            )
        )
        return {**rows[0], "members": members}

    def clusters(self, limit: int = 10) -> list[dict[str, Any]]:
        """The largest recent clusters (more than one story), newest first."""
        return list(
            self.db.query(
                "SELECT cluster_id, count(DISTINCT stories.id) AS size, min(first_seen_at) AS first_seen, "
                "group_concat(DISTINCT story_sources.source) AS outlets, "
                "(SELECT title FROM stories AS root WHERE root.id = stories.cluster_id) AS title "
                "FROM stories JOIN story_sources ON story_sources.story_id = stories.id "
                "WHERE cluster_id IN (SELECT cluster_id FROM shingle_index GROUP BY cluster_id) "
                "GROUP BY cluster_id HAVING count(DISTINCT stories.id) > 1 ORDER BY first_seen DESC LIMIT ?",
                [limit],
            )
        )

    def cluster_alerts(self, cluster: str, watchlist: str) -> list[tuple[str, set[str]]]:
        """(alert id, rules that fired) of the alerts one watchlist queued for a cluster, oldest first."""
        rows = self.db.query(
            "SELECT alerts.id, alerts.match FROM alerts JOIN stories ON stories.id = alerts.story_id "
            "WHERE stories.cluster_id = ? AND alerts.watchlist = ? "
            "ORDER BY alerts.created_at, stories.first_seen_at, stories.rowid",
            [cluster, watchlist],
        )
        return [(row["id"], {hit["rule"] for hit in json.loads(row["match"])["rules"]}) for row in rows]

    # Stories and matches -----------------------------------------------------------------------

    def unmatched_stories(self) -> list[tuple[Story, datetime]]:
        """Stories not yet matched, with when each was first seen (for the age limit), in the order
        they were stored: the order clusters were assigned in, so a cluster's first story comes first."""
        rows = self.db.query("SELECT * FROM stories WHERE matched_at IS NULL ORDER BY first_seen_at, rowid")
        return [(_story(row), _parse_iso(row["first_seen_at"]) or now_utc()) for row in rows]

    def unmatched_count(self) -> int:
        count: int = self.db.execute("SELECT count(*) FROM stories WHERE matched_at IS NULL").fetchone()[0]
        return count

    def cluster_id(self, story: str) -> str | None:
        row = self.db.execute("SELECT cluster_id FROM stories WHERE id = ?", [story]).fetchone()
        return row[0] if row else None

    def record_matches(
        self,
        story: Story,
        matches: list[Match],
        when: datetime,
        follows: dict[str, tuple[str, str | None]] | None = None,
    ) -> int:
        """Queue one alert per matching watchlist and mark the story matched, atomically.

        `follows` says, per watchlist, how the alert follows an earlier one of the story's cluster:
        ("also_in", earlier alert) for a copy with nothing new, ("continues", earlier alert or None)
        for a copy that matched a rule the earlier ones did not.
        """
        queued = 0
        follows = follows or {}
        with self.transaction():
            for match in matches:
                kind, parent = follows.get(match.watchlist, ("alert", None))
                queued += self.db.execute(
                    "INSERT OR IGNORE INTO alerts (id, story_id, watchlist, severity, match, status, "
                    "attempts, created_at, kind, parent_id) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
                    [
                        alert_id(story.id, match.watchlist),
                        story.id,
                        match.watchlist,
                        match.severity.value,
                        json.dumps(_match_record(match)),
                        _iso(when),
                        kind,
                        parent,
                    ],
                ).rowcount
            self.db.execute("UPDATE stories SET matched_at = ? WHERE id = ?", [_iso(when), story.id])
        return queued

    def story_by_url(self, url: str) -> Story | None:
        rows = list(self.db.query("SELECT * FROM stories WHERE url = ?", [url]))
        return _story(rows[0]) if rows else None

    def stories_since(self, when: datetime) -> list[Story]:
        """Stories first seen at or after `when`, oldest first (for backtests)."""
        rows = self.db.query("SELECT * FROM stories WHERE first_seen_at >= ? ORDER BY first_seen_at, id", [_iso(when)])
        return [_story(row) for row in rows]

    def search(self, query: str, limit: int = 20) -> list[Story]:
        """FTS syntax (AND, OR, "phrases") when it parses; otherwise the words as typed."""
        try:
            rows = list(self.db.table("stories").search(query, limit=limit))
        except sqlite3.OperationalError:
            rows = list(self.db.table("stories").search(query, limit=limit, quote=True))
        return [_story(row) for row in rows]

    # Outbox ------------------------------------------------------------------------------------

    def due_alerts(self, when: datetime) -> list[Alert]:
        """Alerts to (re)send now, oldest first: pending ones whose retry time has come, and ones in
        flight ('sending': a run crashed while sending them, or Slack's answer was lost), whose fate
        must be looked up, where the attempt went, before anything is resent."""
        rows = self.db.query(
            "SELECT alerts.id AS alert_id, alerts.watchlist, alerts.match, alerts.status AS alert_status, "
            "alerts.attempt_started_at, alerts.destination AS attempt_destination, alerts.attempt_thread_ts, "
            "alerts.kind, alerts.parent_id, stories.*, "
            "(SELECT title FROM stories AS root WHERE root.id = stories.cluster_id) AS cluster_title FROM alerts "
            "JOIN stories ON stories.id = alerts.story_id WHERE alerts.status IN ('pending', 'sending') "
            "AND (alerts.next_attempt_at IS NULL OR alerts.next_attempt_at <= ?) "
            "ORDER BY alerts.created_at, alerts.id",
            [_iso(when)],
        )
        alerts = []
        for row in rows:
            in_flight = _parse_iso(row["attempt_started_at"]) if row["alert_status"] == "sending" else None
            attempt = {"in_flight_to": row["attempt_destination"], "in_flight_thread": row["attempt_thread_ts"]}
            follows_earlier = row["cluster_id"] not in (None, row["id"])
            alerts.append(
                _alert(
                    row,
                    also_in=tuple(self._outlets(row["id"], row["cluster_id"], row["source"])),
                    in_flight_since=in_flight,
                    **(attempt if in_flight else {}),
                    kind=AlertKind(row["kind"] or AlertKind.ALERT),
                    parent=row["parent_id"],
                    continues=row["cluster_title"] if follows_earlier and row["kind"] == AlertKind.CONTINUES else None,
                )
            )
        return alerts

    def _outlets(self, story: str, cluster: str | None, own_source: str) -> list[str]:
        """The other sources that carried this story or any copy of it, first seen first."""
        rows = self.db.query(
            "SELECT story_sources.source, min(story_sources.seen_at) AS first FROM story_sources "
            "JOIN stories ON stories.id = story_sources.story_id "
            "WHERE (stories.cluster_id = ? OR stories.id = ?) AND story_sources.source != ? "
            "GROUP BY story_sources.source ORDER BY first, story_sources.source",
            [cluster or story, story, own_source],
        )
        return [row["source"] for row in rows]

    def sent_message(self, alert: str) -> tuple[str, str] | None:
        """(channel, thread ts) where replies about a delivered alert go: its own message's thread, or
        the thread it is in — its parent's for a reply (Slack threads do not nest), the digest's for
        an alert a digest delivered (where its detail is)."""
        row = self.db.execute(
            "SELECT slack_channel, coalesce(attempt_thread_ts, slack_ts) FROM alerts WHERE id = ? AND status = 'sent'",
            [alert],
        ).fetchone()
        return (row[0], row[1]) if row and row[0] and row[1] else None

    def known_channel(self, destination: str) -> str | None:
        """The channel id Slack returned for the last alert sent to `destination` (a name, a user id):
        where to look a message up without resolving the name (a private channel, a user's DM)."""
        row = self.db.execute(
            "SELECT slack_channel FROM alerts WHERE destination = ? AND status = 'sent' AND slack_channel IS NOT NULL "
            "ORDER BY sent_at DESC LIMIT 1",
            [destination],
        ).fetchone()
        return row[0] if row else None

    def alert_status(self, alert: str) -> str | None:
        row = self.db.execute("SELECT status FROM alerts WHERE id = ?", [alert]).fetchone()
        return row[0] if row else None

    def start_attempt(
        self, alerts: Sequence[str], destination: str, when: datetime, thread_ts: str | None = None
    ) -> None:
        """Recorded before the message leaves, with where it goes (and the thread, for a reply): a
        crash after this point is visible to the next run, which knows where to look for it."""
        with self.transaction():
            self.db.conn.executemany(
                "UPDATE alerts SET status = 'sending', attempts = attempts + 1, attempt_started_at = ?, "
                "destination = ?, attempt_thread_ts = ? WHERE id = ?",
                [(_iso(when), destination, thread_ts, alert) for alert in alerts],
            )

    def mark_unknown(self, alerts: Sequence[str], error: str) -> None:
        """An attempt whose outcome nobody knows (the answer was lost): it stays in flight, like one a
        crash interrupted, and is looked up before anything is resent."""
        with self.transaction():
            self.db.conn.executemany(
                "UPDATE alerts SET last_error = ? WHERE id = ? AND status = 'sending'",
                [(error, alert) for alert in alerts],
            )

    def mark_sent(
        self,
        alerts: Sequence[str],
        when: datetime,
        channel: str | None = None,
        ts: str | None = None,
        *,
        digest: bool = False,
    ) -> None:
        """`ts` is the message that delivered them. A digest is no alert's own message: its alerts
        record it as the thread they are in too, so none becomes the thread of its story
        (thread_of) while replies about it still find the digest (sent_message)."""
        with self.transaction():
            self.db.conn.executemany(
                "UPDATE alerts SET status = 'sent', sent_at = ?, last_error = NULL, next_attempt_at = NULL, "
                "slack_channel = ?, slack_ts = ?, attempt_thread_ts = CASE WHEN ? THEN ? ELSE attempt_thread_ts END "
                "WHERE id = ?",
                [(_iso(when), channel, ts, digest, ts, alert) for alert in alerts],
            )

    def mark_failed(self, alerts: Sequence[str], error: str, retry_at: datetime | None) -> None:
        with self.transaction():
            self.db.conn.executemany(
                "UPDATE alerts SET status = 'pending', last_error = ?, next_attempt_at = ? WHERE id = ?",
                [(error, _iso(retry_at), alert) for alert in alerts],
            )

    def sent_alerts_since(self, when: datetime) -> list[Alert]:
        """Alerts delivered at or after `when`, oldest first (for the daily digest)."""
        rows = self.db.query(
            "SELECT alerts.id AS alert_id, alerts.watchlist, alerts.match, stories.* FROM alerts "
            "JOIN stories ON stories.id = alerts.story_id WHERE alerts.status = 'sent' AND alerts.sent_at >= ? "
            "ORDER BY alerts.sent_at, alerts.id",
            [_iso(when)],
        )
        return [_alert(row) for row in rows]

    def mark_unconfirmed(self, alert: str, note: str) -> None:
        """A webhook send interrupted by a crash, under `delivery: at_most_once`: not sent again."""
        with self.transaction():
            self.db.execute("UPDATE alerts SET status = 'unconfirmed', last_error = ? WHERE id = ?", [note, alert])

    def thread_of(self, story: str, destination: str) -> str | None:
        """The Slack ts of the first alert about this story in this channel that is its own top-level
        message, to reply under it: never a reply, never a digest (its thread holds the details of
        many stories); sent_at has whole seconds, so ts breaks a tie."""
        rows = list(
            self.db.query(
                "SELECT slack_ts FROM alerts WHERE story_id = ? AND destination = ? AND slack_ts IS NOT NULL "
                "AND attempt_thread_ts IS NULL ORDER BY sent_at, CAST(slack_ts AS REAL) LIMIT 1",
                [story, destination],
            )
        )
        return rows[0]["slack_ts"] if rows else None

    def last_notice(self, kind: str) -> datetime | None:
        rows = list(self.db.query("SELECT max(sent_at) AS sent_at FROM notices WHERE kind = ?", [kind]))
        return _parse_iso(rows[0]["sent_at"]) if rows else None

    def record_notice(self, kind: str, when: datetime, detail: str) -> None:
        with self.transaction():
            self.db.table("notices").insert({"kind": kind, "sent_at": _iso(when), "detail": detail})

    # Source health -------------------------------------------------------------------------------

    def record_health(
        self, source: str, state: str, detail: str, when: datetime, notice: tuple[str, str] | None
    ) -> None:
        """A source's health as assessed now, with the (kind, text) notice its change calls for."""
        with self.transaction():
            previous = self.db.execute("SELECT health FROM sources WHERE name = ?", [source]).fetchone()
            since = {"health_since": _iso(when)} if previous is None or previous[0] != state else {}
            self.db.table("sources").update(source, {"health": state, "health_detail": detail, **since})
            if notice is not None:
                self.db.table("source_notices").insert(
                    {"source": source, "kind": notice[0], "detail": notice[1], "created_at": _iso(when), "attempts": 0}
                )

    def pending_source_notices(self) -> list[SourceNotice]:
        rows = self.db.query("SELECT * FROM source_notices WHERE sent_at IS NULL ORDER BY id")
        return [SourceNotice(row["id"], row["source"], row["kind"], row["detail"]) for row in rows]

    def mark_source_notice(self, notice: int, sent_at: datetime | None, error: str | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE source_notices SET sent_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
                [_iso(sent_at), error, notice],
            )

    # Runs and status ---------------------------------------------------------------------------

    def record_run(self, started: datetime, finished: datetime, summary: RunSummary) -> None:
        with self.transaction():
            self.db.table("runs").insert(
                {
                    "started_at": _iso(started),
                    "finished_at": _iso(finished),
                    "summary": json.dumps(asdict(summary)),
                }
            )

    def source_rows(self) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT sources.*, (SELECT count(*) FROM story_sources WHERE source = sources.name) "
                "AS stories FROM sources ORDER BY name"
            )
        )

    def alert_counts(self) -> dict[str, int]:
        """pending (an interrupted send counts as pending), sent, unconfirmed."""
        counts = {"pending": 0, "sent": 0, "unconfirmed": 0}
        for row in self.db.query("SELECT status, count(*) AS n FROM alerts GROUP BY status"):
            counts["pending" if row["status"] == "sending" else row["status"]] += row["n"]
        return counts

    def undelivered(self) -> list[dict[str, Any]]:
        """Alerts tried at least once and not known delivered, unconfirmed ones included (status)."""
        return self._tried(("pending", "sending", "unconfirmed"), None)

    def waiting(self, queued_before: datetime) -> list[dict[str, Any]]:
        """Alerts tried and still waiting to be sent, queued before a time: what "delivery is failing"
        is about. An unconfirmed alert is not waiting: nothing will send it again."""
        return self._tried(("pending", "sending"), queued_before)

    def _tried(self, statuses: tuple[str, ...], queued_before: datetime | None) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT alerts.id, alerts.watchlist, alerts.destination, alerts.attempts, alerts.last_error, "
                "alerts.created_at, alerts.status, stories.title FROM alerts "
                "JOIN stories ON stories.id = alerts.story_id "
                f"WHERE alerts.status IN ({', '.join('?' * len(statuses))}) "
                "AND alerts.attempts > 0 AND alerts.created_at < ? ORDER BY alerts.created_at",
                [*statuses, _iso(queued_before or datetime.max.replace(tzinfo=UTC))],
            )
        )

    def run_summaries_since(self, when: datetime) -> list[dict[str, Any]]:
        """The stored RunSummary (as its JSON object) of every run started at or after `when`."""
        rows = self.db.execute("SELECT summary FROM runs WHERE started_at >= ? ORDER BY id", [_iso(when)])
        return [json.loads(summary) for (summary,) in rows]

    def last_run(self) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT 1"))
        return rows[0] if rows else None

    def story_count(self) -> int:
        return self.db.table("stories").count


def batched(values: list[T], size: int = 500) -> Iterator[list[T]]:
    """Slices of at most `size`: SQLite limits the `?` in one statement, and a run commits in batches
    (itertools.batched from Python 3.12)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _warning(result: FetchResult) -> str | None:
    """What went wrong inside a fetch that still succeeded (some articles could not be fetched, it
    was cut short)."""
    warnings = [f"cut short: {result.cut_short}"] if result.cut_short else []
    if result.article_errors:
        more = len(result.article_errors) - 1
        warnings.append(result.article_errors[0] + (f" (and {more} more)" if more else ""))
    return "; ".join(warnings) or None


def alert_id(story: str, watchlist: str) -> str:
    """Deterministic, so that re-queuing the same story for the same watchlist is a no-op."""
    return hashlib.sha256(f"{story}\n{watchlist}".encode()).hexdigest()[:20]


def _alert(row: dict[str, Any], **delivery: Any) -> Alert:
    """An outbox row joined with its story (`alert_id`, `watchlist`, `match`, stories.*)."""
    match = _match_from_record(row["watchlist"], json.loads(row["match"]))
    return Alert(id=row["alert_id"], story=_story(row), match=match, **delivery)


def _story(row: dict[str, Any]) -> Story:
    return Story(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        summary=row["summary"] or "",
        text=row["text"] or "",
        source=row["source"],
        published_at=_parse_iso(row["published_at"]),
    )


def _match_record(match: Match) -> dict[str, Any]:
    return {
        "rules": [{"rule": hit.rule, "severity": hit.severity.value, "terms": list(hit.terms)} for hit in match.rules],
        "snippet": [[part, is_hit] for part, is_hit in match.snippet],
        "snippet_field": match.snippet_field,
    }


def _match_from_record(watchlist: str, record: dict[str, Any]) -> Match:
    return Match(
        watchlist=watchlist,
        rules=tuple(
            RuleHit(rule=hit["rule"], severity=Severity(hit["severity"]), terms=tuple(hit["terms"]))
            for hit in record["rules"]
        ),
        snippet=tuple((part, bool(is_hit)) for part, is_hit in record["snippet"]),
        snippet_field=record["snippet_field"],
    )
