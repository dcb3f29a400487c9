"""A whole `newsbot run`, cold and warm, over 1,000 local feeds, beside lemon24/reader: feeds/s, CPU, memory, stages.

    python benchmarks/crawl.py [--quick] [--big-db N] [--profile]

The site (benchmarks/feedsite.py): 1,000 synthetic feeds of 20 items each, sized like the feeds of
../shared/corpus (3.5 KB an item with its content, RSS and Atom about 3 to 2; 3% of the items are
re-titled copies of another feed's story, as syndicated news is), of which one in a hundred is a
teaser feed (short descriptions, no content) whose items link to the 200 article pages (40-85 KB of
news-site HTML), so `full_text: auto` fetches and extracts them. It is served over real
HTTP from 50 loopback addresses (127.0.0.2-51, one per "site", so Scrapy's per-domain slots and
robots.txt behave as with 50 publishers) by an asyncio server in a child process: gzip, ETag and
Last-Modified, 304 to a matching conditional GET, robots.txt 404.

newsbot runs as cron runs it, `python -m newsbot run --config …` in a subprocess (a fresh reactor
each run), with the telecom-threats watchlist (a few stories carry a sentence that alerts) and alerts
to the terminal (stdout to a file). Its fetch settings are newsbot's defaults (AutoThrottle from a 1 s
start delay, 2 requests at a time per host, robots.txt obeyed), except two, printed with the results:
concurrent_requests is raised to 64 (default 16) for the 50 hosts, and allowed_networks lets it reach
the loopback "publishers".
- cold: an empty database; every feed is new. Three cold runs each of newsbot and reader, in pairs,
  which goes first alternating (one pair with --quick): single runs gave 1.69× and 2.02× in two
  sittings minutes apart on this machine, so the pair whose ratio is the median (the lower middle
  one for an even count) feeds every table and target, and every pair is printed beside it. The
  warm phase runs on that pair's databases.
- warm: the same database a run later: 95% of the feeds answer 304, the rest have 1-2 new items.
- one host: 200 feeds on a single loopback host (a feed service, or Google News queries) with every
  fetch setting at newsbot's default, cold and then warm, when every feed answers 304.
- database size: a cold run of 100 more feeds against an empty database and against one holding
  1,000,000 stored stories (20,000 with --quick), seeded here by SQL into newsbot's own schema.
Wall time is end to end (interpreter start included); peak memory is the run's maximum resident
set as /usr/bin/time reports it (not os.wait4's: Linux carries a forked child's maximum across exec,
so a run forked from this process, which holds the site, would count this process's memory too),
or, when larger, the largest sum of the resident sets of the run and its child processes (newsbot's
reading and clustering processes), sampled every 0.1 s;
the stage shares are the run's own `stage_seconds` (table `runs`, its summary), whatever stages
newsbot records (fetch, parse, store, cluster, match, deliver when this was written).

The peer, measured in the same run over the same feeds: lemon24/reader (pinned in requirements.txt),
which fetches, parses and stores feeds into SQLite, run by benchmarks/reader_update.py in a child
process as a user's cron job would run it (`add_feed`, then `update_feeds(scheduled=False)`, with as
many download workers as newsbot's concurrent_requests), cold beside each of newsbot's cold runs and warm
after newsbot's warm run, on a database of its own. newsbot ÷ reader is printed for feeds/s (above 1:
newsbot is faster) and CPU seconds a feed (below 1: newsbot uses less). reader does less: no
robots.txt, no per-host pacing, no article pages, clustering or matching. CPU seconds are each child's
own (os.wait4: it and what it waited for), so they count the same work for both.

Baselines, measured in this run: the raw fetch of the same URLs by a plain client (urllib in a
ThreadPool of 64, gzip decoded), cold and conditional, i.e. the network floor; and a `newsbot run`
of a single feed, i.e. the fixed cost of a run; and one small SQLite commit on this disk. Then
PASS/FAIL against the issue's targets. About 5 minutes on 2 cores, a minute and a half of them
seeding the 1,000,000 stories; --quick about a minute. --profile adds a cold run under cProfile
(its top functions). Other processes on the machine inflate wall times: the load average is
printed, and CPU seconds too.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import importlib.metadata
import json
import os
import platform
import pstats
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from feedsite import ITEMS_PER_FEED, PLANTED, Feed, Site, Stats, Writer  # noqa: E402

from newsbot.configuration.fetch_config import FetchSettings  # noqa: E402
from newsbot.storage.database import Storage  # noqa: E402

WATCHLIST = REPOSITORY / "examples" / "watchlists" / "telecom-threats.yaml"
READER_UPDATE = REPOSITORY / "benchmarks" / "reader_update.py"
PYTHON = sys.executable
TIME = Path("/usr/bin/time")
BIG_FEEDS = 100  # feeds of one database-size comparison
RUN_LIMIT_SECONDS = 900  # a run that takes longer is killed (something is wrong)


@dataclass(frozen=True)
class Settings:
    feeds: int
    articles: int
    big_db: int
    big_repeats: int  # database-size comparisons, each on 100 feeds of its own
    cold_repeats: int  # cold runs of newsbot and of reader, in pairs: the median pair is reported
    hosts: int = 50
    concurrent_requests: int = 64  # raised from newsbot's default (16) for the 50 hosts; reader's workers too
    one_host_feeds: int = 200


FULL = Settings(feeds=1_000, articles=200, big_db=1_000_000, big_repeats=3, cold_repeats=3)
QUICK = Settings(feeds=100, articles=20, big_db=20_000, big_repeats=2, cold_repeats=1)

# The targets.
COLD_FEEDS_PER_SECOND = 100
WARM_SHARE = 0.10
PEAK_MB = 300
BIG_DB_RATIO = 1.25  # this benchmark's reading of "grows with new items, not with the database"
READER_COLD_RATIO = 2.0  # newsbot's feeds/s ÷ reader's, cold
READER_WARM_RATIO = 1.5  # the same, warm
ONE_HOST_WARM_SECONDS = 15.0  # 200 unchanged feeds on one host, default settings

CRAWL_THREAD = ("fetch", "parse", "store")  # the stages of the crawl's own thread: together, the crawl
STAGES = {  # what each of newsbot's stage_seconds covers (newsbot/pipeline/run.py)
    "fetch": "the crawl's time not spent in parse or store (Scrapy, the network, waiting)",
    "parse": "feed parsing and article extraction (trafilatura), inside the crawl",
    "store": "to_story and the database writes, per source, inside the crawl",
    "cluster": "finding which stored story each new one is a copy of",
    "match": "building the matcher, matching the new stories and queueing their alerts",
    "deliver": "the outbox (alerts printed to the terminal here)",
}


# ---------------------------------------------------------------------------------------------
# Running newsbot and reader
# ---------------------------------------------------------------------------------------------


@dataclass
class Child:
    """What a measured child process cost, and what it printed."""

    wall: float
    cpu: float
    peak_mb: float
    stdout: str


def run_child(command: list[str], folder: Path, name: str) -> Child:
    """Run `command` in `folder`: wall time, CPU seconds (os.wait4) and peak RSS of that process alone.

    The child is started through /usr/bin/time, which is forked from this small process, so the
    maximum RSS it reports is the child's own; CPU seconds from os.wait4 count /usr/bin/time and
    what it waited for, i.e. the child.
    """
    peak_file = folder / f"{name}.maxrss"
    if TIME.exists():
        command = [str(TIME), "-f", "%M", "-o", str(peak_file), *command]
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    environment = {key: value for key, value in environment.items() if not key.startswith("SLACK_")}
    stdout, stderr = folder / f"{name}.stdout", folder / f"{name}.stderr"
    with stdout.open("wb") as output, stderr.open("wb") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=folder, env=environment, stdout=output, stderr=errors)
        watchdog = threading.Timer(RUN_LIMIT_SECONDS, os.kill, (process.pid, signal.SIGKILL))
        watchdog.start()
        tree = TreeMemory(process.pid)
        tree.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        watchdog.cancel()
        tree.stop()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{name} exited with {code}:\n{stderr.read_text()[-3000:]}")
    peak_kb = int(peak_file.read_text().split()[-1]) if TIME.exists() else usage.ru_maxrss
    peak_kb = max(peak_kb, tree.peak_kb)
    return Child(wall, usage.ru_utime + usage.ru_stime, peak_kb / 1024, stdout.read_text(encoding="utf-8"))


class TreeMemory:
    """The largest sum of resident sets of a process and its descendants, sampled in a thread: a run
    that reads and clusters in child processes uses their memory too."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_kb = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stopped.wait(0.1):
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(pid) for pid in _descendants(self.pid)))


