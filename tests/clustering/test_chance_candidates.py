"""A candidate that shares a shingle or two with a new story by chance is not compared (a stored one
is not even read back).

Each candidate's count of sampled shingles is stored with its cluster (migration m014), so the share
of the new story's sample the two have in common is bounded before anything is read
(`sample_share_at_most`). Below `NEAR` the candidate could be neither a copy nor a near miss, and is
left out; a near miss is still compared and explained, a copy still joins, and a story clustered
before m014 (no count) is compared as before. The bound must never be below what `compare` scores,
or a copy could be left out: checked on texts built to share every amount, with boilerplate.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from newsbot.clustering.assign import assign_clusters, cluster_text
from newsbot.clustering.clusters import (
    CONTAINMENT,
    NEAR,
    Fingerprint,
    compare,
    containment,
    fingerprint,
    sample_share_at_most,
)
from newsbot.clustering.window import WindowIndex
from newsbot.models import Story
from newsbot.storage.database import Storage
from newsbot.storage.migrations import MIGRATIONS, m015_story_links
from tests.clustering.test_batch_clustering import made_up_stories
from tests.clustering.test_clusters import (
    DAY,
    WINDOW,
    cluster_each_in_its_own_run,
    cluster_in_order,
    cluster_rows,
    own_story,
    prose,
    store_poll,
)


def fingerprinted(story: Story) -> Fingerprint:
    found = fingerprint(cluster_text(story))
    assert found is not None
    return found


def chance_near_miss_and_copy() -> tuple[Story, Story, Story, Story]:
    """An original; a different story quoting 24 words of its last third (a chance overlap); a story
    that opens with its first 45% and goes on elsewhere (a near miss); and a copy of it."""
    words = prose(random.Random("original"), 200).split()
    original = own_story(1, " ".join(words), outlet="Wire")
    other = prose(random.Random("other"), 200).split()
    quoting = own_story(2, " ".join([*other[:100], *words[150:174], *other[100:]]), outlet="Quotes")
    near = own_story(3, " ".join([*words[:90], *prose(random.Random("near"), 110).split()]), outlet="Near")
    copy = own_story(4, original.text, outlet="Desk")
    return original, quoting, near, copy


@pytest.mark.parametrize("clustered", [cluster_each_in_its_own_run, cluster_in_order], ids=["run-by-run", "one-pass"])
def test_a_chance_overlap_is_not_compared_but_a_near_miss_is_explained_and_a_copy_joins(
    tmp_path: Path, clustered: Callable[[Path, list[Story]], dict[str, tuple[str, float | None, str | None]]]
) -> None:
    original, quoting, near, copy = chance_near_miss_and_copy()
    prints = {story.id: fingerprinted(story) for story in (original, quoting, near)}
    shared_by_chance = len(prints[quoting.id].sampled & prints[original.id].sampled)
    assert shared_by_chance >= 3, "the quote shares sampled shingles: without this, nothing is tested"
    near_score = compare(prints[near.id], prints[original.id], frozenset(), same_site=False)[0]
    assert NEAR <= near_score < CONTAINMENT, near_score
    assert compare(prints[quoting.id], prints[original.id], frozenset(), same_site=False)[0] < NEAR

    rows = clustered(tmp_path / "newsbot.db", [original, quoting, near, copy])

    assert rows[quoting.id] == (quoting.id, None, None), "the chance overlap was compared"
    assert rows[near.id] == (near.id, round(near_score, 3), original.id)
    assert rows[copy.id] == (original.id, 1.0, original.id)


def test_stories_clustered_before_m014_are_compared_as_before(tmp_path: Path) -> None:
    """A stored story without a count (clustered before m014) cannot be bounded: it is read back and
    compared, so the chance overlap is recorded as its nearest, with its score, as it always was."""
    original, quoting, _, copy = chance_near_miss_and_copy()
    database = tmp_path / "newsbot.db"
    storage = Storage.open(database)
    try:
        store_poll(storage, [original], DAY)
        assign_clusters(storage, DAY, WINDOW)
        with storage.transaction():
            assert storage.db.execute("SELECT cluster_sampled FROM stories").fetchone()[0] > 40
            storage.db.execute("UPDATE stories SET cluster_sampled = NULL")
        store_poll(storage, [quoting, copy], DAY + WINDOW / 2)
        assign_clusters(storage, DAY + WINDOW / 2, WINDOW)
    finally:
        storage.close()

    rows = cluster_rows(database)
    expected = compare(fingerprinted(quoting), fingerprinted(original), frozenset(), same_site=False)[0]
    assert rows[quoting.id] == (quoting.id, round(expected, 3), original.id)
    assert rows[copy.id][0] == original.id


def test_m014_leaves_the_count_unknown_for_stories_clustered_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Storage.open(path, migrate=False)
    old._check_identity(creating=True)
    MIGRATIONS.apply(old.db, stop_before="m014_cluster_sample_size")
    m015_story_links(old.db)  # today's record_fetch, used to store below, reads and writes its table
    store_poll(old, [own_story(1, prose(random.Random(1), 100))], DAY)
    old.db.execute("UPDATE stories SET cluster_id = id")
    old.db.conn.commit()
    old.close()

    Storage.open(path).close()
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT cluster_id IS NOT NULL, cluster_sampled FROM stories").fetchall()
    assert rows == [(1, None)]


def test_the_bound_is_never_below_what_compare_scores() -> None:
    """Pairs of texts sharing from one sentence to all of their words, in any order of size, with a
    random part of the new story's sample taken as boilerplate: the bound from the counts alone is
    at least the score from the full texts, and it is exact when the sample has no boilerplate and
    the smaller sample is the new story's."""
    rng = random.Random(14)
    exact = 0
    for trial in range(2_000):
        base = prose(rng, rng.randrange(40, 400)).split()
        start = rng.randrange(len(base))
        shared = base[start : start + rng.randrange(5, len(base) + 1)]
        new_text = " ".join([*prose(rng, rng.randrange(0, 200)).split(), *shared])
        old_text = " ".join([*shared, *prose(rng, rng.randrange(0, 300)).split()])
        new_print, old_print = fingerprint(new_text), fingerprint(old_text)
        if new_print is None or old_print is None:
            continue
        boilerplate_share = rng.choice((0.0, 0.1, 0.5))
        ignored = frozenset(value for value in new_print.sampled if rng.random() < boilerplate_share)
        own = new_print.sampled - ignored
        count = len(own & old_print.sampled)
        bound = sample_share_at_most(count, len(own), len(old_print.sampled), len(ignored))
        score = compare(new_print, old_print, ignored, same_site=False)[0]
        assert bound >= score - 1e-12, (trial, bound, score)
        assert bound >= containment(own, old_print.sampled - ignored) - 1e-12
        if not ignored and len(own) <= len(old_print.sampled):
            exact += 1
            assert bound == containment(own, old_print.sampled)
    assert exact > 100


