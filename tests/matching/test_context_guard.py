"""`context:` guards a vendor's name and every alias; `unambiguous:` forms count alone; explain says which."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.configuration.watchlists import load_watchlist
from newsbot.errors import ConfigError
from newsbot.matching.explain import describe_evaluations
from newsbot.matching.matcher import ANY_FIELD, Matcher

WATCHLIST = """\
name: Operators
vendors:
  - name: Orange
    aliases: [Orange SA]
    context: [operator, telecom, mobile, broadband]
    near: 12
    unambiguous: [Orange Business, orange cyberdefense]
  - name: Bandwidth
    context: [CPaaS, carrier, "911"]
  - name: Kaleyra
topics:
  breach: [breach, breached, hackers, leaked]
  ddos: [DDoS]
rules:
  - name: vendor-breach
    all: [vendors, breach]
  - name: vendor-ddos
    all: [vendors, ddos]
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "operators.yaml"
    file.write_text(WATCHLIST, encoding="utf-8")
    return file


@pytest.fixture
def matcher(path: Path) -> Matcher:
    return Matcher([load_watchlist(path)])


def fired(matcher: Matcher, text: str) -> set[str]:
    (evaluation,) = matcher.evaluate_text(text)
    return {hit.rule for hit in evaluation.fired}


@pytest.mark.parametrize(
    "text",
    [
        "Orange juice prices hit record as hackers target logistics firms",  # the false alarm
        "Orange SA juice? No: hackers leaked a recipe database",  # an alias is guarded as the name is
        "DDoS floods eat Bandwidth at small ISPs",
        "Orange alert issued; hackers breached a water utility 40 words later, far from any"
        + " filler" * 20
        + " mobile operator",  # the context word is more than near: 12 words away
    ],
)
def test_a_guarded_name_without_its_context_word_does_not_count(matcher: Matcher, text: str) -> None:
    assert fired(matcher, text) == set()


@pytest.mark.parametrize(
    ("text", "rules"),
    [
        ("Orange, the French mobile operator, says hackers breached a customer database", {"vendor-breach"}),
        ("Orange SA broadband customers' data leaked", {"vendor-breach"}),
        ("Orange Business confirms hackers breached a portal", {"vendor-breach"}),  # counts alone
        ("ORANGE CYBERDEFENSE data leaked", {"vendor-breach"}),  # listed in lower case, matched in any case
        ("DDoS hits Bandwidth, the CPaaS carrier behind many 911 services", {"vendor-ddos"}),
        ("Kaleyra breached", {"vendor-breach"}),  # no context: the name counts alone, as before
    ],
)
def test_a_guarded_name_with_its_context_word_or_an_unambiguous_form_counts(
    matcher: Matcher, text: str, rules: set[str]
) -> None:
    assert fired(matcher, text) == rules


def test_explain_says_which_forms_are_guarded_and_which_count_alone(matcher: Matcher) -> None:
    text = "Orange juice: hackers target Orange Business and Bandwidth"
    explained = describe_evaluations(matcher.watchlists, matcher.evaluate_text(text), {ANY_FIELD: text})
    assert (
        "  guarded: Orange: Orange, Orange SA count only within 12 words of a context word "
        "(operator, telecom, mobile, broadband); Orange Business, orange cyberdefense count alone"
    ) in explained
    assert "  guarded: Bandwidth: Bandwidth counts only with a context word (CPaaS, carrier, 911)" in explained
    assert "near miss: Orange: no context word within 12 words (operator, telecom, mobile, broadband) for Orange" in (
        explained
    )
    assert "MATCH    vendor-breach (medium): Orange (as Orange Business), hackers" in explained
    assert "guarded: Kaleyra" not in explained


def test_unambiguous_forms_need_context_to_mean_anything(path: Path) -> None:
    path.write_text(WATCHLIST.replace('    context: [CPaaS, carrier, "911"]\n', "    unambiguous: [Bandwidth Inc]\n"))
    with pytest.raises(ConfigError) as caught:
        load_watchlist(path)
    assert str(caught.value).startswith(f"{path}:8: ")
    assert "vendor 'Bandwidth' lists unambiguous: forms but has no context: words" in str(caught.value)


@pytest.mark.parametrize(
    ("context", "text", "counts"),
    [
        ("users", "Signal says one user was targeted by hackers", True),  # a plural context word finds the singular
        ("user", "Signal says users were targeted by hackers", True),  # and a singular the plural
        ("carriers", "Signal carrier hackers", True),
        ("Paris", "Signal Pari hackers", False),  # a capitalised word is a name: no singular made up
        ("SMS", "Signal SM hackers", False),
        ("business", "Signal busines hackers", False),  # "-ss" is not a plural
    ],
)
def test_context_words_stand_for_their_singular_and_plural(
    tmp_path: Path, context: str, text: str, counts: bool
) -> None:
    path = tmp_path / "signal.yaml"
    path.write_text(
        f"name: S\nvendors:\n  - name: Signal\n    context: [{context}]\n"
        "topics:\n  breach: [hackers]\nrules:\n  - name: r\n    all: [vendors, breach]\n",
        encoding="utf-8",
    )
    (evaluation,) = Matcher([load_watchlist(path)]).evaluate_text(text)
    assert bool(evaluation.fired) is counts
