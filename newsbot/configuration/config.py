"""Load and validate `newsbot.yaml`, with errors that name `file:line` (see newsbot.configuration.validation).

The watchlists it points to are loaded by newsbot.configuration.watchlists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from newsbot.configuration.fetch_config import FetchSettings
from newsbot.configuration.slack_secrets import (
    KEEP_REFERENCES,
    ApiUrl,
    AppToken,
    SigningSecret,
    SlackToken,
    WebhookUrl,
    redacting,
    secret_values,
    secret_variables,
)
from newsbot.configuration.source_config import (
    A_DAY_SECONDS,
    CENTURY_DAYS,
    CENTURY_HOURS,
    HealthSettings,
    SourceConfig,
    Text,
)
from newsbot.configuration.validation import Strict, expand_environment, validate
from newsbot.configuration.watchlists import Watchlist, WatchlistConfig, load_watchlists
from newsbot.configuration.yamlfile import YamlDocument, load_yaml
from newsbot.errors import ConfigError
from newsbot.models import Severity, SourceKind
from newsbot.sources.user_spiders import spider_loader

# A watchlist's keys pasted into newsbot.yaml are pointed to the file they belong in.
_OTHER_FILES = [(WatchlistConfig, "a watchlist file (in the watchlists: folder)")]


class SlackConfig(Strict):
    """Either an incoming webhook (one channel) or a bot token (any channel, threads, metadata)."""

    webhook_url: WebhookUrl | None = None  # shapes checked without echoing them: newsbot.configuration.slack_secrets
    token: SlackToken | None = None
    api_url: ApiUrl = "https://slack.com/api/"
    channel: Text | None = None  # token mode: where alerts go when nothing more specific says
    severity_channels: dict[Severity, Text] = Field(default_factory=dict)
    delivery: Literal["at_least_once", "at_most_once"] = "at_least_once"  # webhook mode after a crash
    timeout_seconds: float = Field(default=10.0, gt=0, le=A_DAY_SECONDS)
    max_retry_after_seconds: float = Field(default=30.0, ge=0, le=A_DAY_SECONDS)
    seconds_between_messages: float = Field(default=1.0, ge=0, le=A_DAY_SECONDS)  # per channel
    digest_over: int = Field(default=20, ge=1)
    failing_after_hours: float = Field(default=6.0, gt=0, le=CENTURY_HOURS)
    unfurl_links: bool = False
    ops_channel: Text | None = None  # token mode: where source health goes (default: slack.channel)
    ops_webhook_url: WebhookUrl | None = None  # webhook mode: where source health goes (default: webhook_url)
    signing_secret: SigningSecret | None = None  # `newsbot serve` over HTTP: checks each request came from Slack
    app_token: AppToken | None = None  # `newsbot serve` in Socket Mode (xapp-…): no public URL needed

    @model_validator(mode="after")
    def _one_mode(self) -> SlackConfig:
        if (self.webhook_url is None) == (self.token is None):
            raise ValueError("slack needs exactly one of webhook_url: or token:")
        if self.token is not None and self.channel is None:
            raise ValueError("slack.token needs slack.channel: the channel for alerts with no other route")
        if self.token is None and (self.channel is not None or self.severity_channels):
            raise ValueError(
                "slack.channel and slack.severity_channels need slack.token: a webhook posts only to the channel "
                "it was created for (give a watchlist a webhook_url: of its own instead)"
            )
        if self.ops_channel is not None and self.token is None:
            raise ValueError("slack.ops_channel needs slack.token (with a webhook, use slack.ops_webhook_url)")
        if self.ops_webhook_url is not None and self.token is not None:
            raise ValueError("slack.ops_webhook_url is for webhook mode (with a token, use slack.ops_channel)")
        if (self.signing_secret is not None or self.app_token is not None) and self.token is None:
            raise ValueError(
                "slack.signing_secret and slack.app_token are for `newsbot serve`, which needs slack.token "
                "(a webhook's message cannot carry buttons)"
            )
        return self


class Settings(Strict):
    database: Text
    watchlists: Text
    spiders_dir: Text | None = None  # relative to this file: every Scrapy spider in it can be named by a source
    max_age_days: float = Field(default=7, gt=0, le=CENTURY_DAYS)
    cluster_window_days: float = Field(default=7, gt=0, le=CENTURY_DAYS)  # copies of a story this old are a new story
    sources: list[SourceConfig] = Field(default_factory=list)
    slack: SlackConfig | None = None
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)

    @field_validator("slack", mode="before")
    @classmethod
    def _slack_written_empty(cls, slack: object) -> object:
        """`slack:` with nothing under it (its keys commented out, or not indented under it) was read as
        no section: alerts went to the terminal, cron's mail, and `check` said there was no section."""
        if slack is None:
            raise ValueError(
                "is empty: give it webhook_url: or token: (indented under slack:), or take the slack: line "
                "out to print alerts to the terminal"
            )
        return slack