def test_the_index_gives_each_candidate_its_true_shared_count_and_sample_size(tmp_path: Path) -> None:
    """What the bound is given, read from a real window index: 30 stories a site ending with that
    site's paywall block (boilerplate once three clusters carry it), copies, the chance quote and
    the near miss, stored and clustered; then new copies and quotes looked up as a pass would. Each
    candidate's shared count is exactly what its text and the new story share outside the
    boilerplate, and its stored count is the size of the sample its text gives."""
    original, quoting, near, copy = chance_near_miss_and_copy()
    stored_stories = [*made_up_stories(), original, quoting, near]
    cluster_in_order(tmp_path / "newsbot.db", stored_stories)
    probes = [
        copy,
        own_story(90, quoting.text, outlet="Again"),
        *(own_story(91 + n, stored_stories[n * 37].text, outlet="Probe") for n in range(3)),
    ]

    checked, boilerplate_seen = 0, False
    storage = Storage.open(tmp_path / "newsbot.db")
    try:
        for probe in probes:
            own = fingerprinted(probe).sampled
            index = WindowIndex(storage.window_shingles(own, DAY - WINDOW), (), own)
            compared = own - index.boilerplate(own)
            candidates = index.candidates(compared)
            stored = storage.stories_by_id(candidate.story for candidate in candidates)
            for candidate in candidates:
                found = fingerprinted(stored[candidate.story])
                assert candidate.sampled == len(found.sampled), candidate
                assert candidate.shared == len(compared & found.sampled), candidate
                checked += 1
            boilerplate_seen |= bool(index.boilerplate(own))
    finally:
        storage.close()
    assert checked >= len(probes) and boilerplate_seen, "every probe found candidates, and some a paywall block"
