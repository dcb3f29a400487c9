"""Edge cases a review found: each ends a run cleanly, with a sentence, and keeps what it should."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from newsbot.configuration.config import load_config
from newsbot.errors import ConfigError
from newsbot.storage.database import Storage
from newsbot.storage.migrations import MIGRATIONS
from newsbot.stories.urls import canonical_url
from tests.conftest import Workspace
from tests.servers import FeedServer, Route, recent, rss

HOME_LINKING = b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head></html>'


def rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()


def test_a_site_whose_announced_feed_is_gone_fails_once_instead_of_looping(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    home = feed_server.add("/", Route(HOME_LINKING, content_type="text/html"))
    feed_server.add("/feed.xml", Route(rss([{"title": "t", "link": "https://x.example/1", "pubDate": recent()}])))
    workspace.settings["sources"].append({"name": "Blog", "site": home, "full_text": "never"})
    workspace.newsbot("run")  # the feed is found and remembered
    feed_server.routes["/feed.xml"] = Route(b"gone", status=404, content_type="text/plain")

    result = workspace.newsbot("run", timeout=30)

    assert result.returncode == 0, result.stderr
    assert "source failed: Blog: the server answered HTTP 404" in result.stdout
    assert [request.path for request in feed_server.requests if request.path != "/robots.txt"][-3:] == [
        "/feed.xml",
        "/",
        "/feed.xml",
    ]


def test_a_later_listing_page_that_is_not_html_keeps_the_first_pages_stories(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    listing = (
        b'<html><body><article><h2><a href="/a1">One</a></h2></article>'
        b'<a rel="next" href="/page2">next</a></body></html>'
    )
    url = feed_server.add("/news/", Route(listing, content_type="text/html"))
    feed_server.add("/page2", Route(b"\x89PNG\r\n", content_type="image/png"))
    workspace.settings["sources"].append(
        {"name": "Desk", "url": url, "links": "article h2 a", "follow_pages": 1, "full_text": "never"}
    )

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert "source failed" not in result.stdout
    # a page of the listing, not an article: no teaser was kept, and the warning does not say one was
    assert f"source warning: Desk: 1 problem: {feed_server.url}/page2: the page is not HTML" in result.stdout, (
        result.stdout
    )
    assert rows(workspace.database, "SELECT title FROM stories") == [("One",)]


def test_status_on_a_database_from_an_older_newsbot_says_to_run_first(workspace: Workspace) -> None:
    workspace.write()
    old = Storage.open(workspace.database, migrate=False)
    old._check_identity(creating=True)
    MIGRATIONS.apply(old.db, stop_before="m003_source_health")
    old.close()

    status = workspace.newsbot("status")

    assert status.returncode == 4
    assert "was written by an older newsbot; `newsbot run` upgrades it" in status.stderr
    assert "Traceback" not in status.stderr


def test_an_upgraded_source_goes_stale_from_its_last_new_story(tmp_path: Path) -> None:
    """Sources fetched before health existed get their dates filled in, so staleness can start."""
    database = tmp_path / "old.db"
    old = Storage.open(database, migrate=False)
    old._check_identity(creating=True)
    MIGRATIONS.apply(old.db, stop_before="m003_source_health")
    old.db.table("sources").insert(
        {"name": "Wire", "url": "https://w.example/f", "last_fetch_at": "2026-01-02T00:00:00+00:00"}
    )
    old.db.table("stories").insert({"id": "s1", "url": "https://w.example/1", "title": "t", "source": "Wire"})
    old.db.table("story_sources").insert({"story_id": "s1", "source": "Wire", "seen_at": "2026-01-01T00:00:00+00:00"})
    old.db.conn.commit()
    old.close()

    upgraded = Storage.open(database)
    [row] = upgraded.source_rows()
    upgraded.close()

    assert (row.first_fetch_at, row.last_new_story_at) == (
        "2026-01-02T00:00:00+00:00",
        "2026-01-01T00:00:00+00:00",
    )


def test_internal_on_a_spider_source_needs_the_url_it_starts_from(tmp_path: Path) -> None:
    (tmp_path / "watchlists").mkdir()
    path = tmp_path / "newsbot.yaml"
    path.write_text(
        "database: n.db\nwatchlists: watchlists/\nsources:\n  - name: Portal\n    spider: vendor_portal\n"
        "    internal: true\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"newsbot.yaml:4: .*internal: on a spider: source needs spider_args"):
        load_config(path)


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example.test/story/%61mp",
        "https://www.google.com/url?q=https%3A%2F%2Fwww.google.com%2Furl%3Fq%3Dhttps%253A%252F%252Fwww.google.com"
        "%252Furl%253Fq%253Dhttps%25253A%25252F%25252Fwww.google.com%25252Furl%25253Fq%25253Dhttps%2525253A%2525252F"
        "%2525252Fnews.example.test%2525252Fstory",
        "https://m.amp.news.example.test/story/amp/",
    ],
)
def test_canonical_url_is_a_fixed_point(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert once == "https://news.example.test/story"


def test_a_robots_txt_redirected_to_an_internal_host_is_not_exempt() -> None:
    """robots.txt requests pass the internal-host check (their host was already allowed), but one a
    hostile host redirected to an internal source's host is an ordinary request again."""
    from scrapy import Request
    from scrapy.exceptions import IgnoreRequest
    from scrapy.utils.test import get_crawler

    from newsbot.sources.addresses import INTERNAL_HOSTS, SourceGuard

    guard = SourceGuard(get_crawler(settings_dict={INTERNAL_HOSTS: ["10.0.0.5"]}))
    robots = {"dont_obey_robotstxt": True}
    direct = Request("http://10.0.0.5/robots.txt", meta=robots)
    redirected = Request(
        "http://10.0.0.5/robots.txt", meta={**robots, "redirect_urls": ["http://evil.example/robots.txt"]}
    )

    assert guard._internal(direct)
    assert not guard._internal(redirected)
    with pytest.raises(IgnoreRequest, match="belongs to an internal source"):
        asyncio.run(guard.process_request(redirected))
