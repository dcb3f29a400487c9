"""`newsbot tune --apply`'s writer, in process: each kind of edit lands as text in a commented,
hand-laid-out watchlist, loads as exactly that edit, and a file that cannot take it is left alone."""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

import pytest

from newsbot.cli.feedback import apply_proposal
from newsbot.configuration.watchlists import load_watchlist
from newsbot.errors import ConfigError
from newsbot.matching.tune import Edit, Proposal
from tests.configuration.test_vendor_import import tmpfs

WATCHLIST = """\
# Operators we buy SMS routes from (owner: vendor-risk team)
name: Operators
vendors:
  - name: Orange
    context: [telecom,    # the operator, not the fruit
              operator]
  - name: Kaleyra        # CPaaS
topics:
  breach: [breach, hackers, leaked]
rules:
  - name: vendor-breach
    all: [vendors, breach]
    near: 40   # words
"""


def added_lines(path: Path, edit: Edit) -> list[str]:
    apply_proposal(load_watchlist(path), Proposal(edit, removes=1, loses=0, other_removed=0))
    diff = difflib.ndiff(WATCHLIST.splitlines(), path.read_text(encoding="utf-8").splitlines())
    return [line for line in diff if line[:1] in "+-"]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    written = tmp_path / "operators.yaml"
    written.write_text(WATCHLIST, encoding="utf-8")
    return written


def test_an_exclude_phrase_becomes_a_new_line_under_its_vendor(path: Path) -> None:
    assert added_lines(path, Edit("exclude", "Kaleyra", ("Kaleyra Street",))) == [
        "+ " + '    exclude: ["Kaleyra Street"]'
    ]
    assert load_watchlist(path).config.vendors[1].exclude == ["Kaleyra Street"]


def test_context_words_join_a_multi_line_list_before_its_bracket(path: Path) -> None:
    changes = added_lines(path, Edit("context", "Orange", ("mobile", "carrier")))
    assert changes == ["- " + "              operator]", "+ " + "              operator, mobile, carrier]"]
    assert load_watchlist(path).config.vendors[0].context == ["telecom", "operator", "mobile", "carrier"]


def test_a_nearer_rule_replaces_the_number_and_keeps_its_comment(path: Path) -> None:
    assert added_lines(path, Edit("near", "vendor-breach", near=10)) == [
        "- " + "    near: 40   # words",
        "+ " + "    near: 10   # words",
    ]


def test_a_read_only_file_system_is_a_sentence_and_the_watchlist_stays_as_it_was(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        path = disk / "operators.yaml"
        path.write_text(WATCHLIST, encoding="utf-8")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)

        with pytest.raises(
            ConfigError, match=r"the watchlist is read-only \(file or file system\); nothing was changed"
        ):
            added_lines(path, Edit("exclude", "Orange", ("Orange juice",)))

        assert path.read_text(encoding="utf-8") == WATCHLIST


@pytest.mark.parametrize(
    "edit", [Edit("exclude", "Kaleyra", ("Kaleyra Street",)), Edit("near", "vendor-breach", near=10)]
)
def test_a_crlf_watchlist_keeps_its_line_ends_and_only_the_edited_line_changes(tmp_path: Path, edit: Edit) -> None:
    path = tmp_path / "operators.yaml"
    path.write_bytes(WATCHLIST.replace("\n", "\r\n").encode())

    apply_proposal(load_watchlist(path), Proposal(edit, removes=1, loses=0, other_removed=0))

    written = path.read_bytes()
    assert written.count(b"\n") == written.count(b"\r\n"), "every line still ends in CRLF"
    before, after = WATCHLIST.replace("\n", "\r\n").split("\r\n"), written.decode().split("\r\n")
    assert len([line for line in difflib.ndiff(before, after) if line[:1] in "+-"]) <= 2


def test_an_edit_that_makes_a_passing_example_fail_is_refused_and_the_file_stays_as_it_was(tmp_path: Path) -> None:
    """The file may have gained the example after `tune` proposed the edit: `--apply` checks again."""
    path = tmp_path / "operators.yaml"
    text = WATCHLIST + 'examples:\n  match: ["Kaleyra Street office hit by a breach"]\n'
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError, match=r"(?s)would make the watchlist's own examples fail:.*operators.yaml:\d+"):
        added_lines(path, Edit("exclude", "Kaleyra", ("Kaleyra Street",)))

    assert path.read_text(encoding="utf-8") == text
