"""`newsbot run` on a large warm crawl: part of its hosts fetched by a second crawling process, the
results stored, matched and alerted by the run as its own (newsbot.sources.crawl_process).

310 feeds, enough for the split (SPLIT_AFTER), on two loopback hosts: 180 on 127.0.0.1, 130 on
127.0.0.3, which the second process takes. The first run reads them all (a cold run is not split);
the second finds one feed changed on each host, with a story the example watchlist alerts on.
"""

from __future__ import annotations

import sqlite3

from newsbot.sources.crawl_process import SPLIT_AFTER
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
        first = workspace.newsbot("-v", "run", timeout=120)
        assert first.returncode == 0, first.stderr
        assert "second crawling process" not in first.stderr  # a cold run is not split
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
    finally:
        run_host.stop()
        child_host.stop()
