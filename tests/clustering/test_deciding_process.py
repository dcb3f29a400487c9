"""Large batches are decided in a second process (newsbot.clustering.deciding): the same clusters and
index as in the run's own thread, and no process left behind when the run stops, is killed, or the
second process dies."""

from __future__ import annotations

import logging
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from newsbot.alerts.outbox import MatchedAhead, queue_matches
from newsbot.clustering.assign import assign_clusters, decide_here
from newsbot.clustering.deciding import DecidingProcess
from newsbot.clustering.window import WindowIndex
from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching.matcher import Matcher
from newsbot.models import Match, RunSummary, Story
from newsbot.storage.clusters import ClusterAssignment, WindowShingles
from newsbot.storage.database import Storage
from newsbot.storage.records import batched
from tests.clustering.test_batch_clustering import (
    NOW,
    cluster_test_set,
    clustered_count,
    decisions,
    index,
    made_up_stories,
    stored_then_clustered,
)
from tests.clustering.test_clusters import (
    DAY,
    WINDOW,
    store_poll,
)
from tests.conftest import REPOSITORY


def children(pid: int) -> set[int]:
    """The live child processes of a process, from /proc."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def signalled_children(signal_number: signal.Signals) -> list[int]:
    """Sends a signal to this process's children (the clustering process); returns whom it reached."""
    reached = sorted(children(os.getpid()))
    for child in reached:
        os.kill(child, signal_number)
    return reached


def assert_clustered_alike(database: Path, reference: Path) -> None:
    """Every story's cluster and why, and the window's index rows, are those of `reference`."""
    assert decisions(database) == decisions(reference)
    assert index(database) == index(reference)


def stored_polls(database: Path, polls: list[list]) -> Storage:
    storage = Storage.open(database)
    for number, stories in enumerate(polls):
        store_poll(storage, stories, DAY + number * timedelta(minutes=10))  # as stored_then_clustered
    return storage


@pytest.mark.parametrize("batch_size", [7, 500])
def test_the_process_decides_what_the_thread_decides(tmp_path: Path, batch_size: int) -> None:
    polls = [[story] for story in made_up_stories()]
    for name, decide in (("thread", None), ("process", DecidingProcess(tmp_path / "process.db", smallest=1))):
        storage = stored_polls(tmp_path / f"{name}.db", polls)
        try:
            assign_clusters(storage, NOW, WINDOW, batch_size=batch_size, decide=decide)
        finally:
            if decide is not None:
                decide.close()
            storage.close()

    assert_clustered_alike(tmp_path / "process.db", tmp_path / "thread.db")
    assert sum(cluster != story for story, (cluster, *_) in decisions(tmp_path / "process.db").items()) == 15
    assert not children(os.getpid()), "close() leaves no process behind"


@pytest.mark.timeout(300)
def test_the_cluster_test_set_decided_in_the_process_is_the_one_by_one_clustering(corpus: Path, tmp_path: Path) -> None:
    _, _, polls = cluster_test_set(corpus)
    stored_then_clustered(tmp_path / "one.db", polls, 1)
    storage = stored_polls(tmp_path / "process.db", polls)
    deciding = DecidingProcess(tmp_path / "process.db", smallest=1)
    try:
        assign_clusters(storage, NOW, WINDOW, batch_size=500, decide=deciding)
    finally:
        deciding.close()
        storage.close()

    assert_clustered_alike(tmp_path / "process.db", tmp_path / "one.db")


class CountingMatcher(Matcher):
    """The example watchlist's matcher, counting how often each story is matched."""

    def __init__(self) -> None:
        super().__init__([load_watchlist(REPOSITORY / "examples" / "watchlists" / "sms-vendors.yaml")])
        self.calls: Counter[str] = Counter()

    def match_story(self, story: Story) -> list[Match]:
        self.calls[story.id] += 1
        return super().match_story(story)


def opened(storage: Storage) -> Callable[[], Storage]:
    """The stage thread's connection, as the run gives it to MatchedAhead."""
    return lambda: storage


