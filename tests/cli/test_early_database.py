"""`newsbot run` begins its database's check before the CLI is imported, on a guess of the database
from the command line and newsbot.yaml's `database:` line (newsbot.cli.early_database). The guess is
the file load_config names, or none; a run never goes unchecked or checked against another file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from newsbot.cli.early_database import begin_database_check, check_of, guessed_database
from newsbot.configuration.config import load_config
from newsbot.storage.database import Storage
from tests.conftest import REPOSITORY, Workspace, newsbot_environment, run_newsbot
from tests.end_to_end.test_database_faults import damage, fullest_pages


@pytest.fixture(autouse=True)
def nothing_left_begun(tmp_path: Path) -> Iterator[None]:
    """A check a test begins and does not claim is abandoned, as a claim of another file abandons it."""
    yield
    check_of(tmp_path / "no such database")


def config_folder(folder: Path, database_line: str) -> Path:
    """A valid newsbot.yaml naming its database by `database_line`, with the example watchlist."""
    (folder / "watchlists").mkdir(exist_ok=True)
    shutil.copy(REPOSITORY / "examples" / "watchlists" / "sms-vendors.yaml", folder / "watchlists")
    config = folder / "newsbot.yaml"
    config.write_text(f"# the team's config\n{database_line}\nwatchlists: watchlists/\nsources: []\n", encoding="utf-8")
    return config


@pytest.mark.parametrize(
    "database_line",
    [
        "database: newsbot.db",
        "database:    state/news.db   # beside the config",
        "database: news#1.db",
        'database: "my news.db"',
        "database: 'news # 2.db'",
        "database: {absolute}",
    ],
)
@pytest.mark.parametrize(
    "arguments",
    [
        ("run", "--config", "{config}"),
        ("-v", "run", "--config={config}", "--quiet"),
        ("run", "--dry-run", "--conf", "{config}"),
    ],
)
def test_the_guess_is_the_database_load_config_names(
    tmp_path: Path, database_line: str, arguments: tuple[str, ...]
) -> None:
    config = config_folder(tmp_path, database_line.format(absolute=tmp_path / "elsewhere" / "newsbot.db"))
    guessed = guessed_database([argument.format(config=config) for argument in arguments])
    assert guessed is not None
    assert guessed == load_config(config).database


def test_without_config_the_guess_is_the_default_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_folder(tmp_path, "database: newsbot.db")
    monkeypatch.chdir(tmp_path)
    assert guessed_database(["run", "-q"]) == load_config(Path("newsbot.yaml")).database == tmp_path / "newsbot.db"


@pytest.mark.parametrize(
    "database_line",
    [
        "database: ${NEWSBOT_TEST_DATABASE}",  # the environment's, known only to the loader
        'database: "tab\\there.db"',  # an escape
        "database: 'it''s.db'",
        "database: &name news.db",
        "database: !!str news.db",
        "database: [news.db]",
        "database: |\n  news.db",
        "database:\n  news.db",
        "database: news.db\ndatabase: other.db",
        "  database: news.db",
        "database:news.db",
        "database: 'unclosed.db",
        "database:",
        "database: # only a comment",
    ],
)
def test_no_guess_where_the_line_is_not_one_plain_value(tmp_path: Path, database_line: str) -> None:
    assert guessed_database(["run", "--config", str(config_folder(tmp_path, database_line))]) is None


def test_a_database_line_of_a_megabyte_of_spaces_is_read_in_one_pass(tmp_path: Path) -> None:
    """This module's first version matched the line with a regular expression that backtracked over
    the spaces: 25 s for 40,000 of them, and hours for this line (pytest's timeout ends the test)."""
    line = "database: a" + " " * 900_000 + "b.db # and a comment"
    config = config_folder(tmp_path, line)
    assert guessed_database(["run", "--config", str(config)]) == tmp_path / ("a" + " " * 900_000 + "b.db")


@pytest.mark.parametrize("command", ["status", "check", "digest", "demo", "explain"])
def test_no_guess_for_other_commands(tmp_path: Path, command: str) -> None:
    config = config_folder(tmp_path, "database: newsbot.db")
    assert guessed_database([command, "--config", str(config)]) is None


def test_no_guess_for_a_config_option_without_its_value() -> None:
    assert guessed_database(["run", "--config"]) is None


def test_no_guess_from_a_file_that_is_not_a_small_regular_utf8_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # no writer: a blocking open would never return
    large = config_folder(tmp_path, "database: newsbot.db")
    with large.open("a", encoding="utf-8") as file:
        file.write("# padding\n" * 110_000)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("database: café.db\n".encode("latin-1"))
    for config in (fifo, large, latin1, tmp_path, tmp_path / "missing.yaml"):
        assert guessed_database(["run", "--config", str(config)]) is None, config


def a_database(path: Path, rows: int = 300) -> Path:
    """A newsbot database, its runs table grown so that its check takes a while."""
    Storage.open(path).close()
    with closing(sqlite3.connect(path)) as connection:
        connection.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO runs (started_at, finished_at, summary) "
            "SELECT 'then' || i, 'later', hex(randomblob(60)) FROM n",
            [rows],
        )
        connection.commit()
    return path


