"""Each host's pace, remembered between runs (issue E, newsbot.sources.throttle, newsbot.storage.pacing).

A run records the AutoThrottle delay each host ended with; the next run starts the host there instead
of at the start delay (1 s), within the bounds AutoThrottle keeps, for up to 7 days.

The crawl tests run `newsbot run` as cron does, with newsbot's default fetch settings (only loopback
allowed), against two hosts on loopback that note when each request arrives: 127.0.0.1 serves 20
feeds that answer 304 once they have an ETag, 127.0.0.2 one feed that takes 2.4 s to answer. Neither
has a robots.txt, which is fetched in a download slot of its own, so the first feed request follows it
at once and the gap after that first request shows the delay the host started the run with, as the
first answer moved it (an instant answer halves it). The downloader tests build a Scrapy crawler from
newsbot's settings and ask its real downloader for the slot of a host, as it does for a host's first
request.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from scrapy import Request, Spider, signals
from scrapy.core.downloader import Slot
from scrapy.core.engine import ExecutionEngine
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from newsbot.configuration.fetch_config import FetchSettings
from newsbot.sources.crawl import scrapy_settings
from newsbot.sources.throttle import (
    NOT_MODIFIED_MIN_DELAY,
    PACE_MEMORY,
    ROBOTS_TXT_SLOT,
    PollingThrottle,
    RobotsTxtOwnSlot,
    starting_slots,
)
from newsbot.storage.database import Storage
from tests.conftest import Workspace
from tests.servers import Route, TimedFeedServer, recent, rss

FEEDS = 20
FAST, SLOW = "127.0.0.1", "127.0.0.2"
SLOW_ANSWER_SECONDS = 2.4  # AutoThrottle's target for it: 2.4 s / 2 (its target concurrency) = 1.2 s a request
START_DELAY = FetchSettings().autothrottle_start_delay  # 1 s
FLOOR = 0.025  # NEWSBOT_NOT_MODIFIED_MIN_DELAY
MAX_DELAY = 30.0  # AUTOTHROTTLE_MAX_DELAY


@dataclass
class Crawled:
    """One run as a host saw it: the gaps between its requests, and what the database remembers after it."""

    gaps: list[float]  # seconds from each request (robots.txt first) to the next, as the server saw them
    feeds: int  # feed requests
    paces: dict[str, tuple[float, str]]  # host_pacing after the run: slot → (delay, recorded_at)


@dataclass
class Runs:
    cold: dict[str, Crawled]  # per host: first run, nothing remembered
    warm: dict[str, Crawled]  # second run: every feed answers 304, each host starts at its remembered pace
    forgotten: dict[str, Crawled]  # third run, after the memory was made 8 days old


def paces(database: Path) -> dict[str, tuple[float, str]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT slot, delay, recorded_at FROM host_pacing").fetchall()
    return {slot: (delay, recorded_at) for slot, delay, recorded_at in rows}


def _run(workspace: Workspace, servers: dict[str, TimedFeedServer]) -> dict[str, Crawled]:
    seen = {host: len(server.arrivals) for host, server in servers.items()}
    result = workspace.newsbot("run", timeout=90)
    assert result.returncode == 0, result.stderr
    remembered = paces(workspace.database)
    crawled = {}
    for host, server in servers.items():
        arrivals = server.arrivals[seen[host] :]
        assert arrivals[0][0] == "/robots.txt", arrivals
        gaps = [later - earlier for (_, earlier), (_, later) in pairwise(arrivals)]
        crawled[host] = Crawled(gaps, sum(path.startswith("/feeds/") for path, _ in arrivals), remembered)
    return crawled


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    servers = {FAST: TimedFeedServer(FAST), SLOW: TimedFeedServer(SLOW)}
    for server in servers.values():
        server.start()
    workspace = Workspace(tmp_path_factory.mktemp("pacing"))
    workspace.settings["fetch"] = {"allowed_networks": [f"{FAST}/32", f"{SLOW}/32"]}  # all else: the defaults
    for number in range(FEEDS):
        item = {"title": f"Advisory {number}", "link": f"https://news.example.test/{number}", "pubDate": recent()}
        url = servers[FAST].add(f"/feeds/{number}.xml", Route(rss([item]), etag=f'"feed-{number}"'))
        workspace.source(f"Query {number:02d}", url)
    slow = Route(rss([]), etag='"slow"', delay=SLOW_ANSWER_SECONDS)
    workspace.source("Slow service", servers[SLOW].add("/feeds/slow.xml", slow))
    cold = _run(workspace, servers)
    warm = _run(workspace, servers)
    with sqlite3.connect(workspace.database) as connection:
        long_ago = (datetime.now(UTC) - timedelta(days=8)).isoformat(timespec="seconds")
        connection.execute("UPDATE host_pacing SET recorded_at = ?", [long_ago])
    forgotten = _run(workspace, servers)
    yield Runs(cold, warm, forgotten)
    for server in servers.values():
        server.stop()


def test_a_host_starts_the_next_run_at_the_pace_the_last_one_learned(runs: Runs) -> None:
    """Cold: the first feed request follows robots.txt at once (a slot of its own), the second waits
    the delay the first answer set from the 1 s start delay (half of it for an instant answer, ±50%
    jitter). Warm: the host starts at its remembered pace (25 ms, the floor) and its first requests
    follow each other at once."""
    cold, warm = runs.cold[FAST], runs.warm[FAST]
    assert cold.feeds == warm.feeds == FEEDS

    assert cold.gaps[0] < 0.3, cold.gaps  # robots.txt → first feed: at once
    assert cold.gaps[1] >= 0.2, cold.gaps  # first feed → second feed: half the start delay, at least half of that
    assert sum(warm.gaps[:2]) < 0.5, warm.gaps  # about 2 × 25 ms
    assert sum(warm.gaps) < sum(cold.gaps)


def test_each_run_records_the_pace_each_host_ended_with(runs: Runs) -> None:
    """Fast answers brought 127.0.0.1 far below the start delay; a warm run records it again, later."""
    delay, cold_at = runs.cold[FAST].paces[FAST]
    warm_delay, warm_at = runs.warm[FAST].paces[FAST]

    assert delay < 0.1 and FLOOR <= warm_delay < 0.1  # a warm run's 304s lower it no further than the floor
    assert warm_at > cold_at


def test_only_hosts_are_remembered_not_the_slots_their_robots_txt_was_fetched_in(runs: Runs) -> None:
    """robots.txt has a download slot of its own, paced by nothing: a pace learned there means nothing."""
    for run in (runs.cold, runs.warm, runs.forgotten):
        assert set(run[FAST].paces) == {FAST, SLOW}


def test_a_host_that_answered_slowly_is_remembered_slow(runs: Runs) -> None:
    """2.4 s answers raised 127.0.0.2 above the start delay, and its slow 304 keeps it there (that the
    next run starts such a host above the start delay is shown with the downloader below)."""
    assert runs.cold[SLOW].paces[SLOW][0] >= START_DELAY
    assert runs.warm[SLOW].paces[SLOW][0] >= START_DELAY


def test_a_pace_older_than_the_memory_is_forgotten(runs: Runs) -> None:
    """The memory made 8 days old (PACE_MEMORY: 7): the host starts at the start delay again, and its
    pace is recorded anew."""
    forgotten = runs.forgotten[FAST]

    assert forgotten.gaps[0] < 0.3 and forgotten.gaps[1] >= 0.2, forgotten.gaps  # as a cold run's
    assert forgotten.paces[FAST][1] > runs.warm[FAST].paces[FAST][1]


# --- where the downloader starts a host, and how AutoThrottle goes on from there ------------------


def crawler_for(paces: dict[str, float], fetch: FetchSettings | None = None, **overrides: object) -> Crawler:
    """A Scrapy crawler with newsbot's pacing settings for `paces` (no download handlers: nothing is
    downloaded), its spider opened as in a crawl."""
    settings = scrapy_settings(fetch or FetchSettings())
    settings.setdict(overrides, priority="cmdline")
    settings.set("DOWNLOAD_SLOTS", starting_slots(settings, paces), priority="project")
    as_dict = settings.copy_to_dict()
    chosen = {key: value for key, value in as_dict.items() if key.startswith("AUTOTHROTTLE_")}
    kept = ("DOWNLOAD_DELAY", "DOWNLOAD_SLOTS", "CONCURRENT_REQUESTS_PER_DOMAIN", "EXTENSIONS", NOT_MODIFIED_MIN_DELAY)
    chosen.update({key: as_dict[key] for key in kept})
    chosen.update({"DOWNLOAD_HANDLERS": {"http": None, "https": None}, "LOGSTATS_INTERVAL": 0})
    crawler = get_crawler(Spider, settings_dict=chosen)
    crawler.engine = ExecutionEngine(crawler, lambda _: None)
    crawler.signals.send_catch_log(signals.spider_opened, spider=Spider("pacing"))
    return crawler


def first_slots(crawler: Crawler, *hosts: str) -> dict[str, Slot]:
    """The slot the downloader makes for each host's first request (in an asyncio loop, which the
    downloader's clean-up of idle slots needs; stopped again before the loop ends)."""

    async def make() -> dict[str, Slot]:
        downloader = crawler.engine.downloader
        try:
            return {host: downloader._get_slot(Request(f"https://{host}/feed.xml"))[1] for host in hosts}
        finally:
            downloader.close()

    return asyncio.run(make())


