"""`newsbot serve` as it runs in production: a subprocess on a free port, slack-bolt in it, and
clicks signed and posted over real HTTP exactly as Slack sends them (tests.servers.send_interaction).
The messages clicked on are the ones `newsbot run` posted to the local fake Slack, whose chat.update
receives serve's edits. Nothing in slack-bolt or slack-sdk is replaced.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tests.conftest import Workspace
from tests.feed_items import MITTO
from tests.servers import Answer, FakeSlack, FeedServer, Route, recent, rss, send_interaction

SIGNING_SECRET = "5f0c6e1d2a9b8c7d6e5f4a3b2c1d0e9f"


def story(base: dict[str, str], number: int | None = None) -> dict[str, str]:
    suffix = "" if number is None else f"-{number}"
    return {**base, "link": base["link"] + suffix, "title": base["title"] + suffix, "pubDate": recent()}


def with_feedback(workspace: Workspace, slack: FakeSlack) -> None:
    """A bot token and the signing secret `newsbot serve` checks requests with, from the environment."""
    workspace.use_slack_token(slack, signing_secret="${TEST_SLACK_SIGNING_SECRET}")
    workspace.environment["TEST_SLACK_SIGNING_SECRET"] = SIGNING_SECRET


@dataclass
class Serving:
    process: subprocess.Popen[str]
    url: str

    def send(self, payload: dict[str, Any], **options: Any) -> Answer:
        return send_interaction(self.url, payload, SIGNING_SECRET, **options)

    def stop(self) -> str:
        """SIGTERM, as systemd stops it; what it printed."""
        self.process.terminate()
        output, errors = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, errors
        return output


@contextlib.contextmanager
def serving(workspace: Workspace) -> Iterator[Serving]:
    """`newsbot serve --port 0` started as a subprocess; its first line names the port it took."""
    process = workspace.popen("serve", "--port", "0")
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"listening on (http://\S+)", first)
        assert found, first + (process.stderr.read() if process.poll() is not None and process.stderr else "")
        yield Serving(process, found.group(1))
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def rows(workspace: Workspace, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(workspace.database)) as connection:
        return connection.execute(sql).fetchall()


def clicks(workspace: Workspace) -> list[tuple[Any, ...]]:
    return rows(workspace, "SELECT alert_id, user_id, user_name, action, clicked_at FROM feedback ORDER BY clicked_at")


def wait_until(condition: Callable[[], object], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def alerted(workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, *items: dict[str, str]) -> dict[str, Any]:
    """`newsbot run` over a feed of `items`; the first message it posted."""
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss(list(items)))))
    result = workspace.newsbot("run")
    assert result.returncode == 0, result.stderr
    return slack.delivered[0]


def test_a_click_is_acknowledged_at_once_stored_and_shown_in_the_message(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    with_feedback(workspace, slack)
    message = alerted(workspace, feed_server, slack, story(MITTO))
    [alert] = [row[0] for row in rows(workspace, "SELECT id FROM alerts")]
    posted = copy.deepcopy(message["blocks"])

    with serving(workspace) as serve:
        answer = serve.send(slack.click(message, "Not relevant"))
        wait_until(lambda: slack.updates)
        output = serve.stop()

    assert answer.status == 200 and answer.seconds < 3  # Slack shows the clicker an error after 3 s
    [(clicked, user, name, action, _)] = clicks(workspace)
    assert (clicked, user, name, action) == (alert, "U0ANALYST1", "alice", "not_relevant")
    [update] = slack.updates
    assert (update["channel"], update["ts"]) == (message["channel"], message["ts"])
    assert [block["type"] for block in update["blocks"]].count("actions") == 0
    assert update["blocks"][:-1] == [block for block in posted if block["type"] != "actions"]
    assert update["blocks"][-1]["elements"][0]["text"] == "Not relevant — <@U0ANALYST1>"
    assert message["blocks"] == update["blocks"]  # what everyone in the channel now sees
    assert f"not_relevant on alert {alert} by U0ANALYST1: stored" in output


def test_a_bad_or_old_signature_is_refused_and_changes_nothing(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    with_feedback(workspace, slack)
    message = alerted(workspace, feed_server, slack, story(MITTO))
    payload = slack.click(message, "Mute vendor 7 days")

    with serving(workspace) as serve:
        forged = serve.send(payload, signature="v0=" + "0" * 64)
        wrong_secret = send_interaction(serve.url, payload, "f" * 32)
        stale = serve.send(payload, timestamp=int(time.time()) - 6 * 60)  # signed right, but 6 minutes old
        unsigned = serve.send(payload, signature="")
        time.sleep(1)  # a click that got through would be stored and shown well within this
        output = serve.stop()

    assert [forged.status, wrong_secret.status, stale.status, unsigned.status] == [401, 401, 401, 401]
    assert clicks(workspace) == [] and rows(workspace, "SELECT * FROM mutes") == []
    assert slack.updates == [] and "stored" not in output
    # Slack's own signature, refused for the time alone: the clock is named, not the signing secret
    assert output.count("refused a click signed by Slack") == 1
    assert "this machine's clock is 6 minutes ahead of Slack's" in output


def raw_post(url: str, body: bytes, length: str | None = None) -> int:
    """The status of a POST of these exact bytes, announced as `length` bytes (their own by default)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.putrequest("POST", parts.path)
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        connection.putheader("Content-Length", length if length is not None else str(len(body)))
        connection.endheaders()
        with contextlib.suppress(OSError):  # a server that answers before the body is all sent closes
            connection.send(body)
        return connection.getresponse().status
    finally:
        connection.close()