def test_the_thread_matches_a_batch_while_the_process_decides_it(tmp_path: Path) -> None:
    """What the stage thread would only wait through: each story is matched once, during the wait,
    and the outbox is the one a plain match after clustering gives."""
    lead = "The SMS aggregator Mitto AG sold access to the SS7 signalling network to locate phones."
    stories = [
        replace(story, summary=lead) if number % 5 == 0 else story for number, story in enumerate(made_up_stories())
    ]
    polls = [[story] for story in stories]
    outboxes = []
    for name, ahead_of_time in (("after", False), ("ahead", True)):
        storage = stored_polls(tmp_path / f"{name}.db", polls)
        matcher = CountingMatcher()
        ahead = MatchedAhead(matcher, opened(storage), now=lambda: NOW, max_age_days=10_000, summary=RunSummary())
        deciding = DecidingProcess(
            tmp_path / f"{name}.db", smallest=1, meanwhile=ahead.while_deciding if ahead_of_time else None
        )
        try:
            assign_clusters(storage, NOW, WINDOW, batch_size=500, decide=deciding)
            matched_while_deciding = sum(matcher.calls.values())
            queue_matches(storage, matcher, 10_000, RunSummary(), NOW, ahead=ahead)
            outboxes.append(sorted((row["id"], row["kind"], row["parent_id"]) for row in storage.db["alerts"].rows))
        finally:
            deciding.close()
            storage.close()
        assert sorted(matcher.calls.values()) == [1] * len(stories), "a story matched twice, or never"
        assert matched_while_deciding == (len(stories) if ahead_of_time else 0)
    assert outboxes[0] == outboxes[1] and outboxes[0], "the test set alerts on nothing"


def recorded(waits: list[list[str]], ids: list[str]) -> Iterator[None]:
    """A wait's matching, as MatchedAhead.while_deciding would do it: here its stories are noted."""
    waits.append(ids)
    yield


def test_the_first_of_several_batches_is_decided_here_while_the_process_starts(tmp_path: Path) -> None:
    """The process's start (its imports) overlaps the pass's first batch, decided and written in this
    thread, which is matched while the process decides the second; every later batch is the process's.
    A pass of one batch leaves it to the process, as before: nothing would overlap its start."""
    polls = [[story] for story in made_up_stories()]
    stored_then_clustered(tmp_path / "thread.db", polls, 50)
    for name, stored in (("several", polls), ("one", polls[:40])):
        storage = stored_polls(tmp_path / f"{name}.db", stored)
        waiting = storage.unclustered_ids()
        waits: list[list[str]] = []  # the stories matched during each wait for the process's answer
        deciding = DecidingProcess(tmp_path / f"{name}.db", smallest=1, meanwhile=partial(recorded, waits))
        try:
            assign_clusters(storage, NOW, WINDOW, batch_size=50, decide=deciding)
        finally:
            deciding.close()
            storage.close()
        if name == "one":
            assert waits == [waiting]
        else:
            assert len(waiting) > 100, "too few stories for three batches"
            assert waits[0] == waiting[:100], "the first batch is matched with the second, which the process decides"
            assert [len(ids) for ids in waits[1:]] == [len(batch) for batch in batched(waiting[100:], 50)]
            assert_clustered_alike(tmp_path / "several.db", tmp_path / "thread.db")


class AnsweredFirstMatcher(CountingMatcher):
    """Matches the first batch's first story only once the process's answer to that batch is there:
    that batch's matching is then slower than its deciding, as in a cold run whose writes are slow."""

    def __init__(self, first: str):
        super().__init__()
        self.first = first
        self.deciding: DecidingProcess | None = None

    def match_story(self, story: Story) -> list[Match]:
        child = self.deciding._child if self.deciding is not None else None
        if story.id == self.first and child is not None and child.stdout is not None:
            select.select([child.stdout], [], [], 60)
        return super().match_story(story)


