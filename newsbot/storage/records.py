"""Rows to newsbot's types and back: dates as ISO text, a match as JSON, an alert with its story.

Each store (newsbot.storage.sources, .clusters, .stories, .outbox, .runs) converts with these, so
a column's format is decided once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from newsbot.models import Alert, AlertStatus, Match, RuleHit, Severity, Story

T = TypeVar("T")


@dataclass(frozen=True)
class SourceState:
    """What a source's fetches left (a row of `sources`, newsbot.storage.schema); times are ISO text."""

    name: str
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    feed_url: str | None = None
    last_fetch_at: str | None = None
    last_status: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    links_found: int | None = None
    last_warning: str | None = None
    first_fetch_at: str | None = None
    last_new_story_at: str | None = None
    health: str | None = None
    health_detail: str | None = None
    health_since: str | None = None
    stories: int = 0  # stories it carried (source_rows only)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SourceState:
        known = {name: row[name] for name in cls.__dataclass_fields__ if row.get(name) is not None}
        return cls(**known)


@dataclass(frozen=True)
class ClusterMember:
    """One story of a cluster, once per outlet that carried it."""

    id: str
    title: str
    url: str
    first_seen_at: str
    source: str


@dataclass(frozen=True)
class StoryCluster:
    """Which cluster a story joined and why: its nearest stored story, their containment, the verdict."""

    story_id: str
    cluster_id: str
    score: float | None
    neighbour: str | None
    note: str | None  # why it did not join its nearest story's cluster; empty when it did
    members: tuple[ClusterMember, ...]


@dataclass(frozen=True)
class ClusterSummary:
    """A cluster of more than one story, as `status` lists it."""

    cluster_id: str
    size: int
    first_seen: str
    outlets: tuple[str, ...]
    title: str


@dataclass(frozen=True)
class RunRecord:
    """A run as it was recorded: when, and its RunSummary as stored (JSON)."""

    started_at: str
    finished_at: str
    summary: dict[str, Any]


@dataclass(frozen=True)
class TriedAlert:
    """An alert tried at least once and not known delivered: what `status` and "delivery is failing" show."""

    id: str
    watchlist: str
    destination: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    status: AlertStatus
    title: str
    attempt_started_at: datetime | None = None  # when its last attempt began (in flight: being sent, or lost)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def seconds(moment: datetime) -> int:
    """Unix seconds, as the cluster window's index keeps times (4 bytes a row where ISO text took 25)."""
    return int(moment.timestamp())


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def batched(values: list[T], size: int = 500) -> Iterator[list[T]]:
    """Slices of at most `size`: SQLite limits the `?` in one statement, and a run commits in batches
    (itertools.batched from Python 3.12)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def alert_id(story: str, watchlist: str) -> str:
    """Deterministic, so that re-queuing the same story for the same watchlist is a no-op."""
    return hashlib.sha256(f"{story}\n{watchlist}".encode()).hexdigest()[:20]


def alert_from_row(row: dict[str, Any], **delivery: Any) -> Alert:
    """An outbox row joined with its story (`alert_id`, `watchlist`, `match`, stories.*)."""
    match = match_from_record(row["watchlist"], json.loads(row["match"]))
    return Alert(id=row["alert_id"], story=story_from_row(row), match=match, **delivery)


def story_from_row(row: dict[str, Any]) -> Story:
    return Story(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        summary=row["summary"] or "",
        text=row["text"] or "",
        source=row["source"],
        published_at=parse_iso(row["published_at"]),
    )


def match_record(match: Match) -> dict[str, Any]:
    return {
        "rules": [{"rule": hit.rule, "severity": hit.severity.value, "terms": list(hit.terms)} for hit in match.rules],
        "snippet": [[part, is_hit] for part, is_hit in match.snippet],
        "snippet_field": match.snippet_field,
        "vendors": list(match.vendors),
    }


def match_from_record(watchlist: str, record: dict[str, Any]) -> Match:
    return Match(
        watchlist=watchlist,
        rules=tuple(
            RuleHit(rule=hit["rule"], severity=Severity(hit["severity"]), terms=tuple(hit["terms"]))
            for hit in record["rules"]
        ),
        snippet=tuple((part, bool(is_hit)) for part, is_hit in record["snippet"]),
        snippet_field=record["snippet_field"],
        vendors=tuple(record.get("vendors", ())),  # alerts queued before vendors were recorded have none
    )
