"""The labelled evaluation set: precision and recall of the example watchlists on hand-written stories.

tests/data/evaluation/headlines.jsonl holds stories written in our own words (see its README), each
labelled with the rules of each example watchlist that an analyst would want to fire. Scoring is
over (item, watchlist, rule) triples: a triple the matcher fires and the label lists is a true
positive, one it fires that the label does not list is a false positive, and one the label lists
that the matcher does not fire is a false negative. Run `pytest -s tests/matching/test_evaluation.py` to see
the scores and every miss.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching.matcher import Matcher
from tests.conftest import REPOSITORY

WATCHLIST_FILES = (
    REPOSITORY / "examples" / "watchlists" / "sms-vendors.yaml",
    REPOSITORY / "examples" / "watchlists" / "telecom-threats.yaml",
)
DATASET = REPOSITORY / "tests" / "data" / "evaluation" / "headlines.jsonl"

MIN_PRECISION = 0.95
MIN_RECALL = 0.95
MIN_ITEMS = 150
MIN_DECOYS = 60


def load_items() -> list[dict[str, Any]]:
    with DATASET.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def declared_rules() -> dict[str, set[str]]:
    """Rule names per watchlist name, read from the YAML files themselves (not from the engine)."""
    rules = {}
    for path in WATCHLIST_FILES:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        rules[data["name"]] = {rule["name"] for rule in data["rules"]}
    return rules


def is_decoy(item: dict[str, Any]) -> bool:
    return not any(item["expect"].values())


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher([load_watchlist(path) for path in WATCHLIST_FILES])


def fired_rules(matcher: Matcher, text: str) -> dict[str, set[str]]:
    return {evaluation.watchlist: {hit.rule for hit in evaluation.fired} for evaluation in matcher.evaluate_text(text)}


# --------------------------------------------------------------------------------------------
# The data set itself: well formed, large enough, and labelled with rules that exist.
# --------------------------------------------------------------------------------------------


def test_items_are_well_formed() -> None:
    items = load_items()
    watchlists = set(declared_rules())
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)), "duplicate ids"
    texts = [item["text"] for item in items]
    assert len(texts) == len(set(texts)), "duplicate texts"
    for item in items:
        assert set(item) == {"id", "text", "origin", "expect"}, item["id"]
        assert item["text"].strip() and item["origin"].strip(), item["id"]
        assert set(item["expect"]) == watchlists, f"{item['id']}: expect must label every watchlist"
        for rules in item["expect"].values():
            assert isinstance(rules, list) and len(rules) == len(set(rules)), item["id"]


def test_set_is_large_enough_with_enough_decoys() -> None:
    items = load_items()
    decoys = [item for item in items if is_decoy(item)]
    assert len(items) >= MIN_ITEMS, f"{len(items)} items"
    assert len(decoys) >= MIN_DECOYS, f"{len(decoys)} decoys"


def test_every_labelled_rule_exists() -> None:
    rules = declared_rules()
    unknown = [
        f"{item['id']}: {watchlist} / {rule}"
        for item in load_items()
        for watchlist, labelled in item["expect"].items()
        for rule in labelled
        if rule not in rules.get(watchlist, set())
    ]
    assert not unknown, "labels name rules that no watchlist defines:\n" + "\n".join(unknown)


def test_every_rule_is_exercised_by_a_positive_label() -> None:
    labelled = {(watchlist, rule) for item in load_items() for watchlist, rs in item["expect"].items() for rule in rs}
    declared = {(watchlist, rule) for watchlist, rules in declared_rules().items() for rule in rules}
    assert declared <= labelled, f"rules no item expects to fire: {sorted(declared - labelled)}"


# --------------------------------------------------------------------------------------------
# Precision and recall of the matcher against the labels.
# --------------------------------------------------------------------------------------------


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float:
        fired = self.true_positives + self.false_positives
        return self.true_positives / fired if fired else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0

    def line(self, label: str) -> str:
        return (
            f"{label}: precision {self.precision:.3f}, recall {self.recall:.3f} "
            f"(tp {self.true_positives}, fp {self.false_positives}, fn {self.false_negatives})"
        )


def test_precision_and_recall(matcher: Matcher) -> None:
    total = Score()
    per_watchlist: dict[str, Score] = {}
    misses: list[str] = []
    for item in load_items():
        fired = fired_rules(matcher, item["text"])
        for watchlist, labelled in item["expect"].items():
            expected, got = set(labelled), fired.get(watchlist, set())
            score = per_watchlist.setdefault(watchlist, Score())
            for tally in (total, score):
                tally.true_positives += len(expected & got)
                tally.false_positives += len(got - expected)
                tally.false_negatives += len(expected - got)
            misses += [f"FP {item['id']} {watchlist} / {rule}: {item['text']}" for rule in sorted(got - expected)]
            misses += [f"FN {item['id']} {watchlist} / {rule}: {item['text']}" for rule in sorted(expected - got)]
    report = "\n".join(
        [
            total.line("all watchlists"),
            *(score.line(watchlist) for watchlist, score in per_watchlist.items()),
            *misses,
        ]
    )
    print("\n" + report)
    assert total.precision >= MIN_PRECISION and total.recall >= MIN_RECALL, report


def test_the_set_mixes_real_paraphrases_fiction_and_decoys() -> None:
    """A set of one kind would measure one kind: each origin is a real share, and half the items are
    ones that must not alert (the decoys and the synthetic near-misses), so precision is measured."""
    items = load_items()
    kinds = Counter(item["origin"].split(" ", 1)[0].split(":", 1)[0] for item in items)
    decoys = sum(is_decoy(item) for item in items)
    print(f"\n{len(items)} items, {decoys} decoys, origins: {dict(kinds)}")  # for the README (pytest -s)
    assert set(kinds) == {"synthetic", "paraphrase", "decoy"}
    assert all(count >= len(items) // 5 for count in kinds.values()), kinds
    assert len(items) // 3 <= decoys <= 2 * len(items) // 3


# --------------------------------------------------------------------------------------------
# Each watchlist's own `examples:` behave as declared.
# --------------------------------------------------------------------------------------------


def declared_examples() -> list[tuple[str, str, bool]]:
    examples = []
    for path in WATCHLIST_FILES:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        declared = data.get("examples") or {}
        examples += [(data["name"], text, True) for text in declared.get("match") or []]
        examples += [(data["name"], text, False) for text in declared.get("no_match") or []]
    return examples


def test_telecom_threats_declares_examples() -> None:
    declared = [match for name, _, match in declared_examples() if name == "Telecom threats"]
    assert declared.count(True) >= 3 and declared.count(False) >= 3


@pytest.mark.parametrize(
    ("watchlist", "text", "should_match"),
    declared_examples(),
    ids=[f"{name}:{'match' if match else 'no_match'}:{text[:30]}" for name, text, match in declared_examples()],
)
def test_watchlist_examples_behave_as_declared(matcher: Matcher, watchlist: str, text: str, should_match: bool) -> None:
    fired = fired_rules(matcher, text)[watchlist]
    if should_match:
        assert fired, f"{watchlist}: example should fire at least one rule: {text}"
    else:
        assert not fired, f"{watchlist}: example should fire no rule, fired {sorted(fired)}: {text}"
