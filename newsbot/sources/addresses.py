"""Which addresses newsbot may connect to: a hostile feed must not make it fetch internal URLs.

Links in feeds and pages are followed (full text, listing pages, sitemaps, redirects), so a feed
could point newsbot at http://169.254.169.254/ (cloud metadata), http://localhost:6379/ or the
intranet. As Miniflux's fetcher does, the check is on the *resolved* address of every connection,
redirects included: `GuardedResolver` is Scrapy's DNS resolver (every connection Scrapy opens asks
it), and refuses loopback, private, link-local, shared, reserved and multicast addresses for any
host that is not an `internal: true` source's own. `SourceGuard`, a downloader middleware, refuses
a non-http(s) URL, and a request from a public source to an internal source's host, before
anything is sent — with a sentence the source's health report can show.

An IPv6 address can carry an IPv4 one (::ffff:127.0.0.1, ::7f00:1, 64:ff9b::a9fe:a9fe, 2002:7f00:1::)
and Python calls most of those forms global, so each is unpacked and judged by the IPv4 address it
carries (see `_carried_ipv4`).
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

from newsbot.configuration.source_config import parse_networks
from newsbot.errors import NewsbotError
from newsbot.sources.robots import is_robots_txt_request

INTERNAL_HOSTS = "NEWSBOT_INTERNAL_HOSTS"  # Scrapy setting: hosts of `internal: true` sources
ALLOWED_NETWORKS = "NEWSBOT_ALLOWED_NETWORKS"  # Scrapy setting: fetch.allowed_networks
INTERNAL_META = "newsbot_internal"  # request.meta: the request is on behalf of an internal source
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_INTERNAL_ONLY = "only a source marked `internal: true` may reach such addresses"
# Where the last 32 bits of an IPv6 address are an IPv4 address (RFC 6052's /96 layout for NAT64).
_LAST_32_BITS = (
    ("a NAT64 form", ipaddress.IPv6Network("64:ff9b::/96")),  # the well-known NAT64 prefix
    ("a NAT64 form", ipaddress.IPv6Network("64:ff9b:1::/48")),  # local-use NAT64 (RFC 8215)
    ("an IPv4-translated form", ipaddress.IPv6Network("::ffff:0:0:0/96")),  # SIIT (RFC 2765)
    ("an IPv4-compatible form", ipaddress.IPv6Network("::/96")),  # deprecated (RFC 4291); :: and ::1 excepted
)
_TEREDO = "a Teredo form"
# Not public, though Python 3.11 counts them global: deprecated site-local addresses (RFC 3879),
# which old networks still route inside, and the documentation range of RFC 9637.
_NOT_GLOBAL = (
    ("site-local", ipaddress.IPv6Network("fec0::/10")),
    ("documentation", ipaddress.IPv6Network("3fff::/20")),
)
_CLOUD_METADATA = frozenset(map(ipaddress.ip_address, ("169.254.169.254", "fd00:ec2::254", "fe80::a9fe:a9fe")))


class RefusedAddressError(DNSLookupError, NewsbotError):
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
            ip = ip.ipv4_mapped  # the very same IPv4 socket: named as such
        reason = self._reason(ip)
        return None if reason is None else f"{host} resolves to {ip}, {reason}; {_INTERNAL_ONLY}"

    def _reason(self, ip: Address) -> str | None:
        """What `ip` is when it may not be reached ("a NAT64 form of 127.0.0.1, a loopback address"), else None."""
        if self._allowed(ip):
            return None
        carried = _carried_ipv4(ip)
        if carried is not None:
            form, addresses = carried
            refused = [ipv4 for ipv4 in addresses if not (_public(ipv4) or self._allowed(ipv4))]
            if refused:
                return f"{form} of {refused[0]}, a {_describe(refused[0])} address"
            if form != _TEREDO:
                return None  # e.g. NAT64 of a public address: how an IPv6-only host reaches the IPv4 internet
        return None if _public(ip) else f"a {_describe(ip)} address"

    def _allowed(self, ip: Address) -> bool:
        return any(ip in network for network in self.allowed_networks)


def _public(ip: Address) -> bool:
    return ip.is_global and not ip.is_multicast and not any(ip in network for _, network in _NOT_GLOBAL)


def _carried_ipv4(ip: Address) -> tuple[str, tuple[ipaddress.IPv4Address, ...]] | None:
    """How an IPv6 address carries IPv4 addresses, and which; None when it carries none.

    NAT64, IPv4-translated and IPv4-compatible addresses carry one in their last 32 bits, 6to4
    (2002::/16) the 6to4 router's in bits 16-47; a connection to any of them can end at that IPv4
    address, so they are judged by it: a NAT64 form of a public address is allowed, of 127.0.0.1 or
    169.254.169.254 refused. Teredo (2001::/32) carries the client's and the relay server's; it is
    refused whatever it carries (Python counts 2001::/23 as not global), naming a non-public one
    when there is one. Addresses inside 64:ff9b:1::/48 are read with the /96 layout, the one the
    well-known prefix always uses; a local NAT64 that places the IPv4 elsewhere is not decoded.
    """
    if not isinstance(ip, ipaddress.IPv6Address) or int(ip) <= 1:  # IPv4, or :: and ::1 themselves
        return None
    if ip.teredo:
        server, client = ip.teredo
        return _TEREDO, (client, server)
    if ip.sixtofour:
        return "a 6to4 form", (ip.sixtofour,)
    for form, network in _LAST_32_BITS:
        if ip in network:
            return form, (ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF),)
    return None


def _describe(ip: Address) -> str:
    if ip in _CLOUD_METADATA:
        return "cloud metadata"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_private:
        return "private"
    return next((kind for kind, network in _NOT_GLOBAL if ip in network), "non-public")


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
            await maybe_deferred_to_future(reactor.resolve(host))
        except RefusedAddressError as refused:
            raise IgnoreRequest(str(refused)) from None
        except DNSLookupError:
            return  # the download reports an unknown host in its own words

    def _internal(self, request: Request) -> bool:
        if is_robots_txt_request(request) and not request.meta.get("redirect_urls"):  # redirected: not exempt
            return True  # robots.txt of a host a request was already allowed to reach
        spider: Spider | None = self.crawler.spider
        return bool(request.meta.get(INTERNAL_META, getattr(spider, INTERNAL_META, False)))
