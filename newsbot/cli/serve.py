"""`newsbot serve`: the Slack app that receives clicks on alerts' buttons (newsbot.alerts.interactions).

Over HTTP (slack.signing_secret): slack-bolt's WSGI adapter under the standard library's WSGI
server, one thread per request, on --host/--port (127.0.0.1:3000 by default, for a reverse proxy
that terminates HTTPS in front of it). In Socket Mode (slack.app_token): slack-bolt's
SocketModeHandler opens the connection to Slack itself, so no public URL is needed. Either way the
process runs until SIGTERM or Ctrl-C, then lets the clicks in hand finish storing and exits 0.
"""

from __future__ import annotations

import argparse
import errno
import hmac
import io
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError
from slack_sdk.signature import SignatureVerifier

from newsbot.alerts.interactions import FeedbackRecorder, feedback_app
from newsbot.configuration.config import SlackConfig, load_config
from newsbot.configuration.slack_secrets import redact
from newsbot.errors import ConfigError, NewsbotError, StorageError
from newsbot.pipeline.budget import Terminated
from newsbot.storage.database import Storage
from newsbot.storage.database_errors import database_faults

log = logging.getLogger("newsbot.serve")
EVENTS_PATH = "/slack/events"  # slack-bolt's default path, what Slack's Request URL names
CLICK_THREADS = 4
# A click's payload holds the message clicked on: a few KB, and for the longest alert in CJK text,
# percent-encoded, most of a MB. nginx's default limit is this one.
MAX_BODY_BYTES = 2**20
REQUEST_SECONDS = 10  # Slack waits 3 s for an answer: a request slower to arrive than this is no click


def describe_serve(slack: SlackConfig | None) -> str:
    """What `newsbot serve` would do with this config (for `newsbot check`)."""
    if slack is None or slack.token is None:
        return "feedback buttons: off (they need slack.token and `newsbot serve`)"
    if slack.app_token:
        return "feedback buttons: on; `newsbot serve` connects to Slack in Socket Mode (slack.app_token)"
    if slack.signing_secret:
        return (
            "feedback buttons: on; `newsbot serve` takes Slack's signed requests over HTTP at "
            f"{EVENTS_PATH} (slack.signing_secret)"
        )
    return "feedback buttons: off (set slack.signing_secret, or slack.app_token for Socket Mode; then `newsbot serve`)"


def serve(arguments: argparse.Namespace) -> None:
    """Run until stopped; raises ConfigError or StorageError (with a sentence) when it cannot start."""
    config = load_config(arguments.config)
    slack = config.settings.slack
    if slack is None or slack.token is None or not (slack.signing_secret or slack.app_token):
        raise ConfigError(
            f"{config.path}: newsbot serve needs slack.token and either slack.signing_secret (Slack calls "
            "serve over HTTP) or slack.app_token (serve connects to Slack in Socket Mode)"
        )
    _prepare(config.database)
    executor = ThreadPoolExecutor(max_workers=CLICK_THREADS, thread_name_prefix="newsbot-click")
    try:
        app = _app(slack, FeedbackRecorder(config.database), executor)
        if slack.app_token:
            _socket_mode(app, slack.app_token)
        else:
            _http(app, slack.signing_secret or "", arguments.host, arguments.port)
    except (Terminated, KeyboardInterrupt):
        print("newsbot serve: stopped", flush=True)
    finally:
        executor.shutdown(wait=True)  # a click acknowledged is stored before the process ends


def _prepare(database: Path) -> None:
    """The run's database, created when serve starts first, and refused when an older newsbot wrote
    it: `newsbot run` upgrades it (two programs migrating one file at once would race)."""
    with database_faults(database):
        storage = Storage.open(database, migrate=not database.exists())
        if storage.is_empty():  # as good as not there (`touch`, a first run that failed): set it up
            storage.close()
            storage = Storage.open(database)
        try:
            if storage.needs_upgrade():
                raise StorageError(
                    f"{database} was written by an older newsbot; run `newsbot run` once to upgrade it, then serve"
                )
        finally:
            storage.close()


