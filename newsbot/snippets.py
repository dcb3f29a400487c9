"""A short passage of the story around the words that fired a rule, with those words marked.

Matching happens on folded text; here each hit is mapped back to the original characters (a slow
per-character pass, done only for stories that matched) so the reader sees the story's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from newsbot.termindex import Hit
from newsbot.textfold import fold, plain, with_offsets

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
    """About 2×RADIUS characters showing the most different matched words, cut at spaces."""

    def distinct_words(anchor: int) -> int:
        return len({text[a:b].casefold() for a, b in spans if anchor <= a and b <= anchor + 2 * RADIUS})

    anchor = max((start for start, _ in spans), key=lambda start: (distinct_words(start), -start))
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
