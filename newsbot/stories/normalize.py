"""Feed entry → Story: a canonical URL as the story's identity (see newsbot.stories.urls), plain text."""

from __future__ import annotations

import functools
import hashlib
import html
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from newsbot.models import FeedEntry, Story
from newsbot.stories.urls import canonical_url, is_http_url

EARLIEST_NEWS = datetime(1991, 1, 1, tzinfo=UTC)  # before the first web page, a date is a placeholder
FUTURE_TOLERANCE = timedelta(days=1)  # time zones and clock skew
# A story's text is matched, clustered and stored; a page of megabytes (hostile, or a site's
# archive in one page) would slow each of those for nothing: news articles run to a few thousand
# words, so 200,000 characters keep every real one whole.
MAX_TEXT_CHARS = 200_000
MAX_TITLE_CHARS = 1_000
CACHED_MARKUP_CHARS = 20_000  # a feed item's HTML rarely exceeds it; 1,024 of them cached hold ~40 MB at most
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 and C1 but the whitespace (collapsed anyway)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# A tag's attributes to its ">", as w3lib.html (2.5) reads them: quoted values whole (a "<" in one is
# no tag) but bounded, since read unbounded (w3lib's remove_tags too), a "<" inside one with no ">"
# after it was read again to the end from each such "<" (quadratic: '<p a="<p "…' of 80 KB took 9 s).
# The script tags' name ends at a blank, "/" or ">" (`<style-guide>` is no style), their end tag on its
# name so ended (`</script >`, `</script/>`, `</script foo>`, as browsers do), ASCII blanks only, as
# w3lib compiles it (`<style\u3000>` is no style).
_TAG_BODY = r"""(?:[^<>"']|"[^"]{0,1000}"|'[^']{0,1000}')*"""
# A tag named as an element is, its quoted values read; anything else that runs from a "<" to a ">"
# with no blank after the "<" ("<!-- … -->", "<![CDATA[", "<?xml …?>", "<-5>"), as w3lib's remove_tags
# reads it, to the next angle bracket: an apostrophe in a comment is text, not a quote.
_ANY_TAG = re.compile(rf"</?[a-zA-Z][a-zA-Z0-9]*(?![^ <>/]){_TAG_BODY}>|</?[^\s<>/][^<>]*>", re.ASCII)
_CONTENT_TAG = re.compile(rf"<(script|style|noscript)(?=[\s/>]){_TAG_BODY}>", re.IGNORECASE | re.ASCII)
_CLOSING_TAG = {
    tag: re.compile(rf"</{tag}(?=[\s/>])[^<>]*>", re.IGNORECASE | re.ASCII) for tag in ("script", "style", "noscript")
}
# Elements that separate words when rendered; replacing them with a space keeps "<td>Mitto</td>
# <td>SS7</td>" two words, while inline tags (<b>Mitto</b>'s) still leave words whole.
_BLOCK_TAGS = re.compile(
    r"</?(p|div|br|hr|li|ul|ol|dl|dt|dd|h[1-6]|blockquote|pre|table|thead|tbody|tfoot|tr|td|th|"
    r"caption|section|article|header|footer|aside|nav|figure|figcaption|main|address|details|"
    # Attributes read as _TAG_BODY does: a quoted value may hold "<" (alt="a<b"), an unquoted "<" ends
    # the tag (not [^>]*: from each of thousands of "<div " that read on to the next ">", quadratic).
    rf"summary|img)\b{_TAG_BODY}>",
    re.IGNORECASE,
)


