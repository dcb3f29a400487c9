"""A dry run's copy of the database, in the temporary folder, never outlives the next dry run.

A dry run copies the whole database there and removes it when it ends; SIGKILLed, it runs no
cleanup, and each kill left a full copy behind for good (newsbot.owned_folders).
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import Workspace
from tests.feed_items import MITTO
from tests.servers import FeedServer, Route, recent, rss


def test_the_copy_a_killed_dry_run_left_goes_at_the_next_dry_run(
    workspace: Workspace, feed_server: FeedServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    temporary = tmp_path_factory.mktemp("tmpdir")
    workspace.environment["TMPDIR"] = str(temporary)
    gate = threading.Event()
    gate.set()
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([{**MITTO, "pubDate": recent()}]), gate=gate)))
    assert workspace.newsbot("run").returncode == 0  # a database to copy
    gate.clear()  # the dry run's crawl waits here, its copy made
    killed = workspace.popen("run", "--dry-run")
    try:
        deadline = time.monotonic() + 30
        while not list(temporary.glob("newsbot-dry-run-*/dry-run.db")) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = list(temporary.glob("newsbot-dry-run-*"))
        assert len(left) == 1, "the dry run's copy was never made"
        killed.kill()
        killed.communicate(timeout=30)
    finally:
        gate.set()
        killed.kill()
    assert left[0].exists()  # the kill ran no cleanup

    again = workspace.newsbot("run", "--dry-run")

    assert again.returncode == 0, again.stderr
    assert list(temporary.glob("newsbot-dry-run-*")) == []  # the killed run's copy, and its own
