"""spiders.news.NewsSpider feed callbacks, called directly with real Scrapy responses and real
Twisted failures: no reactor, no network.
"""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as network_errors
from twisted.python.failure import Failure

from newsbot.models import FetchResult, FetchStatus, FullText, SourceKind, SourceRequest
from newsbot.sources.reading_process import START_AFTER_READS
from newsbot.spiders.failures import describe_failure
from newsbot.spiders.news import NewsSpider
from tests.conftest import REPOSITORY

DATA = REPOSITORY / "tests" / "data" / "feeds"
FEED_URL = "https://feeds.example.test/rss.xml"
ETAG = '"v2-abc"'
LAST_MODIFIED = "Tue, 08 Oct 2024 12:30:00 GMT"


def feed_request(
    name: str = "Signal Lines",
    url: str = FEED_URL,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    body_hash: str | None = None,
) -> SourceRequest:
    return SourceRequest(
        source=name,
        kind=SourceKind.FEED,
        url=url,
        full_text=FullText.NEVER,
        etag=etag,
        last_modified=last_modified,
        body_hash=body_hash,
    )


def start_requests(*sources: SourceRequest) -> list[Request]:
    async def collect() -> list[Request]:
        return [request async for request in NewsSpider(sources=sources).start()]

    return asyncio.run(collect())


def respond(
    feed: SourceRequest,
    body: bytes,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    response_class: type[Response] = XmlResponse,
) -> Response:
    [request] = start_requests(feed)
    return response_class(feed.url, status=status, body=body, headers=headers or {}, request=request)


def only_result(response: Response) -> FetchResult:
    async def collect() -> list[object]:
        return [item async for item in NewsSpider().parse_feed(response)]

    results = asyncio.run(collect())
    assert len(results) == 1
    assert isinstance(results[0], FetchResult)
    return results[0]


# --- parse -------------------------------------------------------------------------------------

OK_RESPONSES = [
    pytest.param("rss20.xml", XmlResponse, "application/rss+xml; charset=utf-8", 3, id="rss"),
    pytest.param("atom10.xml", XmlResponse, "application/atom+xml", 3, id="atom"),
    pytest.param("rss10.rdf", XmlResponse, "application/rdf+xml", 1, id="rdf"),
    pytest.param("jsonfeed11.json", TextResponse, "application/feed+json", 2, id="json feed"),
    pytest.param("rss20.xml", TextResponse, "text/plain", 3, id="rss served as text/plain"),
]


@pytest.mark.parametrize(("name", "response_class", "content_type", "count"), OK_RESPONSES)
def test_a_feed_response_is_one_ok_result_with_entries_and_validators(
    name: str, response_class: type[Response], content_type: str, count: int
) -> None:
    feed = feed_request(etag='"old"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    response = respond(
        feed,
        (DATA / name).read_bytes(),
        response_class=response_class,
        headers={"Content-Type": content_type, "ETag": ETAG, "Last-Modified": LAST_MODIFIED},
    )
    result = only_result(response)
    assert result.status is FetchStatus.OK
    assert (result.source, result.url) == ("Signal Lines", FEED_URL)
    assert len(result.entries) == count
    assert all(entry.link.startswith("https://") for entry in result.entries if entry.link)  # newest first
    assert result.etag == ETAG
    assert result.last_modified == LAST_MODIFIED
    assert result.error is None


def test_a_finished_source_does_not_keep_its_stories_in_the_spider() -> None:
    """Once a source's result is handed over, the crawl holds none of its entries: kept until the
    crawl ended, a cold run of 1,000 feeds held all 20,000 stories (~60 MB of its peak)."""
    response = respond(
        feed_request(), (DATA / "rss20.xml").read_bytes(), headers={"Content-Type": "application/rss+xml"}
    )
    result = only_result(response)
    held = [weakref.ref(entry) for entry in result.entries]
    assert len(held) == 3

    del result
    gc.collect()

    assert [entry() for entry in held] == [None, None, None], "the spider still holds the finished source's entries"


def test_an_ok_response_without_validators_stores_none() -> None:
    feed = feed_request(etag='"old"', last_modified=LAST_MODIFIED)
    result = only_result(respond(feed, (DATA / "rss20.xml").read_bytes()))
    assert result.status is FetchStatus.OK
    assert (result.etag, result.last_modified) == (None, None)


def test_relative_links_resolve_against_the_response_url() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link>'
        b"<item><title>a</title><link>/stories/1</link></item></channel></rss>"
    )
    result = only_result(respond(feed_request(), body, headers={"Content-Type": "application/rss+xml"}))
    assert [entry.link for entry in result.entries] == ["https://feeds.example.test/stories/1"]


