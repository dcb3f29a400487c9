"""Shingles hashed from their words (migration m014): the window's rows, stored under the old hash,
are owed again and written from the stories' texts before any new story is decided, so a copy
stored after the upgrade still joins the cluster of a story clustered before it."""

from __future__ import annotations

import random
import sqlite3
import zlib
from datetime import timedelta
from pathlib import Path

from newsbot.clustering.assign import assign_clusters
from newsbot.clustering.clusters import MIN_WORDS, SAMPLE_EVERY, SHINGLE_WORDS, sampled, shingle_hashes
from newsbot.storage.database import Storage
from newsbot.storage.migrations import MIGRATIONS
from tests.clustering.test_clusters import DAY, WINDOW, WORD, own_story, prose, store_poll

MASK = 0xFFFFFFFF


def crc_of_bytes(text: str) -> set[int]:
    """The sampled shingles as newsbot hashed them before m014: the CRC-32 of each five-word slice."""
    words = [word.encode() for word in WORD.findall(text.casefold())]
    hashes = {zlib.crc32(b" ".join(words[start : start + SHINGLE_WORDS])) for start in range(len(words) - 4)}
    return {value for value in hashes if value % SAMPLE_EVERY == 0}


def words_folded(text: str) -> list[int]:
    """The hashes m014 defines, one integer at a time: each word's CRC-32 folded in by multiplying by
    FNV's prime and xoring, modulo 2**32, then MurmurHash3's fmix32."""
    words = [zlib.crc32(word.encode()) for word in WORD.findall(text.casefold())]
    hashes = []
    for start in range(len(words) - SHINGLE_WORDS + 1):
        value = words[start]
        for word in words[start + 1 : start + SHINGLE_WORDS]:
            value = (value * 0x01000193 & MASK) ^ word
        value ^= value >> 16
        value = value * 0x85EBCA6B & MASK
        value ^= value >> 13
        value = value * 0xC2B2AE35 & MASK
        value ^= value >> 16
        hashes.append(value)
    return hashes


def old_database(path: Path, stories: list, clustered_at: int) -> None:
    """A database as newsbot left it before m014: the stories clustered into the first, their rows
    under the old hash."""
    old = Storage.open(path, migrate=False)
    old._check_identity(creating=True)
    MIGRATIONS.apply(old.db, stop_before="m014_shingles_hashed_from_words")
    store_poll(old, stories, DAY)
    rowid = dict(old.db.execute("SELECT id, rowid FROM stories").fetchall())
    root = rowid[stories[0].id]
    with old.db.conn:
        old.db.execute("UPDATE stories SET cluster_id = ?", [stories[0].id])
        old.db.conn.executemany(
            "INSERT INTO shingle_index VALUES (?, ?, ?, ?)",
            [(value, rowid[story.id], root, clustered_at) for story in stories for value in crc_of_bytes(story.text)],
        )
    old.close()


def test_the_hash_is_the_documented_one_and_none_of_the_old_ones() -> None:
    """The index keeps hashes between runs and machines: they must be exactly the documented function,
    whatever numpy version computes them. And the old rows must not be kept: no new story has them."""
    text = prose(random.Random(3), 400)
    hashes = shingle_hashes(text)
    assert hashes is not None
    assert list(hashes) == words_folded(text)
    assert sampled(hashes) == {value for value in words_folded(text) if value % SAMPLE_EVERY == 0}
    assert 0.15 < len(sampled(hashes)) / len(set(hashes)) < 0.35  # the low bits are mixed: about one in four
    assert not sampled(hashes) & crc_of_bytes(text)
    assert shingle_hashes(" ".join(["word"] * (MIN_WORDS - 1))) is None


