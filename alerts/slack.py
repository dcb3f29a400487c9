"""Slack through slack-sdk: WebhookClient for incoming webhooks, WebClient for a bot token.

A post has three outcomes, not two. Slack took it (`ok`); Slack or a proxy refused it (a 4xx, 429, or
Slack's own JSON error: a definite failure, safe to retry); or nobody can say (a timeout after the
request was sent, a reset connection, a body that is not Slack's): `unknown`, to be looked up and
never simply resent. slack-sdk's ConnectionErrorRetryHandler resends on a reset connection, so posts
use handlers that retry only what provably never left (a refused connection, a name that did not
resolve), 500/503 only when Slack itself said so, and a 429 only up to `max_retry_after_seconds`
(anything longer leaves the alert in the outbox with the time Slack asked for). Reads
(conversations.history/replies/list/open) are idempotent and keep the ordinary connection retries.

Looking a message up needs the channel's id. A configured name is resolved with conversations.list
over public and private channels (Slack lists only public ones unless asked), a user id with
conversations.open (its direct-message channel). Scopes: chat:write, channels:history and
channels:read; for private channels groups:history and groups:read; for a user id im:history and
im:write.

Secrets: slack-sdk logs a webhook URL at DEBUG and the errors it also raises at ERROR, so its logger
is switched off (every outcome is reported here, as a sentence), and every error is redacted of
any part of any secret (newsbot.configuration.slack_secrets.redact).
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import socket
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import datetime, timedelta
from http.client import InvalidURL
from typing import Any, TypedDict
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.webhook import WebhookClient

from newsbot.alerts.routing import Destination
from newsbot.alerts.sinks import CannotLookBack, LookBackError, MessageKind, Outgoing, PostResult
from newsbot.configuration.config import SlackConfig
from newsbot.configuration.slack_secrets import redact

# Off, by level rather than `disabled`: Scrapy's dictConfig re-enables every existing logger.
_SLACK_SDK_LOGGER = logging.getLogger("newsbot.slack_sdk")
_SLACK_SDK_LOGGER.setLevel(logging.CRITICAL + 1)
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
# Errors about the message itself (its blocks, length or metadata, the thread it replies in, which
# someone may have deleted), not the destination: the next alert to the same place is still sent.
MESSAGE_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_attachments",
        "invalid_payload",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "too_many_attachments",
        "thread_not_found",
        "invalid_thread_ts",
    }
)
# What a bot token needs to find a message whose answer was lost (conversations.history, .replies, .list).
_LOOK_SCOPES = "channels:history and channels:read (groups:history and groups:read for private channels)"
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")  # chat.postMessage posts it in the user's DM with the app
LISTED_TYPES = "public_channel,private_channel"  # conversations.list's default is public only
_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{1,80}")
# Slack's own errors after which the message may be posted all the same: chat.postMessage's reference
# says of both "It's possible some aspect of the operation succeeded before the error was raised."
# Never retried blindly: an unknown outcome, looked up (bot token) or left to `delivery` (webhook).
MAY_HAVE_POSTED = frozenset({"internal_error", "fatal_error"})
# The longest a 429's Retry-After holds an alert back: the next cron run asks again.
MAX_RETRY_AFTER = timedelta(hours=1)
# Where Slack's clock and ours may disagree, on either side of an attempt's recorded start: a message
# is found by the alert ids in its metadata, so a wider window costs a page or two of history, while
# a machine's clock ten minutes off (no NTP) once made the look-up miss it, and it was sent again.
CLOCK_MARGIN = timedelta(hours=1)
PAGE_SIZE = 200  # Slack recommends no more than 200 per page of history
WAIT_STEP_SECONDS = 0.1  # how often a 429's wait asks whether the run must stop
MAX_PAGES = 100  # 20,000 messages around one attempt: beyond that, say so rather than guess


class _Window(TypedDict):
    """The arguments conversations.history and conversations.replies share, typed as slack-sdk declares them."""

    channel: str
    oldest: str
    latest: str
    inclusive: bool
    include_all_metadata: bool
    limit: int


def retry_after_seconds(headers: Any) -> float | None:
    """A 429's Retry-After in seconds, at most MAX_RETRY_AFTER; None when there is none that means a
    wait (`inf`, `nan`, a negative number, a date): `inf` once crashed the run when the retry time was
    computed, and `1e12` went past the last date Python can hold."""
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                seconds = float(raw)
            except (TypeError, ValueError):
                return None
            return min(seconds, MAX_RETRY_AFTER.total_seconds()) if math.isfinite(seconds) and seconds >= 0 else None
    return None


def slack_error_code(body: Any) -> str | None:
    """The error code when the body is Slack's own answer (`{"ok": false, "error": "code"}` from the
    Web API, a bare `code` from a webhook); None for anything else, such as a proxy's HTML page."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        text = body.strip()
        if _ERROR_CODE.fullmatch(text):
            return text
        try:
            body = json.loads(text)
        except ValueError:
            return None
    if isinstance(body, dict) and body.get("ok") is False:
        code = body.get("error")
        return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else None
    return None


