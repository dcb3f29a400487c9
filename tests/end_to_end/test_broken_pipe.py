"""`newsbot explain … | head` ends quietly: a reader that closes the pipe early is not an error to report.

Both through real pipes: one whose reading end is already closed when newsbot writes (the reader
gone before the first line: deterministic), and `head -1` reading a few hundred kilobytes of OPML,
which it stops reading after the first line while newsbot still writes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import Workspace, newsbot_environment

SIGPIPE_STATUS = 128 + signal.SIGPIPE  # what a shell reports for a writer a closed pipe ended


def test_explain_into_a_closed_pipe_ends_quietly(workspace: Workspace) -> None:
    config = workspace.write()
    reading, writing = os.pipe()
    os.close(reading)  # the reader is gone, as `head` is once it has its line
    try:
        result = subprocess.run(
            [sys.executable, "-m", "newsbot", "explain", "--config", str(config), "Mitto's co-founder sold SS7 access"],
            stdout=writing,
            stderr=subprocess.PIPE,
            text=True,
            cwd=workspace.folder,
            env=newsbot_environment({}),
            timeout=60,
            check=False,
        )
    finally:
        os.close(writing)
    assert result.stderr == ""  # no BrokenPipeError, no "Exception ignored" at exit
    assert result.returncode == SIGPIPE_STATUS


def test_a_long_output_into_head_ends_quietly(workspace: Workspace, tmp_path: Path) -> None:
    for number in range(3000):
        workspace.source(f"Feed {number}", f"https://feeds.example.org/{number}/feed.xml")
    config = workspace.write()
    newsbot = [sys.executable, "-m", "newsbot", "sources", "export", "--config", str(config)]
    pipeline = subprocess.run(
        ["sh", "-c", '"$@" 2>stderr.txt | head -1', "sh", *newsbot],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=newsbot_environment({}),
        timeout=60,
        check=False,
    )
    assert pipeline.stdout.startswith("<?xml"), pipeline.stdout
    assert (tmp_path / "stderr.txt").read_text(encoding="utf-8") == ""
