"""The commands an analyst uses to trust a watchlist: test, check's examples, explain --url, backtest."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Workspace, line_of
from tests.end_to_end.test_cluster_alerts import COPY, WIRE
from tests.servers import FeedServer, Route, recent, rss

EXAMPLES = """
examples:
  match: ["Mitto AG sold SS7 access to surveillance firms"]
  no_match: ["Bird flu surveillance at poultry farms"]
"""


def watchlist_file(workspace: Workspace) -> Path:
    return workspace.folder / "watchlists" / "sms-vendors.yaml"


def add_examples(workspace: Workspace, examples: str) -> None:
    path = watchlist_file(workspace)
    path.write_text(path.read_text(encoding="utf-8") + examples, encoding="utf-8")


def test_newsbot_test_runs_every_example(workspace: Workspace) -> None:
    add_examples(workspace, EXAMPLES)

    result = workspace.newsbot("test")

    assert result.returncode == 0, result.stdout + result.stderr
    first_match = line_of(watchlist_file(workspace), "Mitto AG sold SS7")
    assert f"ok    {watchlist_file(workspace)}:{first_match}: match:" in result.stdout
    assert "fires vendor-surveillance" in result.stdout
    assert "2 passed, 0 failed" in result.stdout


def test_an_example_that_disagrees_fails_test_and_check(workspace: Workspace) -> None:
    add_examples(workspace, "\nexamples:\n  no_match:\n    - Bird flu at farms\n    - Kaleyra hacked, says report\n")

    tested = workspace.newsbot("test")
    checked = workspace.newsbot("check")

    assert tested.returncode == 1 and "1 passed, 1 failed" in tested.stdout
    assert "expected no match but vendor-breach fired: 'Kaleyra hacked, says report'" in tested.stdout
    assert checked.returncode == 1
    line = line_of(watchlist_file(workspace), "Kaleyra hacked, says report")
    assert f"{watchlist_file(workspace)}:{line}: expected no match but vendor-breach fired" in checked.stderr


def test_a_match_example_that_fires_nothing_says_why(workspace: Workspace) -> None:
    add_examples(workspace, 'examples:\n  match: ["MessageBird is a fine company"]\n')

    result = workspace.newsbot("test")

    assert result.returncode == 1
    assert "expected a match but no rule fired (vendor-surveillance: no 'surveillance' term matched" in result.stdout


def test_an_example_with_markup_is_read_as_explain_reads_it(workspace: Workspace) -> None:
    """`explain "AT&amp;T says it was hacked"` fired while the same text as an example failed `check`."""
    workspace.edit_watchlist("  - name: Kaleyra\n", "  - name: Kaleyra\n  - name: AT&T\n")
    add_examples(workspace, 'examples:\n  match: ["<p>AT&amp;T says it was hacked</p>"]\n')

    tested = workspace.newsbot("test")
    explained = workspace.newsbot("explain", "<p>AT&amp;T says it was hacked</p>")

    assert tested.returncode == 0, tested.stdout
    assert "fires vendor-breach" in tested.stdout
    assert "vendor-breach" in explained.stdout and "MATCH" in explained.stdout


def test_explain_url_explains_a_stored_story(workspace: Workspace, feed_server: FeedServer) -> None:
    story = {
        "title": "Kaleyra confirms breach",
        "link": "https://news.example.com/kaleyra?utm_source=x",
        "description": "Attackers leaked customer lists, the CPaaS provider said.",
        "pubDate": recent(),
    }
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([story]))))
    workspace.newsbot("run")

    explained = workspace.newsbot("explain", "--url", "https://news.example.com/kaleyra?utm_medium=y")
    unknown = workspace.newsbot("explain", "--url", "https://news.example.com/other")

    assert explained.returncode == 0, explained.stderr
    assert "Kaleyra confirms breach" in explained.stdout
    assert "MATCH    vendor-breach (medium): Kaleyra, breach, leaked" in explained.stdout
    assert "in context (summary): Attackers *leaked* customer lists" in explained.stdout
    assert unknown.returncode != 0 and "no stored story has the URL" in unknown.stderr


def test_explain_needs_text_or_url(workspace: Workspace) -> None:
    result = workspace.newsbot("explain")

    assert result.returncode == 2 and "give either a TEXT or --url URL" in result.stderr


def test_backtest_shows_what_an_edited_watchlist_would_change(
    workspace: Workspace, feed_server: FeedServer, tmp_path: Path
) -> None:
    stories = [
        {"title": "Mitto AG hacked", "link": "https://n.example/1", "pubDate": recent()},
        {"title": "Kaleyra leaked data", "link": "https://n.example/2", "pubDate": recent()},
        {"title": "Syniverse breach disclosed", "link": "https://n.example/3", "pubDate": recent()},
    ]
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss(stories))))
    workspace.newsbot("run")
    edited = tmp_path / "edited.yaml"
    edited.write_text(
        watchlist_file(workspace).read_text(encoding="utf-8").replace("  - name: Kaleyra\n", "  - name: Syniverse\n"),
        encoding="utf-8",
    )

    result = workspace.newsbot("backtest", str(edited), "--since", "1d")
    sent_before = workspace.newsbot("status").stdout

    assert result.returncode == 0, result.stderr
    assert "over 3 stories" in result.stdout and "It would have alerted 2 of them" in result.stdout
    assert "1 new, 1 no longer alerted, 0 with different rules" in result.stdout
    assert "+ [medium] Syniverse breach disclosed" in result.stdout
    assert "- [medium] Kaleyra leaked data" in result.stdout
    assert "Alerts: 0 pending, 2 sent" in sent_before  # the backtest sent and queued nothing


def test_backtest_decides_as_the_run_did_by_age_and_by_cluster(
    workspace: Workspace, feed_server: FeedServer, tmp_path: Path
) -> None:
    """The run sends one alert for a wire story and its copy, and none for a story too old to alert:
    the backtest once said 3 of them. Backtesting the live file says there is nothing to compare."""
    old = {"title": "Mitto AG hacked", "link": "https://n.example/old", "pubDate": recent(hours_ago=24 * 30)}
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE, old]))))
    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss([COPY]))))
    ran = workspace.newsbot("run")
    draft = tmp_path / "draft.yaml"
    draft.write_text(watchlist_file(workspace).read_text(encoding="utf-8"), encoding="utf-8")

    result = workspace.newsbot("backtest", str(draft), "--since", "1d")
    live = workspace.newsbot("backtest", str(watchlist_file(workspace)), "--since", "1d")

    assert ran.returncode == 0 and "1 alerts sent" in ran.stdout, ran.stdout + ran.stderr
    assert result.returncode == 0, result.stderr
    assert "over 3 stories" in result.stdout
    assert "1 of them were too old to alert when first seen (max_age_days: 7), as a run leaves them." in result.stdout
    assert "It would have alerted 1 of them:" in result.stdout
    assert "It would have noted 1 copies beside an earlier alert of their story (also in)." in result.stdout
    assert "0 new, 0 no longer alerted, 0 with different rules" in result.stdout
    assert "Mitto AG hacked" not in result.stdout
    assert live.returncode == 0, live.stderr
    assert "This file is in the watchlists folder, so it runs now" in live.stdout
    assert "Against the current version" not in live.stdout
    explained = workspace.newsbot("explain", "--url", old["link"])
    assert "MATCH" in explained.stdout  # its rules fire, and the run rightly sent nothing: it says why
    assert "too old to alert (max_age_days: 7), so a run queues no alert for it" in explained.stdout
    assert "too old" not in workspace.newsbot("explain", "--url", WIRE["link"]).stdout


def test_backtest_weighs_a_copy_against_its_story_from_before_the_window(
    workspace: Workspace, feed_server: FeedServer, tmp_path: Path
) -> None:
    """The wire story was first seen before --since, its copy inside: the run noted the copy beside
    the wire story's alert, and the backtest counted it as an alert of its own."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([WIRE]))))
    assert workspace.newsbot("run").returncode == 0
    workspace.source("Daily", feed_server.add("/daily.xml", Route(rss([COPY]))))
    assert workspace.newsbot("run").returncode == 0
    with contextlib.closing(sqlite3.connect(workspace.database)) as connection, connection:
        connection.execute(
            "UPDATE stories SET first_seen_at = ?, published_at = ? WHERE url = ?",
            [(datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")] * 2 + [WIRE["link"]],
        )
    draft = tmp_path / "draft.yaml"
    draft.write_text(watchlist_file(workspace).read_text(encoding="utf-8"), encoding="utf-8")

    result = workspace.newsbot("backtest", str(draft), "--since", "1d")

    assert result.returncode == 0, result.stderr
    assert "over 1 stories" in result.stdout and "It would have alerted 0 of them:" in result.stdout
    assert "It would have noted 1 copies beside an earlier alert of their story (also in)." in result.stdout


def test_backtest_rejects_a_bad_duration(workspace: Workspace) -> None:
    result = workspace.newsbot("backtest", str(watchlist_file(workspace)), "--since", "ninety")

    assert result.returncode == 2 and "is not a duration like 90d" in result.stderr


@pytest.mark.parametrize("command", ["feedback", "digest", "backtest"])
def test_a_period_of_nothing_is_refused_not_read_as_all_time(workspace: Workspace, command: str) -> None:
    """`feedback --since 0d` said "since the first alert" and counted every alert ever."""
    arguments = [str(watchlist_file(workspace))] if command == "backtest" else []
    result = workspace.newsbot(command, *arguments, "--since", "0d")

    assert result.returncode == 2 and "'0d' is no period at all; say 1d or more" in result.stderr


BAD_WATCHLISTS = [
    # (replace this, with that, text on the line of the error, words of the sentence)
    ("    severity: high", "    severity: high\n    sevrity: low", "sevrity", "did you mean 'severity'?"),
    ("all: [vendors, breach]", "all: [vendors, braech]", "braech", "one small edit from the topic 'breach'"),
    ("aliases: [Mitto]", 'aliases: [Mitto, ""]', '[Mitto, ""]', "aliases.1"),
    (
        "  - name: Kaleyra\n",
        "  - name: Kaleyra\n  - name: kaleyra\n",
        "name: kaleyra",
        "the vendor 'kaleyra' is listed twice",
    ),
    ("breach: [breach,", "breach: [{regex: '(a)\\1'}, breach,", "(a)", "cannot be used: invalid escape"),
]


@pytest.mark.parametrize(("old", "new", "needle", "words"), BAD_WATCHLISTS, ids=[row[3] for row in BAD_WATCHLISTS])
def test_bad_watchlist_fails_check_and_run_changes_nothing(
    workspace: Workspace, feed_server: FeedServer, old: str, new: str, needle: str, words: str
) -> None:
    path = watchlist_file(workspace)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([]))))

    checked = workspace.newsbot("check")
    ran = workspace.newsbot("run")

    assert checked.returncode == 1
    assert f"{path}:{line_of(path, needle)}: " in checked.stderr and words in checked.stderr
    assert ran.returncode == 2 and words in ran.stderr
    assert feed_server.requests == [] and not workspace.database.exists()
