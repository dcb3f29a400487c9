"""A short passage of the story around the words that fired a rule, with those words marked.

Matching happens on folded text; here each hit is mapped back to the original characters (a slow
per-character pass, done only for stories that matched) so the reader sees the story's own words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from newsbot.matching.termindex import Hit
from newsbot.matching.textfold import fold, plain, with_offsets

Snippet = tuple[tuple[str, bool], ...]  # (text, is_hit) parts, in order
RADIUS = 110
_SPACES = re.compile(r"\s+")


def render(snippet: Snippet, escape: Callable[[str], str] = str) -> str:
    """The snippet as text with matched words between asterisks (bold in Slack's mrkdwn)."""
    return "".join(f"*{escape(part)}*" if is_hit else escape(part) for part, is_hit in snippet)


def build_snippet(fields: Mapping[str, str], hits: Sequence[Hit], preference: Sequence[str]) -> tuple[Snippet, str]:
    """The snippet and the field it comes from; empty when no field text is available."""
    hit_fields = {hit.field for hit in hits}
    with_text = [field for field in preference if fields.get(field) and field in hit_fields]
    if not with_text:
        return (), ""
    field = with_text[0]
    text = fields[field]
    spans = _merge(_original_spans(text, [hit for hit in hits if hit.field == field]))
    if not spans:
        return (), ""
    return _cut(text, spans), field


def _original_spans(text: str, hits: Sequence[Hit]) -> list[tuple[int, int]]:
    maps: dict[bool, list[int] | None] = {}
    offsets: list[int] | None
    spans = []
    for hit in hits:
        if hit.folded not in maps:
            normalised, offsets = with_offsets(text, hit.folded)
            # The per-character pass equals the whole-text one except for rare mark reorderings
            # and compositions; then the snippet is shown without marks rather than wrong ones.
            whole = fold(text) if hit.folded else plain(text)
            maps[hit.folded] = offsets if normalised == whole else None
        offsets = maps[hit.folded]
        if offsets is not None and hit.end <= len(offsets):
            spans.append((offsets[hit.start], offsets[hit.end - 1] + 1))
    return spans


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window(text: str, spans: list[tuple[int, int]]) -> tuple[int, int]:
    """About 2×RADIUS characters showing the most different matched words, cut at spaces.

    One pass with a sliding window: a story can hold tens of thousands of hits (a page repeating a
    vendor's name), and counting the words after every hit again took minutes for those."""
    words = [text[start:end].casefold() for start, end in spans]
    in_window: Counter[str] = Counter()
    anchor, most = spans[0][0], -1
    right = 0  # spans[left:right] are those inside the window that starts at spans[left]
    for left, (start, _) in enumerate(spans):
        right = max(right, left)
        while right < len(spans) and spans[right][1] <= start + 2 * RADIUS:
            in_window[words[right]] += 1
            right += 1
        if len(in_window) > most:  # the earliest of the windows with the most different words
            anchor, most = start, len(in_window)
        if right > left:
            in_window[words[left]] -= 1
            if not in_window[words[left]]:
                del in_window[words[left]]
    start = max(0, anchor - RADIUS // 3)
    end = min(len(text), anchor + 2 * RADIUS)
    if start > 0:
        start = text.find(" ", start, anchor) + 1 or start
    if end < len(text):
        space = text.rfind(" ", anchor, end)
        end = space if space > anchor else end
    return start, end


def _cut(text: str, spans: list[tuple[int, int]]) -> Snippet:
    start, end = _window(text, spans)
    parts: list[tuple[str, bool]] = [("…", False)] if start > 0 else []
    position = start
    for span_start, span_end in spans:
        if start <= span_start and span_end <= end:
            parts += [(_SPACES.sub(" ", text[position:span_start]), False), (text[span_start:span_end], True)]
            position = span_end
    parts.append((_SPACES.sub(" ", text[position:end]), False))
    if end < len(text):
        parts.append(("…", False))
    return tuple(part for part in parts if part[0])
