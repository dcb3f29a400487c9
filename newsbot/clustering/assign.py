"""Each new story's cluster: the one of the earlier story it is a copy of (newsbot.clustering.clusters
decides what is a copy), or its own. Runs over what is stored, in the order it was stored, so a
cluster's first story is always its first in the database.

A pass takes the new stories a batch at a time: it reads what the window's index holds for the
whole batch's shingles at once, decides each story in order against that and the batch's stories
before it (newsbot.clustering.window), then writes the batch's clusters and index rows in one
transaction. Deciding holds no lock, so a source being stored meanwhile does not wait for it.
A batch may be decided while the one before it is still being written (newsbot.clustering.deciding
sends it ahead): it is then given that batch's decisions, and sees the index as it will be.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from newsbot.clustering.clusters import (
    MIN_SAMPLED,
    NEAR,
    Fingerprint,
    Neighbour,
    compare,
    fingerprint,
    sample_share_at_most,
    sampled,
    shingle_hashes,
)
from newsbot.clustering.window import Candidate, WindowIndex
from newsbot.models import Story
from newsbot.storage.clusters import ClusterAssignment
from newsbot.storage.database import Storage
from newsbot.storage.records import batched

# Stories decided and written together. Every batch's rows land on most pages of the window's hash
# index (their hashes are random), so a batch costs about one write of the index whatever its size:
# the larger the batch, the less a story pays for it (a cold run of 20,000 stories: 2.4 ms a story
# in batches of 500, 1.9 in batches of 2,000). Held in memory meanwhile: ~25 KB a story at the peak,
# its text included (~50 MB for 2,000).
BATCH = 2_000
# A pass's first batch at most, when its stories make several batches anyway: it is decided and
# written while nothing else is (newsbot.clustering.deciding decides it in the stage thread while its
# second process starts). 500 instead of 2,000 writes a cold run's first rows about 0.4 s sooner; in
# an empty window a small batch costs little to write. (Fewer stories stay one batch: split, they
# made a second one under PROCESS_FROM, decided in the thread and costing another write of the index.)
FIRST_BATCH = 500

# Decides batches of stored stories (by id) against the window since a time, reading the database,
# and yields each batch with its decisions, which the caller writes before it asks for the next:
# decide_each in the calling thread, or newsbot.clustering.deciding's second process.
Decide = Callable[
    [Storage, Iterator[list[str]], datetime, Callable[[], bool]], Generator[tuple[list[str], list[ClusterAssignment]]]
]


def assign_clusters(
    storage: Storage,
    now: datetime,
    window: timedelta,
    should_stop: Callable[[], bool] = lambda: False,
    batch_size: int = BATCH,
    decide: Decide | None = None,
    first_batch: int = FIRST_BATCH,
    prune: bool = True,
) -> None:
    """Give every new story a cluster: the one of the earlier story it is a copy of, or its own.
    `should_stop` is asked before each story (what is decided is written; the rest waits for the
    next pass or run). `prune`: first drop the index rows older than the window, a scan of the
    window's rows that a run does in its first pass only (later passes find them too old anyway)."""
    since = now - window
    if prune:
        storage.prune_shingles(now, window)
    batches = _waiting_batches(storage, batch_size, first_batch)
    with closing((decide or decide_each)(storage, batches, since, should_stop)) as decided_batches:
        for ids, decided in decided_batches:
            storage.record_clusters(decided, now)
            if len(decided) < len(ids):
                return


def _waiting_batches(storage: Storage, batch_size: int, first_batch: int) -> Iterator[list[str]]:
    """The stories waiting when the pass begins, a batch at a time (the first of `first_batch` at
    most, when they make more than one), the last one topped up (to `batch_size`) with stories
    stored since. A cold run's first pass begins just before its crawl ends: the last sources'
    stories (180 of 20,000) made a pass of their own after it, whose one small batch still costs
    about a whole write of the index (0.1 s) and came after everything else. Stories stored after
    the last batch is formed, or beyond its size, wait for the next pass."""
    waiting = storage.unclustered_ids()
    full: list[list[str]] = []
    last = list(waiting)
    if len(waiting) > batch_size:
        first = min(batch_size, first_batch)
        *full, last = [waiting[:first], *batched(waiting[first:], batch_size)]
    yield from full
    taken = set(waiting)
    last += [story for story in storage.unclustered_ids() if story not in taken][: batch_size - len(last)]
    if last:
        yield last


def decide_each(
    storage: Storage, batches: Iterator[list[str]], since: datetime, should_stop: Callable[[], bool]
) -> Generator[tuple[list[str], list[ClusterAssignment]]]:
    """Each batch decided in this thread once the one before it is written."""
    for ids in batches:
        if should_stop():
            return
        yield ids, decide_here(storage, ids, since, should_stop)


