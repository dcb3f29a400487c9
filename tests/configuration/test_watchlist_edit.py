"""Watchlist edits made as text: the edit lands, and every other byte of the file stays."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from newsbot.configuration.replace import replace_checked
from newsbot.configuration.watchlist_edit import EditError, add_to_vendor_list, set_rule_value
from newsbot.configuration.watchlists import load_watchlist

TELECOM = """\
# A team's watchlist, written by hand: comments, quoting and line breaks must survive an edit.
name: Telecom threats
vendors:
  - name: Twilio
    aliases: [Authy]
    exclude: ["Twilio-like", "Twilio-style"]        # "a Twilio-like startup" is not Twilio
  - name: Sinch
  - name: Bandwidth Inc
    aliases: [Bandwidth]
    exclude: ["Bandwidth costs", "Bandwidth cost",
              "Bandwidth cap", "Bandwidth shortages"]
topics:
  breach: [breach, hacked]
  ddos: [DDoS]
rules:
  - name: vendor-breach
    all: [vendors, breach]
    near: 25
    severity: high
  - name: vendor-ddos
    all: [vendors, ddos]
    severity: medium
"""
BLOCK = (
    "name: W\nvendors:\n  - name: Orange\n    exclude:\n      - Orange juice\nrules:\n  - name: r\n    all: [vendors]\n"
)


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_a_phrase_joins_a_multi_line_flow_list_before_its_bracket() -> None:
    after = add_to_vendor_list(TELECOM, "Bandwidth Inc", "exclude", ["Bandwidth bill"])
    assert changed_lines(TELECOM, after) == [
        '-              "Bandwidth cap", "Bandwidth shortages"]',
        '+              "Bandwidth cap", "Bandwidth shortages", "Bandwidth bill"]',
    ]
    bandwidth = next(vendor for vendor in yaml.safe_load(after)["vendors"] if vendor["name"] == "Bandwidth Inc")
    assert bandwidth["exclude"][-1] == "Bandwidth bill"


def test_a_missing_list_is_a_new_line_under_the_vendor_and_a_comment_stays_on_its_line() -> None:
    after = add_to_vendor_list(TELECOM, "Sinch", "context", ["SMS", "a: b"])
    assert changed_lines(TELECOM, after) == ['+    context: [SMS, "a: b"]']
    after = add_to_vendor_list(TELECOM, "Twilio", "exclude", ["Twilio clone"])
    assert changed_lines(TELECOM, after)[1] == (
        '+    exclude: ["Twilio-like", "Twilio-style", "Twilio clone"]        # "a Twilio-like startup" is not Twilio'
    )


def test_a_block_list_gets_a_dash_line() -> None:
    text = BLOCK
    after = add_to_vendor_list(text, "Orange", "exclude", ["blood orange"])
    assert changed_lines(text, after) == ['+      - "blood orange"']
    assert yaml.safe_load(after)["vendors"][0]["exclude"] == ["Orange juice", "blood orange"]


def test_a_rule_value_is_replaced_in_place_or_added() -> None:
    after = set_rule_value(TELECOM, "vendor-breach", "near", 10)
    assert changed_lines(TELECOM, after) == ["-    near: 25", "+    near: 10"]
    after = set_rule_value(TELECOM, "vendor-ddos", "near", 20)
    assert changed_lines(TELECOM, after) == ["+    near: 20"]
    assert yaml.safe_load(after)["rules"][-1] == {
        "name": "vendor-ddos",
        "all": ["vendors", "ddos"],
        "severity": "medium",
        "near": 20,
    }


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("name: W\nvendors:\n  - {name: Orange}\nrules: []\n", "written on one line"),
        ("name: W\nvendors:\n  - name: Kaleyra\nrules: []\n", "no entry named 'Orange'"),
        ("name: W\nrules: []\n", "has no vendors: list"),
    ],
)
def test_shapes_newsbot_does_not_write_are_refused(text: str, sentence: str) -> None:
    with pytest.raises(EditError, match=sentence):
        add_to_vendor_list(text, "Orange", "exclude", ["Orange juice"])


def test_replace_checked_swaps_in_only_what_the_check_accepts(tmp_path: Path) -> None:
    path = tmp_path / "telecom.yaml"
    path.write_text(TELECOM, encoding="utf-8")
    path.chmod(0o640)

    def refuse(written: Path) -> None:
        load_watchlist(written)
        raise EditError("refused")

    with pytest.raises(EditError):
        replace_checked(path, TELECOM.replace("name: Telecom threats", "name: Changed"), refuse)
    assert path.read_text(encoding="utf-8") == TELECOM
    assert [file.name for file in tmp_path.iterdir()] == ["telecom.yaml"]  # no temporary file left behind

    replace_checked(path, TELECOM.replace("name: Telecom threats", "name: Changed"), load_watchlist)
    assert load_watchlist(path).config.name == "Changed"
    assert path.stat().st_mode & 0o777 == 0o640


COMMENTED_BLOCKS = """\
name: W
vendors:
  - name: Orange
    aliases:
      - Orange SA
      - Orange Business   # the B2B arm
        # (its own legal entity since 2021)

  # Kaleyra joined the register in 2024
  - name: Kaleyra
rules:
  - name: r
    all: [vendors]
"""


def test_a_new_line_goes_after_the_vendors_own_comments_and_before_the_next_vendors() -> None:
    excluded = add_to_vendor_list(COMMENTED_BLOCKS, "Orange", "exclude", ["Orange juice"])
    aliased = add_to_vendor_list(COMMENTED_BLOCKS, "Orange", "aliases", ["Orange Cyberdefense"])

    assert excluded.splitlines()[7:9] == ['    exclude: ["Orange juice"]', ""]
    assert aliased.splitlines()[7:9] == ['      - "Orange Cyberdefense"', ""]
    assert changed_lines(COMMENTED_BLOCKS, excluded) == ['+    exclude: ["Orange juice"]']
    assert yaml.safe_load(aliased)["vendors"][0]["aliases"][-1] == "Orange Cyberdefense"


def test_windows_line_ends_stay_windows_line_ends() -> None:
    text = BLOCK.replace("\n", "\r\n")

    edited = add_to_vendor_list(text, "Orange", "exclude", ["Orange County"])

    assert edited.count("\r\n") == edited.count("\n") == text.count("\n") + 1
    assert yaml.safe_load(edited)["vendors"][0]["exclude"] == ["Orange juice", "Orange County"]
