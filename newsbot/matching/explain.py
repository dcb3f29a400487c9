"""`newsbot explain`: every decision of every watchlist about one text, in words an analyst reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from newsbot.configuration.watchlists import Watchlist
from newsbot.matching.matcher import ANY_FIELD, Evaluation
from newsbot.matching.snippets import render


def describe_evaluations(
    watchlists: Sequence[Watchlist], evaluations: Sequence[Evaluation], fields: Mapping[str, str]
) -> str:
    lines: list[str] = []
    for watchlist, evaluation in zip(watchlists, evaluations, strict=True):
        lines.append(f"Watchlist '{evaluation.watchlist}' ({watchlist.path.name})")
        vendors = "; ".join(f"{name} ({', '.join(found)})" for name, found in evaluation.vendors.items())
        lines.append(f"  vendors found: {vendors or 'none'}")
        lines += [f"  guarded: {name}: {guard}" for name, guard in evaluation.guarded.items()]
        topics = "; ".join(f"{topic}: {', '.join(found)}" for topic, found in evaluation.topics.items())
        lines.append(f"  topics found:  {topics or 'none'}")
        lines += [f"  MATCH    {hit.rule} ({hit.severity.value}): {', '.join(hit.terms)}" for hit in evaluation.fired]
        lines += [f"  no match {rule}: {reason}" for rule, reason in evaluation.not_fired.items()]
        lines += [f"  near miss: {miss}" for miss in evaluation.near_misses]
        match = evaluation.match(fields)
        if match and match.snippet:
            where = "" if match.snippet_field == ANY_FIELD else f" ({match.snippet_field})"
            lines.append(f"  in context{where}: {render(match.snippet)}")
    return "\n".join(lines)
