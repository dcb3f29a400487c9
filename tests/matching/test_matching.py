"""newsbot.matching.matcher.Matcher over real watchlists loaded from YAML, no mocks.

Every table row states the rules that must fire for a text; an empty set means nothing fires.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.configuration.watchlists import Watchlist, load_watchlist
from newsbot.matching.matcher import Evaluation, Matcher
from newsbot.models import Severity, Story
from tests.conftest import REPOSITORY

EXAMPLE = REPOSITORY / "examples" / "watchlists" / "sms-vendors.yaml"

VS = "vendor-surveillance"
VB = "vendor-breach"


def write_watchlist(folder: Path, name: str, text: str) -> Watchlist:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_watchlist(path)


def fired(evaluation: Evaluation) -> set[str]:
    return {hit.rule for hit in evaluation.fired}


@pytest.fixture(scope="module")
def example() -> Matcher:
    return Matcher([load_watchlist(EXAMPLE)])


# --------------------------------------------------------------------------------------------
# The example watchlist: whole words, case folding, possessives, phrases, context, URLs.
# --------------------------------------------------------------------------------------------

EXAMPLE_TABLE = [
    # The vendor alias "Mitto", in the forms news uses.
    ("Mitto's co-founder sold SS7 access", {VS}),
    ("MITTO SOLD SS7 ACCESS", {VS}),
    ("Mitto\u2019s co-founder sold SS7 access", {VS}),  # curly apostrophe
    ("MITTO\u2019S CO-FOUNDER SOLD SS7 ACCESS", {VS}),
    ("A Mitto-linked firm was hacked", {VB}),
    ("A Mitto\u2011linked firm used SS7", {VS}),  # non-breaking hyphen
    ("the aggregator mitto was hacked", {VB}),
    ("Mitto AG was hacked; SS7 spyware too", {VS, VB}),
    ("\uff2d\uff49\uff54\uff54\uff4f used SS7", {VS}),  # fullwidth letters fold by NFKC
    # Longer or extended words are other words.
    ("Mittova used SS7", set()),
    ("Mittoni was hacked", set()),
    ("kaleyrax breach reported", set()),
    ("Kaleyra breach reported", {VB}),
    ("KALEYRA'S RANSOMWARE", {VB}),
    ("Kaleyra SS7s", set()),  # 'SS7s' is not the word 'SS7'
    # Punctuation around words.
    ("(Mitto) [SS7]", {VS}),
    ('"Mitto," the report said; SS7!', {VS}),
    ("Kaleyra: leaked.", {VB}),
    ("\u00abMitto\u00bb \u2014 spyware\u2026", {VS}),
    # Multi-word terms: any whitespace between the words, but no other word.
    ("Kaleyra used to locate phones", {VS}),
    ("Kaleyra used to locate     phones", {VS}),
    ("Kaleyra used to locate\nphones", {VS}),
    ("Kaleyra used to locate\n\n\t phones", {VS}),
    ("Kaleyra used to locate the phones", set()),
    ("Kaleyra exposed call logs", {VS}),
    ("Kaleyra exposed call\r\nlogs", {VS}),
    ("Kaleyra exposed call data and logs", set()),
    # "Bird" counts only with a context word anywhere in the story; "MessageBird" always counts.
    ("Bird used spyware", set()),
    ("Birdie SMS spyware", set()),
    ("Bird SMS spyware", {VS}),
    ("Bird messaging platform leaked", {VB}),
    ("Bird's CPaaS arm was hacked", {VB}),
    ("Spyware at Bird.\n\nLater in the story: the cpaas market shrank.", {VS}),
    ("MessageBird spyware", {VS}),
    ("MESSAGEBIRD BREACH", {VB}),
    ("Bird spyware, see https://example.com/sms", set()),  # context word only in a URL
    # Words inside URLs never count.
    ("https://example.com/mitto-ss7", set()),
    ("HTTPS://EXAMPLE.COM/MITTO-SS7 breach", set()),
    ("Read https://example.com/mitto-ss7 now: Kaleyra hacked", {VB}),
    ("Kaleyra (https://example.com/ss7-breach)", set()),
    ("Kaleyra, www.example.com/spyware", set()),
    # No vendor, no alert.
    ("SS7 breach at an unnamed aggregator", set()),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLE_TABLE, ids=[row[0][:40] for row in EXAMPLE_TABLE])
def test_example_watchlist(example: Matcher, text: str, expected: set[str]) -> None:
    [evaluation] = example.evaluate_text(text)
    assert fired(evaluation) == expected


def test_example_table_is_large_enough() -> None:
    assert len(EXAMPLE_TABLE) >= 30


# --------------------------------------------------------------------------------------------
# Unicode case folding (and whole words in scripts with combining marks).
# --------------------------------------------------------------------------------------------

UNICODE_WATCHLIST = """\
name: Unicode vendors
vendors:
  - name: Straße AG
  - name: Zürich Telecom
  - name: Οδυσσεύς Net
  - name: भारती