def test_an_unsigned_body_of_any_shape_is_refused_before_it_is_read(workspace: Workspace, slack: FakeSlack) -> None:
    """slack-bolt parses a body before it checks its signature: `payload=notjson` or bytes that are
    not UTF-8 were a 500 and a traceback in the journal, and a 200 MB body was read into memory. The
    largest a click's body may be is 1 MB: one that size and unsigned is read and refused as unsigned."""
    with_feedback(workspace, slack)
    with serving(workspace) as serve:
        answers = [
            raw_post(serve.url, b"payload=notjson"),
            raw_post(serve.url, b"payload=\xff\xfe\x80"),
            raw_post(serve.url, b"", length=str(200 * 2**20)),  # announced, never sent: not waited for
            raw_post(serve.url, b"x", length="-5"),
            raw_post(serve.url, b"payload=" + b"%E4%B8%AD" * 110_000),  # 990 KB of percent-encoded CJK
        ]
        serve.process.terminate()
        serve.process.wait(timeout=30)
        assert serve.process.stdout is not None and serve.process.stderr is not None
        output, errors = serve.process.stdout.read(), serve.process.stderr.read()
    assert answers == [401, 401, 413, 413, 401]
    assert serve.process.returncode == 0 and "Traceback" not in output + errors, errors


def test_serve_on_a_port_in_use_or_no_port_at_all_is_a_sentence(workspace: Workspace, slack: FakeSlack) -> None:
    with_feedback(workspace, slack)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        in_use = workspace.newsbot("serve", "--port", str(port))
    too_large = workspace.newsbot("serve", "--port", "99999")

    assert in_use.returncode == 5 and "Traceback" not in in_use.stderr, in_use.stderr
    assert f"serve cannot listen on 127.0.0.1:{port}: Address already in use; choose another --port" in in_use.stderr
    assert too_large.returncode == 2 and "'99999' is not a port number (0 to 65535)" in too_large.stderr


