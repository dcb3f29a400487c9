"""Two configs pointing at one database. A story is matched once, against the watchlists of the run
that stored it: each config's run marked the other's stories matched, and each missed, for good and
in silence, the alerts its own watchlists would have sent. A config that moved takes it over."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from tests.conftest import Workspace, run_newsbot
from tests.feed_items import MITTO, MITTO_SS7
from tests.servers import FeedServer, Route, recent, rss


def second_config(workspace: Workspace, name: str) -> Path:
    """Another config in the same folder, on the same database, with watchlists of its own."""
    shutil.copytree(workspace.folder / "watchlists", workspace.folder / f"{name}-watchlists")
    path = workspace.folder / f"{name}.yaml"
    settings = {**workspace.settings, "watchlists": f"{name}-watchlists/"}
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


def run_with(config: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return run_newsbot("run", "--config", str(config), *options, cwd=config.parent)


def test_a_second_config_on_the_same_database_is_refused_before_it_crawls(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([{**MITTO, "pubDate": recent()}]))))
    assert workspace.newsbot("run").returncode == 0
    other = second_config(workspace, "team-b")
    feed_server.add("/wire.xml", Route(rss([{**MITTO, "pubDate": recent()}, {**MITTO_SS7, "pubDate": recent()}])))

    refused = run_with(other)
    previewed = run_with(other, "--dry-run")  # a dry run works on a copy: any config may try it
    own = workspace.newsbot("run")

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"is {workspace.config}'s" in refused.stderr and "a `database:` of its own" in refused.stderr
    assert previewed.returncode == 0, previewed.stderr
    assert own.returncode == 0 and "1 alerts sent" in own.stdout, "the story the refused run did not mark alerts"


def test_a_config_that_moved_takes_its_database_over(workspace: Workspace, feed_server: FeedServer) -> None:
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([{**MITTO, "pubDate": recent()}]))))
    assert workspace.newsbot("run").returncode == 0
    moved = second_config(workspace, "moved")
    workspace.config.unlink()
    feed_server.add("/wire.xml", Route(rss([{**MITTO, "pubDate": recent()}, {**MITTO_SS7, "pubDate": recent()}])))

    again = run_with(moved)

    assert again.returncode == 0, again.stderr
    assert "1 alerts sent" in again.stdout


def test_a_release_deployed_behind_a_link_is_the_same_config(workspace: Workspace, feed_server: FeedServer) -> None:
    """`--config /opt/newsbot/current/newsbot.yaml`, `current` a link moved to each new release while the
    old one stays on disk: resolved, the second release's config was "another config", every run refused."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([{**MITTO, "pubDate": recent()}]))))
    workspace.settings["database"] = str(workspace.folder / "newsbot.db")
    workspace.settings["watchlists"] = str(workspace.folder / "watchlists")
    releases = [workspace.folder / "releases" / name for name in ("1", "2")]
    for release in releases:
        release.mkdir(parents=True)
        (release / "newsbot.yaml").write_text(yaml.safe_dump(workspace.settings, sort_keys=False), encoding="utf-8")
    current = workspace.folder / "current"
    current.symlink_to(releases[0], target_is_directory=True)
    assert run_with(current / "newsbot.yaml").returncode == 0
    current.unlink()
    current.symlink_to(releases[1], target_is_directory=True)

    again = run_with(current / "newsbot.yaml")

    assert again.returncode == 0, again.stderr


def test_a_second_config_named_through_a_link_and_dots_is_still_a_second_config(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    """`link/../team-b.yaml`, `link` a link to another folder: made absolute by text, the first config's
    name was a file that does not exist, and each config took the database over from the other."""
    workspace.source("Wire", feed_server.add("/wire.xml", Route(rss([{**MITTO, "pubDate": recent()}]))))
    assert workspace.newsbot("run").returncode == 0
    other = second_config(workspace, "team-b")
    elsewhere = workspace.folder / "elsewhere" / "deeper"
    elsewhere.mkdir(parents=True)
    (workspace.folder / "link").symlink_to(elsewhere, target_is_directory=True)
    dotted = "link/../../team-b.yaml"  # through the link: elsewhere/deeper/../../ is the workspace
    assert (workspace.folder / dotted).resolve() == other.resolve()

    refused = run_newsbot("run", "--config", dotted, cwd=workspace.folder)
    first_again = workspace.newsbot("run")

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert first_again.returncode == 0, first_again.stderr
