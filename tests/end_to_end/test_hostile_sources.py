"""Bad input never stops a run, and `status` says what went wrong where.

Two real `newsbot run`s over real HTTP, each with many broken or hostile sources side by side, as
a team's config would have them on a bad day: one for feeds and fetches (a 200 error page, lying
encodings, missing and repeated links, absurd dates, a redesigned listing page, a silent server,
robots.txt, a gzip bomb, an endless body, a redirect loop), one for hostile article pages
(full_text: always). Each run happens once per module; the tests then assert source by source.
"""

from __future__ import annotations

import functools
import gzip
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import pytest

from newsbot.stories.normalize import MAX_TEXT_CHARS
from tests.conftest import REPOSITORY, Workspace, status_block
from tests.servers import FeedServer, Route, recent, rss

DATA = REPOSITORY / "tests" / "data" / "hostile"
MAX_BYTES = 200_000
HTML = "text/html; charset=utf-8"
ACCENTED = "Café Müller über Straße: SMS-Betrug"
FIVE_YEARS = 5 * 365.25 * 24 * 3600


def rows(database: Path, sql: str, *parameters: str) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql, parameters).fetchall()


@dataclass
class Outcome:
    """One finished run: what it printed, what `status` printed after it, and where its database is."""

    stdout: str
    stderr: str
    returncode: int
    status: str
    database: Path

    def stories(self, source: str) -> list[tuple]:
        """(url, title, summary, text, published_at) of the source's stories, by URL."""
        return rows(
            self.database,
            "SELECT url, title, summary, text, published_at FROM stories WHERE id IN "
            "(SELECT story_id FROM story_sources WHERE source = ?) ORDER BY url",
            source,
        )

    def block(self, source: str) -> str:
        return status_block(self.status, source)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, FeedServer]]:
    """The "site" with the feeds, plus two hosts with their own robots.txt (it is per host and port)."""
    started = {name: FeedServer() for name in ("site", "robots 403", "robots closed")}
    for server in started.values():
        server.start()
    yield started
    for server in started.values():
        server.stop()


def in_years(years: float) -> str:
    return formatdate(time.time() + years * 365.25 * 24 * 3600, usegmt=True)


def vendor_item(title: str, link: str, pub_date: str) -> dict[str, str]:
    """An item the example watchlist alerts on (Mitto AG + SS7), so dates decide whether it does."""
    return {
        "title": title,
        "link": link,
        "description": "Mitto AG sold SS7 access to locate phones.",
        "pubDate": pub_date,
    }


def gzip_bomb(size: int) -> bytes:
    """A few kilobytes on the wire that inflate to `size` bytes of an RSS-looking document."""
    head = b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>'
    return gzip.compress(head + b" " * size, compresslevel=9)


