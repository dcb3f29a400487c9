"""IPv6 addresses that carry an IPv4 address are judged by that IPv4 address.

::7f00:1 (IPv4-compatible), ::ffff:0:7f00:1 (IPv4-translated), 64:ff9b::7f00:1 (NAT64, also the
local-use 64:ff9b:1::/48), 2002:7f00:1:: (6to4) and Teredo (2001::/32) all carry 127.0.0.1, and
Python calls all but Teredo global. A hostile feed must not reach loopback, the intranet or cloud
metadata through them; the refusal names the IPv4 address ("…, a NAT64 form of 169.254.169.254,
a cloud metadata address; …").

Decisions: a NAT64 or 6to4 form of a public IPv4 address is allowed — that is how an IPv6-only
host reaches the IPv4 internet. An IPv4 network in fetch.allowed_networks also lets its carried
forms through (as it already did for ::ffff: mapped ones), and an IPv6 network there is taken as
written. Teredo stays refused whatever it carries, as before.

The crawl tests need no IPv6 listener: each source or link spells an address the policy must
refuse, and the refusal sentence has to appear before anything is sent.
"""

from __future__ import annotations

import ipaddress
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newsbot.sources.addresses import AddressPolicy
from tests.conftest import Workspace, status_block
from tests.servers import FeedServer, Route, recent, rss

ONLY_INTERNAL = "only a source marked `internal: true` may reach such addresses"
TEASER = "A short teaser that the story keeps when its article is refused."
V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address
TEREDO_SERVER = V4("65.54.227.120")


def compatible(ipv4: V4) -> V6:
    return V6(int(ipv4))


def translated(ipv4: V4) -> V6:
    return V6(0xFFFF << 48 | int(ipv4))


def nat64(ipv4: V4) -> V6:
    return V6(int(V6("64:ff9b::")) | int(ipv4))


def local_nat64(ipv4: V4) -> V6:
    return V6(int(V6("64:ff9b:1::")) | int(ipv4))


def six_to_four(ipv4: V4) -> V6:
    return V6(0x2002 << 112 | int(ipv4) << 80 | 1)  # host ::1 of the 6to4 site 2002:<ipv4>::/48


def teredo(client: V4, server: V4 = TEREDO_SERVER) -> V6:
    """RFC 4380: prefix, server, flags, obfuscated port, obfuscated client address."""
    return V6(0x2001_0000 << 96 | int(server) << 64 | 0x8000 << 48 | (40000 ^ 0xFFFF) << 32 | int(client) ^ 0xFFFF_FFFF)


FORMS: list[tuple[str, Callable[[V4], V6]]] = [
    ("an IPv4-compatible form", compatible),
    ("an IPv4-translated form", translated),
    ("a NAT64 form", nat64),
    ("a NAT64 form", local_nat64),
    ("a 6to4 form", six_to_four),
    ("a Teredo form", teredo),
]
TARGETS = [
    ("127.0.0.1", "loopback"),
    ("127.0.0.2", "loopback"),
    ("10.1.2.3", "private"),
    ("192.168.1.1", "private"),
    ("172.16.0.1", "private"),
    ("169.254.169.254", "cloud metadata"),
    ("100.64.0.1", "non-public"),
    ("224.0.0.1", "non-public"),
]
CARRIED = [
    pytest.param(form, build, V4(target), kind, id=f"{build.__name__} {target}")
    for form, build in FORMS
    for target, kind in TARGETS
]


def refusal(address: object, allowed: tuple[str, ...] = (), internal: tuple[str, ...] = ()) -> str | None:
    networks = [ipaddress.ip_network(network) for network in allowed]
    return AddressPolicy(internal_hosts=internal, allowed_networks=networks).refusal("news.example.com", str(address))


# Unit: AddressPolicy.refusal -------------------------------------------------------------------


def test_the_forms_are_spelled_as_their_standards_say() -> None:
    """The builders above are right, so the table below tests the policy and not the builders."""
    loopback = V4("127.0.0.1")
    assert [str(build(loopback)) for _, build in FORMS] == [
        "::7f00:1",
        "::ffff:0:7f00:1",
        "64:ff9b::7f00:1",
        "64:ff9b:1::7f00:1",
        "2002:7f00:1::1",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
    ]
    assert six_to_four(loopback).sixtofour == loopback
    assert teredo(loopback).teredo == (TEREDO_SERVER, loopback)