def _descendants(pid: int) -> list[int]:
    """The process and every process below it, from /proc (each of its threads may have started some)."""
    found, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                waiting += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def _rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((line for line in status.splitlines() if line.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1])


def served_during(site: Site, before: Stats) -> Stats:
    after = site.stats()
    return Stats(**{key: value - getattr(before, key) for key, value in after.__dict__.items()})


@dataclass
class Run:
    name: str
    feeds: int
    wall: float
    cpu: float
    peak_mb: float
    summary: dict
    server: Stats

    @property
    def seconds(self) -> float:
        return self.summary["seconds"]

    @property
    def stages(self) -> dict[str, float]:
        return self.summary["stage_seconds"]


class Workspace:
    """A folder with newsbot.yaml, the watchlist and the database, like /etc/newsbot on a server.

    Every fetch setting is newsbot's default but `allowed_networks` (the "publishers" are loopback
    addresses) and, when given, `concurrent_requests`.
    """

    def __init__(
        self,
        folder: Path,
        feeds: Sequence[Feed],
        concurrent_requests: int | None = None,
        database: Path | None = None,
    ):
        self.folder = folder
        self.feeds = len(feeds)
        self.database = database or folder / "newsbot.db"
        self.config = folder / "newsbot.yaml"
        (folder / "watchlists").mkdir(parents=True)
        shutil.copy(WATCHLIST, folder / "watchlists")
        self.fetch: dict[str, object] = {"allowed_networks": ["127.0.0.0/8"]}
        if concurrent_requests is not None:
            self.fetch["concurrent_requests"] = concurrent_requests
        config = {
            "database": str(self.database),
            "watchlists": "watchlists/",
            "max_age_days": 7,
            "sources": [{"name": f"Newsroom {feed.number:04d}", "feed": feed.url} for feed in feeds],
            "fetch": self.fetch,
        }
        self.config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")

    def run(self, name: str, site: Site, *, profile: Path | None = None) -> Run:
        """`newsbot run` in a subprocess, measured by run_child; its summary from the database."""
        before = site.stats()
        command = [PYTHON, "-m", "newsbot", "run", "--config", str(self.config)]
        if profile is not None:
            command = [PYTHON, "-m", "cProfile", "-o", str(profile), *command[1:]]
        child = run_child(command, self.folder, name)
        served = served_during(site, before)
        with contextlib.closing(sqlite3.connect(self.database)) as db:
            summary = json.loads(db.execute("SELECT summary FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])
        if summary["failed_sources"]:
            first = next(iter(summary["failed_sources"].items()))
            print(f"warning: {name}: {len(summary['failed_sources'])} sources failed, e.g. {first[0]}: {first[1]}")
        return Run(name, self.feeds, child.wall, child.cpu, child.peak_mb, summary, served)


@dataclass
class PeerRun:
    name: str
    feeds: int
    wall: float
    cpu: float
    peak_mb: float
    entries: int  # stored in reader's database after the run
    server: Stats


class Peer:
    """lemon24/reader over the same feeds, with a database of its own (benchmarks/reader_update.py)."""

    def __init__(self, folder: Path, feeds: Sequence[Feed], workers: int):
        self.folder = folder
        self.feeds = len(feeds)
        self.workers = workers
        folder.mkdir(parents=True)
        self.urls = folder / "feeds.txt"
        self.urls.write_text("".join(f"{feed.url}\n" for feed in feeds), encoding="utf-8")

    def run(self, name: str, site: Site) -> PeerRun:
        before = site.stats()
        command = [PYTHON, str(READER_UPDATE), str(self.folder / "reader.db"), str(self.urls), str(self.workers)]
        child = run_child(command, self.folder, name)
        served = served_during(site, before)
        summary = json.loads(child.stdout)
        if summary["broken"]:
            print(f"warning: {name}: reader could not update {summary['broken']} feeds")
        return PeerRun(name, self.feeds, child.wall, child.cpu, child.peak_mb, summary["entries"], served)


# ---------------------------------------------------------------------------------------------
# Baseline: a plain concurrent client
# ---------------------------------------------------------------------------------------------


@dataclass
class Fetched:
    seconds: float
    requests: int
    not_modified: int
    megabytes: float  # decoded


def raw_fetch(urls: Sequence[str], etags: dict[str, str] | None = None, workers: int = 64) -> Fetched:
    """GET every URL (gzip accepted and decoded) with urllib in a thread pool; conditional with `etags`."""

    def get(url: str) -> tuple[int, int]:
        headers = {"Accept-Encoding": "gzip"}
        if etags and url in etags:
            headers["If-None-Match"] = etags[url]
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
                body = response.read()
                if response.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                return 200, len(body)
        except urllib.error.HTTPError as error:
            return error.code, 0

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(get, urls))
    seconds = time.perf_counter() - started
    return Fetched(seconds, len(urls), sum(code == 304 for code, _ in results), sum(n for _, n in results) / 1e6)


def commit_milliseconds(database: Path, commits: int = 200) -> float:
    """One small write transaction on this disk, as newsbot commits: WAL, SQLite's default synchronous (FULL)."""
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode = wal")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, value TEXT)")
        started = time.perf_counter()
        for n in range(commits):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t (value) VALUES (?)", [f"row {n}"])
            db.execute("COMMIT")
        return (time.perf_counter() - started) / commits * 1000


