"""A fast path for well-formed UTF-8 RSS and Atom feeds: fastfeedparser in front of feedparser.

Why (benchmarks/parsers.py, the 55 real feeds of ../shared/corpus/feeds, Python 3.11, 2 cores):
on the 40 files this path accepts, 31,100 items/s against feedparser's 890 (119 against 3.4
MB/s), 35 times faster; over all 55 with feedparser behind it, 5,140 items/s against 1,050 (4.9
times), because the 15 it refuses still cost feedparser's time. On those 40 files (and the 5 of
broken-feeds/ it accepts), 858 entries: links, titles and summaries agree with feedparser's on
every entry, dates on 98.8% (the 10 others are dates such as "Jul 23, 2025 00:00:00-0500" that
feedparser cannot read and fastfeedparser can), content text on 97.6% (feedparser turns a second
<description>, an <itunes:summary> or a <media:description> into content). Where an item has no
date, fastfeedparser may guess one that feedparser would leave out ("Monday", or a guid "2019"
read as a year): a feed with more dated entries than date elements goes to feedparser.

parse_well_formed returns None, and newsbot.stories.feeds.parse_feed falls back to feedparser, whenever the fast
path is not to be trusted: a DOCTYPE or entity declaration; a NUL byte (UTF-16/32); a body that
expat, feedparser's own strict parser, does not accept as well-formed UTF-8; a declared encoding
other than UTF-8 (or ASCII, with ASCII bytes); a root other than <rss>, Atom 1.0 <feed> or
<rdf:RDF> (JSON, HTML pages); an Atom title or summary of type="xhtml"; a date it misreads
(`_MISREAD_DATE`: an RFC 822 offset with a colon, a day.month.year date); a relative link in a
document with xml:base; any error in fastfeedparser; no entries (RSS 0.90, whose items it does
not see). fastfeedparser is only ever given bytes: a str starting with "http" would be fetched.
And whenever only feedparser can tell an entry's address: an RSS item with a <link href="…"/>
(fastfeedparser drops it) or an Atom <link> without href (feedparser reads its text); an Atom
entry with links but no alternate one; a linkless RSS item with a relative guid, unless every guid
of the document is marked isPermaLink="false".

Entries are mapped as newsbot.stories.feeds maps feedparser's (their addresses by the same rules,
newsbot.stories.urls.entry_address for Atom; tests/stories/test_feed_paths_agree.py holds the two
paths to the same stories on every corpus feed), and two habits of fastfeedparser are undone so
that summary and content are feedparser's: it also gives an RSS <description> as content, and it
fills a missing summary with 512 characters of the content's text (feedparser copies the whole
content).
"""

from __future__ import annotations

import functools
import html
import re
from datetime import datetime
from typing import Any
from xml.parsers import expat

import fastfeedparser

from newsbot.models import FeedEntry
from newsbot.stories.dates import parse_iso
from newsbot.stories.urls import entry_address, fragment_names_item, is_absolute, is_http_url, joined

_ATOM_ROOT = "http://www.w3.org/2005/Atom feed"
_FEED_ROOTS = frozenset({"rss", _ATOM_ROOT, "http://www.w3.org/1999/02/22-rdf-syntax-ns# RDF"})
# feedparser reads an RSS item's <link href="…"/> (podcast feeds, an atom:link), which fastfeedparser
# drops or reads by rules of its own; an Atom link without href is read from its text by feedparser alone.
_FIRST_ITEM = re.compile(rb"<(?:[\w.-]+:)?item\b")
_FIRST_ENTRY = re.compile(rb"<(?:[\w.-]+:)?entry\b")
# A tag's attributes run to its ">" and hold no "<" (XML forbids it in attribute values): "[^<>]*",
# not "[^>]*", which from each of thousands of "<link " in a feed's CDATA read on to the next ">" and
# made these checks quadratic (a valid 450 KB feed held a run for two minutes).
_HREF_LINK = re.compile(rb"<(?:[\w.-]+:)?link\b[^<>]*\bhref\s*=")
_HREFLESS_LINK = re.compile(rb"<(?:[\w.-]+:)?link\b(?![^<>]*\bhref\s*=)[^<>]*>")
# What feedparser may take as an RSS item's permalink: an <id> (read like a guid), or a <guid> not
# marked isPermaLink with another value than "true" (feedparser's test: absent, or exactly "true").
_ID_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?id[\s/>]")
_GUID = re.compile(rb"<guid\b")
_NOT_PERMALINK_GUID = re.compile(rb"<guid\b[^<>]*\b(?i:ispermalink)\s*=\s*([\"'])(?!true\1)")
# fastfeedparser reads an Atom title or summary of type="xhtml" as empty (its content is fine).
_XHTML_TEXT = re.compile(rb"<(?:[\w.-]+:)?(?:title|summary)\b[^<>]*\btype\s*=\s*[\"']xhtml[\"']")
# Elements a feed states a date in; fewer of them than dated entries means fastfeedparser guessed.
_DATE_NAMES = rb"(?:pubDate|published|updated|issued|modified|created|date)"
_DATE_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?" + _DATE_NAMES + rb"\b")
# A date fastfeedparser misreads where feedparser reads it right or leaves it out: an RFC 822 date
# with a colon in its offset ("06:30:00 +05:30", "GMT+05:30": the offset dropped, 5½ hours off),
# and a day.month.year date ("06.12.2026": read month first, June, and never alerted as too old).
_MISREAD_DATE = re.compile(  # each repeat bounded or possessive: no body, however spaced, costs more than a scan
    rb"<(?:[\w.-]{1,64}:)?" + _DATE_NAMES + rb"\b[^<>]{0,512}+>\s{0,64}+"
    rb"(?:(?!\d{4}-)[^<]{0,64}?\d:\d\d(?::\d\d)?\s?(?:GMT|UTC)?\s?[+-]\d\d?:\d\d\s*+<"
    rb"|\d{1,2}\.\d{1,2}\.\d{2,4}\b)",
    re.IGNORECASE,
)
_UTF8 = frozenset({"utf-8", "utf8"})
_ASCII = frozenset({"us-ascii", "ascii"})
# fastfeedparser's synthesised summary: tags in the first 2,048 characters of the content become
# spaces, entities are decoded, whitespace is collapsed, and 512 characters are kept.
_TAG = re.compile(r"<[^>]+>")
_SYNTHESIS_SOURCE = 2048
_SYNTHESIS_LENGTH = 512


