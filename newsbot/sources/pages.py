"""HTML pages that lead to stories: a site's feed links, a listing page's story links, its next page.

Only http(s) links come out, made absolute against the page's base (its `<base href>`, else its
URL); which of them may be fetched is decided at connection time (newsbot.sources.addresses).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from parsel import Selector

from newsbot.stories.normalize import html_to_text
from newsbot.stories.urls import canonical_url, is_http_url, joined

_INDEX_PAGE = re.compile(r"/(?:index|default)\.\w+$", re.IGNORECASE)  # /story/index.html is /story/
_LANGUAGE = re.compile(r"[a-z]{2}(?:[-_][a-z]{2})?", re.IGNORECASE)  # /en/, /en-us/: a front page's
ID_DIGITS = 5  # a folder whose name has this many digits is an article's id (a year's has 4)

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json")
DEFAULT_NEXT_PAGE = "a[rel~=next], link[rel~=next]"


def base_url_of(page: Selector, fetched_url: str) -> str:
    """Where the page's relative links start: its `<base href>`, else the address it was fetched from.
    Joined against the fetched address instead, `news/1.html` under `<base href="/s11/">` led to a 404,
    and the story kept an empty text under an address nobody published."""
    href = (page.xpath("//base/@href").get() or "").strip()
    base = joined(fetched_url, href) if href else ""
    return base if is_http_url(base) else fetched_url


def feed_links(page: Selector, base_url: str) -> list[str]:
    """Feeds the page announces with <link rel="alternate" type="…rss/atom/json…">, in page order."""
    links = []
    for link in page.css("link[href]"):
        relations = (link.attrib.get("rel") or "").lower().split()
        kind = (link.attrib.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in relations and kind in FEED_TYPES:
            links.append(joined(base_url, link.attrib["href"].strip()))
    return [link for link in dict.fromkeys(links) if is_http_url(link)]


def story_links(
    page: Selector, base_url: str, *, css: str | None = None, xpath: str | None = None, limit: int | None = None
) -> list[tuple[str, str]]:
    """(url, link text) for the first `limit` links the selector picks: each an <a>, or an element
    holding one; or an address picked in Scrapy's idiom (`h3 a::attr(href)`, `//h3/a/@href`), with
    no text (that idiom once raised on every page, and its source ended "cut short" every run).
    A link's text is made only for the links taken: each of 2,000 nested elements made its whole
    subtree text, and one hostile page held the crawl for 40 s."""
    chosen = page.css(css) if css else page.xpath(xpath or "")
    found: dict[str, str] = {}
    for element in chosen:
        if limit is not None and len(found) >= limit:
            break
        is_value = isinstance(element.root, str)  # an attribute's or a text node's value
        href = element.root if is_value else element.attrib.get("href") or element.css("a[href]::attr(href)").get()
        if not href or (is_value and any(character.isspace() for character in href.strip())):
            continue  # no address, or words rather than one
        url = joined(base_url, href.strip())
        if is_http_url(url) and url not in found:
            found[url] = "" if is_value else html_to_text(element.get())
    return list(found.items())


def next_page(page: Selector, base_url: str, css: str | None = None) -> str | None:
    href = page.css(css or DEFAULT_NEXT_PAGE).css("::attr(href)").get()
    if not href:
        return None
    url = joined(base_url, href.strip())
    return url if is_http_url(url) else None


def declared_url(page: Selector, fetched_url: str, listed_on: str = "") -> str:
    """The address the page gives itself (`rel=canonical`, else `og:url`), or the URL it was fetched
    at (after redirects, e.g. out of a feed proxy). A canonical naming a site's front page is a
    template's default, not the article's address, and is ignored (`_is_a_general_page`); so is one
    naming the page `listed_on` (a listing whose articles all declared it: one story, the rest lost)."""
    canonical = next(
        (
            link.attrib.get("href")
            for link in page.css("link[rel]")
            if "canonical" in link.attrib["rel"].lower().split()
        ),
        None,
    )
    listing = canonical_url(listed_on) if listed_on else ""
    base = base_url_of(page, fetched_url)  # a relative canonical starts where the page's links do
    for candidate in (canonical, page.css('meta[property="og:url"]::attr(content)').get()):
        if not candidate:
            continue
        url = joined(base, candidate.strip())
        if is_http_url(url) and not _is_a_general_page(url, fetched_url) and canonical_url(url) != listing:
            return url
    return fetched_url


def _is_a_general_page(url: str, article: str) -> bool:
    """Whether `url` is a site's front page or a section above `article` on its own site: what a
    template declares by default."""
    return _names_a_front_page(url, article) or _names_a_section_of(url, article)


def redirected_away(final: str, asked: str) -> bool:
    """Whether a link was redirected away from its article: to its site's front page, a section above
    it or a one-word page (`/`, `/news/`, `/subscribe`, `/login`), where a site sends a reader for an
    article it no longer has or keeps behind a paywall. Stored there, every such link was one story.
    Not a redirect to the article itself: out of `/amp/` (the same canonical address), to `https://`
    or another host name for the same path, or from a query on the site's root (`/?p=123`, a
    WordPress short link) to its permalink, even a one-word one."""
    if canonical_url(final) == canonical_url(asked):
        return False
    said, got = urlsplit(asked), urlsplit(final)
    if said.path.rstrip("/") == got.path.rstrip("/") or (said.path in ("", "/") and said.query):
        return False
    return _is_a_general_page(final, asked)


def _names_a_front_page(declared: str, fetched: str) -> bool:
    """Whether `declared` is a site's front page under one of its names: `/`, `/index.html`, `/home`,
    `/en/`, `/en-us/`; on the page's own site, any one word with no digits or dashes (`/latest`),
    where an article's address carries a slug or an id. Different articles whose template declared
    `/en/` were stored as one story, and all but the first lost."""
    said = urlsplit(declared)
    if said.query:  # `/article?id=48213`, `/index.php?…&id=123`: the query names the article
        return False
    path = _INDEX_PAGE.sub("", said.path).strip("/")
    if not path or path.lower() == "home" or _LANGUAGE.fullmatch(path):
        return True
    same_site = _site(said.hostname) == _site(urlsplit(fetched).hostname)
    return same_site and "/" not in path and not any(character.isdigit() or character in "-_." for character in path)


def _site(host: str | None) -> str:
    return (host or "").removeprefix("www.")


def _names_a_section_of(declared: str, fetched: str) -> bool:
    """Whether `declared` is a folder above the fetched page on its own site (`/news/` for
    `/news/mitto-breach`): a template's default, never one article's address. Taken, it made every
    article of the section one story, and all but the first were lost. The page's own folder
    (`/story/` for `/story/index.html` or `/story/?from=rss`) is the page, and a folder named by a
    number (`/article/12345` for `/article/12345/its-headline`, not `/news/2024`) is an article's id.
    A page's own short form (`/story` for `/story/amp`) is ignored with the sections at little cost:
    the fetched address is made canonical anyway (newsbot.stories.urls), and copies cluster by text."""
    said, got = urlsplit(declared), urlsplit(fetched)
    if _site(said.hostname) != _site(got.hostname):
        return False
    folder = said.path.rstrip("/")
    page = _INDEX_PAGE.sub("", got.path).rstrip("/")
    named_by_id = sum(character.isdigit() for character in folder.rsplit("/", 1)[-1]) >= ID_DIGITS
    return page != folder and page.startswith(folder + "/") and not named_by_id
