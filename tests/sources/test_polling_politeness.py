"""Politeness designed for feed polling (issue E, newsbot.sources.throttle).

An unchanged feed's 304 paces its host as a 200 does, where Scrapy's AutoThrottle would hold the
host at the start delay (1 s a request) for the whole run; and still at most
`concurrent_requests_per_domain` requests to a host at once, and robots.txt obeyed.

The crawl tests run `newsbot run` as cron does, twice (cold, then warm: every feed answers 304), with
newsbot's default fetch settings (only loopback allowed), against a server on 127.0.0.1 that counts
the requests it holds at once and notes when each arrives. The policy tests build Scrapy crawlers
from newsbot's settings, one with newsbot's throttle and one with Scrapy's own AutoThrottle, and
send both the same `response_downloaded` signals for a real download slot: every answer but a 304
must move a host's delay exactly as Scrapy does.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from scrapy import Request, Spider, signals
from scrapy.core.downloader import Slot
from scrapy.core.engine import ExecutionEngine
from scrapy.crawler import Crawler
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from newsbot.configuration.fetch_config import FetchSettings
from newsbot.sources.crawl import scrapy_settings
from newsbot.sources.throttle import NOT_MODIFIED_MIN_DELAY, PollingThrottle
from tests.conftest import Workspace
from tests.servers import FeedServer, Route, TimedFeedServer, _Base, _FeedHandler, recent, rss

FEEDS = 40
PRIVATE_FEEDS = 2  # under a path robots.txt disallows
ANSWER_SECONDS = 0.05  # each feed's answer takes this long, so requests sent together overlap at the server
# From the first warm feed request to the last: about 2 s here, 23 s under Scrapy's own AutoThrottle, which
# holds the host at about its 1 s start delay a request (a 304 never lowers it).
WARM_LIMIT_SECONDS = 10.0
PER_HOST = FetchSettings().concurrent_requests_per_domain


# --- crawls ------------------------------------------------------------------------------------


class _CountingHandler(_FeedHandler):
    owner: CountingFeedServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.owner.arrived(self.path)
        super().do_GET()

    def _reply(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str] | None = None) -> None:
        # Counted out before the answer leaves: the client cannot send its next request on its account first.
        self.owner.answering()
        super()._reply(status, body, content_type, headers)


class CountingFeedServer(FeedServer):
    """tests.servers.FeedServer that also counts the requests it holds (received, not yet answered)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.in_flight = 0
        self.most_in_flight = 0
        self.arrivals: list[tuple[str, float]] = []  # (path, time.monotonic()) of every request
        self._count_lock = threading.Lock()
        _Base.__init__(self, type("CountingHandler", (_CountingHandler,), {}))

    def arrived(self, path: str) -> None:
        with self._count_lock:
            self.arrivals.append((path, time.monotonic()))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def answering(self) -> None:
        with self._count_lock:
            self.in_flight -= 1


@dataclass
class Run:
    stdout: str
    feed_seconds: float  # from the first feed request's arrival to the last's
    paths: list[str]
    etags_sent: list[str]  # If-None-Match of each feed request ("" if none)


@dataclass
class Polled:
    server: CountingFeedServer
    cold: Run
    warm: Run


def _run(workspace: Workspace, server: CountingFeedServer) -> Run:
    first, first_arrival = len(server.requests), len(server.arrivals)
    result = workspace.newsbot("run", timeout=90)
    assert result.returncode == 0, result.stderr
    requests = server.requests[first:]
    feeds = [request for request in requests if request.path.startswith("/feeds/")]
    arrivals = [moment for path, moment in server.arrivals[first_arrival:] if path.startswith("/feeds/")]
    return Run(
        result.stdout,
        arrivals[-1] - arrivals[0],
        [request.path for request in requests],
        [request.headers.get("if-none-match", "") for request in feeds],
    )