def never_left(error: BaseException) -> bool:
    """True when the request provably never reached Slack whole: the request could not even be built (a
    bad URL, or a header with a newline), or it failed while being sent. urllib wraps in a URLError
    only what fails while it connects, shakes hands (TLS) and writes the request — a refused or timed
    out connection, a name that did not resolve, a certificate it refused — and lets an error reading
    the answer through as it is (a timeout, a reset): only then may Slack have posted the message."""
    if isinstance(error, URLError) and not isinstance(error, HTTPError):
        return True
    if isinstance(error, (SlackRequestError, InvalidURL)):
        return True
    # Only the ValueErrors raised while building the request: a UnicodeDecodeError or JSONDecodeError
    # comes from reading an answer, after Slack may have posted the message.
    building = ("Invalid header", "unknown url type")
    return isinstance(error, UnicodeEncodeError) or (type(error) is ValueError and str(error).startswith(building))


class NeverSentRetryHandler(RetryHandler):
    """Retries a connection that was refused or a name that did not resolve, nothing else: after a
    timeout or a reset, Slack may already have posted the message, and a resend would double it."""

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
        if response is not None or not isinstance(error, URLError) or isinstance(error, HTTPError):
            return False
        return isinstance(error.reason, (ConnectionRefusedError, socket.gaierror))


class SlackServerErrorRetryHandler(ServerErrorRetryHandler):
    """500/503 retried only when the body is Slack's own error and says nothing was posted: a proxy's
    HTML error page may hide a message Slack accepted behind it, and so may `MAY_HAVE_POSTED`."""

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        code = slack_error_code(response.body or response.data)
        return code is not None and code not in MAY_HAVE_POSTED


