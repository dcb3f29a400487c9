"""Which addresses newsbot may connect to: a hostile feed must not make it fetch internal URLs.

Links in feeds and pages are followed (full text, listing pages, sitemaps, redirects), so a feed
could point newsbot at http://169.254.169.254/ (cloud metadata), http://localhost:6379/ or the
intranet. As Miniflux's fetcher does, the check is on the *resolved* address of every connection,
redirects included: `GuardedResolver` is Scrapy's DNS resolver (every connection Scrapy opens asks
it), and refuses loopback, private, link-local, shared, reserved and multicast addresses for any
host that is not an `internal: true` source's own. `SourceGuard`, a downloader middleware, refuses
a non-http(s) URL, and a request from a public source to an internal source's host, before
anything is sent — with a sentence the source's health report can show.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.base import ReactorBase
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from newsbot.source_config import parse_networks

INTERNAL_HOSTS = "NEWSBOT_INTERNAL_HOSTS"  # Scrapy setting: hosts of `internal: true` sources
ALLOWED_NETWORKS = "NEWSBOT_ALLOWED_NETWORKS"  # Scrapy setting: fetch.allowed_networks
INTERNAL_META = "newsbot_internal"  # request.meta: the request is on behalf of an internal source
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedAddressError(DNSLookupError):
    """A host resolved to an address newsbot must not reach; the message says which and why."""


class AddressPolicy:
    def __init__(self, internal_hosts: Iterable[str], allowed_networks: Iterable[Network]):
        self.internal_hosts = frozenset(host.lower() for host in internal_hosts)
        self.allowed_networks = tuple(allowed_networks)

    @classmethod
    def from_settings(cls, settings: Any) -> Self:
        return cls(settings.getlist(INTERNAL_HOSTS), parse_networks(settings.getlist(ALLOWED_NETWORKS)))

    def refusal(self, host: str, address: str) -> str | None:
        """Why `host` must not be reached at `address`, or None when it may."""
        if host.lower() in self.internal_hosts:
            return None
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return f"{host} resolved to '{address}', which is not an IP address"
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if ip.is_global and not ip.is_multicast:
            return None
        if any(ip in network for network in self.allowed_networks):
            return None
        return (
            f"{host} resolves to {ip}, a {_describe(ip)} address; only a source marked "
            "`internal: true` may reach such addresses"
        )


def _describe(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (cloud metadata)"
    if ip.is_private:
        return "private"
    return "non-public"


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing addresses the policy forbids, at every connection."""

    def __init__(self, reactor: ReactorBase, cache_size: int, timeout: float, policy: AddressPolicy):
        super().__init__(reactor, cache_size, timeout)
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        cache_size = crawler.settings.getint("DNSCACHE_SIZE") if crawler.settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(
            reactor, cache_size, crawler.settings.getfloat("DNS_TIMEOUT"), AddressPolicy.from_settings(crawler.settings)
        )

    def getHostByName(self, name: str, timeout: Any = ()) -> Deferred[str]:  # noqa: N802 (Twisted's name)
        return super().getHostByName(name, timeout).addCallback(self._check, name)

    def _check(self, address: str, name: str) -> str:
        refusal = self.policy.refusal(name, address)
        if refusal:
            raise RefusedAddressError(refusal)
        return address


class SourceGuard:
    """Refuses, before anything is sent, what no source may fetch, with a reason an operator reads.

    The resolver alone would also stop these connections, but Twisted reports its refusal as
    "no results for hostname lookup"; resolving here first (through the same cache the connection
    then uses) keeps the reason.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.policy = AddressPolicy.from_settings(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https"):
            raise IgnoreRequest(f"{request.url} is not an http(s) URL; newsbot fetches nothing else")
        host = (parts.hostname or "").lower()
        if host in self.policy.internal_hosts and not self._internal(request):
            raise IgnoreRequest(f"{host} belongs to an internal source; a public source's links may not reach it")
        literal = _ip_literal(host)
        if literal is not None:  # Twisted hands an IP back without asking the resolver
            refusal = self.policy.refusal(host, literal)
            if refusal:
                raise IgnoreRequest(refusal)
            return
        from twisted.internet import reactor

        try:
            await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[attr-defined]
        except RefusedAddressError as refused:
            raise IgnoreRequest(str(refused)) from None
        except DNSLookupError:
            return  # the download reports an unknown host in its own words

    def _internal(self, request: Request) -> bool:
        if (
            request.meta.get("dont_obey_robotstxt")
            and urlsplit(request.url).path == "/robots.txt"
            and not request.meta.get("redirect_urls")  # a robots.txt redirected elsewhere is not exempt
        ):
            return True  # robots.txt of a host a request was already allowed to reach
        spider: Spider | None = self.crawler.spider
        return bool(request.meta.get(INTERNAL_META, getattr(spider, INTERNAL_META, False)))
