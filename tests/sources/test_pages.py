"""Unit tests of what turns pages into stories: feed and story links, next pages, sitemaps, article text,
and a user spider's items (newsbot.sources.pages, newsbot.sources.sitemaps, newsbot.sources.articles,
newsbot.sources.crawl.entry_from_item).

Inputs are small pages written here or in tests/data/sites, and real third-party pages from the corpus
(read in place; skipped where the corpus is absent).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import scrapy
from parsel import Selector

from newsbot.models import FeedEntry
from newsbot.sources.articles import extract_article
from newsbot.sources.crawl import entry_from_item
from newsbot.sources.pages import declared_url, feed_links, next_page, redirected_away, story_links
from newsbot.sources.sitemaps import SitemapEntry, newest, newest_sitemaps, parse_sitemap
from tests.conftest import REPOSITORY

SITES = REPOSITORY / "tests" / "data" / "sites"
BASE = "https://telecom-security.example/security/"


NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
_DAYS_AGO = re.compile(r"\{\{days_ago:([0-9.]+)\}\}")


def site_page(name: str, **values: str) -> str:
    """A fixture from tests/data/sites, `{{days_ago:N}}` counted back from NOW and `{{key}}` filled in."""
    text = (SITES / name).read_text(encoding="utf-8")
    text = _DAYS_AGO.sub(lambda found: (NOW - timedelta(days=float(found.group(1)))).isoformat(), text)
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


# --- feed_links --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "found"),
    [
        (
            '<link rel="alternate" type="application/rss+xml" href="/feed.xml">',
            "https://telecom-security.example/feed.xml",
        ),
        ('<link rel="Alternate" type="APPLICATION/ATOM+XML" href="atom.xml">', BASE + "atom.xml"),
        ('<link rel="alternate feed" type="application/rss+xml; charset=utf-8" href="rss">', BASE + "rss"),
        ('<link rel="home alternate" type="application/feed+json" href=" feed.json ">', BASE + "feed.json"),
        (
            '<link rel="alternate" type="application/json" href="https://cdn.example/f.json">',
            "https://cdn.example/f.json",
        ),
        ('<link rel="alternate" type="text/html" hreflang="de" href="/de/">', None),
        ('<link rel="stylesheet" type="application/rss+xml" href="/not-a-feed.xml">', None),
        ('<link rel="alternate" href="/no-type.xml">', None),
        ('<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">', None),
        ('<link rel="alternate" type="application/rss+xml" href="ftp://files.example/feed.xml">', None),
        ('<link rel="alternate" type="application/rss+xml" href="feed://telecom-security.example/x">', None),
    ],
)
def test_feed_links_are_alternate_links_to_feeds(link: str, found: str | None) -> None:
    page = Selector(text=f"<html><head>{link}</head><body></body></html>")
    assert feed_links(page, BASE) == ([found] if found else [])


def test_feed_links_keep_page_order_once_each() -> None:
    page = Selector(
        text='<html><head><link rel="alternate" type="application/atom+xml" href="/atom.xml">'
        '<link rel="alternate" type="application/rss+xml" href="/rss.xml">'
        '<link rel="alternate" type="application/atom+xml" href="https://telecom-security.example/atom.xml">'
        "</head></html>"
    )
    assert feed_links(page, BASE) == [
        "https://telecom-security.example/atom.xml",
        "https://telecom-security.example/rss.xml",
    ]


def test_the_home_page_fixture_announces_its_feed_only() -> None:
    """The fixture also has a stylesheet and an hreflang alternate, neither of which is a feed."""
    body = site_page("home.html", feed="/blog/feed.xml")
    assert feed_links(Selector(text=body), "https://carrier.example/") == ["https://carrier.example/blog/feed.xml"]
    assert feed_links(Selector(text=(SITES / "home-no-feed.html").read_text(encoding="utf-8")), BASE) == []


# --- story_links -------------------------------------------------------------------------------


def test_story_links_from_the_listing_fixture() -> None:
    page = Selector(text=(SITES / "listing-page1.html").read_text(encoding="utf-8"))
    assert story_links(page, BASE, css="article h2 a") == [
        (
            "https://telecom-security.example/news/ss7-firewall-bypass.html",
            "Operators report SS7 firewall bypass attempts",
        ),
        ("https://telecom-security.example/news/sim-swap-ring.html", "Police dismantle a SIM-swap ring"),
        (BASE + "diameter-roaming.html", "Diameter roaming flaw lets attackers track subscribers"),
    ], "relative links resolved, javascript: and mailto: dropped, the repeated link kept once (first text)"


def test_story_links_by_xpath_match_the_same_as_css() -> None:
    page = Selector(text=(SITES / "archive.html").read_text(encoding="utf-8"))
    by_xpath = story_links(page, "https://cert.example/archive/", xpath="//div[@class='post']/h3/a")
    assert by_xpath == story_links(page, "https://cert.example/archive/", css="div.post h3 a")
    assert [url for url, _ in by_xpath] == [
        "https://cert.example/archive/gtp-tunnel-hijack.html",
        "https://cert.example/archive/femtocell-root.html",
    ]


def test_an_element_holding_a_link_gives_the_link_and_its_whole_text() -> None:
    page = Selector(text=(SITES / "briefs.html").read_text(encoding="utf-8"))
    found = story_links(page, "https://telecom-security.example/briefs/", css="ul.briefs li")
    assert found[0] == ("https://telecom-security.example/briefs/one.html", "Brief Carrier fixes voicemail PIN bypass")
    assert len(found) == 4


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        pytest.param(
            '<li><span>no link here</span></li><li><a href="/a">A</a></li>', ["/a"], id="element-without-link"
        ),
        pytest.param('<li><a name="top">anchor</a></li><li><a href="/b">B</a></li>', ["/b"], id="a-without-href"),
        pytest.param('<li><a href="  /c  ">C</a></li>', ["/c"], id="whitespace-around-href"),
        pytest.param('<li><a href="MAILTO:x@example.org">mail</a></li>', [], id="mailto-any-case"),
        pytest.param('<li><a href="JavaScript:void(0)">js</a></li>', [], id="javascript-any-case"),
        pytest.param(
            '<li><a href="tel:+15551234">call</a></li><li><a href="data:text/html,x">d</a></li>', [], id="tel-data"
        ),
        pytest.param('<li><a href="/d">D</a></li><li><a href="/d">D again</a></li>', ["/d"], id="duplicate"),
        pytest.param('<li><a href="//cdn.example/e">E</a></li>', ["https://cdn.example/e"], id="scheme-relative"),
    ],
)
def test_story_links_keep_http_links_once(markup: str, expected: list[str]) -> None:
    page = Selector(text=f"<html><body><ul>{markup}</ul></body></html>")
    found = [url for url, _ in story_links(page, "https://telecom-security.example/", css="li")]
    assert found == [url if url.startswith("https:") else "https://telecom-security.example" + url for url in expected]


def test_a_selector_matching_nothing_gives_no_links() -> None:
    page = Selector(text=(SITES / "listing-page1.html").read_text(encoding="utf-8"))
    assert story_links(page, BASE, css="div.headlines a") == []


# --- next_page ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "css", "expected"),
    [
        pytest.param('<a rel="next" href="page/2/">Older</a>', None, BASE + "page/2/", id="a-rel-next"),
        pytest.param(
            '<a rel="next nofollow" href="/p/2">Older</a>', None, "https://telecom-security.example/p/2", id="rel-list"
        ),
        pytest.param('<link rel="next" href="?page=2">', None, BASE + "?page=2", id="link-rel-next"),
        pytest.param('<a rel="prev" href="/p/0">Newer</a>', None, None, id="only-prev"),
        pytest.param('<a rel="next" href="javascript:more()">More</a>', None, None, id="javascript"),
        pytest.param("<p>the last page</p>", None, None, id="none"),
        pytest.param(
            '<a rel="next" href="/wrong">x</a><a class="older-posts" href="/archive/2">Older</a>',
            "a.older-posts",
            "https://telecom-security.example/archive/2",
            id="custom-selector-wins",
        ),
        pytest.param('<a rel="next" href="/p/2">Older</a>', "a.older-posts", None, id="custom-selector-only"),
    ],
)
def test_next_page(markup: str, css: str | None, expected: str | None) -> None:
    assert next_page(Selector(text=f"<html><body>{markup}</body></html>"), BASE, css) == expected


def test_a_next_page_selector_may_pick_the_element_holding_the_link() -> None:
    """As `links:` may: `next_page: li.next` is how many pagers are written."""
    page = Selector(
        text='<html><body><ul class="pager"><li class="next"><a href="/p/2">Older</a></li></ul></body></html>'
    )
    assert next_page(page, BASE, "li.next") == "https://telecom-security.example/p/2"


def test_next_page_of_the_listing_fixtures() -> None:
    """The same page numbers the end-to-end test expects the crawl to follow."""
    pages = [Selector(text=(SITES / f"listing-page{n}.html").read_text(encoding="utf-8")) for n in (1, 2, 3)]
    assert [next_page(page, BASE) for page in pages] == [
        "https://telecom-security.example/security/page/2/",
        "https://telecom-security.example/security/page/3/",
        "https://telecom-security.example/security/page/4/",
    ]


# --- parse_sitemap and newest ------------------------------------------------------------------

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <!-- a comment between entries -->
  <url>
    <loc> https://telecom-security.example/ss7.html </loc>
    <lastmod>2026-11-01</lastmod>
    <news:news>
      <news:publication><news:name>Telecom Security Weekly</news:name></news:publication>
      <news:publication_date>2026-11-24T08:30:00+01:00</news:publication_date>
      <news:title>Mitto AG named in SS7 report</news:title>
    </news:news>
  </url>
  <url><loc>https://telecom-security.example/plain.html</loc><lastmod>2026-11-20</lastmod></url>
  <url><loc>https://telecom-security.example/undated.html</loc></url>
  <url><loc>javascript:alert(1)</loc></url>
  <url><loc>ftp://files.example/x.html</loc></url>
</urlset>
"""