@pytest.mark.parametrize(("form", "build", "ipv4", "kind"), CARRIED)
def test_an_ipv6_form_of_a_non_public_ipv4_address_is_refused_naming_it(
    form: str, build: Callable[[V4], V6], ipv4: V4, kind: str
) -> None:
    address = build(ipv4)

    assert (
        refusal(address)
        == f"news.example.com resolves to {address}, {form} of {ipv4}, a {kind} address; {ONLY_INTERNAL}"
    )


def test_the_issue_s_example_sentence() -> None:
    assert refusal("64:ff9b::a9fe:a9fe") == (
        "news.example.com resolves to 64:ff9b::a9fe:a9fe, a NAT64 form of 169.254.169.254, "
        f"a cloud metadata address; {ONLY_INTERNAL}"
    )
    assert refusal("2002:a9fe:a9fe::") == (
        "news.example.com resolves to 2002:a9fe:a9fe::, a 6to4 form of 169.254.169.254, "
        f"a cloud metadata address; {ONLY_INTERNAL}"
    )
    assert refusal("::7f00:1") == (
        "news.example.com resolves to ::7f00:1, an IPv4-compatible form of 127.0.0.1, "
        f"a loopback address; {ONLY_INTERNAL}"
    )


@pytest.mark.parametrize("build", [compatible, translated, nat64, local_nat64, six_to_four])
@pytest.mark.parametrize("public", ["8.8.8.8", "1.1.1.1", "93.184.215.14"])
def test_a_form_of_a_public_ipv4_address_is_allowed(build: Callable[[V4], V6], public: str) -> None:
    """NAT64 of a public address is how an IPv6-only host reaches the IPv4 internet."""
    assert refusal(build(V4(public))) is None


def test_teredo_stays_refused_when_what_it_carries_is_public() -> None:
    address = teredo(V4("8.8.8.8"))

    assert refusal(address) == f"news.example.com resolves to {address}, a private address; {ONLY_INTERNAL}"


def test_teredo_names_a_non_public_relay_server_too() -> None:
    address = teredo(client=V4("8.8.8.8"), server=V4("10.0.0.1"))

    assert refusal(address) == (
        f"news.example.com resolves to {address}, a Teredo form of 10.0.0.1, a private address; {ONLY_INTERNAL}"
    )


@pytest.mark.parametrize("address", ["::1", "::", "fe80::1", "fd00::1", "2606:4700:4700::1111"])
def test_addresses_that_carry_no_ipv4_are_judged_as_before(address: str) -> None:
    ip = ipaddress.ip_address(address)
    kind = "loopback" if ip.is_loopback else "link-local" if ip.is_link_local else "private"
    expected = None if ip.is_global else f"news.example.com resolves to {ip}, a {kind} address; {ONLY_INTERNAL}"

    assert refusal(address) == expected


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        (nat64(V4("10.20.1.1")), False),  # carries an address inside the allowed 10.20.0.0/16
        (compatible(V4("10.20.255.255")), False),
        (six_to_four(V4("10.20.0.7")), False),
        (nat64(V4("10.21.0.1")), True),  # just outside it
        (translated(V4("127.0.0.1")), True),
    ],
    ids=str,
)
def test_an_allowed_ipv4_network_lets_its_carried_forms_through_and_no_more(address: V6, refused: bool) -> None:
    assert (refusal(address, allowed=("10.20.0.0/16",)) is not None) is refused


def test_an_allowed_ipv6_network_is_taken_as_written() -> None:
    """An operator who lists the NAT64 prefix itself has chosen to reach everything behind it."""
    assert refusal("64:ff9b::7f00:1", allowed=("64:ff9b::/96",)) is None
    assert refusal("64:ff9b:1::7f00:1", allowed=("64:ff9b::/96",)) is not None


def test_an_internal_source_may_reach_any_form() -> None:
    assert refusal("64:ff9b::a9fe:a9fe", internal=("news.example.com",)) is None


# End to end: the forms spelled as URL hosts, on every path a URL reaches the crawler --------------


@pytest.fixture
def secret() -> Iterator[FeedServer]:
    """The internal host on 127.0.0.2: any request that slipped through to it would be recorded."""
    server = FeedServer(host="127.0.0.2")
    for path in ("/", "/robots.txt", "/secret", "/feed.xml"):
        server.add(path, Route(b"TOP SECRET", content_type="text/html; charset=utf-8"))
    server.start()
    yield server
    server.stop()


def rows(database: Path, sql: str, *parameters: str) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql, parameters).fetchall()


def one_item_feed(link: str, title: str) -> Route:
    return Route(rss([{"title": title, "link": link, "description": TEASER, "pubDate": recent()}]))


def redirect_to(url: str) -> Route:
    return Route(status=302, headers={"Location": url}, content_type="text/html")