def test_an_upgraded_window_is_written_again_and_still_finds_its_copies(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    text = prose(random.Random(8), 300)
    original = own_story(1, text, outlet="Wire")
    earlier_copy = own_story(2, text[: len(text) * 2 // 3], outlet="Herald")
    clustered_at = int(DAY.timestamp()) + 60
    old_database(path, [original, earlier_copy], clustered_at)

    upgraded = Storage.open(path)
    try:
        rowid = dict(upgraded.db.execute("SELECT id, rowid FROM stories").fetchall())
        owed = set(upgraded.db.execute("SELECT story, cluster, seen FROM shingles_owed").fetchall())
        left = upgraded.db.execute("SELECT count(*) FROM shingle_index").fetchone()[0]
        assert owed == {(rowid[story.id], rowid[original.id], clustered_at) for story in (original, earlier_copy)}
        assert left == 0

        late_copy = own_story(3, text[len(text) // 3 :] + " " + text[: len(text) // 3], outlet="Gazette")
        store_poll(upgraded, [late_copy], DAY + timedelta(hours=1))
        assign_clusters(upgraded, DAY + timedelta(hours=2), WINDOW)
        cluster = upgraded.cluster_of(late_copy.id)
        rows = set(upgraded.db.execute("SELECT hash, story, cluster, seen FROM shingle_index").fetchall())
        still_owed = upgraded.db.execute("SELECT count(*) FROM shingles_owed").fetchone()[0]
    finally:
        upgraded.close()

    assert cluster is not None and cluster.cluster_id == original.id
    assert {member.id for member in cluster.members} == {original.id, earlier_copy.id, late_copy.id}
    for story in (original, earlier_copy):
        hashes = shingle_hashes(story.text)
        assert hashes is not None
        expected = {(value, rowid[story.id], rowid[original.id], clustered_at) for value in sampled(hashes)}
        assert expected <= rows  # written again with the cluster and time of the rows they replace
    assert still_owed == 0


def test_a_pass_stopped_before_the_window_is_written_decides_no_new_story(tmp_path: Path) -> None:
    """Deciding against a window still owed would make a copy of an owed story a story of its own."""
    path = tmp_path / "old.db"
    text = prose(random.Random(9), 300)
    original = own_story(1, text, outlet="Wire")
    old_database(path, [original], int(DAY.timestamp()) + 60)
    storage = Storage.open(path)
    try:
        copy = own_story(2, text, outlet="Herald")
        store_poll(storage, [copy], DAY + timedelta(hours=1))
        answers = iter([True])  # the run stops while the window is written, and not after
        assign_clusters(storage, DAY + timedelta(hours=2), WINDOW, should_stop=lambda: next(answers, False))
        undecided = storage.db.execute("SELECT cluster_id FROM stories WHERE id = ?", [copy.id]).fetchone()[0]
        owed = storage.db.execute("SELECT count(*) FROM shingles_owed").fetchone()[0]
        assign_clusters(storage, DAY + timedelta(hours=3), WINDOW)
        cluster = storage.cluster_of(copy.id)
    finally:
        storage.close()

    assert undecided is None and owed == 1
    assert cluster is not None and cluster.cluster_id == original.id


def test_owed_rows_older_than_the_window_are_pruned_not_written(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_database(path, [own_story(1, prose(random.Random(10), 300))], int(DAY.timestamp()))
    storage = Storage.open(path)
    try:
        assign_clusters(storage, DAY + WINDOW + timedelta(days=1), WINDOW)
        owed = storage.db.execute("SELECT count(*) FROM shingles_owed").fetchone()[0]
        rows = storage.db.execute("SELECT count(*) FROM shingle_index").fetchone()[0]
    finally:
        storage.close()
    assert (owed, rows) == (0, 0)


def test_a_migrated_window_names_only_stories_that_exist(tmp_path: Path) -> None:
    """A row whose story is gone (it can no longer be a neighbour) is not owed: it would never be paid."""
    path = tmp_path / "old.db"
    old_database(path, [own_story(1, prose(random.Random(11), 300))], int(DAY.timestamp()))
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO shingle_index VALUES (4, 999, 999, ?)", [int(DAY.timestamp())])
    storage = Storage.open(path)
    try:
        owed = [row[0] for row in storage.db.execute("SELECT story FROM shingles_owed")]
        rowids = [row[0] for row in storage.db.execute("SELECT rowid FROM stories")]
    finally:
        storage.close()
    assert owed == rowids
