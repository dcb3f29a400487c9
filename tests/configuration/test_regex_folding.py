"""A {regex:} runs on folded text (hyphens and dashes as spaces, accents gone, curly quotes plain):
`check` warns about a pattern with a character that text never holds, and what it says to write
matches what the pattern was meant to."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching.matcher import Matcher

WATCHLIST = """\
name: Patterns
vendors:
  - name: Kaleyra
topics:
  fraud: [{regex: 'PATTERN'}]
rules:
  - name: vendor-fraud
    all: [vendors, fraud]
"""


def watchlist_with(tmp_path: Path, pattern: str) -> Path:
    path = tmp_path / f"patterns-{abs(hash(pattern))}.yaml"
    path.write_text(WATCHLIST.replace("PATTERN", pattern), encoding="utf-8")
    return path


def fires(path: Path, text: str) -> bool:
    (evaluation,) = Matcher([load_watchlist(path)]).evaluate_text(text)
    return bool(evaluation.fired)


@pytest.mark.parametrize(
    ("pattern", "characters", "suggested", "text"),
    [
        ("toll-fraud", "'-'", "toll fraud", "Kaleyra flags toll-fraud on its trunks"),
        (r"CVE-\d{4}-\d{4,}", "'-'", r"CVE \d{4} \d{4,}", "Kaleyra patches CVE-2024-12345"),
        ("Zürich", "'ü'", "Zurich", "Kaleyra opens a Zürich office"),
        ("“Operation Cobalt”", "'“', '”'", '"Operation Cobalt"', "Kaleyra named in “Operation Cobalt”"),
        (r"sms\-pumping", "'-'", r"sms\ pumping", "Kaleyra sees SMS-pumping surge"),
        ("straße", "'ß'", "strasse", "Kaleyra moved to Straße 12 in Berlin"),
        ("ﬁrewall", "'ﬁ'", "firewall", "Kaleyra says its firewall was bypassed"),
    ],
)
def test_a_pattern_folding_defeats_is_warned_with_what_to_write(
    tmp_path: Path, pattern: str, characters: str, suggested: str, text: str
) -> None:
    path = watchlist_with(tmp_path, pattern)
    (warning,) = load_watchlist(path).warnings
    assert warning.startswith(f"{path}:5: the pattern '{pattern}' in topic 'fraud' has {characters}, ")
    assert warning.endswith(f"write '{suggested}'")
    assert not fires(path, text)  # as written, it never matches
    assert fires(watchlist_with(tmp_path, suggested), text)  # what it says to write does


@pytest.mark.parametrize(
    "pattern",
    [
        r"toll[- ]fraud",
        r"toll[\s\-]fraud",  # an escaped member of a class: the class still holds \s
        r"toll[ \-]fraud",
        r"[]-]x",  # a "]" first in a class is a member
        r"[^-]+ fraud",
        r"\bzte\b",
        r"[a-z]+ gate",
        r"5g/ss7",
        r"\d+\.\d+b",
        "Kaleyra",
    ],
)
def test_a_pattern_folded_text_can_hold_gets_no_warning(tmp_path: Path, pattern: str) -> None:
    assert load_watchlist(watchlist_with(tmp_path, pattern)).warnings == ()
