"""What the clustering tests share."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def fast_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder in memory (tmpfs) when the machine has one, for a database of thousands of stories.

    Every story's cluster is its own committed transaction; on disk their fsyncs cost more time than everything
    under test. The database is the same SQLite file, in WAL mode, either way.
    """
    memory = Path("/dev/shm")
    if not (memory.is_dir() and os.access(memory, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="newsbot-clusters-", dir=memory))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
