"""One linter and one formatter, run by the same command as the tests (settings in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPOSITORY


def ruff(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *arguments],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    )


def test_ruff_finds_nothing() -> None:
    result = ruff("check", ".")
    assert result.returncode == 0, result.stdout


def test_code_is_formatted() -> None:
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout
