"""The Scrapy settings every crawl gets: polite and bounded, whatever Scrapy's defaults are."""

from __future__ import annotations

from newsbot.configuration.fetch_config import FetchSettings
from newsbot.sources.crawl import scrapy_settings
from tests.conftest import Workspace
from tests.servers import FeedServer, Route, rss


def test_defaults_are_polite_and_bounded() -> None:
    settings = scrapy_settings(FetchSettings())

    assert settings.getbool("ROBOTSTXT_OBEY") and settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getint("DOWNLOAD_MAXSIZE") == 10 * 1024 * 1024  # Scrapy's own: 1 GiB
    assert settings.getfloat("DOWNLOAD_TIMEOUT") == 30  # Scrapy's own: 180 s
    assert settings.get("USER_AGENT").startswith("newsbot/")
    assert not settings.getbool("REMOTE_CONTROL_ENABLED") and not settings.getbool("TELNETCONSOLE_ENABLED")


def test_only_http_downloads_are_possible() -> None:
    handlers = scrapy_settings(FetchSettings()).getdict("DOWNLOAD_HANDLERS")

    assert handlers == {
        "http": "newsbot.sources.bounds.BoundedDownloadHandler",  # Scrapy's own, bounded by the run
        "https": "newsbot.sources.bounds.BoundedDownloadHandler",
        "file": None,
        "data": None,
        "ftp": None,
        "s3": None,
    }


def test_fetch_section_overrides_the_defaults() -> None:
    fetch = FetchSettings(
        max_bytes=1234,
        timeout_seconds=5,
        retries=0,
        user_agent="acme-newsbot (sec@acme.example)",
        obey_robots_txt=False,
        concurrent_requests_per_domain=1,
    )

    settings = scrapy_settings(fetch)

    assert settings.getint("DOWNLOAD_MAXSIZE") == 1234
    assert settings.getfloat("DOWNLOAD_TIMEOUT") == 5
    assert settings.getint("RETRY_TIMES") == 0
    assert settings.get("USER_AGENT") == "acme-newsbot (sec@acme.example)"
    assert not settings.getbool("ROBOTSTXT_OBEY")
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1


def test_a_run_never_imports_the_components_it_leaves_out(workspace: Workspace, feed_server: FeedServer) -> None:
    """Scrapy imports a component to learn that it is disabled (even one set to None): the remote
    control's aiohttp and the telnet console cost every run 0.1 s."""
    item = {"title": "Mitto AG sold SS7 access", "link": "http://news.invalid/mitto", "description": "A teaser."}
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([item]))))
    workspace.environment["PYTHONPROFILEIMPORTTIME"] = "1"

    done = workspace.newsbot("run")

    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"scrapy.core.downloader.handlers.http11", "scrapy.extensions.throttle"} <= imported  # it crawled
    assert "1 new stories" in done.stdout, done.stdout
    left_out = {"aiohttp", "twisted.conch.telnet", "scrapy.extensions.remote_control"}
    assert not left_out & imported


def test_a_team_spider_may_still_turn_cookies_on() -> None:
    """Only components that open a listening port are left out of Scrapy's base lists."""
    settings = scrapy_settings(FetchSettings())
    settings.setdict({"COOKIES_ENABLED": True}, priority="spider")  # as a spider's custom_settings are applied

    middlewares = settings.get_component_priority_dict_with_base("DOWNLOADER_MIDDLEWARES")

    assert "scrapy.downloadermiddlewares.cookies.CookiesMiddleware" in middlewares
    assert settings.getbool("COOKIES_ENABLED")
    extensions = settings.get_component_priority_dict_with_base("EXTENSIONS")
    assert "scrapy.extensions.remote_control.RemoteControl" not in extensions
    assert "scrapy.extensions.telnet.TelnetConsole" not in extensions
