"""Matching reads each story once through, whatever its text: patterns and loops that read on from
each of thousands of places to a far end held one story's matching for seconds to minutes, inside
the run, and every other source's stories with it. Each case runs in a child process, so that a
regression is killed; a healthy match takes well under a second, so the 20 s bound is not a
benchmark."""

from __future__ import annotations

import pytest

from tests.conftest import within

TEXTS = {
    # from each word of a run of "a-a-a-…" the bare-host branch of the URL pattern read to its end
    # (the hint in the same run: the pattern reads only runs that hold one)
    "a host name of a million labels": "'a-' * 100_000 + '://'",
    # every hit of a positional term counted the spaces from the text's start: 1.5 s at the 200,000
    # characters a stored text keeps, and ten times that text shows the growth (minutes before)
    "three hundred thousand hits": "'Twilio, SMS breach, ' * 100_000",
}


@pytest.mark.parametrize("text", TEXTS.values(), ids=list(TEXTS))
def test_a_story_of_hostile_text_is_matched_at_once(text: str) -> None:
    program = (
        "from newsbot.configuration.watchlists import load_watchlist\n"
        "from newsbot.matching.matcher import Matcher\n"
        "from newsbot.models import Story\n"
        "matcher = Matcher([load_watchlist('examples/watchlists/telecom-threats.yaml')])\n"
        f"story = Story('s', 'https://x.example.test/s', 'A title', '', {text}, 'Wire')\n"
        "print(len(matcher.match_story(story)))\n"
    )
    assert within(20, program, "matching one story").strip() in (b"0", b"1")
