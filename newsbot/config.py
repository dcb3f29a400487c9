"""Load and validate `newsbot.yaml` and the watchlist files, with errors that name `file:line`.

Validation is pydantic's; this module only decides what a valid file looks like and turns
pydantic's error locations back into lines of the file the user edits.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from newsbot.errors import ConfigError
from newsbot.models import Severity
from newsbot.yamlfile import YamlDocument, load_yaml

VENDORS = "vendors"
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FetchSettings(_Strict):
    """Bounds on every download; Scrapy's own defaults (1 GiB, 180 s) would let one feed stall cron."""

    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)
    retries: int = Field(default=2, ge=0)
    user_agent: str = "newsbot/0.1 (telecom-security news monitor; set fetch.user_agent to add a contact)"
    autothrottle_start_delay: float = Field(default=1.0, ge=0)
    concurrent_requests_per_domain: int = Field(default=2, gt=0)
    obey_robots_txt: bool = True


class SourceConfig(_Strict):
    name: Text
    feed: Text

    @field_validator("feed")
    @classmethod
    def _http_only(cls, url: str) -> str:
        if not re.match(r"https?://[^/\s]+", url):
            raise ValueError(f"'{url}' is not an http:// or https:// address")
        return url


class SlackConfig(_Strict):
    webhook_url: Text
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_retry_after_seconds: float = Field(default=30.0, ge=0)
    unfurl_links: bool = False


class Settings(_Strict):
    database: Text
    watchlists: Text
    max_age_days: float = Field(default=7, gt=0)
    sources: list[SourceConfig] = Field(default_factory=list)
    slack: SlackConfig | None = None
    fetch: FetchSettings = Field(default_factory=FetchSettings)


class VendorConfig(_Strict):
    name: Text
    aliases: list[Text] = Field(default_factory=list)
    context: list[Text] = Field(default_factory=list)


class RuleConfig(_Strict):
    name: Text
    all: list[Text] = Field(default_factory=list)
    any: list[Text] = Field(default_factory=list)
    none: list[Text] = Field(default_factory=list)
    severity: Severity = Severity.MEDIUM

    @model_validator(mode="after")
    def _has_positive_condition(self) -> RuleConfig:
        if not self.all and not self.any:
            raise ValueError(f"rule '{self.name}' needs an 'all:' or 'any:' list to match anything")
        return self


class WatchlistConfig(_Strict):
    name: Text
    vendors: list[VendorConfig] = Field(default_factory=list)
    topics: dict[str, list[Text]] = Field(default_factory=dict)
    rules: list[RuleConfig] = Field(min_length=1)


@dataclass(frozen=True)
class Watchlist:
    """A validated watchlist and the file it came from (for messages and warnings)."""

    path: Path
    config: WatchlistConfig
    name_line: int = 1
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """Everything a command needs: settings with paths made absolute, and the watchlists."""

    path: Path
    settings: Settings
    database: Path
    watchlists: tuple[Watchlist, ...]


def load_config(path: Path, *, require_env: bool = True) -> Config:
    """Load newsbot.yaml and every watchlist it points to; raise ConfigError on the first problem.

    `require_env=False` lets `explain` run on a machine where the Slack secret is not set.
    """
    path = path.resolve() if path.exists() else path
    document = load_yaml(path)
    if not isinstance(document.data, dict):
        raise ConfigError(f"{path}:1: the config must be a mapping of settings (database:, sources:, …)")
    data = _expand_environment(document, document.data, (), require_env)
    settings = _validate(Settings, data, document)
    _check_source_names(settings, document)
    base = path.parent
    watchlist_dir = base / settings.watchlists
    return Config(
        path=path,
        settings=settings,
        database=base / settings.database,
        watchlists=load_watchlists(watchlist_dir, where=document.where(("watchlists",))),
    )


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


def load_watchlists(folder: Path, *, where: str) -> tuple[Watchlist, ...]:
    if not folder.is_dir():
        raise ConfigError(f"{where}: the watchlist folder {folder} does not exist")
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not files:
        raise ConfigError(f"{where}: the watchlist folder {folder} has no *.yaml files")
    watchlists = tuple(load_watchlist(file) for file in files)
    seen: dict[str, Path] = {}
    for watchlist in watchlists:
        name = watchlist.config.name
        if name in seen:
            raise ConfigError(
                f"{watchlist.path}:{watchlist.name_line}: the watchlist name '{name}' is also used "
                f"by {seen[name]}"
            )
        seen[name] = watchlist.path
    return watchlists


