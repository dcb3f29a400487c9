"""An article page → its main text, headline and date, so a vendor named only in paragraph 6 is found.

trafilatura does the extraction: it scored best of the maintained extractors on its benchmark
(F1 0.909, readability-lxml 0.801, newspaper3k 0.713) and dates come from htmldate, from the page's
markup only (metadata, its URL, <time> and date-labelled elements), never guessed from its prose.
A source's own CSS selectors, when given, override its headline and date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import trafilatura
from parsel import Selector
from trafilatura.settings import Document

from newsbot.stories.dates import parse_iso
from newsbot.stories.normalize import MAX_TEXT_CHARS, bounded, html_to_text

# trafilatura reads about 2.5 s of HTML a megabyte here (2 shared cores), in the reading process
# (newsbot.sources.reading_process) or, when that is busy or gone, in the crawl's thread, where
# nothing else moves meanwhile: not a signal, not the budget, not another source. A page longer than
# this is read only this far; real articles end well before it (a page heavy with scripts whose
# text starts later keeps its feed's teaser instead).
MAX_PAGE_CHARS = 1_500_000
# trafilatura reads a table row in time that grows with the square of its cells (it counts the row's
# cells again for each): a page of 150,000 cells would hold the read about a minute. Past this many
# a page's tables are left out of its text, and so are the fallback extractors, which read such a
# page, its main text short without them, slower still (20,000 cells: 40 s); an article's tables
# hold a few hundred.
MAX_TABLE_CELLS = 10_000


@dataclass(frozen=True)
class Article:
    text: str
    title: str = ""
    published: datetime | None = None


def extract_article(html: str, url: str, title_css: str | None = None, date_css: str | None = None) -> Article:
    """The page's main text (empty when there is none), with its headline and date if found."""
    html = html[:MAX_PAGE_CHARS]
    flooded = html.lower().count("<td") > MAX_TABLE_CELLS
    # A dict only with the deprecated as_dict=True, which trafilatura's annotation does not tell apart.
    document = cast(
        "Document | None",
        trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=not flooded,
            fast=flooded,
            date_extraction_params=_date_params(),
        ),
    )
    text = title = ""
    published = None
    if document is not None:
        text = bounded((document.text or "").strip(), MAX_TEXT_CHARS)
        title = (document.title or "").strip()
        published = parse_iso(document.date)
    if title_css or date_css:
        page = Selector(text=html)
        if title_css:
            title = _selected_text(page, title_css) or title
        if date_css:
            published = _selected_date(page, date_css) or published
    return Article(text=text, title=title, published=published)


def _date_params() -> dict[str, Any]:
    """htmldate's settings. The page's markup only (metadata, URL, <time> and date-labelled elements):
    a date htmldate guessed from the prose ("first detected on 12 March 2019") or a related link
    (/2018/05/01/…) made fresh breach news "too old to alert", and it never alerted. With its time and
    zone, not the day alone (midnight UTC: a story of 22:00 was a day older than it was). Its latest
    date believed is the end of tomorrow in UTC, not trafilatura's default, today on the machine's
    clock: in New York after 19:00, a page of today in UTC was refused and an older date taken."""
    return {
        "original_date": True,
        "extensive_search": False,
        # The end of that day, in UTC: given the day alone, htmldate takes its midnight, and a page
        # stamped any later that day lost its time (it was read as the day alone); without a zone,
        # it is the machine's (east of UTC+3:44, the same loss).
        "max_date": (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT23:59:59+00:00"),
        "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    }


def _selected_text(page: Selector, css: str) -> str:
    return " ".join(html_to_text(part) for part in page.css(css).getall()).strip()


def _selected_date(page: Selector, css: str) -> datetime | None:
    """A date from the element's `datetime`/`content` attribute, or its text; or the value a selector in
    Scrapy's idiom picks (`time::attr(datetime)`, which raised for every article)."""
    element = page.css(css)
    if element and isinstance(element[0].root, str):
        return parse_iso(element[0].root.strip())
    candidates = [
        *element.attrib.get("datetime", "").split(),
        element.attrib.get("content", ""),
        _selected_text(page, css),
    ]
    return next((moment for candidate in candidates if (moment := parse_iso(candidate))), None)
