"""A vendor name with an invisible character inside it ("Mit<ZWJ>to") still matches, and is shown as written.

Unicode's default-ignorable code points (ZWJ, ZWNJ, word joiner, BOM, bidi marks, embeddings,
overrides and isolates, tag characters, Hangul fillers, variation selectors, soft hyphen, …) draw
as nothing, so a story can carry "Mitto" that every reader sees and no watchlist term would find.
newsbot.matching.textfold removes them from the folded copy it matches (story text and terms alike); the
stored story, the snippet and the alert keep the original characters.

Decision: an ignorable is removed, not turned into a space, so one between two words joins them
("Mitto<ZWSP>AG" is "MittoAG", as a reader sees it), exactly as the soft hyphen always did.

Everything goes through the shipped example watchlist (examples/watchlists/sms-vendors.yaml),
loaded with load_watchlist, and the real Matcher; the last test runs `newsbot explain` as a user would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching.matcher import Evaluation, Matcher
from newsbot.matching.snippets import render
from newsbot.matching.textfold import fold, plain, with_offsets
from tests.conftest import REPOSITORY, Workspace

EXAMPLE = (REPOSITORY / "examples" / "watchlists" / "sms-vendors.yaml").read_text(encoding="utf-8")
SURVEILLANCE = "vendor-surveillance"

INVISIBLE = [
    pytest.param("\u200d", id="U+200D zero width joiner"),
    pytest.param("\u200c", id="U+200C zero width non-joiner"),
    pytest.param("\u200b", id="U+200B zero width space"),
    pytest.param("\u2060", id="U+2060 word joiner"),
    pytest.param("\ufeff", id="U+FEFF byte order mark"),
    pytest.param("\u200e", id="U+200E left-to-right mark"),
    pytest.param("\u200f", id="U+200F right-to-left mark"),
    pytest.param("\u061c", id="U+061C arabic letter mark"),
    *(pytest.param(chr(code), id=f"U+{code:04X} bidi embedding/override") for code in range(0x202A, 0x202F)),
    *(pytest.param(chr(code), id=f"U+{code:04X} bidi isolate") for code in range(0x2066, 0x206A)),
    pytest.param("\U000e0001", id="U+E0001 language tag"),
    pytest.param("\U000e0020", id="U+E0020 tag space"),
    pytest.param("\U000e0041", id="U+E0041 tag latin capital A"),
    pytest.param("\U000e007f", id="U+E007F cancel tag"),
    pytest.param("\U000e0061\U000e0062\U000e007f", id="a run of tag characters"),
    pytest.param("\u3164", id="U+3164 hangul filler"),
    pytest.param("\u115f", id="U+115F hangul choseong filler"),
    pytest.param("\u1160", id="U+1160 hangul jungseong filler"),
    pytest.param("\uffa0", id="U+FFA0 halfwidth hangul filler"),
    pytest.param("\u180e", id="U+180E mongolian vowel separator"),
    pytest.param("\u180b", id="U+180B mongolian free variation selector"),
    pytest.param("\ufe00", id="U+FE00 variation selector-1"),
    pytest.param("\ufe0f", id="U+FE0F variation selector-16"),
    pytest.param("\U000e0100", id="U+E0100 variation selector-17"),
    pytest.param("\u00ad", id="U+00AD soft hyphen"),
    pytest.param("\u034f", id="U+034F combining grapheme joiner"),
    # No hand list would think of these: they are there because the set is Unicode's property.
    pytest.param("\u17b4", id="U+17B4 khmer vowel inherent aq"),
    pytest.param("\U0001d173", id="U+1D173 musical symbol begin beam"),
    pytest.param("\U0001bca0", id="U+1BCA0 shorthand format letter overlap"),
    pytest.param("\ufff0", id="U+FFF0 unassigned, reserved as ignorable"),
    pytest.param("\u200d\u2066\ufeff\U000e0041", id="several different ones together"),
]


def example_matcher(folder: Path, extra_vendors: str = "") -> Matcher:
    """The shipped example watchlist, with `extra_vendors` (YAML list items) added to its vendors."""
    path = folder / "sms-vendors.yaml"
    path.write_text(EXAMPLE.replace("vendors:\n", "vendors:\n" + extra_vendors, 1), encoding="utf-8")
    return Matcher([load_watchlist(path)])


def evaluate(matcher: Matcher, text: str) -> Evaluation:
    [evaluation] = matcher.evaluate_text(text)
    return evaluation


def fired(evaluation: Evaluation) -> set[str]:
    return {hit.rule for hit in evaluation.fired}


CASE_SENSITIVE_VENDOR = "  - name: BICS\n    case_sensitive: true\n"
QUOTED_VENDORS = (  # terms whose YAML spells an invisible character inside them: escaped, and raw
    '  - name: "Sin\\u200dch"\n'
    '  - name: "Tele\\U000E0041sign"\n'
    "  - name: Syni\u2066verse\n"
    '  - name: "Ty\\u200dntec"\n'
    "    case_sensitive: true\n"
)


@pytest.fixture(scope="module")
def matcher(tmp_path_factory: pytest.TempPathFactory) -> Matcher:
    return example_matcher(tmp_path_factory.mktemp("watchlist"), CASE_SENSITIVE_VENDOR + QUOTED_VENDORS)


def test_the_plain_story_matches_so_the_cases_below_test_the_invisible_characters(matcher: Matcher) -> None:
    evaluation = evaluate(matcher, "Mitto sold SS7 access")

    assert fired(evaluation) == {SURVEILLANCE}
    assert evaluate(matcher, "Mittoo sold SS7 access").fired == []  # a different word does not


@pytest.mark.parametrize("invisible", INVISIBLE)
def test_an_invisible_character_inside_a_vendor_name_does_not_hide_it(matcher: Matcher, invisible: str) -> None:
    evaluation = evaluate(matcher, f"Mit{invisible}to sold SS7 access")

    assert fired(evaluation) == {SURVEILLANCE}
    assert evaluation.vendors == {"Mitto AG": ["Mitto"]}


@pytest.mark.parametrize("invisible", INVISIBLE)
def test_invisible_characters_inside_multi_word_terms_do_not_hide_them(matcher: Matcher, invisible: str) -> None:
    """Inside both words of the vendor name "Mitto AG" and of the topic phrase "locate phones"."""
    evaluation = evaluate(
        matcher, f"{invisible}Mit{invisible}to A{invisible}G helped lo{invisible}cate pho{invisible}nes"
    )

    assert fired(evaluation) == {SURVEILLANCE}
    assert "Mitto AG" in evaluation.vendors["Mitto AG"]
    assert evaluation.topics["surveillance"] == ["locate phones"]


@pytest.mark.parametrize("invisible", INVISIBLE)
def test_an_invisible_character_inside_a_case_sensitive_name_does_not_hide_it(matcher: Matcher, invisible: str) -> None:
    evaluation = evaluate(matcher, f"BI{invisible}CS sold SS7 access")

    assert fired(evaluation) == {SURVEILLANCE}
    assert evaluation.vendors == {"BICS": ["BICS"]}
    assert evaluate(matcher, f"bi{invisible}cs sold SS7 access").fired == []  # case still counts


@pytest.mark.parametrize(
    ("text", "vendor"),
    [
        ("Sinch sold SS7 access", "Sin\u200dch"),
        ("Telesign sold SS7 access", "Tele\U000e0041sign"),
        ("Syniverse sold SS7 access", "Syni\u2066verse"),
        ("Tyntec sold SS7 access", "Ty\u200dntec"),
    ],
)
def test_a_term_written_with_an_invisible_character_matches_plain_text(
    matcher: Matcher, text: str, vendor: str
) -> None:
    evaluation = evaluate(matcher, text)

    assert fired(evaluation) == {SURVEILLANCE}
    assert list(evaluation.vendors) == [vendor]  # the name as the watchlist writes it


def test_a_case_sensitive_term_written_with_an_invisible_character_still_minds_case(matcher: Matcher) -> None:
    assert evaluate(matcher, "TYNTEC sold SS7 access").fired == []


def test_an_invisible_character_between_two_words_joins_them_as_the_reader_sees_them(matcher: Matcher) -> None:
    evaluation = evaluate(matcher, "Mitto\u200bAG sold SS7 access")  # shown as "MittoAG sold SS7 access"

    assert evaluation.fired == []
    assert evaluation.vendors == {}


# Snippets: the hit is found in the folded copy and marked in the original ------------------------


@pytest.mark.parametrize(
    ("summary", "marked"),
    [
        ("Reports say Mit\u200dto sold SS7 access to spies.", ["Mit\u200dto", "SS7"]),
        (
            "\u2066\u200b\ufeffReports\u2069 say \u202eMit\U000e0041\U000e007fto\u202c sold S\u00adS7 access.",
            ["Mit\U000e0041\U000e007fto", "S\u00adS7"],
        ),
        ("\u3164\u3164 Mit\u3164to AG \ufe0f\u200d sold SS7 access.", ["Mit\u3164to AG", "SS7"]),
        ("Weekly: BI\u200dCS sold SS7 access.", ["BI\u200dCS", "SS7"]),  # a case-sensitive hit
    ],
)
def test_the_snippet_marks_the_original_characters_of_the_hit(
    matcher: Matcher, summary: str, marked: list[str]
) -> None:
    fields = {"title": "Weekly roundup", "summary": summary, "text": ""}
    [evaluation] = matcher.evaluate(fields)

    match = evaluation.match(fields)

    assert match is not None
    assert match.snippet_field == "summary"
    assert [part for part, is_hit in match.snippet if is_hit] == marked
    assert "".join(part for part, _ in match.snippet) == summary  # nothing of the original is lost
    assert all(f"*{word}*" in render(match.snippet) for word in marked)  # bold in Slack


@pytest.mark.parametrize("folded", [True, False])
def test_offsets_skip_invisible_characters_and_point_at_the_original(folded: bool) -> None:
    text = "\u200bA\u200dB \U000e0041\U000e0042C"

    normalised, offsets = with_offsets(text, folded)

    assert normalised == (fold(text) if folded else plain(text)) == ("ab c" if folded else "AB C")
    assert [text[offset] for offset in offsets] == ["A", "B", " ", "C"]


# The command line ------------------------------------------------------------------------------


@pytest.mark.parametrize("invisible", ["\u200d", "\U000e0041", "\u202e", "\u3164"], ids=["ZWJ", "tag", "RLO", "filler"])
def test_explain_says_an_invisible_character_does_not_hide_mitto(workspace: Workspace, invisible: str) -> None:
    result = workspace.newsbot("explain", f"Mit{invisible}to sold SS7 access")

    assert result.returncode == 0, result.stderr
    [line] = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("MATCH")]
    assert line.startswith("MATCH    vendor-surveillance (high):")
    assert "Mitto AG" in line and "SS7" in line
