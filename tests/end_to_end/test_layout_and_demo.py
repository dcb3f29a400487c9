"""The newcomer's path from a checkout: Scrapy finds the spiders, and the demo works (from a wheel:
tests/end_to_end/test_packaging.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPOSITORY, run_newsbot


def test_scrapy_finds_the_spiders_from_the_repository_root() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "list"], cwd=REPOSITORY, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["newsbot_sources", "vendor_portal"]


def test_demo_prints_the_mitto_alert_and_survives_the_broken_feed() -> None:
    result = run_newsbot("demo", cwd=REPOSITORY.parent)

    assert result.returncode == 0, result.stderr
    assert "[HIGH] SMS and 2FA vendors: Mitto AG co-founder reportedly sold SS7 network access" in result.stdout
    # The same URL in Security Desk, and a syndicated copy in CPaaS Digest; listed first seen first,
    # which depends on which feed the crawl finished first.
    [also_in] = [line for line in result.stdout.splitlines() if line.startswith("  also in: ")]
    assert set(also_in.removeprefix("  also in: ").split(", ")) == {"CPaaS Digest", "Security Desk"}
    assert "also in CPaaS Digest: Wire: founder of Swiss SMS aggregator accused" in result.stdout
    assert "Bird flu" not in result.stdout and "Mittova" not in result.stdout
    alerts = [line for line in result.stdout.splitlines() if line.startswith(("[HIGH]", "[MEDIUM]", "[LOW]"))]
    assert f"{len(alerts)} alerts sent" in result.stdout and "1 failed" in result.stdout
