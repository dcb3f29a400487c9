"""`newsbot run` on a large warm crawl: part of its hosts fetched by a second crawling process, the
results stored, matched and alerted by the run as its own (newsbot.sources.crawl_process).

310 feeds, enough for the split (SPLIT_AFTER), on two loopback hosts: 180 on 127.0.0.1, 130 on
127.0.0.3, which the second process takes. The first run reads them all (a cold run is not split);
the second finds one feed changed on each host, with a story the example watchlist alerts on.

With that many sources and a database, the CLI starts the second process before it loads Scrapy
(newsbot.sources.crawl_process.start_early): a run that then does not split, or does not crawl at
all, must leave no process behind and nothing on stderr.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from filelock import FileLock

from newsbot.owned_folders import OWNER
from newsbot.sources.crawl_process import MODULE, SPLIT_AFTER
from newsbot.sources.host_tokens import FOLDER_PREFIX
from newsbot.storage.database import Storage
from tests.conftest import Workspace
from tests.end_to_end.test_cluster_alerts import UNRELATED, WIRE, item
from tests.servers import FakeSlack, FeedServer, Route, rss

RUN_FEEDS, CHILD_FEEDS = 180, 130
ETAG = '"v1"'


def test_a_large_warm_run_stores_and_alerts_what_its_second_crawling_process_fetched(
    workspace: Workspace, slack: FakeSlack
) -> None:
    assert RUN_FEEDS + CHILD_FEEDS >= SPLIT_AFTER
    run_host, child_host = FeedServer("127.0.0.1"), FeedServer("127.0.0.3")
    run_host.start()
    child_host.start()
    try:
        for server, count, prefix in ((run_host, RUN_FEEDS, "run"), (child_host, CHILD_FEEDS, "child")):
            for number in range(count):
                name = f"{prefix}{number:03d}"
                body = rss([item(f"{name} weekly note", f"https://{prefix}.example/{name}", "Nothing to see here.")])
                workspace.source(name, server.add(f"/{name}.xml", Route(body, etag=ETAG)))
        workspace.settings["fetch"]["allowed_networks"] = ["127.0.0.1/32", "127.0.0.3/32"]
        workspace.use_slack(slack, seconds_between_messages=0)
        Storage.open(workspace.database).close()  # a database: the second process is started early
        temporary = workspace.folder / "tmp"
        workspace.environment["TMPDIR"] = str(temporary)
        abandoned = left_by_a_killed_run(temporary)
        first = workspace.newsbot("-v", "run", timeout=120)
        assert first.returncode == 0, first.stderr
        assert "second crawling process" not in first.stderr  # a cold run is not split…
        assert crawling_processes_in(workspace.folder) == []  # … and the one started early is gone
        assert abandoned.is_dir()  # only a split crawl makes and clears token folders
        assert "Traceback" not in first.stderr
        child_host.routes["/child007.xml"] = Route(rss([WIRE]), etag='"v2"')
        run_host.routes["/run011.xml"] = Route(rss([UNRELATED]), etag='"v2"')
        before = len(slack.delivered)

        second = workspace.newsbot("-v", "run", timeout=120)

        assert second.returncode == 0, second.stderr
        assert f"the second crawling process fetched {CHILD_FEEDS} of {CHILD_FEEDS} sources" in second.stderr
        alerted = [str(message) for message in slack.delivered[before:]]
        assert len(alerted) == 1 and WIRE["title"] in alerted[0]  # fetched there, matched and sent here
        with sqlite3.connect(workspace.database) as db:
            etags = dict(db.execute("SELECT name, etag FROM sources WHERE name IN ('child007', 'run011')"))
            stored = {row[0] for row in db.execute("SELECT url FROM stories")}
            checked = db.execute("SELECT count(*) FROM sources WHERE last_status = 'not_modified'").fetchone()[0]
        assert etags == {"child007": '"v2"', "run011": '"v2"'}  # both halves' new validators kept
        assert {WIRE["link"], UNRELATED["link"]} <= stored
        assert checked == RUN_FEEDS + CHILD_FEEDS - 2
        assert "Traceback" not in second.stderr
        assert list(temporary.glob(f"{FOLDER_PREFIX}*")) == []  # the killed run's folder, and its own
    finally:
        run_host.stop()
        child_host.stop()


def left_by_a_killed_run(temporary: Path) -> Path:
    """A split crawl's token folder as a run killed by SIGKILL leaves it: its owner file unlocked."""
    folder = temporary / f"{FOLDER_PREFIX}killed"
    folder.mkdir(parents=True)
    for name in (OWNER, "0123abcd.0", "0123abcd.1"):
        (folder / name).touch()
    return folder


def test_a_run_that_does_not_crawl_leaves_no_early_crawling_process(workspace: Workspace) -> None:
    """Another run holds the lock: this one exits LOCKED (3) after it started the second process."""
    for number in range(SPLIT_AFTER):
        workspace.source(f"feed{number:03d}", f"https://feed{number:03d}.example/feed.xml")
    Storage.open(workspace.database).close()
    with FileLock(f"{workspace.database.resolve()}.lock", timeout=0):
        locked = workspace.newsbot("run")
    assert locked.returncode == 3, locked.stderr
    assert "another newsbot run is in progress" in locked.stderr
    assert "Traceback" not in locked.stderr
    deadline = time.monotonic() + 5
    while crawling_processes_in(workspace.folder):  # it finds its stdin closed and ends by itself
        assert time.monotonic() < deadline, "the early crawling process outlived its run"
        time.sleep(0.05)


def crawling_processes_in(folder: Path) -> list[int]:
    """Live second crawling processes started from `folder` (the run's working directory, which
    its children share): other tests' runs are elsewhere."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            in_folder = (entry / "cwd").resolve() == folder.resolve()
        except (OSError, ValueError, IndexError):
            continue
        if MODULE in command and state != "Z" and in_folder:
            found.append(int(entry.name))
    return found
