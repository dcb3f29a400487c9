"""Rule items: `vendors`, a topic, or a word — and YAML quoting never changes which, but for a typo."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.configuration.ruleitems import one_small_edit
from newsbot.configuration.watchlists import InlineWord, load_watchlist
from newsbot.errors import ConfigError
from newsbot.matching.matcher import Matcher

WATCHLIST = """\
name: Items
vendors:
  - name: Kaleyra
topics:
  breach: [breach, leaked]
  sim-swap: [SIM swap]
rules:
  - name: vendor-breach
    all: [vendors, ITEM]
"""


def load(tmp_path: Path, item: str, extra: str = "") -> tuple[Path, Matcher]:
    path = tmp_path / "items.yaml"
    path.write_text(WATCHLIST.replace("ITEM", item) + extra, encoding="utf-8")
    return path, Matcher([load_watchlist(path)])


def fired(matcher: Matcher, text: str) -> set[str]:
    (evaluation,) = matcher.evaluate_text(text)
    return {hit.rule for hit in evaluation.fired}


@pytest.mark.parametrize("written", ["webinar", '"webinar"', "'webinar'"])
def test_a_bare_word_is_a_word_however_it_is_quoted(tmp_path: Path, written: str) -> None:
    path, matcher = load(tmp_path, "breach", f"    none: [{written}]\n")
    assert load_watchlist(path).config.rules[0].none == [InlineWord(word="webinar")]
    assert fired(matcher, "Kaleyra breach disclosed") == {"vendor-breach"}
    assert fired(matcher, "Kaleyra breach webinar for customers") == set()
    assert fired(matcher, "Kaleyra breach: two webinars planned") == set()  # the word's plural, as topics


@pytest.mark.parametrize("written", ["breach", '"breach"', "'breach'"])
def test_a_topic_name_is_the_topic_however_it_is_quoted(tmp_path: Path, written: str) -> None:
    path, matcher = load(tmp_path, written)
    watchlist = load_watchlist(path)
    assert watchlist.config.rules[0].all == ["vendors", "breach"]
    assert watchlist.warnings == ()
    assert fired(matcher, "Kaleyra customer list leaked") == {"vendor-breach"}  # "leaked" is a breach term


def test_an_explicit_word_mapping_is_the_word_even_when_it_is_a_topic_name(tmp_path: Path) -> None:
    _, matcher = load(tmp_path, "{word: breach}")
    assert fired(matcher, "Kaleyra customer list leaked") == set()
    assert fired(matcher, "Kaleyra breach") == {"vendor-breach"}


@pytest.mark.parametrize(
    ("item", "close"),
    [
        ("braech", "breach"),  # two letters swapped
        ("breech", "breach"),  # one changed
        ("breah", "breach"),  # one dropped
        ("breaches", "breach"),  # the plural
        ("Breach", "breach"),  # the case
        ("vendor", "vendors"),
        ("sim swap", "sim-swap"),
        ("SIM-swaps", "sim-swap"),
    ],
)
def test_a_bare_item_one_small_edit_from_a_name_is_an_error_at_its_line(tmp_path: Path, item: str, close: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, item)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'items.yaml'}:9: rule 'vendor-breach' has '{item}'")
    assert f"did you mean '{close}'?" in message and f'put it in quotes: "{item}"' in message


@pytest.mark.parametrize("item", ['"braech"', '"breaches"', "{word: breaches}"])
def test_quoting_a_near_name_says_the_word_is_meant(tmp_path: Path, item: str) -> None:
    path, matcher = load(tmp_path, item)
    assert load_watchlist(path).warnings == ()
    assert fired(matcher, "Kaleyra customer list leaked") == set()
    assert fired(matcher, f"Kaleyra {item.strip('{}').removeprefix('word: ').strip(chr(34))}") == {"vendor-breach"}


def test_a_bare_word_that_only_looks_like_a_topic_is_the_word_with_a_warning(tmp_path: Path) -> None:
    path, matcher = load(tmp_path, "breachs2")  # three edits: too far to be the contract's typo
    (warning,) = load_watchlist(path).warnings
    assert warning.startswith(f"{path}:9: rule 'vendor-breach' matches the word 'breachs2'")
    assert "looks like 'breach'" in warning
    assert fired(matcher, "Kaleyra leaked") == set()


def test_unrelated_bare_words_give_no_warning(tmp_path: Path) -> None:
    path, _ = load(tmp_path, "breach", "    any: [acquisition, outage]\n")
    assert load_watchlist(path).warnings == ()


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("braech", "breach", True),
        ("breach", "breach", True),
        ("abc", "cba", False),  # a swap of letters that are not neighbours is two edits
        ("survelliance", "surveillance", False),  # a rotation of three letters: two edits
        ("breaches", "breach", True),
        ("breachess", "breach", False),
        ("outage", "breach", False),
        ("ddos", "dos", True),
    ],
)
def test_one_small_edit(a: str, b: str, expected: bool) -> None:
    assert one_small_edit(a, b) is expected
    assert one_small_edit(b, a) is expected
