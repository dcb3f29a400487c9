"""`newsbot run --dry-run` on the example config, without a network: one line per failed source, quickly.

A new user's first command after copying `examples/` may well run where the feeds cannot be reached.
"No network" is made real, never by touching the internet: the example config's own hosts are
replaced by names under `.invalid`, which no resolver ever resolves (RFC 6761), so DNS fails as it
does offline; a port on 127.0.0.1 that nothing listens on refuses connections; a host that accepts
connections and never answers stands for a network that swallows packets.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPOSITORY, run_newsbot
from tests.deadhosts import SilentHost, refused_port

EXAMPLES = REPOSITORY / "examples"
WEBHOOK = {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/offline"}
A_FEW_SECONDS = 12.0  # the "a few seconds" (it took 16-20 s), for the whole command: about 4 s
# idle, interpreter start included; 9 s on a loaded 2-core CI with four test workers


def example_config(folder: Path, replace_host: str, extra: str = "") -> Path:
    """The example newsbot.yaml and watchlists as shipped, its host (example.org) replaced."""
    shutil.copytree(EXAMPLES / "watchlists", folder / "watchlists")
    text = (EXAMPLES / "newsbot.yaml").read_text(encoding="utf-8")
    assert "https://example.org/" in text, "the example config no longer uses example.org: update this test"
    config = folder / "newsbot.yaml"
    config.write_text(text.replace("https://example.org/", replace_host) + extra, encoding="utf-8")
    return config


def source_names(config: Path) -> list[str]:
    return [source["name"] for source in yaml.safe_load(config.read_text(encoding="utf-8"))["sources"]]


def assert_one_line_per_failed_source(config: Path, stdout: str, stderr: str, reason: str) -> None:
    assert "Traceback" not in stdout + stderr, stdout + stderr
    assert stderr == "", stderr
    names = source_names(config)
    assert len(names) == 4, names
    lines = stdout.splitlines()
    assert lines[0].startswith("newsbot run (dry run): 4 sources (0 unchanged, 4 failed)"), stdout
    for name in names:
        about = [line for line in lines if f"{name}:" in line]
        assert len(about) == 1, f"{name}: {about}\n{stdout}"
        assert about[0].strip().startswith(f"source failed: {name}: ") and reason in about[0], stdout


@pytest.fixture
def silent_host() -> Iterator[SilentHost]:
    host = SilentHost().start()
    yield host
    host.stop()


def test_hosts_that_do_not_resolve_fail_each_source_in_one_line(tmp_path: Path) -> None:
    config = example_config(tmp_path, "https://news.example.invalid/")
    result = run_newsbot("run", "--dry-run", "--config", str(config), environment=WEBHOOK, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_one_line_per_failed_source(config, result.stdout, result.stderr, "the host name could not be resolved")


def test_without_network_the_example_config_finishes_in_a_few_seconds(tmp_path: Path) -> None:
    config = example_config(tmp_path, "https://news.example.invalid/")
    started = time.monotonic()
    result = run_newsbot("run", "--dry-run", "--config", str(config), environment=WEBHOOK, cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < A_FEW_SECONDS, f"{elapsed:.1f} s\n{result.stdout}"


def test_a_refused_port_fails_each_source_in_one_line(tmp_path: Path) -> None:
    port = refused_port()
    loopback = "fetch:\n  allowed_networks: [127.0.0.1/32]\n"
    config = example_config(tmp_path, f"http://127.0.0.1:{port}/", loopback)
    result = run_newsbot("run", "--dry-run", "--config", str(config), environment=WEBHOOK, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_one_line_per_failed_source(config, result.stdout, result.stderr, "refused")


def test_a_host_that_never_answers_fails_each_source_in_one_line(tmp_path: Path, silent_host: SilentHost) -> None:
    bounds = "fetch:\n  allowed_networks: [127.0.0.1/32]\n  timeout_seconds: 1\n  retries: 0\n"
    config = example_config(tmp_path, f"{silent_host.url}/", bounds)
    result = run_newsbot("run", "--dry-run", "--config", str(config), environment=WEBHOOK, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert silent_host.connections >= 1  # the requests did reach the host, which kept silent
    assert_one_line_per_failed_source(config, result.stdout, result.stderr, "did not answer in time")