@pytest.mark.parametrize(
    ("etag", "last_modified"),
    [
        (ETAG, LAST_MODIFIED),
        (ETAG, None),
        (None, LAST_MODIFIED),
    ],
)
def test_304_is_not_modified_and_keeps_the_old_validators(etag: str | None, last_modified: str | None) -> None:
    feed = feed_request(etag=etag, last_modified=last_modified)
    result = only_result(respond(feed, b"", status=304, response_class=Response))
    assert result == FetchResult(
        "Signal Lines", FEED_URL, FetchStatus.NOT_MODIFIED, etag=etag, last_modified=last_modified
    )


def test_the_body_parsed_last_time_is_not_parsed_again() -> None:
    body = (DATA / "rss20.xml").read_bytes()
    first = only_result(respond(feed_request(), body))
    again = only_result(respond(feed_request(body_hash=first.body_hash), body, headers={"ETag": ETAG}))
    assert first.status is FetchStatus.OK and first.body_hash
    assert again.status is FetchStatus.NOT_MODIFIED
    assert again.entries == ()
    assert again.etag == ETAG  # the server's new validator is kept for the next conditional GET


ERROR_RESPONSES = [
    pytest.param(
        (DATA / "not-a-feed.html").read_bytes(),
        HtmlResponse,
        "text/html; charset=utf-8",
        "the response is not an RSS, Atom or JSON feed",
        id="html page",
    ),
    pytest.param(b"", XmlResponse, "application/rss+xml", "the response was empty", id="empty 200"),
    pytest.param(
        b'{"hello": "world"}',
        TextResponse,
        "application/json",
        "the response is JSON but not a JSON Feed",
        id="json, not a feed",
    ),
    pytest.param(b"{oops", TextResponse, "application/feed+json", "the JSON feed is not valid JSON", id="invalid json"),
]


@pytest.mark.parametrize(("body", "response_class", "content_type", "sentence"), ERROR_RESPONSES)
def test_a_body_that_is_not_a_feed_is_one_error_result_with_a_sentence(
    body: bytes, response_class: type[Response], content_type: str, sentence: str
) -> None:
    feed = feed_request(etag='"old"')
    response = respond(feed, body, response_class=response_class, headers={"Content-Type": content_type, "ETag": ETAG})
    result = only_result(response)
    assert result.status is FetchStatus.ERROR
    assert result.error is not None and result.error.startswith(sentence)
    assert result.entries == ()
    assert result.etag is None  # a failed fetch must not replace the stored validators


# --- conditional request headers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("etag", "last_modified", "expected"),
    [
        (None, None, {}),
        (ETAG, None, {"If-None-Match": ETAG}),
        (None, LAST_MODIFIED, {"If-Modified-Since": LAST_MODIFIED}),
        (ETAG, LAST_MODIFIED, {"If-None-Match": ETAG, "If-Modified-Since": LAST_MODIFIED}),
        ("", "", {}),
    ],
)
def test_conditional_headers_only_when_known(
    etag: str | None, last_modified: str | None, expected: dict[str, str]
) -> None:
    [request] = start_requests(feed_request(etag=etag, last_modified=last_modified))
    headers = {key.decode(): value[0].decode() for key, value in request.headers.items()}
    conditional = {key: value for key, value in headers.items() if key.startswith("If-")}
    assert conditional == expected
    assert "application/rss+xml" in headers["Accept"]
    assert "application/feed+json" in headers["Accept"]


def test_start_requests_carry_the_source_and_its_validators() -> None:
    feeds = [feed_request(etag=ETAG), feed_request("Other", "https://other.example.test/feed")]
    requests = start_requests(*feeds)
    assert [request.meta["source"].request for request in requests] == feeds
    assert requests[0].headers.get("If-None-Match") == ETAG.encode()
    assert requests[1].headers.get("If-None-Match") is None
    assert all(304 in request.meta["handle_httpstatus_list"] for request in requests)
    assert all(request.dont_filter for request in requests)


# --- failures ----------------------------------------------------------------------------------


def _http_error(status: int) -> HttpError:
    response = Response(FEED_URL, status=status, request=Request(FEED_URL))
    return HttpError(response, "Ignoring non-200 response")


