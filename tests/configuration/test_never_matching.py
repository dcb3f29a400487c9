"""What can never match, or matches what the team did not mean, is warned about at its line:
`check` passed these in silence, and the rules they touch never fired (or fired on orange juice)."""

from __future__ import annotations

from pathlib import Path

from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching.matcher import Matcher

WATCHLIST = """\
name: Dead ends
vendors:
  - name: Orange
    context: [telecom, operator]
    exclude: [EXCLUDED]
topics:
  breach: [breach]
  outage: TERMS
rules:
  - name: vendor-breach
    all: [ITEM, breach]
"""


def load(tmp_path: Path, item: str = "vendors", terms: str = "[outage]", excluded: str = "Orange juice") -> Path:
    path = tmp_path / "dead-ends.yaml"
    text = WATCHLIST.replace("ITEM", item).replace("TERMS", terms).replace("EXCLUDED", excluded)
    path.write_text(text, encoding="utf-8")
    return path


def fired(path: Path, text: str) -> bool:
    (evaluation,) = Matcher([load_watchlist(path)]).evaluate_text(text)
    return bool(evaluation.fired)


def test_a_sound_watchlist_gets_no_warning(tmp_path: Path) -> None:
    path = load(tmp_path)
    assert load_watchlist(path).warnings == ()
    assert fired(path, "Orange the telecom operator reports a breach")
    assert not fired(path, "Orange juice maker reports a breach")


def test_a_rule_naming_a_vendor_as_a_word_is_warned_and_quoting_silences_it(tmp_path: Path) -> None:
    """The word skips the vendor's context: and exclude: — and the warning says so, with the proof."""
    path = load(tmp_path, item="Orange")
    (warning,) = load_watchlist(path).warnings
    assert warning.startswith(f"{path}:11: rule 'vendor-breach' matches the word 'Orange', a name of the vendor ")
    assert "'vendors' is any of the watchlist's vendors as it defines them" in warning
    assert fired(path, "Orange juice maker reports a breach")  # what the warning is about
    assert load_watchlist(load(tmp_path, item='"Orange"')).warnings == ()
    assert load_watchlist(load(tmp_path, item="{word: Orange}")).warnings == ()  # the word, asked for by name


def test_an_empty_topic_is_warned_at_its_line(tmp_path: Path) -> None:
    path = load(tmp_path, terms="[]")
    (warning,) = load_watchlist(path).warnings
    assert warning == (
        f"{path}:8: the topic 'outage' has no terms, so no story has it: a rule that needs it never fires; "
        "give it terms, or take it out of the rules"
    )


def test_a_vendor_excluding_its_own_name_is_warned(tmp_path: Path) -> None:
    path = load(tmp_path, excluded="orange")
    (warning,) = load_watchlist(path).warnings
    assert warning.startswith(f"{path}:5: vendor 'Orange' excludes 'orange', one of its own names: ")
    assert not fired(path, "Orange the telecom operator reports a breach")  # what the warning is about


def test_a_rule_ruling_out_what_it_needs_is_warned_at_the_none_item(tmp_path: Path) -> None:
    """`all: [vendors, breach]` with `none: [vendors]`: every story the rule needs is ruled out."""
    path = tmp_path / "self-excluding.yaml"
    path.write_text(
        WATCHLIST.replace("ITEM", "vendors").replace("TERMS", "[outage]").replace("EXCLUDED", "Orange juice")
        + "    none: [vendors]\n"
        + "  - name: any-outage\n    any: [outage, {word: down}]\n    none: [outage, {word: down}]\n"
        + "  - name: sound\n    any: [outage, breach]\n    none: [breach]\n",
        encoding="utf-8",
    )
    warnings = load_watchlist(path).warnings
    assert warnings == (
        f"{path}:12: rule 'vendor-breach' needs 'vendors' (all:) and is ruled out by it (none:), so it never "
        "fires; take it out of one of them",
        f"{path}:15: rule 'any-outage' needs 'outage' (any:) and is ruled out by it (none:), so it never "
        "fires; take it out of one of them",
        f"{path}:15: rule 'any-outage' needs the word \"down\" (any:) and is ruled out by it (none:), so it never "
        "fires; take it out of one of them",
    )
    assert not fired(path, "Orange the telecom operator reports a breach")  # what the warning is about


def test_a_name_two_vendors_have_is_warned_at_the_second(tmp_path: Path) -> None:
    """A register imported twice, or a parent's name as a subsidiary's alias: every story naming it
    alerts as both suppliers. Two case-sensitive vendors share a form only in the same case, and
    context words tell two vendors' shared form apart."""
    path = tmp_path / "shared-name.yaml"
    path.write_text(
        "name: Shared\n"
        "vendors:\n"
        "  - name: Sinch\n"
        "  - name: MessageBird\n"
        "    aliases: [Bird, SINCH]\n"
        "  - name: Three\n"
        "    case_sensitive: true\n"
        "  - name: Hutchison\n"
        "    aliases: [THREE]\n"
        "    case_sensitive: true\n"
        "  - name: Orange\n"
        "    context: [telecom, carrier]\n"
        "  - name: Orange Bank\n"
        "    aliases: [Orange]\n"
        "    context: [bank, banking]\n"
        "  - name: Orange Business\n"
        "    aliases: [Orange]\n"
        "    context: [enterprise, telecom]\n"
        "  - name: Bird Ltd\n"
        "    aliases: [Sinch]\n"
        "    context: [SMS]\n"
        "topics:\n"
        "  breach: [breach]\n"
        "rules:\n"
        "  - name: vendor-breach\n"
        "    all: [vendors, breach]\n",
        encoding="utf-8",
    )
    watchlist = load_watchlist(path)
    assert watchlist.warnings == (
        f"{path}:4: vendor 'MessageBird' has the name 'SINCH', which vendor 'Sinch' has too: every story naming "
        "it alerts as both; keep it in one of them",
        f"{path}:16: vendor 'Orange Business' has the name 'Orange', which vendor 'Orange' has too: every story "
        "naming it alerts as both; keep it in one of them",  # a context word in common: telecom
        f"{path}:19: vendor 'Bird Ltd' has the name 'Sinch', which vendor 'Sinch' has too: every story naming it "
        "alerts as both; keep it in one of them",  # Sinch counts alone in one of them
    )
    (evaluation,) = Matcher([watchlist]).evaluate_text("Sinch confirms a breach")
    assert set(evaluation.vendors) == {"Sinch", "MessageBird"}  # what the warning is about
