"""Clustering a batch of new stories at once gives exactly what clustering them one at a time gives.

assign_clusters decides a batch of stories against what the window's index held when the batch began
plus the batch's own stories kept in memory (newsbot.clustering.window), and writes the batch in one
transaction. With `batch_size=1` every story is instead decided against the database alone, its own
rows committed before the next story is looked up: the one-by-one path. The two must agree on every
story's cluster, score, nearest neighbour and note, and on every row of the index, on the cluster test
set of real articles (tests/clustering/test_clusters.py), and on made-up stories whose boilerplate
becomes boilerplate inside a batch. A run killed in the middle of a pass loses nothing: the next pass
finishes it with the same clusters and no index row twice.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from newsbot.clustering.assign import assign_clusters, decide_each
from newsbot.models import Story
from newsbot.storage.clusters import ClusterAssignment
from newsbot.storage.database import Storage
from tests.clustering.test_clusters import (
    DAY,
    PAYWALLS,
    WINDOW,
    Labelled,
    first_seen_polls,
    load_negatives,
    load_originals,
    mixed_clusters,
    negative_story,
    original_story,
    own_story,
    prose,
    run_polls,
    store_poll,
    variant_stories,
)
from tests.conftest import REPOSITORY

NOW = DAY + timedelta(hours=12)
Decision = tuple[str, float | None, str | None, str | None]  # cluster, score, neighbour, note


def decisions(database: Path) -> dict[str, Decision]:
    """Every story's cluster and why, read straight from the file."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT id, cluster_id, cluster_score, cluster_neighbour, cluster_note FROM stories")
        return {story: (cluster, score, neighbour, note) for story, cluster, score, neighbour, note in rows}


def index(database: Path) -> Counter[tuple[int, str, str]]:
    """The index's rows, as a multiset: a row written twice counts twice."""
    with sqlite3.connect(database) as connection:
        return Counter(
            connection.execute(
                "SELECT hash, story.id, cluster.id FROM shingle_index "
                "JOIN stories AS story ON story.rowid = shingle_index.story "
                "JOIN stories AS cluster ON cluster.rowid = shingle_index.cluster"
            )
        )


def stored_then_clustered(database: Path, polls: list[list[Story]], batch_size: int | None) -> None:
    """Every poll stored, then one pass of assign_clusters (in batches of `batch_size`), or, with None,
    a pass after each third of the polls, as the cron runs after them would (test_clusters.run_polls)."""
    storage = Storage.open(database)
    try:
        if batch_size is None:
            run_polls(storage, polls)
            return
        for number, stories in enumerate(polls):
            store_poll(storage, stories, DAY + number * timedelta(minutes=10))
        assign_clusters(storage, NOW, WINDOW, batch_size=batch_size)
    finally:
        storage.close()


@pytest.mark.timeout(480)  # four passes over 2,373 real stories, one of them a story at a time
def test_a_batch_gives_the_clusters_one_story_at_a_time_gave_on_the_cluster_test_set(
    corpus: Path, fast_folder: Path
) -> None:
    """The real articles, their 318 syndicated copies and 2,002 hard negatives, with the wire-service
    press releases written from one template: one pass in batches of 500, one batch, and a pass after
    each third of the polls (batches of the default size) decide each story as the one-by-one path
    does; every copy joins its original and no two stories merge."""
    groups, negatives, polls = cluster_test_set(corpus)
    polls[-1] += [negative_story(release) for release in load_negatives(corpus).releases]  # boilerplate, real text
    runs = {"one": 1, "batches of 500": 500, "one batch": 100_000, "polls": None}
    for name, batch_size in runs.items():
        stored_then_clustered(fast_folder / f"{name}.db", polls, batch_size)

    one_by_one = decisions(fast_folder / "one.db")
    assert len(one_by_one) == sum(len(poll) for poll in polls) > 2_300
    for name in list(runs)[1:]:
        found = decisions(fast_folder / f"{name}.db")
        differ = {story: (one_by_one[story], found[story]) for story in one_by_one if found[story] != one_by_one[story]}
        assert not differ, f"{name}: {len(differ)} stories decided otherwise, e.g. {list(differ.items())[:3]}"
        assert index(fast_folder / f"{name}.db") == index(fast_folder / "one.db")

    clusters = {story: decision[0] for story, decision in one_by_one.items()}
    variants = [variant for _, copies in groups for variant in copies]
    joined = sum(
        clusters[variant.story.id] == clusters[original.story.id] for original, copies in groups for variant in copies
    )
    everything = [*(original for original, _ in groups), *variants, *negatives]
    print(f"\ncopies joined {joined}/{len(variants)}, false merges {len(mixed_clusters(everything, clusters))}")
    assert joined == len(variants)
    assert not mixed_clusters(everything, clusters)


