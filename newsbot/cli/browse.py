"""`newsbot browse`: the database in Datasette, read-only, on this machine only unless told otherwise.

The command binds the socket itself before anything starts: a port already taken is a sentence and an
exit code, not uvicorn's log line and exit(1), and a browser opened at once waits in the socket's queue
for the server rather than finding nothing there. uvicorn (Datasette's own server) then serves on it until
Ctrl-C or SIGTERM, which it answers by finishing the requests in flight before newsbot.cli.launch reports
the signal.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import socket
import sys
import webbrowser

import uvicorn

from newsbot.browse.site import site_for
from newsbot.configuration.config import load_config
from newsbot.errors import NewsbotError
from newsbot.storage.database_errors import database_faults


def browse(arguments: argparse.Namespace) -> None:
    config = load_config(arguments.config, require_env=False)
    with database_faults(config.database):
        site = site_for(config.database)
    listener = _listen(arguments.host, arguments.port)
    host, port = listener.getsockname()[:2]
    url = f"http://{_url_host(host)}:{port}{site.path}"
    print(f"newsbot browse: {url} (read-only; Ctrl-C stops it)")
    if not ipaddress.ip_address(host).is_loopback:
        print(f"note: listening on {host}: whoever reaches this machine on port {port} can read the database")
    if site.outdated:
        print("note: an older newsbot wrote this database; the Alerts page comes with `newsbot run`'s upgrade")
    sys.stdout.flush()  # before serving, which prints nothing more
    if arguments.open and _has_display():
        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(site.datasette.app(), lifespan="on", log_config=None))
    server.run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        return socket.create_server(address, family=family)
    except OSError as error:
        taken = "; choose another --port" if error.errno == errno.EADDRINUSE else ""
        raise NewsbotError(f"cannot listen on {host}:{port}: {error.strerror}{taken}") from error


def _url_host(host: str) -> str:
    """A host to put in the address printed: a wildcard address is reached on this machine's loopback."""
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1"}
    host = wildcard.get(host, host)
    return f"[{host}]" if ":" in host else host


def _has_display() -> bool:
    """Without a desktop, Python's webbrowser would run a text browser (lynx, w3m) in this terminal, in front
    of the server: over SSH, the address printed is what to open (through `ssh -L 8001:127.0.0.1:8001`)."""
    return sys.platform in {"darwin", "win32"} or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
