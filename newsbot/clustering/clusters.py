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
from dataclasses import dataclass
from typing import final

import numpy
import regex

SHINGLE_WORDS = 5
SAMPLE_EVERY = 4
MIN_WORDS = 40  # shorter texts (a teaser, "Subscribe to read") never cluster
MIN_SAMPLED = 3  # and neither do texts with fewer non-boilerplate sampled shingles
CONTAINMENT = 0.5
BOILERPLATE_CLUSTERS = 3  # a sampled shingle in this many different clusters is boilerplate
LEAD_SHARE = 0.25  # of the longer text's first third must be in the shorter one
SAME_SITE_CONTAINMENT = 0.8  # two pages of one site: shared share of the longer text
_WORD = regex.compile(r"\w+", regex.UNICODE)
_FNV_PRIME = numpy.uint32(0x01000193)
_MIX_FIRST, _MIX_SECOND = numpy.uint32(0x85EBCA6B), numpy.uint32(0xC2B2AE35)  # MurmurHash3's fmix32


@dataclass(frozen=True)
class Fingerprint:
    shingles: frozenset[int]
    lead: frozenset[int]  # the shingles of the text's first third
    sampled: frozenset[int]  # those the index keeps: the same ones in every story

    @classmethod
    def of(cls, shingles: array[int]) -> Fingerprint:
        """The fingerprint of a text's shingle hashes in order (`shingle_hashes`)."""
        return cls(frozenset(shingles), frozenset(shingles[: max(1, len(shingles) // 3)]), sampled(shingles))


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
    words = _WORD.findall(text.casefold())
    if len(words) < MIN_WORDS:
        return None
    return array("I", _shingles(words).tobytes())


def sampled(shingles: array[int]) -> frozenset[int]:
    """The shingles the index keeps: those whose hash is 0 modulo `SAMPLE_EVERY`."""
    hashes = numpy.frombuffer(shingles, dtype=numpy.uint32)
    return frozenset(hashes[hashes % SAMPLE_EVERY == 0].tolist())


def _shingles(words: list[str]) -> numpy.ndarray:
    """A hash of each run of `SHINGLE_WORDS` words, made from the words' CRC-32s by whole-array
    arithmetic: a story's ~500 shingles cost one step of Python a word, not one a shingle. (A CRC-32 of
    each shingle's bytes, until migration m014, was most of the clustering process's time.)

    Stable across runs and machines, as the window's index keeps these hashes between runs (Python's
    hash() of text is salted). Each word's CRC-32 is folded in as FNV-1 folds a byte (multiply, then
    xor), modulo 2**32, and the result mixed by MurmurHash3's finalizer, so that every bit, the low ones
    `sampled` looks at included, depends on all five words. 32 bits are plenty: a story has hundreds of
    shingles and the window's index a few million rows, so a chance collision moves a containment by
    a fraction of a percent.
    """
    crc32, encode = zlib.crc32, str.encode
    words_hashed = numpy.fromiter(map(crc32, map(encode, words)), dtype=numpy.uint32, count=len(words))
    count = len(words) - SHINGLE_WORDS + 1
    hashes = words_hashed[:count].copy()
    for offset in range(1, SHINGLE_WORDS):
        hashes *= _FNV_PRIME
        hashes ^= words_hashed[offset : offset + count]
    hashes ^= hashes >> 16
    hashes *= _MIX_FIRST
    hashes ^= hashes >> 13
    hashes *= _MIX_SECOND
    hashes ^= hashes >> 16
    return hashes


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


def containment(first: frozenset[int], second: frozenset[int]) -> float:
    """|A ∩ B| / min(|A|, |B|): 1.0 when one text is inside the other."""
    smaller = min(len(first), len(second))
    return len(first & second) / smaller if smaller else 0.0