# Run 1: feeds and fetches ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def feed_run(tmp_path_factory: pytest.TempPathFactory, servers: dict[str, FeedServer]) -> Iterator[Outcome]:
    site = servers["site"]
    never = threading.Event()  # the silent server answers only when the module is done
    workspace = Workspace(tmp_path_factory.mktemp("feeds"))
    workspace.settings["fetch"].update({"timeout_seconds": 2, "max_bytes": MAX_BYTES})

    def feed(name: str, path: str, route: Route, server: FeedServer = site, **options: object) -> None:
        workspace.source(name, server.add(path, route), **options)

    feed("Error page", "/feed.xml", Route((DATA / "error-page.html").read_bytes(), content_type=HTML))
    latin1 = rss([{"title": ACCENTED, "link": "https://news.example.com/latin1", "pubDate": recent()}])
    feed("Latin-1 says UTF-8", "/latin1.xml", Route(latin1.decode().encode("latin-1")))
    utf8 = rss([{"title": ACCENTED + " – €", "link": "https://news.example.com/utf8", "pubDate": recent()}])
    utf8 = utf8.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    feed("UTF-8 says Latin-1", "/utf8.xml", Route(utf8, content_type="application/rss+xml; charset=iso-8859-1"))
    no_links = rss(
        [
            {"title": "No link at all", "description": "dropped"},
            {"title": "Only a urn guid", "guid": "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"},
            {"title": "A script link", "link": "javascript:alert(document.cookie)"},
            {"title": "The one with a link", "link": "https://news.example.com/linked", "pubDate": recent()},
        ]
    )
    feed("Missing links", "/no-links.xml", Route(no_links))
    twice = {"title": "Repeated story", "link": "https://news.example.com/repeated", "guid": "g-1"}
    repeated = rss(
        [
            {**twice, "pubDate": recent()},
            {**twice, "title": "Repeated story, updated", "pubDate": recent(0.5)},
            {**twice, "title": "Repeated story via campaign", "link": twice["link"] + "?utm_source=rss", "guid": "g-2"},
        ]
    )
    feed("Duplicates", "/duplicates.xml", Route(repeated))
    dates = rss(
        [
            vendor_item("Mitto AG story dated five years ahead", "https://news.example.com/future", in_years(5)),
            vendor_item(
                "Mitto AG story dated year 9999", "https://news.example.com/far-future", "Fri, 31 Dec 9999 23:59:59 GMT"
            ),
            vendor_item("Mitto AG story with no readable date", "https://news.example.com/undated", "yesterday-ish"),
            vendor_item(
                "Mitto AG story on 31 February", "https://news.example.com/feb31", "Mon, 31 Feb 2025 25:61 GMT"
            ),
        ]
    )
    feed("Dates", "/dates.xml", Route(dates))
    listing = {
        "name": "Redesigned listing",
        "url": site.add("/security/", Route((DATA / "listing-redesigned.html").read_bytes(), content_type=HTML)),
        "links": "article h2 a",
        "full_text": "never",
    }
    workspace.settings["sources"].append(listing)
    feed("Silent", "/silent.xml", Route(rss([]), gate=never))
    bomb = Route(gzip_bomb(MAX_BYTES * 25), headers={"Content-Encoding": "gzip"})
    feed("Gzip bomb", "/bomb.xml", bomb)
    feed("Endless", "/endless.xml", Route(stream_forever=True))
    site.add("/loop-b", Route(status=302, headers={"Location": "/loop-a"}, content_type=HTML))
    feed("Redirect loop", "/loop-a", Route(status=302, headers={"Location": "/loop-b"}, content_type=HTML))
    fine = rss([{"title": "Robots said 403", "link": "https://news.example.com/robots-403", "pubDate": recent()}])
    servers["robots 403"].add("/robots.txt", Route(b"Forbidden", status=403, content_type="text/plain"))
    feed("Robots 403", "/feed.xml", Route(fine), servers["robots 403"])
    servers["robots closed"].add("/robots.txt", Route(b"User-agent: *\nDisallow: /\n", content_type="text/plain"))
    feed("Robots closed", "/feed.xml", Route(fine), servers["robots closed"])

    result = workspace.newsbot("run", timeout=60)
    status = workspace.newsbot("status").stdout
    yield Outcome(result.stdout, result.stderr, result.returncode, status, workspace.database)
    never.set()


def test_the_feed_run_completes_and_counts_every_source(feed_run: Outcome) -> None:
    assert feed_run.returncode == 0, feed_run.stderr
    assert "newsbot run: 13 sources (0 unchanged, 6 failed), 12 entries, 9 new stories" in feed_run.stdout
    assert "Traceback" not in feed_run.stdout


FAILURES = [
    ("Error page", "the response is not an RSS, Atom or JSON feed"),
    ("Silent", "the server did not answer in time (fetch.timeout_seconds)"),
    ("Gzip bomb", "the response was larger than fetch.max_bytes once decompressed (a compression bomb?)"),
    ("Endless", "the response was larger than fetch.max_bytes"),
    ("Redirect loop", "it redirected too many times (newsbot stops after 5 redirects: a redirect loop?)"),
    ("Robots closed", "robots.txt forbids fetching it"),
]


@pytest.mark.parametrize(("source", "sentence"), FAILURES, ids=[source for source, _ in FAILURES])
def test_a_failing_source_is_reported_in_the_run_and_in_status(feed_run: Outcome, source: str, sentence: str) -> None:
    assert f"  source failed: {source}: {sentence}" in feed_run.stdout
    block = feed_run.block(source)
    assert f", error: {sentence}" in block and block.endswith(", 0 stories"), feed_run.status


def test_a_robots_txt_that_forbids_everything_costs_no_request_to_the_feed(
    feed_run: Outcome, servers: dict[str, FeedServer]
) -> None:
    closed = servers["robots closed"]
    assert [request.path for request in closed.requests] == ["/robots.txt"]