def test_a_news_sitemap_gives_urls_titles_and_publication_dates() -> None:
    sitemap = parse_sitemap(URLSET)
    assert sitemap.is_index is False
    assert sitemap.entries == (
        SitemapEntry(
            "https://telecom-security.example/ss7.html",
            "Mitto AG named in SS7 report",
            datetime(2026, 11, 24, 7, 30, tzinfo=UTC),  # publication_date wins over lastmod, in UTC
        ),
        SitemapEntry("https://telecom-security.example/plain.html", "", datetime(2026, 11, 20, tzinfo=UTC)),
        SitemapEntry("https://telecom-security.example/undated.html"),
    ), "non-http(s) locations dropped"


def test_a_sitemap_index_lists_sitemaps() -> None:
    sitemap = parse_sitemap(site_page("sitemap-index.xml", base="https://telecom-security.example").encode())
    assert sitemap.is_index is True
    assert [entry.url for entry in sitemap.entries] == [
        "https://telecom-security.example/sitemaps/posts-2019.xml",
        "https://telecom-security.example/sitemaps/posts-recent.xml",
        "https://telecom-security.example/sitemaps/posts-archive.xml.gz",
    ]
    assert sitemap.entries[1].published == NOW - timedelta(days=0.5)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(b"", "not XML", id="empty"),
        pytest.param(b"Sitemap temporarily unavailable", "not XML", id="text"),
        pytest.param(b'{"urls": ["https://telecom-security.example/a"]}', "not XML", id="json"),
        pytest.param(b"<html><body><p>Not found</p></body></html>", "its root element is <html>", id="html"),
        pytest.param(
            b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "its root element is <rss>", id="rss"
        ),
    ],
)
def test_a_body_that_is_not_a_sitemap_raises_value_error_with_a_sentence(body: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=r"^the response is not a sitemap") as raised:
        parse_sitemap(body)
    assert reason in str(raised.value)