def test_the_run_takes_the_check_begun_on_its_database_and_its_verdict(tmp_path: Path) -> None:
    config = config_folder(tmp_path, "database: newsbot.db")
    damage(a_database(tmp_path / "newsbot.db"), fullest_pages(tmp_path / "newsbot.db")["runs"])
    begun = begin_database_check(["run", "--config", str(config)])
    assert begun is not None
    with check_of(load_config(config).database) as early:
        assert early is begun
        checked, damaged = early.outcome()
    assert checked and damaged


def test_a_check_begun_on_another_file_is_ended_and_the_right_one_begun(tmp_path: Path) -> None:
    """A guess the loaded config contradicts stops reading that file at once (an interrupt), and
    the named file is checked as if nothing had been guessed."""
    guessed = a_database(tmp_path / "guessed.db", rows=1_500_000)
    named = a_database(tmp_path / "named.db")
    damage(named, fullest_pages(named)["runs"])
    begun = begin_database_check(["run", "--config", str(config_folder(tmp_path, "database: guessed.db"))])
    assert begun is not None and begun.path == guessed
    with check_of(named) as early:
        assert early is not begun and early.path == named
        assert early.outcome()[1], "the named file's damage is found"
    assert begun.outcome() == (False, None), "the guessed file's check was interrupted, not finished"


def test_a_wrong_guess_that_cannot_be_interrupted_is_not_waited_for(tmp_path: Path) -> None:
    """A FIFO's open blocks until a writer comes, and no interrupt reaches it: waiting for that check
    to stop hung the run (pytest's timeout ends the test)."""
    os.mkfifo(tmp_path / "guessed.fifo")
    named = a_database(tmp_path / "named.db")
    begun = begin_database_check(["run", "--config", str(config_folder(tmp_path, "database: guessed.fifo"))])
    assert begun is not None
    with check_of(named) as early:
        assert early.outcome() == (True, None)


@pytest.mark.parametrize(
    "database_line", ["database: db.fifo", "database: news\0.db"], ids=["FIFO, never answers", "NUL in the name"]
)
def test_a_run_whose_config_is_wrong_says_so_at_once_whatever_its_database_line(
    tmp_path: Path, database_line: str
) -> None:
    """The check begun on the guess does not hold the command's end (a FIFO's open blocks until a
    writer comes) nor add a thread's traceback to the sentence (a NUL in the path)."""
    os.mkfifo(tmp_path / "db.fifo")
    config = config_folder(tmp_path, database_line)
    config.write_text(config.read_text(encoding="utf-8") + "colour: blue\n", encoding="utf-8")
    ran = run_newsbot("run", "--config", str(config), cwd=tmp_path)
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith("newsbot: ") and "Traceback" not in ran.stderr and "Exception" not in ran.stderr


WATCH_THE_CLI_IMPORT = """
import sys, threading
seen = []
def hook(event, arguments):
    if event == "import" and arguments[0] == "newsbot.cli.commands" and not seen:
        seen.append(sorted(thread.name for thread in threading.enumerate()))
sys.addaudithook(hook)
sys.argv = ["newsbot", *sys.argv[1:]]
from newsbot.cli.launch import main
status = main()
print("threads when the CLI began to load:", seen[0], file=sys.stderr)
sys.exit(status)
"""


@pytest.mark.parametrize(("database_line", "begun_early"), [("database: newsbot.db", True), ("database: ${DB}", False)])
def test_a_run_begins_the_check_before_the_cli_loads_and_exits_4_on_damage_either_way(
    workspace: Workspace, database_line: str, begun_early: bool
) -> None:
    """Real `newsbot run`s on a damaged database: begun before the CLI's imports where the line
    says which file, after the config is loaded where it does not; exit 4 and the sentence both ways."""
    a_database(workspace.database, rows=400_000)
    damage(workspace.database, fullest_pages(workspace.database)["runs"])
    config = config_folder(workspace.folder, database_line)
    ran = subprocess.run(
        [sys.executable, "-c", WATCH_THE_CLI_IMPORT, "run", "--config", str(config)],
        cwd=workspace.folder,
        env=newsbot_environment({"DB": str(workspace.database)}),
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 4, ran.stderr
    assert "is damaged" in ran.stderr
    assert ("newsbot-early-check" in ran.stderr.split("CLI began to load:")[1]) is begun_early, ran.stderr
