"""The cluster window's index kept in integers (migration m008): an upgraded database keeps its window,
so a copy stored after the upgrade still joins the cluster of a story clustered before it."""

from __future__ import annotations

import random
import sqlite3
from datetime import timedelta
from pathlib import Path

from newsbot.clustering.assign import assign_clusters
from newsbot.clustering.clusters import fingerprint
from newsbot.models import RunSummary
from newsbot.storage.database import Storage
from newsbot.storage.migrations import MIGRATIONS, m015_story_links
from tests.clustering.test_clusters import DAY, WINDOW, own_story, prose, store_poll


def test_an_upgraded_window_still_finds_its_copies(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    text = prose(random.Random(8), 300)
    original = own_story(1, text, outlet="Wire")
    earlier_copy = own_story(2, text[: len(text) * 2 // 3], outlet="Herald")
    old = Storage.open(path, migrate=False)
    old._check_identity(creating=True)
    MIGRATIONS.apply(old.db, stop_before="m008_compact_shingle_index")
    m015_story_links(old.db)  # today's record_fetch, used to store below, reads and writes its table
    store_poll(old, [original, earlier_copy], DAY)
    old_rows = [
        (value, story.id, original.id, "2024-10-18T05:01:00+00:00")
        for story in (original, earlier_copy)
        for value in fingerprint(story.text).sampled  # type: ignore[union-attr]
    ]
    gone = [(value, "0" * 20, "0" * 20, "2024-10-18T05:01:00+00:00") for value in range(4)]  # a story not stored
    with old.db.conn:
        old.db.execute("UPDATE stories SET cluster_id = ?", [original.id])
        old.db.conn.executemany("INSERT INTO shingle_index VALUES (?, ?, ?, ?)", old_rows + gone)
    old.close()

    upgraded = Storage.open(path)
    try:
        with sqlite3.connect(path) as connection:
            rowid = dict(connection.execute("SELECT id, rowid FROM stories"))
            migrated = set(connection.execute("SELECT hash, story, cluster, seen FROM shingle_index"))
        moment = int(DAY.timestamp()) + 60
        assert migrated == {(value, rowid[story], rowid[cluster], moment) for value, story, cluster, _ in old_rows}

        late_copy = own_story(3, text[len(text) // 3 :] + " " + text[: len(text) // 3], outlet="Gazette")
        store_poll(upgraded, [late_copy], DAY + timedelta(hours=1))
        assign_clusters(upgraded, DAY + timedelta(hours=2), WINDOW)
        cluster = upgraded.cluster_of(late_copy.id)
    finally:
        upgraded.close()

    assert cluster is not None and cluster.cluster_id == original.id
    assert {member.id for member in cluster.members} == {original.id, earlier_copy.id, late_copy.id}


def test_the_window_is_pruned_by_time(tmp_path: Path) -> None:
    """Rows of stories clustered before the window began go; the ones inside it stay."""
    storage = Storage.open(tmp_path / "newsbot.db")
    try:
        old = own_story(1, prose(random.Random(1), 200))
        recent = own_story(2, prose(random.Random(2), 200))
        store_poll(storage, [old], DAY)
        assign_clusters(storage, DAY, WINDOW)
        store_poll(storage, [recent], DAY + WINDOW)
        assign_clusters(storage, DAY + WINDOW + timedelta(minutes=1), WINDOW)
        remaining = {row[0] for row in storage.db.execute("SELECT DISTINCT story FROM shingle_index")}
        rowid = dict(storage.db.execute("SELECT id, rowid FROM stories"))
    finally:
        storage.close()

    assert remaining == {rowid[recent.id]}


def test_a_pass_that_does_not_prune_still_never_joins_a_story_older_than_the_window(tmp_path: Path) -> None:
    """A run prunes in its first pass only (a scan of the window's rows since m010): the rows a later
    pass leaves are too old to be found, and the next pruning pass drops them."""
    text = prose(random.Random(5), 250)
    old, copy = own_story(1, text, outlet="Wire"), own_story(2, text, outlet="Herald")
    storage = Storage.open(tmp_path / "newsbot.db")
    try:
        store_poll(storage, [old], DAY)
        assign_clusters(storage, DAY, WINDOW)
        store_poll(storage, [copy], DAY + WINDOW + timedelta(hours=1))
        assign_clusters(storage, DAY + WINDOW + timedelta(hours=2), WINDOW, prune=False)
        rowid = dict(storage.db.execute("SELECT id, rowid FROM stories"))
        kept = {row[0] for row in storage.db.execute("SELECT DISTINCT story FROM shingle_index")}
        cluster = storage.cluster_of(copy.id)
        assign_clusters(storage, DAY + WINDOW + timedelta(hours=3), WINDOW)
        pruned = {row[0] for row in storage.db.execute("SELECT DISTINCT story FROM shingle_index")}
    finally:
        storage.close()

    assert kept == {rowid[old.id], rowid[copy.id]}, "a pass that does not prune leaves the old rows"
    assert cluster is not None and cluster.cluster_id == copy.id, "a story older than the window was joined"
    assert pruned == {rowid[copy.id]}


def test_a_run_on_a_clock_days_ahead_does_not_empty_the_window(tmp_path: Path) -> None:
    """Pruned by that clock, the index lost every story, and the copies after it alerted again."""
    storage = Storage.open(tmp_path / "newsbot.db")
    try:
        text = prose(random.Random(5), 300)
        original = own_story(1, text)
        store_poll(storage, [original], DAY)
        assign_clusters(storage, DAY, WINDOW)
        storage.record_run(DAY, DAY + timedelta(minutes=1), RunSummary())
        assign_clusters(storage, DAY + WINDOW + timedelta(days=1), WINDOW)  # before NTP set the clock
        copy = own_story(2, text[: len(text) * 2 // 3], outlet="Herald")
        store_poll(storage, [copy], DAY + timedelta(minutes=10))
        assign_clusters(storage, DAY + timedelta(minutes=11), WINDOW)
        cluster = storage.cluster_of(copy.id)
    finally:
        storage.close()

    assert cluster is not None and cluster.cluster_id == original.id


def test_a_run_in_the_hour_of_the_last_run_leaves_pruning_to_the_next_hour(tmp_path: Path) -> None:
    """Pruning is a scan of the whole window's index: the first run of each clock hour does it. The
    rows a skipped prune leaves are never joined (every read for clustering asks their time), and the
    next hour's first run drops them."""
    text = prose(random.Random(6), 250)
    old, copy = own_story(1, text, outlet="Wire"), own_story(2, text, outlet="Herald")
    hour = DAY + WINDOW + timedelta(hours=1)  # on the hour, as DAY is
    storage = Storage.open(tmp_path / "newsbot.db")
    try:
        store_poll(storage, [old], DAY)
        assign_clusters(storage, DAY, WINDOW)
        storage.record_run(hour + timedelta(minutes=5), hour + timedelta(minutes=6), RunSummary())
        store_poll(storage, [copy], hour + timedelta(minutes=50))
        assign_clusters(storage, hour + timedelta(minutes=59, seconds=59), WINDOW)
        rowid = dict(storage.db.execute("SELECT id, rowid FROM stories"))
        kept = {row[0] for row in storage.db.execute("SELECT DISTINCT story FROM shingle_index")}
        cluster = storage.cluster_of(copy.id)
        assign_clusters(storage, hour + timedelta(hours=1), WINDOW)
        pruned = {row[0] for row in storage.db.execute("SELECT DISTINCT story FROM shingle_index")}
    finally:
        storage.close()

    assert kept == {rowid[old.id], rowid[copy.id]}, "a run in the last run's hour pruned again"
    assert cluster is not None and cluster.cluster_id == copy.id, "a story older than the window was joined"
    assert pruned == {rowid[copy.id]}, "the next hour's first run did not prune"