def cluster_test_set(
    corpus: Path,
) -> tuple[list[tuple[Labelled, list[Labelled]]], list[Labelled], list[list[Story]]]:
    """The originals with their variants, the negatives, and all of them as the polls that first saw them."""
    groups = [
        (Labelled(original_story(original), original.key, "original"), variant_stories(original))
        for original in load_originals(corpus)
    ]
    negatives = [
        Labelled(negative_story(item), f"negative:{item.key}", "negative") for item in load_negatives(corpus).news
    ]
    return groups, negatives, first_seen_polls(groups, negatives)


def made_up_stories() -> list[Story]:
    """Per paywall block, 30 different stories ending with it (it becomes boilerplate once three clusters
    carry it, inside a batch), copies of every sixth, a page that is only the block, and teasers."""
    stories = []
    for site, block in enumerate(PAYWALLS):
        originals = [
            own_story(
                1000 * site + number,
                prose(random.Random(f"{site}/{number}"), 50) + "\n\n" + block,
                outlet=f"Site{site}",
            )
            for number in range(30)
        ]
        copies = [
            own_story(1000 * site + 100 + number, originals[number].text, outlet="Partner")
            for number in range(0, 30, 6)
        ]
        stories += [*originals[:15], *copies[:2], *originals[15:], *copies[2:]]
        stories.append(own_story(1000 * site + 999, block, outlet=f"Blocks{site}"))
        stories.append(own_story(1000 * site + 998, "Subscribe to read.", outlet=f"Teasers{site}"))
    return stories


@pytest.mark.parametrize("batch_size", [2, 7, 64, 500])
def test_made_up_batches_of_any_size_give_the_one_by_one_clusters(tmp_path: Path, batch_size: int) -> None:
    """Batch edges anywhere (2, 7 and 64 stories), or one batch for everything: the paywall block turns
    into boilerplate inside a batch, copies join across and within batches, all as one by one."""
    polls = [[story] for story in made_up_stories()]
    stored_then_clustered(tmp_path / "one.db", polls, 1)
    stored_then_clustered(tmp_path / "batches.db", polls, batch_size)

    one_by_one = decisions(tmp_path / "one.db")
    assert decisions(tmp_path / "batches.db") == one_by_one
    assert index(tmp_path / "batches.db") == index(tmp_path / "one.db")
    joined = [story for story, (cluster, _, _, _) in one_by_one.items() if cluster != story]
    assert len(joined) == 3 * 5, "each site's five copies, and nothing else, join a cluster"
    assert any(note for _, _, _, note in one_by_one.values()), "some story was compared and kept apart"


def test_a_pass_tops_up_its_last_batch_with_stories_stored_since_it_began(tmp_path: Path) -> None:
    """Stories stored while a pass clusters (the crawl's last sources) join its last batch, up to the
    batch's size, instead of waiting for a pass of their own after it; the rest wait for the next
    pass. The clusters are those of one pass over everything."""
    polls = [[story] for story in made_up_stories()]
    stored_then_clustered(tmp_path / "whole.db", polls, 1)
    database = tmp_path / "topped.db"
    storage = Storage.open(database)
    early, late = polls[:70], polls[70:]
    assert len(late) > 20
    for number, poll in enumerate(early):
        store_poll(storage, poll, DAY + number * timedelta(minutes=10))
    pulled: list[list[str]] = []

    def stored_meanwhile(
        storage: Storage, batches: Iterator[list[str]], since: datetime, should_stop: Callable[[], bool]
    ) -> Generator[tuple[list[str], list[ClusterAssignment]]]:
        """decide_each, while the crawl stores the late polls once the pass has its first batch."""

        def watched() -> Iterator[list[str]]:
            for batch in batches:
                pulled.append(list(batch))
                if len(pulled) == 1:
                    for number, poll in enumerate(late, start=len(early)):
                        store_poll(storage, poll, DAY + number * timedelta(minutes=10))
                yield batch

        yield from decide_each(storage, watched(), since, should_stop)

    try:
        assign_clusters(storage, NOW, WINDOW, batch_size=30, decide=stored_meanwhile)
        assert [len(batch) for batch in pulled] == [30, 30, 30]  # 70 waiting: 30, 30 and 10 + 20 stored since
        assert pulled[2][10:] == [poll[0].id for poll in late[:20]]
        assert clustered_count(database) == 90
        assign_clusters(storage, NOW, WINDOW, batch_size=30)
    finally:
        storage.close()
    assert decisions(database) == decisions(tmp_path / "whole.db")