class RateLimitWaits:
    """The waits a poster's 429 handlers make, cut short once `should_stop` says so. A run stopped
    while it waited out a 429 left the alert in flight (abandoned with the delivery thread), though
    Slack had refused it: with a webhook and `delivery: at_most_once` it was never sent, with a bot
    token it was held back for the post window. Cut short, the 429 stands as the refusal it is."""

    def __init__(self) -> None:
        self.should_stop: Callable[[], bool] = lambda: False

    def waited(self, seconds: float) -> bool:
        """Sleeps `seconds` in short steps; False (and at once) when told to stop meanwhile."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.should_stop():
                return False
            time.sleep(min(left, WAIT_STEP_SECONDS))
        return True


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, refusing to sleep longer than a cron run can afford."""

    def __init__(self, max_wait_seconds: float, waits: RateLimitWaits, max_retry_count: int = 2):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_seconds = max_wait_seconds
        self.waits = waits

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        retry_after = retry_after_seconds(response.headers)
        return retry_after is not None and retry_after <= self.max_wait_seconds

    def prepare_for_next_attempt(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> None:
        """The wait Slack asked for, read as a number of seconds: slack-sdk's own reads it with int(),
        which raised on `0.5` and left a post that Slack had refused looking as if it might have landed."""
        if not self.waits.waited((retry_after_seconds(response.headers) or 0.0) + random.random()):
            return  # no next attempt: slack-sdk gives the 429 back, a refusal with Slack's time
        state.next_attempt_requested = True
        state.increment_current_attempt()


def post_retry_handlers(max_retry_after_seconds: float, waits: RateLimitWaits) -> list[RetryHandler]:
    """For anything that posts: only retries that cannot double a message."""
    return [
        NeverSentRetryHandler(max_retry_count=2),
        SlackServerErrorRetryHandler(max_retry_count=2),
        BoundedRateLimitRetryHandler(max_retry_after_seconds, waits),
    ]


def read_retry_handlers(max_retry_after_seconds: float, waits: RateLimitWaits) -> list[RetryHandler]:
    """For reads, which are safe to repeat."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
        BoundedRateLimitRetryHandler(max_retry_after_seconds, waits),
    ]


def longest_post_seconds(timeout: float, max_retry_after_seconds: float) -> float:
    """The longest one post can take: three tries, two Retry-After waits or back-offs, and a margin
    for Slack's own lag."""
    return 3 * max(1, round(timeout)) + 2 * max_retry_after_seconds + 10


def longest_post_with(slack: SlackConfig | None) -> float:
    """The longest one post may take with this config's Slack settings (none without Slack: the terminal)."""
    return longest_post_seconds(slack.timeout_seconds, slack.max_retry_after_seconds) if slack else 0.0


def describe_error(code: str) -> str:
    meaning = PERMANENT_ERRORS.get(code)
    return f"Slack says {code}: {meaning}" if meaning else f"Slack says {code}"


def _message_kind(value: Any) -> MessageKind | None:
    """The kind a message's metadata names, if it is one of ours."""
    try:
        return MessageKind(value)
    except ValueError:
        return None


class Redactor:
    """The secrets one poster may meet (its token, every webhook URL it posts to), hidden from any
    text by newsbot.configuration.slack_secrets.redact: every run of a secret's private part (so a token pasted
    with a line break, shown by Python as `\\n`, or a webhook's path quoted alone by urllib, is
    hidden piece by piece) and anything shaped like a Slack secret."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def __call__(self, text: str) -> str:
        return redact(text, self._secrets)


def lost_answer(error: BaseException, redact: Redactor) -> PostResult:
    """A post that raised instead of answering: a definite failure only if it provably never left."""
    described = redact(f"{type(error).__name__}: {error}")
    if never_left(error):
        return PostResult(ok=False, error=f"could not reach Slack ({described})")
    return PostResult(ok=False, unknown=True, error=f"could not reach Slack or lost its answer ({described})")


def not_slacks_answer(status: int, body: str, redact: Redactor) -> PostResult:
    """An answer that is not Slack's (a proxy's error page, a cut body): it may hide an accepted post."""
    shown = " ".join(body.split())[:100] or "no body"
    return PostResult(ok=False, unknown=True, error=redact(f"Slack's answer was not Slack's (HTTP {status}: {shown})"))


def may_have_posted(code: str, status: int, redact: Redactor) -> PostResult:
    """Slack's own error, but one after which the message may be there (`MAY_HAVE_POSTED`)."""
    return PostResult(
        ok=False,
        unknown=True,
        error=redact(f"{describe_error(code)} (HTTP {status}), and may have posted it all the same"),
    )


def is_refusal(status: int) -> bool:
    """4xx: the request was refused before anything was posted, whoever answered."""
    return 400 <= status < 500


