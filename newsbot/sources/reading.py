"""A downloaded feed or article page → what the spider keeps of it, as values that cross a process.

These are the crawl's pure work: parsing a feed, making its items plain text, extracting an
article's text. They take bytes or text and give back values (a failure is a sentence, never an
exception), so the spider can run them in the reading process (newsbot.sources.reading_process)
or, when that process is busy or gone, in its own: both give the same answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from parsel import Selector

from newsbot.models import FeedEntry
from newsbot.sources.pages import declared_url
from newsbot.stories.feeds import FeedParseError, parse_feed_document
from newsbot.stories.normalize import entry_identity, html_to_text, plain_entry
from newsbot.stories.urls import canonical_url

TEASER_CHARS = 1000  # full_text: auto fetches the article when the feed's text is shorter


@dataclass(frozen=True)
class FeedRead:
    """A feed's items, newest first and each link once, as plain text; or why it could not be read."""

    entries: tuple[FeedEntry, ...] = ()
    error: str | None = None
    seconds: float = 0.0  # the reading itself (not the wait for the process)
    read_there: bool = False  # in the reading process: its seconds were not the crawl's
    warning: str | None = None  # read, but not whole


@dataclass(frozen=True)
class ArticleRead:
    """An article page's own address (and its identity), plain text, headline and date; or why it
    could not be read."""

    address: str = ""
    canonical: str = ""
    text: str = ""
    title: str = ""
    published: datetime | None = None
    error: str | None = None
    seconds: float = 0.0
    read_there: bool = False


def read_feed(body: bytes, url: str, content_type: str | None) -> FeedRead:
    started = time.perf_counter()
    try:
        parsed = parse_feed_document(body, url, content_type)
    except FeedParseError as problem:
        return FeedRead(error=str(problem), seconds=time.perf_counter() - started)
    except Exception as problem:  # a parser's own bug must cost this source only, and say so
        error = f"the feed could not be read ({type(problem).__name__}: {problem})"
        return FeedRead(error=error, seconds=time.perf_counter() - started)
    kept = tuple(newest_first(first_copies(plain_entry(entry) for entry in parsed.entries)))
    warning = None
    if parsed.read_bytes is not None:
        warning = (
            f"{url}: the feed is {len(body) / 1e6:.1f} MB, and only feedparser can read it (not well-formed "
            f"XML, or not UTF-8): only its first {parsed.read_bytes / 1e6:.1f} MB was read ({len(kept)} items)"
        )
    return FeedRead(kept, seconds=time.perf_counter() - started, warning=warning)


def first_copies(entries: Iterable[FeedEntry]) -> list[FeedEntry]:
    """The feed's entries without later copies of one link: the first copy in the feed wins."""
    seen: set[str] = set()
    kept = []
    for entry in entries:
        identity = entry_identity(entry)
        if identity and identity in seen:
            continue
        seen.add(identity)
        kept.append(entry)
    return kept


def newest_first(entries: Sequence[FeedEntry]) -> list[FeedEntry]:
    """Newest first, undated last (in the feed's order): the stories max_articles keeps come first."""
    dated = [(entry.published, entry) for entry in entries if entry.published is not None]
    dated.sort(key=lambda pair: pair[0], reverse=True)
    return [entry for _, entry in dated] + [entry for entry in entries if entry.published is None]


def read_article(html: str, url: str, title_css: str | None, date_css: str | None, listed_on: str = "") -> ArticleRead:
    # trafilatura and its helpers take half a second of CPU to import: the run's own process loads
    # them only when it has a page to read itself, which a warm run's few new items rarely need.
    from newsbot.sources.articles import MAX_PAGE_CHARS, extract_article

    started = time.perf_counter()
    try:
        html = html[:MAX_PAGE_CHARS]
        address = declared_url(Selector(text=html), url, listed_on)
        article = extract_article(html, url, title_css, date_css)
    except Exception as problem:  # a page no extractor can read must not cost the source its result
        error = f"{url}: the article could not be read ({type(problem).__name__}: {problem})"
        return ArticleRead(error=error, seconds=time.perf_counter() - started)
    return ArticleRead(
        address=address,
        canonical=canonical_url(address) if address else "",
        text=html_to_text(article.text),
        title=html_to_text(article.title),
        published=article.published,
        seconds=time.perf_counter() - started,
    )


def is_teaser(entry: FeedEntry) -> bool:
    return len(text_of(entry)) < TEASER_CHARS


def text_of(entry: FeedEntry) -> str:
    """A plain entry's own text (every entry the spider measures was made plain): its content, else
    its summary."""
    return entry.content or entry.summary