def test_entity_declarations_are_not_expanded() -> None:
    """An internal entity must not smuggle a URL into a sitemap; the real entries around it stay."""
    body = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY smuggled "https://evil.example/">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>&smuggled;</loc></url>"
        b"<url><loc>https://telecom-security.example/kept.html</loc></url>"
        b"</urlset>"
    )
    assert [entry.url for entry in parse_sitemap(body).entries] == ["https://telecom-security.example/kept.html"]


def test_a_billion_laughs_sitemap_is_not_expanded() -> None:
    """Nine levels of five-fold entities would be two million "lol"s; nothing of it may come out."""
    laughs = "".join(f'<!ENTITY l{n} "&l{n - 1};&l{n - 1};&l{n - 1};&l{n - 1};&l{n - 1};">' for n in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY l0 "lol">{laughs}]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://telecom-security.example/&l9;</loc></url>"
        "</urlset>"
    ).encode()
    try:
        entries = parse_sitemap(body).entries
    except ValueError:  # refusing the whole document is as good
        entries = ()
    assert not any("lollol" in entry.url for entry in entries)


def entry(name: str, days: float | None) -> SitemapEntry:
    return SitemapEntry(
        f"https://telecom-security.example/{name}", published=None if days is None else NOW - timedelta(days=days)
    )


