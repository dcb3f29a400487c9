"""`newsbot demo`: the real pipeline, offline, on the sample feeds in demo/feeds/.

The feeds are served over HTTP on 127.0.0.1 so that Scrapy fetches them exactly as it fetches a
real site (robots.txt, conditional GET and all); alerts go to the terminal; the database lives in
a temporary folder, so the demo can be run again and again.
"""

from __future__ import annotations

import functools
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path

import yaml

from newsbot.alerts.setup import delivery
from newsbot.configuration.config import load_config

# The repository's demo/ and examples/, installed inside newsbot (pyproject.toml's package-dir).
DEMO_FEEDS = Path(str(files("newsbot.demo_files") / "feeds"))
EXAMPLE_WATCHLISTS = Path(str(files("newsbot.example_files") / "watchlists"))
DEMO_SOURCES = {
    "Telecom Wire": "telecom-wire.xml",
    "Security Desk": "security-desk.atom",
    "CPaaS Digest": "cpaas-digest.json",
    "Moved Feed (broken on purpose)": "broken.xml",
}


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 — typeshed declares it per instance, which a ClassVar may not override
        **SimpleHTTPRequestHandler.extensions_map,
        ".atom": "application/atom+xml",
        ".json": "application/feed+json",
        ".xml": "application/rss+xml",
    }

    def log_message(self, format: str, *args: object) -> None:
        """The demo's output is the alerts, not an access log."""


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve `folder` on a free port of 127.0.0.1; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_demo_config(folder: Path, base_url: str) -> Path:
    config = {
        "database": "demo.db",
        "watchlists": str(EXAMPLE_WATCHLISTS),
        "max_age_days": 36500,  # the sample stories describe events from 2021 to 2024
        # The sample feeds carry their stories' text, and their links lead nowhere real.
        "sources": [
            {"name": name, "feed": f"{base_url}/{file}", "full_text": "never"} for name, file in DEMO_SOURCES.items()
        ],
        # The demo's "public" feeds are served on loopback, which newsbot otherwise refuses to reach.
        "fetch": {"autothrottle_start_delay": 0.1, "allowed_networks": ["127.0.0.1/32"]},
    }
    path = folder / "newsbot.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_demo() -> bool:
    from newsbot.pipeline.run import run

    with tempfile.TemporaryDirectory(prefix="newsbot-demo-") as folder, serve_folder(DEMO_FEEDS) as base_url:
        config = load_config(write_demo_config(Path(folder), base_url))
        print(
            f"newsbot demo: crawling {len(DEMO_SOURCES)} sample feeds from {base_url} "
            f"with the watchlist in {EXAMPLE_WATCHLISTS}\n"
        )
        summary = run(config, *delivery(config))
        print(f"newsbot demo: {summary.describe()}")
        print("\nOne source fails on purpose, to show that a broken feed never stops a run.")
    return summary.alerts_sent > 0
