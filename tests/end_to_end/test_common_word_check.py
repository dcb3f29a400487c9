"""`newsbot check` warns about vendors named by a common word that nothing guards, with what it costs."""

from __future__ import annotations

import pytest

from tests.conftest import Workspace, line_of
from tests.servers import FeedServer, Route, recent, rss

VENDORS = """\
  - name: Orange
  - name: Acme Networks
    aliases: [Signal]
  - name: Sprint
    context: [carrier]
    unambiguous: [Sprint Corp, Box]
  - name: Ring
    case_sensitive: true
  - name: Bandwidth Inc
    aliases: [Bandwidth]
    context: [CPaaS]
  - name: Google
"""


@pytest.fixture
def common(workspace: Workspace) -> Workspace:
    workspace.edit_watchlist("  - name: Kaleyra\n", "  - name: Kaleyra\n" + VENDORS)
    return workspace


def warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("warning: ")]


def test_unguarded_common_words_are_warned_at_their_line_and_check_passes(common: Workspace) -> None:
    result = common.newsbot("check")
    path = common.watchlist()
    assert result.returncode == 0, result.stderr
    assert warnings(result.stdout) == [
        f"warning: {path}:{line_of(path, 'name: Orange')}: vendor 'Orange': 'Orange' is a common English word "
        "(wordfreq Zipf 4.6) and counts alone, so stories about the word alert too; give the vendor context: "
        "words (near: keeps them close) or case_sensitive: true",
        f"warning: {path}:{line_of(path, '[Signal]')}: vendor 'Acme Networks': 'Signal' is a common English word "
        "(wordfreq Zipf 4.6) and counts alone, so stories about the word alert too; give the vendor context: "
        "words (near: keeps them close) or case_sensitive: true",
        f"warning: {path}:{line_of(path, 'Sprint Corp, Box')}: vendor 'Sprint': 'Box' is a common English word "
        "(wordfreq Zipf 5.0) listed in unambiguous:, so it counts without a context word; take it out of "
        "unambiguous:",
    ]  # Sprint and Bandwidth have context:, Ring is case-sensitive, Google is a brand in every language
    assert "OK" in result.stdout


def test_with_a_database_the_warning_says_how_many_stored_stories_the_word_alone_matches(
    common: Workspace, feed_server: FeedServer
) -> None:
    stories = [
        {"title": "Orange juice futures jump", "link": "https://n.example/1", "pubDate": recent()},
        {"title": "ORANGE alert for storms", "link": "https://n.example/2", "pubDate": recent()},
        {"title": "Orangery opens in Kew", "link": "https://n.example/3", "pubDate": recent()},  # not the word
        {"title": "Kaleyra signals growth", "link": "https://n.example/4", "pubDate": recent()},  # not the word
        {"title": "Weak signal in tunnels", "link": "https://n.example/5", "pubDate": recent()},
    ]
    common.source("Wire", feed_server.add("/feed.xml", Route(rss(stories))))
    assert common.newsbot("run").returncode == 0

    result = common.newsbot("check")

    orange, signal, box = warnings(result.stdout)
    assert orange.endswith("; alone it matches 2 of the 5 stored stories")
    assert signal.endswith("; alone it matches 1 of the 5 stored stories")
    assert box.endswith("; alone it matches 0 of the 5 stored stories")


def test_a_damaged_database_does_not_fail_check_but_says_why_nothing_was_counted(common: Workspace) -> None:
    common.database.write_bytes(b"this is not a database" * 100)

    result = common.newsbot("check")

    assert result.returncode == 0, result.stderr
    (orange, *_) = warnings(result.stdout)
    assert f"(stored stories not counted: cannot use the database {common.database}: it is not an SQLite" in orange


def test_guarded_vendors_and_rare_names_give_no_warning(workspace: Workspace) -> None:
    result = workspace.newsbot("check")  # the example watchlist: Mitto, MessageBird (guarded Bird), Kaleyra
    assert result.returncode == 0 and warnings(result.stdout) == []


def test_a_vendor_imported_in_capitals_is_warned_as_the_word_it_spells(workspace: Workspace) -> None:
    workspace.edit_watchlist("  - name: Kaleyra\n", "  - name: Kaleyra\n  - name: ORANGE S.A.\n    aliases: [ORANGE]\n")
    result = workspace.newsbot("check")
    path = workspace.watchlist()
    assert result.returncode == 0, result.stderr
    assert warnings(result.stdout) == [
        f"warning: {path}:{line_of(path, 'aliases: [ORANGE]')}: vendor 'ORANGE S.A.': 'ORANGE' matches, in any "
        "case, 'orange', a common English word (wordfreq Zipf 4.6) and counts alone, so stories about the word "
        "alert too; give the vendor context: words (near: keeps them close) or case_sensitive: true",
    ]
