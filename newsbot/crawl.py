"""Run the feed spider in this process and hand back one FetchResult per source.

Scrapy owns fetching (concurrency, robots.txt, AutoThrottle, retries, size and time bounds); this
module only builds its settings from newsbot.yaml and collects items through a signal. A Twisted
reactor starts once per process, so one process does one crawl: the CLI is that process.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from newsbot.config import FetchSettings
from newsbot.models import FeedRequest, FetchResult, FetchStatus
from spiders.feeds import FeedSpider


def scrapy_settings(fetch: FetchSettings, log_level: str = "WARNING") -> ScrapySettings:
    settings = ScrapySettings()
    settings.setmodule("newsbot.settings", priority="project")
    settings.setdict(
        {
            "USER_AGENT": fetch.user_agent,
            "DOWNLOAD_MAXSIZE": fetch.max_bytes,
            "DOWNLOAD_TIMEOUT": fetch.timeout_seconds,
            "RETRY_TIMES": fetch.retries,
            "AUTOTHROTTLE_START_DELAY": fetch.autothrottle_start_delay,
            "CONCURRENT_REQUESTS_PER_DOMAIN": fetch.concurrent_requests_per_domain,
            "ROBOTSTXT_OBEY": fetch.obey_robots_txt,
            "LOG_LEVEL": log_level,
        },
        priority="cmdline",
    )
    return settings


def crawl_feeds(feeds: Sequence[FeedRequest], fetch: FetchSettings) -> list[FetchResult]:
    """Fetch every feed; a source the spider never reported on becomes an error result."""
    if not feeds:
        return []
    log_level = logging.getLevelName(min(logging.getLogger().getEffectiveLevel(), logging.WARNING))
    process = CrawlerProcess(scrapy_settings(fetch, log_level))
    results: list[FetchResult] = []

    def collect(item: object) -> None:
        if isinstance(item, FetchResult):
            results.append(item)

    crawler = process.create_crawler(FeedSpider)
    crawler.signals.connect(collect, signal=signals.item_scraped)
    process.crawl(crawler, feeds=feeds)
    process.start()
    reported = {result.source for result in results}
    results += [
        FetchResult(feed.source, feed.url, FetchStatus.ERROR, error="the crawl ended without a response")
        for feed in feeds
        if feed.source not in reported
    ]
    return results