def test_a_robots_txt_answering_403_counts_as_allowing_everything(
    feed_run: Outcome, servers: dict[str, FeedServer]
) -> None:
    """Scrapy parses whatever body a 4xx robots.txt has ("Forbidden": no rules), as RFC 9309 asks."""
    host = servers["robots 403"]
    assert [request.path for request in host.requests] == ["/robots.txt", "/feed.xml"]
    assert [story[1] for story in feed_run.stories("Robots 403")] == ["Robots said 403"]
    assert "Robots 403: last fetch" in feed_run.status and "error" not in feed_run.block("Robots 403")


def test_the_redirect_loop_was_followed_only_to_the_limit(feed_run: Outcome, servers: dict[str, FeedServer]) -> None:
    site = servers["site"]
    assert len(site.requests_to("/loop-a")) + len(site.requests_to("/loop-b")) == 6  # the first, then 5 redirects


@pytest.mark.parametrize(
    ("source", "title"),
    [("Latin-1 says UTF-8", ACCENTED), ("UTF-8 says Latin-1", ACCENTED + " – €")],
)
def test_a_feed_lying_about_its_encoding_still_gives_readable_titles(
    feed_run: Outcome, source: str, title: str
) -> None:
    [(_, stored, *_)] = feed_run.stories(source)
    assert stored == title
    assert "error" not in feed_run.block(source)


def test_items_without_an_http_link_are_dropped_and_the_rest_kept(feed_run: Outcome) -> None:
    assert [story[:2] for story in feed_run.stories("Missing links")] == [
        ("https://news.example.com/linked", "The one with a link")
    ]
    assert "Missing links: last fetch" in feed_run.status and ", ok, 1 stories" in feed_run.block("Missing links")


def test_an_item_repeated_by_guid_link_or_tracking_parameter_is_one_story(feed_run: Outcome) -> None:
    """The first copy wins: a story is never rewritten by a later copy of itself."""
    assert [story[:2] for story in feed_run.stories("Duplicates")] == [
        ("https://news.example.com/repeated", "Repeated story")
    ]
    assert rows(feed_run.database, "SELECT count(*) FROM story_sources WHERE source = 'Duplicates'") == [(1,)]


def test_dates_in_the_future_and_unreadable_dates_are_stored_as_unknown(feed_run: Outcome) -> None:
    """A date more than a day ahead is a feed's mistake, like an unreadable one: the story is stored
    without a date, and the age limit uses the time newsbot first saw it (newsbot/stories/normalize.py).
    """
    published = {url.rsplit("/", 1)[1]: when for url, _, _, _, when in feed_run.stories("Dates")}
    assert published == dict.fromkeys(("future", "far-future", "undated", "feb31"))


def test_future_and_undated_stories_still_alert(feed_run: Outcome) -> None:
    """The age limit only holds back old stories; an undated story ages from when it was first seen."""
    for title in (
        "Mitto AG story dated five years ahead",
        "Mitto AG story dated year 9999",
        "Mitto AG story with no readable date",
        "Mitto AG story on 31 February",
    ):
        assert f"[HIGH] SMS and 2FA vendors: {title}" in feed_run.stdout
    assert rows(
        feed_run.database,
        "SELECT count(*) FROM alerts WHERE status = 'sent' AND story_id IN "
        "(SELECT story_id FROM story_sources WHERE source = 'Dates')",
    ) == [(4,)]


def test_a_listing_whose_selector_matches_nothing_warns_and_shows_no_links(feed_run: Outcome) -> None:
    assert "  source warning: Redesigned listing: selector matched 0 links" in feed_run.stdout
    block = feed_run.block("Redesigned listing")
    assert ", ok, 0 stories" in block
    assert "NO LINKS since " in block and "selector matched 0 links (links: 'article h2 a' on http://" in block


# Run 2: hostile article pages -----------------------------------------------------------------

PARAGRAPH = "Operators rolled out a new number-portability check across the region this week, officials said. "
NEUTRAL_TEASER = "Regulators met operators about number portability."
BIG_PARAGRAPHS = 5_800  # of ~920 bytes each: a page of more than 5 MiB, under the default 10 MiB max_bytes


def page(body: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Story</title>{head}</head><body>{body}</body></html>"
    )