topics:
  breach: [breach]
rules:
  - name: vendor-breach
    all: [vendors, breach]
"""

UNICODE_TABLE = [
    ("STRASSE AG breach", "Straße AG"),
    ("Strasse AG breach", "Straße AG"),
    ("STRA\u1e9eE AG breach", "Straße AG"),  # capital sharp s
    ("straße ag breach", "Straße AG"),
    ("Straße breach", None),  # the vendor name is two words
    ("ZÜRICH TELECOM breach", "Zürich Telecom"),
    ("zürich telecom breach", "Zürich Telecom"),
    ("ZU\u0308RICH TELECOM breach", "Zürich Telecom"),  # decomposed Ü
    ("οδυσσεύς net breach", "Οδυσσεύς Net"),
    ("ΟΔΥΣΣΕΎΣ NET breach", "Οδυσσεύς Net"),  # final sigma folds like sigma
    ("भारती breach", "भारती"),
    # 'भारत' (Bharat, India) is a different word from 'भारती' (Bharti): must not match.
    ("भारत breach", None),
]


@pytest.mark.parametrize(
    ("text", "vendor"),
    UNICODE_TABLE,
    ids=[row[0].encode("ascii", "backslashreplace").decode() for row in UNICODE_TABLE],
)
def test_unicode_case_folding(tmp_path: Path, text: str, vendor: str | None) -> None:
    matcher = Matcher([write_watchlist(tmp_path, "unicode", UNICODE_WATCHLIST)])
    [evaluation] = matcher.evaluate_text(text)
    assert list(evaluation.vendors) == ([vendor] if vendor else [])
    assert fired(evaluation) == ({"vendor-breach"} if vendor else set())


# --------------------------------------------------------------------------------------------
# any:, none: and inline words, on a custom watchlist.
# --------------------------------------------------------------------------------------------

RULES_WATCHLIST = """\
name: Rules
vendors:
  - name: Kaleyra
topics:
  fraud: [fraud, "SIM swap"]
  deals: [merger, takeover]
rules:
  - name: either
    any: ["alpha", "beta gamma"]
    severity: low
  - name: fraud-not-acquisition
    all: [vendors, fraud]
    none: ["acquisition"]
    severity: high
  - name: fraud-not-deal
    all: [vendors, fraud]
    none: [deals]
  - name: inline-phrase
    all: [vendors, "SIM box"]
    any: ["Nigeria", "Ghana"]
    severity: critical
