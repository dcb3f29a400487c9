"""Slack through slack-sdk: WebhookClient for incoming webhooks, WebClient for a bot token.

slack-sdk's defaults retry connection errors only, and its rate-limit handler sleeps for whatever
Retry-After says. Here 5xx and connection errors are retried a few times within the run, a 429 is
waited out only up to `max_retry_after_seconds`, and anything longer leaves the alert in the
outbox with the time Slack asked for. Secrets: slack-sdk logs a webhook URL at DEBUG, so both
clients get a logger of their own that never logs below WARNING, and errors are redacted.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.webhook import WebhookClient

from alerts.routing import Destination
from alerts.sinks import Outgoing, PostResult

_SLACK_SDK_LOGGER = logging.getLogger("newsbot.slack_sdk")
_SLACK_SDK_LOGGER.setLevel(logging.WARNING)
RATE_LIMITED = 429
# Errors that no retry will fix: the alert waits for the config (or Slack workspace) to change.
PERMANENT_ERRORS = {
    "channel_not_found": "the channel does not exist or the bot cannot see it",
    "not_in_channel": "the bot is not a member of the channel: invite it with /invite",
    "is_archived": "the channel is archived",
    "channel_is_archived": "the channel is archived",
    "invalid_auth": "Slack rejected the token",
    "not_authed": "no token was sent",
    "token_revoked": "the token was revoked",
    "account_inactive": "the bot's account is deactivated",
    "missing_scope": "the token lacks a permission (scope) this needs",
    "no_service": "the webhook was removed or disabled",
    "invalid_token": "the webhook URL is not valid",
    "action_prohibited": "a Slack admin blocks posting there",
    "posting_to_general_channel_denied": "only admins may post in that channel",
}
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


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


def retry_after_seconds(headers: Any) -> float | None:
    for name, value in dict(headers or {}).items():
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


def describe_error(code: str) -> str:
    meaning = PERMANENT_ERRORS.get(code)
    return f"Slack says {code}: {meaning}" if meaning else f"Slack says {code}"


class WebhookPoster:
    """Incoming webhooks: one fixed channel each, no message id, so no looking back after a crash."""

    can_look_back = False

    def __init__(self, *, timeout: float, max_retry_after_seconds: float, secrets: tuple[str, ...]):
        self._timeout = max(1, round(timeout))
        self._max_retry_after = max_retry_after_seconds
        self._secrets = secrets
        self._clients: dict[str, WebhookClient] = {}

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        url = destination.webhook_url or ""
        if url not in self._clients:
            self._clients[url] = WebhookClient(
                url,
                timeout=self._timeout,
                logger=_SLACK_SDK_LOGGER,
                retry_handlers=retry_handlers(self._max_retry_after),
            )
        try:
            response = self._clients[url].send_dict(message.payload)
        except Exception as error:  # slack-sdk surfaces urllib/socket errors as they are
            return PostResult(ok=False, error=self._redact(f"could not reach Slack ({type(error).__name__}: {error})"))
        if response.status_code == 200 and response.body == "ok":
            return PostResult(ok=True)
        body = (response.body or "").strip()[:200]
        retry_after = retry_after_seconds(response.headers) if response.status_code == RATE_LIMITED else None
        return PostResult(
            ok=False,
            error=self._redact(
                f"Slack answered HTTP {response.status_code}: {describe_error(body) if body else 'no body'}"
            ),
            retry_after=retry_after,
            permanent=body in PERMANENT_ERRORS,
        )

    def find(self, destination: Destination, alert_id: str, since: datetime) -> PostResult | None:
        return None

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<secret>")
        return text


class BotPoster:
    """chat.postMessage with a bot token: any channel, threads, and metadata to look back for."""

    can_look_back = True

    def __init__(self, *, token: str, api_url: str, timeout: float, max_retry_after_seconds: float):
        self._token = token
        self._client = WebClient(
            token=token,
            base_url=api_url if api_url.endswith("/") else api_url + "/",
            timeout=max(1, round(timeout)),
            logger=_SLACK_SDK_LOGGER,
            retry_handlers=retry_handlers(max_retry_after_seconds),
        )
        self._channel_ids: dict[str, str] = {}

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        try:
            response = self._client.chat_postMessage(
                channel=destination.channel or "",
                text=message.payload["text"],
                blocks=message.payload["blocks"],
                thread_ts=message.thread_ts,
                metadata=message.metadata,
                unfurl_links=message.payload.get("unfurl_links", False),
                unfurl_media=message.payload.get("unfurl_media", False),
            )
        except SlackApiError as error:
            return self._failure(error)
        except Exception as error:
            return PostResult(ok=False, error=self._redact(f"could not reach Slack ({type(error).__name__}: {error})"))
        channel = str(response.get("channel") or "")
        if destination.channel:
            self._channel_ids[destination.channel] = channel
        return PostResult(ok=True, ts=str(response.get("ts")), channel=channel)

    def find(self, destination: Destination, alert_id: str, since: datetime) -> PostResult | None:
        """The message carrying this alert's id in its metadata, posted since `since`, if any.

        Raises LookBackError when Slack cannot be asked; the caller then keeps the alert pending
        rather than risk a double post.
        """
        try:
            channel = self._channel_id(destination.channel or "")
            history = self._client.conversations_history(
                channel=channel, oldest=f"{since.timestamp() - 60:.6f}", include_all_metadata=True, limit=200
            )
        except Exception as error:
            raise LookBackError(self._redact(f"could not check Slack's history ({error})")) from None
        for message in history.get("messages", []):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if alert_id in payload.get("alert_ids", []):
                return PostResult(ok=True, ts=message.get("ts"), channel=channel)
        return None

    def _channel_id(self, channel: str) -> str:
        """conversations.history takes ids; config may name a channel (#vendor-news)."""
        if _CHANNEL_ID.match(channel):
            return channel
        if channel not in self._channel_ids:
            wanted = channel.lstrip("#")
            cursor = None
            while channel not in self._channel_ids:
                page = self._client.conversations_list(cursor=cursor, limit=200, exclude_archived=True)
                for found in page.get("channels", []):
                    if found.get("name") == wanted:
                        self._channel_ids[channel] = found["id"]
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor and channel not in self._channel_ids:
                    raise LookBackError(describe_error("channel_not_found"))
        return self._channel_ids[channel]

    def _failure(self, error: SlackApiError) -> PostResult:
        code = str(error.response.get("error") or "unknown_error")
        retry_after = (
            retry_after_seconds(error.response.headers) if error.response.status_code == RATE_LIMITED else None
        )
        return PostResult(
            ok=False,
            error=self._redact(f"{describe_error(code)} (HTTP {error.response.status_code})"),
            retry_after=retry_after,
            permanent=code in PERMANENT_ERRORS,
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "<token>")


class LookBackError(Exception):
    """Raised by BotPoster.find when Slack could not be asked whether a message went out."""
