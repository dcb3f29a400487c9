"""A team's spiders in `spiders_dir:` are the team's code: a broken module is a `file:line` sentence from
`check` and before any run (never a traceback that stops every source), and a spider copied from the
built-in example without renaming replaces it quietly (no warning mailed by cron every run)."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import REPOSITORY, Workspace, line_of
from tests.deadhosts import refused_port
from tests.servers import FeedServer, Route, advisories_page, rss

BROKEN = {
    "syntax": ("def parse(self\n", 1, "SyntaxError"),
    "import": ("import scrapy\nimport no_such_module_anywhere\n", 2, "ModuleNotFoundError"),
    "raises": ("import scrapy\n\nCONFIG = {}\nURL = CONFIG['url']\n", 4, "KeyError"),
    # A script's habit: every command (check, run, status) once exited 0 at once, silently, cron none the wiser.
    "exits": ("import sys\n\nif __name__ != '__main__':\n    sys.exit(0)\n", 4, "SystemExit"),
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


# A team spider that brings its own components the way Scrapy's docs show, by `custom_settings`:
# Scrapy then *replaces* newsbot's DOWNLOADER_MIDDLEWARES, EXTENSIONS and DOWNLOAD_HANDLERS with its
# own (by path or by class), which would drop the address guard, the run's bounds, the back-off retries and the polling
# throttle, and bring file:// back. It records what its crawler was built with, as a story.
COMPONENTS_SPIDER = '''
import scrapy
from scrapy.extensions.throttle import AutoThrottle


class TeamHeader:
    """The team's own middleware: it must run beside newsbot's."""

    def process_request(self, request):
        request.headers["X-Team"] = "yes"


class ComponentsSpider(scrapy.Spider):
    name = "components"
    custom_settings = {
        "DOWNLOADER_MIDDLEWARES": {
            "newsbot_user_spiders.components.TeamHeader": 543,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": 550,
        },
        "EXTENSIONS": {AutoThrottle: 0},  # a class is a component as its path is
        "DOWNLOAD_HANDLERS": {"file": "scrapy.core.downloader.handlers.file.FileDownloadHandler"},
    }

    async def start(self):
        yield scrapy.Request(self.url, callback=self.parse)
        yield scrapy.Request(self.internal, callback=self.reached, cb_kwargs={"what": "internal"})
        yield scrapy.Request(self.local_file, callback=self.reached, cb_kwargs={"what": "file"})

    def parse(self, response):
        built = self.crawler.engine.downloader.middleware.middlewares + self.crawler.extensions.middlewares
        yield {
            "url": response.url,
            "title": "components",
            "text": " ".join(sorted(type(component).__name__ for component in built)),
        }

    def reached(self, response, what):
        yield {"url": f"https://team.example/{what}", "title": f"reached {what}", "text": response.text}
'''


def test_a_team_spiders_own_components_are_added_to_newsbots_guards_not_put_in_their_place(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    folder = workspace.folder / "team-spiders"
    folder.mkdir()
    (folder / "components.py").write_text(COMPONENTS_SPIDER, encoding="utf-8")
    secret = workspace.folder / "secret.txt"
    secret.write_text("a local secret", encoding="utf-8")
    intranet = FeedServer(host="127.0.0.2")
    try:
        internal = intranet.add("/internal", Route(b"an intranet page", content_type="text/plain"))
        intranet.start()
        page = feed_server.add("/portal", Route(b"<html><body>portal</body></html>", content_type="text/html"))
        workspace.settings["spiders_dir"] = "team-spiders"
        workspace.settings["sources"].append(
            {
                "name": "Team portal",
                "spider": "components",
                "spider_args": {"url": page, "internal": internal, "local_file": secret.as_uri()},
            }
        )

        run = workspace.newsbot("run", "--quiet")

        assert run.returncode == 0 and run.stderr == "", run.stderr  # no warning for cron to mail each run
        assert [request.headers.get("x-team") for request in feed_server.requests_to("/portal")] == ["yes"]
        assert not intranet.requests_to("/internal")  # the address guard stayed
    finally:
        intranet.stop()
    with sqlite3.connect(workspace.database) as db:
        stories = dict(db.execute("SELECT title, text FROM stories").fetchall())
    assert set(stories) == {"components"}, stories  # neither the intranet page nor the local file was read
    built = set(stories["components"].split())
    assert {"BoundsGate", "SourceGuard", "BoundsGateAfterRobots", "BackoffRetryMiddleware", "TeamHeader"} <= built
    assert "PollingThrottle" in built and "AutoThrottle" not in built
    assert "RetryMiddleware" not in built


FAILING_SPIDERS = '''
import scrapy


class SwallowingSpider(scrapy.Spider):
    """Every request fails, and its errback swallows the failure: nothing yielded, nothing raised."""

    name = "swallowing"

    async def start(self):
        yield scrapy.Request(self.url, callback=self.parse, errback=self.ignore)

    def parse(self, response):
        yield {"url": response.url, "title": "never"}

    def ignore(self, failure):
        return None


class GuardedSpider(scrapy.Spider):
    """Two requests newsbot's address guard refuses (a private address), swallowed by the errback."""

    name = "guarded"

    async def start(self):
        for address in ("10.255.255.1", "10.255.255.2"):
            yield scrapy.Request(f"http://{address}/x", callback=self.parse, errback=self.ignore)

    def parse(self, response):
        yield {"url": response.url, "title": "never"}

    def ignore(self, failure):
        return None


