"""Every feed item kept, under its own identity (issue 12), on both of newsbot's parsing paths.

The fast path (fastfeedparser, newsbot.stories.fastfeeds) and feedparser (newsbot.stories.feeds) must
give each item the same address, and newsbot must build the same stories from them:
- items at anchors of one page (scripting.com: `…/23.html#a120634`, each with its own guid) are as many
  stories, while copies of one story that differ only by a fragment stay one;
- an opaque guid (`<guid isPermaLink="false">a1b2c3d4</guid>`) is never made into a URL;
- an Atom entry's address is its alternate link (a link with no rel is one), never its licence,
  enclosure, `self`, `related` or `via` link;
- an RSS item's `<link href="…"/>` is its address.
Fixtures: tests/data/feeds/identity (see its README.md). The last tests run `newsbot run` over real HTTP
and count what the real SQLite file holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from newsbot.models import FeedEntry, Story
from newsbot.stories.fastfeeds import parse_well_formed
from newsbot.stories.feeds import parse_feed, parse_feed_reference
from newsbot.stories.normalize import to_story
from newsbot.stories.urls import canonical_url, fragment_names_item
from tests.conftest import CORPUS, REPOSITORY, Workspace
from tests.servers import FeedServer, Route, recent

DATA = REPOSITORY / "tests" / "data" / "feeds" / "identity"
FEED_URL = "https://feeds.example.test/path/feed.xml"
NOW = datetime(2026, 6, 25, tzinfo=UTC)
Parse = Callable[[bytes, str], list[FeedEntry]]
PATHS: dict[str, Parse] = {"fast path first": parse_feed, "feedparser alone": parse_feed_reference}
both_paths = pytest.mark.parametrize("parse", PATHS.values(), ids=PATHS.keys())


def stories(parse: Parse, body: bytes) -> list[Story | None]:
    """The stories newsbot builds from a body's entries, None where an entry has no address."""
    return [to_story(entry, "Identity", NOW) for entry in parse(body, FEED_URL)]


def stored(parse: Parse, body: bytes) -> list[Story]:
    return [story for story in stories(parse, body) if story is not None]


def rss(items: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Inline</title>'
        f"<link>https://inline.example.test/</link>{items}</channel></rss>"
    ).encode()


# --- items at anchors of one page ---------------------------------------------------------------

ANCHORED = (DATA / "anchored-items.rss").read_bytes()


@both_paths
def test_items_at_anchors_of_one_page_are_as_many_stories(parse: Parse) -> None:
    """Twelve posts on three day pages, each linked (and guid'ed) at its own anchor."""
    built = stored(parse, ANCHORED)
    assert len({story.id for story in built}) == 12
    assert {story.url.rsplit("/", 1)[1] for story in built} >= {"21.html#a083012", "23.html#a210901"}


@both_paths
def test_scripting_news_keeps_its_fifty_items(parse: Parse) -> None:
    """The real feed of the issue (../shared/corpus): 50 items on 7 day pages were 7 stories. Two pairs
    of its items repeat one link and one guid (a post and its follow-up at one anchor): nothing names
    them apart, so the first of each pair is the story, as for any item a feed repeats."""
    path = CORPUS / "feeds" / "rsparser__scriptingNews.rss"
    if not path.is_file():
        pytest.skip(f"no shared corpus at {CORPUS}")
    built = stored(parse, path.read_bytes())
    assert len(built) == 50
    assert len({story.id for story in built}) == len({story.url for story in built}) == 48
    assert all("#a" in story.url for story in built)


@both_paths
def test_an_item_at_an_anchor_says_so(parse: Parse) -> None:
    assert [entry.anchored for entry in parse(ANCHORED, FEED_URL)] == [True] * 12


# link, guid → whether the link's fragment names the item
FRAGMENTS = [
    pytest.param("https://x.test/23.html#a1", "https://x.test/23.html#a1", True, id="guid is the anchored link"),
    pytest.param("https://x.test/23.html#a1", "a1b2c3d4", True, id="opaque guid"),
    pytest.param("https://x.test/23.html#a1", "https://x.test/?p=7", True, id="guid is another page"),
    pytest.param("https://x.test/23.html#a1", "", False, id="no guid"),
    pytest.param("https://x.test/a?utm_source=rss#xtor=RSS-3", "https://x.test/a", False, id="guid is the page"),
    pytest.param("https://x.test/a#tk.rss_all", "https://X.test/a/", False, id="guid is the page, another spelling"),
    pytest.param("https://x.test/a", "a1b2c3d4", False, id="no fragment"),
    pytest.param("https://x.test/a#", "a1b2c3d4", False, id="empty fragment"),
]