"""

RULES_TABLE = [
    ("alpha", {"either"}),
    ("beta gamma", {"either"}),
    ("ALPHA and Beta Gamma", {"either"}),
    ("beta, then delta gamma", set()),
    ("alphabet", set()),
    ("Kaleyra fraud", {"fraud-not-acquisition", "fraud-not-deal"}),
    ("Kaleyra SIM swap fraud", {"fraud-not-acquisition", "fraud-not-deal"}),
    ("Kaleyra fraud after the acquisition", {"fraud-not-deal"}),
    ("Kaleyra fraud after the merger", {"fraud-not-acquisition"}),
    ("Kaleyra acquisition takeover fraud", set()),
    ("Kaleyra SIM box in Ghana", {"inline-phrase"}),
    ("Kaleyra sim   box in NIGERIA", {"inline-phrase"}),
    ("Kaleyra SIM box in Kenya", set()),  # all: satisfied, any: not
    ("SIM box in Ghana", set()),  # no vendor
    ("Kaleyra SIM card box in Ghana", set()),
]


@pytest.mark.parametrize(("text", "expected"), RULES_TABLE, ids=[row[0] for row in RULES_TABLE])
def test_all_any_none_and_inline_words(tmp_path: Path, text: str, expected: set[str]) -> None:
    matcher = Matcher([write_watchlist(tmp_path, "rules", RULES_WATCHLIST)])
    [evaluation] = matcher.evaluate_text(text)
    assert fired(evaluation) == expected


NOT_FIRED_TABLE = [
    # (text, rule, words the reason must contain)
    ("Kaleyra fraud after the acquisition", "fraud-not-acquisition", ["acquisition"]),
    ("Kaleyra fraud after the takeover", "fraud-not-deal", ["deals", "takeover"]),
    ("Kaleyra SIM box in Kenya", "inline-phrase", ["none of", "Nigeria", "Ghana"]),
    ("fraud", "fraud-not-acquisition", ["no vendor matched"]),
    ("Kaleyra", "fraud-not-acquisition", ["no 'fraud' term matched"]),
    ("Kaleyra Ghana", "inline-phrase", ['no word "SIM box" matched']),
    ("nothing here", "either", ["none of", "alpha", "beta gamma"]),
]


@pytest.mark.parametrize(("text", "rule", "words"), NOT_FIRED_TABLE, ids=[row[0] for row in NOT_FIRED_TABLE])
def test_not_fired_reason_names_the_word(tmp_path: Path, text: str, rule: str, words: list[str]) -> None:
    matcher = Matcher([write_watchlist(tmp_path, "rules", RULES_WATCHLIST)])
    [evaluation] = matcher.evaluate_text(text)
    assert rule not in fired(evaluation)
    reason = evaluation.not_fired[rule]
    for word in words:
        assert word in reason


def test_inline_word_terms_are_reported(tmp_path: Path) -> None:
    matcher = Matcher([write_watchlist(tmp_path, "rules", RULES_WATCHLIST)])
    [evaluation] = matcher.evaluate_text("Kaleyra SIM box in Ghana")
    [hit] = evaluation.fired
    assert hit.rule == "inline-phrase"
    assert hit.severity is Severity.CRITICAL
    assert set(hit.terms) == {"Kaleyra", "SIM box", "Ghana"}
    assert "SIM box" not in evaluation.topics  # inline words belong to their rule, not to a topic


# --------------------------------------------------------------------------------------------
# A story alerts once per watchlist.
# --------------------------------------------------------------------------------------------

SEVERITY_WATCHLIST = """\
name: Severities
vendors:
  - name: Kaleyra
rules:
  - name: r-low
    all: [vendors, "lowword"]
    severity: low
  - name: r-medium
    all: [vendors, "mediumword"]
  - name: r-high
    all: [vendors, "highword"]
    severity: high
  - name: r-critical
    all: [vendors, "criticalword"]
    severity: critical
