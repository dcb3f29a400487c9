"""The files a user deploys newsbot with (examples/systemd/, examples/crontab, Dockerfile) hold together:
the units have the keys that make a timer run newsbot once per tick, every command line in them is one
newsbot's own parser accepts, the crontab is the README's, and the image runs `newsbot run` on the
config at the mount point the README documents. systemd-analyze and docker check what they can, when
this machine has them; the README's crontab itself is run as cron runs it in test_readme_cron.py.
"""

from __future__ import annotations

import argparse
import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import uuid
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from newsbot.cli.commands import _digest, _parser, _run
from tests.conftest import REPOSITORY
from tests.end_to_end.test_readme_cron import readme_crontab

UNITS = REPOSITORY / "examples" / "systemd"
CRONTAB = REPOSITORY / "examples" / "crontab"
DOCKERFILE = REPOSITORY / "Dockerfile"
INSTALLED = "/opt/newsbot/.venv/bin/newsbot"
CONFIG = Path("/etc/newsbot/newsbot.yaml")
SECRETS = "/etc/newsbot/slack.env"  # the file the README's `newsbot serve` unit reads too
COMMAND_OF = {"newsbot.service": _run, "newsbot-digest.service": _digest}
# One crontab time field: `*`, a number or a range, an optional /step, comma-separated.
_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def unit(path: Path) -> configparser.ConfigParser:
    """A unit file as systemd reads its keys: case kept, no interpolation (`%` and `$` are systemd's)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def newsbot_arguments(command_line: str) -> argparse.Namespace:
    """The command line as newsbot's own parser reads it; a line it refuses fails the test."""
    argv = shlex.split(command_line)
    assert argv[0] == INSTALLED, f"not the installed newsbot named in full: {command_line}"
    try:
        return _parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"newsbot's parser refuses {command_line!r}")


def test_every_service_is_a_oneshot_newsbot_command_with_its_working_directory_and_secrets() -> None:
    services = sorted(UNITS.glob("*.service"))
    assert {path.name for path in services} == set(COMMAND_OF)
    for path in services:
        service = unit(path)["Service"]
        assert service["Type"] == "oneshot", path
        assert service["WorkingDirectory"] == str(CONFIG.parent), path
        assert service["EnvironmentFile"] == SECRETS, path
        assert service["User"], path
        arguments = newsbot_arguments(service["ExecStart"])
        assert arguments.command is COMMAND_OF[path.name], path
        assert arguments.config == CONFIG, path
        assert "network-online.target" in unit(path)["Unit"]["After"], path


def test_the_run_service_logs_a_summary_and_takes_a_lock_held_or_a_stop_as_success() -> None:
    service = unit(UNITS / "newsbot.service")["Service"]
    assert not newsbot_arguments(service["ExecStart"]).quiet  # the journal keeps one line per run
    assert set(service["SuccessExitStatus"].split()) == {"3", "143"}


def test_every_timer_is_persistent_and_starts_its_own_service() -> None:
    timers = sorted(UNITS.glob("*.timer"))
    assert {path.stem for path in timers} == {Path(name).stem for name in COMMAND_OF}
    for path in timers:
        timer = unit(path)
        assert timer["Timer"]["Persistent"] == "true", path
        assert timer["Timer"]["OnCalendar"], path
        assert timer["Timer"].get("Unit", f"{path.stem}.service") == f"{path.stem}.service", path
        assert timer["Install"]["WantedBy"] == "timers.target", path


def test_systemd_analyze_verifies_the_units_without_a_warning(tmp_path: Path) -> None:
    """With ExecStart pointed at this venv's newsbot (verify checks the program exists): systemd's
    own reading, which catches a misspelt key or value and a calendar it cannot parse."""
    analyze = shutil.which("systemd-analyze")
    newsbot = Path(sys.executable).parent / "newsbot"
    if analyze is None or not newsbot.is_file():
        pytest.skip("systemd-analyze, or this venv's newsbot command, is not on this machine")
    for path in UNITS.iterdir():
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8").replace(INSTALLED, str(newsbot)))
    units = sorted(str(path) for path in tmp_path.iterdir())
    verified = subprocess.run(
        [analyze, "verify", *units], capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path
    )
    ours = [line for line in verified.stderr.splitlines() if "newsbot" in line]
    assert verified.returncode == 0 and not ours, verified.stderr


def crontab_lines() -> tuple[dict[str, str], list[list[str]]]:
    """(variables, jobs as five time fields plus the command) of examples/crontab."""
    variables: dict[str, str] = {}
    jobs: list[list[str]] = []
    for raw_line in CRONTAB.read_text(encoding="utf-8").splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if assignment := re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", line):
            variables[assignment.group(1)] = assignment.group(2)
            continue
        jobs.append(line.split(None, 5))
    return variables, jobs


