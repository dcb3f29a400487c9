"""Slack delivery through slack-sdk's WebhookClient, with its retry handlers, bounded.

slack-sdk's defaults retry connection errors only, and its rate-limit handler sleeps for whatever
Retry-After says. Here 5xx and connection errors are retried a few times within the run, a 429 is
waited out only up to `max_retry_after_seconds`, and anything longer leaves the alert in the
outbox with the time Slack asked for. The webhook URL is the secret: slack-sdk logs it at DEBUG,
so the client gets a logger of its own that never logs below WARNING.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.webhook import WebhookClient

from alerts.format import build_message
from newsbot.models import Alert, DeliveryOutcome

_SLACK_SDK_LOGGER = logging.getLogger("newsbot.slack_sdk")
_SLACK_SDK_LOGGER.setLevel(logging.WARNING)
RATE_LIMITED = 429


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, refusing to sleep longer than a cron run can afford."""

    def __init__(self, max_wait_seconds: float, max_retry_count: int = 2):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_seconds = max_wait_seconds

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        retry_after = retry_after_seconds(response.headers)
        return retry_after is not None and retry_after <= self.max_wait_seconds


def retry_after_seconds(headers: dict[str, Any]) -> float | None:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None


def retry_handlers(max_retry_after_seconds: float) -> list[RetryHandler]:
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
        BoundedRateLimitRetryHandler(max_retry_after_seconds),
    ]


class WebhookSink:
    """Posts each alert to one incoming webhook; a failure is an outcome, never an exception."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        max_retry_after_seconds: float = 30.0,
        unfurl_links: bool = False,
    ):
        self._url = url
        self._unfurl_links = unfurl_links
        self._client = WebhookClient(
            url,
            timeout=max(1, round(timeout)),
            logger=_SLACK_SDK_LOGGER,
            retry_handlers=retry_handlers(max_retry_after_seconds),
        )

    def send(self, alert: Alert) -> DeliveryOutcome:
        payload = build_message(alert, unfurl_links=self._unfurl_links)
        try:
            response = self._client.send_dict(payload)
        except Exception as error:  # slack-sdk surfaces urllib/socket errors as they are
            return DeliveryOutcome(
                alert.id,
                delivered=False,
                error=self._redact(f"could not reach Slack ({type(error).__name__}: {error})"),
            )
        if response.status_code == 200 and response.body == "ok":
            return DeliveryOutcome(alert.id, delivered=True)
        retry_after = retry_after_seconds(response.headers) if response.status_code == RATE_LIMITED else None
        body = (response.body or "").strip()[:200]
        return DeliveryOutcome(
            alert.id,
            delivered=False,
            error=self._redact(f"Slack answered HTTP {response.status_code}: {body or 'no body'}"),
            retry_after=retry_after,
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._url, "<webhook URL>")
