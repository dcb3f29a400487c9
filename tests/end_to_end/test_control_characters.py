"""A feed's text reaches people: an alert on the terminal (what cron mails), and `newsbot search`.
Control characters in it — a terminal's escape sequences, a bell — are dropped before either shows
it: a JSON Feed can carry them (XML cannot), and one recoloured the terminal and retitled its window."""

from __future__ import annotations

import json

from tests.conftest import Workspace
from tests.servers import FeedServer, Route

HOSTILE_TITLE = "Mitto AG sold SS7 access \x1b[31mRED\x1b[0m \x1b]0;pwned\x07 to locate phones"


def test_escape_sequences_in_a_headline_reach_neither_the_terminal_nor_search(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Wire",
        "items": [
            {
                "id": "1",
                "url": "https://news.example/mitto\x1b[2J",
                "title": HOSTILE_TITLE,
                "content_text": "The SMS aggregator's co-founder sold surveillance access, \x1b[5mblinking\x1b[0m.",
            }
        ],
    }
    url = feed_server.add("/feed.json", Route(json.dumps(feed).encode(), content_type="application/feed+json"))
    workspace.source("Wire", url)

    run = workspace.newsbot("run")
    search = workspace.newsbot("search", "Mitto")

    assert run.returncode == 0 and search.returncode == 0, run.stderr + search.stderr
    for shown in (run.stdout, search.stdout):
        assert "Mitto AG sold SS7 access [31mRED[0m ]0;pwned to locate phones" in shown, shown
        assert not any(character in shown for character in "\x1b\x07"), repr(shown)
    assert "https://news.example/mitto" in search.stdout