def test_newest_keeps_the_limit_newest_first_within_the_window() -> None:
    entries = (entry("b", 2), entry("old", 30), entry("a", 0.1), entry("undated", None), entry("c", 3))
    chosen = newest(entries, 2, NOW - timedelta(days=7))
    assert [item.url.rsplit("/", 1)[1] for item in chosen] == ["a", "b"]
    everything = newest(entries, 50, NOW - timedelta(days=7))
    assert [item.url.rsplit("/", 1)[1] for item in everything] == ["a", "b", "c"], (
        "too old and undated entries are left out when others are dated"
    )


def test_newest_of_undated_entries_is_both_ends_of_the_sitemap_in_its_order() -> None:
    """Nothing says which end is new: generators that append put it last, others first."""
    entries = tuple(entry(name, None) for name in ("v", "w", "x", "y", "z"))
    assert newest(entries, 3, NOW) == [entries[0], entries[1], entries[4]]
    assert newest(entries, 5, NOW) == list(entries)
    assert newest(entries, 1, NOW) == [entries[0]]


def test_newest_includes_an_entry_exactly_at_the_window_edge() -> None:
    edge = entry("edge", 7)
    assert newest((edge,), 5, NOW - timedelta(days=7)) == [edge]


# --- extract_article ---------------------------------------------------------------------------


def test_an_article_page_gives_its_main_text_not_its_navigation() -> None:
    article = extract_article(
        (SITES / "article-vendor-deep.html").read_text(encoding="utf-8"), "https://telecom-security.example/a"
    )
    paragraphs = article.text.splitlines()
    assert "The aggregator was named as Mitto AG" in article.text, "the sixth paragraph"
    assert any(line.startswith("Investigators have described how access") for line in paragraphs)
    for boilerplate in ("Subscribe to our newsletter", "Security desk", "Cookie settings", "All rights reserved"):
        assert boilerplate not in article.text
    assert article.title == "How an SMS aggregator's signalling access was used to track phones"
    assert article.published == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # with its time


def test_title_and_date_selectors_override_the_extractor() -> None:
    page = (SITES / "article-vendor-deep.html").read_text(encoding="utf-8")
    article = extract_article(page, "https://telecom-security.example/a", "h1.headline", "time.published")
    assert article.title == "Signalling access sold on to track phones, investigators say"
    assert article.published == datetime(2026, 3, 3, 7, 15, tzinfo=UTC)
    assert "Mitto AG" in article.text


@pytest.mark.parametrize(
    ("title_css", "date_css", "title"),
    [
        ("h1.missing", "time.missing", "How an SMS aggregator's signalling access was used to track phones"),
        ("h1.headline", "p.dateline", "Signalling access sold on to track phones, investigators say"),
    ],
)
def test_selectors_that_find_nothing_usable_keep_what_the_extractor_found(
    title_css: str, date_css: str, title: str
) -> None:
    """A selector matching nothing (or a date in words it cannot read) must not blank the headline or date."""
    page = (SITES / "article-vendor-deep.html").read_text(encoding="utf-8")
    article = extract_article(page, "https://telecom-security.example/a", title_css, date_css)
    assert article.title == title
    assert article.published == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # with its time


BREACH_PARAGRAPHS = "<p>" + "Mitto AG said attackers breached its messaging platform this week. " * 12 + "</p>"


@pytest.mark.parametrize(
    "extra",
    [
        "<p>The company first detected suspicious activity on 12 March 2019.</p>",
        "</article><aside><a href='/2018/05/01/old-story'>An older story</a></aside><article>",
    ],
    ids=["a date in the text", "a related link's date"],
)
def test_an_article_without_a_date_in_its_markup_gets_none_guessed_from_its_text(extra: str) -> None:
    """Guessed from the text or a link, a fresh story was dated 2019 or 2018 and never alerted: too old."""
    body = f"<article>{BREACH_PARAGRAPHS}{extra}</article>"
    page = f"<html><head><title>Mitto breach</title></head><body>{body}</body></html>"
    assert extract_article(page, "https://telecom-security.example/news/mitto").published is None


