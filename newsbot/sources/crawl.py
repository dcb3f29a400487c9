"""Run every source's spider in this process and hand each FetchResult over as soon as it is complete.

Scrapy owns fetching (concurrency, robots.txt, AutoThrottle, retries, size and time bounds); this
module builds its settings from newsbot.yaml, starts the built-in spider for feeds, sites, listing
pages and sitemaps plus one crawler per user spider, and passes results on through a callback, so
each source is stored while the others still download (memory stays flat however many sources).
A Twisted reactor starts once per process, so one process does one crawl: the CLI is that process.

The crawl is bounded by the run (newsbot.pipeline.budget, newsbot.sources.bounds): when the budget is spent or a
signal arrives, no new request starts and every download in flight is cancelled, so each source
ends at once, cut short, with what it had. Scrapy's own signal handlers are not installed (their
first signal waits for every download in flight): newsbot.pipeline.budget.stop_on_signals stands in. If
anything still runs STOP_GRACE_SECONDS after a stop, the sources still open are handed over as
they are and the reactor is stopped where it stands.

Each host's pace is remembered between runs (newsbot.sources.throttle): the crawl is given the paces
the last runs learned, starts each remembered host there, and returns the paces it ends with.

A large warm crawl fetches part of its hosts (40% of its sources) in a second process
(newsbot.sources.crawl_process), whose results reach `on_result` in this thread like the rest.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.http import Response
from scrapy.settings import Settings as ScrapySettings
from scrapy.spiderloader import SpiderLoader
from twisted.internet.defer import Deferred, DeferredList
from twisted.python.failure import Failure

from newsbot.configuration.fetch_config import FetchSettings
from newsbot.models import FeedEntry, FetchResult, FetchStatus, SourceKind, SourceRequest
from newsbot.pipeline.budget import RunBudget
from newsbot.sources.addresses import ALLOWED_NETWORKS, INTERNAL_HOSTS, INTERNAL_META
from newsbot.sources.bounds import BOUNDS_ATTRIBUTE, RunBounds
from newsbot.sources.crawl_process import (
    SPLIT_AFTER,
    CrawlingProcess,
    CrawlOrder,
    Ended,
    discard_early,
    divided,
    halves,
)
from newsbot.sources.host_tokens import HOST_TOKENS, token_folder
from newsbot.sources.robots import is_robots_txt_request
from newsbot.sources.throttle import PollingThrottle, final_paces, starting_slots
from newsbot.sources.user_spiders import BUILT_IN, keep_newsbot_components, shared_names_allowed
from newsbot.spiders.news import NewsSpider
from newsbot.stories.dates import as_utc, parse_iso
from newsbot.stories.urls import is_http_url

log = logging.getLogger(__name__)
OnResult = Callable[[FetchResult], None]
Flush = Callable[[str], None]  # hands over, cut short for the given reason, what a spider still has open
STOP_GRACE_SECONDS = 3.0
HTTP_ERROR = 400
MAX_DNS_TIMEOUT = 15.0


@dataclass(frozen=True)
class CrawlEnd:
    """What a crawl leaves for the run besides each source's FetchResult."""

    skipped_hosts: list[str] = field(default_factory=list)  # one sentence per host given up on (newsbot.sources.hosts)
    paces: dict[str, float] = field(default_factory=dict)  # each download slot that answered → its final delay


