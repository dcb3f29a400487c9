"""Why a download failed, in a sentence an operator understands instead of a Twisted traceback."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as network_errors
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived
from w3lib.url import safe_url_string

_REDIRECTS = frozenset({301, 302, 303, 307, 308})  # the statuses Scrapy's RedirectMiddleware follows


def describe_failure(failure: Failure) -> str:
    """A sentence an operator understands, instead of a Twisted traceback."""
    # Twisted's inferred type for value includes None; a Failure is never made without an exception.
    return describe_exception(failure.value)  # type: ignore[arg-type]


def describe_exception(problem: BaseException) -> str:
    """The same sentence for the exception itself (as a download handler sees it)."""
    if isinstance(problem, HttpError):
        return _http_error(problem.response)
    if isinstance(problem, IgnoreRequest):
        reason = str(problem) or "ignored"
        return next((sentence for clue, sentence in _IGNORED_SENTENCES if clue in reason), reason)
    if isinstance(problem, DownloadFailedError) and isinstance(problem.__cause__, ResponseFailed):
        # Scrapy wraps Twisted's failure, whose text is the repr of a list of Failures.
        if isinstance(problem.__cause__, ResponseNeverReceived):
            return "the server closed the connection without answering"
        reasons = problem.__cause__.reasons
        return describe_failure(reasons[0]) if reasons else "the connection failed during the response"
    for kinds, sentence in _FAILURE_SENTENCES:
        if isinstance(problem, kinds):
            return sentence
    # A ValueError is Twisted's reading of a header it cannot take (Content-Length: -5).
    malformed = isinstance(problem, ValueError)
    return (
        f"the server's answer was not valid HTTP ({problem})" if malformed else f"{type(problem).__name__}: {problem}"
    )


def _http_error(response: Response) -> str:
    """A redirect reaches here only when Scrapy's redirect middleware would not follow it: the answer
    named nowhere to go, or a place that is not a web address (`file:`, `gopher:`). "HTTP 302" alone
    sent an operator to look for a server error where the publisher had sent them elsewhere."""
    status = response.status
    if status not in _REDIRECTS:
        return f"the server answered HTTP {status}"
    location = response.headers.get("Location")
    if not location:
        return f"the server answered HTTP {status}, a redirect that names no address (no Location header)"
    scheme = urlsplit(urljoin(response.url, safe_url_string(location))).scheme
    if scheme not in {"http", "https"}:
        return f"it redirected to a {scheme or 'non-web'}: address, which newsbot does not follow (only http and https)"
    return f"the server answered HTTP {status}"


# Scrapy's reasons for dropping a request (IgnoreRequest), by a phrase in its message.
_IGNORED_SENTENCES = (
    ("robots.txt", "robots.txt forbids fetching it"),
    ("max redirections", "it redirected too many times (newsbot stops after 5 redirects: a redirect loop?)"),
    ("during decompression", "the response was larger than fetch.max_bytes once decompressed (a compression bomb?)"),
)
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
        (ResponseDataLossError, network_errors.ConnectionLost, network_errors.ConnectionDone),
        "the connection was lost before the response was complete",
    ),
)
