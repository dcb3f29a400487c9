"""(Google News) XML sitemaps → their newest story URLs, with titles and dates where given.

Parsed like Scrapy's SitemapSpider parses them (lxml iterparse with entities unresolved, comments
and processing instructions dropped, errors recovered), but keeping the `news:` extension that
Scrapy's `Sitemap` flattens away: a news sitemap's title and publication date are what make
"newest entries only" possible without fetching every page.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from lxml import etree

from newsbot.stories.dates import parse_iso
from newsbot.stories.urls import is_http_url

_NUMBERS = re.compile(r"\d+")  # a sitemap's place in its series: `…-post-7.xml`, `sitemap-2024-05.xml`
# Sitemaps of a site's lists of stories, not of stories: WordPress's, Yoast's, Drupal's names for them.
_NOT_STORIES = re.compile(r"(?:^|[/_.?=-])(?:tags?|categor(?:y|ies)|authors?|users?|taxonom(?:y|ies))(?:$|[/_.?&=-])")


@dataclass(frozen=True)
class SitemapEntry:
    url: str
    title: str = ""
    published: datetime | None = None


@dataclass(frozen=True)
class ParsedSitemap:
    is_index: bool  # a sitemap of sitemaps: `entries` are more sitemaps
    entries: tuple[SitemapEntry, ...]


def parse_sitemap(body: bytes) -> ParsedSitemap:
    """Raises ValueError when the body is not a sitemap."""
    events = etree.iterparse(
        io.BytesIO(body),
        events=("start", "end"),
        recover=True,
        remove_comments=True,
        resolve_entities=False,
        remove_blank_text=True,
        collect_ids=False,
        remove_pis=True,
        no_network=True,
        huge_tree=False,
    )
    try:
        _, root = next(events)
        kind = etree.QName(root).localname
        if kind not in ("urlset", "sitemapindex"):
            raise ValueError(f"the response is not a sitemap (its root element is <{kind}>)")
        entries = [_entry(element) for event, element in events if event == "end" and _is_item(element)]
    except (etree.XMLSyntaxError, StopIteration):
        raise ValueError("the response is not a sitemap (not XML)") from None
    return ParsedSitemap(kind == "sitemapindex", tuple(entry for entry in entries if is_http_url(entry.url)))


def _is_item(element: etree._Element) -> bool:
    return isinstance(element.tag, str) and etree.QName(element).localname in ("url", "sitemap")


def _entry(element: etree._Element) -> SitemapEntry:
    fields: dict[str, str] = {}
    for child in element.iter():
        if isinstance(child.tag, str) and child.text and child.text.strip():
            fields.setdefault(etree.QName(child).localname, child.text.strip())
    element.clear()
    published = parse_iso(fields.get("publication_date")) or parse_iso(fields.get("lastmod"))
    return SitemapEntry(url=fields.get("loc", ""), title=fields.get("title", ""), published=published)


def newest_sitemaps(entries: tuple[SitemapEntry, ...], limit: int, since: datetime) -> list[SitemapEntry]:
    """The `limit` sitemaps of an index to read: its newest when it dates them. Undated (WordPress's
    own index, Drupal's `?page=N`), the highest-numbered of its largest numbered series of stories:
    `wp-sitemap-posts-post-7.xml`, 6, 5…; not its tag, category, author or user sitemaps, whose
    pages would be stored as undated "new" stories (a `/tag/mitto-ag/` could alert). A series is
    numbered by every number in the address past its host, a year before the month it names.
    No such series: both ends of the index, as for an undated sitemap's stories (`newest`)."""
    if any(entry.published is not None for entry in entries):
        return newest(entries, limit, since)
    stories = [(entry, place) for entry in entries if not _NOT_STORIES.search(place := _place(entry.url))]
    series: dict[str, list[tuple[tuple[int, ...], SitemapEntry]]] = {}
    for entry, place in stories:
        if numbers := _NUMBERS.findall(place):
            ordered = sorted(numbers, key=len, reverse=True)  # 2024 before 05, whichever is written first
            series.setdefault(_NUMBERS.sub("#", place), []).append((tuple(map(int, ordered)), entry))
    largest = max(series.values(), key=len, default=[])
    if len(largest) < 2:
        return newest(tuple(entry for entry, _ in stories), limit, since)
    return [entry for _, entry in sorted(largest, key=lambda numbered: numbered[0], reverse=True)[:limit]]


def _place(url: str) -> str:
    """A sitemap's address past its host: what names its series (a host `tags.example` names none)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def newest(entries: tuple[SitemapEntry, ...], limit: int, since: datetime) -> list[SitemapEntry]:
    """The `limit` newest entries no older than `since`; undated entries only if none are dated.

    Undated, nothing says which end is new: generators that append (WordPress numbers its sitemaps
    and posts oldest first) put it last, others first. The first `limit` were taken, and a new
    story at the end of a long sitemap was never read; so both ends are, half the limit each, in
    the sitemap's order (a story stored already is not stored again)."""
    dated = [entry for entry in entries if entry.published is not None]
    if not dated:
        if len(entries) <= limit:
            return list(entries)
        return [*entries[: limit - limit // 2], *entries[len(entries) - limit // 2 :]]
    recent = [entry for entry in dated if entry.published and entry.published >= since]
    return sorted(recent, key=lambda entry: entry.published or since, reverse=True)[:limit]