def scrapy_settings(
    fetch: FetchSettings,
    internal_hosts: Sequence[str] = (),
    log_level: str = "WARNING",
    spider_modules: Sequence[str] = (BUILT_IN,),
    paces: Mapping[str, float] | None = None,
    host_tokens: str | None = None,
) -> ScrapySettings:
    """newsbot.sources.settings with newsbot.yaml's `fetch:` over it; each host in `paces` (download
    slot → delay, what earlier runs learned) starts at its pace rather than the start delay;
    `host_tokens`: the folder a split crawl's two processes count each host's transfers in."""
    settings = ScrapySettings()
    settings.setmodule("newsbot.sources.settings", priority="project")
    settings.setdict(
        {
            "USER_AGENT": fetch.user_agent,
            "DOWNLOAD_MAXSIZE": fetch.max_bytes,
            "DOWNLOAD_TIMEOUT": fetch.timeout_seconds,
            "DNS_TIMEOUT": min(MAX_DNS_TIMEOUT, fetch.timeout_seconds),  # a name that will not resolve is a dead host
            "RETRY_TIMES": fetch.retries,
            "RETRY_BACKOFF_SECONDS": fetch.retry_backoff_seconds,
            "AUTOTHROTTLE_START_DELAY": fetch.autothrottle_start_delay,
            "CONCURRENT_REQUESTS": fetch.concurrent_requests,
            "CONCURRENT_REQUESTS_PER_DOMAIN": fetch.concurrent_requests_per_domain,
            "ROBOTSTXT_OBEY": fetch.obey_robots_txt,
            ALLOWED_NETWORKS: list(fetch.allowed_networks),
            INTERNAL_HOSTS: sorted(set(internal_hosts)),
            "LOG_LEVEL": log_level,
            "SPIDER_MODULES": list(spider_modules),
            HOST_TOKENS: host_tokens,
            # The switches of newsbot's own components, above a team spider's custom_settings (whose
            # RETRY_ENABLED: False or AUTOTHROTTLE_ENABLED: False turned off the back-off retries or the
            # polling throttle; newsbot.sources.user_spiders keeps the components themselves).
            "RETRY_ENABLED": True,
            "AUTOTHROTTLE_ENABLED": True,
        },
        priority="cmdline",
    )
    # At project priority: a user spider's own DOWNLOAD_SLOTS (custom_settings) replaces it.
    settings.set("DOWNLOAD_SLOTS", starting_slots(settings, paces or {}), priority="project")
    return settings


def crawl(
    sources: Sequence[SourceRequest],
    fetch: FetchSettings,
    on_result: OnResult,
    is_known: Callable[[str], bool] = lambda url: False,
    budget: RunBudget | None = None,
    spider_modules: Sequence[str] = (BUILT_IN,),
    paces: Mapping[str, float] | None = None,
    known_there: Callable[[str], bool] | None = None,
    split_after: int = SPLIT_AFTER,
) -> CrawlEnd:
    """Fetch every source; each one's result reaches `on_result` exactly once, failures included.

    An exception from `on_result` (the database is full, say) stops the crawl and is raised here:
    Scrapy would otherwise log it and carry on, and stories would be lost silently. Each host in
    `paces` starts at its remembered delay. Returns one sentence per host given up on
    (newsbot.sources.hosts) for the run's summary, and the pace each host that answered ended with.
    `known_there`: `is_known` as a picklable callable another process can ask; given it, a crawl
    of at least `split_after` sources read before fetches part of its hosts in a second process.
    """
    budget = budget or RunBudget(fetch.run_budget_seconds)
    internal_hosts = [urlsplit(url).hostname or "" for source in sources if source.internal and (url := _start(source))]
    splits = known_there is not None and fetch.concurrent_requests > 1 and not budget.stopped
    here, there = halves(sources, split_after) if splits else (list(sources), [])
    if not there or known_there is None:
        discard_early()
        return crawl_here(sources, fetch, on_result, is_known, budget, spider_modules, paces, internal_hosts)
    fetch_here, fetch_there = divided(fetch)
    log_level = min(logging.getLogger().getEffectiveLevel(), logging.WARNING)
    with token_folder() as folder:
        tokens = str(folder)
        order = CrawlOrder(
            tuple(there),
            fetch_there,
            known_there,
            budget.seconds,
            budget.clock.monotonic() + budget.remaining(),
            tuple(spider_modules),
            dict(paces or {}),
            tuple(internal_hosts),
            log_level,
            tokens,
        )
        return crawl_here(
            here, fetch_here, on_result, is_known, budget, spider_modules, paces, internal_hosts, order, tokens
        )