def _app(slack: SlackConfig, recorder: FeedbackRecorder, executor: ThreadPoolExecutor) -> App:
    """slack-bolt checks the token with auth.test when the app is made: a bad one stops serve here."""
    try:
        return feedback_app(slack, recorder, _report, executor, log)
    except (BoltError, OSError) as error:
        secrets = [secret for secret in (slack.token, slack.signing_secret, slack.app_token) if secret]
        raise NewsbotError(redact(f"serve could not start the Slack app: {error}", secrets)) from None


def _report(line: str) -> None:
    """One line per click on standard output (the journal, under systemd)."""
    print(f"newsbot serve: {line}", flush=True)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a client that never finishes its request does not keep serve from stopping


class _LoggingHandler(WSGIRequestHandler):
    """Each request in newsbot's log (-v), not on stderr: the click lines already say what happened."""

    timeout = REQUEST_SECONDS  # a client that stalls is dropped: 300 stalled connections held 301 threads

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


def _signed_only(bolt: Callable[..., Any], signing_secret: str) -> Callable[..., Any]:
    """A WSGI app that hands slack-bolt only a bounded body bearing Slack's valid signature
    (slack-sdk's SignatureVerifier, as bolt's own check). Bolt parses a body before checking it: an
    unsigned `payload=notjson` (or one not UTF-8) was a 500 and a traceback, and a 200 MB one was
    read whole into memory, while the README promises 401 to anything unsigned."""
    verifier = SignatureVerifier(signing_secret)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            start_response("413 Content Too Large", [("Content-Type", "text/plain")])
            return [b"a Slack interaction is at most 1 MB"]
        body = environ["wsgi.input"].read(length)
        signature = environ.get("HTTP_X_SLACK_SIGNATURE")
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        if not (timestamp.isdigit() and verifier.is_valid(body, timestamp, signature)):
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            if skew := _clock_skew(verifier, body, timestamp, signature):
                _report(skew)
                return [skew.encode()]
            return [b"not signed by Slack"]
        environ["wsgi.input"] = io.BytesIO(body)
        return bolt(environ, start_response)

    return app


def _clock_skew(verifier: SignatureVerifier, body: bytes, timestamp: str, signature: str | None) -> str | None:
    """Why a request Slack did sign was refused, when the reason is this machine's clock: its signature
    is good but its time more than five minutes from ours. Said as "not signed by Slack", the
    operator was sent after the signing secret while every click of the team was refused."""
    expected = verifier.generate_signature(timestamp=timestamp, body=body) if timestamp.isdigit() else None
    if not (expected and signature and hmac.compare_digest(expected, signature)):
        return None
    minutes = round((time.time() - int(timestamp)) / 60)
    return (
        f"refused a click signed by Slack: this machine's clock is {abs(minutes)} minutes "
        f"{'ahead of' if minutes > 0 else 'behind'} Slack's, and a signature holds for 5 minutes; set the clock (NTP), "
        "unless this was an old request sent again"
    )


def _http(app: App, signing_secret: str, host: str, port: int) -> None:
    bolt = SlackRequestHandler(app, EVENTS_PATH)
    try:
        server = make_server(host, port, _signed_only(bolt, signing_secret), _ThreadingServer, _LoggingHandler)
    except OSError as error:  # a port in use, an address not this machine's: a sentence, not a traceback
        taken = "; choose another --port" if error.errno == errno.EADDRINUSE else ""
        raise NewsbotError(f"serve cannot listen on {host}:{port}: {error.strerror or error}{taken}") from None
    try:
        print(
            f"newsbot serve: listening on http://{host}:{server.server_port}{EVENTS_PATH} "
            "(the Slack app's Interactivity Request URL points here, through your HTTPS proxy)",
            flush=True,
        )
        server.serve_forever()
    finally:
        server.server_close()


def _socket_mode(app: App, app_token: str) -> None:
    client = SocketModeHandler(app, app_token).client  # what the handler's connect() and close() call
    try:
        client.connect()
        print("newsbot serve: connected to Slack in Socket Mode", flush=True)
        threading.Event().wait()  # the connection has threads of its own; a signal ends this wait
    finally:
        client.close()
