"""The one normalisation that both watchlist terms and story text go through before matching.

Folding is done with whole-string C-level operations (NFKD, casefold, one regex, one translate),
because it runs over every byte of every story; `fold_with_offsets` is the slow, per-character
twin used only to find a hit's place in the original text for a snippet.
"""

from __future__ import annotations

import unicodedata

import regex

# Words inside links never count ("%2Fa" in a URL is not "2FA"). URLs are blanked with spaces of
# the same length so that offsets in the original text stay valid.
# A scheme or www., or a bare host followed by a path ("example.com/mitto-ss7").
_URL = regex.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/)[^\s<>\"']*",
    regex.IGNORECASE,
)
# Accents on Latin, Greek and Cyrillic letters (Zürich → zurich). Marks of other scripts are
# part of their letters (Devanagari vowel signs) and stay.
_ACCENTS = regex.compile(r"[\u0300-\u036f]+")
_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",  # ‘
        "\u2019": "'",  # ’
        "\u02bc": "'",  # ʼ
        "\uff07": "'",  # ＇
        "\u201c": '"',
        "\u201d": '"',
        # Hyphens and dashes separate words like a space does: "SIM-swap" is "SIM swap",
        # "Mitto-linked" holds "Mitto", "T-Mobile" is "T Mobile".
        "-": " ",
        "\u2010": " ",  # hyphen
        "\u2011": " ",  # non-breaking hyphen
        "\u2012": " ",
        "\u2013": " ",  # –
        "\u2014": " ",  # —
        "\u2212": " ",  # minus
        "\u00a0": " ",
        "\u00ad": None,  # soft hyphen: invisible, inside words
        "\u200b": None,  # zero-width space
    }
)


def blank_urls(text: str) -> str:
    return _URL.sub(lambda found: " " * len(found.group()), text)


def _fold_characters(text: str) -> str:
    if text.isascii():
        return text.lower().replace("-", " ")
    text = unicodedata.normalize("NFKD", text).casefold()
    return _ACCENTS.sub("", text).translate(_PUNCTUATION)


def _plain_characters(text: str) -> str:
    if text.isascii():
        return text.replace("-", " ")
    return unicodedata.normalize("NFC", text).translate(_PUNCTUATION)


def _single_spaced(text: str) -> str:
    """Runs of whitespace (line breaks included) become one space, so phrases match across them."""
    return " ".join(text.split())


def fold(text: str) -> str:
    """Case- and accent-folded, single-spaced text with typographic punctuation made plain; no URLs."""
    return _single_spaced(_fold_characters(blank_urls(text)))


def plain(text: str) -> str:
    """For case-sensitive terms and regexes: the same as fold, with case and accents kept."""
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
    """Letters, digits, underscore, and combining marks (a Hindi vowel sign is inside a word)."""
    return character.isalnum() or character == "_" or unicodedata.category(character)[0] == "M"


def is_whole_word(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is not part of a longer word; "%2Fa" is an escape, not "2FA"."""
    if start > 0:
        before = text[start - 1]
        if is_word_character(before) or before == "%":
            return False
    return not (end < len(text) and is_word_character(text[end]))
