"""A story's shingle hashes are stored in the window's index by every run: a faster way of finding them
must find the same ones, or a copy of a story stored by the version before would not be found.

The reference is the definition the index was built with: words are `\\w+` of the regex module in the
casefolded text, each run of five is joined by single spaces and UTF-8 encoded, and its hash is CRC-32.
"""

from __future__ import annotations

import itertools
import random
import zlib
from pathlib import Path

import pytest
import regex

from newsbot.clustering.clusters import MIN_WORDS, SHINGLE_WORDS, shingle_hashes

# Characters where a shortcut could go wrong: typographic separators newsbot leaves out of ASCII text,
# letters whose casefold is ASCII (long s, Kelvin sign, sharp s) or grows a combining mark (dotted
# capital I), combining marks and joiners (word characters to the regex module, not to re), digits
# and letters of other scripts, superscripts and fractions (not word characters to the regex module,
# but alphanumeric to str), connector punctuation, and a character outside the Basic Multilingual Plane.
TRICKY = (
    "\u00a0\u00ad\u00b2\u00bd\u00e9\u0301\u200b\u200c\u200d\u2019\u201c\u2014\u2026\u017f\u212a\u0130\u00df"
    "\u05d0\u0e31\u0903\u203f\uff3f\u2160\u0345\u0661\U0001d7ce\U00010400\u3000\u00ab\u00bb"
)
WORD = regex.compile(r"\w+")


def reference_hashes(text: str) -> list[int] | None:
    words = WORD.findall(text.casefold())
    if len(words) < MIN_WORDS:
        return None
    runs = [" ".join(words[start : start + SHINGLE_WORDS]) for start in range(len(words) - SHINGLE_WORDS + 1)]
    return [zlib.crc32(run.encode("utf-8")) for run in runs]


def hashes(text: str) -> list[int] | None:
    found = shingle_hashes(text)
    return None if found is None else list(found)


def test_random_text_of_tricky_characters_has_the_reference_hashes() -> None:
    rng = random.Random(20261205)
    alphabet = [*"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ .,;:'\"-\n\t", *TRICKY]
    tried = differed = 0
    for _ in range(3000):
        words = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 9))) for _ in range(60)]
        text = " ".join(words)
        expected = reference_hashes(text)
        tried += expected is not None
        differed += hashes(text) != expected
    assert tried > 1000, "most texts should be long enough to shingle"
    assert differed == 0


def test_random_text_that_is_ascii_once_its_separators_are_left_out_has_the_reference_hashes() -> None:
    """Such text (most news) is split by a table of bytes, not a regex: every ASCII character, control
    characters among them, and the tricky ones that fold to ASCII or only separate words."""
    rng = random.Random(20261206)
    kept_ascii = [character for character in TRICKY if character.casefold().isascii() or not WORD.match(character)]
    alphabet = [*"abcdefghijklmnopqrstuvwxyz0123456789" * 3, *map(chr, range(128)), *kept_ascii]
    words = ("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 9))) for _ in range(60 * 2000))
    texts = [" ".join(itertools.islice(words, 60)) for _ in range(2000)]
    assert all(regex.sub(r"[^\x00-\x7f\w]+", " ", text.casefold()).isascii() for text in texts)
    shingled = [text for text in texts if reference_hashes(text) is not None]
    assert len(shingled) > 1000, "most texts should be long enough to shingle"
    assert [hashes(text) for text in shingled] == [reference_hashes(text) for text in shingled]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("The operator\u2019s \u201cSS7\u201d gateway \u2014 sold\u2026 " * 12, id="typographic-quotes"),
        pytest.param("Telef\u00f3nica and Deutsche Telekom AG in M\u00fcnchen " * 10, id="accented-letters"),
        pytest.param("Cafe\u0301 owners strasse STRASSE stra\u00dfe \u212aelvin \u017fmall " * 10, id="folds-to-ascii"),
        pytest.param("\u0130stanbul \u0130zmir x\u00b2 \u00bd mile \u0661\u0662 \u2160 " * 12, id="marks-and-numbers"),
        pytest.param(
            "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 \u0928\u092e\u0938\u094d\u0924\u0947 \u05e9\u05dc\u05d5\u05dd " * 20,
            id="scripts",
        ),
        pytest.param("plain ascii words only here " * 12, id="ascii"),
    ],
)
def test_each_kind_of_text_has_the_reference_hashes(text: str) -> None:
    expected = reference_hashes(text)
    assert expected is not None and len(expected) > 10
    assert hashes(text) == expected


def test_real_articles_and_feeds_have_the_reference_hashes(corpus: Path) -> None:
    texts = [
        path.read_text(encoding="utf-8", errors="replace")[:50_000]
        for folder in ("pages", "feeds")
        for path in sorted((corpus / folder).iterdir())
        if path.is_file()
    ]
    assert len(texts) > 50
    assert sum(not text.isascii() for text in texts) > 20, "real text has typographic quotes and accents"
    for text in texts:
        assert hashes(text) == reference_hashes(text)
