"""Sources a team actually has, end to end through `newsbot run`: listing pages, sitemaps, sites, spiders.

Every test crawls the fixture pages in tests/data/sites with real Scrapy over real HTTP (tests.servers)
and asserts what newsbot stored, printed and — through the server's request log — fetched.
"""

from __future__ import annotations

import gzip
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPOSITORY, Workspace
from tests.servers import FeedServer, Route, advisories_page, recent, rss

SITES = REPOSITORY / "tests" / "data" / "sites"
HTML = "text/html; charset=utf-8"
_DAYS_AGO = re.compile(r"\{\{days_ago:([0-9.]+)\}\}")
# Every story of the watchlist's vendor-surveillance rule shows in the terminal as such a line.
ALERT = "[HIGH] SMS and 2FA vendors: "


def fixture(name: str, **values: str) -> bytes:
    """A page from tests/data/sites with `{{days_ago:N}}` (ISO date N days back) and `{{key}}` filled in."""
    text = (SITES / name).read_text(encoding="utf-8")
    text = _DAYS_AGO.sub(lambda found: days_ago(float(found.group(1))).isoformat(timespec="seconds"), text)
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    assert "{{" not in text, f"{name} has a placeholder the test did not fill"
    return text.encode()


def days_ago(days: float) -> datetime:
    return (datetime.now(UTC) - timedelta(days=days)).replace(microsecond=0)


def page(body: bytes, **options: Any) -> Route:
    return Route(body, content_type=HTML, **options)


def rows(database: Path, sql: str, *parameters: object) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql, parameters).fetchall()


def stories_of(database: Path, source: str) -> dict[str, dict[str, Any]]:
    """The stories a source gave (by URL path), whichever source stored them first."""
    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        found = connection.execute(
            "SELECT stories.* FROM stories JOIN story_sources ON story_sources.story_id = stories.id "
            "WHERE story_sources.source = ?",
            [source],
        ).fetchall()
    return {re.sub(r"^https?://[^/]+", "", row["url"]): dict(row) for row in found}


def fetched(server: FeedServer, since: int = 0, until: int | None = None) -> list[str]:
    """Paths the server was asked for between two counts of its requests (robots.txt aside)."""
    return [request.path for request in server.requests[since:until] if request.path != "/robots.txt"]


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of `path` that contains `text`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


# --- url: listing pages ------------------------------------------------------------------------

DESK_ARTICLES = (
    "/news/ss7-firewall-bypass.html",
    "/news/sim-swap-ring.html",
    "/security/diameter-roaming.html",  # linked relatively as "diameter-roaming.html" from /security/
    "/news/smishing-kit.html",  # page 2
    "/news/volte-eavesdropping.html",  # page 3
)


