"""AutoThrottle for feed polling: an unchanged feed's 304 paces its host as a 200 does.

Scrapy's AutoThrottle moves a host's delay toward latency / AUTOTHROTTLE_TARGET_CONCURRENCY after a
200, and after any other status only ever raises it: error pages and redirects are small and quick,
and letting them lower the delay would speed a crawl up just when a site struggles. A poller's
usual answer is neither. An unchanged feed answers its conditional GET with 304 Not Modified, and
under Scrapy's rule a host whose feeds are all unchanged stays at AUTOTHROTTLE_START_DELAY (1 s) a
request for the whole run: 200 feeds of one feed service took 125 s to learn that nothing changed.

`PollingThrottle` adjusts the delay after a 304 by Scrapy's own rule for a 200. A 304's latency is
measured as a 200's is (until the headers arrive) and is the server's real cost of answering, so the
feedback stays negative: a server slow to answer raises the delay at once, a fast one lets it fall by
half the gap each time. One bound is added: a 304 lowers a delay no further than the Scrapy setting
NOT_MODIFIED_MIN_DELAY (25 ms in newsbot.sources.settings: about 40 conditional GETs a second at most
to a host that answers them in a millisecond), and never raises a delay that the host's 200s brought
below it. Scrapy decides the rest as before: every other status, the start and maximum delays,
CONCURRENT_REQUESTS_PER_DOMAIN (at most that many requests in flight to a host) and robots.txt.

A host's pace is remembered between runs. Each run would otherwise start every host at the start
delay again and spend about two seconds per host halving its way down to the pace the last run
had already learned: a warm run of 1,000 feeds on 50 hosts spent 6 s fetching where a plain client
needs 0.9 s. `PollingThrottle.paces` holds each download slot's delay after its last answer; the
run stores them (newsbot.storage.pacing) and the next crawl starts each remembered slot there
through Scrapy's own per-slot setting, DOWNLOAD_SLOTS (`starting_slots`), bounded as AutoThrottle
bounds any delay and never below NOT_MODIFIED_MIN_DELAY. A slow host is remembered slow; a pace
older than PACE_MEMORY is forgotten (the host may have changed since); AutoThrottle adapts from
there as it always does. Only while AutoThrottle is on: without it a host's delay is DOWNLOAD_DELAY,
nothing is learned and nothing remembered applies.

A host's first robots.txt is fetched in a download slot of its own (`RobotsTxtOwnSlot`). In the
host's slot it counted as the host's first request, and the first feed waited a whole delay after
it: every new host sat idle for a second (a cold run of 1,000 feeds on 50 hosts, both cores idle
after its imports). Now the host's first request follows the robots.txt answer at once, as a
browser's page follows its robots.txt, and the host's delay (the start delay, or the pace
remembered for it) spaces the requests after that one. robots.txt is never in flight beside the
host's own requests: RobotsTxtMiddleware holds them until it is read, and a robots.txt asked for
once the host's slot is in use (the same host under another port or user) is fetched in that slot,
within its concurrency, as Scrapy would.

A request that waits on its host's delay waits by the delay of the moment, not of the moment it was
queued. Scrapy plans the wait once, when the request is queued; a new host's second feed is queued
while the first is in flight, and waited the whole start delay although the first answer had
halved it: a cold run of 1,000 feeds on 50 hosts sat with both cores idle for most of a second
after its first requests. When an answer moves a host's delay, the planned wait is dropped and the
downloader plans it again from the new delay (a slow answer's longer delay likewise holds the
waiting request longer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from scrapy.extensions.throttle import AutoThrottle
from scrapy.utils.httpobj import urlparse_cached

from newsbot.sources.robots import is_robots_txt_request

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings

NOT_MODIFIED_MIN_DELAY = "NEWSBOT_NOT_MODIFIED_MIN_DELAY"  # Scrapy setting: seconds, the floor a 304 may lower to
NOT_MODIFIED = 304
OK = 200
PACE_MEMORY = timedelta(days=7)  # a host's pace older than this is forgotten: the host may have changed since
ROBOTS_TXT_SLOT = "robots.txt "  # + the host's name: the download slot its robots.txt is fetched in


class PollingThrottle(AutoThrottle):
    """Scrapy's AutoThrottle, except that a 304 may lower a host's delay (down to a floor)."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.not_modified_min_delay = crawler.settings.getfloat(NOT_MODIFIED_MIN_DELAY)
        self.paces: dict[str, float] = {}  # each download slot that answered → its delay after its last answer

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        key, slot = self._get_slot(request, spider)
        before = slot.delay if slot is not None else None
        super()._response_downloaded(response, request, spider)
        if key is None or slot is None:
            return
        if slot.delay != before and slot.latercall is not None:
            # The host's next request waits on the delay it had when it was queued: re-timed here, its
            # wait is planned again from the new delay by the downloader, which does that for the
            # slot as soon as this signal returns (Downloader._download's `finally`).
            slot.latercall.cancel()
            slot.latercall = None
        if not key.startswith(ROBOTS_TXT_SLOT):
            self.paces[key] = slot.delay

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        if response.status != NOT_MODIFIED:
            super()._adjust_delay(slot, latency, response)
            return
        before = slot.delay
        super()._adjust_delay(slot, latency, response.replace(status=OK))
        if slot.delay < before:
            slot.delay = max(slot.delay, min(before, self.not_modified_min_delay))


class RobotsTxtOwnSlot:
    """Downloader middleware: a host's first robots.txt in a download slot of its own (see the module)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsTxtOwnSlot:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not is_robots_txt_request(request) or "download_slot" in request.meta or self.crawler.engine is None:
            return
        downloader = self.crawler.engine.downloader
        if downloader.get_slot_key(request) not in downloader.slots:  # nothing sent to the host yet
            request.meta["download_slot"] = ROBOTS_TXT_SLOT + (urlparse_cached(request).hostname or "")


def starting_slots(settings: BaseSettings, paces: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """DOWNLOAD_SLOTS entries that start each remembered download slot at its remembered delay.

    Bounded as AutoThrottle bounds every delay it sets (DOWNLOAD_DELAY, AUTOTHROTTLE_MAX_DELAY) and
    never below NOT_MODIFIED_MIN_DELAY: a pace that 200s brought lower within a run is not where a
    whole run starts. A pace above AUTOTHROTTLE_START_DELAY is kept: a slow host starts slow. None
    without AutoThrottle, whose delay is DOWNLOAD_DELAY for every host.
    """
    if not settings.getbool("AUTOTHROTTLE_ENABLED"):
        return {}
    lowest = max(settings.getfloat("DOWNLOAD_DELAY"), settings.getfloat(NOT_MODIFIED_MIN_DELAY))
    highest = settings.getfloat("AUTOTHROTTLE_MAX_DELAY")
    return {slot: {"delay": min(max(lowest, delay), highest)} for slot, delay in paces.items()}


def final_paces(throttles: Iterable[PollingThrottle]) -> dict[str, float]:
    """Each slot's delay after its last answer, over every crawler of a run; a host that two
    crawlers paced keeps the slower of their delays."""
    paces: dict[str, float] = {}
    for throttle in throttles:
        for slot, delay in throttle.paces.items():
            paces[slot] = max(delay, paces.get(slot, delay))
    return paces