def test_a_batch_answered_before_its_matching_ends_is_matched_before_it_is_written(tmp_path: Path) -> None:
    """The matching left when the process answers is finished while the process decides the next
    batch, not after the pass's last batch with the process idle (a cold run: 8,500 of 20,000 stories,
    1.3 s)."""
    lead = "The SMS aggregator Mitto AG sold access to the SS7 signalling network to locate phones."
    stories = [
        replace(story, summary=lead) if number % 5 == 0 else story for number, story in enumerate(made_up_stories())
    ]
    storage = stored_polls(tmp_path / "newsbot.db", [[story] for story in stories])
    matcher = AnsweredFirstMatcher(stories[0].id)  # stored first: the first batch's first story
    ahead = MatchedAhead(matcher, opened(storage), now=lambda: NOW, max_age_days=10_000, summary=RunSummary())
    deciding = matcher.deciding = DecidingProcess(tmp_path / "newsbot.db", smallest=1, meanwhile=ahead.while_deciding)
    try:
        assign_clusters(storage, NOW, WINDOW, batch_size=50, decide=deciding)
        matched_while_deciding = sum(matcher.calls.values())
        queue_matches(storage, matcher, 10_000, RunSummary(), NOW, ahead=ahead)
        alerted = storage.db["alerts"].count
    finally:
        deciding.close()
        storage.close()

    assert len(stories) > 100, "too few stories for several batches"
    assert matched_while_deciding == len(stories), "a batch's matching was left for after the pass"
    assert sorted(matcher.calls.values()) == [1] * len(stories), "a story matched twice, or never"
    assert alerted


def test_stories_too_old_to_alert_are_not_matched_while_the_process_decides(tmp_path: Path) -> None:
    """A cold run's feeds reach back weeks: a story published before the age limit gets no alert, and
    queue_matches never matches it, so matching it during the wait would be work thrown away."""
    lead = "The SMS aggregator Mitto AG sold access to the SS7 signalling network to locate phones."
    stories = [
        replace(story, summary=lead, published_at=NOW - timedelta(days=30 if number % 2 else 0, hours=1))
        for number, story in enumerate(made_up_stories())
    ]
    old = {story.id for number, story in enumerate(stories) if number % 2}
    storage = stored_polls(tmp_path / "newsbot.db", [[story] for story in stories])
    matcher = CountingMatcher()
    summary = RunSummary()
    ahead = MatchedAhead(matcher, opened(storage), now=lambda: NOW, max_age_days=2, summary=summary)
    deciding = DecidingProcess(tmp_path / "newsbot.db", smallest=1, meanwhile=ahead.while_deciding)
    try:
        assign_clusters(storage, NOW, WINDOW, batch_size=500, decide=deciding)
        matched_while_deciding = set(matcher.calls)
        queue_matches(storage, matcher, 2, summary, NOW, ahead=ahead)
        alerted = {row["story_id"] for row in storage.db["alerts"].rows}
    finally:
        deciding.close()
        storage.close()

    young = {story.id for story in stories} - old
    assert matched_while_deciding == young, "a story too old to alert was matched while the process decided"
    assert sorted(matcher.calls.values()) == [1] * len(young)
    assert summary.too_old == len(old) and alerted and not alerted & old


def test_a_stop_ends_the_process_and_the_next_pass_finishes(tmp_path: Path) -> None:
    """Asked to stop while the process decides: nothing of that batch is written, the process is gone,
    and a later pass decides everything as if nothing had happened."""
    polls = [[story] for story in made_up_stories()]
    stored_then_clustered(tmp_path / "thread.db", polls, 500)
    storage = stored_polls(tmp_path / "stopped.db", polls)
    # With work to do meanwhile, the wait for the answer asks whether to stop at once, without a
    # 0.1 s poll first: the stop comes while the process just started is still importing (~0.16 s).
    deciding = DecidingProcess(tmp_path / "stopped.db", smallest=1, meanwhile=lambda ids: iter([None]))
    try:
        # Asked before the batch (go on), then at the first look for the process's answer (stop).
        assign_clusters(storage, NOW, WINDOW, should_stop=iter([False, True]).__next__, decide=deciding)
        assert not children(os.getpid())
        assert all(cluster is None for cluster, *_ in decisions(tmp_path / "stopped.db").values())
        assign_clusters(storage, NOW, WINDOW, decide=deciding)
    finally:
        deciding.close()
        storage.close()

    assert decisions(tmp_path / "stopped.db") == decisions(tmp_path / "thread.db")


