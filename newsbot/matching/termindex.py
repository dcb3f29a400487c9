"""Every term of every watchlist in one multi-pattern automaton, scanned once per text.

ahocorasick-rs (Rust Aho-Corasick) finds all overlapping occurrences of all folded terms in one
pass, so "Mitto AG" does not hide "Mitto"; each occurrence is then checked for word boundaries.
Case-sensitive terms also sit in that automaton in folded form, as probes: only a text where a
probe hits is re-read unfolded and scanned by a second automaton. `{regex: …}` terms run on RE2
(linear time: no pattern can hang a run) over the folded text, pre-filtered by one RE2 set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, cast

import ahocorasick_rs
import re2

from newsbot.matching.textfold import fold, is_whole_word, plain, unaccented

_PROBE = -1  # in the folded automaton: "a case-sensitive term may be here"
SHORT_FIELD_CHARS = 1_000  # a headline's length at most (normalize.MAX_TITLE_CHARS)
CAPITALS_A_SMALL_LETTER = 4
DFA_MOST_CHARACTERS = 40_000  # ~5 MB an automaton at most


@dataclass(frozen=True)
class Term:
    """A word, phrase or pattern to find; `variants` are extra surface forms (plurals).

    `positional` terms get word numbers in their hits, for `near:`; numbering costs a pass over
    the text, so only terms that need it ask for it.
    """

    text: str
    case_sensitive: bool = False
    is_regex: bool = False
    variants: tuple[str, ...] = ()
    positional: bool = False


class Hit(NamedTuple):
    """One whole-word occurrence of a term in one field; offsets are in that field's normalised text."""

    term: int
    field: str
    start: int
    end: int
    # Word number, counted on through the fields in the order scanned (title, summary, text), so that
    # `near:` spans a headline and the lede under it; -1 for terms that are not positional.
    word: int
    folded: bool  # offsets are in fold(text) when True, in plain(text) otherwise


def _in_capitals(text: str) -> bool:
    """All in capitals, or for a headline's length mostly: four capitals to each small letter, so
    that a publisher's name after it ("… - The Mirror", "… | Reuters") does not hide it."""
    if text.isupper():
        return True
    if len(text) > SHORT_FIELD_CHARS:
        return False
    capitals = sum(map(str.isupper, text))
    return capitals > 0 and sum(map(str.islower, text)) * CAPITALS_A_SMALL_LETTER <= capitals


def _spaces_before(text: str, starts: list[int]) -> Iterator[int]:
    """The spaces before each of the ascending `starts`, counted on from one to the next: counted from
    the text's start for each hit, a story of thousands of hits was read thousands of times."""
    counted = position = 0
    for start in starts:
        counted += text.count(" ", position, start)
        position = start
        yield counted


def regex_options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    return options


def regex_problem(pattern: str) -> str | None:
    """Why RE2 cannot run `pattern` (e.g. a backreference), or None when it can."""
    try:
        re2.compile(pattern, regex_options())
    except re2.error as error:
        return str(error.args[0].decode() if isinstance(error.args[0], bytes) else error)
    return None


def automaton_implementation(patterns: Iterable[str]) -> ahocorasick_rs.Implementation | None:
    """A DFA for patterns of `DFA_MOST_CHARACTERS` at most in all; beyond, the library's own choice.

    A DFA reads each character once, with no failure transitions to follow: telecom-threats' 215
    patterns over a cold run's stories, 9 µs a story against 23 for the NFA the library picks. Its
    size grows with the patterns' characters, about 125 bytes each (2,000 phrases of 75,000
    characters: 9.4 MB, built in 32 ms), so a watchlist of thousands of long phrases keeps the NFA."""
    return ahocorasick_rs.Implementation.DFA if sum(map(len, patterns)) <= DFA_MOST_CHARACTERS else None


class _Automaton:
    """One Aho-Corasick automaton over distinct patterns, each standing for one or more terms."""

    def __init__(self, patterns: Mapping[str, list[int]]):
        self.terms = list(patterns.values())
        self.automaton = (
            ahocorasick_rs.AhoCorasick(list(patterns), implementation=automaton_implementation(patterns))
            if patterns
            else None
        )

    def find(self, text: str) -> Iterable[tuple[int, int, int]]:
        if self.automaton is None:
            return
        for pattern, start, end in self.automaton.find_matches_as_indexes(text, overlapping=True):
            if is_whole_word(text, start, end):
                for term in self.terms[pattern]:
                    yield term, start, end