class MissingSpider(scrapy.Spider):
    """Its page answers 404 (HttpErrorMiddleware drops it quietly)."""

    name = "missing"

    async def start(self):
        yield scrapy.Request(self.url, callback=self.parse)

    def parse(self, response):
        yield {"url": response.url, "title": "never"}


class ChangedSpider(scrapy.Spider):
    """One item, then its selector no longer matches the page."""

    name = "changed"

    async def start(self):
        yield scrapy.Request(self.url, callback=self.parse)

    def parse(self, response):
        yield {"url": response.urljoin("/advisories/1"), "title": "Advisory one"}
        raise ValueError("selector changed")
'''


def test_a_team_spiders_failures_are_told_as_what_they_are(workspace: Workspace, feed_server: FeedServer) -> None:
    """A spider whose every request failed (its errback swallowing each) was "ok, 0 stories" run after
    run, never failing; a spider's error in its own code was told as "1 articles kept their teaser"."""
    folder = workspace.folder / "team-spiders"
    folder.mkdir()
    (folder / "failing.py").write_text(FAILING_SPIDERS, encoding="utf-8")
    page = feed_server.add("/portal", Route(b"<html><body>portal</body></html>", content_type="text/html"))
    workspace.settings["spiders_dir"] = "team-spiders"
    workspace.settings["sources"] += [
        {"name": "Swallowing", "spider": "swallowing", "spider_args": {"url": f"http://127.0.0.1:{refused_port()}/x"}},
        {"name": "Changed", "spider": "changed", "spider_args": {"url": page}},
        {"name": "Guarded", "spider": "guarded"},
        {"name": "Missing", "spider": "missing", "spider_args": {"url": feed_server.url + "/gone"}},
    ]

    run = workspace.newsbot("run")
    status = workspace.newsbot("status")

    assert run.returncode == 0, run.stderr
    assert "source failed: Swallowing: its request got no page (`newsbot -v run` shows why)" in run.stdout, run.stdout
    assert "source warning: Changed: 1 problem: ValueError: selector changed" in run.stdout, run.stdout
    assert "source failed: Guarded: none of its 2 requests got a page" in run.stdout, run.stdout
    assert "source failed: Missing: its request got no page" in run.stdout, run.stdout
    assert "kept their teaser" not in run.stdout
    assert "3 failed their last fetch" in status.stdout, status.stdout


SWITCHES_SPIDER = '''
import scrapy


class SwitchesSpider(scrapy.Spider):
    """Turns newsbot's back-off retries and polling throttle off by their switches."""

    name = "switches"
    custom_settings = {"RETRY_ENABLED": False, "AUTOTHROTTLE_ENABLED": False}

    async def start(self):
        yield scrapy.Request(self.url, callback=self.parse)

    def parse(self, response):
        built = self.crawler.engine.downloader.middleware.middlewares + self.crawler.extensions.middlewares
        yield {"url": response.url, "title": "switches", "text": " ".join(type(c).__name__ for c in built)}
'''
ADDON_SPIDER = '''
import scrapy


class Browser:
    """An add-on: Scrapy runs it after newsbot's components are back, and it may replace any."""

    def update_settings(self, settings):
        settings["DOWNLOAD_HANDLERS"]["https"] = "some_browser.Handler"


class AddonSpider(scrapy.Spider):
    name = "addon"
    custom_settings = {"ADDONS": {Browser: 0}}
'''


def test_a_team_spider_cannot_switch_newsbots_components_off(workspace: Workspace, feed_server: FeedServer) -> None:
    folder = workspace.folder / "team-spiders"
    folder.mkdir()
    (folder / "switches.py").write_text(SWITCHES_SPIDER, encoding="utf-8")
    page = feed_server.add("/portal", Route(b"<html><body>portal</body></html>", content_type="text/html"))
    workspace.settings["spiders_dir"] = "team-spiders"
    workspace.settings["sources"].append({"name": "Portal", "spider": "switches", "spider_args": {"url": page}})

    run = workspace.newsbot("run", "--quiet")

    assert run.returncode == 0, run.stderr
    with sqlite3.connect(workspace.database) as db:
        [(built,)] = db.execute("SELECT text FROM stories WHERE title = 'switches'").fetchall()
    assert {"BackoffRetryMiddleware", "PollingThrottle"} <= set(built.split()), built


def test_a_team_spider_with_add_ons_is_refused_by_check_with_its_line(workspace: Workspace) -> None:
    folder = workspace.folder / "team-spiders"
    folder.mkdir()
    (folder / "addon.py").write_text(ADDON_SPIDER, encoding="utf-8")
    workspace.settings["spiders_dir"] = "team-spiders"
    workspace.settings["sources"].append({"name": "Portal", "spider": "addon"})
    line = line_of(workspace.write(), "spider: addon")

    check = workspace.newsbot("check")

    assert check.returncode == 1, check.stderr
    assert check.stderr.startswith(
        f"newsbot: {workspace.config}:{line}: the spider 'addon' sets ADDONS in its custom_settings"
    ), check.stderr
