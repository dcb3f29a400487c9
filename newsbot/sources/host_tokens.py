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
import shutil
import stat
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

HOST_TOKENS = "NEWSBOT_HOST_TOKENS"  # Scrapy setting: the folder of a split crawl's tokens, or None
FOLDER_PREFIX = "newsbot-hosts-"
OWNER = "owner"  # locked by the run while its folder is in use
OWNERLESS_DAYS = 1
RETRY_SECONDS = 0.005
UNCOUNTED = -1  # not a file descriptor: a transfer that holds no token


class HostTokens:
    """`per_host` tokens for each host, shared by every process given the same folder."""

    def __init__(self, folder: Path, per_host: int) -> None:
        self._folder = folder
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
            descriptor = os.open(self._folder / f"{prefix}.{token}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue
            return descriptor
        return None


@contextlib.contextmanager
def token_folder(temporary: Path | None = None) -> Iterator[Path]:
    """A new folder for a split crawl's tokens in `temporary` (the system's temporary folder), owned
    (locked) by this process until it is removed after the block; first removes the folders that
    killed runs left there. A folder that takes no lock (NFS without a lock daemon) is used unowned:
    its tokens go uncounted anyway (HostTokens.held), and it is removed a day after a kill."""
    temporary = temporary or Path(tempfile.gettempdir())
    for folder in temporary.glob(f"{FOLDER_PREFIX}*"):
        remove_if_abandoned(folder)
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=temporary))
    try:
        with _owned(folder):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _owned(folder: Path) -> Iterator[None]:
    """The folder's owner file, locked for the block. Locked before it has its name, so no one can
    find it unlocked and remove a folder in use."""
    try:
        owner = os.open(folder / f"{OWNER}.new", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        yield
        return
    with contextlib.suppress(OSError):  # no lock to be had here: the folder stays unowned
        fcntl.flock(owner, fcntl.LOCK_EX)
        os.rename(folder / f"{OWNER}.new", folder / OWNER)
    try:
        yield
    finally:
        os.close(owner)


def remove_if_abandoned(folder: Path) -> None:
    """Removes this user's token folder if its owner lock is free: its run is gone. A folder with no
    owner file is being made, or a build before owner files left it: removed once a day old. Another
    user's, a link, a file, or one gone meanwhile is left alone."""
    try:
        found = folder.lstat()
    except OSError:
        return
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
        return
    try:
        owner = os.open(folder / OWNER, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        if found.st_mtime < time.time() - OWNERLESS_DAYS * 86_400:
            shutil.rmtree(folder, ignore_errors=True)
        return
    except OSError:
        return
    try:
        fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a live run's
        return
    else:
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(owner)
