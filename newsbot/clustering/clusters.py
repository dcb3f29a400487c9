"""Syndicated copies and re-runs of one story: which stored story a new one is a copy of.

A wire story reaches a dozen outlets re-titled, trimmed of a promo paragraph, re-flowed, or cut to
an excerpt. Measured on such variants against same-topic, same-day stories (the issue's study,
and tests/clustering/test_clusters.py here), the containment of word 5-gram shingles — the share of the
smaller text's shingles found in the larger — at 0.5 joins every copy with no false merge, where
MinHash-estimated Jaccard misses re-titled and excerpted copies (their sets differ in size).

Candidates come from an index of *sampled* shingles (those whose hash is 0 modulo
`SAMPLE_EVERY`: the same shingle is sampled in every story, so a copy shares the sample of what
it shares; Broder's mod-m sampling), kept in SQLite for the time window only, so a lookup is a few
indexed reads however large the database grows. The exact containment of the full shingle sets
then decides, with two guards against text that unrelated stories share (see `compare`): a
copy shares the *lead* of its story, and two pages of one site must be near-identical. Boilerplate
seen across several clusters ("Subscribe to read…") is left out of the sampled comparison.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import final

import regex

SHINGLE_WORDS = 5
SAMPLE_EVERY = 4
MIN_WORDS = 40  # shorter texts (a teaser, "Subscribe to read") never cluster
MIN_SAMPLED = 3  # and neither do texts with fewer non-boilerplate sampled shingles
CONTAINMENT = 0.5
# A candidate whose sample shows less than this shared is not compared (a stored one is not even
# read back): it is neither a copy nor a near miss worth explaining (`newsbot explain`), but a
# shingle or two that unrelated stories share by chance, and there are more such the fuller the
# window. A story that joins nothing records the nearest of the candidates compared, or none.
NEAR = CONTAINMENT / 2
BOILERPLATE_CLUSTERS = 3  # a sampled shingle in this many different clusters is boilerplate
LEAD_SHARE = 0.25  # of the longer text's first third must be in the shorter one
SAME_SITE_CONTAINMENT = 0.8  # two pages of one site: shared share of the longer text
_WORD = regex.compile(r"\w+", regex.UNICODE)
_NON_ASCII_SEPARATORS = regex.compile(r"[^\x00-\x7f\w]+", regex.UNICODE)
# Each ASCII byte that is not a word character ([A-Za-z0-9_]) made a space, for bytes.split().
_ASCII_SPACED = bytes(
    byte if chr(byte).isascii() and (chr(byte).isalnum() or chr(byte) == "_") else 32 for byte in range(256)
)


@dataclass(frozen=True)
class Fingerprint:
    shingles: frozenset[int]
    lead: frozenset[int]  # the shingles of the text's first third
    sampled: frozenset[int]  # those the index keeps: the same ones in every story

    @classmethod
    def of(cls, shingles: Sequence[int]) -> Fingerprint:
        """The fingerprint of a text's shingle hashes in order (`shingle_hashes`)."""
        unique = frozenset(shingles)
        return cls(unique, frozenset(shingles[: max(1, len(shingles) // 3)]), sampled(unique))


@final  # never subclassed: mypy then knows a Neighbour is truthy (`neighbour and neighbour.story_id`)
@dataclass(frozen=True)
class Neighbour:
    """The closest stored story, how much of the smaller text the two share, and the verdict."""

    story_id: str
    cluster_id: str
    containment: float
    joins: bool
    why_not: str = ""


def fingerprint(text: str) -> Fingerprint | None:
    """The story's shingles, or None when it is too short to tell copies from coincidences."""
    shingles = shingle_hashes(text)
    return Fingerprint.of(shingles) if shingles is not None else None


def shingle_hashes(text: str) -> array[int] | None:
    """The hashes of the text's shingles in order, repeats kept (the lead is the first third), or None
    when it is too short. Four bytes a shingle: a batch of thousands of new stories is held as these,
    ~2 KB a story, and made a Fingerprint (~64 KB) only when it is compared."""
    words = _words(text)
    if len(words) < MIN_WORDS:
        return None
    return array("I", _shingles(words))


def _words(text: str) -> list[bytes]:
    """The casefolded text's words (`\\w+` as the regex module defines it), UTF-8 encoded.

    Most news is ASCII once its typographic quotes and dashes are left out, and ASCII text is
    split with no word encoded on its own: every byte that is not [A-Za-z0-9_] (what `\\w` means on
    ASCII) made a space by one table, then split at the spaces, in C and without a regex (4,000 of a
    cold run's stories: 54 ms, against 118 by re's bytes `\\w+` and 289 by the regex module). The
    characters left out are exactly those that are neither ASCII nor a word character, so they only
    ever separated words."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _NON_ASCII_SEPARATORS.sub(" ", folded)
        if not folded.isascii():
            return [word.encode("utf-8") for word in _WORD.findall(folded)]
    return folded.encode("ascii").translate(_ASCII_SPACED).split()


def sampled(shingles: Iterable[int]) -> frozenset[int]:
    """The shingles the index keeps: those whose hash is 0 modulo `SAMPLE_EVERY`."""
    return frozenset(shingle for shingle in shingles if shingle % SAMPLE_EVERY == 0)


def _shingles(words: list[bytes]) -> list[int]:
    """CRC-32 of each run of `SHINGLE_WORDS` words joined by spaces.

    Stable across runs and machines (Python's hash() of text is salted). 32 bits are plenty: a
    story has hundreds of shingles and the window's index a few million rows, so a chance collision
    moves a containment by a fraction of a percent; CRC-32 is three times faster than BLAKE2. Each
    run is joined afresh, by map over zip in C: a fifth faster than slicing one joined buffer.
    """
    runs = zip(*(words[offset:] for offset in range(SHINGLE_WORDS)), strict=False)  # ends with the last whole run
    return list(map(zlib.crc32, map(b" ".join, runs)))


def compare(new: Fingerprint, old: Fingerprint, ignored: frozenset[int], *, same_site: bool) -> tuple[float, str]:
    """The containment of two texts and, when they are not copies, why.

    Three tests, each against a way unrelated stories share text: containment of the full shingle
    sets and of the sampled ones without `ignored` (boilerplate seen across clusters); the larger
    text's lead must be in the smaller one (a copy starts where its story starts, a footer does not);
    and two pages of one site must be near-identical, since what a site's different stories share
    is its template (a paywall block, a press-release boilerplate), not their news.
    """
    score = min(containment(new.shingles, old.shingles), containment(new.sampled - ignored, old.sampled - ignored))
    if score < CONTAINMENT:
        return score, f"below {CONTAINMENT}"
    larger, smaller = (new, old) if len(new.shingles) >= len(old.shingles) else (old, new)
    if len(larger.lead & smaller.shingles) < LEAD_SHARE * len(larger.lead):
        return score, "the shared text is not where the longer story begins (a shared footer or block)"
    if same_site and len(new.shingles & old.shingles) < SAME_SITE_CONTAINMENT * len(larger.shingles):
        return score, f"two pages of one site share less than {SAME_SITE_CONTAINMENT} of the longer (its template)"
    return score, ""


def sample_share_at_most(shared: int, own: int, theirs: int, ignored: int) -> float:
    """The most `compare` can score a story known only by its count of sampled shingles (`theirs`),
    which shares `shared` of the new story's `own` sampled shingles that are not in `ignored`
    (boilerplate): the sampled containment is shared / min(own, their sample without `ignored`),
    and their sample without `ignored` keeps at least theirs - ignored shingles, and at least the
    shared ones."""
    smaller = min(own, max(shared, theirs - ignored))
    return shared / smaller if smaller else 0.0


def containment(first: frozenset[int], second: frozenset[int]) -> float:
    """|A ∩ B| / min(|A|, |B|): 1.0 when one text is inside the other."""
    smaller = min(len(first), len(second))
    return len(first & second) / smaller if smaller else 0.0
