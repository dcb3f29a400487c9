"""Shared fixtures: local servers, a workspace with config files, and the CLI run as cron runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import yaml

from newsbot.storage.database import Storage
from tests.servers import FakeSlack, FeedServer

REPOSITORY = Path(__file__).resolve().parent.parent
SHARED = REPOSITORY.parent / "shared"
CORPUS = SHARED / "corpus"


def pytest_configure(config: pytest.Config) -> None:
    """The code under test must be this checkout's, all of it: newsbot.alerts and newsbot.spiders come
    from whichever checkout the venv's editable install names, and a second checkout sharing that venv
    would test half of another one's code without a word."""
    import newsbot.alerts
    import newsbot.spiders

    for package in (newsbot.alerts, newsbot.spiders):
        if not Path(package.__file__ or "").resolve().is_relative_to(REPOSITORY):
            pytest.exit(
                f"{package.__name__} is imported from {package.__file__}, not from {REPOSITORY}: "
                f"run `pip install -e {REPOSITORY}` in this venv first",
                returncode=4,
            )


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    """newsbot's database in a fresh file, for in-process tests."""
    opened = Storage.open(tmp_path / "newsbot.db")
    yield opened
    opened.close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    server = FakeSlack()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def corpus() -> Path:
    """Real feeds and pages from ../shared/corpus; absent in a user's clone, so tests skip there."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present (it is not shipped with newsbot)")
    return CORPUS


class Workspace:
    """A folder with newsbot.yaml and the example watchlist, like /etc/newsbot on a server."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.config = folder / "newsbot.yaml"
        self.database = folder / "newsbot.db"
        (folder / "watchlists").mkdir()
        shutil.copy(REPOSITORY / "examples" / "watchlists" / "sms-vendors.yaml", folder / "watchlists")
        self.settings: dict[str, Any] = {
            "database": "newsbot.db",
            "watchlists": "watchlists/",
            "max_age_days": 7,
            "sources": [],
            # The test servers stand for public sites but listen on loopback, which newsbot refuses
            # to reach unless told: tests of that refusal use other loopback addresses.
            "fetch": {
                "autothrottle_start_delay": 0,
                "timeout_seconds": 5,
                "retries": 0,
                "allowed_networks": ["127.0.0.1/32"],
            },
        }
        self.environment: dict[str, str] = {}

    def source(self, name: str, url: str, **options: Any) -> None:
        """A feed source; its links lead to made-up hosts, so no full text unless a test asks."""
        self.settings["sources"].append({"name": name, "feed": url, "full_text": "never", **options})

    def use_slack(self, slack: FakeSlack, **options: Any) -> None:
        self.settings["slack"] = {
            "webhook_url": "${TEST_SLACK_WEBHOOK}",
            "max_retry_after_seconds": 2,
            **options,
        }
        self.environment["TEST_SLACK_WEBHOOK"] = slack.webhook_url

    def use_slack_token(self, slack: FakeSlack, **options: Any) -> None:
        self.settings["slack"] = {
            "token": "${TEST_SLACK_TOKEN}",
            "api_url": slack.api_url,
            "channel": "#vendor-news",
            "max_retry_after_seconds": 2,
            "seconds_between_messages": 0,
            **options,
        }
        self.environment["TEST_SLACK_TOKEN"] = slack.token

    def watchlist(self, name: str = "sms-vendors.yaml") -> Path:
        return self.folder / "watchlists" / name

    def edit_watchlist(self, old: str, new: str, name: str = "sms-vendors.yaml") -> None:
        path = self.watchlist(name)
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} is not in {path}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def write(self) -> Path:
        self.config.write_text(yaml.safe_dump(self.settings, sort_keys=False), encoding="utf-8")
        return self.config

    def newsbot(
        self, *arguments: str, timeout: float = 60, stdout: IO[str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `python -m newsbot COMMAND --config …` from a foreign working directory, as cron does;
        its standard output into `stdout` when given (a log file), captured otherwise."""
        self.write()
        return run_newsbot(
            *self._with_config(arguments), environment=self.environment, cwd=self.folder, timeout=timeout, stdout=stdout
        )

    def _with_config(self, arguments: tuple[str, ...]) -> list[str]:
        """Insert `--config` right after the command name (global options such as -vv come first)."""
        position = next(index for index, argument in enumerate(arguments) if not argument.startswith("-"))
        return [*arguments[: position + 1], "--config", str(self.config), *arguments[position + 1 :]]

    def popen(self, *arguments: str) -> subprocess.Popen[str]:
        self.write()
        return subprocess.Popen(
            [sys.executable, "-m", "newsbot", *self._with_config(arguments)],
            cwd=self.folder,
            env=newsbot_environment(self.environment),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )


def newsbot_environment(extra: dict[str, str]) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SLACK_")}
    environment["PYTHONPATH"] = str(REPOSITORY)
    environment.update(extra)
    return environment


def within(seconds: float, program: str, what: str, stdin: bytes | None = None) -> bytes:
    """The standard output of `program` run by a child interpreter from the repository, failing the
    test if it takes longer than `seconds` (`what` took too long): a regression to quadratic reading
    is killed there instead of holding the suite. The bound is generous; it is no benchmark."""
    try:
        finished = subprocess.run(
            [sys.executable, "-c", program],
            input=stdin,
            capture_output=True,
            timeout=seconds,
            cwd=REPOSITORY,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} took more than {seconds:g} s")
    assert finished.returncode == 0, finished.stderr.decode()
    return finished.stdout


def run_newsbot(
    *arguments: str,
    environment: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
    stdout: IO[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsbot", *arguments],
        cwd=cwd or REPOSITORY,
        env=newsbot_environment(environment or {}),
        text=True,
        stdout=stdout or subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=timeout,
        check=False,
    )


def line_of(path: Path, needle: str) -> int:
    """The line of `path` where `needle` first appears: tests name lines by content, so that editing an
    example watchlist's comments does not move what they check."""
    text = path.read_text(encoding="utf-8")
    assert needle in text, f"{needle!r} is not in {path}"
    return text[: text.index(needle)].count("\n") + 1


def status_block(status: str, name: str) -> str:
    """The lines `newsbot status` prints for one source (its line plus the indented ones after it)."""
    lines = status.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith(f"  {name}: "))
    end = start + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    return "\n".join(lines[start:end])


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)