class WebhookPoster(CannotLookBack):
    """Incoming webhooks: one fixed channel each, no message id, so no looking back after a crash or
    an unknown outcome (`delivery: at_least_once | at_most_once` decides what happens to those)."""

    def __init__(self, *, timeout: float, max_retry_after_seconds: float, secrets: tuple[str, ...]):
        self._timeout = max(1, round(timeout))
        self._max_retry_after = max_retry_after_seconds
        self._redact = Redactor(secrets)
        self._clients: dict[str, WebhookClient] = {}
        self._waits = RateLimitWaits()

    def waits_end_when(self, should_stop: Callable[[], bool]) -> None:
        self._waits.should_stop = should_stop

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        url = (destination.webhook_url or "").strip()
        if url not in self._clients:
            self._redact.add(destination.webhook_url)
            self._clients[url] = WebhookClient(
                url,
                timeout=self._timeout,
                logger=_SLACK_SDK_LOGGER,
                retry_handlers=post_retry_handlers(self._max_retry_after, self._waits),
            )
        try:
            response = self._clients[url].send_dict(message.payload)
        except Exception as error:  # slack-sdk surfaces urllib/socket errors as they are
            return lost_answer(error, self._redact)
        body = (response.body or "").strip()
        if response.status_code == 200 and body == "ok":
            return PostResult(ok=True)
        code = slack_error_code(body)
        if code in MAY_HAVE_POSTED:
            return may_have_posted(code, response.status_code, self._redact)
        # A 2xx refuses nothing, whatever word it carries ("accepted" from a relay in front of Slack).
        if (code is None and not is_refusal(response.status_code)) or 200 <= response.status_code < 300:
            return not_slacks_answer(response.status_code, body, self._redact)
        retry_after = retry_after_seconds(response.headers) if response.status_code == RATE_LIMITED else None
        return PostResult(
            ok=False,
            error=self._redact(
                f"Slack answered HTTP {response.status_code}: {describe_error(code) if code else 'no Slack error code'}"
            ),
            retry_after=retry_after,
            refused_this_message=code in MESSAGE_ERRORS,
        )


