"""Pure rule evaluation: which watchlist rules a story fires, with the words that fired them.

All terms of all watchlists are compiled once into a TermIndex (one automaton); a story's fields
are scanned once and the rules evaluated on the hits, so the cost follows the text and the hits,
not the number of terms. Every decision keeps its reason, for alerts and `newsbot explain`.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from newsbot.configuration.ruleitems import VENDORS
from newsbot.configuration.watchlists import (
    InlineWord,
    RegexTerm,
    RuleConfig,
    RuleItem,
    VendorConfig,
    Watchlist,
    rule_items,
)
from newsbot.matching.plurals import number_forms, plural_forms
from newsbot.matching.roundups import Segments, roundup_segments
from newsbot.matching.snippets import build_snippet
from newsbot.matching.termindex import Hit, Term, TermIndex
from newsbot.models import Match, RuleHit, Severity, Story

_MOST_WORDS_CASED_EACH_WAY = 4  # 16 forms of an excluded phrase at most
ANY_FIELD = "*"  # free text given to `newsbot explain`: counts for every rule's fields
_FIELD_PREFERENCE = ("summary", "text", ANY_FIELD, "title")


@dataclass(frozen=True)
class _Ref:
    """What a compiled term means in one watchlist."""

    watchlist: int
    kind: str  # name | alias | context | exclude | topic | word
    owner: str  # vendor name, topic name, or the inline word itself
    label: str  # the term as the watchlist writes it


@dataclass
class Evaluation:
    """Everything one watchlist saw in one text, kept for alerts and for `newsbot explain`."""

    watchlist: str
    vendors: dict[str, list[str]] = field(default_factory=dict)
    topics: dict[str, list[str]] = field(default_factory=dict)
    near_misses: list[str] = field(default_factory=list)
    guarded: dict[str, str] = field(default_factory=dict)  # vendor found in the text → what its context: guards
    fired: list[RuleHit] = field(default_factory=list)
    not_fired: dict[str, str] = field(default_factory=dict)
    evidence: list[Hit] = field(default_factory=list)

    def match(self, fields: Mapping[str, str] | None = None) -> Match | None:
        if not self.fired:
            return None
        snippet, where = build_snippet(fields or {}, self.evidence, _FIELD_PREFERENCE)
        used = {term for hit in self.fired for term in hit.terms}
        vendors = tuple(name for name, words in self.vendors.items() if vendor_label(name, words) in used)
        return Match(
            watchlist=self.watchlist, rules=tuple(self.fired), snippet=snippet, snippet_field=where, vendors=vendors
        )


def vendor_label(name: str, words: list[str]) -> str:
    """How a vendor's hits are named in a rule's terms: its name, or which of its forms matched."""
    return name if name in words else f"{name} (as {', '.join(words)})"


SegmentsOf = Callable[[], Segments | None]  # a story's roundup parts, found when first asked


@dataclass
class _Found:
    """Hits of one watchlist, sorted by what they stand for."""

    vendor_hits: dict[str, list[tuple[_Ref, Hit]]] = field(default_factory=lambda: defaultdict(list))
    topic_hits: dict[tuple[str, str], list[tuple[_Ref, Hit]]] = field(default_factory=lambda: defaultdict(list))


# A rule's terms: a set for each of its `all` items, and one for its `any` items (None without any).
_TermsNeeded = tuple[tuple[frozenset[int], ...], frozenset[int] | None]


class Matcher:
    """All watchlists compiled once per run; the evaluate methods are pure."""

    def __init__(self, watchlists: Sequence[Watchlist]):
        self.watchlists = tuple(watchlists)
        self._terms: dict[Term, int] = {}
        self._refs: list[list[_Ref]] = []
        for number, watchlist in enumerate(self.watchlists):
            self._compile(number, watchlist)
        self._index = TermIndex(list(self._terms))
        self._vendors = [
            {vendor.name: (position, vendor) for position, vendor in enumerate(watchlist.config.vendors)}
            for watchlist in self.watchlists
        ]
        self._rules_need = [self._terms_needed(number, watchlist) for number, watchlist in enumerate(self.watchlists)]

    def _compile(self, number: int, watchlist: Watchlist) -> None:
        config = watchlist.config
        near_items = {_key(item) for rule in config.rules if rule.near for item in (*rule.all, *rule.any)}
        for vendor in config.vendors:
            sensitive = vendor.case_sensitive
            positional = VENDORS in near_items or vendor.near is not None
            for form in vendor.forms():
                kind = "name" if form == vendor.name else "alias"
                self._add(Term(form, sensitive, positional=positional), _Ref(number, kind, vendor.name, form))
            for word in vendor.context:
                context = Term(word, variants=number_forms(word), positional=vendor.near is not None)
                self._add(context, _Ref(number, "context", vendor.name, word))
            for phrase in vendor.exclude:
                variants = written_cases(phrase) if sensitive else ()
                self._add(Term(phrase, sensitive, variants=variants), _Ref(number, "exclude", vendor.name, phrase))
        for topic, terms in config.topics.items():
            positional = topic in near_items
            for term in terms:
                if isinstance(term, RegexTerm):
                    label = f"/{term.regex}/"
                    self._add(
                        Term(term.regex, is_regex=True, positional=positional), _Ref(number, "topic", topic, label)
                    )
                else:
                    variants = plural_forms(term)
                    self._add(Term(term, variants=variants, positional=positional), _Ref(number, "topic", topic, term))
        for rule in config.rules:
            for item in (*rule.all, *rule.any, *rule.none):
                if isinstance(item, InlineWord):
                    word = item.word
                    word_term = Term(word, variants=plural_forms(word), positional=_key(item) in near_items)
                    self._add(word_term, _Ref(number, "word", word, word))

    def _terms_needed(self, number: int, watchlist: Watchlist) -> list[_TermsNeeded]:
        """For each of the watchlist's rules, the terms of each of its `all` items, and those of its
        `any` items together (None when it has none): the rule fires only on a text with a hit of each."""
        buckets: dict[tuple[str, str], set[int]] = defaultdict(set)
        for term, refs in enumerate(self._refs):
            for ref in refs:
                if ref.watchlist == number:
                    buckets[(VENDORS, "") if ref.kind in ("name", "alias") else (ref.kind, ref.owner)].add(term)

        def terms_of(item: RuleItem) -> frozenset[int]:
            if item == VENDORS:
                return frozenset(buckets[(VENDORS, "")])
            return frozenset(buckets[("word", item.word) if isinstance(item, InlineWord) else ("topic", item)])

        return [
            (tuple(map(terms_of, rule.all)), frozenset().union(*map(terms_of, rule.any)) if rule.any else None)
            for rule in watchlist.config.rules
        ]

    def _may_fire(self, hits: list[Hit]) -> bool:
        """Whether any rule has a hit for each of its `all` items and one of its `any` items: the
        hits before a vendor's context or exclusions and a rule's fields refuse any, so a rule this
        says no to `_evaluate_rule` refuses too. Most stories fire nothing (a cold run's 20,000: all
        but a few dozen), and each is told so in about 3 µs instead of 28 µs of evaluating every rule."""
        found = {hit.term for hit in hits}
        return any(
            all(not needed.isdisjoint(found) for needed in all_terms)
            and (any_terms is None or not any_terms.isdisjoint(found))
            for rules in self._rules_need
            for all_terms, any_terms in rules
        )

    def _add(self, term: Term, ref: _Ref) -> None:
        number = self._terms.setdefault(term, len(self._terms))
        if number == len(self._refs):
            self._refs.append([])
        if ref not in self._refs[number]:
            self._refs[number].append(ref)

    def evaluate(self, fields: Mapping[str, str]) -> list[Evaluation]:
        """One Evaluation per watchlist, in the watchlists' order."""
        return self._evaluated(fields, self._index.scan(fields))

    def _evaluated(self, fields: Mapping[str, str], hits: list[Hit]) -> list[Evaluation]:
        found = [_Found() for _ in self.watchlists]
        for hit in hits:
            for ref in self._refs[hit.term]:
                bucket = found[ref.watchlist]
                if ref.kind in ("topic", "word"):
                    bucket.topic_hits[(ref.kind, ref.owner)].append((ref, hit))
                else:
                    bucket.vendor_hits[ref.owner].append((ref, hit))
        segments = _when_asked(partial(roundup_segments, fields))  # read only where a hit needs it: most never do
        return [
            _evaluate(watchlist, self._vendors[number], found[number], segments)
            for number, watchlist in enumerate(self.watchlists)
        ]

    def evaluate_text(self, *texts: str) -> list[Evaluation]:
        """Free text (one argument, counts for every field) or (title, summary, text)."""
        if len(texts) == 1:
            return self.evaluate({ANY_FIELD: texts[0]})
        return self.evaluate(dict(zip(("title", "summary", "text"), texts, strict=False)))

    def match_story(self, story: Story) -> list[Match]:
        fields = story_fields(story)
        hits = self._index.scan(fields)
        if not self._may_fire(hits):
            return []
        return [match for evaluation in self._evaluated(fields, hits) if (match := evaluation.match(fields))]