def test_listing_pages_give_their_links_as_stories_and_an_unchanged_listing_costs_one_request(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    article = fixture("article-plain.html")
    for path in (*DESK_ARTICLES, "/news/new-story.html"):
        feed_server.add(path, page(article))
    page_one = fixture("listing-page1.html")
    desk = feed_server.add("/security/", page(page_one))
    feed_server.add("/security/page/2/", page(fixture("listing-page2.html")))
    feed_server.add("/security/page/3/", page(fixture("listing-page3.html")))
    feed_server.add("/security/page/4/", page(fixture("listing-page3.html")))  # one page too far
    archive = feed_server.add("/archive/", page(fixture("archive.html"), etag='"archive-v1"'))
    feed_server.add("/archive/page-2.html", page(fixture("archive-2.html")))
    feed_server.add("/archive/page-3.html", page(fixture("archive-2.html")))
    feed_server.add("/archive/wrong-next.html", page(fixture("archive-2.html")))
    briefs = feed_server.add("/briefs/", page(fixture("briefs.html")))
    workspace.settings["sources"] += [
        {"name": "Desk", "url": desk, "links": "article h2 a", "follow_pages": 2},
        {
            "name": "Archive",
            "url": archive,
            "links_xpath": "//div[@class='post']/h3/a",
            "next_page": "a.older-posts",
            "follow_pages": 1,
            "full_text": "never",
        },
        {"name": "Briefs", "url": briefs, "links": "ul.briefs li", "max_items": 2, "full_text": "never"},
    ]

    first = workspace.newsbot("run")
    after_first = len(feed_server.requests)
    desk_stories = stories_of(workspace.database, "Desk")
    second = workspace.newsbot("run")
    after_second = len(feed_server.requests)
    feed_server.routes["/security/"] = page(
        page_one.replace(b"<main>", b'<main><article><h2><a href="/news/new-story.html">New</a></h2></article>')
    )
    third = workspace.newsbot("run")

    assert first.returncode == 0, first.stderr
    assert sorted(desk_stories) == sorted(DESK_ARTICLES)  # no javascript:, mailto: or nav links
    assert desk_stories["/news/ss7-firewall-bypass.html"]["title"] == "Operators report SS7 firewall bypass attempts"
    assert all("category three filtering" in story["text"] for story in desk_stories.values())
    assert sorted(stories_of(workspace.database, "Archive")) == [
        "/archive/femtocell-root.html",
        "/archive/gtp-tunnel-hijack.html",
        "/archive/sms-home-routing.html",
    ]
    assert sorted(stories_of(workspace.database, "Briefs")) == ["/briefs/one.html", "/briefs/two.html"]
    desk_pages = ["/security/", "/security/page/2/", "/security/page/3/"]
    assert sorted(fetched(feed_server, 0, after_first)) == sorted(
        [*desk_pages, *DESK_ARTICLES, "/archive/", "/archive/page-2.html", "/briefs/"]
    ), "exactly follow_pages more pages, each article once, nothing for sources with full_text: never"

    assert second.returncode == 0, second.stderr
    assert "3 unchanged" in second.stdout and "0 new stories" in second.stdout
    assert sorted(fetched(feed_server, after_first, after_second)) == ["/archive/", "/briefs/", "/security/"]
    assert feed_server.requests_to("/archive/")[1].headers["if-none-match"] == '"archive-v1"'

    assert third.returncode == 0, third.stderr
    assert sorted(fetched(feed_server, after_second)) == sorted(
        [*desk_pages, "/news/new-story.html", "/archive/", "/briefs/"]
    ), "only the new link's article is fetched; stored stories are not fetched again"
    assert "1 new stories" in third.stdout


@pytest.mark.parametrize(
    ("etag", "hash_kept"),
    [('"archive-v1"', True), (None, True), ('"archive-v1"', False)],
    ids=["answers 304", "the same bytes", "an ETag and no hash (a row of before m003)"],
)
def test_a_corrected_selector_reads_the_unchanged_page_again(
    workspace: Workspace, feed_server: FeedServer, etag: str | None, hash_kept: bool
) -> None:
    """ "selector matched 0 links … the page may have been redesigned": the team corrects the selector,
    and the page, unchanged since, answered 304 (or the same bytes) and gave nothing, run after run."""
    archive = feed_server.add("/archive/", page(fixture("archive.html"), etag=etag))
    source = {"name": "Archive", "url": archive, "links": "article h2 a", "full_text": "never"}
    workspace.settings["sources"].append(source)
    wrong = workspace.newsbot("run")
    if not hash_kept:
        with sqlite3.connect(workspace.database) as connection:
            connection.execute("UPDATE sources SET body_hash = NULL")
    source.update(links="div.post h3 a")
    corrected = workspace.newsbot("run")
    again = workspace.newsbot("run")

    assert "selector matched 0 links" in wrong.stdout
    assert corrected.returncode == 0, corrected.stderr
    assert sorted(stories_of(workspace.database, "Archive")) == [
        "/archive/femtocell-root.html",
        "/archive/gtp-tunnel-hijack.html",
    ]
    assert "1 unchanged" in again.stdout, "read once with the new selector, then unchanged as before"


@pytest.mark.parametrize(
    "selector",
    [{"links": "div.post h3 a::attr(href)"}, {"links_xpath": "//div[@class='post']/h3/a/@href"}],
    ids=["css ::attr(href)", "xpath @href"],
)
def test_a_selector_picking_the_addresses_themselves_gives_the_links(
    workspace: Workspace, feed_server: FeedServer, selector: dict[str, str]
) -> None:
    """Scrapy's own idiom raised on every page: the source was "cut short" every run, and never FAILING."""
    archive = feed_server.add("/archive/", page(fixture("archive.html")))
    workspace.settings["sources"].append({"name": "Archive", "url": archive, "full_text": "never", **selector})

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert "cut short" not in result.stdout
    assert sorted(stories_of(workspace.database, "Archive")) == [
        "/archive/femtocell-root.html",
        "/archive/gtp-tunnel-hijack.html",
    ]


@pytest.mark.parametrize("target", ["/", "/subscribe", "/news/"], ids=["front page", "paywall", "section"])
def test_articles_a_site_redirects_away_stay_apart_with_their_teasers(
    workspace: Workspace, feed_server: FeedServer, target: str
) -> None:
    """Two teasers whose pages now redirect to the site's front page, a paywall or a section (gone, or
    paywalled) were stored as one story there, with its text, and the second, a Mitto AG alert, was lost."""
    base = feed_server.url
    front = b"<html><head><title>Desk</title></head><body><p>Latest news</p></body>"
    feed_server.add(target, page(front))
    for name in ("roaming-tariffs", "mitto-breach"):
        feed_server.add(f"/news/{name}.html", Route(status=302, headers={"Location": f"{base}{target}"}))
    items = [
        {"title": "Roaming tariffs cut", "link": f"{base}/news/roaming-tariffs.html", "pubDate": recent()},
        {"title": "Mitto AG co-founder sold SS7 access", "link": f"{base}/news/mitto-breach.html", "pubDate": recent()},
    ]
    feed = feed_server.add("/feed.xml", Route(rss(items)))
    workspace.settings["sources"].append({"name": "Desk", "feed": feed, "full_text": "always"})

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert sorted(stories_of(workspace.database, "Desk")) == ["/news/mitto-breach.html", "/news/roaming-tariffs.html"]
    assert ALERT + "Mitto AG co-founder sold SS7 access" in result.stdout
    assert "Latest news" not in str(rows(workspace.database, "SELECT text FROM stories"))


def test_an_article_that_redirects_to_itself_elsewhere_is_read(workspace: Workspace, feed_server: FeedServer) -> None:
    """Out of /amp/, or from a WordPress short link to a one-word permalink: the first front-page check
    took these for the front page, and the story kept its teaser (no vendor in it) for good."""
    base = feed_server.url
    feed_server.add("/news/mitto/amp", Route(status=301, headers={"Location": f"{base}/news/mitto"}))
    feed_server.add("/news/mitto", page(fixture("article-vendor-deep.html")))
    feed_server.add("/?p=77", Route(status=301, headers={"Location": f"{base}/surveillance"}))
    feed_server.add("/surveillance", page(fixture("article-vendor-deep.html").replace(b"Mitto AG", b"Mitto AG ")))
    items = [
        {"title": "Signalling access sold", "link": f"{base}/news/mitto/amp", "pubDate": recent()},
        {"title": "Phones tracked", "link": f"{base}/?p=77", "pubDate": recent()},
    ]
    workspace.settings["sources"].append({"name": "Desk", "feed": feed_server.add("/feed.xml", Route(rss(items)))})

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert "not an article" not in result.stdout
    texts = [text for (text,) in rows(workspace.database, "SELECT text FROM stories")]
    assert len(texts) == 2 and all("Mitto AG" in text for text in texts), "each read from its article page"


def test_articles_that_declare_their_listing_page_as_canonical_stay_apart(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """A template's canonical named the listing page the articles were found on: one story, the rest lost."""
    base = feed_server.url
    listing = (
        b'<html><body><h3><a href="/news/a.html">Roaming tariffs cut again</a></h3>'
        b'<h3><a href="/news/mitto.html">Mitto AG co-founder sold SS7 access</a></h3></body></html>'
    )
    desk = feed_server.add("/category/security", page(listing))
    for name, title in (("a", "Roaming tariffs cut again"), ("mitto", "Mitto AG co-founder sold SS7 access")):
        body = (
            f'<html><head><title>{title}</title><link rel="canonical" href="{base}/category/security">'
            f"</head><body><article><h1>{title}</h1><p>{title}. "
            + "More on this story. " * 40
            + "</p></article></body></html>"
        )
        feed_server.add(f"/news/{name}.html", page(body.encode()))
    workspace.settings["sources"].append({"name": "Desk", "url": desk, "links": "h3 a"})

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert sorted(stories_of(workspace.database, "Desk")) == ["/news/a.html", "/news/mitto.html"]
    assert ALERT + "Mitto AG co-founder sold SS7 access" in result.stdout


def test_a_listing_page_that_reloads_itself_every_minute_is_read(workspace: Workspace, feed_server: FeedServer) -> None:
    """Followed as a redirect, it led to itself until "redirected too many times": failed every run."""
    body = fixture("archive.html").replace(
        b"<head>", b'<head><meta http-equiv="refresh" content="60; url=' + feed_server.url.encode() + b'/archive/">'
    )
    assert b"http-equiv" in body
    archive = feed_server.add("/archive/", page(body))
    source = {"name": "Archive", "url": archive, "links": "div.post h3 a", "full_text": "never"}
    workspace.settings["sources"].append(source)

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert "failed" not in result.stdout.replace("0 failed", "")
    assert len(stories_of(workspace.database, "Archive")) == 2


def test_a_story_linked_twice_with_a_fragment_is_fetched_once(workspace: Workspace, feed_server: FeedServer) -> None:
    """Listings often link a story's headline and its "#comments": one story, so one download."""
    feed_server.add("/news/ss7.html", page(fixture("article-plain.html")))
    listing = (
        b'<html><body><h2><a href="/news/ss7.html">SS7 story</a></h2>'
        b'<p><a href="/news/ss7.html#comments">3 comments</a></p></body></html>'
    )
    workspace.settings["sources"].append({"name": "Desk", "url": feed_server.add("/", page(listing)), "links": "a"})

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert rows(workspace.database, "SELECT url FROM stories") == [(feed_server.url + "/news/ss7.html",)]
    assert len(feed_server.requests_to("/news/ss7.html")) == 1


# --- sitemap: ----------------------------------------------------------------------------------


def test_a_pages_base_href_is_where_its_relative_links_start(workspace: Workspace, feed_server: FeedServer) -> None:
    """Joined against the fetched address, a listing's `news/1.html` under `<base href="/s11/">` was a
    404 stored with no text, and a site's announced `main.xml` failed its source."""
    article = fixture("article-plain.html")
    feed_server.add("/s11/news/1.html", page(article))
    base = f'<html><head><base href="{feed_server.url}/s11/">'
    listing = feed_server.add(
        "/s11/list/", page(f'{base}</head><body><a href="news/1.html">One</a></body></html>'.encode())
    )
    home = feed_server.add(  # a folder below its base: without the base, main.xml is /s11/site/main.xml
        "/s11/site/home.html",
        page(f'{base}<link rel="alternate" type="application/rss+xml" href="main.xml"></head></html>'.encode()),
    )
    item = {"title": "Mitto AG sold SS7 access", "link": "https://wire.example/mitto", "pubDate": recent()}
    feed_server.add("/s11/main.xml", Route(rss([item])))
    workspace.settings["sources"] += [
        {"name": "Listing", "url": listing, "links": "a"},
        {"name": "Site", "site": home, "full_text": "never"},
    ]

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert "2 sources (0 unchanged, 0 failed)" in result.stdout, result.stdout
    listed = stories_of(workspace.database, "Listing")
    assert list(listed) == ["/s11/news/1.html"] and "category three filtering" in listed["/s11/news/1.html"]["text"]
    assert list(stories_of(workspace.database, "Site")) == ["/mitto"]


def test_sitemaps_give_their_newest_entries(workspace: Workspace, feed_server: FeedServer) -> None:
    base = feed_server.url
    news = feed_server.add("/news-sitemap.xml", Route(fixture("news-sitemap.xml", base=base), content_type="text/xml"))
    index = feed_server.add("/sitemap_index.xml", Route(fixture("sitemap-index.xml", base=base)))
    feed_server.add("/sitemaps/posts-recent.xml", Route(fixture("sitemap-posts.xml", base=base, section="posts")))
    feed_server.add("/sitemaps/posts-2019.xml", Route(fixture("sitemap-posts.xml", base=base, section="2019")))
    archived = gzip.compress(fixture("sitemap-posts.xml", base=base, section="archive"))
    feed_server.add("/sitemaps/posts-archive.xml.gz", Route(archived, content_type="application/x-gzip"))
    mobile = gzip.compress(fixture("sitemap-posts.xml", base=base, section="mobile"))
    gzipped = feed_server.add("/mobile/sitemap.xml.gz", Route(mobile, content_type="application/x-gzip"))
    broken = feed_server.add(
        "/broken-sitemap.xml", Route(b"Sitemap temporarily unavailable", content_type="text/plain")
    )
    for name, url, options in (
        ("Newsroom", news, {"max_items": 2}),
        ("Blog index", index, {}),
        ("Mobile", gzipped, {}),
        ("Broken", broken, {}),
    ):
        workspace.settings["sources"].append({"name": name, "sitemap": url, "full_text": "never", **options})

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    newsroom = stories_of(workspace.database, "Newsroom")
    assert sorted(newsroom) == ["/newsroom/femtocell-audit.html", "/newsroom/ss7-report.html"], (
        "the two newest within max_age_days: not the third-newest (max_items), not the 30-day-old one"
    )
    report = newsroom["/newsroom/ss7-report.html"]
    assert report["title"] == "Mitto AG named in SS7 surveillance report"
    published = datetime.fromisoformat(report["published_at"])
    assert abs(published - days_ago(0.1)) < timedelta(minutes=5)
    assert ALERT + "Mitto AG named in SS7 surveillance report" in result.stdout
    assert sorted(stories_of(workspace.database, "Blog index")) == [
        "/archive/esim-provisioning.html",
        "/archive/volte-eavesdropping.html",
        "/posts/esim-provisioning.html",
        "/posts/volte-eavesdropping.html",
    ]
    assert feed_server.requests_to("/sitemaps/posts-2019.xml") == [], "a child sitemap older than max_age_days"
    assert sorted(stories_of(workspace.database, "Mobile")) == [
        "/mobile/esim-provisioning.html",
        "/mobile/volte-eavesdropping.html",
    ]
    assert "source failed: Broken: the response is not a sitemap (not XML)" in result.stdout


def urlset(base: str, names: list[str]) -> bytes:
    """An undated sitemap, as WordPress and most generators write one: no <lastmod>, oldest first."""
    urls = "".join(f"<url><loc>{base}/{name}.html</loc></url>" for name in names)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()


def test_an_unchanged_sitemap_index_still_leads_to_its_sitemaps_new_stories(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """An index rarely changes when a story is added to one of its sitemaps: told unchanged by its ETag
    (or its bytes), it ended the source, and the new story was never read, every run."""
    base = feed_server.url
    index = f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>{base}/posts.xml</loc></sitemap></sitemapindex>'
    url = feed_server.add("/index.xml", Route(index.encode(), content_type="text/xml", etag='"index-1"'))
    feed_server.add("/posts.xml", Route(urlset(base, ["femtocell-audit"]), content_type="text/xml"))
    feed_server.add("/mitto-breach.html", page(fixture("article-vendor-deep.html")))
    workspace.settings["sources"].append({"name": "Blog", "sitemap": url, "full_text": "never"})
    assert workspace.newsbot("run").returncode == 0

    feed_server.add("/posts.xml", Route(urlset(base, ["femtocell-audit", "mitto-breach"]), content_type="text/xml"))
    again = workspace.newsbot("run")

    assert again.returncode == 0, again.stderr
    assert sorted(stories_of(workspace.database, "Blog")) == ["/femtocell-audit.html", "/mitto-breach.html"]


def test_an_undated_sitemap_is_read_at_both_ends(workspace: Workspace, feed_server: FeedServer) -> None:
    """Its first `max_items` were taken every run: a new story appended at its end was never read."""
    base = feed_server.url
    names = [f"post-{number}" for number in range(1, 61)]
    url = feed_server.add("/sitemap.xml", Route(urlset(base, names), content_type="text/xml"))
    workspace.settings["sources"].append({"name": "Blog", "sitemap": url, "full_text": "never", "max_items": 50})
    assert workspace.newsbot("run").returncode == 0
    first = set(stories_of(workspace.database, "Blog"))

    feed_server.add("/sitemap.xml", Route(urlset(base, ["post-0", *names, "post-61"]), content_type="text/xml"))
    assert workspace.newsbot("run").returncode == 0

    assert first == {f"/post-{number}.html" for number in (*range(1, 26), *range(36, 61))}
    assert set(stories_of(workspace.database, "Blog")) - first == {"/post-0.html", "/post-61.html"}


def test_a_news_sitemap_of_a_quiet_week_is_not_a_selector_that_finds_nothing(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """Every entry older than max_age_days: nothing to take, and nothing wrong with the source."""
    base = feed_server.url
    old = datetime.now(UTC) - timedelta(days=30)
    urls = "".join(f"<url><loc>{base}/old-{n}.html</loc><lastmod>{old:%Y-%m-%d}</lastmod></url>" for n in range(3))
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
    url = feed_server.add("/sitemap.xml", Route(body, content_type="text/xml"))
    workspace.settings["sources"].append({"name": "Quiet", "sitemap": url, "full_text": "never"})

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    assert "0 links" not in result.stdout + result.stderr
    assert rows(workspace.database, "SELECT links_found FROM sources WHERE name = 'Quiet'") == [(3,)]


def test_an_undated_index_is_followed_to_its_newest_numbered_sitemaps(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """WordPress's own index: posts sitemaps numbered oldest first, then pages, categories, tags and
    authors, none dated. The first five were read, never the 7th; both ends took tags and authors."""
    base = feed_server.url
    names = [f"wp-sitemap-posts-post-{n}" for n in range(1, 8)]
    names += ["wp-sitemap-posts-page-1", "wp-sitemap-taxonomies-post_tag-1", "wp-sitemap-users-1"]
    children = "".join(f"<sitemap><loc>{base}/{name}.xml</loc></sitemap>" for name in names)
    index = f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{children}</sitemapindex>'
    url = feed_server.add("/wp-sitemap.xml", Route(index.encode(), content_type="text/xml"))
    for name in names:
        feed_server.add(f"/{name}.xml", Route(urlset(base, [f"{name}-entry"]), content_type="text/xml"))
    workspace.settings["sources"].append({"name": "WordPress", "sitemap": url, "full_text": "never"})

    assert workspace.newsbot("run").returncode == 0

    assert sorted(stories_of(workspace.database, "WordPress")) == [
        f"/wp-sitemap-posts-post-{number}-entry.html" for number in range(3, 8)
    ]


# --- site: -------------------------------------------------------------------------------------


def test_a_site_feed_is_found_remembered_and_found_again_when_it_moves(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    feed_server.add("/", page(fixture("home.html", feed="/blog/feed.xml")))
    old_feed = feed_server.add(
        "/blog/feed.xml",
        Route(rss([{"title": "Roaming hub outage", "link": "https://carrier.example/a", "pubDate": recent()}])),
    )
    feed_server.add("/nofeed/", page(fixture("home-no-feed.html")))
    workspace.settings["sources"] += [
        {"name": "Carrier blog", "site": feed_server.url + "/", "full_text": "never"},
        {"name": "No feed", "site": feed_server.url + "/nofeed/"},
    ]

    first = workspace.newsbot("run")
    runs = [len(feed_server.requests)]
    status = workspace.newsbot("status")
    second = workspace.newsbot("run")
    runs.append(len(feed_server.requests))
    del feed_server.routes["/blog/feed.xml"]  # the blog moved its feed: the old address is a 404
    feed_server.routes["/"] = page(fixture("home.html", feed="/blog/atom.xml"))
    new_items = [{"title": "Signalling firewall rollout", "link": "https://carrier.example/b", "pubDate": recent()}]
    new_feed = feed_server.add("/blog/atom.xml", Route(rss(new_items)))
    third = workspace.newsbot("run")
    runs.append(len(feed_server.requests))
    fourth = workspace.newsbot("run")

    def blog(since: int, until: int | None = None) -> list[str]:
        return [path for path in fetched(feed_server, since, until) if path != "/nofeed/"]

    assert first.returncode == 0, first.stderr
    assert blog(0, runs[0]) == ["/", "/blog/feed.xml"]
    assert f"feed found: {old_feed}" in status.stdout
    assert (
        'source failed: No feed: the page announces no feed (no <link rel="alternate"> to RSS, Atom or JSON)'
        in first.stdout
    )
    assert blog(runs[0], runs[1]) == ["/blog/feed.xml"], "the remembered feed is fetched directly"
    assert "source failed: Carrier blog" not in second.stdout
    assert blog(runs[1], runs[2]) == ["/blog/feed.xml", "/", "/blog/atom.xml"], "a 404 sends newsbot back home"
    assert "source failed: Carrier blog" not in third.stdout
    assert rows(workspace.database, "SELECT feed_url FROM sources WHERE name = 'Carrier blog'") == [(new_feed,)]
    assert [title for (title,) in rows(workspace.database, "SELECT title FROM stories ORDER BY title")] == [
        "Roaming hub outage",
        "Signalling firewall rollout",
    ]
    assert blog(runs[2]) == ["/blog/atom.xml"]
    assert fourth.returncode == 0, fourth.stderr


def test_a_site_made_a_listing_at_the_same_address_forgets_the_feed_it_had(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    feed_server.add("/", page(fixture("home.html", feed="/blog/feed.xml")))
    feed = feed_server.add(
        "/blog/feed.xml", Route(rss([{"title": "Roaming hub outage", "link": "https://c.example/a"}]))
    )
    source = {"name": "Carrier", "site": feed_server.url + "/", "full_text": "never"}
    workspace.settings["sources"].append(source)
    workspace.newsbot("run")
    assert f"feed found: {feed}" in workspace.newsbot("status").stdout
    source.pop("site")
    source.update(url=feed_server.url + "/", links="a")

    assert workspace.newsbot("run").returncode == 0

    assert "feed found" not in workspace.newsbot("status").stdout


def test_a_feed_moved_unchanged_is_remembered_at_its_new_address(workspace: Workspace, feed_server: FeedServer) -> None:
    body = rss([{"title": "Roaming hub outage", "link": "https://carrier.example/a", "pubDate": recent()}])
    feed_server.add("/", page(fixture("home.html", feed="/feed.xml")))
    feed_server.add("/feed.xml", Route(body))
    workspace.settings["sources"].append({"name": "Carrier blog", "site": feed_server.url + "/", "full_text": "never"})
    workspace.newsbot("run")
    del feed_server.routes["/feed.xml"]
    feed_server.routes["/"] = page(fixture("home.html", feed="/blog/feed.xml"))
    moved = feed_server.add("/blog/feed.xml", Route(body))
    workspace.newsbot("run")
    before = len(feed_server.requests)

    workspace.newsbot("run")

    assert fetched(feed_server, before) == ["/blog/feed.xml"]
    assert rows(workspace.database, "SELECT feed_url FROM sources") == [(moved,)]


# --- spider: -----------------------------------------------------------------------------------


def test_a_user_spider_items_become_stories_that_alert(workspace: Workspace, feed_server: FeedServer) -> None:
    portal = feed_server.add("/portal/advisories", page(fixture("portal.html")))
    workspace.settings["sources"].append(
        {"name": "Vendor portal", "spider": "vendor_portal", "spider_args": {"url": portal}}
    )

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    stories = stories_of(workspace.database, "Vendor portal")
    assert sorted(stories) == ["/portal/advisories/VP-2026-012", "/portal/advisories/VP-2026-014"]
    advisory = stories["/portal/advisories/VP-2026-014"]
    assert advisory["title"] == "VP-2026-014: Mitto AG gateway filtering gap"
    assert advisory["summary"] == "Unfiltered SS7 location queries could reach subscribers through the gateway."
    assert abs(datetime.fromisoformat(advisory["published_at"]) - days_ago(1)) < timedelta(minutes=5)
    assert ALERT + "VP-2026-014: Mitto AG gateway filtering gap" in result.stdout
    assert ALERT + "VP-2026-012" not in result.stdout


def test_an_unknown_spider_fails_check_naming_the_line_and_the_known_spiders(workspace: Workspace) -> None:
    workspace.settings["sources"].append({"name": "Vendor portal", "spider": "vendor_portl"})
    workspace.write()

    result = workspace.newsbot("check")

    assert result.returncode == 1
    line = line_of(workspace.config, "spider: vendor_portl")
    missing = "there is no spider named 'vendor_portl' in newsbot's spiders/ (see spiders_dir:)"
    assert f"{workspace.config}:{line}: {missing}" in result.stderr
    assert re.search(r"\(known: [^)]*\bvendor_portal\b[^)]*\)", result.stderr), result.stderr
    assert "OK" not in result.stdout


# --- full_text ---------------------------------------------------------------------------------

TEASER = "Investigators describe SS7 location queries hidden in ordinary message traffic."
LONG_CONTENT = " ".join(
    [
        "Carriers compared notes on signalling abuse this week.",
        "The SS7 location queries came from leased global title ranges and were mixed with message traffic.",
        "Firewalls that check a request against the subscriber's last known location blocked most of them.",
    ]
    * 8
)


def test_full_text_modes_decide_which_articles_are_read(workspace: Workspace, feed_server: FeedServer) -> None:
    article = fixture("article-vendor-deep.html")  # names the vendor only in its sixth paragraph

    def feed(mode: str, **item: str) -> str:
        """A feed whose one story links to this mode's copy of the article."""
        link = feed_server.add(f"/articles/{mode}/signalling-access.html", page(article))
        entry = {"title": f"SS7 access resold ({mode} desk)", "link": link, "description": TEASER, "pubDate": recent()}
        entry = {key: value for key, value in {**entry, **item}.items() if value}  # "" drops a field
        return feed_server.add(f"/feeds/{mode}.xml", Route(rss([entry])))

    workspace.source("Auto", feed("auto"), full_text="auto")
    workspace.source("Always", feed("always"), full_text="always")
    workspace.source("Never", feed("never"), full_text="never")
    workspace.source("Long", feed("long", description=LONG_CONTENT), full_text="auto")
    missing = feed_server.url + "/articles/missing/gone.html"
    workspace.source("Missing", feed("missing", link=missing), full_text="auto")
    selectors = feed("selectors", title="Feed headline", pubDate="")  # the article page must date it
    workspace.source("Selectors", selectors, full_text="always", title="h1.headline", date="time.published")

    result = workspace.newsbot("run")
    status = workspace.newsbot("status")

    assert result.returncode == 0, result.stderr
    # Auto, Always and Selectors read the same article: copies of one story, so one of them alerts
    # (whichever was stored first) and the others are "also in" lines under it.
    assert result.stdout.count(ALERT) == 1
    assert result.stdout.count("also in ") >= 1
    for mode in ("auto", "always", "selectors"):
        assert len(feed_server.requests_to(f"/articles/{mode}/signalling-access.html")) == 1
    texts = dict(rows(workspace.database, "SELECT source, text FROM stories"))
    assert all("The aggregator was named as Mitto AG" in texts[source] for source in ("Auto", "Always", "Selectors"))
    assert "Mitto AG" not in texts["Never"]
    assert "(never desk)" not in result.stdout
    assert "(long desk)" not in result.stdout
    assert feed_server.requests_to("/articles/never/signalling-access.html") == []
    assert feed_server.requests_to("/articles/long/signalling-access.html") == [], "the feed gave the full text"
    [(text,)] = rows(workspace.database, "SELECT text FROM stories WHERE title = 'SS7 access resold (auto desk)'")
    assert "The aggregator was named as Mitto AG" in text and "Subscribe to our newsletter" not in text

    [(title, summary, text)] = rows(
        workspace.database, "SELECT title, summary, text FROM stories WHERE url = ?", missing
    )
    assert (title, summary, text) == ("SS7 access resold (missing desk)", TEASER, "")
    assert (
        f"source warning: Missing: 1 articles kept their teaser: {missing}: the server answered HTTP 404"
        in result.stdout
    )
    assert f"warning: {missing}: the server answered HTTP 404" in status.stdout

    [(title, published)] = rows(
        workspace.database, "SELECT title, published_at FROM stories WHERE source = 'Selectors'"
    )
    assert title == "Signalling access sold on to track phones, investigators say"
    assert datetime.fromisoformat(published) == datetime(2026, 3, 3, 7, 15, tzinfo=UTC)


@pytest.mark.parametrize("canonical", ["/news/", "/en/", "/index.html"])
def test_articles_whose_template_names_their_section_as_canonical_stay_apart(
    workspace: Workspace, feed_server: FeedServer, canonical: str
) -> None:
    """A CMS whose template gives every article `rel=canonical` of its section (`/news/`) or of its
    front page (`/en/`): taken as the articles' address, the three were one story and two were lost
    for good (the feed answers 304 next time). Each keeps the address it was fetched at."""
    vendors = ("Mitto AG", "Kaleyra", "MessageBird")
    items = []
    for number, vendor in enumerate(vendors):
        body = (
            f'<html><head><link rel="canonical" href="{canonical}"><title>{vendor} breach</title></head><body>'
            f"<article><h1>{vendor} breach</h1><p>{vendor} confirmed that attackers reached its SMS routing "
            f"systems and read one-time passcodes. {LONG_CONTENT}</p></article></body></html>"
        )
        link = feed_server.add(f"/news/{vendor.lower().replace(' ', '-')}-breach", page(body.encode()))
        items.append({"title": f"{vendor} breach", "link": link, "description": TEASER, "pubDate": recent(number)})
    workspace.source("Section canonical", feed_server.add("/section.xml", Route(rss(items))), full_text="always")

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    stored = dict(rows(workspace.database, "SELECT title, url FROM stories"))
    assert sorted(stored) == sorted(f"{vendor} breach" for vendor in vendors)
    assert all(
        url.startswith(feed_server.url + "/news/") and url != feed_server.url + "/news/" for url in stored.values()
    )


@pytest.mark.parametrize("moved", ["canonical", "redirect"])
def test_an_article_stored_under_another_address_is_not_fetched_again(
    workspace: Workspace, feed_server: FeedServer, moved: str
) -> None:
    """Feed links whose pages are stored under their `rel=canonical` (or a redirect's end): each run
    asked whether the feed's link was stored, fetched the pages again, and with max_articles 2 the
    oldest of three stories was never stored."""
    items = []
    for number in range(3):
        body = (
            f'<html><head><link rel="canonical" href="/news/story-{number}"><title>Story {number}</title></head>'
            f"<body><article><h1>Story {number}</h1><p>Story {number}: {LONG_CONTENT}</p></article></body></html>"
        )
        if moved == "canonical":
            link = feed_server.add(f"/fb/{number}", page(body.encode()))
        else:
            feed_server.add(f"/news/story-{number}", page(body.encode()))
            link = feed_server.add(f"/r/{number}", Route(status=301, headers={"Location": f"/news/story-{number}"}))
        items.append({"title": f"Story {number}", "link": link, "description": TEASER, "pubDate": recent(number)})
    feed = feed_server.add("/moved.xml", Route(rss(items)))
    workspace.source("Moved", feed, full_text="always", max_articles=2)
    article_pages = []  # per run, the article pages asked for (a redirect and its end count once)
    for run in range(3):
        if run == 2:  # the feed changes (a new title): its items are read again, all of them stored
            feed_server.routes["/moved.xml"] = Route(rss(items, title="Moved, again"))
        before = len(feed_server.requests)
        result = workspace.newsbot("run")
        assert result.returncode == 0, result.stderr
        article_pages.append(len([path for path in fetched(feed_server, before) if path.startswith(("/fb/", "/r/"))]))

    stored = sorted(url.rsplit("/", 1)[-1] for (url,) in rows(workspace.database, "SELECT url FROM stories"))
    assert stored == ["story-0", "story-1", "story-2"]
    assert article_pages == [2, 1, 0]  # the two newest, the one left, then none of the three again


@pytest.mark.parametrize(
    ("key", "value"), [("full_text", "always"), ("date", "time::attr(datetime)"), ("max_articles", 5)]
)
def test_an_article_key_on_a_spider_source_is_a_warning_and_runs_go_on(
    workspace: Workspace, feed_server: FeedServer, key: str, value: object
) -> None:
    """It passed `check` in silence and did nothing (`full_text: always` left the story without text).
    A refusal would have stopped every run of a config that had one left over, after an upgrade."""
    feed_server.add("/advisories", advisories_page("Mitto AG confirms SS7 misuse"))
    portal = {"name": "Portal", "spider": "vendor_portal", "spider_args": {"url": feed_server.url + "/advisories"}}
    workspace.settings["sources"].append({**portal, key: value})
    workspace.write()

    check = workspace.newsbot("check")
    run = workspace.newsbot("run")

    assert check.returncode == 0, check.stderr
    where = f"{workspace.config}:{line_of(workspace.config, f'{key}:')}"
    warning = f"warning: {where}: source 'Portal': {key}: does nothing"
    assert warning in check.stdout, check.stdout
    assert run.returncode == 0 and "1 new stories" in run.stdout, run.stdout + run.stderr


# --- configuration errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "located_at", "sentence"),
    [
        pytest.param(
            {"name": "Two kinds", "feed": "https://a.example/feed.xml", "site": "https://a.example/"},
            "name: Two kinds",
            "source 'Two kinds' needs exactly one of feed:, site:, url:, sitemap:, spider: (it has feed, site)",
            id="two-kinds",
        ),
        pytest.param(
            {"name": "No kind", "full_text": "never"},
            "name: No kind",
            "source 'No kind' needs exactly one of feed:, site:, url:, sitemap:, spider:",
            id="no-kind",
        ),
        pytest.param(
            {"name": "Feed with links", "feed": "https://a.example/feed.xml", "links": "h2 a"},
            "name: Feed with links",
            "source 'Feed with links': links: only applies to a url: source",
            id="links-on-a-feed",
        ),
        pytest.param(
            {"name": "Bare listing", "url": "https://a.example/news/"},
            "name: Bare listing",
            "source 'Bare listing' (url:) needs one of links: (CSS) or links_xpath: (XPath)",
            id="url-without-links",
        ),
        pytest.param(
            {"name": "Bad CSS", "url": "https://a.example/news/", "links": "article >> a"},
            "links: article >> a",
            "'article >> a' is not a CSS selector (",
            id="invalid-css",
        ),
        pytest.param(
            {"name": "Bad XPath", "url": "https://a.example/news/", "links_xpath": "//div[@class='post'"},
            "links_xpath:",
            "is not an XPath expression (",
            id="invalid-xpath",
        ),
    ],
)
def test_a_source_config_error_names_the_line_and_says_what_is_wrong(
    workspace: Workspace, source: dict[str, str], located_at: str, sentence: str
) -> None:
    workspace.settings["sources"] = [{"name": "Fine", "feed": "https://a.example/fine.xml"}, source]
    workspace.write()

    result = workspace.newsbot("check")

    assert result.returncode == 1
    assert f"{workspace.config}:{line_of(workspace.config, located_at)}: " in result.stderr, result.stderr
    assert sentence in result.stderr
    assert "Traceback" not in result.stderr
