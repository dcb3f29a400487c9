"""One cron run: lock → crawl → store → match → outbox → deliver → summary.

Each step reads what the previous one committed to the database, not what it holds in memory, so
a run that crashed anywhere is finished by the next: unstored feeds are fetched again (their
validators were not updated), unmatched stories are matched, pending alerts are sent.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from alerts.deliver import Policy, deliver
from alerts.sinks import Poster
from newsbot.clusters import MIN_SAMPLED, Fingerprint, Neighbour, compare, fingerprint
from newsbot.config import Config
from newsbot.crawl import crawl
from newsbot.errors import LockedError
from newsbot.health import assess, change
from newsbot.matching import Matcher
from newsbot.models import FetchResult, FetchStatus, Match, RunSummary, SourceRequest, Story
from newsbot.normalize import to_story
from newsbot.storage import Storage, batched, now_utc

log = logging.getLogger(__name__)


@contextlib.contextmanager
def run_lock(database: Path) -> Iterator[None]:
    """An OS file lock beside the database: released by the kernel even if the run is killed."""
    lock = FileLock(f"{database}.lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise LockedError(
            f"another newsbot run is in progress (it holds {database}.lock); this run did nothing"
        ) from None
    try:
        yield
    finally:
        lock.release()


def run(config: Config, poster: Poster, policy: Policy) -> RunSummary:
    """The whole pipeline under the run lock; per-source and per-alert failures are in the summary."""
    with run_lock(config.database):
        storage = Storage.open(config.database)
        try:
            return run_pipeline(config, storage, poster, policy)
        finally:
            storage.close()


def dry_run(config: Config, poster: Poster, policy: Policy) -> RunSummary:
    """The same pipeline against a throwaway copy of the database: nothing real is changed."""
    with tempfile.TemporaryDirectory(prefix="newsbot-dry-run-") as folder:
        copy = Path(folder) / "dry-run.db"
        if config.database.exists():
            with (
                contextlib.closing(sqlite3.connect(config.database)) as source,
                contextlib.closing(sqlite3.connect(copy)) as target,
            ):
                source.backup(target)
        storage = Storage.open(copy)
        try:
            return run_pipeline(config, storage, poster, policy)
        finally:
            storage.close()
            shutil.rmtree(folder, ignore_errors=True)


def run_pipeline(config: Config, storage: Storage, poster: Poster, policy: Policy) -> RunSummary:
    started = now_utc()
    clock = time.monotonic()
    summary = RunSummary()
    stages = summary.stage_seconds = dict.fromkeys(("fetch", "parse", "store", "cluster", "match", "deliver"), 0.0)

    def store(result: FetchResult) -> None:
        store_started = time.monotonic()
        store_fetch(storage, result, summary)
        stages["store"] += time.monotonic() - store_started
        stages["parse"] += result.parse_seconds

    crawl(_source_requests(config, storage), config.settings.fetch, store, storage.is_known)
    stages["fetch"] = time.monotonic() - clock - stages["store"] - stages["parse"]
    record_health(config, storage, now_utc())
    stage_started = time.monotonic()
    assign_clusters(storage, now_utc(), timedelta(days=config.settings.cluster_window_days))
    stages["cluster"] = time.monotonic() - stage_started
    stage_started = time.monotonic()
    queue_matches(storage, Matcher(config.watchlists), config.settings.max_age_days, summary)
    stages["match"] = time.monotonic() - stage_started
    stage_started = time.monotonic()
    report = deliver(storage, poster, policy)
    stages["deliver"] = time.monotonic() - stage_started
    summary.alerts_sent = report.sent
    summary.delivery_errors = report.errors
    for error in report.errors:
        log.warning("delivery failed, the alerts are kept for the next run: %s", error)
    summary.alerts_pending = storage.alert_counts()["pending"]
    summary.seconds = time.monotonic() - clock
    storage.record_run(started, now_utc(), summary)
    return summary


def _source_requests(config: Config, storage: Storage) -> list[SourceRequest]:
    """What to fetch, with what the last run learned — forgotten when the source's URL changed."""
    known = storage.fetch_state(source.name for source in config.settings.sources)
    requests = []
    for source in config.settings.sources:
        location = source.location or ""
        state = known.get(source.name, {})
        if state.get("url") != location:
            state = {}
        requests.append(
            SourceRequest(
                source=source.name,
                kind=source.kind,
                url=location,
                internal=source.internal,
                full_text=source.full_text,
                etag=state.get("etag"),
                last_modified=state.get("last_modified"),
                body_hash=state.get("body_hash"),
                feed_url=state.get("feed_url"),
                links_css=source.links,
                links_xpath=source.links_xpath,
                next_page_css=source.next_page,
                follow_pages=source.follow_pages,
                title_css=source.title,
                date_css=source.date,
                max_items=source.max_items,
                max_age_days=config.settings.max_age_days,
                spider=source.spider,
                spider_args=tuple(source.spider_args.items()),
            )
        )
    return requests