@pytest.mark.parametrize(("link", "guid", "names_item"), FRAGMENTS)
def test_a_fragment_names_an_item_when_its_guid_says_so(link: str, guid: str, names_item: bool) -> None:
    assert fragment_names_item(link, guid) is names_item


def test_canonical_url_keeps_a_fragment_only_when_asked() -> None:
    link = "https://X.test/23.html?utm_source=rss#a120634"
    assert canonical_url(link) == "https://x.test/23.html"
    assert canonical_url(link, keep_fragment=True) == "https://x.test/23.html#a120634"
    assert (
        canonical_url(canonical_url(link, keep_fragment=True), keep_fragment=True) == "https://x.test/23.html#a120634"
    )


@both_paths
def test_copies_that_differ_only_by_a_fragment_stay_one_story(parse: Parse) -> None:
    """`#comments`, `#xtor=RSS-3` with the page as guid, `#tk.rss_all` with the page (slash and all) as an
    opaque guid: nothing tells these apart from the page, so they are the page's story."""
    built = stored(parse, (DATA / "syndicated-copies.rss").read_bytes())
    assert [story.url for story in built] == ["https://news.example.test/2026/06/ss7-fine"] * 4 + [
        "https://news.example.test/2026/06/firewall"
    ]


# --- opaque guids ---------------------------------------------------------------------------------

REPORT = "https://opaque.example.test/reports/2026-06-22"


@both_paths
def test_an_opaque_guid_never_becomes_a_url(parse: Parse) -> None:
    body = (DATA / "opaque-guids.rss").read_bytes()
    assert [entry.link for entry in parse(body, FEED_URL)] == ["", "", REPORT]
    assert [story.url for story in stored(parse, body)] == [REPORT]


def test_the_fast_path_reads_opaque_guids_itself() -> None:
    """Every guid of the file is marked isPermaLink="false" (one as `isPermalink`, which feedparser reads
    the same): nothing for feedparser to resolve, so the fast path need not hand the feed over."""
    entries = parse_well_formed((DATA / "opaque-guids.rss").read_bytes(), FEED_URL)
    assert entries is not None
    assert [entry.link for entry in entries] == ["", "", REPORT]


RESOLVED = "https://feeds.example.test/path/story-42"
GUIDS = [
    pytest.param('<guid isPermaLink="false">a1b2c3d4</guid>', [""], id="opaque"),
    pytest.param('<guid isPermaLink="false">/node/23643</guid>', [""], id="opaque, path-like"),
    pytest.param("<guid isPermaLink='FALSE'>a1b2c3d4</guid>", [""], id="isPermaLink not 'true'"),
    pytest.param('<guid ISPERMALINK="false">a1b2c3d4</guid>', [""], id="attribute name in capitals"),
    pytest.param('<guid isPermaLink="false">tag:inline.example.test,2026:1</guid>', [""], id="tag: URI"),
    pytest.param('<guid isPermaLink="false">https://g.example.test/1</guid>', ["https://g.example.test/1"], id="http"),
    # RSS says a guid is a permalink unless isPermaLink="false": a relative one is a URL on the feed's site.
    pytest.param("<guid>story-42</guid>", [RESOLVED], id="permalink, relative"),
    pytest.param('<guid isPermaLink="true">story-42</guid>', [RESOLVED], id="permalink stated, relative"),
]


@pytest.mark.parametrize(("guid", "links"), GUIDS)
@both_paths
def test_a_guid_is_an_address_only_when_the_feed_says_it_is_one(parse: Parse, guid: str, links: list[str]) -> None:
    assert [entry.link for entry in parse(rss(f"<item><title>a</title>{guid}</item>"), FEED_URL)] == links


@both_paths
def test_opaque_and_permalink_guids_side_by_side(parse: Parse) -> None:
    """Which guid is which is in an attribute fastfeedparser does not report: feedparser reads this one."""
    body = rss(
        '<item><title>a</title><guid isPermaLink="false">a1b2c3d4</guid></item>'
        "<item><title>b</title><guid>story-42</guid></item>"
    )
    assert [entry.link for entry in parse(body, FEED_URL)] == ["", RESOLVED]


@both_paths
def test_a_relative_atom_id_never_becomes_a_url(parse: Parse) -> None:
    """An Atom id is a name (RFC 4287 4.2.6): feedparser would resolve "entries/6" against the feed's URL."""
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>a</title><id>entries/6</id>'
        b"</entry><entry><title>b</title><id>https://atom.example.test/entries/7</id></entry></feed>"
    )
    assert [entry.link for entry in parse(body, FEED_URL)] == ["", "https://atom.example.test/entries/7"]


