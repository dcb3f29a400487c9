"""The one normalisation that both watchlist terms and story text go through before matching.

It runs over every character of every story, so it is built from whole-string C-level
operations (a cheap test before each regex, NFKD, casefold, str.replace); `with_offsets` is the
slow, per-character twin used only to place a hit in the original text for a snippet.

Invisible characters are folded away: "Mitto" with a zero-width joiner, a bidi override, a tag
character or a Hangul filler inside it looks exactly like "Mitto" to a reader, and would otherwise
slip past every watchlist. They are removed, not made spaces: one between two words joins them,
as the reader sees it. Removing ZWJ and ZWNJ changes how a Persian or Indic word or an emoji
sequence is drawn, and that is still right here: only the folded copy that is matched loses them
(terms lose them too); the stored story, the snippet and the alert keep the original characters.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import regex

# Words inside links never count ("%2Fa" in a URL is not "2FA"): a scheme, www., or a bare host
# followed by a path ("example.com/mitto-ss7"). URLs are blanked with spaces of the same length,
# so offsets in the original text stay valid. The hint is a cheap test that skips the full
# pattern for the many stories without any link.
_URL_HINT = re.compile(r"://|www\.|\.[A-Za-z]{2,}/")
# A host's labels are at most 63 characters and start where no label character precedes: bounded and
# anchored so, a run of "a-a-a-…" is read once, where from each of its words the bare-host branch
# read on to its end (quadratic: 40 KB of it held a story's matching for 29 s).
_URL = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.|(?<![a-z0-9-])[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,126}\.[a-z]{2,63}/)"
    r"[^\s<>\"']*",
    re.IGNORECASE,
)
# Accents on Latin, Greek and Cyrillic letters (Zürich → zurich). Marks of other scripts are
# part of their letters (Devanagari vowel signs) and stay. The `regex` module strips them about ten
# times faster than `re` does over decomposed news text, which pays for the pass over ignorables.
_ACCENTS = regex.compile(r"[\u0300-\u036f]+")
# Typographic characters made plain before anything else, so that more stories take the ASCII
# fast path. Hyphens and dashes separate words like a space ("SIM-swap" is "SIM swap"; the ASCII
# "-" is replaced by str.replace, below); symbols glued to a name ("Kaleyra™", "Mitto¹") are
# spaces, not letters that NFKD would turn into "kaleyratm".
_SUBSTITUTES = {
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\uff07": "'", "\u201c": '"', "\u201d": '"',
    "\u2010": " ", "\u2011": " ", "\u2012": " ", "\u2013": " ", "\u2014": " ", "\u2212": " ",
    "\u00a0": " ", "\u2122": " ", "\u2120": " ", "\u00ae": " ", "\u00a9": " ",
    "\u00b9": " ", "\u00b2": " ", "\u00b3": " ",
    **{chr(code): " " for code in range(0x2070, 0x20A0)},  # superscripts and subscripts
}  # fmt: skip
# Unicode's Default_Ignorable_Code_Point: characters a renderer shows as nothing when it does not
# support them (ZWSP, ZWJ, ZWNJ, word joiner, BOM, soft hyphen, LRM/RLM/ALM, bidi embeddings,
# overrides and isolates, variation selectors, tag characters, Hangul fillers, U+180E, U+034F).
# Taken from the property, not a hand list, so a character nobody thought of is covered too. The
# `regex` module looks the property up in a table: it scans non-ASCII text about three times
# faster than an `re` class of the same ranges would.
_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}+")
_SPACELESS_SCRIPT = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_HANGUL = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")  # syllables and jamo
# A whole run of Hangul, long enough for six syllables of particles as folded text writes them
# (NFKD: two or three jamo a syllable).
_HANGUL_RUN = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]{1,18}(?![\\w])")
# Korean's particles (and a few words news writes onto a name the same way: 측, its side; 등, and
# others), one or several in a row ("에서만", "으로도"), as news writes them after a name.
KOREAN_PARTICLES = frozenset({
    "은", "는", "이", "가", "을", "를", "의", "에", "에서", "에게",
    "께", "께서", "와", "과", "도", "로", "으로", "만", "까지", "부터",
    "처럼", "보다", "이나", "나", "랑", "이랑", "하고", "에선", "엔", "서",
    "로서", "으로서", "로부터", "으로부터", "에게서", "한테", "마저", "조차",
    "뿐", "측", "등", "이라는", "라는", "이라며", "라며", "이라고", "라고",
    "이다", "다", "이며", "며", "이었다", "였다",
})  # fmt: skip
_SUBSTITUTE = re.compile("[" + re.escape("".join(_SUBSTITUTES)) + "]")


# Every part of the URL pattern is a non-space character, so a URL lies inside one run of them, and
# holds a hint: the pattern is read only on the runs that hold one (what runs it finds are exactly
# the pattern's, its anchors seeing a space, or the text's end, on either side of a run either way).
# Tried at every word of a text, it took 0.23 ms for 2.4 KB of news with links; so, 0.08. Linear: a
# run is read from its start only (a space, or nothing, before it), each dot at most to the run's end.
_RUN_WITH_HINT = re.compile(r"(?<!\S)\S*?(?i:://|www\.|\.[a-z]{2,}/)\S*")  # as _URL finds them, "ſ" for "s" too


def blank_urls(text: str) -> str:
    """`text` with its URLs blanked. Every hint but "www." holds a slash: a text with neither (most
    news: 93% of the corpus's feed texts) is told so by two C-level searches, 0.6 µs against 3.4 µs
    for the hint's pattern over a 900-character field."""
    if ("/" not in text and "www." not in text) or not _URL_HINT.search(text):
        return text
    return _RUN_WITH_HINT.sub(_run_blanked, text)


def _run_blanked(run: re.Match[str]) -> str:
    return _URL.sub(_spaces, run.group())


def _spaces(found: re.Match[str]) -> str:
    return " " * len(found.group())


def _plain_typography(text: str) -> str:
    """Quotes, dashes and symbols made plain, invisible characters removed (all are non-ASCII).

    Ignorables go first, before NFKC/NFKD: "e" + ZWJ + U+0301 then composes to "é" as a term's "é" does.
    """
    if not text.isascii():
        text = _SUBSTITUTE.sub(lambda found: _SUBSTITUTES[found.group()], _IGNORABLE.sub("", text))
    return text.replace("-", " ")


def _fold_characters(text: str) -> str:
    text = _plain_typography(text)
    if text.isascii():
        return text.lower()
    return _ACCENTS.sub("", unicodedata.normalize("NFKD", text).casefold())


def _plain_characters(text: str) -> str:
    text = _plain_typography(text)
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _single_spaced(text: str) -> str:
    """Runs of whitespace (line breaks included) become one space, so phrases match across them.

    A stored story is single-spaced already (newsbot.stories.normalize) and most stay so folded:
    that is told by C-level tests, not by splitting the text into words and joining them again (a
    900-character field: 3 against 6 µs). Every character str.split() takes for whitespace, but the
    space, is a Unicode separator or control character, which isprintable() refuses."""
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


def fold(text: str) -> str:
    """Case- and accent-folded, single-spaced text with typographic punctuation made plain; no URLs."""
    return _single_spaced(_fold_characters(blank_urls(text)))


def leaves_something(text: str) -> bool:
    """Whether anything of `text` is left to match once folded: a zero-width space or a soft hyphen
    pasted alone as a term passes any "not blank" check, and would never match."""
    return bool(_single_spaced(_fold_characters(text)))


def unaccented(text: str) -> str:
    """Accents removed, case kept: a case-sensitive name written 'Telefónica' also finds 'Telefonica',
    as most English coverage spells it (matched against `plain`, which keeps a text's accents)."""
    return (
        text if text.isascii() else unicodedata.normalize("NFKC", _ACCENTS.sub("", unicodedata.normalize("NFKD", text)))
    )


def plain(text: str) -> str:
    """For case-sensitive terms: the same as fold, with case and accents kept."""
    return _single_spaced(_plain_characters(blank_urls(text)))


def with_offsets(text: str, folded: bool) -> tuple[str, list[int]]:
    """`fold(text)` (or `plain(text)`) and, for each of its characters, the original's index.

    Character by character, so slow: only for the few texts that matched, to place a snippet.
    """
    normalise = _fold_characters if folded else _plain_characters
    characters: list[str] = []
    offsets: list[int] = []
    for index, character in enumerate(blank_urls(text)):
        for normalised in normalise(character):
            if normalised.isspace() and (not characters or characters[-1] == " "):
                continue
            characters.append(" " if normalised.isspace() else normalised)
            offsets.append(index)
    if characters and characters[-1] == " ":
        characters.pop()
        offsets.pop()
    return "".join(characters), offsets


def is_word_character(character: str) -> bool:
    """Letters, digits, underscore, and combining marks (a Hindi vowel sign is inside a word).

    Chinese and Japanese characters are not: those scripts write no spaces, so each character
    is its own boundary and "华为" is found in "华为公司".
    """
    if _SPACELESS_SCRIPT.match(character):
        return False
    return character.isalnum() or character == "_" or unicodedata.category(character)[0] == "M"


def is_whole_word(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is not part of a longer word; "%2Fa" is an escape, not "2FA".

    A word may go on with Korean particles: Korean writes them onto the noun ("SK텔레콤에서", at SK
    Telecom; "KT에선"), so a name followed by them is still the name; by other syllables it is
    another word ("장애인", a disabled person, is no "장애", outage).
    """
    if start > 0:
        before = text[start - 1]
        if is_word_character(before) or before == "%":
            return False
    if end == len(text) or not is_word_character(text[end]):
        return True
    if not _HANGUL.match(text[end]):
        return False
    particles = _HANGUL_RUN.match(text, end)
    return particles is not None and _particles(unicodedata.normalize("NFC", particles.group()))


@functools.cache
def _particles(run: str) -> bool:
    """Whether a run of Hangul is particles one after another ("에서" + "만")."""
    return any(
        run[:length] in KOREAN_PARTICLES and (length == len(run) or _particles(run[length:])) for length in (1, 2, 3)
    )