def parse_well_formed(body: bytes, url: str) -> list[FeedEntry] | None:
    """The entries of a well-formed UTF-8 RSS, Atom or RSS 1.0 feed, or None: use feedparser."""
    root = _trusted_root(body)
    if root is None or _MISREAD_DATE.search(body):
        return None
    try:
        parsed = fastfeedparser.parse(body, include_tags=False, include_media=False, include_enclosures=False)
    except Exception:  # any failure of the fast path is feedparser's to judge
        return None
    links = _links(root, body, parsed.entries, url)
    anchored = None if links is None else _anchored(root, body, parsed.entries, links)
    if links is None or anchored is None:
        return None  # an entry whose address, or guid, feedparser alone can tell
    entries = [
        _fast_entry(entry, link, anchor) for entry, link, anchor in zip(parsed.entries, links, anchored, strict=True)
    ]
    if sum(entry.published is not None for entry in entries) > len(_DATE_ELEMENT.findall(body)):
        return None  # some date was guessed (from a guid, or a word like "Monday"): feedparser leaves it out
    if b"<dc:date" in body and any(entry.published is None for entry in entries):
        return None  # an Atom entry's <dc:date>, which fastfeedparser does not read and feedparser does
    return entries or None


def _trusted_root(body: bytes) -> str | None:
    """The root element of a document the fast path reads as feedparser does, or None."""
    # A NUL byte is UTF-16 or UTF-32, which expat detects from a byte-order mark whatever it is told.
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body or b"\0" in body:
        return None
    if b"xhtml" in body and _XHTML_TEXT.search(body):
        return None
    try:
        encoding, root = _declared_encoding_and_root(body)
    except expat.ExpatError:
        return None
    if root not in _FEED_ROOTS or not (encoding in _UTF8 or (encoding in _ASCII and body.isascii())):
        return None
    if root == _ATOM_ROOT:
        return None if _HREFLESS_LINK.search(body) else root
    first_item = _FIRST_ITEM.search(body)
    return None if first_item and _HREF_LINK.search(body, first_item.start()) else root


def _declared_encoding_and_root(body: bytes) -> tuple[str, str]:
    """Expat reads the whole body as UTF-8 whatever it declares; it raises unless well-formed."""
    parser = expat.ParserCreate(encoding="utf-8", namespace_separator=" ")
    found = {"encoding": "utf-8", "root": ""}

    def on_declaration(version: str, encoding: str | None, standalone: int) -> None:
        found["encoding"] = (encoding or "utf-8").lower()

    def on_first_element(name: str, attributes: dict[str, str]) -> None:
        found["root"] = name
        parser.StartElementHandler = None

    parser.XmlDeclHandler = on_declaration
    parser.StartElementHandler = on_first_element
    parser.Parse(body, True)
    return found["encoding"], found["root"]


def _links(root: str, body: bytes, entries: list[dict[str, Any]], url: str) -> list[str] | None:
    """Each entry's address, resolved against the feed's URL ("" for none), or None: feedparser's to tell."""
    read_link = _atom_link if root == _ATOM_ROOT else _RssLinks(body)
    read = [read_link(entry) for entry in entries]
    links = [link for link in read if link is not None]
    if len(links) < len(read):
        return None
    if b"xml:base" in body and any(link and not is_absolute(link) for link in links):
        return None  # feedparser resolves it against the xml:base, which fastfeedparser does not report
    return [_resolve(link, url) for link in links]