# --- Atom links that are not the entry's page ---------------------------------------------------------


@both_paths
def test_an_atom_entry_is_at_its_alternate_link_only(parse: Parse) -> None:
    body = (DATA / "atom-other-links.atom").read_bytes()
    assert [entry.link for entry in parse(body, FEED_URL)] == [
        "",  # a licence, shared with the next entry: they were one story at the licence's URL
        "",
        "https://links.example.test/entries/3",  # no alternate link: the id, an http URL
        "https://links.example.test/entries/4",  # a link with no rel is the alternate one
        "",  # related, self and via
        "",  # a relative id
        "https://links.example.test/entries/7",  # rel as the IANA relation's IRI
    ]
    assert not [story for story in stored(parse, body) if "creativecommons" in story.url]


def test_entries_with_their_alternate_link_stay_on_the_fast_path() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        + b"".join(
            b"<entry><title>%d</title><id>urn:x:%d</id>"
            b'<link rel="license" href="https://creativecommons.example.test/by/4.0/"/>'
            b'<link rel="enclosure" href="https://atom.example.test/%d.mp3"/>'
            b'<link href="https://atom.example.test/%d"/></entry>' % (n, n, n, n)
            for n in range(3)
        )
        + b"</feed>"
    )
    entries = parse_well_formed(body, FEED_URL)
    assert entries is not None
    assert [entry.link for entry in entries] == [f"https://atom.example.test/{n}" for n in range(3)]


# --- RSS <link href> ----------------------------------------------------------------------------------


@both_paths
def test_an_rss_link_given_as_href_is_the_items_address(parse: Parse) -> None:
    body = (DATA / "podcast-link-href.rss").read_bytes()
    assert [entry.link for entry in parse(body, FEED_URL)] == [
        f"https://podcast.example.test/episodes/{number}" for number in (41, 42, 43)
    ]


# --- feedparser's own fixtures, and every fixture on both paths ---------------------------------------

# file in tests/data/feeds/identity/feedparser → the address of each entry
FEEDPARSER_FIXTURES = {
    "atom10__entry_id_no_normalization_1.xml": ["http://www.example.org/thing"],
    "atom10__entry_link_alternate_map_link_3.xml": ["http://www.example.com/alternate"],
    "atom10__entry_link_length.xml": [""],
    "atom10__entry_link_no_href_link_priority.xml": ["http://www.example.com/alternate"] * 2,
    "atom10__entry_link_no_rel.xml": ["http://www.example.com/"],
    "atom10__entry_link_rel_enclosure.xml": [""],
    "atom10__entry_link_rel_enclosure_no_href.xml": ["http://www.example.com/alternate"] * 2,
    "atom10__entry_link_rel_license.xml": [""],
    "atom10__entry_link_rel_other.xml": [""],
    "atom10__entry_link_rel_related.xml": [""],
    "atom10__entry_link_rel_self.xml": [""],
    "atom10__entry_link_rel_via.xml": [""],
    "node_precedence__atom10_id.xml": ["", ""],
    "psc__rss2.0simplechapter.xml": ["http://podlove.org/podcast/1"],
    "rss__item_guid_guidislink.xml": ["http://guid.example.com/"],
    "rss__item_guid_not_permalink_not_guidislink.xml": ["http://guid.example.com/"],
    "rss__item_guid_not_permalink_not_url.xml": [""],
}


def test_every_copied_feedparser_fixture_has_an_expectation() -> None:
    assert sorted(path.name for path in (DATA / "feedparser").glob("*.xml")) == sorted(FEEDPARSER_FIXTURES)


@pytest.mark.parametrize(("name", "links"), FEEDPARSER_FIXTURES.items(), ids=FEEDPARSER_FIXTURES.keys())
@both_paths
def test_feedparsers_fixtures_get_their_addresses(parse: Parse, name: str, links: list[str]) -> None:
    assert [entry.link for entry in parse((DATA / "feedparser" / name).read_bytes(), FEED_URL)] == links


FIXTURES = sorted(path for path in DATA.rglob("*") if path.suffix in (".rss", ".atom", ".xml"))


@pytest.mark.parametrize("path", FIXTURES, ids=[str(path.relative_to(DATA)) for path in FIXTURES])
def test_both_paths_build_the_same_stories(path: Path) -> None:
    body = path.read_bytes()
    fast, reference = stories(parse_feed, body), stories(parse_feed_reference, body)
    assert [story and (story.id, story.url, story.title) for story in fast] == [
        story and (story.id, story.url, story.title) for story in reference
    ]


