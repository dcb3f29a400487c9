"""Runs: each run's summary, and the counts `status` shows."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from newsbot.models import AlertKind, AlertStatus, RunSummary
from newsbot.storage.base import StoreBase
from newsbot.storage.records import (
    RunRecord,
    SourceState,
    TriedAlert,
    iso,
    parse_iso,
)


class RunStore(StoreBase):
    def record_run(self, started: datetime, finished: datetime, summary: RunSummary) -> None:
        with self.transaction():
            self.db.table("runs").insert(
                {
                    "started_at": iso(started),
                    "finished_at": iso(finished),
                    "summary": json.dumps(asdict(summary)),
                }
            )

    def source_rows(self) -> list[SourceState]:
        """Every source's state, with how many stories it carried: counted in one pass over
        `story_sources`, whose key begins with the story. Counted for each source, every source read
        the whole table (1,000 sources of 20 stories: 0.87 s of `status`, against 0.01)."""
        return [
            SourceState.from_row(row)
            for row in self.db.query(
                "SELECT sources.*, coalesce(carried.stories, 0) AS stories FROM sources "
                "LEFT JOIN (SELECT source, count(*) AS stories FROM story_sources GROUP BY source) AS carried "
                "ON carried.source = sources.name ORDER BY name"
            )
        ]

    def alert_counts(self) -> dict[AlertStatus, int]:
        """pending (an interrupted send counts as pending), sent, unconfirmed, muted. A copy noted
        beside an earlier alert (`also_in`: a line in its thread, or with a webhook a record only) is
        no alert sent: the run said "6 alerts sent" and status said 7. Pending copies still count."""
        counts = {AlertStatus.PENDING: 0, AlertStatus.SENT: 0, AlertStatus.UNCONFIRMED: 0, AlertStatus.MUTED: 0}
        for row in self.db.query(
            "SELECT status, count(*) AS n FROM alerts WHERE NOT (status = ? AND kind = ?) GROUP BY status",
            [AlertStatus.SENT, AlertKind.ALSO_IN],
        ):
            status = AlertStatus(row["status"])
            counts[AlertStatus.PENDING if status is AlertStatus.SENDING else status] += row["n"]
        return counts

    def details_owed(self) -> int:
        """Alerts a digest delivered whose full message its thread still lacks (posted by later passes)."""
        return int(self.db.execute("SELECT count(*) FROM alerts WHERE detail_due = 1").fetchone()[0])

    def undelivered(self) -> list[TriedAlert]:
        """Alerts tried at least once and not known delivered, unconfirmed ones included (status)."""
        return self._tried((AlertStatus.PENDING, AlertStatus.SENDING, AlertStatus.UNCONFIRMED), None)

    def waiting(self, queued_before: datetime) -> list[TriedAlert]:
        """Alerts tried and still waiting to be sent, queued before a time: what "delivery is failing"
        is about. An unconfirmed alert is not waiting: nothing will send it again."""
        return self._tried((AlertStatus.PENDING, AlertStatus.SENDING), queued_before)

    def _tried(self, statuses: tuple[str, ...], queued_before: datetime | None) -> list[TriedAlert]:
        rows = self.db.query(
            "SELECT alerts.id, alerts.watchlist, alerts.destination, alerts.attempts, alerts.last_error, "
            "alerts.created_at, alerts.status, stories.title, alerts.attempt_started_at FROM alerts "
            "JOIN stories ON stories.id = alerts.story_id "
            f"WHERE alerts.status IN ({', '.join('?' * len(statuses))}) "
            "AND alerts.attempts > 0 AND alerts.created_at < ? ORDER BY alerts.created_at",
            [*statuses, iso(queued_before or datetime.max.replace(tzinfo=UTC))],
        )
        return [
            TriedAlert(
                **{
                    **row,
                    "created_at": datetime.fromisoformat(row["created_at"]),
                    "status": AlertStatus(row["status"]),
                    "attempt_started_at": parse_iso(row["attempt_started_at"]),
                }
            )
            for row in rows
        ]

    def run_summaries_since(self, when: datetime) -> list[dict[str, Any]]:
        """The stored RunSummary (as its JSON object) of every run started at or after `when`, in the
        order they were recorded. Found through the index of `started_at` (m017): ordered by the bare
        `id`, SQLite read the whole table in its order instead (`+id` makes the order a sort)."""
        rows = self.db.execute("SELECT summary FROM runs WHERE started_at >= ? ORDER BY +id", [iso(when)])
        return [json.loads(summary) for (summary,) in rows]

    def last_config(self) -> str:
        """The config file the last run that recorded one read ("" if none did)."""
        row = self.db.execute(
            "SELECT json_extract(summary, '$.config') FROM runs "
            "WHERE json_extract(summary, '$.config') != '' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return str(row[0]) if row else ""

    def last_run(self) -> RunRecord | None:
        rows = list(self.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT 1"))
        return (
            RunRecord(rows[0]["started_at"], rows[0]["finished_at"], json.loads(rows[0]["summary"])) if rows else None
        )

    def run_starts(self, last: int) -> list[datetime]:
        """When the `last` recorded runs started, oldest first."""
        rows = self.db.execute("SELECT started_at FROM runs ORDER BY id DESC LIMIT ?", [last]).fetchall()
        return [datetime.fromisoformat(started) for (started,) in reversed(rows)]

    def story_count(self) -> int:
        return self.db.table("stories").count