@pytest.mark.parametrize("killed_by", [signal.SIGKILL, signal.SIGTERM])
def test_a_process_that_dies_leaves_its_batch_to_the_thread(
    tmp_path: Path, killed_by: signal.Signals, caplog: pytest.LogCaptureFixture
) -> None:
    """The second process killed (the OOM killer, say, or a SIGTERM meant for it alone) while it
    decides: the batch is decided in the run's thread instead, with the same result, the failure is
    logged once with the signal, and no later batch tries the process again."""
    polls = [[story] for story in made_up_stories()]
    stored_then_clustered(tmp_path / "thread.db", polls, 64)
    storage = stored_polls(tmp_path / "killed.db", polls)
    deciding = DecidingProcess(tmp_path / "killed.db", smallest=1)
    killed: list[int] = []

    def kill_the_process() -> bool:
        if not killed:
            killed.extend(signalled_children(killed_by))
        return False

    try:
        assign_clusters(storage, NOW, WINDOW, should_stop=kill_the_process, batch_size=64, decide=deciding)
    finally:
        deciding.close()
        storage.close()

    assert len(killed) == 1
    assert_clustered_alike(tmp_path / "killed.db", tmp_path / "thread.db")
    failures = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert failures == [
        f"the clustering process failed (ended by signal {killed_by.value}); clustering continues in the run's process"
    ]


def test_a_process_that_died_between_passes_leaves_the_next_batch_to_the_thread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The process killed while it waits for the next pass (the OOM killer, say): the next batch's
    request meets a pipe with no reader, and stays buffered to be flushed again when the pipe is
    closed. The batch is decided in the thread all the same, and the failure is logged once."""
    polls = [[story] for story in made_up_stories()]
    stored_then_clustered(tmp_path / "thread.db", polls, 64)
    storage = stored_polls(tmp_path / "killed.db", polls[:64])
    deciding = DecidingProcess(tmp_path / "killed.db", smallest=1)
    try:
        assign_clusters(storage, NOW, WINDOW, batch_size=64, decide=deciding)
        (process,) = signalled_children(signal.SIGKILL)
        deadline = time.monotonic() + 20
        while _state(process) != "Z":  # dead, and not yet reaped: the run has not looked
            assert time.monotonic() < deadline
            time.sleep(0.01)
        for number, stories in enumerate(polls[64:], start=64):
            store_poll(storage, stories, DAY + number * timedelta(minutes=10))
        assign_clusters(storage, NOW, WINDOW, batch_size=64, decide=deciding)
    finally:
        deciding.close()
        storage.close()

    assert_clustered_alike(tmp_path / "killed.db", tmp_path / "thread.db")
    failures = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert failures == [
        f"the clustering process failed (ended by signal {signal.SIGKILL.value}); "
        "clustering continues in the run's process"
    ]


def test_a_process_ended_by_the_runs_own_stop_is_no_failure(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """`systemctl stop` signals the whole group: the process dies of it at once, and the thread reading
    its broken answer can get there before the run's main thread has run its own handler (CI saw the
    run report a failed clustering process before its stop). Here the run sees its stop half a second
    after the process died: nothing is logged as a failure, nothing of the batch is written, and the
    batch is not decided in the thread."""
    polls = [[story] for story in made_up_stories()]
    storage = stored_polls(tmp_path / "stopped.db", polls)
    # With work to do meanwhile, the wait asks at once whether to stop, while the process is still
    # importing: after a 0.1 s poll, a fast machine's process had already answered, and was never signalled.
    deciding = DecidingProcess(tmp_path / "stopped.db", smallest=1, meanwhile=lambda ids: iter([None]))
    terminated_at: list[float] = []

    def stop_reaching_the_run_late() -> bool:
        """Asked before the batch (no process yet), then while waiting for its answer."""
        if not terminated_at:
            if signalled_children(signal.SIGTERM):
                terminated_at.append(time.monotonic())
            return False
        return time.monotonic() - terminated_at[0] > 0.5

    try:
        assign_clusters(storage, NOW, WINDOW, should_stop=stop_reaching_the_run_late, decide=deciding)
    finally:
        deciding.close()
        storage.close()

    assert len(terminated_at) == 1, "the process was ended by SIGTERM while it decided"
    assert not [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert all(cluster is None for cluster, *_ in decisions(tmp_path / "stopped.db").values())
    assert not children(os.getpid())


DECIDE_IN_A_CHILD = """
import sys, time
from datetime import datetime, timedelta
from pathlib import Path
from newsbot.alerts.outbox import MatchedAhead, queue_matches
from newsbot.clustering.assign import assign_clusters
from newsbot.clustering.deciding import DecidingProcess
from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching.matcher import Matcher
from newsbot.models import Match, RunSummary, Story
from newsbot.storage.database import Storage

