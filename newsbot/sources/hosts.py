"""Hosts that cannot be reached are given up on for the rest of the run: one line, not one per link.

With `full_text: auto` every story link is a request to its article's host. When that host is down
(its name does not resolve, it refuses connections, or it accepts them and never answers) each
request costs up to `fetch.timeout_seconds`, retries included: a 5,000-item feed on a dead host once
held a run for 15 minutes. So a host whose connections fail `DEAD_AFTER` times in a row (3: one
request and its two retries, or three different links) is skipped: every later request to it ends
at once with the same sentence (a source on that host fails; a story whose article is refused so
waits for the next run, while those whose own requests failed keep their teaser), and the run's
summary says so once per host.

A name that does not resolve is not looked up again in the same run, nor retried
(newsbot.sources.retries): within minutes it will not resolve either, and each lookup, retry pause
and turn in the host's download queue cost seconds (offline, the example config took 12 s to fail).
Every later request to that host fails at once with the same answer (`NameNotResolvedError`), at the
first downloader middleware that sees it (newsbot.sources.bounds), and counts as a failed connection
as a real lookup would: the host is skipped after DEAD_AFTER just the same, so the links that failed
first keep their teaser and a host that stays unresolvable does not hold its stories back for good.

A host is its name and, when it is not the scheme's default, its port. Any answer at all, even an
HTTP error, proves a host alive and resets its count.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from twisted.internet import error as network_errors

from newsbot.sources.addresses import RefusedAddressError
from newsbot.spiders.failures import describe_exception

DEAD_AFTER = 3
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAME_NOT_RESOLVED = (
    CannotResolveHostError,  # how Scrapy's handler reports Twisted's DNSLookupError
    network_errors.DNSLookupError,  # no such name, or no answer within DNS_TIMEOUT
    network_errors.UnknownHostError,
)
_CONNECTION_FAILURES = (
    *_NAME_NOT_RESOLVED,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    network_errors.ConnectError,  # refused, TCP timeout, no route
    network_errors.TimeoutError,
)


class HostSkipped(IgnoreRequest):
    """A request not made because its host failed to connect DEAD_AFTER times in a row this run."""


class NameNotResolvedError(CannotResolveHostError):
    """A request not made because its host's name did not resolve earlier in this run. Not an
    IgnoreRequest: like the lookup it stands for, it is the request's own failure (an article keeps
    its teaser)."""


@dataclass
class _Host:
    failures_in_a_row: int = 0
    last_failure: str = ""
    unresolved: bool = False  # its name did not resolve this run: it is not looked up again
    skipped: bool = False
    requests_not_made: int = 0


class DeadHosts:
    """Connection failures per host, in a row; a host is skipped once it has DEAD_AFTER of them."""

    def __init__(self) -> None:
        self._hosts: dict[str, _Host] = {}

    def answered(self, url: str) -> None:
        host = self._hosts.get(host_of(url))
        if host is not None and not host.skipped:
            host.failures_in_a_row = 0
            host.unresolved = False  # a download in flight since before the failed lookup got through

    def failed(self, url: str, problem: BaseException) -> None:
        """Count `problem` against the URL's host if it says the host could not be reached."""
        if not is_connection_failure(problem):
            return
        host = self._hosts.setdefault(host_of(url), _Host())
        if host.skipped:  # a download already in flight when the host was given up on
            return
        host.unresolved = host.unresolved or isinstance(problem, _NAME_NOT_RESOLVED)
        self._count_failure(host, problem)

    def refusal(self, url: str) -> HostSkipped | NameNotResolvedError | None:
        """Why `url` is not requested: its host is skipped (counted as a request not made), or its name
        did not resolve this run (counted as a failed connection, as the lookup would have been)."""
        name = host_of(url)
        host = self._hosts.get(name)
        if host is None:
            return None
        if host.skipped:
            host.requests_not_made += 1
            return HostSkipped(self._sentence(name, host))
        if host.unresolved:
            unresolved = NameNotResolvedError(f"{name} did not resolve earlier in this run; not looked up again")
            self._count_failure(host, unresolved)
            return unresolved
        return None

    def is_unreachable(self, url: str) -> bool:
        """The URL's host is skipped, or its name did not resolve: a request to it would fail at once."""
        host = self._hosts.get(host_of(url))
        return host is not None and (host.skipped or host.unresolved)

    def summary(self) -> list[str]:
        """One line per skipped host, for the run's summary."""
        lines = []
        for name, host in self._hosts.items():
            if host.skipped:
                not_made = host.requests_not_made
                lines.append(f"{self._sentence(name, host)}; {not_made} request{'s' * (not_made != 1)} not made")
        return lines

    def _count_failure(self, host: _Host, problem: BaseException) -> None:
        host.failures_in_a_row += 1
        host.last_failure = describe_exception(problem)
        host.skipped = host.failures_in_a_row >= DEAD_AFTER

    def _sentence(self, name: str, host: _Host) -> str:
        return f"host {name} skipped after {host.failures_in_a_row} failed connections: {host.last_failure}"


def host_of(url: str) -> str:
    parts = urlsplit(url)
    name = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return name
    return name if port is None or port == _DEFAULT_PORTS.get(parts.scheme) else f"{name}:{port}"


def is_connection_failure(problem: BaseException) -> bool:
    """Could not connect, or no answer in time; an address newsbot refused to reach is not one."""
    refused = isinstance(problem, RefusedAddressError) or isinstance(problem.__cause__, RefusedAddressError)
    return isinstance(problem, _CONNECTION_FAILURES) and not refused