def test_an_article_dated_in_its_markup_keeps_that_date_whatever_its_text_says() -> None:
    head = '<meta property="article:published_time" content="2026-12-04T10:00:00Z">'
    text = f"{BREACH_PARAGRAPHS}<p>It first saw the intruders on 12 March 2019.</p>"
    page = f"<html><head><title>Mitto breach</title>{head}</head><body><article>{text}</article></body></html>"
    assert extract_article(page, "https://telecom-security.example/news/mitto").published == datetime(
        2026, 12, 4, 10, tzinfo=UTC
    )


ARTICLE_OF_THE_DAY = (
    "<html><head><title>Mitto breach</title>"
    '<meta property="article:published_time" content="{published}"></head>'
    f"<body><article>{BREACH_PARAGRAPHS}</article></body></html>"
)


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ("2026-12-05T22:00:00Z", datetime(2026, 12, 5, 22, tzinfo=UTC)),
        ("2026-12-05T22:00:00-05:00", datetime(2026, 12, 6, 3, tzinfo=UTC)),
        ("2026-12-06T06:30:00+05:30", datetime(2026, 12, 6, 1, tzinfo=UTC)),
    ],
)
def test_an_article_date_keeps_its_time_and_zone(published: str, expected: datetime) -> None:
    """Read as a day alone (midnight UTC), a story published at 22:00 was a day older than it was, and
    with `max_age_days: 1` counted too old to alert five hours after it appeared."""
    page = ARTICLE_OF_THE_DAY.format(published=published)
    assert extract_article(page, "https://telecom-security.example/news/mitto").published == expected


def published_in_zone(page: str, zone: str) -> str:
    """The page's date as extract_article reads it on a machine whose time zone is `zone`."""
    script = (
        "import sys; from newsbot.sources.articles import extract_article; "
        "print(extract_article(sys.stdin.read(), 'https://telecom-security.example/news/mitto').published)"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        input=page,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": zone},
    ).stdout.strip()


def test_an_article_date_is_read_alike_whatever_the_machines_time_zone() -> None:
    """trafilatura believes no date after today on the machine's clock: in New York after 19:00, a page
    of today in UTC was refused and it took another date, or none. The page here is dated 12½ hours
    ahead of UTC (a page of now, stamped in a zone far east, looks so to a machine in UTC−12),
    which is a later day than UTC−12's today at any hour, and not a day ahead of UTC."""
    published = (datetime.now(UTC) + timedelta(hours=12, minutes=30)).replace(microsecond=0)
    page = ARTICLE_OF_THE_DAY.format(published=published.isoformat())
    for zone in ("UTC", "Etc/GMT+12", "America/New_York", "Asia/Kolkata"):
        assert published_in_zone(page, zone) == str(published), zone


@pytest.mark.parametrize("zone", ["UTC", "Etc/GMT+12", "Asia/Kolkata", "Pacific/Kiritimati"])
def test_an_article_stamped_tomorrow_in_utc_keeps_its_time(zone: str) -> None:
    """The latest date believed is tomorrow in UTC, and htmldate read the day alone as its midnight:
    a page stamped any later that day (a zone far east, a clock a little ahead) was refused its own
    time and read as the day alone. The test above caught it only after 11:30 UTC. The limit's end
    of day is UTC's on any machine (a review found it read in the machine's zone: east of UTC+3:44,
    the same loss)."""
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=20, minute=15, second=0, microsecond=0)
    page = ARTICLE_OF_THE_DAY.format(published=tomorrow.isoformat())

    assert published_in_zone(page, zone) == str(tomorrow)


@pytest.mark.parametrize(
    "markup",
    ["", "<html><body></body></html>", "<html><head><title>Gone</title></head><body> </body></html>"],
)
def test_a_page_without_an_article_gives_empty_text(markup: str) -> None:
    assert extract_article(markup, "https://telecom-security.example/empty").text == ""


CORPUS_PAGES = [
    pytest.param(
        "readability__ars-1__source.html",
        "Ars is asking Mojang for comment and will update this post if company officials respond.",
        ("Condé Nast", "Share this story", "Gaming & Culture", "Sign in"),
        id="ars",
    ),
    pytest.param(
        "trafilatura__threatpost.com.android.html",
        "Researchers urged Android victims to avoid attack by keeping devices up to date",
        ("The administrator of your personal data", "Share this article", "Apple iMessage Flaw Allows"),
        id="threatpost",
    ),
]