# ---------------------------------------------------------------------------------------------
# A large database
# ---------------------------------------------------------------------------------------------


@dataclass
class Seeded:
    stories: int
    seconds: float  # rows in, and into the full-text index as newsbot writes it
    flush_seconds: float  # fsync of the file, so its write-back does not slow the runs measured next
    megabytes: float


SEED_BATCH = 10_000  # stories per seeding transaction


def seed(database: Path, stories: int) -> Seeded:
    """`stories` stored, matched stories (years of a busy deployment) in newsbot's own schema.

    Rows go in by plain SQL, 10,000 stories a transaction, each transaction's stories added to the
    full-text index as newsbot adds them (since migration m012 a pass adds the stories it clusters,
    before it by a trigger on each insert), so the index has the structure of one newsbot built
    (segments part-way through FTS5's incremental merges). Building it in one go at the end
    ('rebuild') is twice as fast but leaves another structure, on which later writes were measured
    cheaper; after an 'optimize' (one segment) cheaper still: how the index was built changes what a
    run costs.
    Sizes follow a stored full-text story: a 60-90 character title, a 150-350 character summary and
    1.5-3 KB of text; story_sources rows, 1,000 sources and one sent alert per 1,000 stories too.
    Every story is settled, as a run leaves it: matched, and its own cluster where the schema has
    clusters (older than the clustering window, so none is in the shingle index).
    """
    started = time.perf_counter()
    Storage.open(database).close()  # newsbot's own migrations create the schema
    writer = Writer(random.Random(7))
    titles = [writer.title() for _ in range(2_000)]
    summaries = [writer.text(random.Random(n).randint(150, 350)) for n in range(2_000)]
    texts = [writer.text(random.Random(n).randint(1_500, 3_000)) for n in range(2_000)]
    oldest = datetime(2023, 1, 1, tzinfo=UTC)
    step = (datetime.now(UTC) - timedelta(days=30) - oldest) / max(stories, 1)

    def rows(first: int, last: int) -> Iterator[tuple[str, ...]]:
        for n in range(first, last):
            when = (oldest + step * n).isoformat(timespec="seconds")
            url = f"https://news{n % 997}.example.net/{when[:7].replace('-', '/')}/story-{n}.html"
            story = hashlib.sha256(url.encode()).hexdigest()[:20]
            yield (story, url, f"{titles[n % 2000]} {n}", summaries[n * 7 % 2000], texts[(n * 13 + n // 2000) % 2000],
                   f"Archive {n % 1000:04d}", when, when, when)  # fmt: skip

    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(stories)")]
        # A stored story is settled: matched, and (when newsbot clusters) a cluster of its own.
        settled = ["cluster_id"] if "cluster_id" in columns else []
        insert = (
            "INSERT INTO stories (id, url, title, summary, text, source, published_at, first_seen_at, matched_at"
            + "".join(f", {column}" for column in settled)
            + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?"
            + ", ?" * len(settled)
            + ")"
        )
        db.execute("PRAGMA journal_mode = OFF")  # a benchmark's scratch file: no rollback journal while seeding
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -1000000")
        indexed_on_insert = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'stories_ai'").fetchone()
        for first in range(0, stories, SEED_BATCH):
            db.execute("BEGIN")
            batch = rows(first, min(first + SEED_BATCH, stories))
            db.executemany(insert, ((*row, *(row[0] for _ in settled)) for row in batch))
            if not indexed_on_insert:
                db.execute(
                    "INSERT INTO stories_fts (rowid, title, summary, text) "
                    "SELECT rowid, title, summary, text FROM stories WHERE rowid > ?",
                    [first],
                )
            db.execute("COMMIT")
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO story_sources (story_id, source, seen_at) SELECT id, source, first_seen_at FROM stories"
        )
        db.executemany(
            "INSERT INTO sources (name, url, last_fetch_at, last_status, consecutive_failures, health) "
            "VALUES (?, ?, ?, 'not_modified', 0, 'ok')",
            [(f"Archive {n:04d}", f"https://news{n}.example.net/feed.xml", oldest.isoformat()) for n in range(1000)],
        )
        db.execute(
            "INSERT INTO alerts (id, story_id, watchlist, severity, match, status, attempts, created_at, sent_at) "
            "SELECT substr(id, 1, 20), id, 'Telecom threats', 'high', '{\"rules\": [], \"snippet\": [], "
            '"snippet_field": "title"}\', \'sent\', 1, first_seen_at, first_seen_at '
            "FROM stories WHERE rowid % 1000 = 0"
        )
        db.execute("COMMIT")
        db.execute("PRAGMA journal_mode = wal")  # as newsbot creates its databases
    inserted = time.perf_counter()
    with database.open("rb+") as handle:
        os.fsync(handle.fileno())
    size = sum(path.stat().st_size for path in database.parent.glob(database.name + "*"))
    return Seeded(stories, inserted - started, time.perf_counter() - inserted, size / 1e6)


# ---------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------


@dataclass
class Results:
    settings: Settings
    site: Site
    reader_version: str
    baselines: dict[str, Fetched] = field(default_factory=dict)
    floor: Run | None = None
    commit_ms: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after the runs
    cold: Run | None = None  # newsbot's run of the cold pair whose ratio to reader's is the median
    cold_pairs: list[tuple[Run, PeerRun]] = field(default_factory=list)  # every cold run, newsbot's and reader's
    warm: Run | None = None
    seeded: Seeded | None = None
    pairs: list[tuple[Run, Run]] = field(default_factory=list)
    one_host: list[Run] = field(default_factory=list)  # cold, warm
    beside_reader: list[tuple[str, Run, PeerRun]] = field(default_factory=list)  # (case, newsbot's run, reader's)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 feeds, 20 articles, a 20,000-story database")
    parser.add_argument("--big-db", type=int, help="stories in the large database (default 1,000,000; 20,000 quick)")
    parser.add_argument("--profile", action="store_true", help="also a cold run under cProfile: top functions")
    arguments = parser.parse_args()
    settings = QUICK if arguments.quick else FULL
    if arguments.big_db is not None:
        settings = replace(settings, big_db=arguments.big_db)
    try:
        reader_version = importlib.metadata.version("reader")
    except importlib.metadata.PackageNotFoundError:
        sys.exit("lemon24/reader, the peer measured beside newsbot, is not installed: pip install -r requirements.txt")

    started = time.perf_counter()
    total = settings.feeds + BIG_FEEDS * settings.big_repeats
    teaser_every = settings.feeds // max(1, settings.articles // ITEMS_PER_FEED)
    site = Site(total, teaser_every, settings.hosts, changed_among=settings.feeds)
    written = time.perf_counter() - started
    site.start()
    folder = Path(tempfile.mkdtemp(prefix="newsbot-crawl-bench-"))
    results = Results(settings, site, reader_version)
    try:
        describe_site(results, written)
        measure(results, folder, profile=arguments.profile)
    finally:
        site.stop()
        shutil.rmtree(folder, ignore_errors=True)
    report(results)
    print(f"\n(benchmark took {time.perf_counter() - started:.0f}s)")


def measure(results: Results, folder: Path, *, profile: bool) -> None:
    settings, site = results.settings, results.site
    main_feeds = site.feeds[: settings.feeds]
    articles = [item.link for feed in main_feeds if feed.teaser for item in feed.items]

    before = os.getloadavg()[0]
    print(f"Load average (1 min) at the start: {before:.2f} on {os.cpu_count()} CPUs.")
    print(settings_sentence(results))
    site.phase("cold")
    results.baselines["cold"] = raw_fetch([feed.url for feed in main_feeds] + articles)
    results.commit_ms = commit_milliseconds(folder / "commits.db")
    floor = Workspace(folder / "floor", main_feeds[1:2], settings.concurrent_requests)
    results.floor = floor.run("one feed", site)
    print(f"measured: a run of one feed, {results.floor.wall:.1f}s")

    measure_cold_and_warm(results, folder, main_feeds)
    measure_one_host(results, folder)

    site.phase("cold")
    big = folder / "big"
    big.mkdir()
    results.seeded = seed(big / "newsbot.db", settings.big_db)
    print(f"measured: seeded {settings.big_db:,} stories, {results.seeded.seconds:.0f}s")
    for repeat in range(settings.big_repeats):
        first = settings.feeds + repeat * BIG_FEEDS
        feeds = site.feeds[first : first + BIG_FEEDS]
        empty = Workspace(folder / f"empty-{repeat}", feeds, settings.concurrent_requests)
        large = Workspace(folder / f"large-{repeat}", feeds, settings.concurrent_requests, big / "newsbot.db")
        if repeat % 2 == 0:  # alternate which goes first, so neither always pays for the other's writes
            pair = empty.run(f"empty {repeat + 1}", site), large.run(f"large {repeat + 1}", site)
        else:
            pair = tuple(reversed((large.run(f"large {repeat + 1}", site), empty.run(f"empty {repeat + 1}", site))))
        # One database, one config (newsbot refuses a second config's run on a database another
        # config's file still uses): this repeat's config gives the large database over to the next.
        large.config.unlink()
        results.pairs.append(pair)
        print(f"measured: 100 feeds, empty vs {settings.big_db:,} stories: {pair[0].wall:.1f}s vs {pair[1].wall:.1f}s")

    results.load = (before, os.getloadavg()[0])

    if profile:
        site.phase("cold")
        profiled = Workspace(folder / "profiled", main_feeds, settings.concurrent_requests)
        output = folder / "cold.prof"
        run = profiled.run("profiled", site, profile=output)
        print(f"\n== cProfile of a cold run ({run.wall:.1f}s under the profiler), top 25 by own time ==")
        stats = pstats.Stats(str(output), stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(25)
        print("== the same, by cumulative time ==")
        stats.sort_stats("cumulative").print_stats(30)


def measure_cold_and_warm(results: Results, folder: Path, feeds: Sequence[Feed]) -> None:
    """Pairs of cold runs, newsbot's and reader's, which goes first alternating; then, on the
    databases of the pair whose ratio is the median, the warm phase: the raw conditional fetch,
    newsbot warm, reader warm."""
    site, concurrency = results.site, results.settings.concurrent_requests
    workspaces = []
    for repeat in range(results.settings.cold_repeats):
        crawl = Workspace(folder / f"crawl-{repeat}", feeds, concurrency)
        peer = Peer(folder / f"reader-{repeat}", feeds, concurrency)
        if repeat % 2 == 0:
            ours, theirs = crawl.run(f"cold {repeat + 1}", site), peer.run(f"reader cold {repeat + 1}", site)
        else:
            theirs, ours = peer.run(f"reader cold {repeat + 1}", site), crawl.run(f"cold {repeat + 1}", site)
        print(f"measured: cold run, {ours.wall:.1f}s; reader, cold, {theirs.wall:.1f}s")
        results.cold_pairs.append((ours, theirs))
        workspaces.append((crawl, peer))
    by_ratio = sorted(range(len(workspaces)), key=lambda repeat: feeds_per_second_ratio(results.cold_pairs[repeat]))
    median = by_ratio[(len(by_ratio) - 1) // 2]  # of two, the one less favourable to newsbot
    results.cold, reader_cold = results.cold_pairs[median]
    crawl, peer = workspaces[median]
    site.phase("warm")
    etags = {feed.url: site.resource(feed.url, "cold").etag for feed in feeds}
    results.baselines["warm"] = raw_fetch([feed.url for feed in feeds], etags)
    results.warm = crawl.run("warm", site)
    print(f"measured: warm run, {results.warm.wall:.1f}s")
    reader_warm = peer.run("reader warm", site)
    print(f"measured: reader, warm, {reader_warm.wall:.1f}s")
    hosts = f"{len(feeds):,} feeds on {len(site.hosts)} hosts"
    results.beside_reader += [
        (f"cold, {hosts}", results.cold, reader_cold),
        (f"warm, {hosts}", results.warm, reader_warm),
    ]


def feeds_per_second_ratio(pair: tuple[Run, PeerRun]) -> float:
    """newsbot ÷ reader in feeds/s: reader's time over newsbot's, the same feeds."""
    ours, theirs = pair
    return theirs.wall / ours.wall


def measure_one_host(results: Results, folder: Path) -> None:
    """Feeds of one host (a feed service, Google News queries), every fetch setting newsbot's default:
    cold, then warm with every feed unchanged (304). reader runs beside it with as many workers as
    newsbot's default concurrent_requests."""
    count = results.settings.one_host_feeds
    site = Site(count, teaser_every=count, hosts=1, changed_among=count, changed_share=0.0).start()
    try:
        workspace = Workspace(folder / "one-host", site.feeds)
        peer = Peer(folder / "one-host-reader", site.feeds, FetchSettings().concurrent_requests)
        runs = []
        for phase in ("cold", "warm"):
            site.phase(phase)
            run = workspace.run(f"one host {phase}", site)
            print(f"measured: {count} feeds on one host, {phase}, {run.wall:.1f}s")
            reader = peer.run(f"reader one host {phase}", site)
            print(f"measured: reader, {count} feeds on one host, {phase}, {reader.wall:.1f}s")
            results.beside_reader.append((f"{phase}, {count} feeds on one host, defaults", run, reader))
            runs.append(run)
        results.one_host = runs
    finally:
        site.stop()


def settings_sentence(results: Results) -> str:
    defaults, settings = FetchSettings(), results.settings
    return (
        f"newsbot settings: its defaults (autothrottle_start_delay {defaults.autothrottle_start_delay:g} s, "
        f"concurrent_requests_per_domain {defaults.concurrent_requests_per_domain}, obey_robots_txt "
        f"{str(defaults.obey_robots_txt).lower()}), except concurrent_requests raised to "
        f"{settings.concurrent_requests} (default {defaults.concurrent_requests}) for the {settings.hosts} hosts "
        f"(the one-host case keeps {defaults.concurrent_requests}) and allowed_networks 127.0.0.0/8 (the "
        "publishers are loopback addresses); full_text: auto; watchlist "
        f"{WATCHLIST.name}; alerts to the terminal. reader {results.reader_version}: update_feeds(scheduled=False, "
        f"workers=newsbot's concurrent_requests)."
    )


def describe_site(results: Results, written: float) -> None:
    settings, site = results.settings, results.site
    feeds = site.feeds[: settings.feeds]
    bodies = [site.resource(feed.url) for feed in feeds]
    articles = [site.resource(item.link) for feed in feeds if feed.teaser for item in feed.items]
    teasers = sum(feed.teaser for feed in feeds)
    items = [item for feed in feeds for item in feed.items]
    copies = len(items) - len({item.summary for item in items})
    planted = sum(any(sentence in item.summary or sentence in item.content for sentence in PLANTED) for item in items)
    size = sum(len(body.body) for body in bodies)
    print(
        f"== Site: {len(feeds):,} feeds ({sum(not f.atom for f in feeds)} RSS, {sum(f.atom for f in feeds)} Atom; "
        f"{teasers} teaser feed{'s' * (teasers != 1)} → {len(articles)} article pages) on {len(site.hosts)} "
        f"loopback hosts, written in {written:.1f}s =="
    )
    print(
        f"Feeds: {ITEMS_PER_FEED} items each, {size / len(feeds) / ITEMS_PER_FEED / 1000:.1f} KB an item, "
        f"{size / len(feeds) / 1000:.0f} KB a feed ({sum(len(b.gzipped) for b in bodies) / len(feeds) / 1000:.0f} KB "
        f"gzipped), {size / 1e6:.0f} MB in all. Articles: "
        f"{statistics.mean(len(a.body) for a in articles) / 1000:.0f} KB on average "
        f"({min(len(a.body) for a in articles) / 1000:.0f}-{max(len(a.body) for a in articles) / 1000:.0f} KB). "
        f"{copies} items are copies of another feed's story; {planted} carry a sentence the watchlist alerts on."
    )
    changed = [feed for feed in feeds if feed.number in site.changed]
    print(
        f"Warm phase: {len(feeds) - len(changed)} feeds unchanged (304), {len(changed)} with "
        f"{sum(len(f.new_items) for f in changed)} new items in all. Database-size runs: "
        f"{settings.big_repeats} × {BIG_FEEDS} further feeds, each run against an empty database and against "
        f"{settings.big_db:,} stored stories."
    )
    print(
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
        f"server: asyncio in a child process."
    )


def report(results: Results) -> None:
    settings, cold, warm, floor = results.settings, results.cold, results.warm, results.floor
    assert cold and warm and floor and results.seeded
    print()
    print(settings_sentence(results))

    print()
    print("== Baselines, in this run ==")
    print("| what | s | feeds/s | requests | 304 | MB decoded |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, label in (
        ("cold", f"raw fetch of the {settings.feeds:,} feeds and the article pages"),
        ("warm", f"raw conditional fetch of the {settings.feeds:,} feeds (warm phase)"),
    ):
        fetched = results.baselines[name]
        print(
            f"| {label}, urllib ThreadPool(64), gzip | {fetched.seconds:.2f} | "
            f"{settings.feeds / fetched.seconds:,.0f} | {fetched.requests:,} | {fetched.not_modified:,} | "
            f"{fetched.megabytes:.0f} |"
        )
    print(
        f"| `newsbot run` of one feed (the fixed cost of a run) | {floor.wall:.2f} | - | {floor.server.requests} | "
        f"- | - |"
    )
    print(
        f"\nOne small SQLite write transaction on this disk (WAL, synchronous FULL, as newsbot's database): "
        f"{results.commit_ms:.2f} ms."
    )

    print()
    print("== newsbot run ==")
    print(
        "| run | feeds | wall s | feeds/s | in-run s | items seen | items/s | new stories | matches | requests | "
        "304 | articles | peak MB | CPU s | CPU ÷ wall | server CPU s |"
    )
    print("| --- " + "| ---: " * 15 + "|")
    runs = [floor, cold, warm, *results.one_host] + [run for pair in results.pairs for run in pair]
    for run in runs:
        summary = run.summary
        print(
            f"| {run.name} | {run.feeds:,} | {run.wall:.2f} | {run.feeds / run.wall:,.0f} | {run.seconds:.2f} | "
            f"{summary['entries_seen']:,} | {summary['entries_seen'] / run.wall:,.0f} | {summary['new_stories']:,} | "
            f"{summary['matches']} | {run.server.requests:,} | {run.server.not_modified:,} | {run.server.articles} | "
            f"{run.peak_mb:.0f} | {run.cpu:.2f} | {run.cpu / run.wall:.2f} | {run.server.cpu_seconds:.2f} |"
        )
    print(
        "\nwall s: end to end, interpreter start included; in-run s: the run's own `seconds` (from taking the "
        "lock to recording the run). items seen: entries of the feeds parsed (a 304 has none). requests and "
        "304: what the server answered during the run (robots.txt included); server CPU: the server "
        "process's, during the run. peak MB: the run's maximum resident set in MiB, "
        + ("from /usr/bin/time" if TIME.exists() else "from os.wait4 (no /usr/bin/time: may count this process's)")
        + ", or the largest sum of the run's and its child processes' (sampled every 0.1 s) when larger."
    )
    print(
        f"Warm ÷ cold: {warm.wall / cold.wall:.3f} end to end, {warm.seconds / cold.seconds:.3f} in-run; "
        f"the fixed cost of a run (one feed) is {floor.wall:.2f}s, {floor.wall / cold.wall:.0%} of the cold run."
    )

    report_beside_reader(results)

    print()
    print("== Where the time goes: share of wall time ==")
    names = list(dict.fromkeys(name for run in runs for name in run.stages))  # newsbot's stages, in its order
    print(f"| run | wall s | {' | '.join(names)} | after the crawl | outside the run |")
    print("| --- | ---: " + "| ---: " * (len(names) + 2) + "|")
    for run in runs:
        rest = run.seconds - sum(run.stages.get(name, 0.0) for name in CRAWL_THREAD)
        outside = run.wall - run.seconds
        shares = [run.stages.get(name, 0.0) for name in names] + [rest, outside]
        print(f"| {run.name} | {run.wall:.2f} | " + " | ".join(f"{t:.2f}s {t / run.wall:.0%}" for t in shares) + " |")
    described = [f"{name}: {STAGES.get(name, 'as newsbot records it')}" for name in names]
    print(
        "\n"
        + "; ".join(described)
        + "; after the crawl: the stage thread's last pass, source health and recording the run. "
        "fetch, parse and store are the crawl's thread and add up to the crawl; cluster, match and deliver "
        "run in the stage thread beside it, so the shares overlap. Outside the run: interpreter start, "
        "imports, config and watchlist loading, before the run's clock starts."
    )

    seeded = results.seeded
    print()
    print(f"== Database size: {seeded.stories:,} stored stories ==")
    print(
        f"Seeded in {seeded.seconds:.1f}s (SQL inserts, {SEED_BATCH:,} stories a transaction, the full-text index "
        f"added as newsbot adds them), then {seeded.flush_seconds:.1f}s to fsync it; the database is "
        f"{seeded.megabytes:,.0f} MB."
    )
    names = list(dict.fromkeys(name for pair in results.pairs for run in pair for name in run.stages))
    print(
        "| repeat | wall s: empty → large | ratio | CPU s: empty → large | ratio | "
        + " | ".join(f"{name} s" for name in names)
        + " | peak MB |"
    )
    print("| --- " + "| ---: " * (len(names) + 5) + "|")
    for repeat, (empty, large) in enumerate(results.pairs):
        stages = " | ".join(f"{empty.stages.get(n, 0):.2f} → {large.stages.get(n, 0):.2f}" for n in names)
        print(
            f"| {repeat + 1} | {empty.wall:.2f} → {large.wall:.2f} | {large.wall / empty.wall:.2f}× | "
            f"{empty.cpu:.2f} → {large.cpu:.2f} | {large.cpu / empty.cpu:.2f}× | {stages} | "
            f"{empty.peak_mb:.0f} → {large.peak_mb:.0f} |"
        )
    print(
        f"\nEach repeat: {BIG_FEEDS} feeds never seen before, in a fresh workspace, once with an empty database and "
        "once with the large one (which goes first alternates)."
    )
    load = results.load
    print(
        f"\nLoad average (1 min) before the runs {load[0]:.2f}, after {load[1]:.2f} on {os.cpu_count()} CPUs"
        + (
            ": other processes were running, so wall times are inflated and noisy; CPU seconds much less so."
            if max(load) > 1.5
            else "."
        )
    )

    targets(results)


def report_beside_reader(results: Results) -> None:
    print()
    print(f"== newsbot beside lemon24/reader {results.reader_version}, same feeds, same sitting ==")
    print(
        "| case | feeds | wall s: newsbot / reader | feeds/s: newsbot / reader | newsbot ÷ reader feeds/s | "
        "CPU ms a feed: newsbot / reader | newsbot ÷ reader CPU a feed | peak MB: newsbot / reader | "
        "requests: newsbot / reader | 304: newsbot / reader |"
    )
    print("| --- " + "| ---: " * 9 + "|")
    for case, ours, theirs in results.beside_reader:
        print(
            f"| {case} | {ours.feeds:,} | {ours.wall:.2f} / {theirs.wall:.2f} | "
            f"{ours.feeds / ours.wall:,.0f} / {theirs.feeds / theirs.wall:,.0f} | "
            f"{feeds_per_second_ratio((ours, theirs)):.2f}× | "
            f"{ours.cpu / ours.feeds * 1000:.1f} / {theirs.cpu / theirs.feeds * 1000:.1f} | "
            f"{ours.cpu / theirs.cpu:.2f}× | {ours.peak_mb:.0f} / {theirs.peak_mb:.0f} | "
            f"{ours.server.requests:,} / {theirs.server.requests:,} | "
            f"{ours.server.not_modified:,} / {theirs.server.not_modified:,} |"
        )
    if len(results.cold_pairs) > 1:
        pairs = "; ".join(
            f"{feeds_per_second_ratio((ours, theirs)):.2f}× ({ours.wall:.2f} / {theirs.wall:.2f} s, "
            f"CPU {ours.cpu:.1f} / {theirs.cpu:.1f} s, newsbot's peak {ours.peak_mb:.0f} MB)"
            for ours, theirs in results.cold_pairs
        )
        print(
            f"\nCold, each pair as run, newsbot ÷ reader (newsbot / reader): {pairs}. Every table and target "
            "above and below uses the median pair's runs (the lower middle one of an even count), and the warm "
            "runs follow on its databases."
        )
    print(
        "\nBoth end to end, interpreter start included, each a child process of its own. newsbot also fetches "
        "robots.txt and the teaser feeds' article pages, paces each host (AutoThrottle, two requests at a time), "
        "clusters and matches; reader fetches and parses the feeds and stores their entries."
    )


def big_ratio(results: Results) -> tuple[float, float]:
    """Median ratios large ÷ empty database, of wall time and of CPU time."""
    pairs = results.pairs
    return (
        statistics.median(large.wall / empty.wall for empty, large in pairs),
        statistics.median(large.cpu / empty.cpu for empty, large in pairs),
    )


def targets(results: Results) -> None:
    cold, warm = results.cold, results.warm
    assert cold and warm
    every_cold = [ours for ours, _ in results.cold_pairs]
    peak = max(run.peak_mb for run in (*every_cold, warm, *(run for pair in results.pairs for run in pair)))
    (_, _, reader_cold), (_, _, reader_warm) = results.beside_reader[:2]
    cold_ratio, warm_ratio = feeds_per_second_ratio((cold, reader_cold)), feeds_per_second_ratio((warm, reader_warm))
    one_host_warm = results.one_host[1]
    rate = cold.feeds / cold.wall
    ratio, cpu_ratio = big_ratio(results)
    checks = [
        (f"cold ≥ {COLD_FEEDS_PER_SECOND} feeds/s end to end", rate >= COLD_FEEDS_PER_SECOND,
         f"{rate:,.0f} feeds/s ({rate / COLD_FEEDS_PER_SECOND:.2f}× the target), "
         f"{cold.feeds / cold.seconds:,.0f} feeds/s in-run, {cold.feeds / cold.cpu:,.0f} feeds per CPU second"),
        (f"warm ≤ {WARM_SHARE:.0%} of cold", warm.wall <= WARM_SHARE * cold.wall,
         f"{warm.wall / cold.wall:.1%} end to end ({warm.seconds / cold.seconds:.1%} in-run, "
         f"{warm.cpu / cold.cpu:.1%} of the CPU time)"),
        (f"peak memory ≤ {PEAK_MB} MB", peak <= PEAK_MB,
         f"{peak:.0f} MB (the largest of the cold, warm and database runs)"),
        (f"{results.seeded.stories:,} stored stories: a run costs ≤ {BIG_DB_RATIO}× an empty database's",
         ratio <= BIG_DB_RATIO,
         f"{ratio:.2f}× wall, {cpu_ratio:.2f}× CPU (medians of {len(results.pairs)}; the threshold is this "
         "benchmark's, not the issue's)"),
        (f"cold ≥ {READER_COLD_RATIO:g}× reader's feeds/s", cold_ratio >= READER_COLD_RATIO,
         f"{cold_ratio:.2f}× ({cold.feeds / cold.wall:,.0f} against {reader_cold.feeds / reader_cold.wall:,.0f} "
         "feeds/s)"),
        (f"warm ≥ {READER_WARM_RATIO:g}× reader's feeds/s", warm_ratio >= READER_WARM_RATIO,
         f"{warm_ratio:.2f}× ({warm.feeds / warm.wall:,.0f} against {reader_warm.feeds / reader_warm.wall:,.0f} "
         "feeds/s)"),
        ("CPU a feed ≤ reader's, cold", cold.cpu <= reader_cold.cpu,
         f"{cold.cpu / reader_cold.cpu:.2f}× ({cold.cpu / cold.feeds * 1000:.1f} against "
         f"{reader_cold.cpu / reader_cold.feeds * 1000:.1f} ms)"),
        ("CPU a feed ≤ reader's, warm", warm.cpu <= reader_warm.cpu,
         f"{warm.cpu / reader_warm.cpu:.2f}× ({warm.cpu / warm.feeds * 1000:.1f} against "
         f"{reader_warm.cpu / reader_warm.feeds * 1000:.1f} ms)"),
        (f"{one_host_warm.feeds} unchanged feeds on one host, default settings: warm ≤ {ONE_HOST_WARM_SECONDS:g} s",
         one_host_warm.wall <= ONE_HOST_WARM_SECONDS,
         f"{one_host_warm.wall:.1f} s end to end, {one_host_warm.server.not_modified} answered 304"),
    ]  # fmt: skip
    print()
    print("== Targets ==")
    for name, passed, value in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {value}")


if __name__ == "__main__":
    main()