"""

SEVERITY_TABLE = [
    ("Kaleyra lowword", {"r-low"}, Severity.LOW),
    ("Kaleyra mediumword", {"r-medium"}, Severity.MEDIUM),
    ("Kaleyra lowword mediumword", {"r-low", "r-medium"}, Severity.MEDIUM),
    ("Kaleyra highword lowword", {"r-low", "r-high"}, Severity.HIGH),
    ("Kaleyra lowword criticalword mediumword", {"r-low", "r-medium", "r-critical"}, Severity.CRITICAL),
    (
        "Kaleyra criticalword highword mediumword lowword",
        {"r-low", "r-medium", "r-high", "r-critical"},
        Severity.CRITICAL,
    ),
]


def story(title: str = "", summary: str = "", text: str = "") -> Story:
    return Story(id="s1", url="https://example.org/s1", title=title, summary=summary, text=text, source="Test Wire")


@pytest.mark.parametrize(("text", "rules", "severity"), SEVERITY_TABLE, ids=[row[0] for row in SEVERITY_TABLE])
def test_one_match_per_watchlist_with_highest_severity(
    tmp_path: Path, text: str, rules: set[str], severity: Severity
) -> None:
    matcher = Matcher([write_watchlist(tmp_path, "severity", SEVERITY_WATCHLIST)])
    matches = matcher.match_story(story(text=text))
    assert len(matches) == 1
    [match] = matches
    assert match.watchlist == "Severities"
    assert {hit.rule for hit in match.rules} == rules
    assert match.severity is severity


MATCH_TERMS_TABLE = [
    # (title, summary, text, rules, exact Match.terms)
    ("Mitto AG hacked", "SS7 spyware", "", {VS, VB}, ("Mitto AG", "SS7", "spyware", "hacked")),
    (
        "Mitto hacked",
        "Mitto sold SS7 access",
        "Mitto again",
        {VS, VB},
        ("Mitto AG (as Mitto)", "SS7", "hacked"),
    ),
    (
        "Kaleyra and Mitto leaked",
        "",
        "Kaleyra SS7 breach",
        {VS, VB},
        ("Mitto AG (as Mitto)", "Kaleyra", "SS7", "breach", "leaked"),
    ),
]


@pytest.mark.parametrize(
    ("title", "summary", "text", "rules", "terms"),
    MATCH_TERMS_TABLE,
    ids=[row[0] for row in MATCH_TERMS_TABLE],
)
def test_match_names_every_rule_and_deduplicates_terms(
    example: Matcher, title: str, summary: str, text: str, rules: set[str], terms: tuple[str, ...]
) -> None:
    [match] = example.match_story(story(title, summary, text))
    assert {hit.rule for hit in match.rules} == rules
    assert match.severity is Severity.HIGH
    assert match.terms == terms
    assert len(match.terms) == len(set(match.terms))
    every = [term for hit in match.rules for term in hit.terms]
    assert len(every) > len(match.terms)  # the rules share the vendor term; the match names it once


def test_no_match_when_nothing_fires(example: Matcher) -> None:
    assert example.match_story(story("SS7 hacked", "no vendor here")) == []


# --------------------------------------------------------------------------------------------
# Evaluation details for `newsbot explain`.
# --------------------------------------------------------------------------------------------

EXPLAIN_TABLE = [
    ("Mitto's co-founder sold SS7 access", "vendors", {"Mitto AG": ["Mitto"]}),
    ("Mitto AG sold SS7 access", "vendors", {"Mitto AG": ["Mitto AG", "Mitto"]}),
    ("Bird SMS outage", "vendors", {"MessageBird": ["Bird"]}),
    ("MessageBird and Kaleyra", "vendors", {"MessageBird": ["MessageBird"], "Kaleyra": ["Kaleyra"]}),
    ("Bird spyware", "vendors", {}),
    (
        "spyware used to locate phones; ransomware",
        "topics",
        {"surveillance": ["locate phones", "spyware"], "breach": ["ransomware"]},
    ),
    ("nothing relevant", "topics", {}),
    ("SS7 surveillance", "not_fired", {VS: "no vendor matched", VB: "no vendor matched"}),
    ("Kaleyra SS7", "not_fired", {VB: "no 'breach' term matched"}),
    ("Kaleyra hacked", "not_fired", {VS: "no 'surveillance' term matched"}),
    ("Bird spyware", "near_misses", ["Bird: no context word (SMS, messaging, CPaaS) for MessageBird"]),
    ("Bird SMS spyware", "near_misses", []),
    ("Mitto spyware", "near_misses", []),
]


@pytest.mark.parametrize(
    ("text", "attribute", "expected"), EXPLAIN_TABLE, ids=[f"{row[1]}:{row[0]}" for row in EXPLAIN_TABLE]
)
def test_evaluation_details(example: Matcher, text: str, attribute: str, expected: object) -> None:
    [evaluation] = example.evaluate_text(text)
    assert evaluation.watchlist == "SMS and 2FA vendors"
    value = getattr(evaluation, attribute)
    if attribute == "topics":
        assert {topic: sorted(found) for topic, found in value.items()} == expected
    else:
        assert value == expected


def test_explain_near_miss_wording(example: Matcher) -> None:
    [evaluation] = example.evaluate_text("Bird spyware")
    assert any("Bird: no context word" in miss for miss in evaluation.near_misses)
    assert fired(evaluation) == set()


# --------------------------------------------------------------------------------------------
# Two watchlists at once.
# --------------------------------------------------------------------------------------------

FIRST = """\
name: First
vendors:
  - name: Mitto AG
    aliases: [Mitto]
topics:
  surveillance: [SS7]
rules:
  - name: first-rule
    all: [vendors, surveillance]
    severity: high
"""

SECOND = """\
name: Second
vendors:
  - name: Kaleyra
  - name: Acme
    aliases: [Bird]
    context: [telecom]
topics:
  signalling: [SS7, Diameter]
rules:
  - name: second-rule
    all: [vendors, signalling]
    severity: low
  - name: second-inline
    any: ["SS7"]
