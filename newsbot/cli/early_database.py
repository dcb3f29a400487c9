"""The database check of `newsbot run`, begun before the CLI is imported.

A run checks its whole database before it reads or writes it (newsbot.storage.integrity), in a
thread that overlaps the run's imports. Begun once the config was loaded, after the CLI's own
imports (pydantic, slack-sdk: a quarter of a second), the check of a 1,000-feed database (151 MB,
0.4 s) outlasted the imports left, and a warm run of those feeds waited for it: 2.06 s a run
against 1.84 s begun here (medians of 6, benchmarks/crawl.py's warm case).

The config is not loaded yet, so the database is guessed from the command line and newsbot.yaml's
top-level `database:` line. A guess only: anything but a plain value on that line (`${VAR}`, a
quoted string with escapes, a flow or block value, a second `database:`, a file over 1 MB, one that
is not a regular file) makes none, and a wrong one is ended when the loaded config names another
file, whose check then begins as it did before (`check_of`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from newsbot.configuration.yamlfile import read_config_text
from newsbot.errors import ConfigError
from newsbot.storage.integrity import EarlyCheck

DEFAULT_CONFIG = Path("newsbot.yaml")  # the CLI's default for --config (newsbot.cli.commands)
_DATABASE_LINE = re.compile(r"^database[ \t]*:(?=[ \t]|$)(?P<value>[^\n]*)$", re.MULTILINE)
_INDICATORS = frozenset("'\"{}[]&*!|>%@`#,?:-")  # a plain value starting so is something else, or an error
_COMMENT = re.compile(r"[ \t]#")
_begun: list[EarlyCheck] = []


def begin_database_check(arguments: Sequence[str]) -> EarlyCheck | None:
    """Begin checking the database a `newsbot run` with these arguments will open, if it can be told."""
    database = guessed_database(arguments)
    if database is None:
        return None
    check = EarlyCheck(database).begin()
    _begun.append(check)
    return check


def check_of(database: Path) -> EarlyCheck:
    """The check of `database` begun early, or a new one (not begun: entering it begins it), the
    guess having been wrong or not made. A check begun on another file is abandoned, not waited
    for: that file may be a FIFO, whose opening no interrupt ends."""
    while _begun:
        check = _begun.pop()
        if check.path == database:
            return check
        check.abandon()
    return EarlyCheck(database)


def guessed_database(arguments: Sequence[str]) -> Path | None:
    """The database `newsbot ARGUMENTS` opens if it is `run`, as load_config will name it, or None."""
    config = _run_config(arguments)
    if config is None:
        return None
    try:
        text = read_config_text(config)  # the loader's own read: a FIFO, a device or 2 MB is no guess
    except ConfigError:
        return None
    lines = _DATABASE_LINE.findall(text)
    value = _one_value(lines[0]) if len(lines) == 1 else None
    # A NUL or another control character is in no file SQLite opens, and `${…}` is the environment's.
    if not value or not value.isprintable() or "${" in value:
        return None
    base = (config.resolve() if config.exists() else config).parent  # as load_config makes it
    return base / value


def _one_value(line: str) -> str | None:
    """The scalar after `database:`, quoted without escapes or plain, its comment left out; None for
    anything else. String operations only: no backtracking over a long line of spaces."""
    value = line.strip(" \t\r")
    if value[:1] in ("'", '"'):
        end = value.find(value[0], 1)
        inner, rest = value[1:end], value[end + 1 :].lstrip(" \t")
        if end < 0 or (rest and not rest.startswith("#")) or (value[0] == '"' and "\\" in inner):
            return None
        return inner
    value = _COMMENT.split(value, maxsplit=1)[0].rstrip(" \t")
    return value if value and value[0] not in _INDICATORS else None


def _run_config(arguments: Sequence[str]) -> Path | None:
    """`--config`'s value for a `run` (argparse's `--config X`, `--config=X` and prefixes such as
    `--conf X`), its default if not given, or None for any other command."""
    words = [word for word in arguments if not word.startswith("-")]
    if not words or words[0] != "run":
        return None
    config: str | None = str(DEFAULT_CONFIG)
    following = iter(arguments[arguments.index("run") + 1 :])
    for word in following:
        name, equals, value = word.partition("=")
        if len(name) > 2 and "--config".startswith(name):
            config = value if equals else next(following, None)
    return Path(config) if config else None
