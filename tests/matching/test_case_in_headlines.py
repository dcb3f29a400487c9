"""Case-sensitive vendors against the ways news writes case: headlines all in capitals, and the
sentence case most outlets use, where a watchlist's Title-Case exclusion must still exclude.
Against the shipped example watchlists, as a team would first run them."""

from __future__ import annotations

import pytest

from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching.matcher import Matcher, written_cases
from tests.conftest import REPOSITORY

WATCHLISTS = REPOSITORY / "examples" / "watchlists"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher([load_watchlist(WATCHLISTS / name) for name in ("carriers-and-apps.yaml", "telecom-threats.yaml")])


def fired(matcher: Matcher, text: str) -> set[tuple[str, str]]:
    return {(evaluation.watchlist, hit.rule) for evaluation in matcher.evaluate_text(text) for hit in evaluation.fired}


@pytest.mark.parametrize(
    ("headline", "expected"),
    [
        ("THREE UK OUTAGE LEAVES MILLIONS UNABLE TO MAKE CALLS", ("Carriers and apps", "vendor-outage")),
        ("BANDWIDTH INC DATA BREACH", ("Telecom threats", "vendor-breach")),
        ("ORANGE BELGIUM HACKED, DATA OF 850,000 CUSTOMERS STOLEN", ("Carriers and apps", "vendor-breach")),
        # a publisher's name after it, as Google News writes titles
        ("BANDWIDTH INC DATA BREACH EXPOSES CUSTOMERS | Reuters", ("Telecom threats", "vendor-breach")),
        ("THREE UK OUTAGE AFTER CYBERATTACK ON MOBILE NETWORK - The Mirror", ("Carriers and apps", "vendor-outage")),
    ],
)
def test_a_headline_all_in_capitals_finds_a_case_sensitive_vendor(
    matcher: Matcher, headline: str, expected: tuple[str, str]
) -> None:
    """Case says nothing in such a headline: the case-sensitive forms, even those under unambiguous:
    that name nothing else, were never found there."""
    assert expected in fired(matcher, headline)


@pytest.mark.parametrize(
    "text",
    [
        "ORANGE JUICE PRICES CLIMB AS HACKERS TARGET LOGISTICS FIRMS",  # excluded in capitals too
        "ORANGE COUNTY MOBILE NETWORK HACKED",
        "Hackers breach the ORANGE mobile network, operator says",  # not all capitals: case still counts
    ],
)
def test_capitals_keep_exclusions_and_a_field_in_mixed_case_keeps_case(matcher: Matcher, text: str) -> None:
    assert ("Carriers and apps", "vendor-breach") not in fired(matcher, text)


@pytest.mark.parametrize(
    "text",
    [
        "Box office hit: hackers leaked the studio's files online",  # exclude: Box Office
        "Orange county officials say ransomware hit the county's mobile network",  # exclude: Orange County
        "The Ring road camera network was hacked, police say",  # exclude: Ring Road
    ],
)
def test_an_exclusion_written_in_title_case_excludes_the_sentence_case_phrase(matcher: Matcher, text: str) -> None:
    """Matched only as written, these alerted HIGH with the shipped watchlist."""
    assert fired(matcher, text) == set()


def test_the_vendor_itself_still_counts_beside_an_excluded_phrase_it_is_not_in(matcher: Matcher) -> None:
    assert ("Carriers and apps", "vendor-breach") in fired(matcher, "Box says hackers leaked files from its cloud")


def test_an_excluded_phrase_is_found_with_each_word_as_written_or_in_lower_case() -> None:
    assert set(written_cases("Box Office")) == {"Box Office", "Box office", "box Office", "box office"}
    assert written_cases("Jack in the Box Again Today") == ("Jack in the box again today",)
