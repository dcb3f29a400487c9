"""Is each source working? Failing N runs in a row, stale, or a selector that matches nothing.

Sources must never fail silently (a listing page redesigned overnight looks exactly like a quiet
news day), but a flaky source must not ping the ops channel every run either: a source's health is
announced when it changes — once when it breaks, once when it recovers — and shown in `status`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from newsbot.configuration.source_config import HealthSettings, SourceConfig
from newsbot.models import SourceKind


class HealthState(enum.StrEnum):
    OK = "ok"
    FAILING = "failing"
    NO_LINKS = "no_links"
    STALE = "stale"


@dataclass(frozen=True)
class Health:
    state: HealthState
    detail: str = ""


@dataclass(frozen=True)
class HealthChange:
    """A change worth announcing: to a problem, or back to OK (`recovered`)."""

    source: str
    health: Health
    recovered_from: HealthState | None = None

    @property
    def text(self) -> str:
        if self.recovered_from is not None:
            return f"Source '{self.source}' has recovered (it was {_WORDS[self.recovered_from]})."
        return f"Source '{self.source}' {_WORDS[self.health.state]}: {self.health.detail}"


_WORDS = {
    HealthState.FAILING: "failing",
    HealthState.NO_LINKS: "finding no story links",
    HealthState.STALE: "stale",
    HealthState.OK: "ok",
}


def assess(row: dict[str, Any], source: SourceConfig, settings: HealthSettings, now: datetime) -> Health:
    """The health of a source from its row in the `sources` table, worst problem first."""
    failures = row.get("consecutive_failures") or 0
    if failures >= settings.failing_after_runs:
        return Health(HealthState.FAILING, f"failed {failures} runs in a row; last error: {row.get('last_error')}")
    if row.get("links_found") == 0:  # kept from the last fetch that parsed the page, errors below FAILING aside
        return Health(HealthState.NO_LINKS, _no_links(source))
    stale_after = timedelta(hours=source.stale_after_hours or settings.stale_after_hours)
    last_new = row.get("last_new_story_at") or row.get("first_fetch_at")
    if last_new and now - datetime.fromisoformat(last_new) > stale_after:
        return Health(HealthState.STALE, f"no new story since {last_new} (stale after {_hours(stale_after)})")
    return Health(HealthState.OK)


def change(source: str, previous: str | None, current: Health) -> HealthChange | None:
    """What to announce when the health went from `previous` (as last recorded) to `current`."""
    if previous == current.state.value:
        return None
    if current.state is not HealthState.OK:
        return HealthChange(source, current)
    if previous is None or previous == HealthState.OK.value:
        return None
    return HealthChange(source, current, recovered_from=HealthState(previous))


def _no_links(source: SourceConfig) -> str:
    if source.kind is SourceKind.SITEMAP:
        return f"the sitemap {source.sitemap} listed no story newer than the age limit"
    selector = f"links: '{source.links}'" if source.links else f"links_xpath: '{source.links_xpath}'"
    return f"selector matched 0 links ({selector} on {source.url}); the page may have been redesigned"


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} hours"
