"""An example of a site-specific spider: a vendor's security-advisory portal with no feed.

Copy this file to write your own. A spider in spiders/ becomes a source when newsbot.yaml names it:

    sources:
      - name: Vendor Portal
        spider: vendor_portal
        spider_args: {url: "https://portal.example.com/security/advisories"}

newsbot runs it in the same crawl as the other sources (same robots.txt, throttling, size limits
and address checks) and stores every item it yields as a story. An item is a dict with `url`
(required), and any of `title`, `summary`, `text` and `published` (ISO 8601 or a datetime).
Nothing may be fetched or read at import time: every spider module is imported on every run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response


class VendorPortalSpider(scrapy.Spider):
    name = "vendor_portal"
    url = "https://portal.example.com/security/advisories"  # `spider_args: {url: …}` overrides it

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.url, callback=self.parse)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[dict[str, str]]:
        """One advisory per table row: date, linked title, summary."""
        for row in response.css("table.advisories tbody tr"):
            link = row.css("td.title a::attr(href)").get()
            if not link:
                continue
            yield {
                "url": response.urljoin(link),
                "title": " ".join(row.css("td.title a ::text").getall()).strip(),
                "summary": " ".join(row.css("td.summary ::text").getall()).strip(),
                "published": row.css("td.date time::attr(datetime)").get() or "",
            }
