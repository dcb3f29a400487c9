"""Every term of every watchlist in one multi-pattern automaton, scanned once per text.

ahocorasick-rs (Rust Aho-Corasick) finds all overlapping occurrences of all folded terms in one
pass, so "Mitto AG" does not hide "Mitto"; each occurrence is then checked for word boundaries.
Case-sensitive terms get a second automaton over the unfolded text, and `{regex: …}` terms run on
RE2 (linear time: no pattern can hang a run), pre-filtered by one RE2 set.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import ahocorasick_rs
import re2
import regex

from newsbot.textfold import fold, is_whole_word, plain

_WORD = regex.compile(r"\w+")


@dataclass(frozen=True)
class Term:
    """A word, phrase or pattern to find; `variants` are extra surface forms (plurals)."""

    text: str
    case_sensitive: bool = False
    is_regex: bool = False
    variants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """One whole-word occurrence of a term in one field; offsets are in that field's normalised text."""

    term: int
    field: str
    start: int
    end: int
    word: int
    folded: bool  # offsets are in fold(text) when True, in plain(text) otherwise


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


class _Automaton:
    """One Aho-Corasick automaton over distinct patterns, each standing for one or more terms."""

    def __init__(self, patterns: Mapping[str, list[int]]):
        self.terms = list(patterns.values())
        self.automaton = ahocorasick_rs.AhoCorasick(list(patterns)) if patterns else None

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
        self._regexes: list[tuple[int, re2._Regexp]] = []
        for number, term in enumerate(self.terms):
            if term.is_regex:
                self._regexes.append((number, re2.compile(term.text, regex_options())))
                continue
            for surface in dict.fromkeys((term.text, *term.variants)):
                key = plain(surface) if term.case_sensitive else fold(surface)
                if key.strip():
                    (exact if term.case_sensitive else folded)[key].append(number)
        self._folded = _Automaton(folded)
        self._exact = _Automaton(exact)
        self._regex_set = self._build_regex_set()

    def _build_regex_set(self) -> re2.Set | None:
        if not self._regexes:
            return None
        regex_set = re2.Set.SearchSet(regex_options())
        for _, compiled in self._regexes:
            regex_set.Add(compiled.pattern)
        regex_set.Compile()
        return regex_set

    def scan(self, fields: Mapping[str, str], *, with_words: bool = False) -> list[Hit]:
        """All hits in all fields; `with_words` adds each hit's word index (for `near:`)."""
        hits: list[Hit] = []
        for field, text in fields.items():
            if text:
                hits += self._scan_field(field, text, with_words)
        return hits

    def _scan_field(self, field: str, text: str, with_words: bool) -> list[Hit]:
        spaces = {True: fold(text)}
        found = [(term, start, end, True) for term, start, end in self._folded.find(spaces[True])]
        if self._exact.automaton is not None or self._regex_set is not None:
            spaces[False] = plain(text)
            found += [(term, start, end, False) for term, start, end in self._exact.find(spaces[False])]
            found += [(term, start, end, False) for term, start, end in self._regex_hits(spaces[False])]
        word_starts: dict[bool, list[int]] = {}
        hits = []
        for term, start, end, folded in found:
            word = -1
            if with_words:
                if folded not in word_starts:
                    word_starts[folded] = [match.start() for match in _WORD.finditer(spaces[folded])]
                word = bisect.bisect_right(word_starts[folded], start) - 1
            hits.append(Hit(term, field, start, end, word, folded))
        return hits

    def _regex_hits(self, text: str) -> Iterable[tuple[int, int, int]]:
        if self._regex_set is None:
            return
        for position in self._regex_set.Match(text) or ():  # None when nothing matched
            term, compiled = self._regexes[position]
            for found in compiled.finditer(text):
                if found.end() > found.start() and is_whole_word(text, found.start(), found.end()):
                    yield term, found.start(), found.end()