def _when_asked(find: Callable[[], Segments | None]) -> SegmentsOf:
    """`find`'s value, found at the first call and kept. functools.cache made the same, but building
    its wrapper cost 5 µs, a twentieth to a thirtieth of matching a story, for every story matched."""
    found: list[Segments | None] = []

    def segments() -> Segments | None:
        if not found:
            found.append(find())
        return found[0]

    return segments


def written_cases(phrase: str) -> tuple[str, ...]:
    """An excluded phrase of a case-sensitive vendor as news may write it: each word as the watchlist
    writes it or in lower case ("Box office", "Orange county", "Ring road" for "Box Office", "Orange
    County", "Ring Road"). Matched only as written, the shipped exclusions failed in sentence-case
    headlines, the house style of most outlets, and "Box office hit: hackers leaked…" alerted HIGH.
    (The vendor's own word must still be written as it is to be a hit at all.)"""
    words = phrase.split()
    if len(words) > _MOST_WORDS_CASED_EACH_WAY:  # then as written, or in sentence case
        return (" ".join([words[0], *(word.lower() for word in words[1:])]),)
    return tuple(" ".join(cased) for cased in itertools.product(*((word, word.lower()) for word in words)))


def story_fields(story: Story) -> dict[str, str]:
    return {"title": story.title, "summary": story.summary, "text": story.text}


