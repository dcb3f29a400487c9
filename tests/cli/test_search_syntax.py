"""`newsbot search` with broken full-text syntax says so, instead of "no stored story matches".

Stories are stored in a real database file; the query goes through SQLite's own FTS5 parser. A
query that is not FTS syntax is still searched as the words typed (`Mitto's` finds Mitto's), and
the command says which it did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsbot.cli.commands import main
from newsbot.clustering.assign import assign_clusters
from newsbot.models import FeedEntry, FetchResult, FetchStatus
from newsbot.storage.database import Storage
from newsbot.stories.normalize import to_story

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TITLES = {
    "mitto": "Mitto's co-founder sold SS7 access",
    "sim-swap": "SIM swap gang hijacked numbers at a carrier",
    "diameter": "SS7 and Diameter abuse tracked phones",
}


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Search = Callable[[str], Result]


@pytest.fixture
def search(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Search:
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "watchlists" / "w.yaml").write_text("name: W\nrules:\n  - name: r\n    any: [x]\n", encoding="utf-8")
    config = tmp_path / "newsbot.yaml"
    config.write_text("database: newsbot.db\nwatchlists: watchlists/\n", encoding="utf-8")
    entries = [FeedEntry(link=f"https://news.example.com/{slug}", title=title) for slug, title in TITLES.items()]
    stories = [story for entry in entries if (story := to_story(entry, "Wire"))]
    storage = Storage.open(tmp_path / "newsbot.db")
    storage.record_fetch(FetchResult("Wire", "https://wire.example/feed.xml", FetchStatus.OK), stories, NOW)
    assign_clusters(storage, NOW, timedelta(days=7))  # a story is searchable once clustered (m012)
    storage.close()

    def run(query: str) -> Result:
        code = main(["search", "--config", str(config), query])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.mark.parametrize(
    ("query", "why"),
    [
        pytest.param('"unclosed', 'a double quote (") is not closed', id="unclosed-quote"),
        pytest.param("AND OR", "it cannot be read at 'AND' (AND, OR and NOT need a word on each side", id="and-or"),
        pytest.param("foo(", "it ends where a word should follow", id="open-parenthesis"),
        pytest.param("SS7 OR", "it ends where a word should follow", id="dangling-or"),
        pytest.param("sender:Mitto", "'sender' is read as a column (after ':' or '-'), and the columns are", id="col"),
        # No word to look for as typed either: these once reached the database and came back as
        # "the database cannot be used" (exit 4), blaming the file for the query.
        pytest.param("", "it is empty", id="empty"),
        pytest.param(" ", "it is empty", id="a space"),
        pytest.param('"', 'a double quote (") is not closed', id="a lone quote"),
    ],
)
def test_broken_syntax_says_the_syntax_is_wrong(search: Search, query: str, why: str) -> None:
    result = search(query)
    assert result.code == 2
    assert result.out == ""  # not "no stored story matches"
    assert result.err.startswith(f"newsbot search: {query!r} is not SQLite full-text syntax: {why}"), result.err
    assert 'e.g. Mitto, "SIM swap", SS7 AND Diameter' in result.err


def test_broken_syntax_whose_words_are_found_shows_them_and_says_how(search: Search) -> None:
    result = search("Mitto's")
    assert result.code == 0
    assert "Wire: Mitto's co-founder sold SS7 access" in result.out
    assert result.err.startswith('newsbot search: "Mitto\'s" is not SQLite full-text syntax (it cannot be read at')
    assert result.err.rstrip().endswith("these stories have its words as typed")


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        pytest.param("Mitto", ["mitto"], id="word"),
        pytest.param('"SIM swap"', ["sim-swap"], id="phrase"),
        pytest.param("SS7 AND Diameter", ["diameter"], id="and"),
        pytest.param("title:carrier", ["sim-swap"], id="column"),
    ],
)
def test_valid_syntax_searches_quietly(search: Search, query: str, titles: list[str]) -> None:
    result = search(query)
    assert result.code == 0 and result.err == ""
    assert [title for slug, title in TITLES.items() if title in result.out] == [TITLES[slug] for slug in titles]


def test_valid_syntax_that_finds_nothing_still_says_so(search: Search) -> None:
    result = search("Kaleyra")
    assert (result.code, result.out, result.err) == (0, "no stored story matches 'Kaleyra'\n", "")


@pytest.mark.parametrize("query", ["NOT Mitto", "-Mitto SS7", "SS7 -Diameter", "(SS7 -Diameter)", "SS7 NOT"])
def test_a_broken_negation_never_lists_the_stories_it_meant_to_leave_out(search: Search, query: str) -> None:
    """Searched as typed, "SS7 -Diameter" is SS7 AND Diameter: exactly the story to leave out."""
    result = search(query)
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith(f"newsbot search: {query!r} is not SQLite full-text syntax: "), result.err
    assert "to leave stories out, NOT goes between two parts: Mitto NOT SS7" in result.err


def test_negation_written_as_fts_reads_it_leaves_the_story_out(search: Search) -> None:
    result = search("SS7 NOT Diameter")
    assert (result.code, result.err) == (0, "")
    assert TITLES["mitto"] in result.out and TITLES["diameter"] not in result.out


def test_not_inside_an_unclosed_quote_is_a_word_searched_as_typed(search: Search) -> None:
    result = search('"SS7 NOT')  # searched as typed: the words SS7 and NOT, which no story has both of
    assert 'a double quote (") is not closed' in result.err and "to leave stories out" not in result.err


def test_a_hyphenated_word_is_still_searched_as_typed(search: Search) -> None:
    result = search("co-founder")
    assert result.code == 0 and TITLES["mitto"] in result.out
