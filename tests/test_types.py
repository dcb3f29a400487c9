"""The type check runs with the tests: mypy over newsbot and the tests (settings in pyproject.toml).

mypy cannot follow setuptools' package-dir (an editable install maps `newsbot.spiders` and
`newsbot.alerts` with an import hook), so `mypy alerts spiders` would check top-level packages
`alerts` and `spiders` and find no `newsbot.alerts` at all. mypy runs instead on a tree of symlinks
laid out as the installed package, built from pyproject.toml's package-dir each time (a dozen links
in a temporary folder: nothing shared between runs but mypy's cache). No import is ignored as missing
except those pyproject.toml names, so a package mypy cannot see fails the check rather than becoming Any.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPOSITORY

# In the repository (gitignored) so that warm runs are fast; mypy keys it by the tree's relative paths.
CACHE = REPOSITORY / ".mypy_cache"


def package_folders() -> dict[str, Path]:
    """Each import name pyproject.toml maps, and the repository folder it comes from."""
    settings = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    return {name: REPOSITORY / folder for name, folder in settings["tool"]["setuptools"]["package-dir"].items()}


def lay_out(tree: Path) -> None:
    """`tree/newsbot` holds the entries of newsbot/ and, under their import names, the mapped folders."""
    folders = package_folders()
    root = tree / "newsbot"
    root.mkdir()
    mapped = {name.removeprefix("newsbot."): folder for name, folder in folders.items() if name != "newsbot"}
    for entry in folders["newsbot"].iterdir():
        if entry.name not in mapped and entry.name != "__pycache__":
            (root / entry.name).symlink_to(entry)
    for name, folder in mapped.items():
        (root / name).symlink_to(folder, target_is_directory=True)
    (tree / "tests").symlink_to(REPOSITORY / "tests", target_is_directory=True)


def test_mypy_finds_no_type_errors(tmp_path: Path) -> None:
    lay_out(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(REPOSITORY / "pyproject.toml"),
            "--cache-dir",
            str(CACHE),
            "--package",
            "newsbot",
            "--package",
            "tests",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    # Paths in the output are import paths: newsbot/alerts/... is the repository's alerts/...
    assert result.returncode == 0, output
    assert "Success: no issues found" in result.stdout, output
