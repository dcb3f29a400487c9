"""One import name: the wheel installs only `newsbot`, and an installed wheel runs the demo, checks the
example config and loads a team's spiders from `spiders_dir:`.

The wheel is built from this checkout and installed (without dependencies, which this venv has) into a
folder of its own; `python -m newsbot` then runs from that folder, away from the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPOSITORY
from tests.servers import FeedServer, advisories_page

TEAM_SPIDER = """
import scrapy


class TeamPortalSpider(scrapy.Spider):
    name = "team_portal"

    async def start(self):
        yield scrapy.Request(self.url, callback=self.parse)

    def parse(self, response):
        for row in response.css("table.advisories tbody tr"):
            yield {
                "url": response.urljoin(row.css("td.title a::attr(href)").get()),
                "title": row.css("td.title a::text").get(),
                "summary": row.css("td.summary::text").get(),
                "published": row.css("td.date time::attr(datetime)").get(),
            }
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"  # a copy: building in place would leave build/ in the checkout
    shutil.copytree(REPOSITORY, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(folder), "."],
        cwd=source,
        check=True,
        capture_output=True,
    )
    [built] = folder.glob("newsbot-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel pip-installed in it (not editable), as a user installs newsbot. Its
    dependencies come from this venv's site-packages, named in a .pth file (tests never reach the
    package registry); this venv's own .pth files, among them the editable install's finder that maps
    newsbot to the checkout, are not read from there. Returns the new venv's site-packages."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    [site_packages] = (venv / "lib").glob("python3*/site-packages")
    (site_packages / "newsbot-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    return site_packages


def from_wheel(installed: Path, *arguments: str, cwd: Path | str, **variables: str) -> subprocess.CompletedProcess[str]:
    """The installed `newsbot` command, run outside the repository."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "PYTHON"))}
    environment.update(variables)
    newsbot = installed.parents[2] / "bin" / "newsbot"
    return subprocess.run(
        [str(newsbot), *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_wheel_installs_only_newsbot(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/", 1)[0] for name in archive.namelist()}
        names = set(archive.namelist())
    assert top == {"newsbot", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    assert {"newsbot/spiders/news.py", "newsbot/alerts/slack.py", "newsbot/demo_files/feeds/telecom-wire.xml"} <= names
    assert "newsbot/example_files/watchlists/sms-vendors.yaml" in names


def test_the_import_names_are_newsbot_s_and_no_top_level_alerts_or_spiders() -> None:
    code = textwrap.dedent(
        """
        import importlib.util, newsbot, newsbot.alerts, newsbot.spiders
        print(newsbot.__file__, newsbot.alerts.__file__, newsbot.spiders.__file__)
        print(importlib.util.find_spec("alerts"), importlib.util.find_spec("spiders"))
        """
    )
    paths, missing = subprocess.run(
        [sys.executable, "-c", code], cwd="/", capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert paths.split() == [
        str(REPOSITORY / "newsbot" / "__init__.py"),
        str(REPOSITORY / "alerts" / "__init__.py"),
        str(REPOSITORY / "spiders" / "__init__.py"),
    ]
    assert missing == "None None"


def test_the_demo_runs_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    result = from_wheel(installed, "demo", cwd=tmp_path)
    where = from_wheel(installed, "--version", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "[HIGH] SMS and 2FA vendors: Mitto AG co-founder reportedly sold SS7 network access" in result.stdout
    assert str(installed / "newsbot" / "example_files" / "watchlists") in result.stdout  # not the checkout's
    assert str(REPOSITORY) not in result.stdout
    assert where.returncode == 0


def test_check_works_on_the_installed_examples(installed: Path, tmp_path: Path) -> None:
    config = installed / "newsbot" / "example_files" / "newsbot.yaml"
    webhook = "https://hooks.slack.com/services/T0000/B0000/abcdefghijklmnopqrstuvwx"
    result = from_wheel(installed, "check", "--config", str(config), cwd=tmp_path, SLACK_WEBHOOK_URL=webhook)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{config}: OK — 4 sources, 3 watchlists")
    assert webhook.rsplit("/", 1)[1] not in result.stdout + result.stderr


@pytest.fixture
def portal() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    server.add("/advisories", advisories_page("Mitto AG advisory: SS7 access sold to locate phones"))
    yield server
    server.stop()


def test_a_team_spider_loads_from_spiders_dir_and_its_stories_alert(
    installed: Path, tmp_path: Path, portal: FeedServer
) -> None:
    (tmp_path / "team-spiders").mkdir()
    (tmp_path / "team-spiders" / "portal.py").write_text(TEAM_SPIDER, encoding="utf-8")
    examples = installed / "newsbot" / "example_files"
    config = {
        "database": "newsbot.db",
        "watchlists": str(examples / "watchlists"),
        "spiders_dir": "team-spiders/",
        "sources": [
            {"name": "Team Portal", "spider": "team_portal", "spider_args": {"url": portal.url + "/advisories"}}
        ],
        "fetch": {"allowed_networks": ["127.0.0.1/32"]},
    }
    (tmp_path / "newsbot.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    run = from_wheel(installed, "run", "--config", str(tmp_path / "newsbot.yaml"), cwd="/")

    assert run.returncode == 0, run.stderr
    assert "Mitto AG advisory: SS7 access sold to locate phones" in run.stdout
    assert "1 alerts sent" in run.stdout


def test_a_missing_spiders_dir_is_a_sentence_with_its_line(installed: Path, tmp_path: Path) -> None:
    config = "database: newsbot.db\nwatchlists: watchlists/\nspiders_dir: nowhere/\n"
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "newsbot.yaml").write_text(config, encoding="utf-8")
    result = from_wheel(installed, "check", "--config", str(tmp_path / "newsbot.yaml"), cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.startswith(f"newsbot: {tmp_path / 'newsbot.yaml'}:3: spiders_dir: {tmp_path / 'nowhere'}")
    assert "is not a folder" in result.stderr
