"""One cron run: lock → crawl → store → cluster → match → outbox → deliver → summary.

Each step reads what the previous one committed to the database, not what it holds in memory, so
a run that crashed anywhere is finished by the next: unstored feeds are fetched again (their
validators were not updated), unmatched stories are matched, pending alerts are sent.

The crawl stores each source as it finishes, in the main thread; clustering, matching and
delivery run meanwhile in a thread of their own with a database connection of their own
(newsbot.pipeline.worker), so an alert never waits for a slow, unrelated source. The two connections take
turns writing (WAL, BEGIN IMMEDIATE, a busy timeout), and a third thread copies the log into the file
beside them (newsbot.storage.checkpoints).

Bounded (newsbot.pipeline.budget): the crawl stops at `fetch.run_budget_seconds`, and delivery stops
starting messages DELIVERY_ALLOWANCE_SECONDS later; what is left waits, pending, for the next run.
SIGTERM or SIGINT stops both at once: what was fetched is stored, alerts not yet sent stay
pending, the lock is released and RunInterrupted (exit 143 or 130) is raised, within 10 seconds.
A run that cannot stop itself in time is ended by newsbot.pipeline.watchdog.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from newsbot.alerts.deliver import Policy, deliver
from newsbot.alerts.outbox import MatchedAhead, queue_matches
from newsbot.alerts.sinks import Poster
from newsbot.child_process import helper_failures
from newsbot.clock import Clock
from newsbot.clustering.assign import assign_clusters
from newsbot.clustering.deciding import DecidingProcess
from newsbot.configuration.config import Config
from newsbot.errors import ConfigError, RunInterrupted, StorageError
from newsbot.matching.matcher import Matcher
from newsbot.models import AlertStatus, FetchResult, FetchStatus, RunSummary, SourceRequest
from newsbot.owned_folders import owned_folder
from newsbot.pipeline.budget import RunBudget, stop_on_signals
from newsbot.pipeline.health import record_health
from newsbot.pipeline.progress import Progress, RunProgress, no_progress
from newsbot.pipeline.quiet import QUIET_MEMORY, KnownProblems
from newsbot.pipeline.watchdog import Watchdog
from newsbot.pipeline.worker import StageWorker
from newsbot.sources.crawl import crawl
from newsbot.sources.crawl_log import crawler_warnings
from newsbot.sources.throttle import PACE_MEMORY
from newsbot.sources.user_spiders import spider_modules
from newsbot.storage.checkpoints import checkpointing, leave_checkpoints_to_the_run
from newsbot.storage.database import Storage
from newsbot.storage.database_errors import database_faults
from newsbot.storage.integrity import EarlyCheck
from newsbot.storage.locks import database_lock
from newsbot.storage.records import SourceState
from newsbot.storage.sources import StoredURLs
from newsbot.stories.normalize import to_story

log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for the other connection's transaction
LEFT_BEHIND_BUSY_TIMEOUT_MS = 2_000  # … but not for a stage the run had to leave behind
DELIVERY_ALLOWANCE_SECONDS = 120.0  # after the budget: 300 + 120 s stays well inside a 10-minute cron
INTERRUPT_GRACE_SECONDS = 5.0  # after a signal, how long a message being sent may take to settle
SETTLE_AFTER_DELIVERY_SECONDS = 30.0  # after the delivery allowance, for the message in flight
# The watchdog ends a run this long after its budget and delivery allowance: 300 + 120 + 60 s is
# still under a 10-minute cron interval, and a run that ends on its own never gets near it.
OVERRUN_SECONDS = 60.0
DRY_RUN_PREFIX = "newsbot-dry-run-"  # the folder of a dry run's copy, in the temporary folder


def run_lock(database: Path) -> contextlib.AbstractContextManager[None]:
    return database_lock(
        database, ".lock", "run lock", "another newsbot run is in progress (it holds {path}); this run did nothing"
    )


def run(
    config: Config, poster: Poster, policy: Policy, progress: Progress = no_progress, early: EarlyCheck | None = None
) -> RunSummary:
    """The whole pipeline under the run lock; per-source and per-alert failures are in the summary.
    `early`: the database's check, begun while this module loaded.

    Raises RunInterrupted when SIGTERM or SIGINT stopped it (the lock is released by then).
    """
    budget = RunBudget(config.settings.fetch.run_budget_seconds, policy.clock)
    with stop_on_signals(budget), _watchdog(budget), run_lock(config.database):
        storage = Storage.open(config.database, early=early)
        try:
            _refuse_a_second_config(config, storage)  # a dry run's copy may be tried with any config
            return run_pipeline(config, config.database, storage, poster, policy, budget, progress)
        finally:
            storage.close()


def dry_run(
    config: Config, poster: Poster, policy: Policy, progress: Progress = no_progress, early: EarlyCheck | None = None
) -> RunSummary:
    """The same pipeline against a throwaway copy of the database: nothing real is changed."""
    budget = RunBudget(config.settings.fetch.run_budget_seconds, policy.clock)
    # Owned by a lock, so that the copy a SIGKILL leaves (the whole database) goes at the next dry run.
    with stop_on_signals(budget), _watchdog(budget), owned_folder(DRY_RUN_PREFIX) as folder:
        copy = folder / "dry-run.db"
        if config.database.exists():
            # a damaged file is named as itself, not the copy
            Storage.open(config.database, migrate=False, early=early).close()
        with _faults_of_the_copy(copy):
            if config.database.exists():
                with (
                    contextlib.closing(sqlite3.connect(config.database)) as source,
                    contextlib.closing(sqlite3.connect(copy)) as target,
                ):
                    source.backup(target)
            storage = Storage.open(copy, checked=config.database.exists())  # the real file was checked above
            try:
                return run_pipeline(config, copy, storage, poster, policy, budget, progress)
            finally:
                storage.close()


@contextlib.contextmanager
def _faults_of_the_copy(copy: Path) -> Iterator[None]:
    """A dry run's database faults are its copy's, in a temporary folder: a full TMPDIR was reported as
    "the disk holding the database … is full", naming the real database, whose disk had room."""
    try:
        with database_faults(copy):
            yield
    except StorageError as error:
        raise StorageError(
            f"{error} (the dry run's throwaway copy of the database: TMPDIR sets where it goes)"
        ) from None


def _watchdog(budget: RunBudget) -> contextlib.AbstractContextManager[None]:
    return Watchdog(budget, allowance=DELIVERY_ALLOWANCE_SECONDS, overrun=OVERRUN_SECONDS).watching()


def run_pipeline(
    config: Config,
    database: Path,
    storage: Storage,
    poster: Poster,
    policy: Policy,
    budget: RunBudget | None = None,
    progress: Progress = no_progress,
) -> RunSummary:
    """Crawl and store in this thread while a StageWorker clusters, matches and delivers; `database`
    is the file `storage` has open (the worker opens its own connection to it). `progress` hears
    the summary so far after each stored source and each pass of the worker."""
    clock = policy.clock
    budget = budget or RunBudget(config.settings.fetch.run_budget_seconds, clock)
    started = clock.now()
    began = clock.monotonic()
    summary = RunSummary(config=config_name(config))
    stages = summary.stage_seconds = dict.fromkeys(("fetch", "parse", "store", "cluster", "match", "deliver"), 0.0)
    _storing_connection(storage)

    def report_progress() -> None:
        progress(RunProgress.of(summary, len(config.settings.sources)))

    later = _LaterStages(config, database, poster, policy, budget, summary, report_progress)
    worker = StageWorker(later.run_pass, later.close)

    def store(result: FetchResult) -> None:
        store_started = clock.monotonic()
        store_fetch(storage, result, summary, clock.now())
        stages["store"] += clock.monotonic() - store_started
        stages["parse"] += result.parse_seconds
        report_progress()
        worker.wake()

    known_problems = KnownProblems.from_summaries(storage.run_summaries_since(started - QUIET_MEMORY))
    paces = storage.remembered_paces(since=started - PACE_MEMORY)  # each host starts at the pace it ended with
    worker.start()
    report_progress()
    with (
        checkpointing(database),  # beside the crawl's and the stage thread's commits, not in them
        helper_failures() as helpers,
    ):
        try:
            requests = _source_requests(config, storage, clock.now())
            with crawler_warnings() as crawler_log:
                crawled = crawl(
                    requests,
                    config.settings.fetch,
                    store,
                    storage.is_known,
                    budget,
                    spider_modules(config.spiders_dir),
                    paces,
                    known_there=StoredURLs(database),
                )
            summary.skipped_hosts = crawled.skipped_hosts
            summary.crawler_warnings = crawler_log.warnings()
        except BaseException:
            later.abandoned = True  # the run is failing: no pass starts now
            worker.finish()
            worker.join(INTERRUPT_GRACE_SECONDS)
            raise
        stages["fetch"] = clock.monotonic() - began - stages["store"] - stages["parse"]
        worker.finish()
        if not _wait_for(worker, budget, later.delivery_deadline):
            # It may be inside a transaction that will not end soon: the run's record must not wait
            # for it long (the watchdog would end the process first), and is left out if it must.
            storage.db.execute(f"PRAGMA busy_timeout = {LEFT_BEHIND_BUSY_TIMEOUT_MS}")
            later.abandoned = True
    summary.helper_failures = helpers.lines
    if worker.problem is not None:
        raise worker.problem
    if budget.signal_number is not None or later.delivery_over():  # alerts may wait: status says why
        summary.stopped = budget.stopped
    summary.delivery_errors = list(dict.fromkeys(summary.delivery_errors))  # each pass reports a failure again
    summary.worse = known_problems.new_in(summary) + summary.worse  # the health changes came from the worker
    _record_run(storage, started, summary, clock, began, crawled.paces)
    if budget.signal_number is not None:
        raise RunInterrupted(budget.signal_number, _interrupted(budget, summary, storage.unmatched_count()))
    return summary


def _refuse_a_second_config(config: Config, storage: Storage) -> None:
    """One database, one config. A story is matched once, against the watchlists of the run that
    stored it: two configs sharing a file each missed, for good and in silence, what the other's
    run stored first. A config that moved (the last one's file is gone) takes the database over.
    Paths are compared as given, links not followed: `/opt/newsbot/current/newsbot.yaml`, its link
    moved to a new release, is the same config; so is another name of the same file."""
    last = storage.last_config()
    here = config_name(config)
    if not last or last == here:
        return
    try:
        if not os.path.exists(last) or os.path.samefile(last, here):
            return
    except OSError:  # the other config's folder unreadable to this user: nothing to tell by
        return
    raise ConfigError(
        f"{config.path}: its database {config.database} is {last}'s (its last run read that config): "
        "a story is matched once, against the watchlists of the run that stored it, so two configs "
        "sharing a database each miss the other's alerts. Give this config a `database:` of its own; "
        f"or, if it replaces {last}, remove or rename that file and run again"
    )


def config_name(config: Config) -> str:
    """The config file as the command line named it, made absolute, links not followed."""
    return str(config.named or config.path)


def _storing_connection(storage: Storage) -> None:
    """This connection stores what was fetched: a source's stories with its new validators, each source
    one commit. Without an fsync each (WAL, synchronous NORMAL: a commit is durable once the next
    checkpoint or FULL commit syncs), a power cut may lose the last sources stored, and the next run
    fetches them again; a crash of the process loses nothing. Alerts and their state are written by the
    stage worker's connection, which keeps SQLite's FULL: a sent alert is never forgotten. Neither
    checkpoints in its commits: a thread beside them does (newsbot.storage.checkpoints)."""
    _writing_connection(storage)
    storage.db.execute("PRAGMA synchronous = NORMAL")


def _writing_connection(storage: Storage) -> None:
    """Either of the run's two writers: it waits its turn to write, and leaves checkpoints to the run."""
    storage.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    leave_checkpoints_to_the_run(storage.db)


class _LaterStages:
    """Health, clusters, matches and delivery over what is stored: one StageWorker pass at a time,
    on a database connection opened (and closed) in the worker's thread."""

    def __init__(
        self,
        config: Config,
        database: Path,
        poster: Poster,
        policy: Policy,
        budget: RunBudget,
        summary: RunSummary,
        report_progress: Callable[[], None],
    ):
        self.config, self.database, self.poster, self.policy = config, database, poster, policy
        self.budget, self.summary, self.report_progress = budget, summary, report_progress
        self.clock = policy.clock
        self.matcher = Matcher(config.watchlists)
        self.delivery_deadline = budget.deadline + DELIVERY_ALLOWANCE_SECONDS
        self.abandoned = False
        self._storage: Storage | None = None
        self._pruned = False  # the cluster window's old index rows: dropped in the run's first pass
        # Matches found while the second process clusters their batch, for queue_matches to take.
        self._ahead = MatchedAhead(
            self.matcher,
            self._open,
            now=self.clock.now,
            max_age_days=config.settings.max_age_days,
            summary=summary,
            should_stop=self.delivery_over,
        )
        self._deciding = DecidingProcess(database, meanwhile=self._ahead.while_deciding)  # on the second core

    def interrupted(self) -> bool:
        return self.abandoned or self.budget.signal_number is not None

    def delivery_over(self) -> bool:
        """No new message starts: the run was interrupted, or its delivery allowance is spent."""
        return self.interrupted() or self.clock.monotonic() > self.delivery_deadline

    def run_pass(self, final: bool) -> None:
        if self.interrupted():
            return
        storage = self._open()
        stages = self.summary.stage_seconds
        if final:  # every source of the run is stored: their health can be judged
            self.summary.worse += record_health(self.config, storage, self.clock.now())
        started = self.clock.monotonic()
        window = timedelta(days=self.config.settings.cluster_window_days)
        assign_clusters(
            storage,
            self.clock.now(),
            window,
            should_stop=self.delivery_over,
            decide=self._deciding,
            prune=not self._pruned,
        )
        self._pruned = True
        stages["cluster"] += self.clock.monotonic() - started
        started = self.clock.monotonic()
        max_age_days = self.config.settings.max_age_days
        queue_matches(
            storage, self.matcher, max_age_days, self.summary, self.clock.now(), self.delivery_over, self._ahead
        )
        stages["match"] += self.clock.monotonic() - started
        self.report_progress()
        started = self.clock.monotonic()
        report = deliver(storage, self.poster, self.policy, should_stop=self.delivery_over)
        stages["deliver"] += self.clock.monotonic() - started
        self.summary.alerts_sent += report.sent
        self.summary.delivery_errors += report.errors
        self.report_progress()
        for error in report.errors:
            log.info("delivery failed, the alerts are kept for the next run: %s", error)

    def _open(self) -> Storage:
        """A second connection to the file the run has open, checked and migrated already: opened
        without Storage.open's checks, which read every page (seconds, on a large database)."""
        if self._storage is None:
            # mode=rw: the run's file or none; opened by its path, a file moved away since the run
            # opened it was made again, empty, and the run's stories split between the two.
            uri = f"{self.database.absolute().as_uri()}?mode=rw"
            try:
                self._storage = Storage(Database(sqlite3.connect(uri, uri=True)))
            except sqlite3.OperationalError:
                if self.database.exists():
                    raise  # a fault of the file itself, told as such (newsbot.storage.database_errors)
                raise StorageError(
                    f"the database {self.database} was moved or removed while the run had it open; nothing "
                    "was written in its place (what the run stored is in the file where it went): put it "
                    "back before the next run, or that run starts a new database and alerts again"
                ) from None
            _writing_connection(self._storage)
        return self._storage

    def close(self) -> None:
        self._deciding.close()
        if self._storage is not None:
            self._storage.close()


def _wait_for(worker: StageWorker, budget: RunBudget, delivery_deadline: float) -> bool:
    """Whether the worker's last pass ended. After a signal, it is waited for only as long as a
    message takes to settle, and past the delivery allowance only as long as one message may take:
    a message still being sent is in flight in the database, and the next run looks it up."""
    while not worker.join(0.1):
        now = budget.clock.monotonic()
        if budget.interrupted_at is not None and now > budget.interrupted_at + INTERRUPT_GRACE_SECONDS:
            return False
        if now > delivery_deadline + SETTLE_AFTER_DELIVERY_SECONDS:
            log.warning("the run's last stage was still busy after its delivery allowance; it was left behind")
            return False
    return True


def _record_run(
    storage: Storage, started: datetime, summary: RunSummary, clock: Clock, began: float, paces: dict[str, float]
) -> None:
    """The run's record, for `status` and `--quiet`, and the hosts' paces the next run starts from;
    when a stage left behind holds the database, the run ends without them rather than waiting
    (nothing else depends on them: the next run starts from the older paces)."""
    try:
        summary.alerts_pending = storage.alert_counts()[AlertStatus.PENDING]
        summary.stories_waiting = storage.unmatched_count()
        summary.seconds = clock.monotonic() - began
        finished = clock.now()
        with storage.transaction():
            storage.record_run(started, finished, summary)
            storage.remember_paces(paces, finished, forget_before=finished - PACE_MEMORY)
    except sqlite3.OperationalError as problem:
        if "locked" not in str(problem):
            raise
        log.warning("the run's summary was not recorded: %s", problem)


def _interrupted(budget: RunBudget, summary: RunSummary, unmatched: int) -> str:
    """The one sentence an interrupted run ends with."""
    name = signal.Signals(budget.signal_number or signal.SIGTERM).name
    cut_short = len(summary.cut_short)
    cut = f" ({cut_short} source{'s' * (cut_short != 1)} cut short: the next run fetches them)" if cut_short else ""
    waits = "story waits" if unmatched == 1 else "stories wait"
    to_match = f", and {unmatched} {waits} to be matched" if unmatched else ""
    return (
        f"stopped by {name}: no new work was started; {summary.new_stories} new stories are stored{cut}; "
        f"{summary.alerts_sent} alerts were sent, {summary.alerts_pending} wait for the next run{to_match}"
    )


def _source_requests(config: Config, storage: Storage, now: datetime) -> list[SourceRequest]:
    """What to fetch, with what the last run learned — forgotten when the source's URL changed, or
    how it is read (a selector corrected after "selector matched 0 links": its page, unchanged,
    answered 304 and gave nothing, run after run)."""
    known = storage.fetch_state(source.name for source in config.settings.sources)
    requests = []
    for source in config.settings.sources:
        location = source.location or ""
        state = known.get(source.name)
        if state is None or state.url != location:
            state = SourceState(source.name)
        request = SourceRequest(
            source=source.name,
            kind=source.kind,
            url=location,
            internal=source.internal,
            full_text=source.full_text,
            etag=state.etag,
            last_modified=state.last_modified,
            body_hash=state.body_hash,
            feed_url=state.feed_url,
            links_css=source.links,
            links_xpath=source.links_xpath,
            next_page_css=source.next_page,
            follow_pages=source.follow_pages,
            title_css=source.title,
            date_css=source.date,
            max_items=source.max_items,
            max_articles=source.max_articles or config.settings.fetch.max_articles,
            oldest=now - timedelta(days=config.settings.max_age_days),
            spider=source.spider,
            spider_args=tuple(source.spider_args.items()),
        )
        remembered = state.body_hash or state.etag or state.last_modified  # a row of before m003: no hash
        if remembered and not request.reads_as_when(state.body_hash):
            # and the feed a `site:` was found to have: a source made a `url:` showed it for good
            request = replace(request, etag=None, last_modified=None, body_hash=None, feed_url=None)
        requests.append(request)
    return requests


def store_fetch(storage: Storage, result: FetchResult, summary: RunSummary, now: datetime) -> None:
    if result.cut_short:
        summary.cut_short[result.source] = result.cut_short
    elif result.status is FetchStatus.ERROR:
        summary.failed_sources[result.source] = result.error or "unknown error"
        log.info("source %r failed: %s", result.source, result.error)  # in the summary; -v shows it as it happens
    elif result.status is FetchStatus.NOT_MODIFIED:
        summary.sources_not_modified += 1
    else:
        summary.sources_ok += 1
    if result.links_found == 0 and result.status is FetchStatus.OK:
        summary.source_warnings[result.source] = "selector matched 0 links"
    elif result.problems or result.article_errors:
        parts = []
        if result.problems:
            count = len(result.problems)
            parts.append(f"{count} {'problem' if count == 1 else 'problems'}: {result.problems[0]}")
        if result.article_errors:
            parts.append(f"{len(result.article_errors)} articles kept their teaser: {result.article_errors[0]}")
        summary.source_warnings[result.source] = "; ".join(parts)
    stories = [story for entry in result.entries if (story := to_story(entry, result.source, now))]
    unaddressed = len(result.entries) - len(stories)  # to_story drops an entry with no http(s) link
    if unaddressed and result.source not in summary.source_warnings:
        items = "1 item" if unaddressed == 1 else f"{unaddressed} items"
        summary.source_warnings[result.source] = (
            f"{items} without an http(s) link (an opaque guid, or none): not stored"
        )
    summary.entries_seen += len(result.entries)
    summary.new_stories += storage.record_fetch(result, stories, now)
