"""The `sources:` section of newsbot.yaml: one entry per feed, site, listing page, sitemap or spider.

Each kind has its own keys; a key that belongs to another kind is an error rather than ignored,
so `links:` on a feed source or `follow_pages:` on a sitemap is caught by `newsbot check`.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from typing import Annotated

from cssselect import SelectorError
from lxml import etree
from parsel.csstranslator import HTMLTranslator
from pydantic import Field, field_validator, model_validator

from newsbot.configuration.validation import Strict, holds_control_character
from newsbot.models import FullText, SourceKind
from newsbot.stories.urls import http_url_problem

Text = Annotated[str, Field(min_length=1)]
# Article pages per source per run (fetch.max_articles, or a source's own). A busy outlet publishes a
# few stories per ten-minute run, so 30 leaves room to spare, while a first run or a 5,000-item feed
# drains 30 a run, newest first, instead of holding the run for hours (see spiders/news.py).
DEFAULT_MAX_ARTICLES = 30
# Bounds on the config's periods: a longer one is no date Python can compute with (`run` once raised
# OverflowError on `max_age_days: 1000000`, which `check` had passed), and no wait a cron run can make.
CENTURY_DAYS = 36_500
CENTURY_HOURS = CENTURY_DAYS * 24
A_DAY_SECONDS = 86_400
# AutoThrottle's longest pause between two requests to a host (newsbot.sources.settings): a start
# delay beyond it is never lowered in time, and 1e300 made every run fetch nothing at all.
MAX_THROTTLE_DELAY = 30.0
_KIND_KEYS = {
    SourceKind.FEED: "feed",
    SourceKind.SITE: "site",
    SourceKind.LISTING: "url",
    SourceKind.SITEMAP: "sitemap",
    SourceKind.SPIDER: "spider",
}
_ONLY_FOR = {
    "links": SourceKind.LISTING,
    "links_xpath": SourceKind.LISTING,
    "next_page": SourceKind.LISTING,
    "follow_pages": SourceKind.LISTING,
    "spider_args": SourceKind.SPIDER,
}
# What newsbot does to the articles of the sources it reads itself; a spider's items are stored as it
# yields them, so on a `spider:` source these do nothing. `full_text: never` is what happens there anyway.
_ARTICLE_KEYS = ("full_text", "title", "date", "max_articles")


class SourceConfig(Strict):
    """One source. Exactly one of feed/site/url/sitemap/spider says what kind it is."""

    name: Text
    feed: Text | None = None
    site: Text | None = None
    url: Text | None = None
    sitemap: Text | None = None
    spider: Text | None = None
    links: Text | None = None  # url: CSS selector of the story links on the listing page
    links_xpath: Text | None = None  # url: the same as an XPath
    next_page: Text | None = None  # url: CSS selector of the "next page" link (default: rel=next)
    follow_pages: int = Field(default=0, ge=0, le=20)
    title: Text | None = None  # CSS selector of the headline on an article page
    date: Text | None = None  # CSS selector of the publication date on an article page
    max_items: int = Field(default=50, ge=1, le=1000)  # url/sitemap: newest links taken per run
    max_articles: int | None = Field(default=None, ge=1)  # article pages per run (default: fetch.max_articles)
    internal: bool = False  # only an internal source may reach private or loopback addresses
    full_text: FullText = FullText.AUTO
    stale_after_hours: float | None = Field(default=None, gt=0, le=CENTURY_HOURS)
    spider_args: dict[str, str] = Field(default_factory=dict)

    @field_validator("feed", "site", "url", "sitemap")
    @classmethod
    def _http_only(cls, url: str | None) -> str | None:
        problem = None if url is None else http_url_problem(url)
        if problem is not None:
            raise ValueError(f"'{url}' {problem}")
        return url

    @field_validator("name")
    @classmethod
    def _printable_name(cls, name: str) -> str:
        """A name is printed by `status`, alerts and the terminal, and written into an OPML export: an
        escape sequence in it recoloured the terminal, and made the export not XML."""
        if holds_control_character(name):
            raise ValueError(f"source name {name!r} contains a control character; take it out")
        if not any(unicodedata.category(character)[0] in "LNPS" for character in name):
            raise ValueError(f"source name {name!r} has nothing visible in it; name the source in words")
        return name

    @field_validator("links", "next_page", "title", "date")
    @classmethod
    def _css(cls, selector: str | None) -> str | None:
        if selector is not None:
            try:
                HTMLTranslator().css_to_xpath(selector)
            except SelectorError as error:
                raise ValueError(f"'{selector}' is not a CSS selector ({error})") from None
        return selector

    @field_validator("links_xpath")
    @classmethod
    def _xpath(cls, expression: str | None) -> str | None:
        if expression is not None:
            try:
                etree.XPath(expression)
            except etree.XPathSyntaxError as error:
                raise ValueError(f"'{expression}' is not an XPath expression ({error})") from None
        return expression

    @model_validator(mode="after")
    def _one_kind(self) -> SourceConfig:
        given = [key for key in _KIND_KEYS.values() if getattr(self, key) is not None]
        if len(given) != 1:
            keys = ", ".join(f"{key}:" for key in _KIND_KEYS.values())
            found = f" (it has {', '.join(given)})" if given else ""
            raise ValueError(f"source '{self.name}' needs exactly one of {keys}{found}")
        for key, kind in _ONLY_FOR.items():
            if key in self.model_fields_set and self.kind is not kind:
                raise ValueError(f"source '{self.name}': {key}: only applies to a {_KIND_KEYS[kind]}: source")
        if self.kind is SourceKind.SPIDER and self.internal:
            if "url" not in self.spider_args:
                raise ValueError(
                    f"source '{self.name}': internal: on a spider: source needs spider_args: {{url: …}} naming its host"
                )
            if (problem := http_url_problem(self.spider_args["url"])) is not None:
                raise ValueError(f"source '{self.name}': spider_args: url: '{self.spider_args['url']}' {problem}")
        if self.kind is SourceKind.LISTING and (self.links is None) == (self.links_xpath is None):
            raise ValueError(f"source '{self.name}' (url:) needs one of links: (CSS) or links_xpath: (XPath)")
        return self

    def keys_doing_nothing(self) -> list[str]:
        """The keys given that have no effect on this kind of source: on a `spider:` source, what newsbot
        does to the articles of the sources it reads itself. They passed `check` in silence (and
        `full_text: always` left a story with no text); refused, a harmless one left over in a config
        would have stopped every run after an upgrade, so `check` warns instead."""
        if self.kind is not SourceKind.SPIDER:
            return []
        return [
            key
            for key in _ARTICLE_KEYS
            if key in self.model_fields_set and not (key == "full_text" and self.full_text is FullText.NEVER)
        ]

    @property
    def kind(self) -> SourceKind:
        return next(kind for kind, key in _KIND_KEYS.items() if getattr(self, key) is not None)

    @property
    def location(self) -> str | None:
        """The URL the source starts from; a spider source has its own."""
        return None if self.kind is SourceKind.SPIDER else getattr(self, _KIND_KEYS[self.kind])


class HealthSettings(Strict):
    """When a source counts as broken; each change is announced once (see newsbot.pipeline.health)."""

    failing_after_runs: int = Field(default=3, ge=1)
    stale_after_hours: float = Field(default=7 * 24, gt=0, le=CENTURY_HOURS)


def parse_networks(values: list[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"'{value}' is not a network such as 10.1.2.3/32 or 192.168.0.0/16") from None
    return tuple(networks)
