"""Run every source's spider in this process and hand each FetchResult over as soon as it is complete.

Scrapy owns fetching (concurrency, robots.txt, AutoThrottle, retries, size and time bounds); this
module builds its settings from newsbot.yaml, starts the built-in spider for feeds, sites, listing
pages and sitemaps plus one crawler per user spider, and passes results on through a callback, so
each source is stored while the others still download (memory stays flat however many sources).
A Twisted reactor starts once per process, so one process does one crawl: the CLI is that process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Spider, signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings as ScrapySettings
from scrapy.spiderloader import SpiderLoader
from twisted.python.failure import Failure

from newsbot.addresses import ALLOWED_NETWORKS, INTERNAL_HOSTS, INTERNAL_META
from newsbot.config import FetchSettings
from newsbot.dates import parse_iso
from newsbot.models import FeedEntry, FetchResult, FetchStatus, SourceKind, SourceRequest
from newsbot.urls import is_http_url
from spiders.news import NewsSpider

OnResult = Callable[[FetchResult], None]


def scrapy_settings(
    fetch: FetchSettings, internal_hosts: Sequence[str] = (), log_level: str = "WARNING"
) -> ScrapySettings:
    settings = ScrapySettings()
    settings.setmodule("newsbot.settings", priority="project")
    settings.setdict(
        {
            "USER_AGENT": fetch.user_agent,
            "DOWNLOAD_MAXSIZE": fetch.max_bytes,
            "DOWNLOAD_TIMEOUT": fetch.timeout_seconds,
            "RETRY_TIMES": fetch.retries,
            "RETRY_BACKOFF_SECONDS": fetch.retry_backoff_seconds,
            "AUTOTHROTTLE_START_DELAY": fetch.autothrottle_start_delay,
            "CONCURRENT_REQUESTS": fetch.concurrent_requests,
            "CONCURRENT_REQUESTS_PER_DOMAIN": fetch.concurrent_requests_per_domain,
            "ROBOTSTXT_OBEY": fetch.obey_robots_txt,
            ALLOWED_NETWORKS: list(fetch.allowed_networks),
            INTERNAL_HOSTS: sorted(set(internal_hosts)),
            "LOG_LEVEL": log_level,
        },
        priority="cmdline",
    )
    return settings


def crawl(
    sources: Sequence[SourceRequest],
    fetch: FetchSettings,
    on_result: OnResult,
    is_known: Callable[[str], bool] = lambda url: False,
) -> None:
    """Fetch every source; each one's result reaches `on_result` exactly once, failures included.

    An exception from `on_result` (the database is full, say) stops the crawl and is raised here:
    Scrapy would otherwise log it and carry on, and stories would be lost silently.
    """
    if not sources:
        return
    log_level = logging.getLevelName(min(logging.getLogger().getEffectiveLevel(), logging.WARNING))
    internal_hosts = [urlsplit(url).hostname or "" for source in sources if source.internal and (url := _start(source))]
    process = CrawlerProcess(scrapy_settings(fetch, internal_hosts, log_level))
    reported: set[str] = set()
    problems: list[BaseException] = []

    def hand_over(result: FetchResult) -> None:
        if result.source in reported or problems:
            return
        reported.add(result.source)
        try:
            on_result(result)
        except BaseException as problem:
            problems.append(problem)
            process.stop()

    built_in = [source for source in sources if source.kind is not SourceKind.SPIDER]
    if built_in:
        crawler = process.create_crawler(NewsSpider)
        crawler.signals.connect(_collect(hand_over), signal=signals.item_scraped, weak=False)
        process.crawl(crawler, sources=built_in, is_known=is_known)
    loader = SpiderLoader(process.settings)
    for source in sources:
        if source.kind is SourceKind.SPIDER:
            _crawl_user_spider(process, loader, source, hand_over)
    process.start()
    for source in sources:
        if source.source not in reported:
            hand_over(
                FetchResult(source.source, source.url, FetchStatus.ERROR, error="the crawl ended without a response")
            )
    if problems:
        raise problems[0]


def _start(source: SourceRequest) -> str:
    """Where a source starts: its URL, or the `url` a spider source is given in `spider_args`."""
    return source.url or dict(source.spider_args).get("url", "")


def _collect(hand_over: OnResult) -> Callable[..., None]:
    def collect(item: object) -> None:
        if isinstance(item, FetchResult):
            hand_over(item)

    return collect


def _crawl_user_spider(
    process: CrawlerProcess, loader: SpiderLoader, source: SourceRequest, hand_over: OnResult
) -> None:
    """A user's spider: its items become the source's entries when it closes (see README)."""
    crawler: Crawler = process.create_crawler(loader.load(source.spider or ""))
    entries: list[FeedEntry] = []
    errors: list[str] = []

    def scraped(item: Any) -> None:
        entry = entry_from_item(item)
        if entry is None:
            errors.append(
                f"an item without an http(s) url: {dict(item) if isinstance(item, Mapping) else item!r}"[:300]
            )
        else:
            entries.append(entry)

    def failed(failure: Failure, response: Any, spider: Spider) -> None:
        errors.append(f"{type(failure.value).__name__}: {failure.value}")

    def closed(spider: Spider, reason: str) -> None:
        if reason != "finished" or (errors and not entries):
            error = errors[0] if errors else f"the spider stopped early ({reason})"
            hand_over(FetchResult(source.source, source.url, FetchStatus.ERROR, entries=tuple(entries), error=error))
            return
        hand_over(
            FetchResult(source.source, source.url, FetchStatus.OK, entries=tuple(entries), article_errors=tuple(errors))
        )

    crawler.signals.connect(scraped, signal=signals.item_scraped, weak=False)
    crawler.signals.connect(failed, signal=signals.spider_error, weak=False)
    crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)
    process.crawl(crawler, **dict(source.spider_args), newsbot_source=source.source, **{INTERNAL_META: source.internal})


def entry_from_item(item: Any) -> FeedEntry | None:
    """A user spider's item (dict or scrapy.Item) as an entry; `url` (or `link`) is required."""
    if isinstance(item, FeedEntry):
        return item
    if not isinstance(item, Mapping):
        return None
    link = str(item.get("url") or item.get("link") or "")
    if not is_http_url(link):
        return None
    published = item.get("published")
    if isinstance(published, str):
        published = parse_iso(published)
    if isinstance(published, datetime) and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return FeedEntry(
        link=link,
        title=str(item.get("title") or ""),
        summary=str(item.get("summary") or ""),
        content=str(item.get("text") or item.get("content") or ""),
        published=published if isinstance(published, datetime) else None,
    )
