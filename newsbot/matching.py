"""Pure rule evaluation: which watchlist rules a story fires, with the words that fired them.

Every term of every watchlist is compiled once into one index of word sequences; a story's text is
tokenised once and each position looked up, so the cost grows with the text, not with the number
of terms. Tokenising both sides the same way gives whole-word, case-folded matching for free:
`Mitto's` and `MITTO` are the word `mitto`, `Mittova` is another word.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import regex

from newsbot.config import VENDORS, VendorConfig, Watchlist
from newsbot.models import Match, RuleHit, Severity, Story

_URL = regex.compile(r"\b(?:https?://|www\.)\S+", regex.IGNORECASE)
_POSSESSIVE = regex.compile(r"['’]s\b")
# The `regex` module's \w includes combining marks (UTS #18); the stdlib's does not, and would
# split Hindi or Thai words at their vowel signs, so that different words compare equal.
_WORD = regex.compile(r"\w+")

Key = tuple[str, ...]


def words(text: str) -> list[str]:
    """Case-folded words of `text`, with URLs and possessive 's removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(" ", text)
    text = _POSSESSIVE.sub("", text.casefold())
    return _WORD.findall(text)


@dataclass(frozen=True)
class _Ref:
    """Where a compiled term belongs: a vendor's name or alias, a topic, or an inline rule word."""

    watchlist: int
    kind: str  # "name", "alias", "context", "topic"
    owner: str  # vendor name, or topic name (inline words are topics named by themselves)
    term: str  # the term as written in the watchlist


@dataclass
class Evaluation:
    """Everything one watchlist saw in one text, kept for alerts and for `newsbot explain`."""

    watchlist: str
    vendors: dict[str, list[str]] = field(default_factory=dict)
    topics: dict[str, list[str]] = field(default_factory=dict)
    near_misses: list[str] = field(default_factory=list)
    fired: list[RuleHit] = field(default_factory=list)
    not_fired: dict[str, str] = field(default_factory=dict)

    def match(self) -> Match | None:
        return Match(watchlist=self.watchlist, rules=tuple(self.fired)) if self.fired else None


class Matcher:
    """All watchlists compiled once per run; `evaluate` is pure and safe to call per story."""

    def __init__(self, watchlists: Sequence[Watchlist]):
        self.watchlists = tuple(watchlists)
        self._index: dict[Key, list[_Ref]] = defaultdict(list)
        self._vendors = [
            {vendor.name: (position, vendor) for position, vendor in enumerate(watchlist.config.vendors)}
            for watchlist in self.watchlists
        ]
        for number, watchlist in enumerate(self.watchlists):
            self._compile(number, watchlist)
        self._lengths = sorted({len(key) for key in self._index})

    def _compile(self, number: int, watchlist: Watchlist) -> None:
        config = watchlist.config
        for vendor in config.vendors:
            self._add(_Ref(number, "name", vendor.name, vendor.name))
            for alias in vendor.aliases:
                self._add(_Ref(number, "alias", vendor.name, alias))
            for word in vendor.context:
                self._add(_Ref(number, "context", vendor.name, word))
        for topic, terms in config.topics.items():
            for term in terms:
                self._add(_Ref(number, "topic", topic, term))
        for rule in config.rules:
            for item in (*rule.all, *rule.any, *rule.none):
                if item != VENDORS and item not in config.topics:
                    self._add(_Ref(number, "topic", item, item))

    def _add(self, ref: _Ref) -> None:
        key = tuple(words(ref.term))
        if key and ref not in self._index[key]:
            self._index[key].append(ref)

    def _hits(self, texts: Iterable[str]) -> set[_Ref]:
        found: set[_Ref] = set()
        for text in texts:
            tokens = words(text)
            for start in range(len(tokens)):
                for length in self._lengths:
                    refs = self._index.get(tuple(tokens[start : start + length]))
                    if refs:
                        found.update(refs)
        return found

    def evaluate_text(self, *texts: str) -> list[Evaluation]:
        hits = self._hits(texts)
        return [
            _evaluate(watchlist, self._vendors[number], {ref for ref in hits if ref.watchlist == number})
            for number, watchlist in enumerate(self.watchlists)
        ]

    def match_story(self, story: Story) -> list[Match]:
        evaluations = self.evaluate_text(story.title, story.summary, story.text)
        return [match for evaluation in evaluations if (match := evaluation.match())]


def _evaluate(
    watchlist: Watchlist, vendors: dict[str, tuple[int, VendorConfig]], hits: set[_Ref]
) -> Evaluation:
    """Rule results from this watchlist's hits; the cost follows the hits, not the term count."""
    config = watchlist.config
    evaluation = Evaluation(watchlist=config.name)
    by_vendor: dict[str, list[_Ref]] = defaultdict(list)
    for ref in sorted(hits, key=lambda ref: ref.term):
        if ref.kind == "topic":
            evaluation.topics.setdefault(ref.owner, []).append(ref.term)
        else:
            by_vendor[ref.owner].append(ref)
    for vendor_name in sorted(by_vendor, key=lambda name: vendors[name][0]):  # the watchlist's order
        found = _vendor_terms(vendors[vendor_name][1], by_vendor[vendor_name], evaluation.near_misses)
        if found:
            evaluation.vendors[vendor_name] = found
    for rule in config.rules:
        satisfied = {item: _item_terms(item, evaluation) for item in (*rule.all, *rule.any, *rule.none)}
        missing = [item for item in rule.all if not satisfied[item]]
        has_any = not rule.any or any(satisfied[item] for item in rule.any)
        present = [item for item in rule.none if satisfied[item]]
        if missing:
            evaluation.not_fired[rule.name] = f"no {_describe_item(missing[0])} matched"
        elif not has_any:
            evaluation.not_fired[rule.name] = f"none of {', '.join(rule.any)} matched"
        elif present:
            words_seen = ", ".join(satisfied[present[0]])
            evaluation.not_fired[rule.name] = f"excluded by '{present[0]}' ({words_seen})"
        else:
            used = [*rule.all, *(item for item in rule.any if satisfied[item])]
            terms = tuple(dict.fromkeys(term for item in used for term in satisfied[item]))
            evaluation.fired.append(RuleHit(rule=rule.name, severity=Severity(rule.severity), terms=terms))
    return evaluation


def _vendor_terms(vendor: VendorConfig, refs: list[_Ref], near_misses: list[str]) -> list[str]:
    """The words that count as this vendor; an alias counts only with a context word, if any."""
    names = sorted({ref.term for ref in refs if ref.kind == "name"})
    aliases = sorted({ref.term for ref in refs if ref.kind == "alias"})
    has_context = not vendor.context or any(ref.kind == "context" for ref in refs)
    if aliases and not has_context:
        near_misses.extend(
            f"{alias}: no context word ({', '.join(vendor.context)}) for {vendor.name}" for alias in aliases
        )
        aliases = []
    return names + [alias for alias in aliases if alias not in names]


def _item_terms(item: str, evaluation: Evaluation) -> list[str]:
    if item == VENDORS:
        return [
            vendor if vendor in found else f"{vendor} (as {', '.join(found)})"
            for vendor, found in evaluation.vendors.items()
        ]
    return evaluation.topics.get(item, [])


def _describe_item(item: str) -> str:
    return "vendor" if item == VENDORS else f"'{item}' term"