def test_a_passs_first_batch_is_small_and_the_clusters_are_those_of_one_pass(tmp_path: Path) -> None:
    """The first batch is decided while nothing is written yet: a small one lets the writes begin
    sooner. Its edge changes no decision."""
    polls = [[story] for story in made_up_stories()]
    stored_then_clustered(tmp_path / "whole.db", polls, 1)
    database = tmp_path / "first.db"
    storage = Storage.open(database)
    for number, poll in enumerate(polls):
        store_poll(storage, poll, DAY + number * timedelta(minutes=10))
    sizes: list[int] = []

    def watched(
        storage: Storage, batches: Iterator[list[str]], since: datetime, should_stop: Callable[[], bool]
    ) -> Generator[tuple[list[str], list[ClusterAssignment]]]:
        for ids, decided in decide_each(storage, batches, since, should_stop):
            sizes.append(len(ids))
            yield ids, decided

    try:
        assign_clusters(storage, NOW, WINDOW, batch_size=len(polls), decide=watched, first_batch=10)
        assert sizes == [len(polls)], "stories that make one batch stay one: split, the rest made a second"
        storage.db.execute("UPDATE stories SET cluster_id = NULL, cluster_score = NULL, cluster_neighbour = NULL")
        storage.db.execute("UPDATE stories SET cluster_note = NULL, cluster_sampled = NULL")
        storage.db.execute("DELETE FROM shingle_index")
        sizes.clear()
        assign_clusters(storage, NOW, WINDOW, batch_size=30, decide=watched, first_batch=10)
    finally:
        storage.close()
    assert sizes == [10, 30, 30, 30, len(polls) - 100] and len(polls) > 100
    assert decisions(database) == decisions(tmp_path / "whole.db")
    assert index(database) == index(tmp_path / "whole.db")


CLUSTER_IN_A_CHILD = """
import sys
from datetime import datetime, timedelta
from pathlib import Path
from newsbot.clustering.assign import assign_clusters
from newsbot.storage.database import Storage
storage = Storage.open(Path(sys.argv[1]))
assign_clusters(storage, datetime.fromisoformat(sys.argv[2]), timedelta(days=7), batch_size=int(sys.argv[3]))
"""


def clustered_count(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        count: int = connection.execute("SELECT count(*) FROM stories WHERE cluster_id IS NOT NULL").fetchone()[0]
        return count


def test_a_pass_killed_midway_is_finished_by_the_next_with_nothing_twice(tmp_path: Path) -> None:
    """SIGKILL once some batches are written and others not: the next pass clusters the rest, and the
    database ends exactly as one uninterrupted pass leaves it (no story's index rows written twice)."""
    stories = [
        own_story(number, prose(random.Random(f"k{number}"), 120), outlet=f"O{number % 40}") for number in range(900)
    ]
    copies = [own_story(5000 + number, stories[number].text, outlet="Wire") for number in range(0, 900, 4)]
    polls = [[story] for story in [*stories, *copies]]
    stored_then_clustered(tmp_path / "whole.db", polls, 500)
    killed = tmp_path / "killed.db"
    storage = Storage.open(killed)
    try:
        for number, poll in enumerate(polls):
            store_poll(storage, poll, DAY + number * timedelta(seconds=1))
    finally:
        storage.close()

    child = subprocess.Popen(
        [sys.executable, "-c", CLUSTER_IN_A_CHILD, str(killed), NOW.isoformat(), "5"], cwd=REPOSITORY
    )
    while child.poll() is None and clustered_count(killed) == 0:
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    done = clustered_count(killed)
    assert child.returncode == -signal.SIGKILL and 0 < done < len(polls), f"killed after {done} of {len(polls)}"

    storage = Storage.open(killed)  # checked whole on open: the kill left no damage
    try:
        assign_clusters(storage, NOW, WINDOW)
    finally:
        storage.close()
    assert decisions(killed) == decisions(tmp_path / "whole.db")
    assert index(killed) == index(tmp_path / "whole.db")
    assert max(index(killed).values()) == 1


def test_a_batch_writes_exactly_its_stories_sampled_shingles_to_the_index(tmp_path: Path) -> None:
    """The index rows, written many to a statement: a story with none, fewer than a statement
    holds, exactly as many, one more, and several statements' worth, and a hash two stories share."""
    sizes = [0, 1, 199, 200, 201, 450]
    stories = [own_story(number, f"text {number}", outlet=f"Outlet{number}") for number in range(len(sizes))]
    storage = Storage.open(tmp_path / "newsbot.db")
    try:
        store_poll(storage, stories, DAY)
        samples = [array("I", range(1000 * number, 1000 * number + size)) for number, size in enumerate(sizes)]
        samples[-1].append(1000)  # also the second story's only shingle
        assignments = [
            ClusterAssignment(story.id, stories[0].id if number == 3 else story.id, None, None, "", sample)
            for number, (story, sample) in enumerate(zip(stories, samples, strict=True))
        ]
        storage.record_clusters(assignments, NOW)
    finally:
        storage.close()

    expected = Counter((value, each.story, each.cluster) for each in assignments for value in each.sampled)
    assert index(tmp_path / "newsbot.db") == expected
    assert sum(expected.values()) == sum(sizes) + 1
