"""The spider for every configured feed, site, listing page and sitemap: one FetchResult per source.

A source is finished when its own page (or feed, or sitemap) and every article fetched for it are
done; only then is its FetchResult yielded, so a source's stories and its new validators are stored
together. Every failure is a value in that result — the source's page failing makes the result an
error, an article failing leaves that story with its teaser — and never stops another source.

Unchanged sources cost nothing: a 304, or a body whose hash is the one parsed last time, ends the
source as NOT_MODIFIED before any parsing. Articles are fetched only for links not yet stored.

Bounded: at most `max_articles` article pages per source per run, for its newest stories first
(undated ones last), and none for stories too old to alert (`oldest`). A story whose article is
beyond that cap, or was not fetched because the run stopped (its budget spent, a signal:
newsbot.sources.bounds) or its host was skipped (newsbot.sources.hosts), is not kept this run: the source's result is
*cut short*, so its validators are not stored and the next run fetches it again, skips what was
stored and fetches the rest. Keeping the teaser instead would alert on less text and, once stored,
the article would never be fetched; waiting costs one cron interval for the stories past the cap.
"""

from __future__ import annotations

import struct
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import scrapy
from parsel import Selector
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip, gzip_magic_number
from twisted.python.failure import Failure

from newsbot.models import (
    CUT_BY_MAX_ARTICLES,
    CUT_BY_SKIPPED_HOST,
    FeedEntry,
    FetchResult,
    FetchStatus,
    FullText,
    SourceKind,
    SourceRequest,
)
from newsbot.sources.addresses import INTERNAL_META
from newsbot.sources.bounds import CutShort, bounds_of
from newsbot.sources.hosts import HostSkipped
from newsbot.sources.pages import base_url_of, feed_links, next_page, redirected_away, story_links
from newsbot.sources.reading import FeedRead, is_teaser, read_article, read_feed, text_of
from newsbot.sources.reading_process import START_AFTER_READS, ReadingProcess, ReadingStoppedError
from newsbot.sources.sitemaps import SitemapEntry, newest, newest_sitemaps, parse_sitemap
from newsbot.spiders.failures import describe_failure
from newsbot.stories.normalize import entry_identity, plain_entry

NOT_MODIFIED = 304
GONE = (404, 410)
MAX_CHILD_SITEMAPS = 5
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
Item = FetchResult | scrapy.Request


@dataclass
class _Source:
    """What one source has gathered so far in this crawl."""

    request: SourceRequest
    entries: list[FeedEntry] = field(default_factory=list)
    pending: int = 1  # the source's own page, plus each article or page still downloading
    links_seen: set[str] = field(default_factory=set)
    links_found: int | None = None
    pages_followed: int = 0
    article_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # a later listing page, a child sitemap
    parse_seconds: float = 0.0
    outcome: FetchResult | None = None  # the source's own page: status, validators, error
    finished: bool = False
    articles_requested: int = 0
    waiting_stories: int = 0  # stories not kept this run: over max_articles, or the run stopped
    stopped: str | None = None  # why the run stopped before this source finished


