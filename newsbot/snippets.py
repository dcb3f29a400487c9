"""A short passage of the story around the words that fired a rule, with those words marked.

Matching happens on folded text; here each hit is mapped back to the original characters (a slow
per-character pass, done only for stories that matched) so the reader sees the story's own words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from newsbot.termindex import Hit
from newsbot.textfold import fold, plain, with_offsets

Snippet = tuple[tuple[str, bool], ...]  # (text, is_hit) parts, in order
RADIUS = 110
_SPACES = re.compile(r"\s+")


def build_snippet(
    fields: Mapping[str, str], hits: Sequence[Hit], preference: Sequence[str]
) -> tuple[Snippet, str]:
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


def _cut(text: str, spans: list[tuple[int, int]]) -> Snippet:
    first_start, first_end = spans[0]
    start = max(0, first_start - RADIUS)
    end = min(len(text), first_end + RADIUS)
    if start > 0:
        start = text.find(" ", start, first_start) + 1 or start
    if end < len(text):
        end = text.rfind(" ", first_end, end) if text.rfind(" ", first_end, end) > 0 else end
    parts: list[tuple[str, bool]] = []
    position = start
    for span_start, span_end in spans:
        if span_start < position or span_end > end:
            continue
        parts += [(_SPACES.sub(" ", text[position:span_start]), False), (text[span_start:span_end], True)]
        position = span_end
    parts.append((_SPACES.sub(" ", text[position:end]), False))
    if start > 0:
        parts.insert(0, ("…", False))
    if end < len(text):
        parts.append(("…", False))
    return tuple(part for part in parts if part[0])
