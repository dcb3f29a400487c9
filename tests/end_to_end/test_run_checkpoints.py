"""A real `newsbot run` copies what it stored into the database file while it is still running
(newsbot.storage.checkpoints), not in its writers' commits and not only when it closes the file.

One feed answers at once with 60 stories; another is held until the test lets it go. While the run
waits on it, a copy of the database file alone (no write-ahead log beside it) must already hold the
first feed's stories: only a checkpoint puts them there. The run's writers would not have made one
for so few pages (SQLite's own threshold is 1,000; the run's writers wait for 25,000).
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

from tests.conftest import Workspace
from tests.end_to_end.test_run import NEUTRAL, item, wait_for_request
from tests.servers import FeedServer, Route, rss

STORIES = 60


def stories_in_the_file_alone(database: Path, copy: Path) -> int:
    """The stories a copy of the database file holds, read without any log; 0 while it holds none."""
    shutil.copyfile(database, copy)
    try:
        with sqlite3.connect(f"{copy.as_uri()}?immutable=1", uri=True) as connection:
            return int(connection.execute("SELECT count(*) FROM stories").fetchone()[0])
    except sqlite3.DatabaseError:  # no stories table yet, or a copy taken mid-checkpoint
        return 0


def test_a_run_checkpoints_what_it_stored_while_it_runs(
    workspace: Workspace, feed_server: FeedServer, tmp_path: Path
) -> None:
    gate = threading.Event()
    workspace.settings["fetch"]["timeout_seconds"] = 60
    body = "Carriers must authenticate caller ID under the new rules. " * 40
    items = [
        item(NEUTRAL, link=f"https://news.example.com/story/{number}", description=body) for number in range(STORIES)
    ]
    workspace.source("Fast", feed_server.add("/fast.xml", Route(rss(items))))
    workspace.source("Held", feed_server.add("/held.xml", Route(rss([item(NEUTRAL)]), gate=gate)))
    running = workspace.popen("run")
    try:
        wait_for_request(feed_server, "/held.xml")
        copy = tmp_path / "copy.db"
        deadline = time.monotonic() + 15
        while (found := stories_in_the_file_alone(workspace.database, copy)) < STORIES:
            assert time.monotonic() < deadline, f"the file alone held {found} stories while the run ran"
            assert running.poll() is None, "the run ended before the held feed was let go"
            time.sleep(0.1)
    finally:
        gate.set()
        _, errors = running.communicate(timeout=60)
    assert running.returncode == 0, errors