class NewsSpider(scrapy.Spider):
    name = "newsbot_sources"
    newsbot_builtin = True  # not a `spider:` a source may name

    def __init__(
        self,
        sources: Iterable[SourceRequest] = (),
        is_known: Callable[[str], bool] = lambda url: False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.sources = tuple(sources)
        self.is_known = is_known  # canonical URL → already stored (its article is not fetched again)
        self._waiting: dict[str, list[tuple[_Source, FeedEntry]]] = {}  # article URL → entries awaiting it
        self._states = [_Source(source) for source in self.sources]
        self.reading = ReadingProcess(stopping=self._stopped, start_after=START_AFTER_READS)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider: NewsSpider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.reading.close, signal=signals.spider_closed)
        return spider

    def _stopped(self) -> str | None:
        bounds = bounds_of(self)
        return bounds.budget.stopped if bounds else None

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.reading.expect(sum(1 for state in self._states if state.request.body_hash is None))  # never read
        for state in self._states:
            yield self._first_request(state)

    def unfinished_results(self, reason: str) -> list[FetchResult]:
        """The sources still open when the crawl had to end, cut short with what they gathered."""
        self.reading.close()
        results = []
        for state in self._states:
            if not state.finished:
                state.finished = True
                state.stopped = state.stopped or reason
                results.append(self._result(state))
        return results

    def callback_failed(self, response: Response | Failure | None, failure: Failure) -> Iterator[FetchResult]:
        """A page whose reading raised (a bug, or markup that broke a selector): its source fails with
        the error, or, for a later page, keeps what it had with the error among its problems. Left
        open, it waited for the crawl's end and was "cut short" every run: never stored, so never
        FAILING, and no notice ever said so. An errback that raised is signalled with the Failure it
        was handed where the response would be; Scrapy attaches the request to it."""
        request = response.request if isinstance(response, Response) else getattr(response, "request", None)
        state = request.meta.get("source") if isinstance(request, scrapy.Request) else None
        if request is None or not isinstance(state, _Source) or state.finished:
            return
        error = f"reading {request.url} failed ({type(failure.value).__name__}: {failure.value})"
        if state.outcome is None:
            state.outcome = self._error(state, error)
        else:
            state.problems.append(error)
        yield from self._done(state)

    def _first_request(self, state: _Source) -> scrapy.Request:
        source = state.request
        if source.kind is SourceKind.FEED or (source.kind is SourceKind.SITE and source.feed_url):
            return self._request(state, source.feed_url or source.url, self.parse_feed, FEED_ACCEPT, conditional=True)
        if source.kind is SourceKind.SITE:
            return self._request(state, source.url, self.parse_site, HTML_ACCEPT)
        if source.kind is SourceKind.SITEMAP:
            return self._request(state, source.url, self.parse_sitemap, FEED_ACCEPT, conditional=True)
        return self._request(state, source.url, self.parse_listing, HTML_ACCEPT, conditional=True)

    def _request(
        self,
        state: _Source,
        url: str,
        callback: Callable[..., Iterable[Item] | AsyncIterator[Item]],
        accept: str,
        *,
        conditional: bool = False,
        errback: Callable[[Failure], Iterable[Item]] | None = None,
        priority: int = 0,
        **meta: Any,
    ) -> scrapy.Request:
        source = state.request
        headers = {"Accept": accept}
        if conditional and source.etag:
            headers["If-None-Match"] = source.etag
        if conditional and source.last_modified:
            headers["If-Modified-Since"] = source.last_modified
        return scrapy.Request(
            url,
            headers=headers,
            callback=callback,
            errback=errback or self.source_failed,
            dont_filter=True,
            priority=priority,
            meta={"source": state, INTERNAL_META: source.internal, "handle_httpstatus_list": [NOT_MODIFIED], **meta},
        )

    # The source's own page -----------------------------------------------------------------------

    async def parse_feed(self, response: Response, **kwargs: Any) -> AsyncIterator[Item]:
        state: _Source = response.meta["source"]
        if self._changed(state, response):
            try:
                read = await self.reading.read(
                    read_feed, response.body, response.url, _header(response, b"Content-Type"), size=len(response.body)
                )
            except ReadingStoppedError as stopped:  # the next run fetches the source again
                state.stopped = state.stopped or str(stopped)
            else:
                for item in self._feed_read(state, response, read):
                    yield item
        for item in self._done(state):
            yield item

    def _feed_read(self, state: _Source, response: Response, read: FeedRead) -> Iterator[Item]:
        state.parse_seconds += 0.0 if read.read_there else read.seconds  # the crawl's own time
        if read.error is not None:
            state.outcome = self._error(state, read.error)
            return
        state.outcome = self._ok(state, response, feed_url=response.meta.get("feed_url"))
        if read.warning is not None:
            state.problems.append(read.warning)
        for entry in read.entries:
            yield from self._take(state, entry, teaser=is_teaser(entry))

    def parse_site(self, response: Response, **kwargs: Any) -> Iterator[Item]:
        """A home page: follow its first announced feed, which later runs fetch directly."""
        state: _Source = response.meta["source"]
        links = []
        if _is_html(response):
            home = Selector(text=_text(response))
            links = feed_links(home, base_url_of(home, response.url))
        if not links:
            state.outcome = self._error(
                state, 'the page announces no feed (no <link rel="alternate"> to RSS, Atom or JSON)'
            )
            yield from self._done(state)
            return
        rediscovered = response.meta.get("rediscovered", False)
        yield self._request(state, links[0], self.parse_feed, FEED_ACCEPT, feed_url=links[0], rediscovered=rediscovered)

    def parse_listing(self, response: Response, **kwargs: Any) -> Iterator[Item]:
        state: _Source = response.meta["source"]
        source = state.request
        first_page = state.pages_followed == 0
        if first_page and not self._changed(state, response):
            yield from self._done(state)
            return
        if not _is_html(response):
            if first_page:
                state.outcome = self._error(state, "the listing page is not HTML")
            else:  # a later page: the source keeps what its first page gave
                state.problems.append(f"{response.url}: the page is not HTML")
            yield from self._done(state)
            return
        page = Selector(text=_text(response))
        base = base_url_of(page, response.url)
        wanted = max(0, source.max_items - len(state.links_seen))
        links = story_links(page, base, css=source.links_css, xpath=source.links_xpath, limit=wanted)
        state.links_found = (state.links_found or 0) + len(links)
        if first_page:
            state.outcome = self._ok(state, response)
        following = next_page(page, base, source.next_page_css)
        if following and state.pages_followed < source.follow_pages:
            state.pages_followed += 1
            state.pending += 1
            yield self._request(state, following, self.parse_listing, HTML_ACCEPT, errback=self.page_failed)
        for url, text in links:
            yield from self._take(state, FeedEntry(link=url, title=text), teaser=True, only_new=True)
        yield from self._done(state)

    def parse_sitemap(self, response: Response, **kwargs: Any) -> Iterator[Item]:
        state: _Source = response.meta["source"]
        source = state.request
        child = response.meta.get("child_sitemap", False)
        # An index is never "unchanged": its sitemaps change while it stays as it is (its <lastmod>s,
        # when it has any, do not always move), so it is read every run (_ok without its validators).
        if not child and not self._changed(state, response):
            yield from self._done(state)
            return
        started = time.perf_counter()
        try:
            sitemap = parse_sitemap(self._sitemap_body(response))
        except ValueError as problem:
            if child:
                state.problems.append(f"{response.url}: {problem}")
            else:
                state.outcome = self._error(state, str(problem))
            yield from self._done(state)
            return
        finally:
            state.parse_seconds += time.perf_counter() - started
        if not child:
            state.outcome = self._ok(state, response, remembered=not sitemap.is_index)
        since = source.oldest
        if sitemap.is_index and not child:
            for entry in newest_sitemaps(sitemap.entries, MAX_CHILD_SITEMAPS, since):
                state.pending += 1
                yield self._request(
                    state, entry.url, self.parse_sitemap, FEED_ACCEPT, errback=self.page_failed, child_sitemap=True
                )
        elif not sitemap.is_index:
            # Every story link it gives counts as found, those too old or stored already too: a news
            # sitemap of a quiet day is not a selector that matched nothing.
            state.links_found = (state.links_found or 0) + len(sitemap.entries)
            chosen = newest(sitemap.entries, source.max_items, since)
            for entry in chosen:
                yield from self._take(state, _sitemap_entry(entry), teaser=True, only_new=True)
        yield from self._done(state)

    # The errbacks' `type: ignore[attr-defined]`: Scrapy attaches the request to the Failure it hands an
    # errback (failure.request), an attribute Twisted's Failure does not declare.
    def source_failed(self, failure: Failure) -> Iterator[Item]:
        state: _Source = failure.request.meta["source"]  # type: ignore[attr-defined]
        source = state.request
        if (
            source.kind is SourceKind.SITE
            and source.feed_url
            and failure.request.url == source.feed_url  # type: ignore[attr-defined]
            and isinstance(failure.value, HttpError)
            and failure.value.response.status in GONE
            and not failure.request.meta.get("rediscovered")  # type: ignore[attr-defined]
        ):  # the remembered feed is gone: look for the site's current one, once
            yield self._request(state, source.url, self.parse_site, HTML_ACCEPT, rediscovered=True)
            return
        if isinstance(failure.value, CutShort):
            state.stopped = str(failure.value)
        else:
            state.outcome = self._error(state, describe_failure(failure))
        yield from self._done(state)

    def page_failed(self, failure: Failure) -> Iterator[Item]:
        """A later listing page or a child sitemap: the source keeps what its first page gave."""
        state: _Source = failure.request.meta["source"]  # type: ignore[attr-defined]
        if isinstance(failure.value, CutShort):
            state.stopped = str(failure.value)
        else:
            state.problems.append(f"{failure.request.url}: {describe_failure(failure)}")  # type: ignore[attr-defined]
        yield from self._done(state)

    # Articles ------------------------------------------------------------------------------------

    def _take(self, state: _Source, entry: FeedEntry, *, teaser: bool, only_new: bool = False) -> Iterator[Item]:
        """Keep an entry, first fetching its article when the source wants full text and it is new."""
        identity = entry_identity(entry)
        if identity in state.links_seen:
            return
        if identity:
            state.links_seen.add(identity)
        # An anchored item is one of many on its page: the page is not its text, nor its address.
        wants_text = (
            not entry.anchored
            and not _too_old(entry, state.request)
            and (state.request.full_text is FullText.ALWAYS or (state.request.full_text is FullText.AUTO and teaser))
        )
        known = bool(identity) and self.is_known(identity)
        if known and only_new:
            return
        if not wants_text or known or not identity:
            state.entries.append(entry)
            return
        waiting = self._waiting.get(identity)
        if waiting is not None:  # another source is already fetching this article
            state.pending += 1
            waiting.append((state, entry))
            return
        if state.articles_requested >= state.request.max_articles:
            state.waiting_stories += 1  # the next run fetches it (the source is cut short)
            return
        state.articles_requested += 1
        state.pending += 1
        self._waiting[identity] = [(state, entry)]
        # Sources' own pages go first (priority 0), then each source's newest article, its second newest, …
        yield self._request(
            state,
            entry.link,
            self.parse_article,
            HTML_ACCEPT,
            errback=self.article_failed,
            priority=-state.articles_requested,
            article=identity,
        )

    async def parse_article(self, response: Response, **kwargs: Any) -> AsyncIterator[Item]:
        state: _Source = response.meta["source"]
        fed = response.meta["article"]  # the link's identity, which every waiting entry has
        waiting = self._waiting.pop(fed, [])
        if response.status != 200 or not _is_html(response):
            error = f"{response.url}: not an HTML page (HTTP {response.status})"
            for item in self._finish_articles(waiting, lambda entry: entry, error):
                yield item
            return
        if stopped := self._stopped():  # reading the page takes seconds; a stopped run does not start it
            for item in self._wait_for_next_run(waiting, stopped):
                yield item
            return
        asked = (response.meta.get("redirect_urls") or [response.url])[0]
        if redirected_away(response.url, asked):
            # The site sent the reader away (an article gone, or paywalled): not the article's text,
            # nor its address; stored there, every such link was one story.
            error = f"{asked}: redirected to {response.url}, not an article"
            for item in self._finish_articles(waiting, lambda entry: entry, error):
                yield item
            return
        source = state.request
        try:
            read = await self.reading.read(
                read_article,
                _text(response),
                response.url,
                source.title_css,
                source.date_css,
                source.url,
                size=len(response.body),
            )
        except ReadingStoppedError as stopped:
            for item in self._wait_for_next_run(waiting, str(stopped)):
                yield item
            return
        state.parse_seconds += 0.0 if read.read_there else read.seconds  # the crawl's own time
        if read.error is not None:
            for item in self._finish_articles(waiting, lambda entry: entry, read.error):
                yield item
            return

        def enriched(entry: FeedEntry) -> FeedEntry:
            # The page's own canonical address: its copies join it. A listing's or a sitemap's entry
            # is made plain here: only a feed's were read in the reading process.
            entry = replace(plain_entry(entry), link=read.address, canonical=read.canonical, reached_by=fed)
            if len(read.text) <= len(text_of(entry)):  # e.g. a page of links
                return replace(entry, title=entry.title or read.title, published=entry.published or read.published)
            return replace(
                entry,
                title=read.title if source.title_css else entry.title or read.title,
                content=read.text,
                published=entry.published or read.published,
            )

        for item in self._finish_articles(waiting, enriched, None):
            yield item

    def article_failed(self, failure: Failure) -> Iterator[Item]:
        waiting = self._waiting.pop(failure.request.meta["article"], [])  # type: ignore[attr-defined]
        if isinstance(failure.value, CutShort):  # not this article's fault: not stored
            yield from self._wait_for_next_run(waiting, str(failure.value))
            return
        tried = bool(failure.request.meta.get("retry_times"))  # type: ignore[attr-defined]
        if isinstance(failure.value, HostSkipped) and not tried:  # never tried: not this article's fault
            yield from self._wait_for_next_run(waiting, f"{CUT_BY_SKIPPED_HOST} (see its line below)")
            return
        error = f"{failure.request.url}: {describe_failure(failure)}"  # type: ignore[attr-defined]
        yield from self._finish_articles(waiting, lambda entry: entry, error)

    def _wait_for_next_run(self, waiting: list[tuple[_Source, FeedEntry]], reason: str) -> Iterator[Item]:
        """The stories are not stored, so the next run fetches their articles: a stopped run, or a
        host skipped after failing again and again, says nothing about the article itself. (The
        links that failed before their host was skipped keep their teaser, a retry refused once it
        was skipped too, since its own request failed: a host that stays dead costs a few teasers a
        run until every story is stored, and not one story for good.)"""
        for state, _ in waiting:
            state.stopped = state.stopped or reason
            state.waiting_stories += 1
            yield from self._done(state)

    def _finish_articles(
        self, waiting: list[tuple[_Source, FeedEntry]], enrich: Callable[[FeedEntry], FeedEntry], error: str | None
    ) -> Iterator[Item]:
        """Each waiting source keeps its entry (with the article's text if there is one)."""
        for state, entry in waiting:
            state.entries.append(enrich(entry))
            if error:
                state.article_errors.append(error)
            yield from self._done(state)

    def _sitemap_body(self, response: Response) -> bytes:
        """The sitemap's XML, unzipped when it is a .xml.gz, within the same size bound as downloads."""
        if gzip_magic_number(response):
            try:
                return gunzip(response.body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
            except ValueError:  # the only ValueError gunzip raises: over max_size
                raise ValueError("the sitemap was larger than fetch.max_bytes once decompressed") from None
            except (OSError, EOFError, struct.error) as problem:
                raise ValueError(f"the gzipped sitemap could not be unpacked ({problem})") from None
        return response.body

    # Results -------------------------------------------------------------------------------------

    def _changed(self, state: _Source, response: Response) -> bool:
        """False (and the outcome set) when the source is as it was: a 304 or the same body."""
        source = state.request
        if response.status == NOT_MODIFIED:
            # A 304 to a request that named no version of the page (a CDN or proxy answering every
            # request so) would have kept the source "ok, unchanged" for good with nothing ever read.
            state.outcome = (
                self._unchanged(state, source.etag, source.last_modified)
                if _asked_conditionally(response)
                else self._error(
                    state, "the server answered 304 Not Modified to a request that named no version to compare with"
                )
            )
            return False
        if source.body_hash and source.body_hash_of(response.body) == source.body_hash:
            state.outcome = self._unchanged(
                state, _header(response, b"ETag"), _header(response, b"Last-Modified"), response.meta.get("feed_url")
            )
            return False
        return True

    def _unchanged(
        self, state: _Source, etag: str | None, last_modified: str | None, feed_url: str | None = None
    ) -> FetchResult:
        """The source as it was; a feed found again at a new address (same body) is remembered there."""
        source = state.request
        return FetchResult(
            source.source,
            source.url,
            FetchStatus.NOT_MODIFIED,
            etag=etag,
            last_modified=last_modified,
            body_hash=source.body_hash,
            feed_url=feed_url or source.feed_url,
        )

    def _ok(
        self, state: _Source, response: Response, feed_url: str | None = None, *, remembered: bool = True
    ) -> FetchResult:
        """`remembered`: with the response's validators and its body's hash, so that the next run can
        tell it unchanged; not for a sitemap index, which leads to what changes without it."""
        return FetchResult(
            state.request.source,
            state.request.url,
            FetchStatus.OK,
            etag=_header(response, b"ETag") if remembered else None,
            last_modified=_header(response, b"Last-Modified") if remembered else None,
            body_hash=state.request.body_hash_of(response.body) if remembered else None,
            feed_url=feed_url or state.request.feed_url,
        )

    def _error(self, state: _Source, error: str) -> FetchResult:
        return FetchResult(state.request.source, state.request.url, FetchStatus.ERROR, error=error)

    def _done(self, state: _Source) -> Iterator[FetchResult]:
        """One download of this source ended; the last one yields the source's result."""
        state.pending -= 1
        if state.pending > 0 or state.finished:
            return
        state.finished = True
        result = self._result(state)
        # Its entries are the result's now, stored and let go by the pipeline; kept here too, every
        # source's stories would stay in memory until the crawl ends (~70 MB for 20,000).
        state.entries.clear()
        state.links_seen.clear()
        yield result

    def _result(self, state: _Source) -> FetchResult:
        cut_short = _cut_short(state)
        outcome = state.outcome or self._error(state, cut_short or "the crawl ended without a response")
        return replace(
            outcome,
            entries=tuple(state.entries),
            links_found=state.links_found,
            article_errors=tuple(state.article_errors),
            problems=tuple(state.problems),
            parse_seconds=state.parse_seconds,
            cut_short=cut_short,
        )


def _cut_short(state: _Source) -> str | None:
    """Why the source did not finish, and how many of its stories wait for the next run."""
    if state.stopped is None and not state.waiting_stories:
        return None
    reason = state.stopped or f"{CUT_BY_MAX_ARTICLES} ({state.request.max_articles} article pages a run)"
    if not state.waiting_stories:
        return reason
    waiting = f"{state.waiting_stories} stories wait" if state.waiting_stories != 1 else "1 story waits"
    return f"{reason}; {waiting} for the next run"


def _too_old(entry: FeedEntry, source: SourceRequest) -> bool:
    """Stored, but never alerted on (newsbot.pipeline.run): its article would cost a request for nothing."""
    return entry.published is not None and entry.published < source.oldest


def _sitemap_entry(entry: SitemapEntry) -> FeedEntry:
    return FeedEntry(link=entry.url, title=entry.title, published=entry.published)


def _asked_conditionally(response: Response) -> bool:
    """Whether the request carried a validator (ETag or date) a 304 can answer."""
    request = response.request
    return request is not None and any(request.headers.get(name) for name in (b"If-None-Match", b"If-Modified-Since"))


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _is_html(response: Response) -> bool:
    """Scrapy makes a TextResponse of anything it can decode (an image/png too): the type decides."""
    content_type = (_header(response, b"Content-Type") or "").lower()
    return isinstance(response, TextResponse) and (not content_type or "html" in content_type or "xml" in content_type)


def _text(response: Response) -> str:
    return response.text if isinstance(response, TextResponse) else ""
