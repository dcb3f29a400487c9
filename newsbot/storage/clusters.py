"""Clusters: the sampled-shingle index of the cluster window, and each story's cluster."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from newsbot.clustering.clusters import BOILERPLATE_CLUSTERS
from newsbot.models import Story
from newsbot.storage.base import StoreBase
from newsbot.storage.records import (
    ClusterMember,
    ClusterSummary,
    StoryCluster,
    batched,
    iso,
    story_from_row,
)


class ClusterStore(StoreBase):
    def unclustered_stories(self) -> list[Story]:
        """Stories not yet given a cluster, oldest first (so the first copy seen is the root)."""
        rows = self.db.query("SELECT * FROM stories WHERE cluster_id IS NULL ORDER BY first_seen_at, rowid")
        return [story_from_row(row) for row in rows]

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
                    [*chunk, iso(since), BOILERPLATE_CLUSTERS],
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
                [*chunk, iso(since)],
            ):
                shared[(story, cluster)] = shared.get((story, cluster), 0) + count
        best = sorted(shared.items(), key=lambda item: (-item[1], item[0][0]))[:limit]
        return [(story, cluster, count) for (story, cluster), count in best]

    def stories_by_id(self, ids: Iterable[str]) -> dict[str, Story]:
        wanted = list(ids)
        found: dict[str, Story] = {}
        for chunk in batched(wanted):
            rows = self.db.query(f"SELECT * FROM stories WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            found.update((row["id"], story_from_row(row)) for row in rows)
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
            seen_at = iso(when)
            self.db.conn.executemany(
                "INSERT INTO shingle_index (hash, story_id, cluster_id, seen_at) VALUES (?, ?, ?, ?)",
                [(value, story, cluster, seen_at) for value in sampled],
            )

    def prune_shingles(self, before: datetime) -> None:
        """Stories older than the window are never joined again: their index rows can go."""
        with self.transaction():
            self.db.execute("DELETE FROM shingle_index WHERE seen_at < ?", [iso(before)])

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
                "WHERE stories.cluster_id = ? ORDER BY stories.first_seen_at, stories.id, story_sources.seen_at",
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
            "WHERE cluster_id IN (SELECT cluster_id FROM shingle_index GROUP BY cluster_id) "
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

    def cluster_alerts(self, cluster: str, watchlist: str) -> list[tuple[str, set[str]]]:
        """(alert id, rules that fired) of the alerts one watchlist queued for a cluster, oldest first."""
        rows = self.db.query(
            "SELECT alerts.id, alerts.match FROM alerts JOIN stories ON stories.id = alerts.story_id "
            "WHERE stories.cluster_id = ? AND alerts.watchlist = ? "
            "ORDER BY alerts.created_at, stories.first_seen_at, stories.rowid",
            [cluster, watchlist],
        )
        return [(row["id"], {hit["rule"] for hit in json.loads(row["match"])["rules"]}) for row in rows]