def _atom_link(entry: dict[str, Any]) -> str | None:
    """The entry's alternate page (newsbot.stories.urls.entry_address), else its id if that is an
    http(s) URL, as newsbot.stories.feeds reads feedparser's entries.

    An entry with links but no alternate one is feedparser's (None): fastfeedparser then fills a
    missing id with another link's href (a licence's, even the feed's `self`), so only feedparser
    knows whether the entry had an id of its own. With no link at all, the id is the entry's.
    """
    links = entry.get("links") or ()
    address = entry_address((link.get("rel"), link.get("type"), link.get("href")) for link in links)
    if address or entry.get("link"):
        return address or None
    guid = _text(entry.get("id"))
    return guid if is_http_url(guid) else ""


class _RssLinks:
    """An RSS item's link as newsbot.stories.feeds takes feedparser's: the <link>, else the guid.

    A guid that is not an absolute URL is never made one here: whether it is a permalink (which
    feedparser resolves against the feed's address, as RSS says it is a URL) or an opaque id
    (`<guid isPermaLink="false">a1b2c3d4</guid>`, no address at all) is in its attribute, which
    fastfeedparser does not report. Unless no guid of the document can be a permalink, such an
    item is feedparser's (None), as is a linkless item of a document with <id> elements, which
    feedparser reads as guids and fastfeedparser ignores.
    """

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __call__(self, entry: dict[str, Any]) -> str | None:
        link, guid = _text(entry.get("link")), _text(entry.get("id"))
        if link:
            return link
        if self.has_id_elements:
            return None
        if not guid or is_absolute(guid):
            return guid
        return None if self.has_permalink_guids else ""

    @functools.cached_property
    def has_id_elements(self) -> bool:
        return _ID_ELEMENT.search(self.body) is not None

    @functools.cached_property
    def has_permalink_guids(self) -> bool:
        return len(_GUID.findall(self.body)) > len(_NOT_PERMALINK_GUID.findall(self.body))


def _anchored(root: str, body: bytes, entries: list[dict[str, Any]], links: list[str]) -> list[bool] | None:
    """Whether each link's fragment names its item (newsbot.stories.urls.fragment_names_item), or None.

    That is the guid's (or Atom id's) to say, and fastfeedparser fills a missing one with the link:
    its ids are the feed's only where the document has one per entry (an RSS document may have none
    at all). RSS 1.0 (whose rdf:about is the item's name) is feedparser's, as is a relative guid,
    which feedparser resolves when it is a permalink.
    """
    if not any("#" in link for link in links):
        return [False] * len(links)
    if root == _ATOM_ROOT:
        first_entry, first_id = _FIRST_ENTRY.search(body), _ID_ELEMENT.search(body)
        feed_id = bool(first_entry and first_id and first_id.start() < first_entry.start())
        written = len(_ID_ELEMENT.findall(body)) - feed_id
    elif root == "rss" and not _ID_ELEMENT.search(body):
        written = len(_GUID.findall(body))
        if not written:
            return [False] * len(links)  # no guid: nothing says a fragment is more than a place on the page
    else:
        return None
    ids = [_text(entry.get("id")) for entry in entries]
    if written != len(entries) or any(
        "#" in link and not is_absolute(guid) for link, guid in zip(links, ids, strict=True)
    ):
        return None
    return [fragment_names_item(link, guid) for link, guid in zip(links, ids, strict=True)]


def _resolve(link: str, url: str) -> str:
    if not link:
        return ""
    resolved = joined(url, link)
    return resolved if is_http_url(resolved) else ""


def _fast_entry(entry: dict[str, Any], link: str, anchored: bool) -> FeedEntry:
    summary, content = _summary_and_content(entry)
    return FeedEntry(
        link=link,
        anchored=anchored,
        title=_text(entry.get("title")),
        summary=summary,
        content=content,
        published=_whole_seconds(parse_iso(entry.get("published"))),
    )


def _summary_and_content(entry: dict[str, Any]) -> tuple[str, str]:
    summary = _text(entry.get("description"))
    values = [_text(part.get("value")) for part in entry.get("content") or []]
    if values == [summary]:  # an RSS <description>, which feedparser never makes content
        return summary, ""
    if values and _is_synthesised(summary, values[0]):  # feedparser copies the whole content
        return values[0], "\n".join(values)
    return summary, "\n".join(values)


def _is_synthesised(summary: str, content: str) -> bool:
    text = content
    if "<" in text and ">" in text:
        text = html.unescape(_TAG.sub(" ", text[:_SYNTHESIS_SOURCE]))
    collapsed = " ".join(text.split())[:_SYNTHESIS_LENGTH].rstrip()
    return summary in {collapsed, text.strip()[:_SYNTHESIS_LENGTH].rstrip()}


def _whole_seconds(moment: datetime | None) -> datetime | None:
    """fastfeedparser keeps fractions of a second; feedparser's dates, the reference, have none."""
    return moment.replace(microsecond=0) if moment else None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