def test_a_click_on_an_alert_this_database_never_queued_stores_nothing_and_says_so(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """A message another newsbot posted (or serve pointed at the wrong database): no click, no mute."""
    with_feedback(workspace, slack)
    message = alerted(workspace, feed_server, slack, story(MITTO))
    payload = slack.click(message, "Mute vendor 7 days")
    payload["actions"][0]["value"] = json.dumps({"alert": "0" * 20, "action": "mute_7d"})

    with serving(workspace) as serve:
        answer = serve.send(payload)
        time.sleep(1)
        output = serve.stop()

    assert answer.status == 200  # Slack has its answer; the click is refused on newsbot's side
    assert clicks(workspace) == [] and rows(workspace, "SELECT * FROM mutes") == [] and slack.updates == []
    assert f"mute_7d on alert {'0' * 20} by U0ANALYST1: ignored: {workspace.database} has no such alert" in output


def test_the_same_click_twice_counts_once_and_clicks_outlive_a_killed_serve(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    with_feedback(workspace, slack)
    message = alerted(workspace, feed_server, slack, story(MITTO))
    payload = slack.click(message, "Not relevant")
    # Someone else's click, on the message as their Slack showed it before the first click changed it.
    other = slack.click(message, "Relevant", user="U0OTHER22", user_name="bob")

    with serving(workspace) as serve:
        first, again = serve.send(payload), serve.send(payload)  # a double click, or Slack retrying
        wait_until(lambda: len(slack.updates) == 2)
        serve.process.send_signal(signal.SIGKILL)
        serve.process.wait(timeout=10)
    before = clicks(workspace)
    with serving(workspace) as restarted:
        retried = restarted.send(payload)
        relevant = restarted.send(other)
        wait_until(lambda: len(slack.updates) == 4)
        output = restarted.stop()

    assert [first.status, again.status, retried.status, relevant.status] == [200, 200, 200, 200]
    assert len(before) == 1 and clicks(workspace)[0][:4] == before[0][:4]  # kept once (its time the latest)
    assert [row[3] for row in clicks(workspace)] == ["not_relevant", "relevant"]
    assert "stored before (counted once)" in output


def test_a_click_while_a_run_holds_a_write_transaction_is_stored_and_the_run_finishes(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """The run is stopped (SIGSTOP) at a moment it holds the database's write lock, as a slow disk or
    a busy machine would hold it; serve answers Slack at once, waits for the lock, and stores the
    click when the run goes on; the run finishes as if nothing happened."""
    with_feedback(workspace, slack)
    message = alerted(workspace, feed_server, slack, story(MITTO))
    payload = slack.click(message, "Relevant")
    # A hundred stories of some length: storing, clustering and matching them keeps the run inside
    # its write transactions about half the time (measured), for a few seconds.
    text = " ".join(["The SMS aggregator routes login codes for banks and shops across Europe."] * 50)
    feed_server.add("/feed.xml", Route(rss([{**story(MITTO, n), "description": text} for n in range(100)])))

    with serving(workspace) as serve:
        run = workspace.popen("run")
        try:
            held = stop_while_holding_the_write_lock(workspace, run)
            answer = serve.send(payload)
            time.sleep(1)
            waiting = clicks(workspace)
            os.kill(run.pid, signal.SIGCONT)
            wait_until(lambda: clicks(workspace), seconds=60)
        finally:
            os.kill(run.pid, signal.SIGCONT)
            output, errors = run.communicate(timeout=120)
        wait_until(lambda: slack.updates)

    assert held and answer.status == 200 and answer.seconds < 3
    assert waiting == []  # the run still held the lock: the click waited for it, nothing was lost
    assert [row[3] for row in clicks(workspace)] == ["relevant"]
    assert run.returncode == 0, errors
    assert "100 new stories" in output


def holds_write_lock(workspace: Workspace) -> bool:
    """Whether another connection holds the database's write lock right now."""
    connection = sqlite3.connect(workspace.database, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return True
    finally:
        connection.close()


def stop_while_holding_the_write_lock(workspace: Workspace, run: subprocess.Popen[str]) -> bool:
    """SIGSTOP the run at a moment it holds the write lock (checked again once it is stopped)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and run.poll() is None:
        if holds_write_lock(workspace):
            os.kill(run.pid, signal.SIGSTOP)
            if holds_write_lock(workspace):
                return True
            os.kill(run.pid, signal.SIGCONT)
        time.sleep(0.002)
    return False


def test_check_says_what_serve_would_use_and_never_shows_the_secrets(workspace: Workspace, slack: FakeSlack) -> None:
    with_feedback(workspace, slack)
    http = workspace.newsbot("check")
    workspace.settings["slack"]["app_token"] = "${TEST_SLACK_APP_TOKEN}"
    workspace.environment["TEST_SLACK_APP_TOKEN"] = "xapp-1-A0NEWSBOT-1234-canaryappsecret"
    socket = workspace.newsbot("check")
    workspace.settings["slack"]["signing_secret"] = "verificationTOKENpastedbymistake"
    wrong = workspace.newsbot("check")

    assert http.returncode == 0 and "over HTTP" in http.stdout and "signing_secret" in http.stdout
    assert socket.returncode == 0 and "Socket Mode" in socket.stdout
    assert wrong.returncode == 1 and "does not look like a Slack signing secret" in wrong.stderr
    for result in (http, socket, wrong):
        shown = result.stdout + result.stderr
        assert SIGNING_SECRET not in shown and "canaryappsecret" not in shown and "pastedbymistake" not in shown


def test_serve_refuses_to_start_without_a_way_to_hear_slack(workspace: Workspace, slack: FakeSlack) -> None:
    workspace.use_slack_token(slack)

    result = workspace.newsbot("serve", "--port", "0", timeout=30)

    assert result.returncode == 2
    assert "needs slack.token and either slack.signing_secret" in result.stderr and "Traceback" not in result.stderr


class FakeSocketMode:
    """Slack's end of Socket Mode, as much as slack-sdk's built-in client uses: the WebSocket handshake
    (RFC 6455), a `hello`, envelopes sent when the test says, pongs, and the client's acknowledgements."""

    MAGIC = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.acks: list[dict[str, Any]] = []
        self._connection: socket.socket | None = None
        self._connected = threading.Event()
        self._send_lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=newsbot-test"

    def close(self) -> None:
        self._listener.close()

    def send_interaction(self, payload: dict[str, Any]) -> str:
        """An interactive envelope carrying `payload`, as Slack pushes a click; its envelope id."""
        assert self._connected.wait(30), "serve never connected"
        envelope = uuid.uuid4().hex
        message = {"envelope_id": envelope, "type": "interactive", "accepts_response_payload": False}
        assert self._connection is not None
        self._send(self._connection, json.dumps({**message, "payload": payload}).encode())
        return envelope

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(connection,), daemon=True).start()

    def _session(self, connection: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = connection.recv(4096)
            if not chunk:
                return
            request += chunk
        key = re.search(rb"Sec-WebSocket-Key: *(\S+)", request, re.IGNORECASE)
        assert key, request
        accept = base64.b64encode(hashlib.sha1(key.group(1) + self.MAGIC).digest()).decode()
        connection.sendall(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        self._send(connection, json.dumps({"type": "hello", "num_connections": 1}).encode())
        self._connection = connection
        self._connected.set()
        while (frame := _read_frame(connection)) is not None:
            opcode, data = frame
            if opcode == 0x9:  # ping
                self._send(connection, data, opcode=0xA)
            elif opcode == 0x1:
                self.acks.append(json.loads(data))
            elif opcode == 0x8:
                return

    def _send(self, connection: socket.socket, data: bytes, opcode: int = 0x1) -> None:
        """One unmasked frame, as a server sends them."""
        size = len(data)
        length = bytes([size]) if size < 126 else bytes([126]) + struct.pack("!H", size)
        if size >= 1 << 16:
            length = bytes([127]) + struct.pack("!Q", size)
        with self._send_lock:
            connection.sendall(bytes([0x80 | opcode]) + length + data)


def _read_frame(connection: socket.socket) -> tuple[int, bytes] | None:
    """One frame from the client (masked, as RFC 6455 requires of clients); None once it is gone."""

    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = connection.recv(count - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    try:
        first, second = exactly(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", exactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", exactly(8))[0]
        mask = exactly(4) if second & 0x80 else b"\0\0\0\0"
        data = bytes(byte ^ mask[index % 4] for index, byte in enumerate(exactly(size)))
    except (ConnectionError, OSError):
        return None
    return first & 0x0F, data


def test_socket_mode_takes_clicks_with_no_public_url(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    socket_mode = FakeSocketMode()
    slack.socket_url = socket_mode.url
    workspace.use_slack_token(slack, app_token="${TEST_SLACK_APP_TOKEN}")
    workspace.environment["TEST_SLACK_APP_TOKEN"] = slack.APP_TOKEN
    message = alerted(workspace, feed_server, slack, story(MITTO))
    payload = slack.click(message, "Not relevant")

    process = workspace.popen("serve")
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        envelope = socket_mode.send_interaction(payload)
        wait_until(lambda: slack.updates and socket_mode.acks)
        process.terminate()
        output, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        socket_mode.close()

    assert "connected to Slack in Socket Mode" in first and process.returncode == 0, errors
    assert socket_mode.acks[0]["envelope_id"] == envelope
    assert [row[3] for row in clicks(workspace)] == ["not_relevant"]
    assert slack.updates[0]["blocks"][-1]["elements"][0]["text"] == "Not relevant — <@U0ANALYST1>"
    assert "serve: stopped" in output


def test_serve_sets_up_an_empty_database_file_as_it_would_a_missing_one(workspace: Workspace, slack: FakeSlack) -> None:
    """A first run that failed leaves the file empty: serve refused it as "written by an older newsbot"."""
    with_feedback(workspace, slack)
    workspace.database.touch()
    with serving(workspace) as served:
        assert served.process.poll() is None
        served.stop()
    assert ("stories",) in rows(workspace, "SELECT name FROM sqlite_master WHERE type = 'table'")
