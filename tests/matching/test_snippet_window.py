"""The snippet's window: the passage with the most different matched words, found in one pass."""

import random

from newsbot.matching.snippets import RADIUS, _window, build_snippet
from newsbot.matching.termindex import Hit


def _slow_anchor(text: str, spans: list[tuple[int, int]]) -> int:
    """The definition: the earliest hit whose window holds the most different matched words."""

    def distinct_words(anchor: int) -> int:
        return len({text[a:b].casefold() for a, b in spans if anchor <= a and b <= anchor + 2 * RADIUS})

    return max((start for start, _ in spans), key=lambda start: (distinct_words(start), -start))


def _spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    position = 0
    while True:
        found = [(text.find(word, position), word) for word in words if text.find(word, position) >= 0]
        if not found:
            return spans
        start, word = min(found)
        spans.append((start, start + len(word)))
        position = start + len(word)


def test_the_window_is_the_one_the_definition_picks_on_random_texts():
    chooser = random.Random(7)
    vocabulary = ["Mitto", "SS7", "breach", "Orange", "lorem", "ipsum", "dolor", "sit", "amet"]
    for _ in range(300):
        text = " ".join(chooser.choice(vocabulary) for _ in range(chooser.randint(1, 400)))
        spans = _spans(text, chooser.sample(vocabulary[:4], chooser.randint(1, 4)))
        if not spans:
            continue
        start, end = _window(text, spans)
        expected = _slow_anchor(text, spans)
        assert start <= expected < end
        assert start == max(0, expected - RADIUS // 3) or text[start - 1] == " "


def test_a_page_repeating_a_name_fifty_thousand_times_still_gets_a_snippet():
    text = " ".join(f"Paragraph {n} names Mitto and SS7." for n in range(50_000))
    hits = [Hit(0, "text", m, m + 5, -1, False) for m in range(0, len(text)) if text.startswith("Mitto", m)]
    hits += [Hit(1, "text", len(text) - 4, len(text) - 1, -1, False)]  # the last "SS7"
    snippet, field = build_snippet({"text": text}, hits, ["text"])
    marked = [part for part, is_hit in snippet if is_hit]
    assert field == "text"
    assert marked and set(marked) <= {"Mitto", "SS7"}
    assert "SS7" in marked  # the window with both words wins over the first window with one
