"""Log records a run keeps for its summary: a handler on the root logger while a block runs.

On the root logger, where every thread's records arrive and where Scrapy's own logging setup
(`logging.config.dictConfig` when a crawl starts) does not remove it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TypeVar

Collecting = TypeVar("Collecting", bound=logging.Handler)


@contextlib.contextmanager
def collected_by(handler: Collecting) -> Iterator[Collecting]:
    """`handler` on the root logger for the block, and off it however the block ends."""
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
