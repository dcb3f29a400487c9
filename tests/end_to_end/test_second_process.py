"""The second clustering process (newsbot.clustering.deciding) in a real `newsbot run`, as cron starts it.

A cold crawl of 24 local feeds stores 480 stories at once, so the run's stage thread hands the batch
to its child process (`python -m newsbot.clustering.deciding`); the tests find that child in /proc and
then kill, stop or signal the run around it. Whatever happens, the stories must end up with the
clusters a decision in the run's own thread gives (the reference: the same stored stories, their
clusters reset, decided again by `assign_clusters` in this process with no second process), each
story clustered once, and each alert sent once.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsbot.clustering.assign import assign_clusters
from newsbot.storage.database import Storage
from tests.conftest import Workspace, newsbot_environment
from tests.servers import FakeSlack, FeedServer, Route, recent, rss

EARLY_FEEDS = 16  # 320 stories: on their own, a batch for the second process
LATE_FEEDS = 8  # each carries copies of 5 early stories, on sites of its own
ITEMS = 20
STORIES = (EARLY_FEEDS + LATE_FEEDS) * ITEMS
COPIES = LATE_FEEDS * 5
MATCHING = {0, 4, 8, 12}  # the early feeds whose first story names Mitto AG and SS7 (0 and 4 are copied)
DECIDING = b"newsbot.clustering.deciding"
WINDOW = timedelta(days=7)  # the workspace's default cluster_window_days
VOCABULARY = [f"{stem}{number}" for stem in ("relay", "tower", "number", "gateway", "route") for number in range(400)]
MITTO_LEAD = (
    "The SMS aggregator Mitto AG sold access to the SS7 signalling network so that surveillance firms "
    "could locate phones, former employees said."
)


def article(seed: int) -> str:
    """A text of its own (60 words, well over clustering's 40) for each original story."""
    pick = random.Random(seed)
    return " ".join(pick.choice(VOCABULARY) for _ in range(60))


def original(feed: int, number: int) -> dict[str, str]:
    mitto = feed in MATCHING and number == 0
    text = article(feed * 100 + number)
    return {
        "title": f"{'Mitto AG sold SS7 access' if mitto else 'Carrier notes'} {feed}-{number}",
        "link": f"https://outlet{feed}.example/story-{number}",
        "description": f"{MITTO_LEAD} {text}" if mitto else text,
        "pubDate": recent(1 + number / 100),
    }


def copied(late: int, number: int) -> dict[str, str]:
    """Late feed `late`'s item `number` (< 5) copies early feed (late + 4·number) mod 16's item `number`:
    re-titled, on another site, a promo line added. No early story is copied twice."""
    source = original((late + 4 * number) % EARLY_FEEDS, number)
    return {
        "title": f"Syndicated {late}-{number}",
        "link": f"https://outlet{EARLY_FEEDS + late}.example/story-{number}",
        "description": source["description"] + " Sign up for our daily briefing.",
        "pubDate": recent(1 + number / 100),
    }


def early_feed(feed: int) -> bytes:
    return rss([original(feed, number) for number in range(ITEMS)])


def late_feed(late: int) -> bytes:
    items = [copied(late, number) for number in range(5)]
    return rss(items + [original(EARLY_FEEDS + late, number) for number in range(5, ITEMS)])


def configure(workspace: Workspace, feeds: FeedServer, slack: FakeSlack, late_gate: threading.Event | None) -> None:
    for feed in range(EARLY_FEEDS):
        workspace.source(f"Early {feed}", feeds.add(f"/early-{feed}.xml", Route(early_feed(feed))))
    for late in range(LATE_FEEDS):
        workspace.source(f"Late {late}", feeds.add(f"/late-{late}.xml", Route(late_feed(late), gate=late_gate)))
    workspace.settings["fetch"]["timeout_seconds"] = 60  # a gated feed waits for the test, not for a timeout
    workspace.use_slack_token(slack)


def rows(database: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(database, timeout=30)) as connection:
        return connection.execute(sql).fetchall()


def started(workspace: Workspace, *arguments: str) -> subprocess.Popen[str]:
    """`newsbot run` in a session of its own, so that a signal to its process group (systemd's stop)
    reaches it and its child and not the test."""
    workspace.write()
    return subprocess.Popen(
        [sys.executable, "-m", "newsbot", *arguments, "--config", str(workspace.config)],
        cwd=workspace.folder,
        env=newsbot_environment(workspace.environment),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def children(pid: int) -> set[int]:
    """The live children of a process (any of its threads may have started one), from /proc."""
    found: set[int] = set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found |= {int(child) for child in (task / "children").read_text().split()}
    except FileNotFoundError:
        pass
    return found


def is_deciding(pid: int) -> bool:
    try:
        return DECIDING in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def gone(pid: int) -> bool:
    """Ended: no such process, or a zombie waiting for a parent (or init) to reap it."""
    return state(pid) in ("gone", "Z")


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def deciding_child(run: subprocess.Popen[str]) -> int:
    """The run's clustering process, as soon as it exists (it is started for the first large batch)."""
    found: list[int] = []

    def appeared() -> bool:
        assert run.poll() is None, f"the run ended before it started its clustering process: {run.communicate()}"
        found.extend(child for child in children(run.pid) if is_deciding(child))
        return bool(found)

    wait_until(appeared, 60, "the run's clustering process")
    return found[0]


def decisions(database: Path) -> dict[str, tuple]:
    return {
        story: tuple(rest)
        for story, *rest in rows(
            database, "SELECT id, cluster_id, cluster_score, cluster_neighbour, cluster_note FROM stories"
        )
    }


def index(database: Path) -> list[tuple]:
    return rows(database, "SELECT hash, story, cluster FROM shingle_index ORDER BY hash, story")


def decided_in_this_process(database: Path, folder: Path) -> Path:
    """A copy of `database` with every story's cluster forgotten, then decided again in this thread:
    what the run would have written had its second process never existed."""
    copy = folder / "reference.db"
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    with closing(sqlite3.connect(copy)) as connection, connection:
        connection.execute(
            "UPDATE stories SET cluster_id = NULL, cluster_score = NULL, cluster_neighbour = NULL, cluster_note = NULL"
        )
        connection.execute("DELETE FROM shingle_index")
    storage = Storage.open(copy)
    try:
        assign_clusters(storage, datetime.now(UTC), WINDOW)
    finally:
        storage.close()
    return copy


def assert_clustered_as_in_one_thread(database: Path, folder: Path) -> None:
    """Every story clustered, exactly as the run's thread alone decides them, and the copies found."""
    reference = decided_in_this_process(database, folder)
    found = decisions(database)
    assert len(found) == STORIES
    assert all(cluster is not None for cluster, *_ in found.values()), "a stored story was never clustered"
    assert found == decisions(reference)
    assert index(database) == index(reference)
    assert sum(cluster != story for story, (cluster, *_) in found.items()) == COPIES


def assert_each_alert_once(database: Path, slack: FakeSlack) -> None:
    """Each matching story alerted; a copy of an alerted story is an "also in" of that story's alert;
    every alert sent, and none twice."""
    alerts = rows(
        database,
        "SELECT alerts.id, story_id, kind, parent_id, status, cluster_id "
        "FROM alerts JOIN stories ON stories.id = story_id",
    )
    by_id = {alert: (story, kind, parent, cluster) for alert, story, kind, parent, _, cluster in alerts}
    assert len(alerts) == len(MATCHING) + 2  # two of the four matching stories were copied
    assert {status for *_, status, _ in alerts} == {"sent"}
    for _, story, kind, parent, _, cluster in alerts:
        if kind == "alert":
            assert cluster == story, "an alert for a story that is a copy of an earlier one"
        else:
            assert kind == "also_in"
            assert by_id[parent][1] == "alert" and by_id[parent][3] == cluster
    assert sum(kind == "alert" for _, _, kind, *_ in alerts) == len(MATCHING)
    sent = Counter(alert for alert, _ in slack.alert_ids())
    assert set(sent) == set(by_id)
    assert set(sent.values()) == {1}, f"an alert was sent more than once: {sent}"


@pytest.fixture
def late_gate() -> Iterator[threading.Event]:
    gate = threading.Event()
    yield gate
    gate.set()  # never leave a server thread waiting


@contextmanager
def ended(run: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """Whatever the test asserts, the run and its children are gone afterwards."""
    try:
        yield run
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate()


def test_a_cold_run_clusters_in_the_second_process_as_its_thread_would_while_status_reads(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, late_gate: threading.Event, tmp_path: Path
) -> None:
    """The late feeds are held until the early ones are clustered (by the child: 320 stories), and
    `newsbot status` reads the database meanwhile; then they make a second batch, whose copies must
    find the early stories the child's first batch indexed. The reference is the same stored stories
    decided again in this process's thread: the second process may change where, never what."""
    configure(workspace, feed_server, slack, late_gate)

    with ended(started(workspace, "run")) as run:
        child = deciding_child(run)
        wait_until(lambda: rows(workspace.database, "SELECT count(*) FROM shingle_index")[0][0], 60, "the first batch")
        status = workspace.newsbot("status", timeout=60)  # the run holds its lock and is still crawling
        late_gate.set()
        output, errors = run.communicate(timeout=120)

    assert run.returncode == 0, errors
    assert "Traceback" not in errors and "WARNING" not in errors, errors
    assert f"{STORIES} new stories" in output, output
    assert status.returncode == 0, status.stderr
    assert gone(child)
    assert_clustered_as_in_one_thread(workspace.database, tmp_path)
    assert_each_alert_once(workspace.database, slack)


def test_a_run_killed_while_its_child_decides_leaves_no_child_and_the_next_run_finishes(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, tmp_path: Path
) -> None:
    """SIGKILL (the OOM killer, a watchdog) reaches the run, not its child: the child must end by
    itself (its pipe's end), and the next run clusters every story once and sends every alert once."""
    configure(workspace, feed_server, slack, None)

    with ended(started(workspace, "run")) as run:
        child = deciding_child(run)
        run.kill()
        run.communicate(timeout=30)
    wait_until(lambda: gone(child), 30, "the orphaned clustering process to end")
    unclustered = rows(workspace.database, "SELECT count(*) FROM stories WHERE cluster_id IS NULL")[0][0]
    following = workspace.newsbot("run", timeout=120)

    assert run.returncode == -signal.SIGKILL
    assert unclustered in (0, STORIES), "a batch is written whole or not at all"
    assert following.returncode == 0, following.stderr
    assert_clustered_as_in_one_thread(workspace.database, tmp_path)
    assert_each_alert_once(workspace.database, slack)


def test_a_clustering_process_the_oom_killer_ends_costs_nothing_and_status_names_it(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, tmp_path: Path
) -> None:
    """SIGKILL to the clustering process alone, as the kernel's out-of-memory killer sends it: the run
    clusters in its own process and ends well (exit 0, each alert once). Said on stderr only, that
    was gone with cron's mail, and `status` read "Nothing needs attention": it now names it."""
    configure(workspace, feed_server, slack, None)

    with ended(started(workspace, "run")) as run:
        os.kill(deciding_child(run), signal.SIGKILL)
        output, errors = run.communicate(timeout=120)
    status = workspace.newsbot("status", timeout=60)

    assert run.returncode == 0, errors
    assert errors.count("the clustering process failed (ended by signal 9)") == 1, errors
    assert "  the clustering process failed (ended by signal 9)" in output, output
    assert_clustered_as_in_one_thread(workspace.database, tmp_path)
    assert_each_alert_once(workspace.database, slack)
    assert status.returncode == 0, status.stderr
    assert (
        "in the last run, the clustering process failed (ended by signal 9): the run went on without it, more "
        "slowly; a signal 9 nobody sent is most often the kernel's out-of-memory killer"
    ) in status.stdout, status.stdout
    assert "Nothing needs attention" not in status.stdout


def stopped_by_systemd(run: subprocess.Popen[str]) -> None:
    """What `systemctl stop` does (KillMode=control-group): SIGTERM to the run and its child at once.
    The run is held (SIGSTOP) while the signal is sent, so that its child is surely dead before the
    run's stage thread next looks at it, as when the kernel ends the child before Python in the run
    has handled its own SIGTERM."""
    run.send_signal(signal.SIGSTOP)
    os.killpg(run.pid, signal.SIGTERM)
    run.send_signal(signal.SIGCONT)


@pytest.mark.parametrize("whole_group", [False, True], ids=["run", "process-group"])
def test_sigterm_while_the_child_decides_exits_143_and_the_next_run_finishes(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, tmp_path: Path, whole_group: bool
) -> None:
    """`kill -TERM` of the run, or systemd's stop, which signals the whole control group (the child
    too): exit 143 with the stop's sentence last, no clustering process left (not even a zombie: the
    run reaps it), and the next run clusters what was left. The run alone signalled, its child (held
    by SIGSTOP, so still deciding) is ended by the run and nothing of its batch is written."""
    configure(workspace, feed_server, slack, None)

    with ended(started(workspace, "run")) as run:
        child = deciding_child(run)
        if whole_group:
            stopped_by_systemd(run)
        else:
            os.kill(child, signal.SIGSTOP)  # deciding, however fast this machine is, when the stop comes
            run.send_signal(signal.SIGTERM)
        _, errors = run.communicate(timeout=30)
    child_state = state(child)
    unclustered = rows(workspace.database, "SELECT count(*) FROM stories WHERE cluster_id IS NULL")[0][0]
    following = workspace.newsbot("run", timeout=120)

    assert run.returncode == 143, errors
    assert "Traceback" not in errors, errors
    assert errors.splitlines()[-1].startswith("newsbot: stopped by SIGTERM"), errors
    assert child_state == "gone", "the run left its clustering process behind"
    assert whole_group or unclustered == STORIES, "the stopped batch was written"
    assert following.returncode == 0, following.stderr
    assert_clustered_as_in_one_thread(workspace.database, tmp_path)
    assert_each_alert_once(workspace.database, slack)


def test_systemds_stop_is_reported_as_a_stop_not_as_a_failed_clustering_process(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """An interrupted run ends with one sentence, the stop's (as tests/end_to_end/test_signals.py holds
    for the run alone): a child that died of the same stop is no failure to report."""
    configure(workspace, feed_server, slack, None)

    with ended(started(workspace, "run")) as run:
        deciding_child(run)
        stopped_by_systemd(run)
        _, errors = run.communicate(timeout=30)

    assert run.returncode == 143, errors
    assert errors.startswith("newsbot: stopped by SIGTERM: no new work was started"), errors


def test_copies_stored_while_the_child_decides_are_not_alerted_again(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, late_gate: threading.Event, tmp_path: Path
) -> None:
    """The crawl goes on while the child decides the early batch: the late feeds, with copies of two
    alerted stories, are stored then (the child is held with SIGSTOP until they are, as a loaded
    machine would hold it). Those copies are not clustered yet when the pass matches: each must still
    end as an "also in" of its original's alert, not a second alert for the same news."""
    configure(workspace, feed_server, slack, late_gate)

    with ended(started(workspace, "run")) as run:
        child = deciding_child(run)
        os.kill(child, signal.SIGSTOP)
        late_gate.set()
        wait_until(lambda: rows(workspace.database, "SELECT count(*) FROM stories")[0][0] == STORIES, 60, "late feeds")
        os.kill(child, signal.SIGCONT)
        _, errors = run.communicate(timeout=120)

    assert run.returncode == 0, errors
    assert_clustered_as_in_one_thread(workspace.database, tmp_path)
    assert_each_alert_once(workspace.database, slack)


def test_a_dry_run_clusters_its_throwaway_copy_in_the_second_process(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """`run --dry-run` works on a copy in a temporary folder that is deleted at its end: the child
    decides against that copy (the copies are found: two alerts name a second outlet), is gone
    before the folder is, and neither the real database nor Slack is touched."""
    configure(workspace, feed_server, slack, None)

    with ended(started(workspace, "run", "--dry-run")) as run:
        child = deciding_child(run)
        output, errors = run.communicate(timeout=120)

    assert run.returncode == 0, errors
    assert "Traceback" not in errors and "WARNING" not in errors, errors
    assert output.count("*Also in:* Late") == 2, output
    assert f"{STORIES} new stories" in output and f"{len(MATCHING)} alerts" in output, output
    assert gone(child)
    assert not workspace.database.exists()
    assert slack.delivered == []
