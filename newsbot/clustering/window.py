"""The cluster window's index as one batch of new stories sees it: what the database held for the
batch's sampled shingles when the batch began, and the batch's own stories, each added as soon as
its cluster is decided. Each story so sees every story before it, exactly as when every story was
committed before the next was looked up, but the batch costs two reads and one write of the
database instead of three statements a story.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Set

from newsbot.clustering.clusters import BOILERPLATE_CLUSTERS
from newsbot.storage.clusters import WindowShingles

CANDIDATES = 5  # stories compared in full with each new one: those sharing the most sampled shingles

Row = tuple[str, str]  # (story, cluster)


class WindowIndex:
    def __init__(self, stored: WindowShingles):
        self._boilerplate = set(stored.boilerplate)
        # A shingle's rows as a tuple: most shingles have one row, and one tuple can then be shared by
        # all of a new story's shingles (dict.fromkeys), rather than a list made for each.
        self._rows: dict[int, tuple[Row, ...]] = {value: tuple(rows) for value, rows in stored.rows.items()}

    def boilerplate(self, sampled: Set[int]) -> frozenset[int]:
        """The shingles seen in `BOILERPLATE_CLUSTERS` or more clusters of the window."""
        return frozenset(sampled & self._boilerplate)

    def candidates(self, sampled: Set[int]) -> list[tuple[str, str, int]]:
        """(story, cluster, shingles shared) of the `CANDIDATES` stories sharing the most of `sampled`
        (boilerplate left out by the caller), the most first, then by story id."""
        rows = self._rows
        shared = Counter(row for value in sampled & rows.keys() for row in rows[value])
        best = sorted(shared.items(), key=lambda item: (-item[1], item[0][0]))[:CANDIDATES]
        return [(story, cluster, count) for (story, cluster), count in best]

    def add(self, story: str, cluster: str, sampled: Set[int]) -> None:
        """A story just decided, for the stories after it. A shingle that reaches `BOILERPLATE_CLUSTERS`
        clusters is boilerplate from then on (the window's rows only grow during a pass), and its rows
        are no longer needed."""
        row = (story, cluster)
        rows = self._rows
        seen = sampled & rows.keys()
        rows.update(dict.fromkeys(sampled - seen - self._boilerplate, (row,)))
        for value in seen:
            grown = (*rows[value], row)
            if len({cluster for _, cluster in grown}) >= BOILERPLATE_CLUSTERS:
                self._boilerplate.add(value)
                del rows[value]
            else:
                rows[value] = grown
