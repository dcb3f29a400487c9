"""Sources: what each fetch left (validators, status, health), their notices, and the stories a fetch stored."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from newsbot.models import FetchResult, FetchStatus, SourceNotice, Story
from newsbot.storage.base import StoreBase
from newsbot.storage.records import (
    SourceState,
    iso,
)
from newsbot.storage.stories import insert_stories

# A story stored under this address, or one a feed's link to it has led to (migration m015).
KNOWN_URL = "SELECT 1 FROM stories WHERE url = :url UNION ALL SELECT 1 FROM story_links WHERE url = :url"


class SourceStore(StoreBase):
    def fetch_state(self, names: Iterable[str]) -> dict[str, SourceState]:
        """Per source, what its last fetch left: validators, outcome, health."""
        wanted = set(names)
        return {
            row["name"]: SourceState.from_row(row) for row in self.db.table("sources").rows if row["name"] in wanted
        }

    def is_known(self, url: str) -> bool:
        """Whether a story with this canonical URL is stored (its article need not be fetched)."""
        return self.db.execute(KNOWN_URL, {"url": url}).fetchone() is not None

    def record_fetch(self, result: FetchResult, stories: list[Story], when: datetime) -> int:
        """Store a source's outcome and its stories together; return how many stories were new.

        A source cut short (the run stopped, max_articles) keeps its old validators, so the next run
        fetches it again and takes the stories left; one the run stopped before it answered changes
        nothing at all (it did not fail: nothing is known about it).
        """
        answered = not (result.cut_short and result.status is FetchStatus.ERROR)
        with self.transaction():
            previous = self.db.execute(
                "SELECT consecutive_failures FROM sources WHERE name = ?", [result.source]
            ).fetchone()
            state: dict[str, Any] = {
                "name": result.source,
                "url": result.url,
                "last_fetch_at": iso(when),
                "last_status": result.status.value,
                "last_error": result.error,
            }
            if previous is None:
                state["first_fetch_at"] = iso(when)
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
                state["last_warning"] = fetch_warning(result)
            elif result.status is FetchStatus.NOT_MODIFIED:  # keep what is known; take what is new
                known = {"etag": result.etag, "last_modified": result.last_modified, "feed_url": result.feed_url}
                state.update({key: value for key, value in known.items() if value})
            if answered:
                # One statement, not sqlite-utils' upsert: that reads the table's columns first, on
                # every call, and a warm run of 1,000 feeds stores 950 answers of 304.
                self.db.execute(
                    f"INSERT INTO sources ({', '.join(state)}) VALUES ({', '.join('?' * len(state))}) "
                    f"ON CONFLICT (name) DO UPDATE SET {', '.join(f'{key} = excluded.{key}' for key in state)}",
                    list(state.values()),
                )
            new = insert_stories(self.db, result.source, stories, when)
            if new:
                self.db.execute("UPDATE sources SET last_new_story_at = ? WHERE name = ?", [iso(when), result.source])
        return new

    def record_health(
        self, source: str, state: str, detail: str, when: datetime, notice: tuple[str, str] | None
    ) -> None:
        """A source's health as assessed now, with the (kind, text) notice its change calls for. One
        statement: a first run records 1,000 sources' health in its last pass, and sqlite-utils'
        `update` (a look-up of the table's keys and of the row first) took 0.11 s of it."""
        with self.transaction():
            self.db.execute(
                "UPDATE sources SET health_since = CASE WHEN health IS :state THEN health_since ELSE :when END, "
                "health = :state, health_detail = :detail WHERE name = :source",
                {"state": state, "detail": detail, "when": iso(when), "source": source},
            )
            if notice is not None:
                self.db.table("source_notices").insert(
                    {"source": source, "kind": notice[0], "detail": notice[1], "created_at": iso(when), "attempts": 0}
                )

    def pending_source_notices(self) -> list[SourceNotice]:
        rows = self.db.query("SELECT * FROM source_notices WHERE sent_at IS NULL ORDER BY id")
        return [SourceNotice(row["id"], row["source"], row["kind"], row["detail"]) for row in rows]

    def mark_source_notice(self, notice: int, sent_at: datetime | None, error: str | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE source_notices SET sent_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
                [iso(sent_at), error, notice],
            )


def fetch_warning(result: FetchResult) -> str | None:
    """What went wrong inside a fetch that still succeeded (some articles could not be fetched, it
    was cut short)."""
    warnings = [f"cut short: {result.cut_short}"] if result.cut_short else []
    for errors in (result.problems, result.article_errors):
        if errors:
            more = len(errors) - 1
            warnings.append(errors[0] + (f" (and {more} more)" if more else ""))
    return "; ".join(warnings) or None


class StoredURLs:
    """`SourceStore.is_known` for another process (the run's second crawling process): what crosses
    is the database's path, and the read-only connection is opened there, on the first question."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self._db: sqlite3.Connection | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"database": self.database}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["database"])  # type: ignore[misc]

    def __call__(self, url: str) -> bool:
        try:
            if self._db is None:
                self._db = sqlite3.connect(f"{self.database.resolve().as_uri()}?mode=ro", uri=True)
            return self._db.execute(KNOWN_URL, {"url": url}).fetchone() is not None
        except sqlite3.Error:  # the article is fetched again: a request more, nothing lost
            return False