def sentence(address: V6, form: str, ipv4: str, kind: str = "loopback") -> str:
    return f"{address} resolves to {address}, {form} of {ipv4}, a {kind} address; {ONLY_INTERNAL}"


def test_feeds_links_and_redirects_to_ipv6_forms_of_internal_addresses_are_refused(
    workspace: Workspace, feed_server: FeedServer, secret: FeedServer
) -> None:
    """The test servers' 127.0.0.1/32 is allowed here, so the forms spell 127.0.0.2 and metadata."""
    port = secret.url.rsplit(":", 1)[1]
    internal = V4("127.0.0.2")
    articles = {  # source name → (address its one article link spells, form, carried IPv4, kind)
        "Compatible link": (compatible(internal), "an IPv4-compatible form", "127.0.0.2", "loopback"),
        "NAT64 link": (nat64(internal), "a NAT64 form", "127.0.0.2", "loopback"),
        "Local NAT64 link": (local_nat64(V4("192.168.1.1")), "a NAT64 form", "192.168.1.1", "private"),
        "6to4 link": (six_to_four(internal), "a 6to4 form", "127.0.0.2", "loopback"),
        "Teredo link": (teredo(V4("10.0.0.1")), "a Teredo form", "10.0.0.1", "private"),
        "Metadata link": (
            nat64(V4("169.254.169.254")),
            "a NAT64 form",
            "169.254.169.254",
            "cloud metadata",
        ),
    }
    for number, (name, (address, _, _, _)) in enumerate(articles.items()):
        link = f"http://[{address}]:{port}/secret"
        workspace.source(name, feed_server.add(f"/links-{number}.xml", one_item_feed(link, name)), full_text="always")
    redirected_article = six_to_four(V4("169.254.169.254"))
    go = feed_server.add("/go", redirect_to(f"http://[{redirected_article}]/latest/meta-data/"))
    workspace.source("Redirected article", feed_server.add("/go.xml", one_item_feed(go, "Go")), full_text="always")
    redirected_feed = compatible(internal)
    workspace.source(
        "Redirected feed", feed_server.add("/moved.xml", redirect_to(f"http://[{redirected_feed}]:{port}/feed.xml"))
    )
    feed_itself = translated(internal)
    workspace.source("Feed itself", f"http://[{feed_itself}]:{port}/feed.xml")

    result = workspace.newsbot("run")
    status = workspace.newsbot("status").stdout

    assert result.returncode == 0, result.stderr
    assert secret.requests == [], [request.path for request in secret.requests]  # not even /robots.txt
    for name, (address, form, ipv4, kind) in articles.items():
        assert rows(workspace.database, "SELECT title, summary, text FROM stories WHERE source = ?", name) == [
            (name, TEASER, "")
        ]
        assert sentence(address, form, ipv4, kind) in status_block(status, name), status
    assert len(feed_server.requests_to("/go")) == 1  # the redirect was served, and its target refused
    assert rows(workspace.database, "SELECT summary, text FROM stories WHERE source = 'Redirected article'") == [
        (TEASER, "")
    ]
    assert sentence(redirected_article, "a 6to4 form", "169.254.169.254", "cloud metadata") in (
        status_block(status, "Redirected article")
    ), status
    assert "source failed: Redirected feed: " in result.stdout
    assert sentence(redirected_feed, "an IPv4-compatible form", "127.0.0.2") in status_block(status, "Redirected feed")
    assert "source failed: Feed itself: " in result.stdout
    assert sentence(feed_itself, "an IPv4-translated form", "127.0.0.2") in result.stdout


def test_a_source_at_the_compatible_form_of_loopback_is_refused_before_any_request(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """http://[::7f00:1]:PORT/feed.xml, and its NAT64 and 6to4 twins, with no network allowed at all."""
    del workspace.settings["fetch"]["allowed_networks"]
    port = feed_server.url.rsplit(":", 1)[1]
    feed_server.add("/feed.xml", one_item_feed("https://news.example.com/a", "A"))
    loopback = V4("127.0.0.1")
    sources = {
        "Compatible": (compatible(loopback), "an IPv4-compatible form"),
        "NAT64": (nat64(loopback), "a NAT64 form"),
        "6to4": (six_to_four(loopback), "a 6to4 form"),
    }
    for name, (address, _) in sources.items():
        workspace.source(name, f"http://[{address}]:{port}/feed.xml")

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert feed_server.requests == []
    assert "3 sources (0 unchanged, 3 failed)" in result.stdout
    for name, (address, form) in sources.items():
        assert f"  source failed: {name}: {sentence(address, form, '127.0.0.1')}\n" in result.stdout, result.stdout
