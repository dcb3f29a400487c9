"""A hostile public feed must not make newsbot fetch internal URLs (SSRF), whatever it tries.

End to end: the CLI crawls a "public" feed server on 127.0.0.1 (let through by fetch.allowed_networks)
whose items link to a "secret" server on 127.0.0.2 that stands for an intranet host or a cloud
metadata service. The secret server records every request, so "refused" means nothing reached it,
not even a robots.txt lookup. AddressPolicy.refusal is also tested directly, case by case.
"""

from __future__ import annotations

import ipaddress
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsbot.sources.addresses import AddressPolicy
from tests.conftest import Workspace, status_block
from tests.servers import FeedServer, Route, recent, rss

LOOPBACK_REFUSAL = "resolves to 127.0.0.2, a loopback address; only a source marked `internal: true` may reach"
INTERNAL_HOST_REFUSAL = "belongs to an internal source; a public source's links may not reach it"
TEASER = "A short teaser that the story keeps when its article is refused."
ARTICLE_TEXT = "The regulator published the full decision today. " * 12
ARTICLE = Route(
    f"<html><head><title>Fine</title></head><body><article><p>{ARTICLE_TEXT}</p></article></body></html>".encode(),
    content_type="text/html; charset=utf-8",
)


@pytest.fixture
def secret() -> Iterator[FeedServer]:
    """The internal host: every path answers, so any request that slipped through would be seen."""
    server = FeedServer(host="127.0.0.2")
    for path in ("/secret", "/", "/robots.txt", "/latest/meta-data/", "/feed.xml"):
        server.add(path, Route(b"TOP SECRET", content_type="text/html; charset=utf-8"))
    server.start()
    yield server
    server.stop()


def rows(database: Path, sql: str, *parameters: str) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql, parameters).fetchall()


def one_item_feed(link: str, title: str) -> Route:
    return Route(rss([{"title": title, "link": link, "description": TEASER, "pubDate": recent()}]))


# Unit: AddressPolicy.refusal -------------------------------------------------------------------

REFUSED = [
    pytest.param("10.1.2.3", "private", id="10/8"),
    pytest.param("172.16.0.1", "private", id="172.16/12 low end"),
    pytest.param("172.31.255.254", "private", id="172.16/12 high end"),
    pytest.param("192.168.1.1", "private", id="192.168/16"),
    pytest.param("100.64.0.1", "non-public", id="100.64/10 carrier-grade NAT"),
    pytest.param("169.254.169.254", "cloud metadata", id="cloud metadata"),
    pytest.param("127.0.0.1", "loopback", id="127/8"),
    pytest.param("::1", "loopback", id="ipv6 loopback"),
    pytest.param("::ffff:127.0.0.1", "loopback", id="ipv4-mapped loopback"),
    pytest.param("::ffff:10.0.0.1", "private", id="ipv4-mapped private"),
    pytest.param("fe80::1", "link-local", id="ipv6 link-local"),
    pytest.param("fd00::1", "private", id="ipv6 unique local"),
    pytest.param("fd00:ec2::254", "cloud metadata", id="AWS IPv6 metadata"),
    pytest.param("fec0::1", "site-local", id="deprecated ipv6 site-local"),
    pytest.param("3fff::1", "documentation", id="ipv6 documentation (RFC 9637)"),
    pytest.param("0.0.0.0", "private", id="unspecified (Python counts 0/8 as private)"),
    pytest.param("224.0.0.1", "non-public", id="multicast"),
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_non_public_addresses_are_refused_with_a_sentence(address: str, kind: str) -> None:
    policy = AddressPolicy(internal_hosts=[], allowed_networks=[])

    refusal = policy.refusal("news.example.com", address)

    shown = ipaddress.ip_address(address)
    if isinstance(shown, ipaddress.IPv6Address) and shown.ipv4_mapped:
        shown = shown.ipv4_mapped  # the sentence names the IPv4 address a mapped one reaches
    assert refusal == (
        f"news.example.com resolves to {shown}, a {kind} address; "
        "only a source marked `internal: true` may reach such addresses"
    )


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy(internal_hosts=[], allowed_networks=[]).refusal("news.example.com", address) is None


def test_something_that_is_not_an_address_is_refused() -> None:
    refusal = AddressPolicy([], []).refusal("weird.example", "not-an-ip")

    assert refusal == "weird.example resolved to 'not-an-ip', which is not an IP address"


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("10.20.30.40", False),  # inside 10.20.0.0/16
        ("10.20.255.255", False),
        ("10.21.0.1", True),  # just outside it
        ("192.168.5.5", False),  # the /32
        ("192.168.5.6", True),
        ("::ffff:10.20.1.1", False),  # mapped into an allowed IPv4 network
        ("fd12:3456::1", False),
        ("fd12:3457::1", True),
    ],
)
def test_allowed_networks_let_their_members_through_and_no_more(address: str, refused: bool) -> None:
    networks = [ipaddress.ip_network(value) for value in ("10.20.0.0/16", "192.168.5.5/32", "fd12:3456::/32")]
    policy = AddressPolicy(internal_hosts=[], allowed_networks=networks)

    assert (policy.refusal("proxy.corp.example", address) is not None) is refused