# --- through a real crawl ---------------------------------------------------------------------------------


@dataclass
class Crawl:
    database: Path
    stdout: str
    server: FeedServer

    def urls(self, source: str) -> list[str]:
        return [
            url
            for (url,) in self.rows(
                "SELECT url FROM stories JOIN story_sources ON story_sources.story_id = stories.id "
                "WHERE story_sources.source = ? ORDER BY url",
                source,
            )
        ]

    def rows(self, sql: str, *parameters: object) -> list[tuple]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql, parameters).fetchall()


DAY_PAGES = ("/2026/12/01.html", "/2026/12/02.html", "/2026/12/03.html")


def anchored_feed(site: str) -> bytes:
    """Three posts on each of three day pages, dated within the hour (young enough for full text)."""
    items = []
    for page_number, page in enumerate(DAY_PAGES):
        for post in range(3):
            url = escape(f"{site}{page}#a{page_number}{post}0000")
            items.append(
                f"<item><description>Post {page_number}.{post}: SS7 notes.</description>"
                f"<pubDate>{recent(0.1 + page_number + post / 10)}</pubDate><link>{url}</link><guid>{url}</guid></item>"
            )
    return rss("".join(items))


def day_page(number: int) -> Route:
    """A whole day's posts: what the spider would take as each post's full text if it fetched the page."""
    posts = "".join(
        f'<p id="a{number}{post}0000">Post {number}.{post}: ' + "SS7 notes. " * 40 + "</p>" for post in range(3)
    )
    body = f"<html><head><title>Day {number}</title></head><body><article>{posts}</article></body></html>"
    return Route(body.encode(), content_type="text/html; charset=utf-8")


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    server = FeedServer()
    server.start()
    workspace = Workspace(tmp_path_factory.mktemp("identity"))
    for number, page in enumerate(DAY_PAGES):
        server.add(page, day_page(number))
    workspace.source("Anchored", server.add("/anchored.xml", Route(anchored_feed(server.url))), full_text="auto")
    for name, file in [
        ("Copies", "syndicated-copies.rss"),
        ("Opaque", "opaque-guids.rss"),
        ("Other links", "atom-other-links.atom"),
        ("Podcast", "podcast-link-href.rss"),
    ]:
        workspace.source(name, server.add(f"/{file}", Route((DATA / file).read_bytes())))
    result = workspace.newsbot("run", timeout=60)
    assert result.returncode == 0, result.stderr
    yield Crawl(workspace.database, result.stdout, server)
    server.stop()


def test_a_crawl_stores_each_anchored_item_and_fetches_no_day_page(crawl: Crawl) -> None:
    """Nine posts, nine stories; and a day page is no post's full text, so none is downloaded."""
    urls = crawl.urls("Anchored")
    assert len(urls) == 9
    assert all("#a" in url for url in urls)
    assert [request.path for request in crawl.server.requests if request.path in DAY_PAGES] == []


def test_a_crawl_stores_copies_that_differ_by_a_fragment_once(crawl: Crawl) -> None:
    assert crawl.urls("Copies") == [
        "https://news.example.test/2026/06/firewall",
        "https://news.example.test/2026/06/ss7-fine",
    ]


def test_a_crawl_makes_no_url_of_an_opaque_guid(crawl: Crawl) -> None:
    assert crawl.urls("Opaque") == [REPORT]
    assert crawl.rows("SELECT url FROM stories WHERE url LIKE '%a1b2c3d4%' OR url LIKE '%e5f6a7b8%'") == []


def test_a_crawl_counts_the_items_it_could_not_store(crawl: Crawl) -> None:
    """Items without an address are dropped, and the run says how many, source by source."""
    assert (
        "source warning: Opaque: 2 items without an http(s) link (an opaque guid, or none): not stored" in crawl.stdout
    )


def test_a_crawl_stores_atom_entries_at_their_alternate_links(crawl: Crawl) -> None:
    assert crawl.urls("Other links") == [f"https://links.example.test/entries/{number}" for number in (3, 4, 7)]


def test_a_crawl_stores_podcast_episodes_at_their_link_href(crawl: Crawl) -> None:
    assert crawl.urls("Podcast") == [f"https://podcast.example.test/episodes/{number}" for number in (41, 42, 43)]


def test_the_database_holds_every_item_once(crawl: Crawl) -> None:
    """9 anchored posts + 2 stories among the copies + 1 opaque-feed report + 3 Atom entries + 3 episodes."""
    assert crawl.rows("SELECT count(*) FROM stories") == [(18,)]