"""

TWO_TABLE = [
    # (text, fired in First, fired in Second)
    ("Mitto SS7", {"first-rule"}, {"second-inline"}),
    ("Kaleyra SS7", set(), {"second-rule", "second-inline"}),
    ("Mitto and Kaleyra SS7", {"first-rule"}, {"second-rule", "second-inline"}),
    ("Kaleyra Diameter", set(), {"second-rule"}),
    ("Mitto Diameter", set(), set()),
    ("Bird SS7 telecom", set(), {"second-rule", "second-inline"}),  # context is Second's own
    ("nothing", set(), set()),
]


@pytest.mark.parametrize(("text", "first", "second"), TWO_TABLE, ids=[row[0] for row in TWO_TABLE])
def test_two_watchlists_are_independent(tmp_path: Path, text: str, first: set[str], second: set[str]) -> None:
    matcher = Matcher([write_watchlist(tmp_path, "first", FIRST), write_watchlist(tmp_path, "second", SECOND)])
    one, two = matcher.evaluate_text(text)
    assert (one.watchlist, two.watchlist) == ("First", "Second")
    assert fired(one) == first
    assert fired(two) == second
    matches = matcher.match_story(story(text=text))
    assert [match.watchlist for match in matches] == [
        name for name, rules in (("First", first), ("Second", second)) if rules
    ]


def test_same_term_hits_in_both_watchlists(tmp_path: Path) -> None:
    matcher = Matcher([write_watchlist(tmp_path, "first", FIRST), write_watchlist(tmp_path, "second", SECOND)])
    one, two = matcher.evaluate_text("Mitto and Kaleyra SS7")
    assert one.topics == {"surveillance": ["SS7"]}
    assert two.topics["signalling"] == ["SS7"]
    assert set(two.topics) == {"signalling"}  # the inline "SS7" belongs to its rule
    assert "SS7" in one.fired[0].terms
    assert "SS7" in {term for hit in two.fired for term in hit.terms}


# --------------------------------------------------------------------------------------------
# Title, summary and text are scanned separately.
# --------------------------------------------------------------------------------------------

FIELDS_TABLE = [
    # (title, summary, text, fired)
    ("Kaleyra used to locate", "phones across Europe", "", set()),
    ("Kaleyra exposed call", "", "logs of customers", set()),
    ("Kaleyra news", "locate phones", "", {VS}),
    ("Kaleyra", "", "call logs", {VS}),  # vendor in one field, term in another: both count
    ("Bird platform", "spyware", "messaging", {VS}),  # context may be in any field
    ("Mitto", "AG", "", set()),  # the two-word name split across fields is not the name...
]


@pytest.mark.parametrize(
    ("title", "summary", "text", "expected"),
    FIELDS_TABLE,
    ids=[f"{row[0]}|{row[1]}|{row[2]}" for row in FIELDS_TABLE],
)
def test_fields_are_scanned_separately(
    example: Matcher, title: str, summary: str, text: str, expected: set[str]
) -> None:
    matches = example.match_story(story(title, summary, text))
    assert {hit.rule for match in matches for hit in match.rules} == expected


def test_two_word_name_split_across_fields_is_only_the_alias(example: Matcher) -> None:
    [evaluation] = example.evaluate_text("Mitto", "AG")
    assert evaluation.vendors == {"Mitto AG": ["Mitto"]}
    [evaluation] = example.evaluate_text("Mitto AG")
    assert evaluation.vendors == {"Mitto AG": ["Mitto AG", "Mitto"]}


NEAR_PAIRS = """\
name: Near pairs
vendors:
  - name: Mitto AG
    aliases: [Mitto]
  - name: Kaleyra
topics:
  breach: [breach, hacked]
rules:
  - name: close
    all: [vendors, breach]
    near: 2
"""


def test_a_rule_too_far_apart_names_its_nearest_pair(tmp_path: Path) -> None:
    """What raising near: would fire: the nearest vendor and term, not the first of each found."""
    matcher = Matcher([write_watchlist(tmp_path, "near", NEAR_PAIRS)])
    filler = " ".join(["word"] * 12)
    text = f"Mitto {filler} breach. {filler} Kaleyra said on Monday it was hacked."
    (evaluation,) = matcher.evaluate_text(text)
    assert evaluation.not_fired["close"] == "'Kaleyra' and 'hacked' are 6 words apart (near: 2)"
