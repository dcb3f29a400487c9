"""Turn a downloaded feed body into entries: feedparser for RSS/Atom, the json module for JSON Feed.

Well-formed UTF-8 RSS and Atom go through fastfeedparser first (newsbot.stories.fastfeeds: 35 times
faster on the feeds it accepts, with the same links, titles and summaries); everything it does
not trust is feedparser's, which stays the reference.

feedparser is only ever given bytes and headers (never a URL or a string that could be read as a
path), and a DOCTYPE that declares entities is dropped first: feedparser's loose fallback parser
would otherwise expand an entity bomb that expat refused.
"""

from __future__ import annotations

import calendar
import functools
import html
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from newsbot.errors import NewsbotError
from newsbot.models import FeedEntry
from newsbot.stories.dates import parse_date
from newsbot.stories.fastfeeds import parse_well_formed
from newsbot.stories.normalize import encodable
from newsbot.stories.urls import entry_address, fragment_names_item, is_absolute, is_http_url, joined

_DOCTYPE = re.compile(rb"<!DOCTYPE[^>\[]*+(\[.*?\])?\s*>", re.DOTALL | re.IGNORECASE)  # *+: see _without_doctype
_DOCTYPE_START = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
# The elements feedparser reads a person from, their text kept to its first 1,000 bytes (in CDATA too).
_LONG_NAME = re.compile(
    rb"(<(?:[\w.-]+:)?(?:author|creator|managingEditor|webMaster|contributor|publisher|owner|name|email)\b[^<>]*>"
    rb"(?:<!\[CDATA\[)?)([^<\]]{1000})[^<\]]*",
    re.IGNORECASE,
)
UNCLOSED_COMMENTS = 100
_ENTITY = b"<!ENTITY"
_WIDE_ENTITY = tuple(_ENTITY.decode().encode(codec) for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"))
_FIRST_ELEMENT = re.compile(rb"<\w")
_WHITESPACE_RUN = re.compile(rb"\s{2,}")
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"
# JSON Feed 1.0's own examples wrote the version with http://, and feeds in the wild still do.
_JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
_ID_TEXT = re.compile(rb"<(?:[\w.-]+:)?id\b[^<>]*>([^<]*)</")  # [^<>]: see fastfeeds._HREF_LINK
# feedparser reads about 1.8 s a megabyte of markup-heavy items, and its lenient parser (a feed that
# is not well-formed XML, as a cut one is) 3.6 s. A longer feed the fast path cannot take is read
# this far only (7 s at most), in the reading process (newsbot.sources.reading_process: a body this
# large goes there), whose reads queue behind it: 9.5 MB of one broken feed took 35-40 s, and two
# such feeds held a run 20 s past its budget while a healthy source was never fetched. An
# oldest-first feed keeps its newest items past the cut: they are lost, and the warning says so.
FEEDPARSER_BYTES = 2_000_000


class FeedParseError(NewsbotError, ValueError):
    """Raised by parse_feed when a body is not a feed at all; the message is a plain sentence."""


@dataclass(frozen=True)
class ParsedFeed:
    entries: list[FeedEntry]
    read_bytes: int | None = None  # of a feed longer than FEEDPARSER_BYTES, what feedparser read


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> list[FeedEntry]:
    """Entries of an RSS, Atom or JSON feed; entries without a link are dropped by the caller."""
    return parse_feed_document(body, url, content_type).entries


def parse_feed_document(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """The same, saying when only the start of a long feed could be read (FEEDPARSER_BYTES)."""
    return _parse(body, url, content_type, fast=True)


def parse_feed_reference(body: bytes, url: str, content_type: str | None = None) -> list[FeedEntry]:
    """The same with feedparser alone: what the fast path is measured and tested against."""
    return _parse(body, url, content_type, fast=False).entries


def _parse(body: bytes, url: str, content_type: str | None, *, fast: bool) -> ParsedFeed:
    if not body.strip():
        raise FeedParseError("the response was empty")
    if _looks_like_json(body, content_type):
        return ParsedFeed(_parse_json_feed(body, url))
    if fast and _utf8_or_unstated(content_type):
        entries = parse_well_formed(body, url)
        if entries is not None:
            return ParsedFeed(entries)
    if len(body) > FEEDPARSER_BYTES:
        return ParsedFeed(_parse_xml_feed(body[:FEEDPARSER_BYTES], url, content_type), FEEDPARSER_BYTES)
    return ParsedFeed(_parse_xml_feed(body, url, content_type))


def _looks_like_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return body.removeprefix(_BYTE_ORDER_MARK).lstrip()[:1] == b"{"


def _parse_json_feed(body: bytes, url: str) -> list[FeedEntry]:
    try:
        document = json.loads(body.removeprefix(_BYTE_ORDER_MARK))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FeedParseError(f"the JSON feed is not valid JSON ({error})") from None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(_JSON_FEED_VERSIONS):
        raise FeedParseError("the response is JSON but not a JSON Feed (no jsonfeed.org version)")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedParseError("the JSON Feed has no 'items' list")
    return [_json_feed_entry(item, url) for item in items if isinstance(item, dict)]


def _json_feed_entry(item: dict[str, Any], feed_url: str) -> FeedEntry:
    """An item's link resolved against the feed's address, as an RSS item's is: a feed generated with
    site-relative permalinks ("/2024/10/post") is still a feed of stories. An id is only a link when
    it is a whole http(s) address: ids are opaque, and a relative one names nothing."""
    link = _text(item.get("url") or item.get("external_url"))
    if not link and is_http_url(str(item.get("id", ""))):
        link = item["id"]
    link = joined(feed_url, link) if link else ""
    link = link if is_http_url(link) else ""
    return FeedEntry(
        link=link,
        anchored=fragment_names_item(link, _text(item.get("id"))),
        title=_text(item.get("title")),
        summary=_text(item.get("summary")),
        content=_text(item.get("content_html") or item.get("content_text")),
        published=parse_date(item.get("date_published") or item.get("date_modified")),
    )


def _parse_xml_feed(body: bytes, url: str, content_type: str | None) -> list[FeedEntry]:
    body = _defuse(body)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    if not parsed.version and not parsed.entries:
        reason = parsed.get("bozo_exception")
        detail = f" ({reason})" if reason else ""
        raise FeedParseError(f"the response is not an RSS, Atom or JSON feed{detail}")
    read_link = _AtomLinks(body, url) if parsed.version.startswith("atom") else _rss_link
    return [_feedparser_entry(entry, read_link(entry)) for entry in parsed.entries]


def _utf8_or_unstated(content_type: str | None) -> bool:
    """The fast path reads the body's own declaration; an HTTP charset other than UTF-8 overrides it."""
    charset = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    return charset is None or charset.group(1).lower() in ("utf-8", "utf8")


def _defuse(body: bytes) -> bytes:
    """What feedparser may safely see: no entity declarations, no giant prolog, no author's name
    longer than `_LONG_NAME` keeps, no flood of unclosed comments.

    feedparser's loose fallback parser expands entities that expat refused (an entity bomb is
    gigabytes), its DOCTYPE handling is quadratic in the blank lines before the root element, its
    search for an e-mail address in an author's name is quadratic in a run of letters with no "@"
    (100 KB of them took 35 s), and its sanitizer reads from each unclosed "<!--" in a description
    to the next ">" (more comments opened than closed are made text: none is real then).
    """
    if any(pattern in body for pattern in _WIDE_ENTITY):
        raise FeedParseError("the feed declares XML entities in UTF-16/32, which newsbot refuses")
    if _ENTITY in body:
        body = _without_doctype(body)
        if _ENTITY in body:
            raise FeedParseError("the feed declares XML entities outside a DOCTYPE, which newsbot refuses")
    first_element = _FIRST_ELEMENT.search(body)
    if first_element:
        prolog = _WHITESPACE_RUN.sub(b"\n", body[: first_element.start()])
        body = prolog + body[first_element.start() :]
    body = _LONG_NAME.sub(_cut_name, body)
    if body.count(b"<!--") > body.count(b"-->") + UNCLOSED_COMMENTS:
        body = body.replace(b"<!--", b"&lt;!--")
    return body


def _cut_name(found: re.Match[bytes]) -> bytes:
    """The element's opening and the first 1,000 bytes of its text, to a whole UTF-8 character: cut
    through one, the body was no UTF-8 and feedparser read the whole feed in another encoding
    ("EspaÃ±a"), so its accented names matched nothing. (In a one-byte encoding at most a few
    characters more go.)"""
    text = found[2].rstrip(bytes(range(0x80, 0xC0)))  # a character's continuation bytes…
    if text and text[-1] >= 0xC0:  # …and the byte that began it
        text = text[:-1]
    return found[1] + text


def _without_doctype(body: bytes) -> bytes:
    """The body without its DOCTYPE, which is tried where the first one starts only: a document has
    one, and tried at each of thousands of "<!DOCTYPE [", the pattern read on from each to the end of
    the body (quadratic: 200 KB took 18 s). Its name's run is possessive: given back a character at a
    time when no ">" follows, each try read the blanks after it again (80 KB of them: 6 s)."""
    start = _DOCTYPE_START.search(body)
    doctype = _DOCTYPE.match(body, start.start()) if start else None
    return body[: doctype.start()] + body[doctype.end() :] if doctype else body


def _rss_link(entry: Any) -> str:
    """The <link>, else the guid. feedparser resolves a guid that is a permalink (no isPermaLink, or
    "true": RSS says it is then a URL) against the feed's address, so an item with a relative one is
    kept; an opaque guid (isPermaLink="false") stays as written, and is a link only if it is an http(s)
    URL. A "urn:"/"tag:" guid is never a link."""
    link = entry.get("link") or entry.get("id") or ""
    return link if is_http_url(link) else ""


class _AtomLinks:
    """An Atom entry's link: its alternate page (newsbot.stories.urls.entry_address), else its id when
    the feed wrote the id as an http(s) URL.

    feedparser would take any id, and "resolve" a relative one against the feed's address: an id is
    a name, not an address (RFC 4287 says so), and such a URL was never published. The ids written
    as absolute URLs are read from the body, once, only for a feed with an entry that needs them.
    """

    def __init__(self, body: bytes, url: str) -> None:
        self.body = body
        self.url = url

    def __call__(self, entry: Any) -> str:
        links = entry.get("links") or ()
        address = entry_address((link.get("rel"), link.get("type"), link.get("href")) for link in links)
        if not address and entry.get("id") in self.absolute_ids:
            address = entry["id"]
        return address if is_http_url(address) else ""

    @functools.cached_property
    def absolute_ids(self) -> frozenset[str]:
        written = (html.unescape(raw.decode("utf-8", "replace")).strip() for raw in _ID_TEXT.findall(self.body))
        return frozenset(joined(self.url, text) for text in written if is_absolute(text))


def _feedparser_entry(entry: Any, link: str) -> FeedEntry:
    content = entry.get("content") or []
    return FeedEntry(
        link=link,
        anchored=fragment_names_item(link, _text(entry.get("id"))),
        title=_text(entry.get("title")),
        summary=_text(entry.get("summary")),
        content="\n".join(_text(part.get("value")) for part in content),
        # dict.get: feedparser's own get() warns when "updated" falls back to "published".
        published=_struct_datetime(dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed"))
        or parse_date(dict.get(entry, "published") or dict.get(entry, "updated")),
    )


def _struct_datetime(value: Any) -> datetime | None:
    """feedparser gives UTC struct_time (or None when the date was unreadable)."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _text(value: Any) -> str:
    """A JSON string as text, half a UTF-16 pair made U+FFFD (normalize.encodable): in an item's
    address or id, it failed the whole feed."""
    return encodable(value.strip()) if isinstance(value, str) else ""
