"""The Scrapy side of a run's bounds: its budget (newsbot.pipeline.budget) and its dead hosts (newsbot.sources.hosts).

One `RunBounds` serves every spider of the run, the built-in one and users' alike, as the spider
attribute `newsbot_bounds`; where a spider has none (a callback tested on its own) these components
do nothing. Two Scrapy components apply it:

- `BoundsGate`, the first downloader middleware, refuses a request once the run has stopped or
  its host is skipped (or its name did not resolve), before any DNS lookup or robots.txt fetch is
  spent on it; `BoundsGateAfterRobots` asks again just after robots.txt, for the requests that
  waited there while their host's robots.txt failed: otherwise each would then wait its turn in
  the host's download queue (AutoThrottle's delay, a second or more apiece) only to be refused;
- `BoundedDownloadHandler`, Scrapy's HTTP/1.1 handler for http and https, checks again when the
  transfer starts (a request may have waited for its host meanwhile), tells DeadHosts how the
  connection went, and keeps every transfer in flight so that a stop cancels them all at once: the
  run ends in a moment, not after `fetch.timeout_seconds`. It also holds each host to
  CONCURRENT_REQUESTS_PER_DOMAIN transfers: under the asyncio reactor, Scrapy 2.19's downloader
  starts every request queued for a host at once (`Downloader._process_queue` counts a transfer
  only once its task runs), so five feeds of one host went out together and a dead host had all
  its queued links in flight before the first failed. In a crawl split between two processes the
  count is theirs together (newsbot.sources.host_tokens).

A retry's pause (newsbot.sources.retries) is cancelled by a stop in the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Self, TypeVar

from scrapy import Request, Spider
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

from newsbot.pipeline.budget import RunBudget
from newsbot.sources.host_tokens import HOST_TOKENS, HostTokens
from newsbot.sources.hosts import DeadHosts
from newsbot.sources.robots import is_robots_txt_request

BOUNDS_ATTRIBUTE = "newsbot_bounds"  # the spider attribute that carries the run's RunBounds
T = TypeVar("T")


class CutShort(IgnoreRequest):
    """A request not made, or a download cancelled, because the run stopped: not the host's fault,
    and not a failure of its source (which is fetched again by the next run)."""


class RunBounds:
    """The run's budget and dead hosts, and the transfers and pauses a stop must cancel."""

    def __init__(self, budget: RunBudget):
        self.budget = budget
        self.hosts = DeadHosts()
        self._in_flight: set[asyncio.Future[Any]] = set()

    def refusal(self, url: str) -> Exception | None:
        """Why a request for `url` must not start now, or None."""
        reason = self.budget.stopped
        if reason is not None:
            return CutShort(reason)
        return self.hosts.refusal(url)

    async def cancellable(self, work: Awaitable[T]) -> T:
        """Await `work`, raising CutShort if the run stops first."""
        task = asyncio.ensure_future(work)
        self._in_flight.add(task)
        try:
            return await task
        except asyncio.CancelledError:
            reason = self.budget.stopped
            if not task.cancelled() or reason is None:  # cancelled by someone else: theirs to handle
                raise
            raise CutShort(reason) from None
        finally:
            self._in_flight.discard(task)

    async def pause(self, seconds: float) -> None:
        """Sleep, waking early when the run stops."""
        with contextlib.suppress(CutShort):
            await self.cancellable(asyncio.sleep(seconds))

    def cancel_in_flight(self) -> None:
        """The run stopped: end every transfer and pause now (their requests fail with CutShort)."""
        for task in list(self._in_flight):
            task.cancel()


def bounds_of(spider: Spider | None) -> RunBounds | None:
    return getattr(spider, BOUNDS_ATTRIBUTE, None)


class BoundsGate:
    """Downloader middleware, first of all: a stopped run or a skipped host costs no request."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        bounds = bounds_of(self.crawler.spider)
        refusal = bounds and bounds.refusal(request.url)
        if refusal:
            raise refusal


class BoundsGateAfterRobots(BoundsGate):
    """The same gate again, just after RobotsTxtMiddleware (100): see the module's docstring."""


class BoundedDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 download handler, bounded by the run (see the module's docstring)."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self._per_host = max(1, crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))
        self._transfers: dict[str, asyncio.Semaphore] = {}
        tokens = crawler.settings.get(HOST_TOKENS)  # a split crawl: the other process counts too
        self._tokens = HostTokens(Path(tokens), self._per_host) if tokens else None

    async def download_request(self, request: Request) -> Response:
        bounds = bounds_of(self.crawler.spider)
        if bounds is None:
            return await super().download_request(request)
        return await bounds.cancellable(self._bounded(request, bounds))

    async def _bounded(self, request: Request, bounds: RunBounds) -> Response:
        host = request.meta.get("download_slot") or urlparse_cached(request).hostname or ""
        if host not in self._transfers:
            self._transfers[host] = asyncio.Semaphore(self._per_host)
        async with self._transfers[host], self._tokens.held(host) if self._tokens else contextlib.nullcontext():
            refusal = bounds.refusal(request.url)
            if refusal:
                raise refusal
            try:
                response = await super().download_request(request)
            except Exception as problem:
                # A robots.txt and its retries are one failure: as three they once had a dead host
                # given up on before one of its articles was tried, and a story whose article lives
                # there waited for the next run, every run, for good.
                if not (is_robots_txt_request(request) and request.meta.get("retry_times")):
                    bounds.hosts.failed(request.url, problem)
                raise
        bounds.hosts.answered(request.url)
        return response