@pytest.mark.parametrize(("name", "deep_sentence", "boilerplate"), CORPUS_PAGES)
def test_real_article_pages_give_their_body_without_boilerplate(
    corpus: Path, name: str, deep_sentence: str, boilerplate: tuple[str, ...]
) -> None:
    page = (corpus / "pages" / name).read_text(encoding="utf-8", errors="replace")
    article = extract_article(page, f"https://corpus.example.test/{name}")
    assert deep_sentence in article.text
    for text in boilerplate:
        assert text not in article.text
    assert article.published is not None


def test_a_real_page_headline_matches_the_ground_truth(corpus: Path) -> None:
    expected = json.loads((corpus / "pages" / "readability__ars-1__expected-metadata.json").read_text(encoding="utf-8"))
    page = (corpus / "pages" / "readability__ars-1__source.html").read_text(encoding="utf-8")
    assert extract_article(page, "https://arstechnica.example/minecraft").title == expected["title"]


# --- entry_from_item ---------------------------------------------------------------------------


class Advisory(scrapy.Item):
    url = scrapy.Field()
    title = scrapy.Field()
    published = scrapy.Field()


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            {
                "url": "https://portal.example/advisories/1",
                "title": "Mitto AG gateway filtering gap",
                "summary": "Unfiltered SS7 queries.",
                "text": "The full advisory.",
                "published": "2026-11-24T10:00:00+02:00",
            },
            FeedEntry(
                link="https://portal.example/advisories/1",
                title="Mitto AG gateway filtering gap",
                summary="Unfiltered SS7 queries.",
                content="The full advisory.",
                published=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
            ),
            id="dict-with-iso-date",
        ),
        pytest.param(
            {"link": "https://portal.example/2", "content": "Body", "published": datetime(2026, 11, 24, 9, 30)},
            FeedEntry(
                link="https://portal.example/2", content="Body", published=datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
            ),
            id="link-key-content-and-naive-datetime-as-utc",
        ),
        pytest.param(
            {"url": "https://portal.example/3", "published": "2026-11-24"},
            FeedEntry(link="https://portal.example/3", published=datetime(2026, 11, 24, tzinfo=UTC)),
            id="date-only",
        ),
        pytest.param(
            {"url": "https://portal.example/4", "published": "24 November 2026", "title": None},
            FeedEntry(link="https://portal.example/4"),
            id="unreadable-date-and-none-title",
        ),
        pytest.param(
            {"url": "https://portal.example/5", "published": 1764000000},
            FeedEntry(link="https://portal.example/5"),
            id="number-is-not-a-date",
        ),
        pytest.param({"title": "No address"}, None, id="missing-url"),
        pytest.param({"url": "", "title": "Empty address"}, None, id="empty-url"),
        pytest.param({"url": "mailto:psirt@portal.example"}, None, id="mailto-url"),
        pytest.param({"url": "/advisories/6"}, None, id="relative-url"),
        pytest.param(["https://portal.example/7"], None, id="not-a-mapping"),
        pytest.param("https://portal.example/8", None, id="a-string"),
    ],
)
def test_entry_from_item(item: Any, expected: FeedEntry | None) -> None:
    assert entry_from_item(item) == expected