def load_watchlist(path: Path) -> Watchlist:
    document = load_yaml(path)
    if not isinstance(document.data, dict):
        raise ConfigError(f"{path}:1: a watchlist must be a mapping with name:, vendors:, topics:, rules:")
    config = _validate(WatchlistConfig, document.data, document)
    _check_names(config, document)
    _check_rule_references(config, document)
    return Watchlist(
        path=path,
        config=config,
        name_line=document.line_of(("name",)),
        warnings=tuple(_inline_word_warnings(config, document)),
    )


def _check_names(config: WatchlistConfig, document: YamlDocument) -> None:
    if VENDORS in config.topics:
        raise ConfigError(
            f"{document.where(('topics', VENDORS))}: '{VENDORS}' is reserved for the vendor list; "
            "rename that topic"
        )
    seen: set[str] = set()
    for index, rule in enumerate(config.rules):
        if rule.name in seen:
            raise ConfigError(
                f"{document.where(('rules', index, 'name'))}: two rules are named '{rule.name}'; "
                "rule names must be unique"
            )
        seen.add(rule.name)


def _check_rule_references(config: WatchlistConfig, document: YamlDocument) -> None:
    for index, rule in enumerate(config.rules):
        for kind in ("all", "any", "none"):
            for position, item in enumerate(getattr(rule, kind)):
                if item == VENDORS and not config.vendors:
                    raise ConfigError(
                        f"{document.where(('rules', index, kind, position))}: rule '{rule.name}' "
                        f"uses '{VENDORS}' but this watchlist lists no vendors"
                    )


def _inline_word_warnings(config: WatchlistConfig, document: YamlDocument) -> list[str]:
    """A rule item that is not a topic is an inline word; warn when it looks like a mistyped topic."""
    known = [VENDORS, *config.topics]
    warnings = []
    for index, rule in enumerate(config.rules):
        for kind in ("all", "any", "none"):
            for position, item in enumerate(getattr(rule, kind)):
                if item in known:
                    continue
                close = difflib.get_close_matches(item, known, n=1, cutoff=0.75)
                if close:
                    warnings.append(
                        f"{document.where(('rules', index, kind, position))}: rule '{rule.name}' "
                        f"treats '{item}' as a literal word; did you mean the topic '{close[0]}'?"
                    )
    return warnings


def _expand_environment(document: YamlDocument, value: Any, location: tuple, require_env: bool) -> Any:
    if isinstance(value, dict):
        return {
            key: _expand_environment(document, item, (*location, key), require_env)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _expand_environment(document, item, (*location, index), require_env)
            for index, item in enumerate(value)
        ]
    if not isinstance(value, str):
        return value

    def substitute(reference: re.Match[str]) -> str:
        name = reference.group(1)
        if name in os.environ:
            return os.environ[name]
        if require_env:
            raise ConfigError(
                f"{document.where(location)}: {'.'.join(map(str, location))} uses ${{{name}}}, "
                f"but the environment variable {name} is not set"
            )
        return reference.group(0)

    return _ENV_REFERENCE.sub(substitute, value)


def _validate(model: type[BaseModel], data: Any, document: YamlDocument) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(_describe(first, model, document)) from None


def _describe(error: Any, model: type[BaseModel], document: YamlDocument) -> str:
    location = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
    dotted = ".".join(str(part) for part in location) or "this file"
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(location[-1])
        allowed = _allowed_keys(model, location[:-1])
        hint = difflib.get_close_matches(key, allowed, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else f"; allowed keys: {', '.join(allowed)}"
        sentence = f"'{key}' is not a setting newsbot knows{suggestion}"
    elif kind == "missing":
        sentence = f"'{location[-1]}' is required but missing"
    elif kind == "enum":
        sentence = f"{dotted}: {error['msg'].replace('Input should be', 'must be')}"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        sentence = f"{dotted}: {message}"
    return f"{document.where(location)}: {sentence}"


def _allowed_keys(model: type[BaseModel], location: tuple) -> list[str]:
    """Walk the model along `location` to list the keys valid at that place."""
    current: Any = model
    for part in location:
        if isinstance(part, int):
            continue
        field_info = current.model_fields.get(str(part)) if hasattr(current, "model_fields") else None
        if field_info is None:
            return []
        current = _model_inside(field_info.annotation)
    return list(current.model_fields) if hasattr(current, "model_fields") else []


def _model_inside(annotation: Any) -> Any:
    """The pydantic model in an annotation such as `list[SourceConfig]` or `SlackConfig | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        inner = _model_inside(argument)
        if inner is not None:
            return inner
    return None
