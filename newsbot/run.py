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
from datetime import timedelta
from pathlib import Path

from filelock import FileLock, Timeout

from alerts.deliver import Policy, deliver
from alerts.sinks import Poster
from newsbot.config import Config
from newsbot.crawl import crawl_feeds
from newsbot.errors import LockedError
from newsbot.matching import Matcher
from newsbot.models import FeedRequest, FetchResult, FetchStatus, RunSummary
from newsbot.normalize import to_story
from newsbot.storage import Storage, now_utc

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
    results = crawl_feeds(_feed_requests(config, storage), config.settings.fetch)
    for result in results:
        store_fetch(storage, result, summary)
    queue_matches(storage, Matcher(config.watchlists), config.settings.max_age_days, summary)
    report = deliver(storage, poster, policy)
    summary.alerts_sent = report.sent
    summary.delivery_errors = report.errors
    for error in report.errors:
        log.warning("delivery failed, the alerts are kept for the next run: %s", error)
    summary.alerts_pending = storage.alert_counts()["pending"]
    summary.seconds = time.monotonic() - clock
    storage.record_run(started, now_utc(), summary)
    return summary


def _feed_requests(config: Config, storage: Storage) -> list[FeedRequest]:
    known = storage.validators(source.name for source in config.settings.sources)
    requests = []
    for source in config.settings.sources:
        url, etag, last_modified = known.get(source.name, (None, None, None))
        if url != source.feed:  # a changed feed URL starts without validators
            etag = last_modified = None
        requests.append(FeedRequest(source.name, source.feed, etag, last_modified))
    return requests


def store_fetch(storage: Storage, result: FetchResult, summary: RunSummary) -> None:
    if result.status is FetchStatus.ERROR:
        summary.failed_sources[result.source] = result.error or "unknown error"
        log.warning("source %r failed: %s", result.source, result.error)
    elif result.status is FetchStatus.NOT_MODIFIED:
        summary.sources_not_modified += 1
    else:
        summary.sources_ok += 1
    stories = [story for entry in result.entries if (story := to_story(entry, result.source))]
    summary.entries_seen += len(result.entries)
    summary.new_stories += storage.record_fetch(result, stories, now_utc())


def queue_matches(storage: Storage, matcher: Matcher, max_age_days: float, summary: RunSummary) -> None:
    """Match every unmatched story; only stories young enough get alerts queued."""
    now = now_utc()
    oldest = now - timedelta(days=max_age_days)
    for story, first_seen in storage.unmatched_stories():
        published = story.published_at or first_seen
        matches = matcher.match_story(story)
        if published < oldest:
            summary.too_old += 1
            matches = []
        summary.matches += len(matches)
        storage.record_matches(story, matches, now)
