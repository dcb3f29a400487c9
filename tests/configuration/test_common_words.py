"""Which vendor forms are common English words (wordfreq), and which are brands or phrases."""

from __future__ import annotations

import pytest

from newsbot.configuration.commonwords import common_word_zipf, unguarded_common_words
from newsbot.configuration.watchlists import VendorConfig


@pytest.mark.parametrize("word", ["Orange", "Bandwidth", "Three", "Sprint", "Signal", "Box", "Ring", "Bird", "orange"])
def test_the_issue_s_common_word_vendors_are_common_words(word: str) -> None:
    zipf = common_word_zipf(word)
    assert zipf is not None and zipf >= 3.5


@pytest.mark.parametrize(
    "form",
    [
        "Google",  # as frequent in Spanish and Turkish as in English: a brand
        "Microsoft",
        "Cisco",  # very frequent English words need less of a margin (data, global): brands stay clear
        "Vodafone",
        "Twilio",  # rare everywhere
        "Mitto",
        "Kaleyra",
        "BICS",  # an acronym that spells no common word
        "O2",
        "Route Mobile",  # a phrase is not judged
        "Bandwidth.com",
    ],
)
def test_brands_acronyms_and_phrases_are_not(form: str) -> None:
    assert common_word_zipf(form) is None


@pytest.mark.parametrize("word", ["Data", "Global", "Digital", "a", "B"])
def test_very_frequent_english_words_and_single_letters_are_common_words(word: str) -> None:
    """ "Data AG" imported as the alias "Data" alerted on every "data breach": "data" is a word in the
    other languages too (Italian, Portuguese, Polish "date"), so it passed for a brand; and a register
    cell split at a line break gave the aliases "a" and "b"."""
    assert common_word_zipf(word) is not None


@pytest.mark.parametrize("form", ["ORANGE", "SIGNAL", "RING", "BT"])
def test_a_form_in_capitals_is_judged_as_the_word_it_spells(form: str) -> None:
    """Matched in any case unless its vendor is case_sensitive, 'ORANGE' alerts on orange juice: an
    imported register in capitals once passed `check` with no warning at all."""
    assert common_word_zipf(form) == common_word_zipf(form.casefold()) is not None
    assert unguarded_common_words(VendorConfig(name=form)) == [(form, common_word_zipf(form))]
    assert unguarded_common_words(VendorConfig(name=form, case_sensitive=True)) == []


def test_only_forms_that_count_alone_are_reported() -> None:
    bare = VendorConfig(name="Orange", aliases=["Orange SA", "Signal"])
    guarded = VendorConfig(name="Orange", aliases=["Signal"], context=["telecom"], unambiguous=["Orange Business"])
    sensitive = VendorConfig(name="Orange", case_sensitive=True)
    mistaken = VendorConfig(name="Orange", context=["telecom"], unambiguous=["orange"])
    assert [form for form, _ in unguarded_common_words(bare)] == ["Orange", "Signal"]
    assert unguarded_common_words(guarded) == []
    assert unguarded_common_words(sensitive) == []
    assert [form for form, _ in unguarded_common_words(mistaken)] == ["Orange"]
