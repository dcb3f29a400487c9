"""The cluster window's index as one batch of new stories sees it: what the database held for the
batch's sampled shingles when the batch began, and the batch's own stories, each added as soon as
its cluster is decided. Each story so sees every story before it, exactly as when every story was
committed before the next was looked up, but the batch costs two reads and one write of the
database instead of three statements a story. A batch decided while the one before it is still
being written is given that batch's decisions too (`unwritten`), and sees them as written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Set
from typing import NamedTuple

from newsbot.clustering.clusters import BOILERPLATE_CLUSTERS
from newsbot.storage.clusters import ClusterAssignment, WindowRow, WindowShingles

CANDIDATES = 5  # stories compared in full with each new one: those sharing the most sampled shingles


class Candidate(NamedTuple):
    story: str
    cluster: str
    shared: int  # sampled shingles it shares with the new story, boilerplate left out
    sampled: int | None  # all its sampled shingles (None: not known, clustered before migration m014)


class WindowIndex:
    def __init__(
        self, stored: WindowShingles, unwritten: Iterable[ClusterAssignment] = (), wanted: Set[int] = frozenset()
    ):
        """`unwritten`: decisions whose index rows the database may not hold yet, or may (a write
        racing the read): their rows among the `wanted` shingles are added where they are missing,
        so the index is the one the database holds once they are written, either way. Each shingle
        they touch is counted again: a write landing between window_shingles's two reads leaves a
        shingle counted without its rows but read with them."""
        self._boilerplate = set(stored.boilerplate)
        # A shingle's rows as a tuple: most shingles have one row, and one tuple can then be shared by
        # all of a new story's shingles (dict.fromkeys), rather than a list made for each.
        self._rows: dict[int, tuple[WindowRow, ...]] = {value: tuple(rows) for value, rows in stored.rows.items()}
        for decided in unwritten:
            row = (decided.story, decided.cluster, len(decided.sampled))
            for value in decided.sampled:
                if value in wanted and value not in self._boilerplate:
                    held = self._rows.get(value, ())
                    self._grow(value, held if row in held else (*held, row))

    def boilerplate(self, sampled: Set[int]) -> frozenset[int]:
        """The shingles seen in `BOILERPLATE_CLUSTERS` or more clusters of the window."""
        return frozenset(sampled & self._boilerplate)

    def candidates(self, sampled: Set[int]) -> list[Candidate]:
        """The `CANDIDATES` stories sharing the most of `sampled` (boilerplate left out by the caller),
        the most first, then by story id."""
        rows = self._rows
        shared = Counter(row for value in sampled & rows.keys() for row in rows[value])
        best = sorted(shared.items(), key=lambda item: (-item[1], item[0][0]))[:CANDIDATES]
        return [Candidate(story, cluster, count, size) for (story, cluster, size), count in best]

    def add(self, story: str, cluster: str, sampled: Set[int]) -> None:
        """A story just decided, for the stories after it. A shingle that reaches `BOILERPLATE_CLUSTERS`
        clusters is boilerplate from then on (the window's rows only grow during a pass), and its rows
        are no longer needed."""
        row = (story, cluster, len(sampled))
        rows = self._rows
        seen = sampled & rows.keys()
        rows.update(dict.fromkeys(sampled - seen - self._boilerplate, (row,)))
        for value in seen:
            self._grow(value, (*rows[value], row))

    def _grow(self, value: int, rows: tuple[WindowRow, ...]) -> None:
        if len({cluster for _, cluster, _ in rows}) >= BOILERPLATE_CLUSTERS:
            self._boilerplate.add(value)
            self._rows.pop(value, None)
        else:
            self._rows[value] = rows