def crawl_here(
    sources: Sequence[SourceRequest],
    fetch: FetchSettings,
    on_result: OnResult,
    is_known: Callable[[str], bool],
    budget: RunBudget,
    spider_modules: Sequence[str],
    paces: Mapping[str, float] | None,
    internal_hosts: Sequence[str],
    there: CrawlOrder | None = None,
    host_tokens: str | None = None,
) -> CrawlEnd:
    """`crawl` in this process, with `there`'s sources fetched by a second one; `internal_hosts`
    are those of every source of the run, wherever it is fetched; `host_tokens`: where both
    processes of a split crawl count each host's transfers."""
    everything = [*sources, *(there.sources if there else ())]
    if not everything:
        return CrawlEnd()
    reported: set[str] = set()
    problems: list[BaseException] = []
    if budget.stopped:  # stopped before the crawl began (even since it was split): all wait for the next run
        discard_early()
        for source in everything:
            on_result(_not_fetched(source, budget.stopped))
        return CrawlEnd()
    log_level = logging.getLevelName(min(logging.getLogger().getEffectiveLevel(), logging.WARNING))
    settings = scrapy_settings(fetch, internal_hosts, log_level, spider_modules, paces, host_tokens)
    with shared_names_allowed():  # a team's spider may replace a built-in one (newsbot.sources.user_spiders)
        process = CrawlerProcess(settings)
    bounds = RunBounds(budget)
    flushes: list[Flush] = []
    throttles: list[PollingThrottle] = []

    elsewhere: _Elsewhere | None = None

    def hand_over(result: FetchResult) -> None:
        if result.source in reported or problems:
            return
        reported.add(result.source)
        try:
            on_result(result)
        except BaseException as problem:
            problems.append(problem)
            if elsewhere is not None:
                elsewhere.close()
            process.stop()

    def crawl_built_in(built_in: Sequence[SourceRequest]) -> None:
        flushes.append(_crawl_built_in(process, built_in, is_known, bounds, hand_over, throttles))

    built_in = [source for source in sources if source.kind is not SourceKind.SPIDER]
    if built_in:
        crawl_built_in(built_in)
    with shared_names_allowed():
        loader = SpiderLoader(process.settings)
    for source in sources:
        if source.kind is SourceKind.SPIDER:
            flushes.append(_crawl_user_spider(process, loader, source, bounds, hand_over, throttles))
    # Once a crawler has installed Scrapy's reactor: the child's messages are handed to it.
    elsewhere = _Elsewhere(there, process, bounds, reported, hand_over, crawl_built_in) if there else None
    if elsewhere is not None and not elsewhere.start():
        crawl_built_in(elsewhere.sources)
    try:
        _run_bounded(process, budget, bounds, flushes, elsewhere)
    finally:
        if elsewhere is not None:
            elsewhere.close()
    for source in everything:
        if source.source not in reported:
            hand_over(_not_fetched(source, budget.stopped or ""))
    if problems:
        raise problems[0]
    ended = (elsewhere.ended if elsewhere else None) or Ended((), {})
    return CrawlEnd([*bounds.hosts.summary(), *ended.skipped_hosts], {**ended.paces, **final_paces(throttles)})


class _Elsewhere:
    """The second process's half within this crawl: its results handed over in the reactor's thread,
    its end awaited before the reactor stops, and its unfinished sources crawled here if it dies
    while the run goes on."""

    def __init__(
        self,
        order: CrawlOrder,
        process: CrawlerProcess,
        bounds: RunBounds,
        reported: set[str],
        hand_over: OnResult,
        crawl_here: Callable[[Sequence[SourceRequest]], None],
    ) -> None:
        from twisted.internet import reactor
        from twisted.internet.interfaces import IReactorThreads

        self.sources = order.sources
        self._process = process
        self._bounds = bounds
        self._reported = reported
        self._hand_over = hand_over
        self._crawl_here = crawl_here
        threads = IReactorThreads(reactor)
        self._child = CrawlingProcess(order, lambda message: threads.callFromThread(self._heard, message))
        self._closed = False
        self.ended: Ended | None = None
        self.done: Deferred[None] = Deferred()
        self.results = 0  # the sources it fetched (the run's log, and tests)

    def start(self) -> bool:
        """False if the child could not start (its sources are then this crawl's)."""
        started = self._child.start()
        if not started:
            self.done.callback(None)
        return started

    def interrupt(self) -> None:
        self._child.interrupt()

    def close(self) -> None:
        """The crawl is ending where it stands: the child with it, and nothing of its is taken over."""
        self._closed = True
        self._child.close()

    def _heard(self, message: FetchResult | Ended | None) -> None:
        if isinstance(message, FetchResult):
            self.results += 1
            self._hand_over(message)
        elif isinstance(message, Ended):
            self.ended = message
            log.info("the second crawling process fetched %d of %d sources", self.results, len(self.sources))
        elif not self.done.called:
            self._gone()

    def _gone(self) -> None:
        left = [source for source in self.sources if source.source not in self._reported]
        if self.ended is not None or self._closed or self._bounds.budget.stopped or not left:
            self.done.callback(None)
            return
        self._crawl_here(left)
        self._process.join().addBoth(lambda _: self.done.callback(None))