def first_delays(crawler: Crawler, *hosts: str) -> dict[str, float]:
    return {host: slot.delay for host, slot in first_slots(crawler, *hosts).items()}


def test_crawl_settings_start_each_remembered_host_at_its_pace() -> None:
    """scrapy_settings, as the crawl builds them, turn the paces it is given into DOWNLOAD_SLOTS."""
    settings = scrapy_settings(FetchSettings(), paces={"feeds.example": 0.2})

    assert settings.getdict("DOWNLOAD_SLOTS") == {"feeds.example": {"delay": 0.2}}
    assert scrapy_settings(FetchSettings()).getdict("DOWNLOAD_SLOTS") == {}


def test_the_downloader_starts_a_remembered_host_at_its_pace_within_autothrottles_bounds() -> None:
    remembered = {"quick.example": 0.2, "slow.example": 4.0, "instant.example": 0.0001, "stuck.example": 500.0}
    slots = first_slots(crawler_for(remembered), *remembered, "unknown.example")

    assert {host: slot.delay for host, slot in slots.items()} == {
        "quick.example": 0.2,
        "slow.example": 4.0,  # above the start delay: a slow host starts slow
        "instant.example": FLOOR,  # never below the 304 floor
        "stuck.example": MAX_DELAY,  # never above AUTOTHROTTLE_MAX_DELAY
        "unknown.example": START_DELAY,
    }
    per_host = FetchSettings().concurrent_requests_per_domain
    assert {slot.concurrency for slot in slots.values()} == {per_host}  # the pace only: the same concurrency


