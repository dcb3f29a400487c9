"""A watchlist's own examples, run as tests: the team pins its intent in the file it edits.

`examples: {match: [...], no_match: [...]}`: each `match` sentence must fire at least one rule of
its watchlist, each `no_match` sentence none. `newsbot check` fails when one disagrees, and
`newsbot test` shows every result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from newsbot.configuration.watchlists import Watchlist
from newsbot.matching.matcher import Evaluation, Matcher
from newsbot.stories.normalize import html_to_text


@dataclass(frozen=True)
class ExampleResult:
    watchlist: Watchlist
    kind: str  # "match" or "no_match"
    position: int
    text: str
    evaluation: Evaluation

    @property
    def passed(self) -> bool:
        return bool(self.evaluation.fired) == (self.kind == "match")

    def describe(self) -> str:
        where = self.watchlist.where(("examples", self.kind, self.position))
        fired = ", ".join(hit.rule for hit in self.evaluation.fired)
        if self.passed:
            outcome = f"fires {fired}" if fired else "fires nothing"
            return f"ok    {where}: {self.kind}: {self.text!r} {outcome}"
        if self.kind == "match":
            reasons = "; ".join(f"{rule}: {why}" for rule, why in self.evaluation.not_fired.items())
            return f"FAIL  {where}: expected a match but no rule fired ({reasons}): {self.text!r}"
        return f"FAIL  {where}: expected no match but {fired} fired: {self.text!r}"


def run_examples(watchlists: Sequence[Watchlist]) -> list[ExampleResult]:
    matcher = Matcher(watchlists)
    results = []
    for number, watchlist in enumerate(watchlists):
        examples = watchlist.config.examples
        for kind, texts in (("match", examples.match), ("no_match", examples.no_match)):
            for position, text in enumerate(texts):
                # As `newsbot explain` reads a text: one pasted from a page's source ("AT&amp;T") is
                # the story's text a run would match, not the markup.
                evaluation = matcher.evaluate_text(html_to_text(text))[number]
                results.append(ExampleResult(watchlist, kind, position, text, evaluation))
    return results
