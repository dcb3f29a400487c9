"""The shortcuts matching takes must change no verdict: a text already single-spaced is kept as it
is, a text with neither "/" nor "www." holds no link, the watchlists' terms are found by a DFA, and
a story none of whose rules has a hit for each of its items is not evaluated (Matcher.match_story).
Each is compared with the long way, on real news and on text made to trip it."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching import termindex
from newsbot.matching.matcher import Matcher, story_fields
from newsbot.matching.termindex import TermIndex
from newsbot.matching.textfold import _fold_characters, _single_spaced, blank_urls, fold
from newsbot.models import Story
from newsbot.sources.reading import read_feed
from newsbot.stories.normalize import to_story
from tests.conftest import REPOSITORY
from tests.matching.test_matching import write_watchlist

EXAMPLES = sorted((REPOSITORY / "examples" / "watchlists").glob("*.yaml"))
WHITESPACE = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()]


def test_every_whitespace_but_the_space_is_refused_by_isprintable() -> None:
    """What the single-spaced shortcut rests on, checked over every code point."""
    assert len(WHITESPACE) > 20
    assert [hex(ord(each)) for each in WHITESPACE if each != " " and each.isprintable()] == []


def test_random_text_is_single_spaced_as_splitting_and_joining_makes_it() -> None:
    rng = random.Random(11)
    letters = ["a", "b", "é", "-", "\u00ad"]  # a soft hyphen is neither space nor printable
    words = ["".join(rng.choices(letters, k=rng.randint(1, 3))) for _ in range(200)]
    texts = [
        " ".join(rng.choices(words, k=rng.randint(0, 4)))
        if rng.random() < 0.5
        else "".join(rng.choices([*letters, " ", *WHITESPACE], k=rng.randint(0, 12)))
        for _ in range(50_000)
    ]
    differing = [text for text in texts if _single_spaced(text) != " ".join(text.split())]
    assert not differing, [repr(text) for text in differing[:5]]
    kept = [text for text in texts if text and text == " ".join(text.split())]
    assert len(kept) > 1_000, "too few texts were single-spaced already to test the shortcut"


def corpus_stories(corpus: Path) -> list[Story]:
    stories = []
    for path in sorted((corpus / "feeds").iterdir()):
        for entry in read_feed(path.read_bytes(), "https://news.example/feed", None).entries:
            if story := to_story(entry, path.stem):
                stories.append(story)
    return stories


def test_news_folds_as_the_long_way_folded_it(corpus: Path) -> None:
    texts = [text for story in corpus_stories(corpus) for text in story_fields(story).values() if text]
    assert len(texts) > 1_000
    assert [text for text in texts if fold(text) != " ".join(_fold_characters(blank_urls(text)).split())] == []


# Every kind of rule item, an `any`-only rule limited to the title, a case-sensitive vendor with
# context, an alias that does not hold its vendor's name, a regex.
CRAFTED = """
name: crafted
channel: "#crafted"
vendors:
  - name: Mitto
    aliases: [Mitto AG]
  - name: Kaleyra
    aliases: [Solutions Infini]
  - name: Three
    case_sensitive: true
    context: [network, carrier]
topics:
  leak: [breach, "data leak", {regex: "leak(ed|s)? \\\\d+ records"}]
  tracking: [location tracking]
rules:
"""
CRAFTED_RULES = {
    "vendor-leak": "all: [vendors, leak]",
    "word-and-topic": 'all: ["ss7", tracking]',
    "any-of": 'any: [leak, "spyware"]\n    fields: [title]',
}

CRAFTED_TEXTS = [
    ("Mitto AG breach", "", ""),
    ("", "Solutions Infini data leak", ""),  # an alias alone
    ("A report", "Three says its network leaked 200 records", ""),
    ("SS7 location tracking sold", "", ""),
    ("Spyware", "", ""),
    ("unrelated", "nothing here", "Mitto"),
    ("", "Mitto data leak", "THREE"),
    ("", "", "ss7 tracking"),
]


def assert_matched_as_the_long_way(matcher: Matcher, stories: list[Story]) -> tuple[set[str], set[str]]:
    """Every story's matches are those the full evaluation finds; returns the stories that matched
    and the rules that fired."""
    found: set[str] = set()
    fired: set[str] = set()
    for story in stories:
        fields = story_fields(story)
        the_long_way = [match for evaluation in matcher.evaluate(fields) if (match := evaluation.match(fields))]
        assert matcher.match_story(story) == the_long_way, story.id
        if the_long_way:
            found.add(story.id)
        fired |= {hit.rule for match in the_long_way for hit in match.rules}
    return found, fired


def test_match_story_finds_what_evaluating_every_rule_finds(tmp_path: Path) -> None:
    """Crafted stories, with each kind of rule alone (where no other rule may let a story through)
    and with all of them: the same matches, and each rule fires somewhere."""
    crafted = [Story(f"c{n}", f"https://news.example/{n}", *texts, "Wire") for n, texts in enumerate(CRAFTED_TEXTS)]
    every_rule = "".join(f"  - name: {name}\n    {items}\n" for name, items in CRAFTED_RULES.items())
    every_kind = Matcher([write_watchlist(tmp_path, "crafted", CRAFTED + every_rule)])
    found, fired = assert_matched_as_the_long_way(every_kind, crafted)
    for name, items in CRAFTED_RULES.items():
        alone = Matcher([write_watchlist(tmp_path, "crafted", f"{CRAFTED}  - name: {name}\n    {items}\n")])
        fired_alone = assert_matched_as_the_long_way(alone, crafted)[1]
        assert fired_alone == {name}
    assert set(CRAFTED_RULES) == fired
    assert "c1" in found, "an alias alone names its vendor"


def test_match_story_finds_on_news_what_evaluating_every_rule_finds(corpus: Path, tmp_path: Path) -> None:
    """The corpus's stories, with the example watchlists and the crafted one: the same matches."""
    every_rule = "".join(f"  - name: {name}\n    {items}\n" for name, items in CRAFTED_RULES.items())
    watchlists = [load_watchlist(path, require_env=False) for path in EXAMPLES]
    watchlists.append(write_watchlist(tmp_path, "crafted", CRAFTED + every_rule))
    stories = corpus_stories(corpus)
    found, _ = assert_matched_as_the_long_way(Matcher(watchlists), stories)
    assert len(stories) > 400
    assert len(found) >= 3, "real news must match something"


def test_terms_are_found_by_the_dfa_as_by_the_nfa(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The automaton newsbot picks for a watchlist's terms (a DFA, DFA_MOST_CHARACTERS at most) finds
    the same overlapping hits as the library's own choice, on real news."""
    matcher = Matcher([load_watchlist(path, require_env=False) for path in EXAMPLES])
    terms = matcher._index.terms
    assert termindex.automaton_implementation(term.text for term in terms) is not None
    monkeypatch.setattr(termindex, "DFA_MOST_CHARACTERS", 0)
    assert termindex.automaton_implementation(term.text for term in terms) is None
    library_choice = TermIndex(terms)
    fields = [story_fields(story) for story in corpus_stories(corpus)]
    hits = [matcher._index.scan(each) for each in fields]
    assert hits == [library_choice.scan(each) for each in fields]
    assert sum(map(len, hits)) > 500
