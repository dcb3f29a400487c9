"""Temporary folders a run owns by a lock, so that the next run removes those a killed one left.

A run killed by SIGKILL (or ended by its watchdog's `os._exit`) runs no cleanup: a split crawl's
token folder (newsbot.sources.host_tokens) and a dry run's copy of the whole database stayed in
the temporary folder for good, one a kill. A folder is its run's while its `owner` file is locked;
the kernel releases a dead process's locks, so a later run can tell a folder in use from one left.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

OWNER = "owner"  # locked by the run while its folder is in use
OWNERLESS_DAYS = 1


@contextlib.contextmanager
def owned_folder(prefix: str, temporary: Path | None = None) -> Iterator[Path]:
    """A new folder named `prefix…` in `temporary` (the system's temporary folder), owned (locked) by
    this process until it is removed after the block; first removes the folders of that prefix that
    killed runs left there. A folder that takes no lock (NFS without a lock daemon) is used unowned,
    and removed a day after a kill."""
    temporary = temporary or Path(tempfile.gettempdir())
    for folder in temporary.glob(f"{prefix}*"):
        remove_if_abandoned(folder)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=temporary))
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
    """Removes this user's folder if its owner lock is free: its run is gone. A folder with no
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