@functools.cache
def hostile_pages() -> dict[str, Route]:
    """Article pages by path: each hostile in one way, plus a control whose text does name a vendor."""
    nested = page("<div>" * 20_000 + f"<p>{PARAGRAPH * 3}</p>" + "</div>" * 20_000)
    sentence = "Carrier billing reforms and roaming tariffs were discussed by the regional regulator again. "
    big = page(
        "<article>" + "".join(f"<p>{number} {sentence * 10}</p>" for number in range(BIG_PARAGRAPHS)) + "</article>"
    )
    tracking = "<script>analytics.track({topic: 'Mitto AG sold SS7 access to locate phones'});</script>"
    scripted = page(f"<article><p>{PARAGRAPH * 4}</p>{tracking}</article>", head=tracking)
    invalid = (
        page(f"<article><p>Start \xff\xfe of {PARAGRAPH * 4}</p></article>")
        .encode()
        .replace(b"\xc3\xbf\xc3\xbe", b"\xff\xfe\xc3\x28\x80")
    )
    control = page(
        "<article>" + f"<p>{PARAGRAPH}</p>" * 5 + "<p>Mitto AG sold SS7 access to locate phones.</p></article>"
    )
    return {
        "/nested": Route(nested.encode(), content_type=HTML),
        "/big": Route(big.encode(), content_type=HTML),
        "/scripted": Route(scripted.encode(), content_type=HTML),
        "/invalid-bytes": Route(invalid, content_type=HTML),
        "/control": Route(control.encode(), content_type=HTML),
    }


@pytest.fixture(scope="module")
def article_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    server = FeedServer()
    server.start()
    workspace = Workspace(tmp_path_factory.mktemp("articles"))
    items = [
        {
            "title": f"Story {path[1:]}",
            "link": server.add(path, route),
            "description": NEUTRAL_TEASER,
            "pubDate": recent(),
        }
        for path, route in hostile_pages().items()
    ]
    workspace.source("Articles", server.add("/feed.xml", Route(rss(items))), full_text="always")
    result = workspace.newsbot("run", timeout=60)
    status = workspace.newsbot("status").stdout
    yield Outcome(result.stdout, result.stderr, result.returncode, status, workspace.database)
    server.stop()


def article_text(outcome: Outcome, name: str) -> tuple[str, str]:
    """(summary, text) of the story whose article is at /name."""
    [found] = [(summary, text) for url, _, summary, text, _ in outcome.stories("Articles") if url.endswith(f"/{name}")]
    return found


def test_the_article_run_completes_without_warnings(article_run: Outcome) -> None:
    assert article_run.returncode == 0, article_run.stderr
    assert "1 sources (0 unchanged, 0 failed), 5 entries, 5 new stories" in article_run.stdout
    assert "warning" not in article_run.block("Articles"), article_run.status


def test_vendor_names_in_scripts_are_not_story_text_and_do_not_alert(article_run: Outcome) -> None:
    """The control story proves article text is matched; the scripted one must not be."""
    _, text = article_text(article_run, "scripted")
    assert PARAGRAPH.strip() in text and "Mitto" not in text and "analytics" not in text
    assert "[HIGH] SMS and 2FA vendors: Story control" in article_run.stdout
    assert "Story scripted" not in article_run.stdout
    assert rows(article_run.database, "SELECT count(*) FROM alerts") == [(1,)]


def test_invalid_bytes_are_replaced_and_the_text_kept(article_run: Outcome) -> None:
    _, text = article_text(article_run, "invalid-bytes")
    assert text.startswith("Start \ufffd") and PARAGRAPH.strip() in text  # U+FFFD: the replacement character


def test_a_five_megabyte_page_under_max_bytes_is_read_as_far_as_the_text_bounds(article_run: Outcome) -> None:
    """Downloaded whole (it is under max_bytes), then read to MAX_PAGE_CHARS and kept to MAX_TEXT_CHARS:
    reading all of it held the crawl's thread for 14 s, and no news article is that long."""
    _, text = article_text(article_run, "big")
    assert len(hostile_pages()["/big"].body) > 5 * 1024 * 1024
    assert text.startswith("0 Carrier billing reforms") and f"{BIG_PARAGRAPHS - 1} Carrier billing reforms" not in text
    assert MAX_TEXT_CHARS - 1_000 < len(text) <= MAX_TEXT_CHARS


