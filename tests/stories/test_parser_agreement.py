"""newsbot.stories.fastfeeds.parse_well_formed against newsbot.stories.feeds.parse_feed_reference
(feedparser, the reference).

On the real feeds of ../shared/corpus (read in place; skipped when absent): every file the fast
path accepts must give the same number of entries, and links, titles and dates must agree on at
least 99% of the entries. Without the corpus: hostile bodies must be refused (None), so that
feedparser, with newsbot.stories.feeds' own defences, decides what they are.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from newsbot.models import FeedEntry
from newsbot.stories.fastfeeds import parse_well_formed
from newsbot.stories.feeds import FeedParseError, parse_feed_reference
from newsbot.stories.normalize import html_to_text
from tests.conftest import REPOSITORY

CORPUS = REPOSITORY.parent / "shared" / "corpus"
FEED_URL = "https://feeds.example.test/path/feed.xml"
# Observed: 40 of the 55 files in feeds/ take the fast path (the others are JSON, not UTF-8, or
# have a blank line before their XML declaration); a margin for a changed corpus.
MIN_FAST_FEEDS = 36


@dataclass
class Agreement:
    entries: int = 0
    fast_files: list[str] = field(default_factory=list)
    count_mismatches: list[str] = field(default_factory=list)
    same: Counter[str] = field(default_factory=Counter)
    fast_only_dates: int = 0  # feedparser could not read the date, fastfeedparser could
    differences: list[str] = field(default_factory=list)

    def share(self, name: str) -> float:
        return self.same[name] / self.entries

    def add(self, name: str, fast: list[FeedEntry], reference: list[FeedEntry]) -> None:
        self.fast_files.append(name)
        if len(fast) != len(reference):
            self.count_mismatches.append(f"{name}: {len(fast)} entries, feedparser {len(reference)}")
            return
        for ours, theirs in zip(fast, reference, strict=True):
            self.entries += 1
            for key, (mine, expected) in compared(ours, theirs).items():
                if mine == expected:
                    self.same[key] += 1
                elif key == "published" and expected is None:
                    self.fast_only_dates += 1
                else:
                    self.differences.append(f"{name} {key}: {str(mine)[:80]!r} != {str(expected)[:80]!r}")


def text(markup: str) -> str:
    return " ".join(html_to_text(markup).split())


def compared(fast: FeedEntry, reference: FeedEntry) -> dict[str, tuple[object, object]]:
    return {
        "link": (fast.link, reference.link),
        "title": (text(fast.title), text(reference.title)),
        "published": (fast.published, reference.published),
        "summary": (text(fast.summary), text(reference.summary)),
        "content": (text(fast.content), text(reference.content)),
    }


def corpus_url(path: Path) -> str:
    return f"https://corpus.example.test/{path.parent.name}/{path.name}"


@pytest.fixture(scope="module")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"no shared corpus at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="module")
def agreement(corpus: Path) -> Agreement:
    result = Agreement()
    for path in sorted((corpus / "feeds").iterdir()):
        body = path.read_bytes()
        fast = parse_well_formed(body, corpus_url(path))
        if fast is not None:
            result.add(path.name, fast, parse_feed_reference(body, corpus_url(path)))
    return result


def test_the_fast_path_gives_feedparsers_entries(agreement: Agreement) -> None:
    assert agreement.count_mismatches == []
    assert agreement.entries > 500


@pytest.mark.parametrize("name", ["link", "title"])
def test_links_and_titles_agree(agreement: Agreement, name: str) -> None:
    assert agreement.share(name) >= 0.99, [line for line in agreement.differences if f" {name}: " in line]


def test_dates_agree_where_feedparser_read_one(agreement: Agreement) -> None:
    """fastfeedparser also reads dates feedparser cannot ("Jul 23, 2025 00:00:00-0500"): not a
    disagreement, but bounded, so that a change in how dates are read still shows."""
    same = agreement.same["published"] + agreement.fast_only_dates
    assert same / agreement.entries >= 0.99, [line for line in agreement.differences if " published: " in line]
    assert agreement.fast_only_dates / agreement.entries <= 0.02


def test_summary_and_content_text_mostly_agree(agreement: Agreement) -> None:
    """Measured, not required: feedparser turns a second <description>, an <itunes:summary> or a
    <media:description> into content, which fastfeedparser ignores."""
    assert agreement.share("summary") >= 0.95
    assert agreement.share("content") >= 0.9


def test_most_real_feeds_take_the_fast_path(agreement: Agreement) -> None:
    assert len(agreement.fast_files) >= MIN_FAST_FEEDS


def test_broken_feeds_fall_back_or_agree_on_links(corpus: Path) -> None:
    disagreements = []
    for path in sorted((corpus / "broken-feeds").iterdir()):
        body = path.read_bytes()
        fast = parse_well_formed(body, corpus_url(path))
        if fast is None:
            continue
        try:
            reference = [entry.link for entry in parse_feed_reference(body, corpus_url(path))]
        except FeedParseError as error:
            reference = [f"FeedParseError: {error}"]
        if [entry.link for entry in fast] != reference:
            disagreements.append(path.name)
    assert disagreements == []


# --- without the corpus ------------------------------------------------------------------------


def rss(items: str, prolog: str = '<?xml version="1.0" encoding="utf-8"?>', channel: str = "") -> bytes:
    return (
        f'{prolog}<rss version="2.0"{channel}><channel><title>Inline</title>'
        f"<link>https://feeds.example.test/</link>{items}</channel></rss>"
    ).encode()


ENTITY_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        b'<!ENTITY %c "&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;">' % ((n,) + (n - 1,) * 10) for n in range(98, 108)
    )
    + b']><rss version="2.0"><channel><title>&k;</title><item><title>&k;</title>'
    b"<link>https://example.test/a</link></item></channel></rss>"
)
HOSTILE = {
    "entity bomb": ENTITY_BOMB,
    "HTML error page": b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1></body></html>",
    "XHTML error page": b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Not found</p></body></html>',
    "a path": b"/etc/passwd",
    "a URL": b"https://example.test/feed.xml",
    "JSON Feed": b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": '
    b'[{"id": "1", "url": "https://example.test/1", "title": "One"}]}',
    "not well-formed": rss("<item><title>Open<b></title><link>https://example.test/a</link></item>"),
    "Latin-1": rss(
        "<item><title>Caf\xe9</title><link>https://example.test/a</link></item>",
        prolog='<?xml version="1.0" encoding="iso-8859-1"?>',
    )
    .decode()
    .encode("latin-1"),
    "UTF-16": rss("<item><title>t</title><link>https://example.test/a</link></item>").decode().encode("utf-16"),
    "xml:base and a relative link": rss(
        "<item><title>t</title><link>a/relative</link></item>", channel=' xml:base="https://elsewhere.test/"'
    ),
    "no entries": rss(""),
    "Atom title of type xhtml": b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry>'
    b'<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">A <b>bold</b> title</div></title>'
    b'<link href="https://example.test/a"/></entry></feed>',
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_untrusted_bodies_are_left_to_feedparser(body: bytes) -> None:
    assert parse_well_formed(body, FEED_URL) is None


def test_a_well_formed_feed_is_parsed_like_feedparser_parses_it() -> None:
    body = rss(
        "<item><title>A &amp;amp; B</title><link>../story/1</link><pubDate>Tue, 08 Oct 2024 14:30:00 +0200"
        "</pubDate><description>&lt;p&gt;Short&lt;/p&gt;</description></item>"
        '<item><title>Guid only</title><guid isPermaLink="false">https://example.test/2</guid>'
        "<content:encoded><![CDATA[<p>Whole <b>text</b></p>]]></content:encoded></item>",
        channel=' xmlns:content="http://purl.org/rss/1.0/modules/content/"',
    )
    assert parse_well_formed(body, FEED_URL) == parse_feed_reference(body, FEED_URL)