@pytest.fixture(scope="module")
def polled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Polled]:
    server = CountingFeedServer()
    server.start()
    workspace = Workspace(tmp_path_factory.mktemp("polling"))
    workspace.settings["fetch"] = {"allowed_networks": ["127.0.0.1/32"]}  # every other fetch setting: the default
    server.add("/robots.txt", Route(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    for number in range(FEEDS):
        item = {"title": f"Advisory {number}", "link": f"https://news.example.test/{number}", "pubDate": recent()}
        body = rss([item])
        url = server.add(f"/feeds/{number}.xml", Route(body, etag=f'"feed-{number}"', delay=ANSWER_SECONDS))
        workspace.source(f"Query {number:02d}", url)
    for number in range(PRIVATE_FEEDS):
        url = server.add(f"/private/{number}.xml", Route(rss([]), etag='"private"', delay=ANSWER_SECONDS))
        workspace.source(f"Private {number}", url)
    cold = _run(workspace, server)
    warm = _run(workspace, server)
    yield Polled(server, cold, warm)
    server.stop()


def test_unchanged_feeds_of_one_host_are_polled_in_well_under_a_second_each(polled: Polled) -> None:
    """Each warm request is conditional and answered 304, and all 40 go out within 10 s (Scrapy's rule: 23)."""
    assert sorted(polled.warm.etags_sent) == sorted(f'"feed-{number}"' for number in range(FEEDS))  # each once
    assert f"{FEEDS + PRIVATE_FEEDS} sources ({FEEDS} unchanged, {PRIVATE_FEEDS} failed)" in polled.warm.stdout
    assert polled.warm.feed_seconds < WARM_LIMIT_SECONDS, polled.warm.feed_seconds


def test_a_host_never_has_more_requests_at_once_than_concurrent_requests_per_domain(polled: Polled) -> None:
    """Two at a time, no more, over both runs (requests do overlap: each answer takes 50 ms)."""
    assert polled.server.most_in_flight == PER_HOST == 2


def test_robots_txt_still_rules_every_run(polled: Polled) -> None:
    for run in (polled.cold, polled.warm):
        assert "/robots.txt" in run.paths
        assert [path for path in run.paths if path.startswith("/private/")] == []
        assert "source failed: Private 0: robots.txt forbids fetching it" in run.stdout


NEW_HOSTS = 24


def _second_request_gaps(tmp_path_factory: pytest.TempPathFactory, start_delay: float) -> list[float]:
    """A cold run over `NEW_HOSTS` hosts of two feeds each: each host's seconds from its first feed
    request to its second, as the host saw them."""
    servers = [TimedFeedServer(f"127.0.0.{number}") for number in range(1, NEW_HOSTS + 1)]
    for server in servers:
        server.start()
    try:
        workspace = Workspace(tmp_path_factory.mktemp("new-hosts"))
        workspace.settings["fetch"] = {"allowed_networks": ["127.0.0.0/8"], "autothrottle_start_delay": start_delay}
        for host_number, server in enumerate(servers):
            for feed in range(2):
                item = {
                    "title": f"Notice {host_number}-{feed}",
                    "link": f"https://news.example.test/{host_number}/{feed}",
                }
                url = server.add(f"/feeds/{feed}.xml", Route(rss([{**item, "pubDate": recent()}])))
                workspace.source(f"Host {host_number:02d} feed {feed}", url)
        result = workspace.newsbot("run", timeout=90)
        assert result.returncode == 0, result.stderr
        gaps = []
        for server in servers:
            feeds = [moment for path, moment in server.arrivals if path.startswith("/feeds/")]
            assert len(feeds) == 2, server.arrivals
            gaps.append(feeds[1] - feeds[0])
        return gaps
    finally:
        for server in servers:
            server.stop()


def test_a_new_hosts_second_request_waits_the_delay_its_first_answer_set_not_the_start_delay(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Scrapy plans a host's next request when it is queued, from the delay of that moment: a new host's
    second feed, queued while the first was in flight, waited the whole start delay (±50%) although
    the first answer had halved the delay. A cold run of 1,000 feeds on 50 hosts then sat with both
    cores idle for about a second after its first requests. The wait is now planned again from the
    delay the answer set.

    Start delay 2 s, answers at once: AutoThrottle sets 1 s after the first answer, so the second
    request waits 0.5–1.5 s (jitter), 1 s on average (1.1–1.3 measured), where Scrapy's plan waits
    1–3 s, 2 s on average (2.1–2.4 measured). Over 24 hosts, the old plan's mean falls under 1.6 s
    about once in 3,000 runs."""
    gaps = _second_request_gaps(tmp_path_factory, start_delay=2.0)

    assert statistics.mean(gaps) < 1.6, gaps
    assert min(gaps) >= 0.45, gaps  # still paced: at least half of the 1 s delay the first answer set


# --- the delay policy, beside Scrapy's own ------------------------------------------------------

HOST = "feeds.example"


class Host:
    """One host's download slot in a Scrapy downloader whose AutoThrottle (newsbot's, or Scrapy's) paces it."""

    def __init__(self, crawler: Crawler, spider: Spider, delay: float):
        self.crawler, self.spider = crawler, spider
        self.slot = Slot(PER_HOST, delay, jitter=0)
        crawler.engine.downloader.slots[HOST] = self.slot

    def answer(self, status: int, latency: float) -> float:
        """The slot's delay once a response with `status` has taken `latency` seconds."""
        request = Request(f"https://{HOST}/feed.xml", meta={"download_slot": HOST, "download_latency": latency})
        response = Response(request.url, status=status, request=request)
        self.crawler.signals.send_catch_log(
            signals.response_downloaded, response=response, request=request, spider=self.spider
        )
        return self.slot.delay


def _throttling_settings(throttle: str) -> dict[str, object]:
    """newsbot's settings that pace a crawl (no reactor, no download handlers: nothing is downloaded here)."""
    settings = scrapy_settings(FetchSettings()).copy_to_dict()
    chosen = {key: value for key, value in settings.items() if key.startswith("AUTOTHROTTLE_")}
    chosen.update({key: settings[key] for key in ("DOWNLOAD_DELAY", "EXTENSIONS", NOT_MODIFIED_MIN_DELAY)})
    chosen["DOWNLOAD_HANDLERS"] = {"http": None, "https": None}
    if throttle == "scrapy":
        chosen["EXTENSIONS"] = {}  # Scrapy's EXTENSIONS_BASE: its own AutoThrottle
    return chosen


def host(throttle: str, delay: float) -> Host:
    """A fresh crawler paced by `throttle` ("newsbot" or "scrapy"), opened, with one host at `delay`."""
    crawler = get_crawler(Spider, settings_dict=_throttling_settings(throttle))
    crawler.engine = ExecutionEngine(crawler, lambda _: None)
    spider = Spider("polling")
    crawler.signals.send_catch_log(signals.spider_opened, spider=spider)
    return Host(crawler, spider, delay)


def floor() -> float:
    return scrapy_settings(FetchSettings()).getfloat(NOT_MODIFIED_MIN_DELAY)


def delays(throttle: str, start: float, status: int, latencies: Sequence[float]) -> list[float]:
    paced = host(throttle, start)
    return [paced.answer(status, latency) for latency in latencies]


def test_newsbot_crawls_with_its_throttle_in_place_of_scrapys() -> None:
    crawler = get_crawler(Spider, settings_dict=_throttling_settings("newsbot"))
    throttles = [type(extension) for extension in crawler.extensions.middlewares if isinstance(extension, AutoThrottle)]
    assert throttles == [PollingThrottle]


LATENCIES = [0.001, 0.001, 5.0, 0.2, 0.001, 0.0, 80.0, 0.3, 0.004, 0.004, 0.004]


@pytest.mark.parametrize("status", [200, 301, 403, 404, 429, 500, 503])
@pytest.mark.parametrize("start", [0.0, 0.01, 1.0, 5.0])
def test_every_answer_but_304_moves_the_delay_exactly_as_scrapys_autothrottle(status: int, start: float) -> None:
    ours = delays("newsbot", start, status, LATENCIES)

    assert ours == delays("scrapy", start, status, LATENCIES)
    assert len(set(ours)) > 1  # the sequence does move the delay


def test_fast_304s_bring_the_delay_down_as_200s_do_but_not_below_the_floor() -> None:
    """From the 1 s start delay, each fast 304 halves the gap to latency/2 (as a 200 would), down to the floor."""
    ours = delays("newsbot", 1.0, 304, [0.001] * 12)
    expected, delay = [], 1.0
    for _ in range(12):  # Scrapy's rule for a 200 from the same delay, floored
        delay = max(floor(), host("scrapy", delay).answer(200, 0.001))
        expected.append(delay)

    assert ours == expected
    assert ours[0] < 0.6 and ours[-1] == floor() > 0.001 / 2
    assert delays("scrapy", 1.0, 304, [0.001] * 12) == [1.0] * 12  # what a user got before: the start delay, always


def test_a_slow_304_raises_the_delay_at_once_like_a_slow_200() -> None:
    assert host("newsbot", 0.1).answer(304, 3.0) == host("scrapy", 0.1).answer(200, 3.0) == 1.5


def test_a_304_does_not_slow_a_host_that_200s_paced_below_the_floor() -> None:
    below = floor() / 5
    paced = host("newsbot", below)

    assert paced.answer(304, 0.001) == below  # not lowered further by a 304, not raised to the floor either
    assert paced.answer(304, 0.1) == 0.05  # but a slow answer raises it, as any answer does