def _keep_throttle(crawler: Crawler, throttles: list[PollingThrottle]) -> None:
    """Once the crawler's extensions exist (when its spider opens), keep its PollingThrottle, whose
    paces outlive the crawler: a crawl the reactor had to crash still hands them over."""

    def opened(spider: Spider) -> None:
        throttle = crawler.get_extension(PollingThrottle)
        if throttle is not None:  # None without AutoThrottle: nothing is learned
            throttles.append(throttle)

    crawler.signals.connect(opened, signal=signals.spider_opened, weak=False)


def _run_bounded(
    process: CrawlerProcess, budget: RunBudget, bounds: RunBounds, flushes: list[Flush], elsewhere: _Elsewhere | None
) -> None:
    """Run the reactor until the crawl ends, here and `elsewhere`; a stop (budget, signal) cancels
    what is in flight in both."""
    from twisted.internet import reactor
    from twisted.internet.interfaces import IReactorThreads

    # Twisted types the global reactor as its common interfaces, which leave out threads: adapt to them.
    threads = IReactorThreads(reactor)

    def force_stop(reason: str) -> None:
        """Something outlived the cancellation: hand over what is open, then stop where it stands."""
        if elsewhere is not None:
            elsewhere.close()
        for flush in flushes:
            flush(reason)
        reactor.crash()
        # crash() skips the shutdown that would stop the thread pool (DNS lookups): stop it here,
        # or its threads keep the process alive after the run.
        threads.getThreadPool().stop()

    def stop(reason: str) -> None:
        bounds.cancel_in_flight()
        if elsewhere is not None and budget.signal_number is not None:  # a budget spent is the child's too
            elsewhere.interrupt()
        reactor.callLater(STOP_GRACE_SECONDS, force_stop, reason)

    def stop_reactor(_: object) -> None:
        with contextlib.suppress(RuntimeError):  # stopped already (force_stop)
            reactor.stop()

    finished = DeferredList([process.join(), *([elsewhere.done] if elsewhere else [])])
    if finished.called:  # nothing to wait for: the reactor would never be stopped
        return
    finished.addBoth(stop_reactor)
    expiry = reactor.callLater(budget.remaining(), budget.expire)
    with budget.listening(lambda reason: threads.callFromThread(stop, reason)):
        process.start(stop_after_crawl=False, install_signal_handlers=False)
    if expiry.active():
        expiry.cancel()


def _not_fetched(source: SourceRequest, stopped: str) -> FetchResult:
    """A source with no result: cut short if the run stopped (the next run fetches it), else failed."""
    error = stopped or "the crawl ended without a response"
    return FetchResult(source.source, source.url, FetchStatus.ERROR, error=error, cut_short=stopped or None)


def _crawl_built_in(
    process: CrawlerProcess,
    sources: Sequence[SourceRequest],
    is_known: Callable[[str], bool],
    bounds: RunBounds,
    hand_over: OnResult,
    throttles: list[PollingThrottle],
) -> Flush:
    """The built-in spider for feeds, sites, listing pages and sitemaps; what it leaves open is cut short."""
    crawler = process.create_crawler(NewsSpider)
    _keep_throttle(crawler, throttles)
    opened: list[NewsSpider] = []

    def flush(reason: str) -> None:
        for spider in opened:
            for result in spider.unfinished_results(reason):
                hand_over(result)

    def started(spider: NewsSpider) -> None:
        opened.append(spider)

    def closed(spider: NewsSpider, reason: str) -> None:
        flush(bounds.budget.stopped or f"the crawl ended early ({reason})")

    def failed(failure: Failure, response: Response | None, spider: NewsSpider) -> None:
        for result in spider.callback_failed(response, failure):
            hand_over(result)

    crawler.signals.connect(_collect(hand_over), signal=signals.item_scraped, weak=False)
    crawler.signals.connect(failed, signal=signals.spider_error, weak=False)
    crawler.signals.connect(started, signal=signals.spider_opened, weak=False)
    crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)
    process.crawl(crawler, sources=sources, is_known=is_known, **{BOUNDS_ATTRIBUTE: bounds})
    return flush