@dataclass(frozen=True)
class Config:
    """Everything a command needs: settings with paths made absolute, and the watchlists."""

    path: Path
    settings: Settings
    database: Path
    watchlists: tuple[Watchlist, ...]
    spiders_dir: Path | None = None
    # As the command line named it, made absolute, links not followed: `/opt/newsbot/current/…`
    # stays that across releases, where `path` is the release's own file.
    named: Path | None = None
    warnings: tuple[str, ...] = ()  # `file:line: sentence` for what is valid but does nothing (`check`)


def load_config(path: Path, *, require_env: bool = True) -> Config:
    """Load newsbot.yaml and every watchlist it points to; raise ConfigError on the first problem.

    `require_env=False` lets `explain` run on a machine where the Slack secret is not set.
    No message about the config shows any part of a Slack secret (see newsbot.configuration.slack_secrets).
    """
    named = Path(os.getcwd(), path)  # not abspath: `link/../conf` is not `conf` when `link` is a link
    path = path.resolve() if path.exists() else path
    document = load_yaml(path)
    if not isinstance(document.data, dict):
        raise ConfigError(f"{path}:1: the config must be a mapping of settings (database:, sources:, …)")
    secrets = secret_variables(document, document.data)
    data = expand_environment(document, document.data, (), require_env=require_env)
    with redacting(secret_values(data)):
        settings = validate(Settings, data, document, {KEEP_REFERENCES: not require_env}, _OTHER_FILES)
        _check_source_names(settings, document)
        base = path.parent
        spiders_dir = _spiders_dir(base, settings, document)
        _check_spiders(settings, spiders_dir, document)
        watchlists = load_watchlists(
            base / settings.watchlists,
            where=document.where(("watchlists",)),
            require_env=require_env,
            config_secrets=secrets,
        )
    return Config(
        path=path,
        settings=settings,
        database=base / settings.database,
        watchlists=watchlists,
        spiders_dir=spiders_dir,
        named=named,
        warnings=tuple(_keys_doing_nothing(settings, document)),
    )


def _keys_doing_nothing(settings: Settings, document: YamlDocument) -> list[str]:
    return [
        f"{document.where(('sources', index, key))}: source '{source.name}': {key}: does nothing on a spider: "
        "source, whose items are stored as its spider yields them; read the article page in the spider "
        "itself, or take the key out"
        for index, source in enumerate(settings.sources)
        for key in source.keys_doing_nothing()
    ]


def _check_source_names(settings: Settings, document: YamlDocument) -> None:
    """Source names key the stored fetch state, so two sources must not share one."""
    seen: set[str] = set()
    for index, source in enumerate(settings.sources):
        if source.name in seen:
            raise ConfigError(
                f"{document.where(('sources', index, 'name'))}: two sources are named "
                f"'{source.name}'; names must be unique"
            )
        seen.add(source.name)


def _spiders_dir(base: Path, settings: Settings, document: YamlDocument) -> Path | None:
    if settings.spiders_dir is None:
        return None
    folder = (base / settings.spiders_dir).resolve()
    if not folder.is_dir():
        raise ConfigError(
            f"{document.where(('spiders_dir',))}: spiders_dir: {folder} is not a folder; "
            "name the folder that holds your spiders' .py files (relative to this file)"
        )
    return folder


def _check_spiders(settings: Settings, spiders_dir: Path | None, document: YamlDocument) -> None:
    """A `spider:` source must name a spider newsbot can load, and every module of `spiders_dir`
    must import (imported here, as Scrapy would: a broken one would stop every run)."""
    wanted = [(index, source) for index, source in enumerate(settings.sources) if source.kind is SourceKind.SPIDER]
    if not wanted and spiders_dir is None:
        return
    loader = spider_loader(spiders_dir)
    known = [name for name in loader.list() if not getattr(loader.load(name), "newsbot_builtin", False)]
    where = f"{spiders_dir} or newsbot's spiders/" if spiders_dir else "newsbot's spiders/ (see spiders_dir:)"
    for index, source in wanted:
        if source.spider not in known:
            raise ConfigError(
                f"{document.where(('sources', index, 'spider'))}: there is no spider named "
                f"'{source.spider}' in {where} (known: {', '.join(sorted(known)) or 'none'})"
            )
        # Scrapy loads a spider's add-ons after newsbot has put its own components back
        # (newsbot.sources.user_spiders), and an add-on may replace any of them.
        if (getattr(loader.load(source.spider), "custom_settings", None) or {}).get("ADDONS"):
            raise ConfigError(
                f"{document.where(('sources', index, 'spider'))}: the spider '{source.spider}' sets ADDONS "
                "in its custom_settings; an add-on can replace newsbot's address guard, run bounds and "
                "retries, so newsbot refuses it (a downloader middleware of the spider's own is kept)"
            )