def test_a_remembered_pace_is_never_below_download_delay() -> None:
    crawler = crawler_for({"quick.example": 0.2}, DOWNLOAD_DELAY=0.5)

    assert first_delays(crawler, "quick.example") == {"quick.example": 0.5}


def test_a_user_start_delay_applies_to_hosts_with_no_pace_only() -> None:
    """`fetch: autothrottle_start_delay` is where a host newsbot knows nothing about starts; a host
    with a remembered pace starts at that, above or below it."""
    crawler = crawler_for({"quick.example": 0.2, "slow.example": 4.0}, FetchSettings(autothrottle_start_delay=0))

    assert first_delays(crawler, "unknown.example", "quick.example", "slow.example") == {
        "unknown.example": 0,
        "quick.example": 0.2,
        "slow.example": 4.0,
    }


def test_without_autothrottle_no_pace_is_remembered_or_applied() -> None:
    crawler = crawler_for({"quick.example": 0.2}, AUTOTHROTTLE_ENABLED=False)

    assert crawler.get_extension(PollingThrottle) is None
    assert first_delays(crawler, "quick.example") == {"quick.example": 0}  # DOWNLOAD_DELAY, as for every host


def answer(crawler: Crawler, host: str, status: int, latency: float) -> None:
    request = Request(f"https://{host}/feed.xml", meta={"download_slot": host, "download_latency": latency})
    response = Response(request.url, status=status, request=request)
    crawler.signals.send_catch_log(signals.response_downloaded, response=response, request=request, spider=None)


