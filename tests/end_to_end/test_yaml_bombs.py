"""Hostile YAML in newsbot.yaml or a watchlist: each is refused with one sentence, quickly and in little memory.

The CLI runs in a subprocess, as cron runs it, and is measured as a whole — interpreter start and
imports included — with the rusage of that one child (os.wait4), under an address-space limit so
that a regression fails the test instead of eating the machine (the 627-byte billion laughs used to
take 2.7 GB and 48 s).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsbot.configuration.watchlists import MAX_TERM_CHARS
from newsbot.configuration.yamlfile import MAX_DEPTH, MAX_VALUES, load_yaml
from newsbot.errors import ConfigError
from tests.conftest import Workspace, newsbot_environment

CPU_SECONDS = 1.0  # the bound, for the whole process: it starts in about 0.5 s on an idle machine...
# ...and a loaded one (a CI running four test workers on two cores) inflates its CPU seconds up to twice,
# the start included. So the bound holds for what the bomb adds to the same command refusing a one-line
# config just before it, under the same load: the second beyond the idle start.
BOMB_CPU_SECONDS = CPU_SECONDS - 0.5
PEAK_MB = 100
ADDRESS_SPACE_LIMIT = 2 * 1024**3

LAUGHS = "\n".join(
    [
        'lol0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(f"lol{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]" for level in range(1, 10)),
    ]
)
LOOP = "rules: &rules\n  - name: again\n    all: *rules\n"
DEEP_FLOW = "name: " + "[" * 1000 + "]" * 1000 + "\n"
DEEP_BLOCK = "".join(f"{'  ' * level}level{level}:\n" for level in range(1000)) + "  " * 1000 + "bottom\n"
ALIASED_TEXT = f'text: &t "{"Mitto sold SS7 access. " * 4_000}"\ncopies: [{", ".join(["*t"] * 1_000)}]\n'
LONG_TERM = f'name: long\nvendors:\n  - name: "Mitto {"x" * 60_000}"\nrules:\n  - name: any\n    any: [vendors]\n'


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float
    peak_mb: float
    start_cpu_seconds: float = 0.0  # the same command refusing a one-line config, just before: its start

    @property
    def bomb_cpu_seconds(self) -> float:
        return self.cpu_seconds - self.start_cpu_seconds


# Linux records the RSS of the image a child replaces at exec in that child's ru_maxrss, and a child
# of pytest starts as a copy of pytest (hundreds of MB late in a full run). So a small launcher
# process starts newsbot and reports newsbot's own rusage: newsbot's peak then counts from the
# launcher's few MB, not from pytest's.
_LAUNCHER = """
import json, os, resource, subprocess, sys
report, limit, *command = sys.argv[1:]
process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
try:
    resource.prlimit(process.pid, resource.RLIMIT_AS, (int(limit), int(limit)))
except ProcessLookupError:  # it ended already
    pass
_, status, usage = os.wait4(process.pid, 0)
with open(report, "w") as file:
    json.dump({"status": status, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss}, file)
"""


def run_measured(command: str, config: Path, workspace: Workspace) -> Measured:
    """`newsbot COMMAND --config CONFIG` in a subprocess; CPU time and peak RSS are that child's own,
    with the CPU time of the same command refusing a one-line config just before (its start)."""
    plain = workspace.folder / "one-line.yaml"
    plain.write_text("database: newsbot.db\n", encoding="utf-8")
    start = _measured(command, plain, workspace)
    return dataclasses.replace(_measured(command, config, workspace), start_cpu_seconds=start.cpu_seconds)


def _measured(command: str, config: Path, workspace: Workspace) -> Measured:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "usage.json"
        launcher = subprocess.Popen(
            [
                *(sys.executable, "-c", _LAUNCHER, str(report), str(ADDRESS_SPACE_LIMIT)),
                *(sys.executable, "-m", "newsbot", command, "--config", str(config)),
            ],
            cwd=workspace.folder,
            env=newsbot_environment(workspace.environment),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            stdout, stderr = launcher.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.communicate()
            pytest.fail(f"`newsbot {command}` was still running after 30 s")
        usage = json.loads(report.read_text(encoding="utf-8"))
    return Measured(
        returncode=os.waitstatus_to_exitcode(usage["status"]),
        stdout=stdout.decode(),
        stderr=stderr.decode(),
        cpu_seconds=usage["cpu"],
        peak_mb=usage["maxrss_kb"] / 1024,
    )


def plant(path: Path, bomb: str) -> None:
    """Make `path` the bomb: a file's text, or a FIFO, a link to /dev/zero, a 3 GB (sparse) file."""
    path.unlink(missing_ok=True)
    if bomb == "fifo":
        os.mkfifo(path)
    elif bomb == "dev-zero":
        path.symlink_to("/dev/zero")
    elif bomb == "huge":
        with path.open("wb") as file:
            file.truncate(3 * 1024**3)
    else:
        path.write_text(TEXTS[bomb], encoding="utf-8")


