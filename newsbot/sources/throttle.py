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
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.extensions.throttle import AutoThrottle

if TYPE_CHECKING:
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Response

NOT_MODIFIED_MIN_DELAY = "NEWSBOT_NOT_MODIFIED_MIN_DELAY"  # Scrapy setting: seconds, the floor a 304 may lower to
NOT_MODIFIED = 304
OK = 200


class PollingThrottle(AutoThrottle):
    """Scrapy's AutoThrottle, except that a 304 may lower a host's delay (down to a floor)."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.not_modified_min_delay = crawler.settings.getfloat(NOT_MODIFIED_MIN_DELAY)

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        if response.status != NOT_MODIFIED:
            super()._adjust_delay(slot, latency, response)
            return
        before = slot.delay
        super()._adjust_delay(slot, latency, response.replace(status=OK))
        if slot.delay < before:
            slot.delay = max(slot.delay, min(before, self.not_modified_min_delay))
