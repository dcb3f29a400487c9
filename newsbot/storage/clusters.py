"""Clusters: the sampled-shingle index of the cluster window, and each story's cluster."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from newsbot.clustering.clusters import BOILERPLATE_CLUSTERS
from newsbot.models import Story
from newsbot.storage.base import StoreBase
from newsbot.storage.records import (
    ClusterMember,
    ClusterSummary,
    StoryCluster,
    batched,
    parse_iso,
    seconds,
    story_from_row,
)


@dataclass(frozen=True)
class ClusterAssignment:
    """A story's cluster and why (`note`: why it did not join its nearest neighbour), with the sampled
    shingles the stories after it look it up by."""

    story: str
    cluster: str
    score: float | None
    neighbour: str | None
    note: str
    sampled: Collection[int]


@dataclass(frozen=True)
class ClusterAlert:
    """An alert a watchlist queued for a story of a cluster: what a later copy is told apart from."""

    id: str
    rules: set[str]  # the rules that fired
    vendors: set[str] | None  # the vendors it named; None for alerts queued before vendors were recorded


# Index rows a statement. A batch's rows (a cold run's largest write) went in through executemany,
# one statement run a row; 200 to a statement took 30% less time (240,000 sorted rows into an index
# of up to 2.4 million): a statement's run and reset are paid once for 200 rows. 800 parameters:
# under the 999 of the oldest SQLite that may be found.
INDEX_ROWS_A_STATEMENT = 200
PRUNE_EVERY_SECONDS = 3600  # the window's old index rows go in the first run of each clock hour


@cache
def _index_insert(rows: int) -> str:
    rows_values = ", ".join(["(?, ?, ?, ?)"] * rows)
    return f"INSERT OR IGNORE INTO shingle_index (hash, story, cluster, seen) VALUES {rows_values}"


# A window story holding a sampled shingle: (story, cluster, how many sampled shingles that story has in
# the index, None if it was clustered before migration m014).
WindowRow = tuple[str, str, int | None]


@dataclass
class WindowShingles:
    """What the window's index holds for some sampled shingles: those already in `BOILERPLATE_CLUSTERS`
    or more clusters, and for every other one found, its rows."""

    boilerplate: set[int] = field(default_factory=set)
    rows: dict[int, list[WindowRow]] = field(default_factory=dict)


class ClusterStore(StoreBase):
    def unclustered_ids(self) -> list[str]:
        """Stories not yet given a cluster, oldest first (so the first copy seen is the root); ids only,
        so that a cold run's thousands of new stories are read a batch at a time."""
        rows = self.db.execute("SELECT id FROM stories WHERE cluster_id IS NULL ORDER BY first_seen_at, rowid")
        return [row[0] for row in rows]

    def window_shingles(self, hashes: Collection[int], since: datetime) -> WindowShingles:
        """For a batch's sampled shingles, in two reads of the index whatever the batch's size, each in
        hash order (the index's pages are then visited in order: half the time of a random order).
        Most of a new story's shingles are in no other story: one probe each says so.

        A shingle is counted in at most `BOILERPLATE_CLUSTERS` clusters (DISTINCT … LIMIT): a footer's
        shingle found in thousands of the window's stories costs a few rows, not thousands (a GROUP BY
        would read them all, and a story would cost more the fuller the window). Only the rest, in
        fewer clusters, are read whole, their stories and clusters named by id.
        """
        found = WindowShingles()
        since_seconds = seconds(since)
        counted = self.db.execute(
            "SELECT value, (SELECT count(*) FROM (SELECT DISTINCT cluster FROM shingle_index "
            "WHERE hash = value AND seen >= :since LIMIT :enough)) FROM json_each(:hashes) "
            "WHERE EXISTS (SELECT 1 FROM shingle_index WHERE hash = value AND seen >= :since)",
            {"since": since_seconds, "enough": BOILERPLATE_CLUSTERS, "hashes": json.dumps(sorted(hashes))},
        )
        shared = []
        for value, clusters in counted:
            if clusters >= BOILERPLATE_CLUSTERS:
                found.boilerplate.add(value)
            else:
                shared.append(value)
        if shared:
            rows = self.db.execute(
                "SELECT shingle_index.hash, story.id, cluster.id, story.cluster_sampled FROM shingle_index "
                "JOIN stories AS story ON story.rowid = shingle_index.story "
                "JOIN stories AS cluster ON cluster.rowid = shingle_index.cluster "
                "WHERE shingle_index.hash IN (SELECT value FROM json_each(?)) AND shingle_index.seen >= ?",
                [json.dumps(shared), since_seconds],  # in hash order, as json_each gave them
            )
            for value, story, cluster, sampled in rows:
                found.rows.setdefault(value, []).append((story, cluster, sampled))
        return found

    def stories_by_id(self, ids: Iterable[str]) -> dict[str, Story]:
        return {row["id"]: story_from_row(row) for row in self._story_rows(ids)}

    def record_clusters(self, assignments: Iterable[ClusterAssignment], when: datetime) -> None:
        """A batch of stories' clusters and their index rows, atomically, and the stories in the
        full-text index (migration m012: a batch at a time costs a third of a story at a time).

        The index names a story and its cluster by the stories table's rowid (stable: stories are never
        deleted, and no migration rebuilds the table without rebuilding this index). The rows go in
        sorted by hash: each page of the index is then written once per batch, however many of the
        batch's rows it takes, rather than once for each of them.

        The commit waits on no fsync of its own (`synced_by_what_follows`): a batch a power cut loses
        leaves its stories unclustered for the next run, and whatever a later commit queued from
        these clusters (alerts, in a FULL commit) syncs them with it.
        """
        decided = list(assignments)
        if not decided:
            return
        seen = seconds(when)
        named = {each.story for each in decided} | {each.cluster for each in decided}
        with self.synced_by_what_follows(), self.transaction():
            rowids = dict(
                self.db.execute(
                    "SELECT id, rowid FROM stories WHERE id IN (SELECT value FROM json_each(?))",
                    [json.dumps(list(named))],
                )
            )
            stories = [rowids[each.story] for each in decided]
            self.db.execute(  # FTS5 keeps one docsize row a document: a story indexed already is not again
                "INSERT INTO stories_fts (rowid, title, summary, text) SELECT rowid, title, summary, text "
                "FROM stories WHERE rowid IN (SELECT value FROM json_each(?)) "
                "AND rowid NOT IN (SELECT id FROM stories_fts_docsize)",
                [json.dumps(stories)],
            )
            self.db.conn.executemany(
                "UPDATE stories SET cluster_id = ?, cluster_score = ?, cluster_neighbour = ?, cluster_note = ?, "
                "cluster_sampled = ? WHERE id = ?",
                [
                    (each.cluster, each.score, each.neighbour, each.note or None, len(each.sampled), each.story)
                    for each in decided
                ],
            )
            clusters = [rowids[each.cluster] for each in decided]
            # Sorted as one int a row, the hash above the assignment's number: a third of the memory of
            # sorting the rows themselves (a batch of 2,000 stories has 240,000).
            bits = len(decided).bit_length()
            order = sorted(value << bits | number for number, each in enumerate(decided) for value in each.sampled)
            mask = (1 << bits) - 1
            for keys in batched(order, INDEX_ROWS_A_STATEMENT):
                values: list[int] = []
                for key in keys:
                    values += (key >> bits, stories[key & mask], clusters[key & mask], seen)
                self.db.conn.execute(_index_insert(len(keys)), values)

    def prune_shingles(self, now: datetime, window: timedelta) -> None:
        """Stories older than the window are never joined again: their index rows can go. A scan of
        the window's rows (no index by time: see migration m010), so a run prunes once.

        Never past the window before the last recorded run began: one run on a clock days ahead (a
        machine's clock before NTP set it) once emptied the index, and every copy of a story alerted
        before it alerted again.

        Once a clock hour at most: a run skips it when the last recorded run began in the same hour,
        and so pruned already (or, cut short, left it to the next hour's first run). The scan was a
        fifth of a warm run's last second, alone on one core (1,000 feeds on a 10-minute cron, 0.05 s
        of 2.3). A new story never joins the rows an hour leaves past the window: every read for
        clustering asks `seen` (`status`'s list of recent clusters may show one an hour longer)."""
        last = self.db.execute("SELECT started_at FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        started = parse_iso(last[0]) if last is not None else None
        if started is not None and seconds(started) // PRUNE_EVERY_SECONDS == seconds(now) // PRUNE_EVERY_SECONDS:
            return
        latest = min(now, started) if started is not None else now
        with self.transaction():
            self.db.execute("DELETE FROM shingle_index WHERE seen < ?", [seconds(latest - window)])

    def cluster_of(self, story: str) -> StoryCluster | None:
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
                "WHERE stories.cluster_id = ? ORDER BY stories.first_seen_at, stories.rowid, story_sources.seen_at",
                [rows[0]["cluster_id"]],
            )
        )
        row = rows[0]
        return StoryCluster(
            story_id=row["id"],
            cluster_id=row["cluster_id"],
            score=row["cluster_score"],
            neighbour=row["cluster_neighbour"],
            note=row["cluster_note"],
            members=tuple(ClusterMember(**member) for member in members),
        )

    def clusters(self, limit: int = 10) -> list[ClusterSummary]:
        """The largest recent clusters (more than one story), newest first."""
        rows = self.db.query(
            "SELECT cluster_id, count(DISTINCT stories.id) AS size, min(first_seen_at) AS first_seen, "
            "group_concat(DISTINCT story_sources.source) AS outlets, "
            "(SELECT title FROM stories AS root WHERE root.id = stories.cluster_id) AS title "
            "FROM stories JOIN story_sources ON story_sources.story_id = stories.id "
            "WHERE cluster_id IN (SELECT id FROM stories WHERE rowid IN (SELECT cluster FROM shingle_index)) "
            "GROUP BY cluster_id HAVING count(DISTINCT stories.id) > 1 ORDER BY first_seen DESC LIMIT ?",
            [limit],
        )
        return [
            ClusterSummary(
                row["cluster_id"],
                row["size"],
                row["first_seen"],
                tuple((row["outlets"] or "").split(",")),
                row["title"],
            )
            for row in rows
        ]

    def cluster_alerts(self, cluster: str, watchlist: str) -> list[ClusterAlert]:
        """The alerts one watchlist queued for a cluster, oldest first."""
        rows = self.db.query(
            "SELECT alerts.id, alerts.match FROM alerts JOIN stories ON stories.id = alerts.story_id "
            "WHERE stories.cluster_id = ? AND alerts.watchlist = ? "
            "ORDER BY alerts.created_at, stories.first_seen_at, stories.rowid",
            [cluster, watchlist],
        )
        found = []
        for row in rows:
            match = json.loads(row["match"])
            vendors = set(match["vendors"]) if "vendors" in match else None
            found.append(ClusterAlert(row["id"], {hit["rule"] for hit in match["rules"]}, vendors))
        return found
