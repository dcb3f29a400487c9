"""A team's spiders in `spiders_dir:` are the team's code: a broken module is a `file:line` sentence from
`check` and before any run (never a traceback that stops every source), and a spider copied from the
built-in example without renaming replaces it quietly (no warning mailed by cron every run)."""

from __future__ import annotations

import pytest

from tests.conftest import REPOSITORY, Workspace
from tests.servers import FeedServer, Route, advisories_page, rss

BROKEN = {
    "syntax": ("def parse(self\n", 1, "SyntaxError"),
    "import": ("import scrapy\nimport no_such_module_anywhere\n", 2, "ModuleNotFoundError"),
    "raises": ("import scrapy\n\nCONFIG = {}\nURL = CONFIG['url']\n", 4, "KeyError"),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_broken_spider_module_is_a_sentence_from_check_and_run(
    workspace: Workspace, feed_server: FeedServer, kind: str
) -> None:
    source, line, error = BROKEN[kind]
    folder = workspace.folder / "team-spiders"
    folder.mkdir()
    (folder / "good.py").write_text("import scrapy\n", encoding="utf-8")
    (folder / "broken.py").write_text(source, encoding="utf-8")
    workspace.settings["spiders_dir"] = "team-spiders"
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([{"title": "x", "link": "https://n.example/1"}]))))

    check = workspace.newsbot("check")
    run = workspace.newsbot("run", "--quiet")

    for result, code in ((check, 1), (run, 2)):
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith(f"newsbot: {folder / 'broken.py'}:{line}: a spider module cannot be imported")
        assert f"({error}" in result.stderr
    assert not feed_server.requests_to("/feed.xml")  # refused before the crawl, not half-way through it


def test_a_copied_example_spider_replaces_the_built_in_one_quietly(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    folder = workspace.folder / "team-spiders"
    folder.mkdir()
    example = (REPOSITORY / "spiders" / "vendor_portal.py").read_text(encoding="utf-8")
    copied = example.replace('"title": " ".join(', '"title": "[team] " + " ".join(')  # same name, its own output
    assert copied != example
    (folder / "vendor_portal.py").write_text(copied, encoding="utf-8")
    portal = feed_server.add("/advisories", advisories_page("Team portal: Mitto AG sold SS7 access to locate phones"))
    workspace.settings["spiders_dir"] = "team-spiders"
    workspace.settings["sources"].append({"name": "Portal", "spider": "vendor_portal", "spider_args": {"url": portal}})

    first = workspace.newsbot("run", "--quiet")
    second = workspace.newsbot("run", "--quiet")

    assert first.returncode == 0 and second.returncode == 0, first.stderr
    assert "[team] Team portal: Mitto AG sold SS7 access" in first.stdout  # the team's copy ran
    assert first.stderr == "" and second.stderr == ""  # no "several spiders with the same name" every run
    assert second.stdout == ""