@pytest.mark.parametrize("host", ["intranet.corp.example", "INTRANET.Corp.Example", "Intranet.corp.example"])
def test_an_internal_source_host_may_reach_private_addresses_whatever_its_case(host: str) -> None:
    policy = AddressPolicy(internal_hosts=["Intranet.CORP.example"], allowed_networks=[])

    assert policy.refusal(host, "10.0.0.5") is None
    assert policy.refusal(host, "169.254.169.254") is None
    assert policy.refusal("other.corp.example", "10.0.0.5") is not None


# End to end ------------------------------------------------------------------------------------


def add_hostile_sources(workspace: Workspace, feed_server: FeedServer, links: dict[str, str]) -> None:
    """One public source per hostile link (each gets its own status line), all with full_text: always."""
    for number, (name, link) in enumerate(links.items()):
        url = feed_server.add(f"/hostile-{number}.xml", one_item_feed(link, name))
        workspace.source(name, url, full_text="always")


def redirect_to(url: str) -> Route:
    return Route(status=302, headers={"Location": url}, content_type="text/html")


def test_a_public_feed_cannot_make_newsbot_fetch_internal_urls(
    workspace: Workspace, feed_server: FeedServer, secret: FeedServer
) -> None:
    """Every hostile link is refused before a byte is sent; each story keeps its teaser instead.

    Numeric spellings of 127.0.0.2 are names to Twisted, so they are resolved, and refused, with
    the reason in `status`. The dotted-literal cases are checked for the same sentence below.
    """
    port = secret.url.rsplit(":", 1)[1]
    spellings = {  # source name → how its link spells 127.0.0.2
        "Decimal": "2130706434",
        "Hex": "0x7f000002",
        "Octal": "0177.0.0.2",
        "Short": "127.2",
        "Mapped IPv6": "[::ffff:127.0.0.2]",
    }
    spelled = {name: f"http://{host}:{port}/secret" for name, host in spellings.items()}
    literal = {
        "Secret host": f"{secret.url}/secret",
        "Metadata": "http://169.254.169.254/latest/meta-data/",
        "Redirected article": feed_server.add("/go", redirect_to(f"{secret.url}/secret")),
    }
    add_hostile_sources(workspace, feed_server, spelled | literal)
    not_http = rss(
        [
            {"title": "Local file", "link": "file:///etc/passwd", "description": TEASER},
            {"title": "Data URL", "link": "data:text/html,<h1>hi</h1>", "description": TEASER},
            {"title": "Fine", "link": feed_server.add("/fine", ARTICLE), "description": TEASER},
        ]
    )
    workspace.source("Not http", feed_server.add("/not-http.xml", Route(not_http)), full_text="always")
    workspace.source("Redirected feed", feed_server.add("/moved.xml", redirect_to(f"{secret.url}/feed.xml")))

    result = workspace.newsbot("run")
    status = workspace.newsbot("status").stdout

    assert result.returncode == 0, result.stderr
    assert secret.requests == [], [request.path for request in secret.requests]  # not even /robots.txt
    assert len(feed_server.requests_to("/go")) == 1  # the redirect was served, and its target refused
    for name in spelled | literal:
        stored = rows(workspace.database, "SELECT title, summary, text FROM stories WHERE source = ?", name)
        assert stored == [(name, TEASER, "")], name
        assert "    warning: " in status_block(status, name), status
    for name, host in spellings.items():
        assert f"{spelled[name]}: " in status_block(status, name), status
        assert f"{host.strip('[]')} {LOOPBACK_REFUSAL}" in status_block(status, name), status
    # file: and data: links are neither fetched nor stored; the http(s) one beside them is, with its text.
    assert rows(
        workspace.database,
        "SELECT title, instr(text, 'regulator published the full decision') > 0 FROM stories WHERE source = 'Not http'",
    ) == [("Fine", 1)]
    assert "Not http: last fetch" in status and "warning" not in status_block(status, "Not http")
    assert "source failed: Redirected feed: " in result.stdout
    assert "error: " in status_block(status, "Redirected feed")