def _evaluate(
    watchlist: Watchlist, vendors: Mapping[str, tuple[int, VendorConfig]], found: _Found, segments: SegmentsOf
) -> Evaluation:
    """The watchlist's verdict; the cost follows the hits, never the number of vendors or terms.

    `segments` gives the parts of a roundup (None for an ordinary story): then a vendor's context and
    a rule's items count only inside one of them. It is asked only where a hit needs it, since
    finding a roundup reads every sentence.
    """
    config = watchlist.config
    evaluation = Evaluation(watchlist=config.name)
    valid_vendor_hits: list[tuple[str, Hit]] = []  # (label for the alert, hit)
    for vendor_name in sorted(found.vendor_hits, key=lambda name: vendors[name][0]):  # watchlist order
        vendor = vendors[vendor_name][1]
        if vendor.context and any(ref.kind in ("name", "alias") for ref, _ in found.vendor_hits[vendor_name]):
            evaluation.guarded[vendor_name] = describe_guard(vendor)
        valid = _valid_vendor_hits(vendor, found.vendor_hits[vendor_name], evaluation.near_misses, segments)
        if not valid:
            continue
        words = sorted({ref.label for ref, _ in valid}, key=lambda word: (word != vendor_name, word))
        evaluation.vendors[vendor_name] = words
        valid_vendor_hits += [(vendor_label(vendor_name, words), hit) for _, hit in valid]
    for (kind, owner), pairs in found.topic_hits.items():
        if kind == "topic":
            evaluation.topics[owner] = sorted({ref.label for ref, _ in pairs})
    for rule in config.rules:
        _evaluate_rule(rule, valid_vendor_hits, found, evaluation, segments)
    evaluation.near_misses = list(dict.fromkeys(evaluation.near_misses))  # once per word, not per occurrence
    return evaluation


def describe_guard(vendor: VendorConfig) -> str:
    """Which of a vendor's forms need a context word, and which count alone, for `newsbot explain`."""
    guarded = [form for form in vendor.forms() if not vendor.counts_alone(form)]
    alone = [form for form in vendor.forms() if vendor.counts_alone(form)]
    distance = f"within {vendor.near} words of " if vendor.near else "with "
    sentence = f"{', '.join(guarded)} {_count(guarded)} only {distance}a context word ({', '.join(vendor.context)})"
    return sentence + (f"; {', '.join(alone)} {_count(alone)} alone" if alone else "")