def store_fetch(storage: Storage, result: FetchResult, summary: RunSummary) -> None:
    if result.status is FetchStatus.ERROR:
        summary.failed_sources[result.source] = result.error or "unknown error"
        log.warning("source %r failed: %s", result.source, result.error)
    elif result.status is FetchStatus.NOT_MODIFIED:
        summary.sources_not_modified += 1
    else:
        summary.sources_ok += 1
    if result.links_found == 0 and result.status is FetchStatus.OK:
        summary.source_warnings[result.source] = "selector matched 0 links"
    elif result.article_errors:
        summary.source_warnings[result.source] = (
            f"{len(result.article_errors)} articles kept their teaser: {result.article_errors[0]}"
        )
    stories = [story for entry in result.entries if (story := to_story(entry, result.source))]
    summary.entries_seen += len(result.entries)
    summary.new_stories += storage.record_fetch(result, stories, now_utc())


def record_health(config: Config, storage: Storage, now: datetime) -> None:
    """Assess every configured source; a change of health queues one notice for the ops channel."""
    rows = storage.fetch_state(source.name for source in config.settings.sources)
    for source in config.settings.sources:
        row = rows.get(source.name)
        if row is None:
            continue
        health = assess(row, source, config.settings.health, now)
        announced = change(source.name, row.get("health"), health)
        notice = (
            (health.state.value if announced.recovered_from is None else "recovered", announced.text)
            if announced
            else None
        )
        if announced or row.get("health_detail") != health.detail:
            storage.record_health(source.name, health.state.value, health.detail, now, notice)


def assign_clusters(storage: Storage, now: datetime, window: timedelta) -> None:
    """Give every new story a cluster: the one of the earlier story it is a copy of, or its own."""
    since = now - window
    storage.prune_shingles(since)
    for batch in batched(storage.unclustered_stories()):
        with storage.transaction():  # one commit per batch, not per story
            for story in batch:
                _assign_cluster(storage, story, now, since)


def _assign_cluster(storage: Storage, story: Story, now: datetime, since: datetime) -> None:
    shingles = fingerprint(cluster_text(story))
    if shingles is None:
        storage.record_cluster(story.id, story.id, None, None, (), now)
        return
    neighbour = nearest_story(storage, story, shingles, since)
    cluster = neighbour.cluster_id if neighbour and neighbour.joins else story.id
    score = neighbour.containment if neighbour else None
    note = neighbour.why_not if neighbour else ""
    storage.record_cluster(story.id, cluster, score, neighbour and neighbour.story_id, shingles.sampled, now, note)


def nearest_story(storage: Storage, story: Story, shingles: Fingerprint, since: datetime) -> Neighbour | None:
    """The stored story most like this one, and whether this one is a copy of it."""
    boilerplate = frozenset(storage.boilerplate(shingles.sampled, since))
    if len(shingles.sampled - boilerplate) < MIN_SAMPLED:
        return None
    candidates = storage.cluster_candidates(shingles.sampled - boilerplate, since)
    stories = storage.stories_by_id(candidate for candidate, _, _ in candidates)
    best: Neighbour | None = None
    for candidate, cluster, _ in candidates:
        other = fingerprint(cluster_text(stories[candidate])) if candidate in stories else None
        if other is None:
            continue
        same_site = _site(story.url) == _site(stories[candidate].url)
        score, why_not = compare(shingles, other, boilerplate, same_site=same_site)
        neighbour = Neighbour(candidate, cluster, round(score, 3), not why_not, why_not)
        if best is None or (neighbour.joins, neighbour.containment) > (best.joins, best.containment):
            best = neighbour
    return best


def _site(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def cluster_text(story: Story) -> str:
    """What copies share: the summary and text (a re-titled copy keeps the body)."""
    return f"{story.summary}\n{story.text}"


def queue_matches(storage: Storage, matcher: Matcher, max_age_days: float, summary: RunSummary) -> None:
    """Match every unmatched story; only stories young enough get alerts queued.

    A copy in a cluster whose earlier story already alerted a watchlist is queued as an "also in"
    of that alert, unless it matched a rule the earlier alerts did not: then it alerts, saying it
    continues the earlier story.
    """
    now = now_utc()
    oldest = now - timedelta(days=max_age_days)
    for batch in batched(storage.unmatched_stories()):
        with storage.transaction():  # one commit per batch; each story's alerts and mark stay together
            for story, first_seen in batch:
                published = story.published_at or first_seen
                matches = matcher.match_story(story)
                if published < oldest:
                    summary.too_old += 1
                    matches = []
                cluster = storage.cluster_id(story.id)
                follows = _follows(storage, cluster, matches) if cluster and cluster != story.id else {}
                summary.matches += sum(follows.get(match.watchlist, ("alert",))[0] != "also_in" for match in matches)
                storage.record_matches(story, matches, now, follows)


def _follows(storage: Storage, cluster: str, matches: list[Match]) -> dict[str, tuple[str, str | None]]:
    follows: dict[str, tuple[str, str | None]] = {}
    for match in matches:
        earlier = storage.cluster_alerts(cluster, match.watchlist)
        fired_before = set().union(*(rules for _, rules in earlier))
        new_rules = {hit.rule for hit in match.rules} - fired_before
        parent = earlier[0][0] if earlier else None
        follows[match.watchlist] = ("continues", parent) if new_rules else ("also_in", parent)
    return follows
