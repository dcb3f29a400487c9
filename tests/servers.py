"""Local HTTP servers for tests: a feed site and a fake Slack. Real sockets on 127.0.0.1, no mocks.

Both run in a thread of the test process and record every request, so a test can assert what
newsbot (running in a subprocess, as cron runs it) actually sent over the wire.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Base:
    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        handler.owner = self  # type: ignore[attr-defined]
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

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
    """Serves `routes`; anything else is a 404 (so robots.txt is absent unless a test adds it)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        super().__init__(type("FeedHandler", (_FeedHandler,), {}))

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url + path


@dataclass
class SlackReply:
    """One scripted answer; with `delay`, Slack answers only after the client has given up."""

    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _SlackHandler(BaseHTTPRequestHandler):
    owner: FakeSlack
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.owner.record(self, body)
        reply = self.owner.next_reply()
        time.sleep(reply.delay)
        if reply.status == 200:
            self.owner.accept(body)
        payload = reply.body.encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class FakeSlack(_Base):
    """An incoming-webhook endpoint: answers from a script of replies, then 200 "ok".

    `delivered` holds the JSON payloads it accepted (status 200), i.e. what a channel would show.
    """

    WEBHOOK_PATH = "/services/T000/B000/canary-secret-XYZ"

    def __init__(self) -> None:
        self.script: list[SlackReply] = []
        self.delivered: list[dict[str, Any]] = []
        self.fail_always: SlackReply | None = None
        super().__init__(type("SlackHandler", (_SlackHandler,), {}))

    @property
    def webhook_url(self) -> str:
        return self.url + self.WEBHOOK_PATH

    def next_reply(self) -> SlackReply:
        with self._lock:
            if self.script:
                return self.script.pop(0)
        return self.fail_always or SlackReply()

    def accept(self, body: bytes) -> None:
        with self._lock:
            self.delivered.append(json.loads(body))


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