def test_an_aware_datetime_keeps_its_moment() -> None:
    moment = datetime(2026, 11, 24, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    entry = entry_from_item({"url": "https://portal.example/9", "published": moment})
    assert entry is not None and entry.published == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_a_scrapy_item_and_a_feed_entry_are_accepted() -> None:
    item = Advisory(url="HTTPS://portal.example/10", title="Console timeout", published="2026-11-24T10:00:00Z")
    assert entry_from_item(item) == FeedEntry(
        link="HTTPS://portal.example/10", title="Console timeout", published=datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    )
    ready = FeedEntry(link="https://portal.example/11", title="Already an entry")
    assert entry_from_item(ready) is ready


# --- declared_url ------------------------------------------------------------------------------

FETCHED = "https://syndicator.example/wire/2024/ss7-report?ref=feed"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(
            '<link rel="canonical" href="https://origin.example/ss7-report">',
            "https://origin.example/ss7-report",
            id="canonical",
        ),
        pytest.param(
            '<link rel="Canonical amphtml" href="/ss7">', "https://syndicator.example/ss7", id="relative, rel list"
        ),
        pytest.param(
            '<meta property="og:url" content="https://origin.example/og-story">',
            "https://origin.example/og-story",
            id="og:url",
        ),
        pytest.param(
            '<link rel="canonical" href="https://origin.example/c"><meta property="og:url" content="https://o.example/og">',
            "https://origin.example/c",
            id="canonical before og:url",
        ),
        pytest.param('<link rel="canonical" href="https://origin.example/">', FETCHED, id="home page ignored"),
        # A front page under another name: taken, different articles declaring it were one story.
        pytest.param('<link rel="canonical" href="/en/">', FETCHED, id="a language's front page"),
        pytest.param('<link rel="canonical" href="https://origin.example/en-us/">', FETCHED, id="another site's"),
        pytest.param('<link rel="canonical" href="/index.html">', FETCHED, id="the index page"),
        pytest.param('<link rel="canonical" href="/home">', FETCHED, id="home by name"),
        pytest.param('<link rel="canonical" href="/latest">', FETCHED, id="one word on its own site"),
        pytest.param(
            '<link rel="canonical" href="/ss7-report">', "https://syndicator.example/ss7-report", id="a short slug"
        ),
        pytest.param(
            '<link rel="canonical" href="/article?id=48213">',
            "https://syndicator.example/article?id=48213",
            id="an article named by its query",
        ),
        pytest.param(
            '<link rel="canonical" href="/index.php?option=com_content&amp;id=123">',
            "https://syndicator.example/index.php?option=com_content&id=123",
            id="an index page's article",
        ),
        pytest.param('<link rel="canonical" href="/wire/">', FETCHED, id="its section ignored"),
        pytest.param(
            '<link rel="canonical" href="https://www.syndicator.example/wire/2024">', FETCHED, id="its folder"
        ),
        pytest.param(
            '<link rel="canonical" href="https://origin.example/wire/">',
            "https://origin.example/wire/",
            id="another site's section: a syndicated copy's origin",
        ),
        pytest.param(
            '<link rel="canonical" href="/wire/2024/ss7-report-full">',
            "https://syndicator.example/wire/2024/ss7-report-full",
            id="a sibling is not a section",
        ),
        pytest.param(
            '<link rel="canonical" href="/wire/2024/ss7-report">',
            "https://syndicator.example/wire/2024/ss7-report",
            id="itself without the tracking query",
        ),
        pytest.param('<link rel="canonical" href="javascript:alert(1)">', FETCHED, id="not http ignored"),
        pytest.param("", FETCHED, id="none: the fetched URL"),
        pytest.param(
            '<base href="https://syndicator.example/mirror/"><link rel="canonical" href="wire/2024/ss7-report-full">',
            "https://syndicator.example/mirror/wire/2024/ss7-report-full",
            id="relative, under <base href>",  # joined to the fetched address, it led to a 404
        ),
    ],
)
def test_declared_url_is_the_pages_own_address(head: str, expected: str) -> None:
    page = Selector(text=f"<html><head>{head}</head><body><p>text</p></body></html>")
    assert declared_url(page, FETCHED) == expected


@pytest.mark.parametrize(
    ("fetched", "canonical", "expected"),
    [
        (
            "https://news.example/news/mitto-breach/?from=rss",
            "/news/mitto-breach",
            "https://news.example/news/mitto-breach",
        ),
        (
            "https://news.example/news/mitto-breach/index.html",
            "/news/mitto-breach/",
            "https://news.example/news/mitto-breach/",
        ),
        ("https://news.example/article/12345/mitto-breach", "/article/12345", "https://news.example/article/12345"),
        ("https://news.example/news/mitto-breach", "/news/", "https://news.example/news/mitto-breach"),
        ("https://news.example/news/2024/mitto-breach", "/news/2024", "https://news.example/news/2024/mitto-breach"),
    ],
    ids=[
        "its own path, a slash apart",
        "its folder's index page",
        "an id before the headline",
        "a section",
        "a section",
    ],
)
def test_only_a_section_above_the_page_is_ignored(fetched: str, canonical: str, expected: str) -> None:
    page = Selector(text=f'<html><head><link rel="canonical" href="{canonical}"></head></html>')
    assert declared_url(page, fetched) == expected


def test_story_links_stop_at_their_limit_however_deep_the_elements_nest() -> None:
    """Each of 2,000 nested elements once became its whole subtree's text before `max_items` was applied."""
    nested = "".join(f'<article><a href="/story-{n}.html">Story {n}</a>' for n in range(2000)) + "</article>" * 2000
    page = Selector(text=f"<html><body>{nested}</body></html>")
    links = story_links(page, "https://desk.example/", css="article", limit=3)
    assert [url for url, _ in links] == [f"https://desk.example/story-{n}.html" for n in range(3)]