def test_the_crontab_lines_are_five_time_fields_and_a_quiet_newsbot_command() -> None:
    _, jobs = crontab_lines()
    commands = []
    for job in jobs:
        assert len(job) == 6, f"not five time fields and a command: {job}"
        for field, (lowest, highest) in zip(job[:5], CRON_RANGES, strict=True):
            assert _CRON_FIELD.match(field), f"not a crontab time field: {field!r} in {job}"
            assert all(lowest <= int(number) <= highest for number in re.findall(r"\d+", field.split("/")[0])), job
        arguments = newsbot_arguments(job[5])
        assert arguments.quiet and arguments.config == CONFIG, job
        commands.append(arguments.command)
    assert commands == [_run, _digest]
    assert jobs[0][:5] == ["*/10", "*", "*", "*", "*"]


def test_the_crontab_is_the_readme_crontab_so_the_run_of_that_covers_it() -> None:
    variables, jobs = crontab_lines()
    readme_variables, readme_jobs = readme_crontab()
    assert variables == readme_variables
    assert [shlex.split(job[5]) for job in jobs] == readme_jobs


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw_line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw_line.strip()
        if line.startswith("#") or not (line or pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [
        (words[0].upper(), words[1] if len(words) > 1 else "") for words in (line.split(None, 1) for line in logical)
    ]


def readme_docker_mounts() -> set[str]:
    """Where the README's `docker run` lines mount the host's config folder in the container."""
    text = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    runs = [line for line in text.splitlines() if line.strip().startswith("docker run ")]
    assert runs, "the README shows no `docker run` line"
    return {mount.split(":")[1] for line in runs for mount in re.findall(r"-v (\S+:\S+)", line)}


def test_the_image_runs_newsbot_run_on_the_config_at_the_documented_mount_point() -> None:
    instructions = dockerfile_instructions()
    entrypoint = [json.loads(value) for name, value in instructions if name == "ENTRYPOINT"][-1]
    cmd = [json.loads(value) for name, value in instructions if name == "CMD"][-1]
    assert entrypoint == ["newsbot"]
    arguments = _parser().parse_args(cmd)
    assert arguments.command is _run and not arguments.dry_run
    assert readme_docker_mounts() == {str(arguments.config.parent)}
    assert arguments.config == CONFIG  # the same path as in the units and the crontab
    workdir = [value for name, value in instructions if name == "WORKDIR"][-1]
    assert workdir == str(CONFIG.parent)  # `docker run … newsbot check` finds ./newsbot.yaml there
    assert [value for name, value in instructions if name == "USER"][-1] not in ("root", "0")


def test_everything_the_image_copies_exists_and_is_not_left_out_of_the_build_context() -> None:
    ignored = [
        line.strip()
        for line in (REPOSITORY / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [
        source.rstrip("/")
        for name, value in dockerfile_instructions()
        if name == "COPY"
        for source in value.split()[:-1]
    ]
    assert {"pyproject.toml", "requirements.txt", "newsbot", "alerts", "spiders"} <= set(copied)
    for source in copied:
        assert (REPOSITORY / source).exists(), f"the Dockerfile copies {source}, which does not exist"
        assert not any(fnmatch(source, pattern) for pattern in ignored), f"{source} is in .dockerignore"
    # pyproject.toml maps these folders into the package: a wheel built without one would lack it.
    mapped = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert set(mapped["package-dir"].values()) <= {str(PurePosixPath(source)) for source in copied}


def test_the_images_pins_are_the_runtime_pins_and_satisfy_pyproject() -> None:
    """The image installs `pip install --constraint requirements.txt .`: every dependency pyproject.toml
    declares must be pinned there at a version its range allows, or the build fails (or floats)."""
    assert "pip install --constraint requirements.txt ." in DOCKERFILE.read_text(encoding="utf-8")
    pins = {}
    for line in (REPOSITORY / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line.split("#")[0].strip():
            pinned = Requirement(line.split("#")[0].strip())
            pins[canonicalize_name(pinned.name)] = str(pinned.specifier).removeprefix("==")
    declared = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    for dependency in map(Requirement, declared):
        version = pins.get(canonicalize_name(dependency.name))
        assert version is not None, f"{dependency.name} is not pinned in requirements.txt"
        assert dependency.specifier.contains(version), f"{dependency.name}=={version} is outside {dependency.specifier}"


def test_docker_builds_the_image_and_it_answers(tmp_path: Path) -> None:
    """Only where a Docker daemon answers (and can reach the base image and PyPI)."""
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True, timeout=30, check=False).returncode:
        pytest.skip("no Docker daemon on this machine")
    tag = f"newsbot-test-{uuid.uuid4().hex[:12]}"
    built = subprocess.run(
        [docker, "build", "-t", tag, "."], cwd=REPOSITORY, capture_output=True, text=True, timeout=900, check=False
    )
    try:
        assert built.returncode == 0, built.stderr[-3000:]
        shutil.copytree(REPOSITORY / "examples" / "watchlists", tmp_path / "watchlists")
        (tmp_path / "newsbot.yaml").write_text("database: newsbot.db\nwatchlists: watchlists/\n", encoding="utf-8")
        tmp_path.chmod(0o777)  # the image runs as uid 10001
        checked = subprocess.run(
            [docker, "run", "--rm", "-v", f"{tmp_path}:{CONFIG.parent}", tag, "check"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert checked.returncode == 0 and "OK" in checked.stdout, checked.stdout + checked.stderr
    finally:
        subprocess.run([docker, "rmi", "-f", tag], capture_output=True, timeout=120, check=False)