def story_id(url: str) -> str:
    """A short, stable id for a canonical URL, used as a key in the outbox and in Slack metadata."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]


def html_to_text(markup: str) -> str:
    """Readable plain text from feed HTML: no tags, scripts or styles, entities decoded, spaced.

    A feed item's content is made text twice (is it a teaser? then its story), so markup up to
    `CACHED_MARKUP_CHARS` is cached for as many items as a large feed has.
    """
    if len(markup) > CACHED_MARKUP_CHARS:
        return _html_to_text(markup)
    return _cached_html_to_text(markup)


def _html_to_text(markup: str) -> str:
    if "<" not in markup and "&" not in markup:
        return _single_spaced(markup)
    markup = _without_scripts(markup)
    markup = _BLOCK_TAGS.sub(" ", markup)
    text = html.unescape(_ANY_TAG.sub("", markup))
    return _single_spaced(text)


def _without_scripts(markup: str) -> str:
    """Scripts, styles and noscripts removed with what they hold, as w3lib's remove_tags_with_content
    does, in one pass: its pattern reads from each opening tag to the nearest closing one, and from
    each of thousands never closed, to the end (quadratic: 200 KB of "<script>" took 37 s). Here a
    tag found unclosed once is left alone after (no later one can be closed either), for the tag pass
    to drop as it drops any tag."""
    kept: list[str] = []
    position = 0
    unclosed: set[str] = set()
    while opening := _CONTENT_TAG.search(markup, position):
        tag = opening.group(1).lower()
        closing = None if tag in unclosed else _CLOSING_TAG[tag].search(markup, opening.end())
        if closing is None:
            unclosed.add(tag)
            kept.append(markup[position : opening.end()])
            position = opening.end()
        else:
            kept.append(markup[position : opening.start()])
            position = closing.end()
    kept.append(markup[position:])
    return "".join(kept)


def _single_spaced(text: str) -> str:
    """Runs of whitespace as one space, none at the ends: str.split's whitespace is re's \\s, and
    splitting a 3,000-character article took 14 µs where substituting each run took 69."""
    return " ".join(text.split())


_cached_html_to_text = functools.lru_cache(maxsize=1024)(_html_to_text)


def plain_entry(entry: FeedEntry) -> FeedEntry:
    """The entry with plain text for HTML and its link's identity beside it: what `to_story` would
    make of them, made where the entry is read."""
    if entry.plain:
        return entry
    return replace(
        entry,
        title=html_to_text(entry.title),
        summary=html_to_text(entry.summary),
        content=html_to_text(entry.content),
        plain=True,
        canonical=entry_identity(entry),
    )


def entry_identity(entry: FeedEntry) -> str:
    """The entry's link in its canonical form (its story's identity), or "" when it has none."""
    if entry.plain:
        return entry.canonical
    return canonical_url(entry.link, keep_fragment=entry.anchored) if entry.link else ""


def to_story(entry: FeedEntry, source: str, now: datetime | None = None) -> Story | None:
    """A Story, or None when the entry has no http(s) link to identify it."""
    if not is_http_url(entry.link):
        return None
    url = entry_identity(entry)
    as_text = _as_is if entry.plain else html_to_text
    summary = bounded(encodable(as_text(entry.summary)), MAX_TEXT_CHARS)
    text = bounded(encodable(as_text(entry.content)), MAX_TEXT_CHARS)
    return Story(
        id=story_id(url),
        url=url,
        title=_without_controls(bounded(encodable(as_text(entry.title)), MAX_TITLE_CHARS)) or url,
        summary=_without_controls(summary),
        text=text if text != summary else "",
        source=source,
        published_at=_believable(entry.published, now or datetime.now(UTC)),
        reached_by=entry.reached_by if entry.reached_by != url else "",
    )


def _without_controls(text: str) -> str:
    """No C0 or C1 control characters: an escape sequence in a JSON Feed's title recoloured the
    terminal of whoever read it in `status` or a backtest. (A story's text, long, is left as it is:
    what shows it, an alert's snippet, `explain`, `search`, drops them there.)"""
    return _CONTROLS.sub("", text)


def encodable(text: str) -> str:
    """Half a UTF-16 pair made U+FFFD, as a decoder would: JSON may escape one alone ("\\ud83d"), and
    Python keeps it, but no UTF-8 write accepts it. One such JSON Feed item made SQLite's insert
    raise, and every run stopped there, storing and alerting nothing, while the feed carried it; in
    its address, the whole feed failed. (Here for any entry, a team spider's too; feeds.py for JSON's.)"""
    return text if text.isascii() else _LONE_SURROGATE.sub("\ufffd", text)


def _as_is(text: str) -> str:
    return text


def bounded(text: str, limit: int) -> str:
    """At most `limit` characters, cut before a word rather than through it."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ", limit // 2)
    return cut[:space] if space > 0 else cut


def _believable(published: datetime | None, now: datetime) -> datetime | None:
    """A date more than a day ahead is a feed's mistake, and one before the web a placeholder (1970-01-01,
    0001-01-01: a CMS's empty date): the story then ages from when it was seen. Believed, a fresh
    story so dated was "too old to alert", for good (its stored date is kept when the feed mends it)."""
    if published is not None and not EARLIEST_NEWS <= published <= now + FUTURE_TOLERANCE:
        return None
    return published
