"""Scrapy's own requests for a host's robots.txt, told apart from a source's requests: one robots.txt
and its retries are one failure of its host (newsbot.sources.bounds), they are not a team spider's
requests (newsbot.sources.crawl), and they may reach a host its first request was allowed to reach
(newsbot.sources.addresses)."""

from __future__ import annotations

from scrapy import Request
from scrapy.utils.httpobj import urlparse_cached


def is_robots_txt_request(request: Request) -> bool:
    """RobotsTxtMiddleware marks the request it makes with `dont_obey_robotstxt`."""
    return bool(request.meta.get("dont_obey_robotstxt")) and urlparse_cached(request).path == "/robots.txt"
