"""Local HTTP servers for tests: a feed site and a fake Slack. Real sockets on 127.0.0.1, no mocks.

Both run in a thread of the test process and record every request, so a test can assert what
newsbot (running in a subprocess, as cron runs it) actually sent over the wire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.sax.saxutils import escape


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Route:
    """One path on the feed server. `etag`/`last_modified` make it answer 304 to a matching GET."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    stream_forever: bool = False
    gate: threading.Event | None = None  # when set, the answer waits until the test opens the gate


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's listen backlog is 5: a crawl that opens dozens of connections at once (a test's
    # concurrent_requests: 128) overflowed it while the accepting thread waited for the interpreter
    # lock, and each connection dropped there waited 1, 3, 7… s for the kernel to try its SYN again.
    request_queue_size = 1024


class _Base:
    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1"):
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        handler.owner = self  # type: ignore[attr-defined]
        self.host = host
        self._server = _Server((host, 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> _Base:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self.requests.append(
                Recorded(handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()}, body)
            )

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [request for request in self.requests if request.path == path]


class _FeedHandler(BaseHTTPRequestHandler):
    owner: FeedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.owner.record(self, b"")
        route = self.owner.routes.get(self.path)
        if route is None:
            self._reply(404, b"not found", "text/plain")
            return
        if route.gate is not None:
            route.gate.wait(timeout=60)
        if route.delay:
            time.sleep(route.delay)
        if route.etag and self.headers.get("If-None-Match") == route.etag:
            self._reply(304, b"", None, {"ETag": route.etag})
            return
        if route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified:
            self._reply(304, b"", None, {"Last-Modified": route.last_modified})
            return
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.stream_forever:
            self._stream_forever(route)
            return
        self._reply(route.status, route.body, route.content_type, headers)

    def _stream_forever(self, route: Route) -> None:
        """A response with no length that never ends: the client's size/time bound must stop it."""
        self.send_response(200)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"<!-- " + b"x" * 65536 + b" -->\n"
        try:
            for _ in range(100_000):
                self.wfile.write(chunk)
                time.sleep(0.001)
        except OSError:
            return

    def _reply(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class FeedServer(_Base):
    """Serves `routes`; anything else is a 404 (so robots.txt is absent unless a test adds it).

    `host` may be another loopback address (127.0.0.2, …): newsbot refuses those unless a source
    is `internal: true`, which is how tests stand in for an intranet or a metadata service.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        super().__init__(type("FeedHandler", (_FeedHandler,), {}), host)

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url + path


class TimedFeedServer(FeedServer):
    """tests.servers.FeedServer that also notes when each request arrives (time.monotonic())."""

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.arrivals: list[tuple[str, float]] = []

    def record(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self.arrivals.append((handler.path, time.monotonic()))
        super().record(handler, body)


@dataclass
class SlackReply:
    """One scripted answer to a post (chat.postMessage or a webhook).

    Plain: with `status` 200 Slack accepts the message; anything else refuses it (`body` is the
    error code), `delay` seconds later. `misbehave` makes Slack accept the message and then:
    "late" answer only `delay` seconds later (past the client's timeout), "garble" answer `status`
    with `body` as it is (a proxy's HTML page, not Slack's JSON), "reset" close the connection
    without a word (SO_LINGER 0: the client gets a reset). "drop" resets the connection *without*
    accepting: the client cannot tell it from "reset". "accept_late" is a slow backend: the message
    is stored only `delay` seconds after it arrived (past the client's timeout, so a look-up made
    when the client gives up does not find it yet), then answered if the client still listens.
    "accept_error" stores the message and then answers `status` with Slack's own error `body`, as
    Slack may with internal_error or fatal_error. "trickle" stores it and answers one byte every
    `delay` seconds, never ending its headers: each read returns within any client's timeout.
    """

    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    misbehave: str | None = None


GARBLED = "<html><body><h1>502 Bad Gateway</h1></body></html>"


class _SlackHandler(BaseHTTPRequestHandler):
    owner: FakeSlack
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.owner.record(self, b"")
        url = urlsplit(self.path)
        self._web_api(url.path.removeprefix("/api/"), dict(parse_qsl(url.query)))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.owner.record(self, body)
        if self.path.startswith("/api/"):
            arguments = json.loads(body) if body.startswith(b"{") else dict(parse_qsl(body.decode()))
            self._web_api(self.path.removeprefix("/api/"), arguments)
            return
        reply = self.owner.next_reply()
        if reply.misbehave == "accept_late":
            time.sleep(reply.delay)
            self.owner.accept({"channel": "webhook:" + self.path, **json.loads(body)})
            self._answer_if_listening(lambda: self._reply(200, b"ok", "text/plain; charset=utf-8", {}))
            return
        if reply.misbehave:
            if reply.misbehave != "drop":
                self.owner.accept({"channel": "webhook:" + self.path, **json.loads(body)})
            self._misbehave(reply)
            return
        time.sleep(reply.delay)
        if reply.status == 200:
            self.owner.accept({"channel": "webhook:" + self.path, **json.loads(body)})
            self.owner.wait_if_held()
        self._reply(reply.status, reply.body.encode(), "text/plain; charset=utf-8", reply.headers)

    def _web_api(self, method: str, arguments: dict[str, Any]) -> None:
        if method == "apps.connections.open":  # Socket Mode: the app-level token, not the bot's
            app_token = self.headers.get("Authorization") == f"Bearer {self.owner.APP_TOKEN}"
            url = self.owner.socket_url if app_token else None
            self._json(200, {"ok": True, "url": url} if url else {"ok": False, "error": "invalid_auth"})
            return
        if self.headers.get("Authorization") != f"Bearer {self.owner.token}":
            self._json(200, {"ok": False, "error": "invalid_auth"})
            return
        if method in self.owner.missing_scope:  # a token without the permission this method needs
            self._json(200, {"ok": False, "error": "missing_scope", "needed": "channels:history"})
            return
        if method == "chat.postMessage":
            self._post_message(arguments)
            return
        answers = {
            "conversations.history": self.owner.history,
            "conversations.replies": self.owner.replies,
            "conversations.list": self.owner.list_channels,
            "chat.update": self.owner.update_message,
            "auth.test": lambda _: {"ok": True, "team_id": "T0NEWSBOT", "user_id": "U0NEWSBOT", "bot_id": "B0NEWSBOT"},
        }
        if method in answers:
            self._json(200, answers[method](arguments))
            return
        if method == "conversations.open":
            dm = self.owner.users.get(str(arguments.get("users", "")))
            self._json(200, {"ok": True, "channel": {"id": dm}} if dm else {"ok": False, "error": "user_not_found"})
            return
        self._json(200, {"ok": False, "error": "unknown_method"})

    def _post_message(self, arguments: dict[str, Any]) -> None:
        reply = self.owner.next_reply()
        if reply.misbehave == "accept_late":
            time.sleep(reply.delay)
            answer = self.owner.post_message(arguments)
            self._answer_if_listening(lambda: self._json(200, answer))
            return
        if reply.misbehave:
            answer = self.owner.post_message(arguments) if reply.misbehave != "drop" else {}
            if answer.get("ok") is False:
                self._json(200, answer)
                return
            self._misbehave(reply, {key: value for key, value in answer.items() if key != "_hold"})
            return
        time.sleep(reply.delay)
        if reply.status != 200:
            self._json(reply.status, {"ok": False, "error": reply.body}, reply.headers)
            return
        self._json(200, self.owner.post_message(arguments))

    def _misbehave(self, reply: SlackReply, answer: dict[str, Any] | None = None) -> None:
        """After accepting (or not, for "drop"): an answer too late, garbled, or none at all."""
        try:
            if reply.misbehave == "late":
                time.sleep(reply.delay)
                if answer is None:  # a webhook
                    self._reply(200, b"ok", "text/plain; charset=utf-8", {})
                else:
                    self._json(200, answer)
            elif reply.misbehave == "trickle":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while True:  # until the client hangs up: the write then fails
                    time.sleep(reply.delay)
                    self.wfile.write(b"a")
            elif reply.misbehave == "accept_error":
                if answer is None:  # a webhook
                    self._reply(reply.status, reply.body.encode(), "text/plain; charset=utf-8", reply.headers)
                else:
                    self._json(reply.status, {"ok": False, "error": reply.body}, reply.headers)
            elif reply.misbehave == "garble":
                self._reply(reply.status, reply.body.encode(), "text/html; charset=utf-8", reply.headers)
            else:  # reset, drop
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
        except OSError:  # the client gave up first: that was the point
            self.close_connection = True

    def _answer_if_listening(self, answer: Callable[[], None]) -> None:
        """The client may have given up (its timeout) and closed the connection: that was the point."""
        try:
            answer()
        except OSError:
            self.close_connection = True

    def _json(self, status: int, document: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        if document.get("ok") and document.pop("_hold", False):
            self.owner.wait_if_held()
        self._reply(status, json.dumps(document).encode(), "application/json; charset=utf-8", headers or {})

    def _reply(self, status: int, payload: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class FakeSlack(_Base):
    """A local Slack: incoming webhooks plus the Web API methods newsbot uses (chat.postMessage,
    conversations.history, conversations.replies, conversations.list, conversations.open), with a
    bot token, channels (public, and `private` ones that conversations.list shows only when `types`
    asks for private_channel, as Slack's default is public_channel), users (a post to a user id goes
    to their DM channel), threads and metadata. History and replies page like Slack's (`limit`,
    `has_more`, `response_metadata.next_cursor`), honour `oldest`/`latest` (exclusive unless
    `inclusive`), and return metadata only with `include_all_metadata`; history holds top-level
    messages only.

    `script` answers the next posts (429, 500, slow, or accept-then-misbehave: see SlackReply), then
    `fail_always` or success. `messages` is what Slack accepted, i.e. what people would see. With
    `hold` set, Slack keeps a message it accepted but does not answer until `release()`: the moment to
    kill newsbot mid-send. `refuse_connections(seconds)` stops listening for a while (connection
    refused), then listens again on the same port.

    For `newsbot serve`: auth.test (slack-bolt checks the token with it), chat.update (each call kept
    in `updates`, the message changed), apps.connections.open (Socket Mode, with APP_TOKEN: answers
    `socket_url`), and `click(message, label)`, the block_actions payload Slack would send for a click
    on one of the message's elements; send_interaction() signs and posts it.
    """

    WEBHOOK_PATH = "/services/T000/B000/canary-secret-XYZ"
    TOKEN = "xoxb-canary-token-XYZ"
    APP_TOKEN = "xapp-1-A0NEWSBOT-1-canary-app-token-XYZ"

    def __init__(self) -> None:
        self.script: list[SlackReply] = []
        self.missing_scope: set[str] = set()  # Web API methods the token may not call
        self.messages: list[dict[str, Any]] = []
        self.fail_always: SlackReply | None = None
        self.token = self.TOKEN
        self.channels = {
            "vendor-news": "C0VENDOR1",
            "sec-incidents": "C0INCIDENT",
            "ops": "C0OPSOPS1",
            "soc-private": "C0SOCPRIV1",
        }
        self.private = {"soc-private"}
        self.users = {"U0ANALYST1": "D0ANALYST1"}  # user id → the DM channel a post to it lands in
        self.updates: list[dict[str, Any]] = []  # every chat.update call's arguments, in order
        self.socket_url: str | None = None  # what apps.connections.open answers (a test's WebSocket server)
        self.not_in: set[str] = set()
        self.hold = False
        self._released = threading.Event()
        self.clock_offset = 0.0  # seconds Slack's clock is ahead of this machine's (its messages' ts)
        self._clock = 0.0  # the last ts given: each is later than the one before
        super().__init__(type("SlackHandler", (_SlackHandler,), {}))

    @property
    def webhook_url(self) -> str:
        return self.url + self.WEBHOOK_PATH

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """Top-level messages and thread replies alike, in the order Slack accepted them."""
        with self._lock:
            return list(self.messages)

    def in_channel(self, name: str) -> list[dict[str, Any]]:
        channel = self.channels.get(name, name)
        return [message for message in self.delivered if message["channel"] == channel]

    def alert_ids(self) -> list[tuple[str, str]]:
        """(alert id, message kind) for every id in the metadata of every accepted message."""
        found = []
        for message in self.delivered:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            found += [(alert, payload.get("kind", "")) for alert in payload.get("alert_ids") or []]
        return found

    def next_reply(self) -> SlackReply:
        with self._lock:
            if self.script:
                return self.script.pop(0)
        return self.fail_always or SlackReply()

    def accept(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append({**message, "received": time.monotonic()})

    def wait_if_held(self) -> None:
        if self.hold:
            self._released.wait(timeout=30)

    def release(self) -> None:
        self.hold = False
        self._released.set()

    def refuse_connections(self, seconds: float | None) -> None:
        """Close the listening socket now (connections are refused) and listen again on the same port
        after `seconds` (None: never)."""
        port = self._server.server_address[1]
        handler = self._server.RequestHandlerClass
        self._server.shutdown()
        self._server.server_close()
        if seconds is None:
            return

        def listen_again() -> None:
            time.sleep(seconds)
            self._server = _Server((self.host, port), handler)
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
            self._thread.start()

        threading.Thread(target=listen_again, daemon=True).start()

    def list_channels(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """conversations.list: one page holding every channel of the asked `types` (default public)."""
        types = set(str(arguments.get("types") or "public_channel").split(","))
        channels = [
            {"id": cid, "name": name, "is_private": name in self.private}
            for name, cid in self.channels.items()
            if ("private_channel" if name in self.private else "public_channel") in types
        ]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def post_message(self, arguments: dict[str, Any]) -> dict[str, Any]:
        name = str(arguments.get("channel", "")).lstrip("#")
        channel = self.users.get(name) or self.channels.get(name, name if name in self.channels.values() else None)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if name in self.not_in:
            return {"ok": False, "error": "not_in_channel"}
        ts = self._next_ts()
        self.accept({**arguments, "channel": channel, "ts": ts})
        return {"ok": True, "channel": channel, "ts": ts, "_hold": True}

    def update_message(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """chat.update: the message at (channel, ts) takes the new text and blocks; every call is kept
        in `updates`, in order, whether or not it found its message."""
        with self._lock:
            self.updates.append(dict(arguments))
            where = (arguments.get("channel"), arguments.get("ts"))
            found = next((m for m in self.messages if (m["channel"], m["ts"]) == where), None)
            if found is None:
                return {"ok": False, "error": "message_not_found"}
            found.update({key: arguments[key] for key in ("text", "blocks") if key in arguments})
            return {"ok": True, "channel": found["channel"], "ts": found["ts"], "text": found.get("text")}

    def click(
        self, message: dict[str, Any], label: str, user: str = "U0ANALYST1", user_name: str = "alice"
    ) -> dict[str, Any]:
        """The block_actions payload Slack sends when `user` clicks the element labelled `label` on
        `message` (a button, or an option of an overflow menu), as Slack builds it."""
        for block in message.get("blocks") or []:
            for element in block.get("elements") or [] if block.get("type") == "actions" else []:
                chosen = _chosen(element, label)
                if chosen is not None:
                    return {
                        "type": "block_actions",
                        "user": {"id": user, "username": user_name, "name": user_name, "team_id": "T0NEWSBOT"},
                        "api_app_id": "A0NEWSBOT",
                        "token": "verification-token-unused",
                        "container": {
                            "type": "message",
                            "message_ts": message["ts"],
                            "channel_id": message["channel"],
                            "is_ephemeral": False,
                        },
                        "trigger_id": "1.2.3",
                        "team": {"id": "T0NEWSBOT", "domain": "newsbot-test"},
                        "channel": {"id": message["channel"], "name": "vendor-news"},
                        "message": {
                            "type": "message",
                            "ts": message["ts"],
                            "text": message.get("text"),
                            "blocks": message.get("blocks"),
                        },
                        "response_url": self.url + "/actions/T0NEWSBOT/1/unused",
                        "actions": [{**chosen, "block_id": block.get("block_id"), "action_ts": f"{time.time():.6f}"}],
                    }
        raise AssertionError(f"no element labelled {label!r} in the message")

    def chatter(self, name: str, count: int, thread_ts: str | None = None) -> None:
        """`count` messages from other people in a channel or a thread (no metadata): a busy channel."""
        channel = self.channels.get(name, name)
        thread = {"thread_ts": thread_ts} if thread_ts else {}
        for number in range(count):
            self.accept({"channel": channel, "text": f"chatter {number}", "ts": self._next_ts(), **thread})

    def requests_to_method(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every Web API call to `method` (query string or body)."""
        calls = []
        for request in self.requests:
            url = urlsplit(request.path)
            if url.path != f"/api/{method}":
                continue
            if request.body.startswith(b"{"):
                calls.append(json.loads(request.body))
            else:
                calls.append(dict(parse_qsl(url.query or request.body.decode())))
        return calls

    def _next_ts(self) -> str:
        with self._lock:
            self._clock = max(self._clock + 0.001, time.time() + self.clock_offset)
            return f"{self._clock:.6f}"

    def _find(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.delivered if m["channel"] == channel and m["ts"] == ts), None)

    def history(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages, newest first, in the window, one page at a time."""
        channel = arguments.get("channel", "")
        found = [
            message
            for message in reversed(self.delivered)
            if message["channel"] == channel and not message.get("thread_ts") and _in_window(message, arguments)
        ]
        return _page(found, arguments)

    def replies(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent first, then the replies in the window, oldest first, one page at a time."""
        channel, ts = arguments.get("channel", ""), str(arguments.get("ts", ""))
        parent = self._find(channel, ts)
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        thread = [
            message
            for message in self.delivered
            if message["channel"] == channel and message.get("thread_ts") == ts and _in_window(message, arguments)
        ]
        return _page([parent, *thread], arguments)


def _chosen(element: dict[str, Any], label: str) -> dict[str, Any] | None:
    """What a click on `label` reports of `element`: the button itself, or the overflow menu with its option."""
    if element.get("type") == "button" and element["text"]["text"] == label:
        return {key: element[key] for key in ("type", "action_id", "text", "value")}
    for option in element.get("options") or []:
        if option["text"]["text"] == label:
            return {"type": element["type"], "action_id": element["action_id"], "selected_option": option}
    return None


@dataclass
class Answer:
    status: int
    body: str
    seconds: float


def send_interaction(
    url: str,
    payload: dict[str, Any],
    signing_secret: str,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
) -> Answer:
    """POST an interaction to `url` exactly as Slack does: the form field `payload` holding the JSON,
    `X-Slack-Request-Timestamp`, and `X-Slack-Signature` = `v0=` + HMAC-SHA256 of
    `v0:{timestamp}:{body}` with the app's signing secret (`signature` overrides it, to forge one)."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    sent_at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(signing_secret.encode(), f"v0:{sent_at}:".encode() + body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(sent_at),
            "X-Slack-Signature": signature if signature is not None else f"v0={digest}",
        },
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, response.read().decode(), time.monotonic() - started)
    except urllib.error.HTTPError as refused:
        return Answer(refused.code, refused.read().decode(), time.monotonic() - started)


def _in_window(message: dict[str, Any], arguments: dict[str, Any]) -> bool:
    moment = float(message["ts"])
    oldest, latest = float(arguments.get("oldest") or 0), float(arguments.get("latest") or time.time() + 3600)
    if str(arguments.get("inclusive", "")).lower() in ("1", "true"):
        return oldest <= moment <= latest
    return oldest < moment < latest


def _page(messages: list[dict[str, Any]], arguments: dict[str, Any]) -> dict[str, Any]:
    """One page as Slack pages: `limit` (default 100, at most 999) and an opaque cursor."""
    limit = min(int(arguments.get("limit") or 100), 999)
    cursor = str(arguments.get("cursor") or "")
    start = int(base64.b64decode(cursor).decode().removeprefix("next:")) if cursor else 0
    with_metadata = str(arguments.get("include_all_metadata", "")).lower() in ("1", "true")
    shown = [
        {
            "ts": message["ts"],
            "text": message.get("text"),
            **({"thread_ts": message["thread_ts"]} if message.get("thread_ts") else {}),
            **({"metadata": message["metadata"]} if with_metadata and message.get("metadata") else {}),
        }
        for message in messages[start : start + limit]
    ]
    has_more = start + limit < len(messages)
    next_cursor = base64.b64encode(f"next:{start + limit}".encode()).decode() if has_more else ""
    return {"ok": True, "messages": shown, "has_more": has_more, "response_metadata": {"next_cursor": next_cursor}}


def rss(items: list[dict[str, str]], title: str = "Test feed") -> bytes:
    """A small RSS 2.0 document; each item may have title, link, description, pubDate, guid."""
    parts = []
    for item in items:
        fields = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in item.items())
        parts.append(f"<item>{fields}</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link>"
        f"<description>test</description>{''.join(parts)}</channel></rss>"
    ).encode()


def recent(hours_ago: float = 1.0) -> str:
    """An RFC 822 date `hours_ago` before now, for items young enough to alert."""
    return formatdate(time.time() - hours_ago * 3600, usegmt=True)


def advisories_page(title: str) -> Route:
    """A vendor portal's advisories table (the layout spiders/vendor_portal.py reads), one row dated now."""
    today = datetime.now(UTC).isoformat()
    body = (
        '<html><body><table class="advisories"><tbody>'
        f'<tr><td class="date"><time datetime="{today}">today</time></td>'
        f'<td class="title"><a href="/advisories/1">{title}</a></td>'
        '<td class="summary">The SMS aggregator\'s network was used for surveillance.</td></tr>'
        "</tbody></table></body></html>"
    )
    return Route(body.encode(), content_type="text/html")
