"""Plurals of topic words: a hyphen ends a word as a space does ("zero-day" finds "zero-days")."""

from __future__ import annotations

import pytest

from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching.matcher import Matcher
from newsbot.matching.plurals import number_forms, plural_forms
from tests.conftest import REPOSITORY


@pytest.mark.parametrize(
    ("term", "plurals"),
    [
        ("breach", ("breaches",)),
        ("SIM swap", ("SIM swaps",)),
        ("zero-day", ("zero-days",)),
        ("SIM-swap", ("SIM-swaps",)),
        ("port-out fraud", ("port-out frauds",)),
        ("cve-", ()),
        ("2FA", ()),
    ],
)
def test_the_last_word_after_a_space_or_a_hyphen_is_made_plural(term: str, plurals: tuple[str, ...]) -> None:
    assert plural_forms(term) == plurals


def test_a_hyphenated_context_word_stands_for_its_singular_too() -> None:
    assert "log-out" in number_forms("log-outs")


def test_the_shipped_watchlist_finds_zero_days() -> None:
    """Before, `zero-day` and `SIM-swap` got no plural: "Signal patches two zero-days" found no topic."""
    matcher = Matcher([load_watchlist(REPOSITORY / "examples" / "watchlists" / "carriers-and-apps.yaml")])
    (evaluation,) = matcher.evaluate_text("Signal patches two zero-days used to spy on encrypted chats")
    assert "vendor-flaw" in {hit.rule for hit in evaluation.fired}, evaluation.not_fired
