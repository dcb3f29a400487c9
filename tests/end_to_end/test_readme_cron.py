"""The crontab in the README works exactly as written, with cron's own bare environment.

Cron starts a job in $HOME with PATH=/usr/bin:/bin and only the variables the crontab sets. The
test takes the README's ```cron block line by line, changes only the install paths and the
webhook's address (to the fake Slack), and runs each job that way.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPOSITORY, Workspace
from tests.servers import FakeSlack, FeedServer, Route, recent, rss

INSTALLED = "/opt/newsbot/.venv/bin/newsbot"
CONFIG = "/etc/newsbot/newsbot.yaml"
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def readme_crontab() -> tuple[dict[str, str], list[list[str]]]:
    """(variables the crontab sets, each job's command line) from the README's first cron block."""
    text = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```cron\n(.*?)```", text, re.DOTALL)
    assert block, "the README has no ```cron block"
    variables: dict[str, str] = {}
    jobs: list[list[str]] = []
    for raw_line in block.group(1).splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if assignment := _ASSIGNMENT.match(line):
            variables[assignment.group(1)] = assignment.group(2)
            continue
        fields = line.split(None, 5)
        assert len(fields) == 6, f"not a crontab job line: {line}"
        jobs.append(shlex.split(fields[5]))
    return variables, jobs


def as_cron_runs(command: list[str], config: Path) -> list[str]:
    assert command[0] == INSTALLED, f"a cron line must name newsbot by its full path: {command}"
    assert CONFIG in command, f"a cron line must name its config: {command}"
    return [sys.executable, "-m", "newsbot", *(str(config) if part == CONFIG else part for part in command[1:])]


def test_the_readme_crontab_runs_as_written(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, tmp_path: Path
) -> None:
    variables, jobs = readme_crontab()
    assert {tuple(job[1:2]) for job in jobs} >= {("run",), ("digest",)}
    story = {
        "title": "Mitto AG co-founder sold SS7 access to locate phones",
        "link": "https://news.example.com/mitto-ss7",
        "description": "The SMS aggregator's network was used for surveillance.",
        "pubDate": recent(),
    }
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([story]))))
    workspace.settings["slack"] = {"webhook_url": "${SLACK_WEBHOOK_URL}", "max_retry_after_seconds": 2}
    config = workspace.write()
    home = tmp_path / "home"
    home.mkdir()
    environment = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "SHELL": "/bin/sh",
        "LOGNAME": "newsbot",
        "PYTHONPATH": str(REPOSITORY),  # stands for the install in /opt/newsbot
        **{name: slack.webhook_url if "hooks.slack.com" in value else value for name, value in variables.items()},
    }
    for job in jobs:
        finished = subprocess.run(
            as_cron_runs(job, config),
            cwd=home,
            env=environment,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert finished.returncode == 0, (job, finished.stderr)
        assert finished.stdout == "" and finished.stderr == "", f"--quiet printed on success: {finished}"
    delivered = slack.delivered
    assert any("Mitto" in message.get("text", "") for message in delivered), "the run line sent no alert"
    assert any("digest" in message.get("text", "").lower() for message in delivered), "the digest line sent none"