def test_a_dotted_internal_address_is_refused_with_the_reason(
    workspace: Workspace, feed_server: FeedServer, secret: FeedServer
) -> None:
    links = {
        "Secret host": f"{secret.url}/secret",
        "Redirected article": feed_server.add("/go", redirect_to(f"{secret.url}/secret")),
        "Metadata": "http://169.254.169.254/latest/meta-data/",
    }
    add_hostile_sources(workspace, feed_server, links)
    workspace.source("Redirected feed", feed_server.add("/moved.xml", redirect_to(f"{secret.url}/feed.xml")))

    result = workspace.newsbot("run")
    status = workspace.newsbot("status").stdout

    assert secret.requests == []
    assert f"Secret host: 1 articles kept their teaser: {secret.url}/secret: " in result.stdout
    for name in ("Secret host", "Redirected article", "Redirected feed"):
        assert LOOPBACK_REFUSAL in status_block(status, name), status
    assert "a cloud metadata address" in status_block(status, "Metadata"), status


def test_an_internal_source_is_fetched_and_public_links_to_its_host_are_not(
    workspace: Workspace, feed_server: FeedServer, secret: FeedServer
) -> None:
    """`internal: true` opens the intranet host to that source only, article pages included."""
    secret.add("/article", ARTICLE)
    intranet_feed = rss(
        [{"title": "Intranet advisory", "link": f"{secret.url}/article", "description": TEASER, "pubDate": recent()}]
    )
    workspace.source("Intranet", secret.add("/advisories.xml", Route(intranet_feed)), internal=True, full_text="always")
    port = secret.url.rsplit(":", 1)[1]
    add_hostile_sources(
        workspace,
        feed_server,
        {"Same host": f"{secret.url}/secret", "Other spelling": f"http://2130706434:{port}/secret"},
    )

    result = workspace.newsbot("run")
    status = workspace.newsbot("status").stdout

    assert result.returncode == 0, result.stderr
    assert {request.path for request in secret.requests} <= {"/robots.txt", "/advisories.xml", "/article"}
    assert secret.requests_to("/advisories.xml") and secret.requests_to("/article")
    assert secret.requests_to("/secret") == []
    assert rows(
        workspace.database,
        "SELECT title, instr(text, 'regulator published the full decision') > 0 FROM stories WHERE source = 'Intranet'",
    ) == [("Intranet advisory", 1)]
    assert "127.0.0.2 " + INTERNAL_HOST_REFUSAL in status_block(status, "Same host"), status
    assert "2130706434 " + LOOPBACK_REFUSAL in status_block(status, "Other spelling"), status
    for name in ("Same host", "Other spelling"):
        assert rows(workspace.database, "SELECT summary, text FROM stories WHERE source = ?", name) == [(TEASER, "")]


def test_without_allowed_networks_a_loopback_source_is_refused(workspace: Workspace, feed_server: FeedServer) -> None:
    """The test servers are only reachable because the workspace allows 127.0.0.1/32: take that away."""
    del workspace.settings["fetch"]["allowed_networks"]
    port = feed_server.url.rsplit(":", 1)[1]
    workspace.source("Localhost", f"http://localhost:{port}/feed.xml")
    workspace.source("Loopback", feed_server.add("/feed.xml", one_item_feed("https://news.example.com/a", "A")))

    result = workspace.newsbot("run")
    status = workspace.newsbot("status").stdout

    assert result.returncode == 0, result.stderr
    assert feed_server.requests == []
    assert "2 sources (0 unchanged, 2 failed)" in result.stdout
    assert (
        "source failed: Localhost: DNS lookup failed: localhost resolves to 127.0.0.1, a loopback address; "
        "only a source marked `internal: true` may reach such addresses" in result.stdout
    )
    assert "Localhost: last fetch" in status and "resolves to 127.0.0.1, a loopback address" in status
    assert "source failed: Loopback: " in result.stdout


def test_without_allowed_networks_a_loopback_ip_source_is_refused_with_the_reason(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    del workspace.settings["fetch"]["allowed_networks"]
    workspace.source("Loopback", feed_server.add("/feed.xml", one_item_feed("https://news.example.com/a", "A")))

    result = workspace.newsbot("run")

    assert feed_server.requests == []
    assert "source failed: Loopback: " in result.stdout
    assert "127.0.0.1 resolves to 127.0.0.1, a loopback address; only a source marked `internal: true`" in (
        result.stdout
    )