def _start(source: SourceRequest) -> str:
    """Where a source starts: its URL, or the `url` a spider source is given in `spider_args`."""
    return source.url or dict(source.spider_args).get("url", "")


def _collect(hand_over: OnResult) -> Callable[..., None]:
    def collect(item: object) -> None:
        if isinstance(item, FetchResult):
            hand_over(item)

    return collect


def _crawl_user_spider(
    process: CrawlerProcess,
    loader: SpiderLoader,
    source: SourceRequest,
    bounds: RunBounds,
    hand_over: OnResult,
    throttles: list[PollingThrottle],
) -> Flush:
    """A user's spider: its items become the source's entries when it closes (see README); a run
    that stopped before it closed keeps its items, cut short."""
    crawler: Crawler = process.create_crawler(loader.load(source.spider or ""))
    keep_newsbot_components(crawler.settings)  # its custom_settings replaced newsbot's components
    _keep_throttle(crawler, throttles)
    entries: list[FeedEntry] = []
    errors: list[str] = []
    requests = _Answers()

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

    def closed(spider: Spider | None, reason: str) -> None:
        stopped = bounds.budget.stopped
        if stopped:
            status = FetchStatus.OK if entries else FetchStatus.ERROR
            error = None if entries else stopped
            hand_over(FetchResult(source.source, source.url, status, tuple(entries), error=error, cut_short=stopped))
            return
        if not entries and not errors and requests.got_no_page:
            made = requests.made
            said = "its request got no page" if made == 1 else f"none of its {made} requests got a page"
            errors.append(f"{said} (`newsbot -v run` shows why)")
        if reason != "finished" or (errors and not entries):
            error = errors[0] if errors else f"the spider stopped early ({reason})"
            hand_over(FetchResult(source.source, source.url, FetchStatus.ERROR, entries=tuple(entries), error=error))
            return
        result = FetchResult(source.source, source.url, FetchStatus.OK, entries=tuple(entries), problems=tuple(errors))
        hand_over(result)

    crawler.signals.connect(scraped, signal=signals.item_scraped, weak=False)
    crawler.signals.connect(failed, signal=signals.spider_error, weak=False)
    crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)
    crawler.signals.connect(requests.scheduled, signal=signals.request_scheduled, weak=False)
    crawler.signals.connect(requests.answered, signal=signals.response_received, weak=False)
    process.crawl(
        crawler,
        **dict(source.spider_args),
        newsbot_source=source.source,
        **{INTERNAL_META: source.internal, BOUNDS_ATTRIBUTE: bounds},
    )
    return lambda reason: closed(None, reason)


@dataclass
class _Answers:
    """A team spider's own requests (scheduled: robots.txt's are not, nor retries) and those that got a
    page (an answer under 400). A spider whose requests all fail, are refused (the address guard, its
    allowed_domains) or answer 404, with an errback that swallows each failure, yields nothing and
    raises nothing: without this count it was "ok, 0 stories" run after run, and never failing."""

    made: int = 0
    pages: int = 0

    def scheduled(self, request: Request) -> None:
        self.made += not request.meta.get("retry_times")

    def answered(self, response: Response, request: Request) -> None:
        self.pages += response.status < HTTP_ERROR and not is_robots_txt_request(request)

    @property
    def got_no_page(self) -> bool:
        return self.made > 0 and self.pages == 0


def entry_from_item(item: Any) -> FeedEntry | None:
    """A user spider's item (dict or scrapy.Item) as an entry; `url` (or `link`) is required."""
    if isinstance(item, FeedEntry):
        return item
    if not isinstance(item, Mapping):
        return None
    link = str(item.get("url") or item.get("link") or "")
    if not is_http_url(link):
        return None
    return FeedEntry(
        link=link,
        title=str(item.get("title") or ""),
        summary=str(item.get("summary") or ""),
        content=str(item.get("text") or item.get("content") or ""),
        published=_published(item.get("published")),
    )


def _published(value: object) -> datetime | None:
    """An item's `published` (ISO text or a datetime) as aware UTC; None if there is no such moment
    (year 9999 at UTC-14 is past the last one UTC can hold)."""
    if isinstance(value, str):
        return parse_iso(value)
    return as_utc(value) if isinstance(value, datetime) else None