def _count(forms: list[str]) -> str:
    return "counts" if len(forms) == 1 else "count"


def _valid_vendor_hits(
    vendor: VendorConfig, pairs: list[tuple[_Ref, Hit]], near_misses: list[str], segments: SegmentsOf
) -> list[tuple[_Ref, Hit]]:
    """Name and alias hits that count: not inside an excluded phrase; with `context:`, beside a context word
    (the contract's "for an ambiguous name/alias to count"), unless the form is listed as unambiguous."""
    excluded = [hit for ref, hit in pairs if ref.kind == "exclude"]
    context = [hit for ref, hit in pairs if ref.kind == "context"]
    valid = []
    for ref, hit in pairs:
        if ref.kind not in ("name", "alias"):
            continue
        cover = next((ex for ex in excluded if _inside(hit, ex)), None)
        if cover is not None:
            phrase = next(r.label for r, h in pairs if h is cover)
            near_misses.append(f"{ref.label}: inside the excluded phrase '{phrase}' ({vendor.name})")
        elif not vendor.counts_alone(ref.label) and not _has_context(vendor, hit, context, segments):
            distance = f" within {vendor.near} words{_of_it_in(hit.field)}" if vendor.near else ""
            part = " in its own story of the roundup" if segments() is not None else ""
            near_misses.append(
                f"{ref.label}: no context word{distance}{part} ({', '.join(vendor.context)}) for {vendor.name}"
            )
        else:
            valid.append((ref, hit))
    return valid


def _of_it_in(field: str) -> str:
    """Where a guarded name's context word may be, for a near miss: free text is one field."""
    if field == ANY_FIELD:
        return ""
    return " of it in the headline or the lede under it" if field == "title" else f" of it in its {field}"


def _inside(hit: Hit, cover: Hit) -> bool:
    return hit.field == cover.field and hit.folded == cover.folded and cover.start <= hit.start and hit.end <= cover.end


def _has_context(vendor: VendorConfig, hit: Hit, context: list[Hit], segments: SegmentsOf) -> bool:
    if (parts := segments()) is not None:
        context = [word for word in context if parts.of(word) == parts.of(hit)]
    if vendor.near is None:
        return bool(context)
    # In the name's own field, or for a name in the headline, in the lede under it: word numbers run
    # on from the title into the summary. A headline names its story's subject and the lede says
    # what it is ("Orange hit by cyberattack" over "The French operator said…"); a lede's sentence
    # is its own, and "…breached the hospital network" over "Three men were charged…" is no carrier.
    return any(hit.field in (c.field, "title") and abs(c.word - hit.word) <= vendor.near for c in context)


def _evaluate_rule(
    rule: RuleConfig,
    vendor_hits: list[tuple[str, Hit]],
    found: _Found,
    evaluation: Evaluation,
    segments: SegmentsOf,
) -> None:
    # Most stories lack one of a rule's `all` items or every `any` item: that is said before the
    # other items' hits are gathered (a roundup's parts have fewer hits, never more: the same reason).
    refused = _refused_outright(rule, vendor_hits, found)
    if refused is not None:
        evaluation.not_fired[rule.name] = refused
        return
    satisfied = {_key(item): _item_hits(item, rule, vendor_hits, found) for _, _, item in rule_items(rule)}
    reason, used = _verdict(rule, satisfied)
    if (parts := segments()) is not None:  # a roundup: an exclusion in one of its stories does not block another
        part_reason, used, satisfied = _verdict_in_one_part(rule, satisfied, parts)
        reason = None if part_reason is None else reason or part_reason
    if reason is not None:
        evaluation.not_fired[rule.name] = reason
        return
    terms = tuple(dict.fromkeys(label for item in used for label, _ in satisfied[_key(item)]))
    evaluation.fired.append(RuleHit(rule=rule.name, severity=Severity(rule.severity), terms=terms))
    evaluation.evidence.extend(hit for item in used for _, hit in satisfied[_key(item)])


_Satisfied = dict[str, list[tuple[str, Hit]]]


