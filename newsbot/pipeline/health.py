"""Is each source working? Failing N runs in a row, stale, or a selector that matches nothing.

Sources must never fail silently (a listing page redesigned overnight looks exactly like a quiet
news day), but a flaky source must not ping the ops channel every run either: a source's health is
announced when it changes — once when it breaks, once when it recovers — and shown in `status`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from newsbot.configuration.config import Config
from newsbot.configuration.source_config import HealthSettings, SourceConfig
from newsbot.models import SourceKind
from newsbot.storage.database import Storage
from newsbot.storage.records import SourceState


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


def assess(state: SourceState, source: SourceConfig, settings: HealthSettings, now: datetime) -> Health:
    """The health of a source from what its fetches left, worst problem first."""
    failures = state.consecutive_failures
    if failures >= settings.failing_after_runs:
        return Health(HealthState.FAILING, f"failed {failures} runs in a row; last error: {state.last_error}")
    if state.links_found == 0:  # kept from the last fetch that parsed the page, errors below FAILING aside
        return Health(HealthState.NO_LINKS, _no_links(source))
    stale_after = timedelta(hours=source.stale_after_hours or settings.stale_after_hours)
    last_new = state.last_new_story_at or state.first_fetch_at
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


def record_health(config: Config, storage: Storage, now: datetime) -> list[str]:
    """Assess every configured source; a change of health queues one notice for the ops channel.

    Returns the changes for the worse (a source newly failing, stale or finding no links).

    One commit for all of them, all or nothing: a first run records every source's health, and a
    commit each (the stage connection syncs each one) kept the run's last pass waiting 0.3 s for
    1,000 sources. A failed commit leaves every source to the next run, which assesses them again.
    """
    worse = []
    states = storage.fetch_state(source.name for source in config.settings.sources)
    with storage.transaction():
        for source in config.settings.sources:
            state = states.get(source.name)
            if state is None:
                continue
            health = assess(state, source, config.settings.health, now)
            announced = change(source.name, state.health, health)
            notice = (
                (health.state.value if announced.recovered_from is None else "recovered", announced.text)
                if announced
                else None
            )
            if announced or state.health_detail != health.detail:
                storage.record_health(source.name, health.state.value, health.detail, now, notice)
            if announced and announced.recovered_from is None:
                worse.append(announced.text)
    return worse