def test_autothrottle_adapts_from_a_remembered_pace_and_the_throttle_keeps_the_last() -> None:
    """From a remembered 25 ms a slow 304 raises the delay at once; fast ones bring it back to the floor."""
    crawler = crawler_for({"quick.example": 0.0001})
    slot = first_slots(crawler, "quick.example")["quick.example"]
    throttle = crawler.get_extension(PollingThrottle)
    assert throttle is not None

    answer(crawler, "quick.example", 304, 3.0)
    assert slot.delay == throttle.paces["quick.example"] == 1.5
    for _ in range(12):
        answer(crawler, "quick.example", 304, 0.001)
    assert slot.delay == throttle.paces["quick.example"] == FLOOR
    assert "unknown.example" not in throttle.paces  # only hosts that answered


# --- the memory in the database ------------------------------------------------------------------

NOW = datetime(2026, 12, 10, 6, 0, tzinfo=UTC)


def test_paces_are_kept_per_host_and_forgotten_after_the_memory(storage: Storage) -> None:
    storage.remember_paces({"a.example": 0.5, "b.example": 2.0}, NOW - timedelta(days=6), NOW - PACE_MEMORY)
    storage.remember_paces({"a.example": 0.03}, NOW, NOW - PACE_MEMORY)  # b.example did not answer this time

    assert storage.remembered_paces(since=NOW - PACE_MEMORY) == {"a.example": 0.03, "b.example": 2.0}
    assert storage.remembered_paces(since=NOW - timedelta(days=1)) == {"a.example": 0.03}

    storage.remember_paces({}, NOW + timedelta(days=2), NOW + timedelta(days=2) - PACE_MEMORY)
    assert storage.remembered_paces(since=NOW - timedelta(days=30)) == {"a.example": 0.03}  # b.example is gone


def test_a_run_killed_mid_crawl_leaves_the_last_memory_as_it_was(tmp_path: Path) -> None:
    server = TimedFeedServer(FAST)
    server.start()
    try:
        workspace = Workspace(tmp_path)
        workspace.settings["fetch"] = {"allowed_networks": [f"{FAST}/32"]}
        workspace.source("Stalled", server.add("/feeds/stalled.xml", Route(rss([]), delay=30)))
        storage = Storage.open(workspace.database)
        storage.remember_paces({FAST: 0.4, "other.example": 3.0}, NOW, NOW - PACE_MEMORY)
        before = paces(workspace.database)
        storage.close()
        doomed = workspace.popen("run")
        deadline = time.monotonic() + 30
        while not server.requests_to("/feeds/stalled.xml"):
            assert time.monotonic() < deadline, "newsbot never requested the feed"
            time.sleep(0.05)

        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)

        assert doomed.returncode == -signal.SIGKILL
        assert paces(workspace.database) == before
    finally:
        server.stop()


def test_a_hosts_first_robots_txt_has_a_slot_of_its_own_and_a_later_one_the_hosts() -> None:
    """The first robots.txt of a host is fetched outside the host's slot, so the host's first request follows
    it at once; a robots.txt asked for once the host's slot is in use (another port of the same host) is
    fetched in that slot, inside its concurrency, as Scrapy would. Nothing else is moved."""
    crawler = crawler_for({})
    middleware = RobotsTxtOwnSlot.from_crawler(crawler)

    def robots(url: str, **meta: object) -> Request:
        return Request(url, meta={"dont_obey_robotstxt": True, **meta})

    async def slots() -> dict[str, object]:
        downloader = crawler.engine.downloader
        first, feed, pinned = (
            robots("https://feeds.example/robots.txt"),
            Request("https://feeds.example/a.xml"),
            robots("https://pinned.example/robots.txt", download_slot="team-slot"),
        )
        try:
            for request in (first, feed, pinned):
                middleware.process_request(request)
            downloader._get_slot(feed)  # the host's first request is sent: its slot is in use
            later = robots("https://feeds.example:8443/robots.txt")
            middleware.process_request(later)
            return {
                name: request.meta.get("download_slot")
                for name, request in {"first": first, "feed": feed, "pinned": pinned, "later": later}.items()
            }
        finally:
            downloader.close()

    assert asyncio.run(slots()) == {
        "first": ROBOTS_TXT_SLOT + "feeds.example",
        "feed": None,
        "pinned": "team-slot",
        "later": None,  # the downloader puts it in the host's slot, feeds.example
    }
