"""Each host's transfers counted across the run's two crawling processes (newsbot.sources.crawl_process).

Each host's feeds are crawled by one process, but an article, a redirect or a site's announced feed
may lead either process to any host: an article host linked from feeds of both halves had twice
`concurrent_requests_per_domain` transfers at once, one crawler's worth from each. So, in a split
crawl, a transfer holds one of that many tokens of its host, in whichever process it runs: a token is
an exclusive `flock` on a file of a folder both processes are given (one file per host and token).
The kernel releases a dead process's locks, so a killed child holds no host.

The folder is the run's while its `owner` file is locked; a run killed by SIGKILL (or ended by the
watchdog's `os._exit`) leaves its folder behind, one empty file a host and token, and the next split
crawl removes every such folder whose owner lock it can take.

Locks are tried without blocking, and a transfer that finds every token of its host taken tries
again `RETRY_SECONDS` later: the reactor never waits on a lock. Within a process,
BoundedDownloadHandler's semaphore already keeps a host to that many transfers, so a process only
ever waits for the other's.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from newsbot.owned_folders import owned_folder

HOST_TOKENS = "NEWSBOT_HOST_TOKENS"  # Scrapy setting: the folder of a split crawl's tokens, or None
FOLDER_PREFIX = "newsbot-hosts-"
RETRY_SECONDS = 0.005
UNCOUNTED = -1  # not a file descriptor: a transfer that holds no token


class HostTokens:
    """`per_host` tokens for each host, shared by every process given the same folder."""

    def __init__(self, folder: Path, per_host: int) -> None:
        self._folder = os.fspath(folder)  # joined as text: a Path made and printed a transfer was 1% of a warm run
        self._per_host = per_host

    @contextlib.asynccontextmanager
    async def held(self, host: str) -> AsyncIterator[None]:
        """One of the host's tokens for the block; waits (without blocking the loop) while both
        processes hold them all. A cancelled wait or block gives the token back. A token file that
        cannot be opened (no descriptor left, the folder gone) is not waited for: the transfer goes
        uncounted rather than never."""
        try:
            while (token := self._take(host)) is None:
                await asyncio.sleep(RETRY_SECONDS)
        except OSError:
            token = UNCOUNTED
        try:
            yield
        finally:
            if token != UNCOUNTED:
                os.close(token)  # which releases its lock

    def _take(self, host: str) -> int | None:
        """An open file whose lock is one of the host's tokens, or None if all are held. Opened for
        the transfer only: a file kept open per host ran a crawl of 1,000 hosts out of the 1,024
        descriptors a cron job may have. A lock this process holds through another open file
        conflicts with this one, so its own transfers count as the other's do."""
        prefix = hashlib.sha256(host.encode()).hexdigest()[:32]  # any host name, a safe file name
        for token in range(self._per_host):
            descriptor = os.open(f"{self._folder}/{prefix}.{token}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue
            return descriptor
        return None


def token_folder(temporary: Path | None = None) -> contextlib.AbstractContextManager[Path]:
    """A new folder for a split crawl's tokens, owned by this run (newsbot.owned_folders)."""
    return owned_folder(FOLDER_PREFIX, temporary)
