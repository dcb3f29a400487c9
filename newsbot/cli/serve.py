"""`newsbot serve`: the Slack app that receives clicks on alerts' buttons (newsbot.alerts.interactions).

Over HTTP (slack.signing_secret): slack-bolt's WSGI adapter under the standard library's WSGI
server, one thread per request, on --host/--port (127.0.0.1:3000 by default, for a reverse proxy
that terminates HTTPS in front of it). In Socket Mode (slack.app_token): slack-bolt's
SocketModeHandler opens the connection to Slack itself, so no public URL is needed. Either way the
process runs until SIGTERM or Ctrl-C, then lets the clicks in hand finish storing and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError

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
            _http(app, arguments.host, arguments.port)
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

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


def _http(app: App, host: str, port: int) -> None:
    server = make_server(host, port, SlackRequestHandler(app, EVENTS_PATH), _ThreadingServer, _LoggingHandler)
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
