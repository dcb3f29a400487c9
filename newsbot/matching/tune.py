"""`newsbot tune`: watchlist edits that would have avoided the alerts marked "Not relevant" in Slack.

Each proposal is a concrete edit a person could have made — an `exclude:` phrase around the
vendor's name, `context:` words the relevant alerts share, a `near:` on a rule — and each is
backtested on the stories that were judged: how many not-relevant alerts it removes and how many
relevant ones it would lose. Proposals come from the judged stories themselves, so a team with ten
clicks gets proposals about its own false alarms, not generic advice.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import wordfreq

from newsbot.configuration.watchlists import RuleConfig, VendorConfig, Watchlist, WatchlistConfig
from newsbot.matching.examples import run_examples
from newsbot.matching.matcher import Matcher, story_fields
from newsbot.matching.textfold import plain
from newsbot.models import Story

NEAR_CANDIDATES = (10, 20, 40)  # words; a `near:` tighter than 10 loses ordinary headlines
MAX_CONTEXT_WORDS = 3
SPECIFIC_ZIPF = 4.5  # a context word rarer than "company" (5.3) and "said" (6.3): it tells the industry
_WORD = re.compile(r"[^\W\d_][\w'.-]*[^\W_]|[^\W\d_]")
# Between edits that backtest alike, the one that touches the fewest future alerts first: an exclude
# drops the texts with that phrase, a near: one rule's scattered matches, context: every mention of
# the vendor without those words.
_NARROWEST_FIRST = {"exclude": 0, "near": 1, "context": 2}


@dataclass(frozen=True)
class Judged:
    story: Story
    relevant: bool


@dataclass(frozen=True)
class Edit:
    """One change to a watchlist: add `values` to a vendor's list `key`, or set a rule's `near:`."""

    key: str  # exclude | context | near
    target: str  # the vendor's or the rule's name
    values: tuple[str, ...] = ()
    near: int | None = None

    def describe(self) -> str:
        if self.key == "near":
            return f"rule '{self.target}': near: {self.near}"
        quoted = ", ".join(f'"{value}"' if " " in value else value for value in self.values)
        return f"vendor '{self.target}': {self.key}: [{quoted}]"

    def apply(self, config: WatchlistConfig) -> WatchlistConfig:
        if self.key == "near":
            rules = [
                rule.model_copy(update={"near": self.near}) if rule.name == self.target else rule
                for rule in config.rules
            ]
            return config.model_copy(update={"rules": rules})
        vendors = [
            vendor.model_copy(update={self.key: [*getattr(vendor, self.key), *self.values]})
            if vendor.name == self.target
            else vendor
            for vendor in config.vendors
        ]
        return config.model_copy(update={"vendors": vendors})


@dataclass(frozen=True)
class Proposal:
    edit: Edit
    removes: int  # not-relevant alerts it would not have sent
    loses: int  # relevant alerts it would not have sent
    other_removed: int  # stored alerts nobody judged that it would not have sent


def propose(watchlist: Watchlist, judged: Sequence[Judged], unjudged: Sequence[Story] = ()) -> list[Proposal]:
    """Backtested edits, best first: most false alarms removed for fewest relevant alerts lost, then
    the narrowest edit (`_NARROWEST_FIRST`). Never the order the judged alerts came in: that was the
    order of their ids (hashes) among alerts sent in one second, and it picked which tie came first.
    Never an edit that makes one of the watchlist's passing `examples:` fail: the team pinned those."""
    wrong = [item.story for item in judged if not item.relevant]
    right = [item.story for item in judged if item.relevant]
    if not wrong:
        return []
    before = _alerting(watchlist, [*wrong, *right, *unjudged])
    passing = passing_examples(watchlist)
    proposals = []
    for edit in dict.fromkeys(_candidates(watchlist, wrong, right)):
        after = _alerting(watchlist, [*wrong, *right, *unjudged], edit)
        removes = sum(story.id in before and story.id not in after for story in wrong)
        if removes == 0 or examples_broken_by(watchlist, edit.apply(watchlist.config), passing):
            continue
        loses = sum(story.id in before and story.id not in after for story in right)
        others = sum(story.id in before and story.id not in after for story in unjudged)
        proposals.append(Proposal(edit, removes, loses, others))
    return sorted(
        proposals,
        key=lambda proposal: (
            proposal.loses,
            -proposal.removes,
            proposal.other_removed,
            _NARROWEST_FIRST[proposal.edit.key],
            -(proposal.edit.near or 0),  # a looser near: drops fewer future alerts
            proposal.edit.describe(),
        ),
    )


