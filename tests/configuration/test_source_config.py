"""The `sources:` contract of the issue, exactly as written, and the settings that go with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.configuration.config import load_config
from newsbot.errors import ConfigError
from newsbot.models import FullText, SourceKind
from tests.conftest import REPOSITORY

CONTRACT = """\
sources:
  - name: Example Security Desk
    url: https://example.org/security/      # an HTML listing page
    links: "article h2 a"                   # CSS selector of story links (or `links_xpath:`)
    follow_pages: 2                         # follow "next page" links this many times
  - name: Example Newsroom
    sitemap: https://example.org/news-sitemap.xml
  - name: Example Blog
    site: https://example.org/              # find the feed from <link rel="alternate">
  - name: Vendor Portal
    spider: vendor_portal                   # a user's own spider in spiders/
  - name: Intranet Advisories
    feed: http://10.0.0.5/advisories.xml
    internal: true                          # only such a source may reach private addresses
    full_text: never                        # auto (default) | always | never
"""


def write_config(folder: Path, body: str) -> Path:
    (folder / "watchlists").mkdir(exist_ok=True)
    path = folder / "newsbot.yaml"
    path.write_text(f"database: newsbot.db\nwatchlists: {REPOSITORY / 'examples' / 'watchlists'}\n{body}", "utf-8")
    return path


def test_the_contract_loads_as_written_and_is_in_the_readme(tmp_path: Path) -> None:
    sources = load_config(write_config(tmp_path, CONTRACT)).settings.sources

    assert [(source.name, source.kind) for source in sources] == [
        ("Example Security Desk", SourceKind.LISTING),
        ("Example Newsroom", SourceKind.SITEMAP),
        ("Example Blog", SourceKind.SITE),
        ("Vendor Portal", SourceKind.SPIDER),
        ("Intranet Advisories", SourceKind.FEED),
    ]
    desk, _, _, portal, intranet = sources
    assert (desk.links, desk.follow_pages, desk.location) == ("article h2 a", 2, "https://example.org/security/")
    assert (portal.spider, portal.location) == ("vendor_portal", None)
    assert (intranet.internal, intranet.full_text, desk.full_text) == (True, FullText.NEVER, FullText.AUTO)
    assert CONTRACT in (REPOSITORY / "README.md").read_text(encoding="utf-8")


def test_the_example_config_and_opml_list_are_valid() -> None:
    config = load_config(REPOSITORY / "examples" / "newsbot.yaml", require_env=False)
    assert {source.kind for source in config.settings.sources} == {
        SourceKind.FEED,
        SourceKind.LISTING,
        SourceKind.SITEMAP,
        SourceKind.SITE,
    }


@pytest.mark.parametrize(
    ("body", "line", "sentence"),
    [
        ("slack:\n  webhook_url: https://hooks.example/x\n  ops_channel: '#ops'\n", 3, "ops_channel needs slack.token"),
        (
            "slack:\n  token: xoxb-1\n  channel: '#a'\n  ops_webhook_url: https://hooks.example/o\n",
            3,
            "ops_webhook_url is for webhook mode",
        ),
        ("fetch:\n  allowed_networks: [10.0.0.0/33]\n", 4, "'10.0.0.0/33' is not a network"),
        ("health:\n  failing_after_runs: 0\n", 4, "greater than or equal to 1"),
    ],
)
def test_health_ops_and_network_settings_are_checked(tmp_path: Path, body: str, line: int, sentence: str) -> None:
    path = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}:{line}: ")
    assert sentence in str(raised.value)
