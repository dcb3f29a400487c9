"""Links are blanked by reading the URL pattern only on the runs of non-space characters that hold a
hint of one (newsbot.matching.textfold.blank_urls): what is blanked must be exactly what the pattern
blanks read over the whole text, as it was, on news with links and on random text made of the
characters URLs and their edges are made of."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from newsbot.matching.textfold import _URL, _URL_HINT, blank_urls
from tests.conftest import within

# URL parts, word characters, every kind of space and quote the pattern stops at, and characters
# that case-fold to ASCII letters under re.IGNORECASE ("ſ" is an "s", the Kelvin sign a "k").
ALPHABET = [
    *"ab.:/-wW_%0 ",
    "\n",
    "\u00a0",
    "\u2003",
    "<",
    ">",
    '"',
    "'",
    "é",
    "ſ",
    "\u212a",
    "http",
    "www.",
    ".com/",
    "://",
]


def whole_text_blanked(text: str) -> str:
    """The pattern read over the whole text: blank_urls before runs were read one by one."""
    if not _URL_HINT.search(text):
        return text
    return _URL.sub(lambda found: " " * len(found.group()), text)


def test_random_text_is_blanked_as_the_whole_text_reading_blanked_it() -> None:
    rng = random.Random(7)
    texts = ["".join(rng.choices(ALPHABET, k=rng.randint(1, 60))) for _ in range(30_000)]
    differing = [text for text in texts if blank_urls(text) != whole_text_blanked(text)]
    assert not differing, differing[:5]
    assert sum(blank_urls(text) != text for text in texts) > 1_000, "too few texts held a link to test anything"


def test_news_with_links_is_blanked_as_the_whole_text_reading_blanked_it(corpus: Path) -> None:
    texts = [
        path.read_text(encoding="utf-8", errors="replace")[:100_000]
        for path in sorted(corpus.rglob("*"))
        if path.is_file() and path.suffix in {".xml", ".rss", ".atom", ".html", ".json", ".txt"}
    ]
    texts = [text for text in texts if _URL_HINT.search(text)]
    assert len(texts) > 20
    for text in texts:
        assert blank_urls(text) == whole_text_blanked(text)


def test_every_kind_of_link_is_blanked_where_it_stands() -> None:
    text = "See https://x.io/a?b=c, www.Example.org or EXAMPLE.COM/mitto-ss7 (\u00a0ftp://h/x\u2003) and 2FA."
    blanked = blank_urls(text)
    assert len(blanked) == len(text)
    assert re.findall(r"\w+", blanked) == ["See", "or", "and", "2FA"]


@pytest.mark.parametrize(
    "text",
    [
        "'www. ' + '.' + 'a' * 1_000_000",  # one dot, then a million letters with no slash
        "'www. ' + '.ab' * 300_000",  # a run of three hundred thousand dots
        "'www. ' + 'x' * 1_000_000 + '://'",  # the hint a million characters into its run
        "'www. a ' * 200_000",  # two hundred thousand runs, one hint each
    ],
    ids=["a dot's letters", "many dots", "a late hint", "many runs"],
)
def test_a_text_of_hostile_runs_is_blanked_at_once(text: str) -> None:
    program = f"from newsbot.matching.textfold import blank_urls\nprint(len(blank_urls({text})))\n"
    assert int(within(20, program, "blanking links")) > 0