class BotPoster:
    """chat.postMessage with a bot token: any channel, threads, and metadata to look back for.

    Two clients share the token: one posts (retries that cannot double a message), one reads.
    """

    can_look_back = True

    def __init__(self, *, token: str, api_url: str, timeout: float, max_retry_after_seconds: float):
        self._redact = Redactor([token])
        token = token.strip()  # a trailing newline from a secrets file would make every header invalid
        base_url = api_url if api_url.endswith("/") else api_url + "/"
        seconds = max(1, round(timeout))

        def client(retry_handlers: list[RetryHandler]) -> WebClient:
            """Posts and reads differ only in what they may retry (a post must never be resent blindly)."""
            return WebClient(
                token=token, base_url=base_url, timeout=seconds, logger=_SLACK_SDK_LOGGER, retry_handlers=retry_handlers
            )

        self._waits = RateLimitWaits()
        self._poster = client(post_retry_handlers(max_retry_after_seconds, self._waits))
        self._reader = client(read_retry_handlers(max_retry_after_seconds, self._waits))
        # The longest one post can take (three tries, two Retry-After waits or back-offs, and a margin
        # for Slack's own lag): Slack stores a message it accepts at most this long after the attempt
        # started, so a look-up that misses it later than this proves it never arrived.
        self.post_window = timedelta(seconds=longest_post_seconds(timeout, max_retry_after_seconds))
        self._channel_ids: dict[str, str] = {}

    def waits_end_when(self, should_stop: Callable[[], bool]) -> None:
        self._waits.should_stop = should_stop

    def post(self, destination: Destination, message: Outgoing) -> PostResult:
        try:
            response = self._poster.chat_postMessage(
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
            return lost_answer(error, self._redact)
        channel = str(response.get("channel") or "")
        if destination.channel:
            self._channel_ids[destination.channel] = channel
        ts = response.get("ts")
        return PostResult(ok=True, ts=str(ts) if ts else None, channel=channel)

    def find(
        self,
        destination: Destination,
        alert_ids: Collection[str],
        since: datetime,
        until: datetime,
        thread_ts: str | None = None,
    ) -> dict[str, PostResult]:
        """The messages carrying these alerts' ids in their metadata, posted by attempts that started
        between `since` and `until`: every page of the channel's history in that window, or of the
        thread's replies when the attempts were replies (history does not return replies).

        Raises LookBackError when Slack cannot be asked; the caller then keeps the alerts in flight
        rather than risk a double post.
        """
        wanted = set(alert_ids)
        found: dict[str, PostResult] = {}
        try:
            channel = self._channel_id(destination.channel or "")
            for message in self._messages(
                channel, since - CLOCK_MARGIN, until + self.post_window + CLOCK_MARGIN, thread_ts
            ):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                kind = _message_kind(payload.get("kind"))
                for alert in wanted.intersection(payload.get("alert_ids") or []) - found.keys():
                    found[alert] = PostResult(ok=True, ts=message.get("ts"), channel=channel, kind=kind)
                if len(found) == len(wanted):
                    break
        except LookBackError:
            raise
        except SlackApiError as error:  # Slack's own refusal, in its words: not slack-sdk's two-line dump
            where = "thread" if thread_ts else "history"
            code = slack_error_code(error.response.data) or f"HTTP {error.response.status_code}"
            needs = f"; the token needs {_LOOK_SCOPES} to look" if code == "missing_scope" else ""
            raise LookBackError(
                self._redact(f"could not check Slack's {where}: {describe_error(code)}{needs}")
            ) from None
        except Exception as error:
            where = "thread" if thread_ts else "history"
            raise LookBackError(
                self._redact(f"could not check Slack's {where} ({type(error).__name__}: {error})")
            ) from None
        return found

    def _messages(
        self, channel: str, oldest: datetime, latest: datetime, thread_ts: str | None
    ) -> Iterator[dict[str, Any]]:
        """Every message in the window, page by page (`has_more` / `next_cursor`)."""
        window: _Window = {
            "channel": channel,
            "oldest": f"{oldest.timestamp():.6f}",
            "latest": f"{latest.timestamp():.6f}",
            "inclusive": True,
            "include_all_metadata": True,
            "limit": PAGE_SIZE,
        }
        cursor = None
        for _ in range(MAX_PAGES):
            if thread_ts:
                page = self._reader.conversations_replies(ts=thread_ts, cursor=cursor, **window)
            else:
                page = self._reader.conversations_history(cursor=cursor, **window)
            yield from page.get("messages") or []
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more"):
                return
            if not cursor:
                raise LookBackError("Slack said there were more messages but gave no cursor to read them")
        raise LookBackError(f"more than {MAX_PAGES * PAGE_SIZE} messages to check around the attempt")

    def _channel_id(self, channel: str) -> str:
        """conversations.history takes ids; config may name a channel (#vendor-news), public or
        private, or a user (their DM with the app). Delivery passes the id Slack returned for the
        destination before when there is one, so this is asked only when none is known."""
        if _CHANNEL_ID.match(channel):
            return channel
        if channel not in self._channel_ids and _USER_ID.match(channel):
            self._channel_ids[channel] = self._reader.conversations_open(users=channel)["channel"]["id"]
        if channel not in self._channel_ids:
            wanted = channel.lstrip("#")
            cursor = None
            while channel not in self._channel_ids:
                page = self._reader.conversations_list(
                    cursor=cursor, limit=PAGE_SIZE, exclude_archived=True, types=LISTED_TYPES
                )
                channels: list[dict[str, Any]] = page.get("channels", [])
                for found in channels:
                    if found.get("name") == wanted:
                        self._channel_ids[channel] = found["id"]
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor and channel not in self._channel_ids:
                    raise LookBackError(describe_error("channel_not_found"))
        return self._channel_ids[channel]

    def _failure(self, error: SlackApiError) -> PostResult:
        status, data = error.response.status_code, error.response.data
        code = slack_error_code(data)
        if code is None and not is_refusal(status):
            # slack-sdk wraps a body that is not JSON as {"ok": false, "error": "Received a response in …"}
            shown = data.get("error") if isinstance(data, dict) else data
            return not_slacks_answer(status, str(shown or ""), self._redact)
        if code in MAY_HAVE_POSTED:
            return may_have_posted(code, status, self._redact)
        retry_after = retry_after_seconds(error.response.headers) if status == RATE_LIMITED else None
        return PostResult(
            ok=False,
            error=self._redact(f"{describe_error(code or 'unknown_error')} (HTTP {status})"),
            retry_after=retry_after,
            refused_this_message=code in MESSAGE_ERRORS,
        )