def _refused_outright(rule: RuleConfig, vendor_hits: list[tuple[str, Hit]], found: _Found) -> str | None:
    """_verdict's reason when an `all` item or every `any` item has no hit at all, else None."""
    for item in rule.all:
        if not _item_hits(item, rule, vendor_hits, found):
            return _missing(rule, item)
    if rule.any and not any(_item_hits(item, rule, vendor_hits, found) for item in rule.any):
        return _none_of_any(rule)
    return None


def _verdict(rule: RuleConfig, satisfied: _Satisfied) -> tuple[str | None, list[RuleItem]]:
    """Why the rule does not fire on these hits (None when it fires), and the items that made it fire."""
    missing = [item for item in rule.all if not satisfied[_key(item)]]
    present_any = [item for item in rule.any if satisfied[_key(item)]]
    blocking = [item for item in rule.none if satisfied[_key(item)]]
    if missing:
        return _missing(rule, missing[0]), []
    if rule.any and not present_any:
        return _none_of_any(rule), []
    if blocking:
        words = ", ".join(dict.fromkeys(label for label, _ in satisfied[_key(blocking[0])]))
        return f"excluded by {_key(blocking[0])} ({words})", []
    used = [*rule.all, *present_any]
    if rule.near is not None:
        distant = _too_far(rule.near, [satisfied[_key(item)] for item in used])
        if distant:
            return distant, []
    return None, used


def _verdict_in_one_part(
    rule: RuleConfig, satisfied: _Satisfied, segments: Segments
) -> tuple[str | None, list[RuleItem], _Satisfied]:
    """A roundup fires a rule only when one of its stories does, exclusions included."""
    parts = dict.fromkeys(segments.of(hit) for item in (*rule.all, *rule.any) for _, hit in satisfied[_key(item)])
    for part in parts:
        in_part = {
            key: [(label, hit) for label, hit in pairs if segments.of(hit) == part] for key, pairs in satisfied.items()
        }
        reason, used = _verdict(rule, in_part)
        if reason is None:
            return None, used, in_part
    items = " and ".join(_describe(item) for item in (*rule.all, *rule.any[:1]))
    return f"a roundup of several stories, and no one of them has a {items} together", [], satisfied


def _missing(rule: RuleConfig, item: RuleItem) -> str:
    return f"no {_describe(item)} matched{_where(rule)}"


def _none_of_any(rule: RuleConfig) -> str:
    return f"none of {', '.join(_key(item) for item in rule.any)} matched{_where(rule)}"


def _key(item: RuleItem) -> str:
    return f'"{item.word}"' if isinstance(item, InlineWord) else item


def _item_hits(
    item: RuleItem, rule: RuleConfig, vendor_hits: list[tuple[str, Hit]], found: _Found
) -> list[tuple[str, Hit]]:
    """(label for the alert, hit) pairs that satisfy one rule item within the rule's fields."""
    if item == VENDORS:
        pairs = vendor_hits
    else:
        bucket = ("word", item.word) if isinstance(item, InlineWord) else ("topic", item)
        pairs = sorted(((ref.label, hit) for ref, hit in found.topic_hits.get(bucket, [])), key=lambda pair: pair[0])
    return [(label, hit) for label, hit in pairs if hit.field == ANY_FIELD or hit.field in rule.fields]


def _too_far(near: int, groups: list[list[tuple[str, Hit]]]) -> str | None:
    """Why the rule's terms are not within `near` words of each other, or None when they are."""
    anchor, *others = groups
    for other in others:
        close = any(abs(a.word - b.word) <= near for _, a in anchor for _, b in other)
        if not close:
            # The nearest pair is the one named: raising near: to its distance is what would fire the rule.
            pairs = [(abs(a.word - b.word), first, second) for first, a in anchor for second, b in other]
            apart, first, second = min(pairs, key=lambda pair: pair[0])
            return f"'{first}' and '{second}' are {apart} words apart (near: {near})"
    return None


def _describe(item: RuleItem) -> str:
    if item == VENDORS:
        return "vendor"
    return f"word {_key(item)}" if isinstance(item, InlineWord) else f"'{item}' term"


def _where(rule: RuleConfig) -> str:
    return "" if len(rule.fields) == 3 else f" in {', '.join(rule.fields)}"
