"""Which links can be fetched (newsbot.stories.urls.http_url_problem): the answer of a full parse,
whichever way it is reached. Nearly every link takes a shortcut (a plain host, perhaps a port) that
skips urlsplit; the shortcut must never say yes where the parse says no, nor the reverse."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

import pytest

from newsbot.stories.urls import http_url_problem, is_http_url


def parsed_as_fetchable(url: str) -> bool:
    """The reference: what urlsplit makes of it, with the same rules for the host."""
    if not url.lower().startswith(("http://", "https://")):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises for a port that is not one
    except ValueError:
        return False
    return bool(parts.hostname) and not any(c.isspace() or not c.isprintable() for c in parts.netloc)


PIECES = ["http://", "https://", "HTTP://", "", "a", "news.example", "1", "-", ".", ":", "8080", "99999", "65535",
          "65536", "0", "[", "]", "::1", "@", "user:pw", "/", "?", "#", " ", "\t", "é", "\u2100", "x"]  # fmt: skip


def test_the_shortcut_agrees_with_a_full_parse_on_random_links() -> None:
    chooser = random.Random(2026)
    for _ in range(20_000):
        url = "".join(chooser.choice(PIECES) for _ in range(chooser.randint(1, 7)))
        assert (http_url_problem(url) is None) == parsed_as_fetchable(url), url


@pytest.mark.parametrize(
    ("url", "fetchable"),
    [
        ("https://news.example/2026/story.html?utm_source=rss#top", True),
        ("HTTP://News.Example:8080/x", True),
        ("http://127.0.0.1:65535/x", True),
        ("http://127.0.0.1:65536/x", False),
        ("http://127.0.0.1:99999/x", False),
        ("http://[::1]:8080/x", True),
        ("http://[10.0.0.5/x", False),
        ("https://münchen.example/", True),
        ("http://user:pw@host.example/", True),
        ("https:///feed.xml", False),
        ("http://news .example/x", False),
        ("http://news.example/a b", True),  # a space in the path is escaped when fetched
        ("ftp://files.example/x", False),
    ],
)
def test_links_people_write(url: str, fetchable: bool) -> None:
    assert is_http_url(url) is fetchable