FAILURES = [
    pytest.param(_http_error(404), "the server answered HTTP 404", id="HttpError 404"),
    pytest.param(_http_error(503), "the server answered HTTP 503", id="HttpError 503"),
    pytest.param(IgnoreRequest("Forbidden by robots.txt"), "robots.txt forbids fetching it", id="robots.txt"),
    pytest.param(
        network_errors.DNSLookupError("feeds.example.test"),
        "the host name could not be resolved",
        id="twisted DNSLookupError",
    ),
    pytest.param(
        network_errors.TimeoutError("took too long"),
        "the server did not answer in time",
        id="twisted TimeoutError",
    ),
    pytest.param(network_errors.TCPTimedOutError(), "the server did not answer in time", id="twisted TCPTimedOutError"),
    pytest.param(
        network_errors.ConnectionRefusedError(),
        "the connection was refused",
        id="twisted ConnectionRefusedError",
    ),
    pytest.param(
        network_errors.ConnectionLost(),
        "the connection was lost before the response was complete",
        id="twisted ConnectionLost",
    ),
    # What Scrapy 2.19's HTTP/1.1 handler actually raises (scrapy/utils/_download_handlers.py
    # wrap_twisted_exceptions, http11.py), checked with a real crawl against 127.0.0.1.
    pytest.param(
        CannotResolveHostError("DNS lookup failed: no results for hostname lookup: x.invalid."),
        "the host name could not be resolved",
        id="scrapy CannotResolveHostError",
    ),
    pytest.param(
        DownloadTimeoutError(f"Getting {FEED_URL} took longer than 30.0 seconds."),
        "the server did not answer in time",
        id="scrapy DownloadTimeoutError",
    ),
    pytest.param(
        DownloadConnectionRefusedError("Connection was refused by other side: 111: Connection refused."),
        "the connection was refused",
        id="scrapy DownloadConnectionRefusedError",
    ),
    pytest.param(
        ResponseDataLossError(),
        "the connection was lost before the response was complete",
        id="scrapy ResponseDataLossError",
    ),
    pytest.param(
        DownloadCancelledError(
            f"Received 20971520 bytes which is larger than download max size (10485760) in request <GET {FEED_URL}>."
        ),
        "the response was larger than fetch.max_bytes",
        id="scrapy max size",
    ),
]


@pytest.mark.parametrize(("problem", "sentence"), FAILURES)
def test_describe_failure_gives_a_plain_sentence(problem: Exception, sentence: str) -> None:
    description = describe_failure(Failure(problem))
    assert description.startswith(sentence)
    assert "Error" not in description and "\n" not in description


def test_other_ignore_request_reasons_are_passed_through() -> None:
    assert describe_failure(Failure(IgnoreRequest("Offsite request"))) == "Offsite request"


def test_an_unknown_failure_names_its_type_and_message() -> None:
    assert describe_failure(Failure(RuntimeError("disk full"))) == "RuntimeError: disk full"


def test_fetch_failed_yields_one_error_result_for_the_failed_feed() -> None:
    feed = feed_request(etag=ETAG, last_modified=LAST_MODIFIED)
    failure = Failure(network_errors.ConnectionRefusedError())
    [failure.request] = start_requests(feed)  # type: ignore[attr-defined]  # Scrapy attaches the request like this
    results = list(NewsSpider().source_failed(failure))
    assert results == [FetchResult("Signal Lines", FEED_URL, FetchStatus.ERROR, error="the connection was refused")]


def test_a_crawl_of_enough_sources_never_read_starts_its_reading_process_at_once() -> None:
    """A first run's sources are all to be read: the reading process starts with the crawl, not after
    START_AFTER_READS reads in the crawl's thread. Sources read before (a warm run) start nothing."""

    def started(sources: list[SourceRequest]) -> bool:
        spider = NewsSpider(sources=sources)

        async def first() -> Request:
            return await anext(spider.start())

        try:
            asyncio.run(first())
            return spider.reading._child is not None
        finally:
            spider.reading.close()

    new = [feed_request(f"Feed {number}") for number in range(START_AFTER_READS)]
    known = [feed_request(f"Feed {number}", body_hash="f" * 64) for number in range(START_AFTER_READS)]
    assert started(new)
    assert not started(new[1:])
    assert not started(known)


def test_a_page_whose_reading_raised_fails_its_source_with_the_error_once() -> None:
    """Left open, such a source waited for the crawl's end and was "cut short" every run: never stored,
    so never FAILING, and no notice said so."""
    spider = NewsSpider(sources=[feed_request()])

    async def first() -> Request:
        return await anext(spider.start())

    try:
        request = asyncio.run(first())
        response = HtmlResponse(FEED_URL, body=b"<html></html>", request=request)
        raised = Failure(AttributeError("'str' object has no attribute 'attrib'"))

        results = list(spider.callback_failed(response, raised))
        again = list(spider.callback_failed(response, raised))
    finally:
        spider.reading.close()

    assert [(result.status, result.error) for result in results] == [
        (FetchStatus.ERROR, f"reading {FEED_URL} failed (AttributeError: 'str' object has no attribute 'attrib')")
    ]
    assert again == [], "a source ends once"
    assert spider.unfinished_results("finished") == []


def test_an_errback_that_raised_fails_its_source_through_the_request_on_its_failure() -> None:
    """Scrapy signals an errback's own exception with the Failure where the response would be, the request
    attached to it: ignored, the source was "cut short" every run, never FAILING."""
    spider = NewsSpider(sources=[feed_request()])

    async def first() -> Request:
        return await anext(spider.start())

    try:
        failure = Failure(RuntimeError("an errback's bug"))
        failure.request = asyncio.run(first())  # type: ignore[attr-defined]
        results = list(spider.callback_failed(failure, failure))
    finally:
        spider.reading.close()

    assert [(result.status, result.error) for result in results] == [
        (FetchStatus.ERROR, f"reading {FEED_URL} failed (RuntimeError: an errback's bug)")
    ]
