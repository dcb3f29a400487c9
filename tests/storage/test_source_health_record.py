"""A source's recorded health (newsbot.storage.sources.record_health) on a real SQLite file: the
state, its detail, since when it holds, and the notice its change queues for the ops channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsbot.models import FetchResult, FetchStatus
from newsbot.storage.database import Storage
from newsbot.storage.records import SourceState

FIRST = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
SOURCE = "Wire"


def state(storage: Storage) -> SourceState:
    return storage.fetch_state([SOURCE])[SOURCE]


def notices(storage: Storage) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in storage.db.execute("SELECT kind, detail FROM source_notices ORDER BY id")]


def test_health_since_moves_only_when_the_state_changes(storage: Storage) -> None:
    storage.record_fetch(FetchResult(SOURCE, "https://news.example/feed.xml", FetchStatus.OK), [], FIRST)

    storage.record_health(SOURCE, "ok", "", FIRST, None)
    assert (state(storage).health, state(storage).health_since) == ("ok", FIRST.isoformat())

    later = FIRST + timedelta(hours=1)
    storage.record_health(SOURCE, "ok", "3 articles could not be fetched", later, None)
    assert state(storage).health_since == FIRST.isoformat()  # the same state: still since the first
    assert state(storage).health_detail == "3 articles could not be fetched"

    failing = FIRST + timedelta(hours=2)
    storage.record_health(SOURCE, "failing", "HTTP 503", failing, ("failing", "Wire is failing: HTTP 503"))
    recorded = state(storage)
    assert (recorded.health, recorded.health_detail) == ("failing", "HTTP 503")
    assert recorded.health_since == failing.isoformat()
    assert notices(storage) == [("failing", "Wire is failing: HTTP 503")]


def test_another_sources_health_is_left_alone(storage: Storage) -> None:
    for name in (SOURCE, "Desk"):
        storage.record_fetch(FetchResult(name, f"https://{name.lower()}.example/feed.xml", FetchStatus.OK), [], FIRST)

    storage.record_health(SOURCE, "stale", "no new story in 9 days", FIRST, None)

    assert state(storage).health == "stale"
    assert storage.fetch_state(["Desk"])["Desk"].health is None
