"""Read-only views of the database: `newsbot status`, `search`, and the stories others read."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from newsbot.clock import SYSTEM_CLOCK
from newsbot.clustering.clusters import CONTAINMENT, MIN_WORDS
from newsbot.configuration.config import Config
from newsbot.configuration.opml import OpmlFeed
from newsbot.errors import StorageError
from newsbot.models import Alert, AlertStatus, Story
from newsbot.storage.database import Storage
from newsbot.storage.records import SourceState, iso
from newsbot.stories.urls import canonical_url


def describe_status(config: Config) -> str:
    """A report for a person; it never writes to the database."""
    with reading(config) as storage:
        if storage is None:
            return f"No run yet: {config.database} does not exist. Run `newsbot run` first."
        return "\n".join(_report(config, storage))


def search_stories(config: Config, query: str, limit: int) -> list[Story]:
    """Stories whose title, summary or text match an FTS query, best first."""
    with reading(config) as storage:
        return storage.search(query, limit=limit) if storage else []


def stored_story(config: Config, url: str) -> Story | None:
    """The stored story with this URL (canonicalised first, as stories are stored)."""
    with reading(config) as storage:
        return storage.story_by_url(canonical_url(url)) if storage else None


def exportable_feeds(config: Config) -> tuple[list[OpmlFeed], list[tuple[str, str]]]:
    """Feed sources as OPML outlines (a `site:` by the feed it was found to have), and the rest."""
    with reading(config) as storage:
        found = storage.fetch_state(source.name for source in config.settings.sources) if storage else {}
    feeds, left_out = [], []
    for source in config.settings.sources:
        if source.feed:
            feeds.append(OpmlFeed(source.name, source.feed))
        elif source.site and (feed_url := found[source.name].feed_url if source.name in found else None):
            feeds.append(OpmlFeed(source.name, feed_url, source.site))
        elif source.site:
            left_out.append((source.name, "its feed is not known yet (run newsbot first)"))
        else:
            left_out.append((source.name, f"a {source.kind.value}: source has no feed URL for OPML"))
    return feeds, left_out


def story_cluster(config: Config, story: Story) -> str:
    """Which cluster a stored story joined and why: its score against its nearest neighbour."""
    with reading(config) as storage:
        cluster = storage.cluster_of(story.id) if storage else None
        neighbour = storage.stories_by_id([cluster.neighbour]) if storage and cluster and cluster.neighbour else {}
    if cluster is None:
        return "Cluster: not assigned yet (the next `newsbot run` does it)."
    score = cluster.score
    nearest = next(iter(neighbour.values()), None)
    others = [member for member in cluster.members if member.id != story.id]
    if cluster.cluster_id == story.id:
        head = "Cluster: this story is the first of its cluster"
    else:
        root = next((member for member in cluster.members if member.id == cluster.cluster_id), None)
        head = f"Cluster: joined the cluster of '{root.title if root else cluster.cluster_id}'"
    lines = [f"{head} ({len({member.id for member in cluster.members})} stories)."]
    if nearest is not None and score is not None:
        verdict = f"not joined: {cluster.note}" if cluster.note else f"at least {CONTAINMENT}: joined"
        lines.append(f"  nearest: '{nearest.title}' ({nearest.source}): containment {score:.2f}, {verdict}")
    elif score is None:
        lines.append(f"  no stored story shares enough of its text (or it is shorter than {MIN_WORDS} words)")
    lines += [f"  also: {member.source}: {member.title} ({member.url})" for member in others]
    return "\n".join(lines)


def sent_alerts_since(config: Config, when: datetime) -> list[Alert]:
    with reading(config) as storage:
        return storage.sent_alerts_since(when) if storage else []


def stories_since(config: Config, when: datetime) -> list[Story]:
    with reading(config) as storage:
        return storage.stories_since(when) if storage else []


@contextlib.contextmanager
def reading(config: Config) -> Iterator[Storage | None]:
    """The database opened for reading, or None before the first run created it."""
    if not config.database.exists():
        yield None
        return
    storage = Storage.open(config.database, migrate=False)
    if storage.needs_upgrade():
        storage.close()
        raise StorageError(
            f"{config.database} was written by an older newsbot; `newsbot run` upgrades it (this command only reads)"
        )
    try:
        yield storage
    finally:
        storage.close()


def _source_lines(name: str, state: SourceState) -> list[str]:
    """One line per source, and a second saying what is wrong when something is."""
    result = (state.last_status or "").replace("_", " ")
    if state.last_error:
        result = f"error: {state.last_error}"
        if state.consecutive_failures > 1:
            result += f" ({state.consecutive_failures} runs in a row)"
    found = f", feed found: {state.feed_url}" if state.feed_url else ""
    lines = [f"  {name}: last fetch {state.last_fetch_at}, {result}, {state.stories} stories{found}"]
    if state.health and state.health != "ok":
        lines.append(f"    {state.health.upper().replace('_', ' ')} since {state.health_since}: {state.health_detail}")
    if state.last_warning:
        lines.append(f"    warning: {state.last_warning}")
    return lines


def _report(config: Config, storage: Storage) -> list[str]:
    rows = {state.name: state for state in storage.source_rows()}
    lines = [f"Database: {config.database} ({storage.story_count()} stories)", "Sources:"]
    for source in config.settings.sources:
        row = rows.get(source.name)
        if row is None:
            lines.append(f"  {source.name}: not fetched yet")
            continue
        lines += _source_lines(source.name, row)
    clusters = storage.clusters()
    if clusters:
        lines.append("Clusters (copies of one story, newest first):")
        for cluster in clusters:
            outlets = ", ".join(sorted(set(cluster.outlets)))
            lines.append(f"  {cluster.size} stories since {cluster.first_seen}: '{cluster.title}' — in {outlets}")
    counts = storage.alert_counts()
    unconfirmed = counts[AlertStatus.UNCONFIRMED]
    shown = f", {unconfirmed} unconfirmed" if unconfirmed else ""
    lines.append(f"Alerts: {counts[AlertStatus.PENDING]} pending, {counts[AlertStatus.SENT]} sent{shown}")
    slack = config.settings.slack
    failing_after = timedelta(hours=slack.failing_after_hours if slack else 6)
    for alert in storage.undelivered():
        state = "FAILING" if alert.created_at < SYSTEM_CLOCK.now() - failing_after else "not delivered yet"
        if alert.status is AlertStatus.UNCONFIRMED:
            state = "unconfirmed"
        lines.append(
            f"  {state}: '{alert.title}' ({alert.watchlist}) to {alert.destination}, "
            f"{alert.attempts} attempts since {iso(alert.created_at)}; {alert.last_error}"
        )
    last = storage.last_run()
    if last:
        summary = last.summary
        lines.append(
            f"Last run: {last.started_at} → {last.finished_at}: {summary['new_stories']} new "
            f"stories, {summary['matches']} matches, {summary['alerts_sent']} alerts sent, "
            f"{len(summary['failed_sources'])} sources failed"
        )
    return lines
