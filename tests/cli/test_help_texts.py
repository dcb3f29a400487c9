"""Every command and subcommand says what it does in its `--help`, and takes `-v` wherever it is typed.

The test walks the parser newsbot builds, so a command added later without a description (or
without `-v`) fails here rather than in a user's first hour. That `-v` counts the same before and
after the command is checked on what a run logs, in a subprocess as a user runs it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from newsbot.cli.commands import _parser, main
from tests.conftest import Workspace
from tests.deadhosts import refused_port


def every_parser(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(the words that reach it, the parser) for the top level and every command and subcommand."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from every_parser(sub, (*path, name))


PARSERS = dict(every_parser(_parser()))
COMMANDS = [path for path in PARSERS if path]


def test_the_walk_reaches_the_nested_subcommands() -> None:
    """The commands the issue named, nested ones included: a walk that stopped early would pass vacuously."""
    named = {("sources", "import"), ("sources", "export"), ("demo",), ("digest",), ("vendors", "import")}
    assert named | {("mutes", "lift")} <= set(COMMANDS)
    assert len(COMMANDS) >= 20


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(path) for path in COMMANDS])
def test_help_says_what_the_command_does(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    description = PARSERS[path].description
    assert description and len(description.split()) >= 4, f"newsbot {' '.join(path)} has no description"
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    shown = capsys.readouterr().out
    assert exited.value.code == 0
    assert shown.startswith(f"usage: newsbot {' '.join(path)}")
    assert " ".join(description.split()) in " ".join(shown.split()), shown  # the description, not only the usage


@pytest.mark.parametrize("path", list(PARSERS), ids=[" ".join(path) or "newsbot" for path in PARSERS])
def test_every_parser_takes_v(path: tuple[str, ...]) -> None:
    counts = [action for action in PARSERS[path]._actions if isinstance(action, argparse._CountAction)]
    assert [action.option_strings for action in counts] == [["-v", "--verbose"]], f"newsbot {' '.join(path)}"


@pytest.mark.parametrize(
    ("arguments", "info", "debug"),
    [
        pytest.param(("run", "--dry-run"), False, False, id="quiet-by-default"),
        pytest.param(("-v", "run", "--dry-run"), True, False, id="v-before"),
        pytest.param(("run", "--dry-run", "-v"), True, False, id="v-after"),
        pytest.param(("run", "-vv", "--dry-run"), True, True, id="vv-after"),
        pytest.param(("-v", "run", "--dry-run", "-v"), True, True, id="v-before-and-after-count-twice"),
    ],
)
def test_v_counts_wherever_it_is_typed(
    workspace: Workspace, arguments: tuple[str, ...], info: bool, debug: bool
) -> None:
    """A run whose one source is refused logs that at INFO (-v); Scrapy logs its settings at DEBUG (-vv)."""
    workspace.source("Down", f"http://127.0.0.1:{refused_port()}/feed.xml")
    result = workspace.newsbot(*arguments)
    assert result.returncode == 0, result.stderr
    assert (" INFO newsbot.pipeline.run: source 'Down' failed" in result.stderr) is info, result.stderr
    assert (" DEBUG scrapy." in result.stderr) is debug, result.stderr