TEXTS = {
    "billion-laughs": LAUGHS,
    "recursive-alias": LOOP,
    "deep-flow": DEEP_FLOW,
    "deep-block": DEEP_BLOCK,
    "aliased-text": ALIASED_TEXT,
}
# What the sentence says, and the line it names where there is one.
EXPECTED = {
    "billion-laughs": ("expand to more than 100,000 values", r":\d+: "),
    "recursive-alias": ("refers to the value that contains it", ":3: "),
    "deep-flow": (f"nested more than {MAX_DEPTH} levels deep", ":1: "),
    "deep-block": (f"nested more than {MAX_DEPTH} levels deep", f":{MAX_DEPTH}: "),
    "aliased-text": ("the alias *t makes this file expand to more than 100,000 values", ":2: "),
    "fifo": ("named pipe (FIFO), not a file", ": "),
    "dev-zero": ("a device, not a file", ": "),
    "huge": ("larger than 1 MB", ": "),
}


def assert_refused(result: Measured, path: Path, bomb: str, exit_code: int) -> None:
    words, line = EXPECTED[bomb]
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.match(f"newsbot: {re.escape(str(path))}{line}", lines[0]), lines[0]
    assert words in lines[0]
    assert result.bomb_cpu_seconds < BOMB_CPU_SECONDS, (
        f"{bomb}: {result.cpu_seconds:.2f} s of CPU, {result.start_cpu_seconds:.2f} s of it the start"
    )
    assert result.peak_mb < PEAK_MB, f"{bomb}: {result.peak_mb:.0f} MB"


@pytest.mark.parametrize("bomb", list(EXPECTED))
def test_a_bomb_in_a_watchlist_is_refused_by_run_with_one_sentence_and_nothing_changes(
    workspace: Workspace, bomb: str
) -> None:
    target = workspace.watchlist("bomb.yaml")
    plant(target, bomb)
    result = run_measured("run", workspace.write(), workspace)
    assert_refused(result, target, bomb, exit_code=2)
    assert not workspace.database.exists()


@pytest.mark.parametrize("bomb", list(EXPECTED))
def test_a_bomb_as_newsbot_yaml_is_refused_by_check_with_one_sentence(workspace: Workspace, bomb: str) -> None:
    config = workspace.folder / "bomb-config.yaml"
    plant(config, bomb)
    result = run_measured("check", config, workspace)
    assert_refused(result, config.resolve(), bomb, exit_code=1)  # a link is named by what it points to
    assert not workspace.database.exists()


def test_a_term_of_sixty_thousand_characters_is_refused_by_check_at_its_line(workspace: Workspace) -> None:
    target = workspace.watchlist("long.yaml")
    target.write_text(LONG_TERM, encoding="utf-8")
    result = run_measured("check", workspace.write(), workspace)
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"newsbot: {target}:3: ") and f"at most {MAX_TERM_CHARS} characters" in line, line
    assert result.bomb_cpu_seconds < BOMB_CPU_SECONDS and result.peak_mb < PEAK_MB


# --- the limits, in-process: what is just inside still loads ------------------------------------


def test_aliases_that_stay_under_the_limit_load_as_copies(tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text("base: &fields [title, summary]\nrule_a: *fields\nrule_b: *fields\n", encoding="utf-8")
    assert load_yaml(path).data == {
        "base": ["title", "summary"],
        "rule_a": ["title", "summary"],
        "rule_b": ["title", "summary"],
    }


def test_the_value_limit_counts_what_aliases_expand_to(tmp_path: Path) -> None:
    items = MAX_VALUES // 4
    path = tmp_path / "big.yaml"
    # A mapping, its key, the list, and the list's items: 3 + items values; then each alias copies them.
    path.write_text(f"a: &a [{', '.join(['x'] * items)}]\nb: *a\nc: *a\n", encoding="utf-8")
    assert len(load_yaml(path).data["c"]) == items  # 5 + 3 * (items + 1) values: under the limit
    path.write_text(f"a: &a [{', '.join(['x'] * items)}]\nb: *a\nc: *a\nd: *a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"big\.yaml:4: the alias \*a makes this file expand"):
        load_yaml(path)


def test_nesting_up_to_the_depth_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("[" * (MAX_DEPTH - 1) + "x" + "]" * (MAX_DEPTH - 1), encoding="utf-8")
    data = load_yaml(path).data
    for _ in range(MAX_DEPTH - 2):
        (data,) = data
    assert data == ["x"]
    path.write_text("[" * MAX_DEPTH + "x" + "]" * MAX_DEPTH, encoding="utf-8")
    with pytest.raises(ConfigError, match="nested more than"):
        load_yaml(path)


def test_a_control_character_is_a_sentence_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bell.yaml"
    path.write_text("name: ok\nvendors: [a\x07b]\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"bell\.yaml:2: this is not valid YAML: it contains the control character #x0007"
    ):
        load_yaml(path)


def test_a_folder_named_like_a_watchlist_is_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(ConfigError, match="this is a folder, not a file"):
        load_yaml(tmp_path / "folder.yaml")