class TermIndex:
    """Compiled once per run; `scan` is pure and cheap per story."""

    def __init__(self, terms: Sequence[Term]):
        self.terms = tuple(terms)
        folded: dict[str, list[int]] = defaultdict(list)
        exact: dict[str, list[int]] = defaultdict(list)
        shouted: dict[str, list[int]] = defaultdict(list)  # case-sensitive terms in capitals
        self._regexes: list[tuple[int, re2._Regexp[str]]] = []
        for number, term in enumerate(self.terms):
            if term.is_regex:
                self._regexes.append((number, re2.compile(term.text, regex_options())))
                continue
            surfaces = (term.text, *term.variants)
            if term.case_sensitive:  # case kept, accents folded as for every other term (one way: see unaccented)
                surfaces += tuple(unaccented(surface) for surface in surfaces)
            for surface in dict.fromkeys(surfaces):
                if term.case_sensitive:
                    key = plain(surface)
                    if key:
                        exact[key].append(number)
                        if number not in shouted[key.upper()]:
                            shouted[key.upper()].append(number)
                        if _PROBE not in folded[fold(surface)]:
                            folded[fold(surface)].append(_PROBE)
                elif key := fold(surface):
                    folded[key].append(number)
        self._positional = {number for number, term in enumerate(self.terms) if term.positional}
        self._folded = _Automaton(folded)
        self._exact = _Automaton(exact)
        self._shouted = _Automaton(shouted)
        self._regex_set = self._build_regex_set()

    def _build_regex_set(self) -> re2.Set | None:
        if not self._regexes:
            return None
        regex_set = re2.Set.SearchSet(regex_options())
        for _, compiled in self._regexes:
            regex_set.Add(compiled.pattern)
        regex_set.Compile()
        return regex_set

    def scan(self, fields: Mapping[str, str]) -> list[Hit]:
        """All whole-word hits in all fields, numbered as one text read in the fields' order: a vendor
        at the end of a title is a word away from a term that opens the summary, as a reader sees it.
        (Numbered per field, a headline naming the vendor over a lede naming the breach was never
        within any `near:`, while `explain` of the same words as one text fired.)"""
        hits: list[Hit] = []
        words_before = 0
        for field, text in fields.items():
            if text:
                found, words = self._scan_field(field, text, words_before)
                hits += found
                words_before += words
        return hits

    def _scan_field(self, field: str, text: str, words_before: int) -> tuple[list[Hit], int]:
        """The field's hits, and how many words it has."""
        folded = fold(text)
        found = list(self._folded.find(folded))
        found += self._regex_hits(folded)
        hits = self._hits(field, folded, True, (item for item in found if item[0] != _PROBE), words_before)
        if any(item[0] == _PROBE for item in found):
            exact = plain(text)
            found_exact: Iterable[tuple[int, int, int]] = self._exact.find(exact)
            if _in_capitals(exact):
                # A headline in capitals ("THREE UK OUTAGE LEAVES MILLIONS… | Reuters") says nothing
                # about case: a case-sensitive term is found there in capitals too, or such headlines
                # were never matched, not even by the long forms that name nothing else.
                found_exact = dict.fromkeys([*found_exact, *self._shouted.find(exact)])
            hits += self._hits(field, exact, False, found_exact, words_before)
        return hits, folded.count(" ") + 1 if folded else 0

    def _hits(
        self, field: str, text: str, folded: bool, found: Iterable[tuple[int, int, int]], words_before: int
    ) -> list[Hit]:
        """Both normalised texts are single-spaced, so a word's number is the spaces before it."""
        found = list(found)
        starts = sorted({start for term, start, _ in found if term in self._positional})
        words = dict(zip(starts, _spaces_before(text, starts), strict=True))
        return [
            Hit(term, field, start, end, words_before + words[start] if term in self._positional else -1, folded)
            for term, start, end in found
        ]

    def _regex_hits(self, text: str) -> list[tuple[int, int, int]]:
        if self._regex_set is None:
            return []
        hits = []
        # None when nothing matched; google-re2-stubs 0.1.1 says Match returns bool, re2 returns the indexes
        for position in cast("list[int] | None", self._regex_set.Match(text)) or ():
            term, compiled = self._regexes[position]
            hits += [
                (term, found.start(), found.end())
                for found in compiled.finditer(text)
                if found.end() > found.start() and is_whole_word(text, found.start(), found.end())
            ]
        return hits