def test_a_date_selector_picking_an_attribute_gives_that_date() -> None:
    """`time::attr(datetime)` raised for every article, which kept its teaser."""
    page = (SITES / "article-vendor-deep.html").read_text(encoding="utf-8")
    article = extract_article(page, "https://telecom-security.example/a", date_css="time.published::attr(datetime)")
    assert article.published == datetime(2026, 3, 3, 7, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("final", "asked", "away"),
    [
        ("https://desk.example/", "https://desk.example/news/mitto-breach.html", True),
        ("https://desk.example/index.html", "https://desk.example/2024/05/mitto", True),
        ("https://desk.example/en/", "https://desk.example/news/mitto", True),
        ("https://desk.example/news/", "https://desk.example/news/mitto", True),  # a section
        ("https://desk.example/subscribe", "https://desk.example/2024/05/mitto", True),  # a paywall
        ("https://desk.example/login", "https://desk.example/p/123", True),
        ("https://desk.example/news/mitto/", "https://desk.example/news/mitto/amp/", False),  # out of AMP
        ("https://desk.example/ransomware", "http://desk.example/ransomware", False),  # to https
        ("https://desk.example/ransomware", "https://desk.example/?p=123", False),  # a short link's permalink
        ("https://desk.example/2024/mitto-breach", "https://desk.example/news/mitto", False),  # moved
    ],
)
def test_a_redirect_leads_away_from_the_article_only_to_a_general_page(final: str, asked: str, away: bool) -> None:
    """The first version took a redirect out of /amp/, to https:// or from a short link to a one-word
    permalink for the front page (the article kept its teaser for good); the second took only the
    front page, and articles sent to /news/, /subscribe or /login were one story again."""
    assert redirected_away(final, asked) is away


def test_an_undated_index_reads_the_newest_of_its_largest_numbered_series() -> None:
    monthly = [f"sitemap-{month:02d}-{year}.xml" for year in (2023, 2024) for month in range(1, 13)][:17]
    chosen = newest_sitemaps(tuple(entry(name, None) for name in ["pages.xml", *monthly]), 3, NOW)
    assert [item.url.rsplit("/", 1)[1] for item in chosen] == [f"sitemap-0{month}-2024.xml" for month in (5, 4, 3)]
    drupal = newest_sitemaps(tuple(entry(f"sitemap.xml?page={number}", None) for number in range(1, 9)), 2, NOW)
    assert [item.url.rsplit("=", 1)[1] for item in drupal] == ["8", "7"]
    on_a_tags_host = tuple(SitemapEntry(f"https://tags.example/sitemap-{number}.xml") for number in (1, 2, 3))
    assert [item.url for item in newest_sitemaps(on_a_tags_host, 1, NOW)] == ["https://tags.example/sitemap-3.xml"]


@pytest.mark.parametrize(
    ("names", "chosen"),
    [
        (  # a small WordPress site: one sitemap of each kind
            [
                "wp-sitemap-posts-post-1",
                "wp-sitemap-posts-page-1",
                "wp-sitemap-taxonomies-category-1",
                "wp-sitemap-taxonomies-post_tag-1",
                "wp-sitemap-users-1",
            ],
            ["wp-sitemap-posts-post-1", "wp-sitemap-posts-page-1"],
        ),
        (  # more tag sitemaps than post sitemaps
            [f"wp-sitemap-posts-post-{n}" for n in (1, 2, 3)]
            + [f"wp-sitemap-taxonomies-post_tag-{n}" for n in (1, 2, 3, 4)],
            ["wp-sitemap-posts-post-3", "wp-sitemap-posts-post-2", "wp-sitemap-posts-post-1"],
        ),
        (["a", "b", "c", "d", "e", "f", "news"], ["a", "b", "c", "f", "news"]),  # nothing numbered: both ends
    ],
    ids=["small WordPress", "more tags than posts", "unnumbered"],
)
def test_an_undated_index_never_reads_its_tag_or_author_sitemaps(names: list[str], chosen: list[str]) -> None:
    """Their pages are lists of stories: stored as undated "new" stories, a /tag/mitto-ag/ could alert."""
    picked = newest_sitemaps(tuple(entry(f"{name}.xml", None) for name in names), 5, NOW)
    assert [item.url.rsplit("/", 1)[1].removesuffix(".xml") for item in picked] == chosen
