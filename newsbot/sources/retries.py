"""Scrapy's RetryMiddleware with a pause before each retry: a struggling server gets room.

Scrapy retries at once (and ignores Retry-After, scrapy#3849). Here the n-th retry of a request
waits `RETRY_BACKOFF_SECONDS * 2**(n-1)`, or the server's Retry-After when it asks for longer,
never more than `RETRY_BACKOFF_MAX_SECONDS`, so one source cannot hold a cron run for long. Only
that request waits; the others go on downloading. A run that stops (its budget spent, a signal)
ends the pause at once, and the retry is then refused like any new request (newsbot.sources.bounds).

A request whose host is skipped, or whose host name did not resolve (newsbot.sources.hosts), is not
retried at all: the retry would only fail at once, after its pause.
"""

from __future__ import annotations

import asyncio

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.settings import BaseSettings

from newsbot.sources.bounds import bounds_of

BACKOFF_SECONDS = "RETRY_BACKOFF_SECONDS"
BACKOFF_MAX_SECONDS = "RETRY_BACKOFF_MAX_SECONDS"


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings: BaseSettings):
        super().__init__(settings)
        self.backoff = settings.getfloat(BACKOFF_SECONDS)
        self.backoff_max = settings.getfloat(BACKOFF_MAX_SECONDS)

    # Scrapy awaits coroutine middleware methods (the pause needs one); the base class declares plain ones.
    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if self._unreachable(request):
            return response
        outcome = super().process_response(request, response)
        if isinstance(outcome, Request):
            await self._wait(self._pause(outcome, _retry_after(response)))
        return outcome

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        if self._unreachable(request):
            return None
        outcome = super().process_exception(request, exception)
        if isinstance(outcome, Request):
            await self._wait(self._pause(outcome, None))
        return outcome

    def _unreachable(self, request: Request) -> bool:
        bounds = bounds_of(self.crawler.spider)
        return bounds is not None and bounds.hosts.is_unreachable(request.url)

    async def _wait(self, seconds: float) -> None:
        bounds = bounds_of(self.crawler.spider)
        if bounds is None:
            await asyncio.sleep(seconds)
        else:
            await bounds.pause(seconds)

    def _pause(self, retry: Request, retry_after: float | None) -> float:
        attempt = max(1, int(retry.meta.get("retry_times", 1)))
        pause: float = self.backoff * 2 ** (attempt - 1)
        if retry_after is not None:
            pause = max(pause, retry_after)
        return min(pause, self.backoff_max)


def _retry_after(response: Response) -> float | None:
    value = response.headers.get(b"Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value.decode("latin-1")))
    except ValueError:
        return None  # an HTTP date: the exponential pause is used instead