def decide_here(
    storage: Storage,
    ids: list[str],
    since: datetime,
    should_stop: Callable[[], bool],
    unwritten: Sequence[ClusterAssignment] = (),
) -> list[ClusterAssignment]:
    """A batch decided in this thread, on this connection (`unwritten`: see decide_batch)."""
    stored = storage.stories_by_id(ids)
    return decide_batch(storage, [stored[story] for story in ids if story in stored], since, should_stop, unwritten)


@dataclass(frozen=True)
class _Batch:
    """A batch's stories, their shingle hashes (None: too short to cluster) and the sampled ones, 4
    bytes a shingle: a story's sets (~64 KB) are made only while it is decided or compared. The
    sample is taken once (the whole batch's read and each story's turn both need it), kept as an
    array: as sets, 2,000 stories' samples would hold ~20 MB more."""

    stories: dict[str, Story]
    hashes: dict[str, array[int] | None]
    samples: dict[str, array[int]]

    @classmethod
    def of(cls, stories: list[Story]) -> _Batch:
        hashes = {story.id: shingle_hashes(cluster_text(story)) for story in stories}
        return cls(
            {story.id: story for story in stories},
            hashes,
            {story: array("I", sampled(found) if found is not None else ()) for story, found in hashes.items()},
        )

    def sampled(self, story: str) -> frozenset[int]:
        return frozenset(self.samples[story])

    def fingerprint(self, story: str) -> Fingerprint | None:
        found = self.hashes[story]
        return Fingerprint.of(found) if found is not None else None


def decide_batch(
    storage: Storage,
    stories: list[Story],
    since: datetime,
    should_stop: Callable[[], bool] = lambda: False,
    unwritten: Sequence[ClusterAssignment] = (),
) -> list[ClusterAssignment]:
    """The clusters of a batch of new stories, in order, each seeing the window and the ones before
    it; stops early (a shorter list) when `should_stop` says so. Reads the database, never writes.
    `unwritten`: the batch before, decided but perhaps not yet written, seen as if it were."""
    batch = _Batch.of(stories)
    wanted = set().union(*batch.samples.values())
    index = WindowIndex(storage.window_shingles(wanted, since), unwritten, wanted)
    decided = []
    for story in stories:
        if should_stop():
            break
        own = batch.sampled(story.id)
        assignment = _assignment(storage, index, batch, story, own)
        index.add(story.id, assignment.cluster, own)
        decided.append(assignment)
    return decided


def _assignment(
    storage: Storage, index: WindowIndex, batch: _Batch, story: Story, own: frozenset[int]
) -> ClusterAssignment:
    neighbour = nearest_story(storage, index, batch, story, own) if own else None
    cluster = neighbour.cluster_id if neighbour and neighbour.joins else story.id
    score = neighbour.containment if neighbour else None
    note = neighbour.why_not if neighbour else ""
    return ClusterAssignment(story.id, cluster, score, neighbour and neighbour.story_id, note, array("I", own))


def nearest_story(
    storage: Storage, index: WindowIndex, batch: _Batch, story: Story, own: frozenset[int]
) -> Neighbour | None:
    """The story of the window most like this one (`own`: its sampled shingles), and whether this one
    is a copy of it. A candidate whose sample shows it shares too little to be even a near miss
    (`NEAR`) is left out; the others are compared, one of the batch from its hashes, a stored one
    read back."""
    boilerplate = index.boilerplate(own)
    compared = own - boilerplate
    if len(compared) < MIN_SAMPLED:
        return None
    candidates = [each for each in index.candidates(compared) if _may_be_near(each, len(compared), len(boilerplate))]
    if not candidates:
        return None
    shingles = batch.fingerprint(story.id)
    assert shingles is not None  # it has sampled shingles
    stored = storage.stories_by_id(candidate for candidate, *_ in candidates if candidate not in batch.stories)
    best: Neighbour | None = None
    for candidate, cluster, *_ in candidates:
        if candidate in batch.stories:
            other_story, other = batch.stories[candidate], batch.fingerprint(candidate)
        elif candidate in stored:
            other_story = stored[candidate]
            other = fingerprint(cluster_text(other_story))
        else:
            continue
        if other is None:
            continue
        same_site = _site(story.url) == _site(other_story.url)
        score, why_not = compare(shingles, other, boilerplate, same_site=same_site)
        neighbour = Neighbour(candidate, cluster, round(score, 3), not why_not, why_not)
        if best is None or (neighbour.joins, neighbour.containment) > (best.joins, best.containment):
            best = neighbour
    return best


def _may_be_near(candidate: Candidate, own: int, ignored: int) -> bool:
    """Whether comparing the candidate in full could score `NEAR` or more (own: the new story's sampled
    shingles less the `ignored` boilerplate). Unknown sample sizes (before migration m014) say yes."""
    if candidate.sampled is None:
        return True
    return sample_share_at_most(candidate.shared, own, candidate.sampled, ignored) >= NEAR


def _site(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def cluster_text(story: Story) -> str:
    """What copies share: the summary and text (a re-titled copy keeps the body)."""
    return f"{story.summary}\n{story.text}"