def test_twenty_thousand_nested_divs_leave_the_story_with_its_teaser(article_run: Outcome) -> None:
    """libxml2's HTML parser stops nesting at depth 256 and drops what is deeper, so trafilatura finds
    no text: the story keeps the feed's teaser rather than failing the source or holding junk.
    """
    summary, text = article_text(article_run, "nested")
    assert (summary, text) == (NEUTRAL_TEASER, "")


def test_a_long_broken_feed_is_read_only_as_far_as_its_bound_and_says_so(workspace: Workspace) -> None:
    """A 4 MB feed that is not well-formed XML: its first 2 MB's items are stored, the source is
    ok with a warning naming what was left, and the healthy source beside it is read as always."""
    from newsbot.stories.feeds import FEEDPARSER_BYTES
    from tests.stories.test_feeds import long_feed

    server = FeedServer()
    server.start()
    try:
        body = long_feed(3_600, broken=True)
        assert len(body) > 2 * FEEDPARSER_BYTES
        workspace.source("Long broken", server.add("/long.xml", Route(body)))
        healthy = [{"title": "Mitto AG sold SS7 access", "link": "https://wire.example/mitto", "pubDate": recent()}]
        workspace.source("Healthy", server.add("/healthy.xml", Route(rss(healthy))))
        result = workspace.newsbot("run", timeout=90)
        status = workspace.newsbot("status").stdout
    finally:
        server.stop()

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(workspace.database) as connection:
        counts = dict(connection.execute("SELECT source, count(*) FROM story_sources GROUP BY source").fetchall())
    assert counts["Healthy"] == 1
    assert 0 < counts["Long broken"] < 3_600
    block = status_block(status, "Long broken")
    assert f"(not well-formed XML, or not UTF-8): only its first {FEEDPARSER_BYTES / 1e6:.1f} MB was read" in block, (
        status
    )


def test_an_answer_that_is_not_valid_http_fails_its_source_in_a_sentence(workspace: Workspace) -> None:
    """`Content-Length: -5`: the source said "ValueError: Value contains non-decimal digits: b'-5'"."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer_badly() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed at the end of the test
                return
            with connection:
                connection.recv(65536)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: -5\r\n\r\n"
                )

    threading.Thread(target=answer_badly, daemon=True).start()
    try:
        workspace.source("Bad length", f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml")
        workspace.settings["fetch"]["obey_robots_txt"] = False
        result = workspace.newsbot("run")
    finally:
        listener.close()

    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if "source failed: Bad length: " in line]
    assert "the server's answer was not valid HTTP (" in line and "ValueError" not in line, line


def test_a_redirect_newsbot_will_not_follow_says_where_it_led(workspace: Workspace) -> None:
    """Scrapy does not follow a redirect to `file:` or `gopher:`, nor one with no Location: each
    source said "the server answered HTTP 302", as if the publisher's server had failed."""
    server = FeedServer()
    server.start()
    try:
        redirects = {
            "To a file": Route(status=302, headers={"Location": "file:///etc/passwd"}),
            "To gopher": Route(status=301, headers={"Location": "gopher://127.0.0.1/feed"}),
            "Nowhere": Route(status=307),
            "Followed": Route(status=302, headers={"Location": "/feed.xml"}),
        }
        for name, route in redirects.items():
            workspace.source(name, server.add(f"/{name.replace(' ', '-').lower()}", route))
        item = {"title": "Mitto AG sold SS7 access", "link": "https://wire.example/mitto", "pubDate": recent()}
        server.add("/feed.xml", Route(rss([item])))
        workspace.settings["fetch"]["obey_robots_txt"] = False
        result = workspace.newsbot("run")
    finally:
        server.stop()

    assert result.returncode == 0, result.stderr
    failed = {
        line.partition("source failed: ")[2].partition(": ")[0]: line
        for line in result.stdout.splitlines()
        if "source failed: " in line
    }
    assert set(failed) == {"To a file", "To gopher", "Nowhere"}, result.stdout
    assert "it redirected to a file: address, which newsbot does not follow" in failed["To a file"]
    assert "it redirected to a gopher: address, which newsbot does not follow" in failed["To gopher"]
    assert "HTTP 307, a redirect that names no address (no Location header)" in failed["Nowhere"]
    with sqlite3.connect(workspace.database) as connection:
        stored = connection.execute("SELECT source FROM story_sources").fetchall()
    assert stored == [("Followed",)]
