"""A link no URL parser can read — an unclosed `[` in its host, a port past 65535, a space in its host —
is a link that leads nowhere, wherever it is written. In a source's own address, `check` says so
with `file:line`; in a feed, a page, a sitemap or a team spider's item, that one link is skipped and
every other story of the source is kept. Before, one such link passed `check` and then stopped the
sources listed after it, lost the rest of its source on every run, or (in a spider's item) ended the
whole run with a traceback. A date past the last instant UTC can hold is no date, not a lost feed.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Workspace, line_of
from tests.servers import FeedServer, Route, recent, rss

MALFORMED = {
    "unclosed bracket": "http://[10.0.0.5/advisories.xml",
    "port past 65535": "http://127.0.0.1:99999/feed.xml",
    "space in the host": "http://news .example/feed.xml",
    "no host": "https:///feed.xml",
}
LAST_INSTANT = "9999-12-31T23:59:59-14:00"  # after 9999-12-31T23:59:59 UTC


def titles(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        return {title for (title,) in connection.execute("SELECT title FROM stories")}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_source_address_no_parser_can_read_is_a_sentence_with_its_line_before_anything_is_fetched(
    workspace: Workspace, feed_server: FeedServer, kind: str
) -> None:
    good = feed_server.add("/feed.xml", Route(rss([{"title": "Kept", "link": "https://n.example/1"}])))
    workspace.source("Before", good)
    workspace.source("Typo", MALFORMED[kind])
    line = line_of(workspace.write(), MALFORMED[kind])

    check = workspace.newsbot("check")
    run = workspace.newsbot("run")

    for result, code in ((check, 1), (run, 2)):
        assert result.returncode == code and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith(f"newsbot: {workspace.config}:{line}: sources.1.feed: '{MALFORMED[kind]}' ")
    assert not feed_server.requests


def test_an_internal_spiders_unreadable_url_is_a_sentence(workspace: Workspace) -> None:
    workspace.settings["sources"].append(
        {"name": "Intranet", "spider": "vendor_portal", "internal": True, "spider_args": {"url": "http://[10.0.0.5/x"}}
    )
    workspace.write()

    run = workspace.newsbot("run")

    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "spider_args: url: 'http://[10.0.0.5/x' is not a URL that can be fetched (Invalid IPv6 URL)" in run.stderr


TEAM_SPIDER = f'''
import scrapy


class MixedSpider(scrapy.Spider):
    name = "mixed"

    async def start(self):
        yield scrapy.Request(self.url, callback=self.parse)

    def parse(self, response):
        yield {{"url": "http://[bad/x", "title": "Spider: unreadable link"}}
        yield {{"url": response.urljoin("/spider/far"), "title": "Spider: far date", "published": "{LAST_INSTANT}"}}
        yield {{"url": response.urljoin("/spider/good"), "title": "Spider: kept"}}
'''


def test_one_unreadable_link_costs_only_itself_in_every_kind_of_source(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    base = feed_server.url
    article = (
        "<html><head><title>Feed: kept</title></head><body><article><h1>Feed: kept</h1><p>"
        + "The carrier confirmed the outage affected SMS delivery for login codes. " * 8
        + "</p></article></body></html>"
    )
    feed_server.add("/articles/good", Route(article.encode(), content_type="text/html; charset=utf-8"))
    feed = rss(
        [
            {"title": "Feed: unreadable link", "link": "http://127.0.0.1:99999/x", "pubDate": recent()},
            {"title": "Feed: unreadable host", "link": "http://[bad/x", "pubDate": recent()},
            {"title": "Feed: kept", "link": f"{base}/articles/good", "pubDate": recent()},
        ]
    )
    json_feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON",
        "items": [
            {"id": "1", "url": "http://[x/1", "title": "JSON: unreadable link", "content_text": "x"},
            {"id": "2", "url": "https://j.example/far", "title": "JSON: far date", "date_published": LAST_INSTANT},
            {"id": "3", "url": "https://j.example/good", "title": "JSON: kept", "content_text": "y"},
        ],
    }
    listing = (
        '<html><body><a class="s" href="http://[bad/x">Listing: unreadable</a>'
        '<a class="s" href="/l/good">Listing: kept</a></body></html>'
    )
    sitemap = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>http://[bad/x</loc></url>"
        f"<url><loc>{base}/sm/good</loc><lastmod>{recent_iso()}</lastmod></url></urlset>"
    )
    home = (
        '<html><head><link rel="alternate" type="application/rss+xml" href="http://[bad/feed">'
        '<link rel="alternate" type="application/rss+xml" href="/site-feed.xml"></head></html>'
    )
    routes = {
        "/feed.xml": Route(feed),
        "/feed.json": Route(json.dumps(json_feed).encode(), content_type="application/feed+json"),
        "/listing": Route(listing.encode(), content_type="text/html"),
        "/sitemap.xml": Route(sitemap.encode(), content_type="text/xml"),
        "/home": Route(home.encode(), content_type="text/html"),
        "/site-feed.xml": Route(rss([{"title": "Site: kept", "link": "https://s.example/good", "pubDate": recent()}])),
        "/portal": Route(b"<html><body>portal</body></html>", content_type="text/html"),
    }
    for path, route in routes.items():
        feed_server.add(path, route)
    folder = workspace.folder / "team-spiders"
    folder.mkdir()
    (folder / "mixed.py").write_text(TEAM_SPIDER, encoding="utf-8")
    workspace.settings["spiders_dir"] = "team-spiders"
    workspace.settings["sources"] += [
        {"name": "Feed", "feed": f"{base}/feed.xml", "full_text": "auto"},
        {"name": "JSON", "feed": f"{base}/feed.json", "full_text": "never"},
        {"name": "Listing", "url": f"{base}/listing", "links": "a.s", "full_text": "never"},
        {"name": "Sitemap", "sitemap": f"{base}/sitemap.xml", "full_text": "never"},
        {"name": "Site", "site": f"{base}/home", "full_text": "never"},
        {"name": "Spider", "spider": "mixed", "spider_args": {"url": f"{base}/portal"}},
        {"name": "After", "feed": f"{base}/site-feed.xml", "full_text": "never"},
    ]

    run = workspace.newsbot("run")

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "Spider error" not in run.stderr, run.stderr
    stored = titles(workspace.database)
    assert {"Feed: kept", "JSON: far date", "JSON: kept", "Site: kept", "Spider: far date", "Spider: kept"} <= stored
    assert not any("unreadable" in title for title in stored), stored
    with sqlite3.connect(workspace.database) as connection:
        urls = {url for (url,) in connection.execute("SELECT url FROM stories")}
        far = connection.execute(
            "SELECT published_at FROM stories WHERE title IN ('JSON: far date', 'Spider: far date')"
        ).fetchall()
    assert {f"{base}/l/good", f"{base}/sm/good"} <= urls
    assert far == [(None,), (None,)], "no date, rather than a lost feed or item"
    assert "cut short" not in run.stdout, run.stdout


def recent_iso() -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(hours=1)).isoformat()