def passing_examples(watchlist: Watchlist) -> set[tuple[str, int]]:
    """The watchlist's examples that pass as it is, as (kind, position)."""
    return {(result.kind, result.position) for result in run_examples([watchlist]) if result.passed}


def examples_broken_by(watchlist: Watchlist, edited: WatchlistConfig, passing: set[tuple[str, int]]) -> list[str]:
    """The `passing` examples that fail once the watchlist is edited, each where it is and why."""
    after = run_examples([Watchlist(path=watchlist.path, config=edited, document=watchlist.document)])
    return [result.describe() for result in after if (result.kind, result.position) in passing and not result.passed]


def _alerting(watchlist: Watchlist, stories: Sequence[Story], edit: Edit | None = None) -> set[str]:
    config = edit.apply(watchlist.config) if edit else watchlist.config
    matcher = Matcher([Watchlist(path=watchlist.path, config=config)])
    return {story.id for story in stories if matcher.match_story(story)}


def _candidates(watchlist: Watchlist, wrong: Sequence[Story], right: Sequence[Story]) -> list[Edit]:
    matcher = Matcher([watchlist])
    edits: list[Edit] = []
    for story in wrong:
        (evaluation,) = matcher.evaluate(story_fields(story))
        for vendor_name, forms in evaluation.vendors.items():
            vendor = next(vendor for vendor in watchlist.config.vendors if vendor.name == vendor_name)
            # "Mitto" + "AG" is the vendor's own name "Mitto AG": excluding it excludes every mention.
            own = {form.casefold() for form in vendor.forms()}
            edits += [
                Edit("exclude", vendor_name, (phrase,))
                for phrase in _phrases_around(story, forms)
                if phrase.casefold() not in own
            ]
            words = _context_words(vendor, wrong, right)
            if words:
                edits.append(Edit("context", vendor_name, words))
        for hit in evaluation.fired:
            rule = next(rule for rule in watchlist.config.rules if rule.name == hit.rule)
            edits += _nearer(rule)
    return edits


def _phrases_around(story: Story, forms: Sequence[str]) -> list[str]:
    """ "Orange juice", "blood orange": the vendor's word with the word after it, and before it."""
    phrases = []
    for text in story_fields(story).values():
        words = _WORD.findall(plain(text))
        folded = [word.casefold() for word in words]
        for form in forms:
            parts = form.casefold().split()
            for start in range(len(folded) - len(parts) + 1):
                if folded[start : start + len(parts)] != parts:
                    continue
                if start + len(parts) < len(words):
                    phrases.append(" ".join(words[start : start + len(parts) + 1]))
                if start > 0:
                    phrases.append(" ".join(words[start - 1 : start + len(parts)]))
    return list(dict.fromkeys(phrases))


def _context_words(vendor: VendorConfig, wrong: Sequence[Story], right: Sequence[Story]) -> tuple[str, ...]:
    """Words most relevant alerts share and no false alarm has: what tells this vendor's industry."""
    if not right:
        return ()
    wrong_words = set().union(*(_story_words(story) for story in wrong))
    counts = Counter(word for story in right for word in _story_words(story) - wrong_words)
    taken = {term.casefold() for term in (*vendor.forms(), *vendor.context)}
    shared = [
        word
        for word, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))  # ties: by word, not hash order
        if count * 2 >= len(right) and word not in taken and wordfreq.zipf_frequency(word, "en") < SPECIFIC_ZIPF
    ]
    return tuple(shared[:MAX_CONTEXT_WORDS])


def _story_words(story: Story) -> set[str]:
    return {word.casefold() for text in story_fields(story).values() for word in _WORD.findall(plain(text))}


def _nearer(rule: RuleConfig) -> list[Edit]:
    tighter = [near for near in NEAR_CANDIDATES if rule.near is None or near < rule.near]
    return [Edit("near", rule.name, near=near) for near in tighter]
