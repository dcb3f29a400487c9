"""The feed spider: one conditional GET per configured feed, one FetchResult item per source.

Every source ends as exactly one item — parsed entries, "not modified", or an error in a plain
sentence — so a broken feed is a value in the run's summary and never stops the other sources.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as network_errors
from twisted.python.failure import Failure

from newsbot.feeds import FeedParseError, parse_feed
from newsbot.models import FeedRequest, FetchResult, FetchStatus

NOT_MODIFIED = 304


class FeedSpider(scrapy.Spider):
    name = "feeds"

    def __init__(self, feeds: Iterable[FeedRequest] = (), **kwargs: Any):
        super().__init__(**kwargs)
        self.feeds = tuple(feeds)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for feed in self.feeds:
            yield scrapy.Request(
                feed.url,
                headers=_conditional_headers(feed),
                meta={"feed": feed, "handle_httpstatus_list": [NOT_MODIFIED]},
                callback=self.parse,
                errback=self.fetch_failed,
                dont_filter=True,
            )

    def parse(self, response: Response, **kwargs: Any) -> Iterable[FetchResult]:
        feed: FeedRequest = response.meta["feed"]
        if response.status == NOT_MODIFIED:
            yield FetchResult(
                feed.source,
                feed.url,
                FetchStatus.NOT_MODIFIED,
                etag=feed.etag,
                last_modified=feed.last_modified,
            )
            return
        content_type = _header(response, b"Content-Type")
        try:
            entries = parse_feed(response.body, response.url, content_type)
        except FeedParseError as problem:
            yield FetchResult(feed.source, feed.url, FetchStatus.ERROR, error=str(problem))
            return
        yield FetchResult(
            feed.source,
            feed.url,
            FetchStatus.OK,
            entries=tuple(entries),
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
        )

    def fetch_failed(self, failure: Failure) -> Iterable[FetchResult]:
        feed: FeedRequest = failure.request.meta["feed"]  # type: ignore[attr-defined]
        yield FetchResult(feed.source, feed.url, FetchStatus.ERROR, error=describe_failure(failure))


def _conditional_headers(feed: FeedRequest) -> dict[str, str]:
    headers = {
        "Accept": "application/rss+xml, application/atom+xml, application/feed+json, "
        "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
    }
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    return headers


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def describe_failure(failure: Failure) -> str:
    """A sentence an operator understands, instead of a Twisted traceback."""
    problem = failure.value
    if isinstance(problem, HttpError):
        return f"the server answered HTTP {problem.response.status}"
    if isinstance(problem, IgnoreRequest):
        reason = str(problem) or "ignored"
        return "robots.txt forbids fetching it" if "robots.txt" in reason else reason
    for kinds, sentence in _FAILURE_SENTENCES:
        if isinstance(problem, kinds):
            return sentence
    return f"{type(problem).__name__}: {problem}"


_FAILURE_SENTENCES: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((CannotResolveHostError, network_errors.DNSLookupError), "the host name could not be resolved"),
    (
        (DownloadTimeoutError, network_errors.TimeoutError, network_errors.TCPTimedOutError),
        "the server did not answer in time (fetch.timeout_seconds)",
    ),
    ((DownloadConnectionRefusedError, network_errors.ConnectionRefusedError), "the connection was refused"),
    # Scrapy cancels a download when it passes DOWNLOAD_MAXSIZE, and for no other reason here.
    ((DownloadCancelledError,), "the response was larger than fetch.max_bytes"),
    (
        (ResponseDataLossError, network_errors.ConnectionLost),
        "the connection was lost before the response was complete",
    ),
)