database = Path(sys.argv[1])
storage = Storage.open(database)
# Work to do meanwhile: the wait announces itself at once, while the process is still importing.
deciding = DecidingProcess(database, smallest=1, meanwhile=lambda ids: iter([None]))

def announce() -> bool:
    print("deciding", flush=True)
    time.sleep(0.05)
    return False

assign_clusters(storage, datetime.fromisoformat(sys.argv[2]), timedelta(days=7), announce, decide=deciding)
"""


def test_a_run_killed_by_sigkill_leaves_no_clustering_process(tmp_path: Path) -> None:
    """The run's process killed while its second process decides: the second process reads the end of
    its pipe and exits by itself (nothing else would ever end it)."""
    polls = [[story] for story in made_up_stories()]
    stored_polls(tmp_path / "newsbot.db", polls).close()
    run = subprocess.Popen(
        [sys.executable, "-c", DECIDE_IN_A_CHILD, str(tmp_path / "newsbot.db"), NOW.isoformat()],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert run.stdout is not None
    deciding: set[int] = set()
    for _ in range(200):  # asked before the batch, at once when the process starts, then every 0.15 s
        assert run.stdout.readline() == "deciding\n"
        deciding = children(run.pid)
        if deciding:
            break
    assert len(deciding) == 1
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    child = deciding.pop()

    deadline = time.monotonic() + 20
    while Path(f"/proc/{child}").exists() and _state(child) != "Z" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists() or _state(child) == "Z", "the clustering process outlived its run"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def decided_ahead(database: Path, polls: list[list[Story]], batch_size: int, written_first: bool) -> None:
    """Batches decided as the process decides one sent ahead: given the batch before's decisions, and
    that batch written after the read (`written_first`: before it, the other side of the race)."""
    storage = stored_polls(database, polls)
    try:
        previous: list[ClusterAssignment] = []
        for ids in batched(storage.unclustered_ids(), batch_size):
            if written_first:
                storage.record_clusters(previous, NOW)
            decided = decide_here(storage, ids, NOW - WINDOW, lambda: False, previous)
            if not written_first:
                storage.record_clusters(previous, NOW)
            previous = decided
        storage.record_clusters(previous, NOW)
    finally:
        storage.close()


@pytest.mark.parametrize("batch_size", [2, 7, 64])
def test_a_batch_decided_before_the_one_before_is_written_sees_it_all_the_same(tmp_path: Path, batch_size: int) -> None:
    """The process decides batch N+1 while batch N is written: whether its read comes before the write
    or after it, it sees the index a batch at a time after N gives, boilerplate found across the two
    included (the paywall blocks become boilerplate within a few batches)."""
    polls = [[story] for story in made_up_stories()]
    stored_then_clustered(tmp_path / "one.db", polls, 1)
    for written_first in (False, True):
        decided_ahead(tmp_path / f"{written_first}.db", polls, batch_size, written_first)
        assert_clustered_alike(tmp_path / f"{written_first}.db", tmp_path / "one.db")


def test_a_batch_sent_ahead_of_a_write_that_fails_is_never_written(tmp_path: Path) -> None:
    """The write of batch 3 fails (a trigger aborts it, as a full disk would) while batch 4 is being
    decided on the strength of it: the error reaches the run, the process deciding batch 4 is ended
    and nothing of it written, and the next pass finishes as one pass in the thread would."""
    polls = [[story] for story in made_up_stories()]
    stored_then_clustered(tmp_path / "thread.db", polls, 7)
    storage = stored_polls(tmp_path / "failed.db", polls)
    third = storage.unclustered_ids()[14]
    storage.db.execute(
        "CREATE TRIGGER injected_failure BEFORE UPDATE OF cluster_id ON stories "
        f"WHEN NEW.id = '{third}' BEGIN SELECT RAISE(ABORT, 'injected write failure'); END"
    )
    deciding = DecidingProcess(tmp_path / "failed.db", smallest=1)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="injected write failure"):
            assign_clusters(storage, NOW, WINDOW, batch_size=7, decide=deciding)
        assert not children(os.getpid()), "the process deciding the batch sent ahead outlived the failure"
        assert clustered_count(tmp_path / "failed.db") == 14
        storage.db.execute("DROP TRIGGER injected_failure")
        assign_clusters(storage, NOW, WINDOW, batch_size=7, decide=deciding)
    finally:
        deciding.close()
        storage.close()

    assert_clustered_alike(tmp_path / "failed.db", tmp_path / "thread.db")


@pytest.mark.parametrize("written_batches", [1, 2])
def test_a_stop_ends_the_process_and_writes_nothing_it_decided_ahead(tmp_path: Path, written_batches: int) -> None:
    """Asked to stop once batch 1 is written: the process, started while this thread decided batch 1,
    has been sent nothing, and is ended at once rather than left idle until the run's end. Asked to
    stop once batch 2 is written, while batch 3 is being decided in the process: batch 3 is not
    written, and the process is gone. Either way the next pass finishes as one pass in the thread would."""
    polls = [[story] for story in made_up_stories()]
    stored_then_clustered(tmp_path / "thread.db", polls, 7)
    storage = stored_polls(tmp_path / "stopped.db", polls)
    deciding = DecidingProcess(tmp_path / "stopped.db", smallest=1)
    try:
        assign_clusters(
            storage,
            NOW,
            WINDOW,
            should_stop=lambda: clustered_count(tmp_path / "stopped.db") >= 7 * written_batches,
            batch_size=7,
            decide=deciding,
        )
        assert not children(os.getpid())
        assert clustered_count(tmp_path / "stopped.db") == 7 * written_batches
        assign_clusters(storage, NOW, WINDOW, batch_size=7, decide=deciding)
    finally:
        deciding.close()
        storage.close()

    assert_clustered_alike(tmp_path / "stopped.db", tmp_path / "thread.db")


def test_a_write_landing_between_the_two_reads_of_the_index_still_makes_boilerplate() -> None:
    """window_shingles counts a shingle's clusters, then reads its rows: batch N's write can land
    between the two. Counted in two clusters, read with N's row as a third, given N as unwritten: it
    is boilerplate, as it is when the write lands before both reads (counted in three)."""
    decided = ClusterAssignment("n", "n", None, None, "", [8, 12])
    straddled = WindowShingles(rows={8: [("a", "a", 5), ("b", "b", 9), ("n", "n", 2)], 12: [("n", "n", 2)]})
    after_both = WindowShingles(boilerplate={8}, rows={12: [("n", "n", 2)]})
    for stored in (straddled, after_both):
        window = WindowIndex(stored, [decided], {8, 12, 16})
        assert window.boilerplate({8, 12, 16}) == {8}
        assert window.candidates({12, 16}) == [("n", "n", 1, 2)]
