"""The `fetch:` section of newsbot.yaml: how every source is downloaded.

A module of its own, apart from newsbot.configuration.config: the run's second crawling process
(newsbot.sources.crawl_process) is sent these settings pickled, and unpickling them imports only
this module, not the watchlists' and Slack's models it never uses (about 50 ms of its start).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from newsbot.configuration.source_config import (
    A_DAY_SECONDS,
    DEFAULT_MAX_ARTICLES,
    MAX_THROTTLE_DELAY,
    Text,
    parse_networks,
)
from newsbot.configuration.validation import Strict
from newsbot.pipeline.budget import DEFAULT_RUN_BUDGET_SECONDS


class FetchSettings(Strict):
    """Bounds on every download; Scrapy's own defaults (1 GiB, 180 s) would let one feed stall cron."""

    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0, le=A_DAY_SECONDS)
    retries: int = Field(default=2, ge=0)
    user_agent: str = "newsbot/0.1 (telecom-security news monitor; set fetch.user_agent to add a contact)"
    autothrottle_start_delay: float = Field(default=1.0, ge=0, le=MAX_THROTTLE_DELAY)
    concurrent_requests: int = Field(default=16, gt=0)
    concurrent_requests_per_domain: int = Field(default=2, gt=0)
    obey_robots_txt: bool = True
    retry_backoff_seconds: float = Field(default=2.0, ge=0, le=A_DAY_SECONDS)  # doubled after each failed attempt
    # The whole crawl's time; then no new request starts and the run finishes (newsbot.pipeline.budget).
    run_budget_seconds: float = Field(default=DEFAULT_RUN_BUDGET_SECONDS, gt=0, le=A_DAY_SECONDS)
    # Article pages fetched per source per run, newest stories first; a source's `max_articles` wins.
    max_articles: int = Field(default=DEFAULT_MAX_ARTICLES, ge=1)
    # Private addresses every source may reach, e.g. the HTTP proxy newsbot must go through.
    allowed_networks: list[Text] = Field(default_factory=list)

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        parse_networks(values)
        return values
