"""OS file locks beside the database, one for each job that must not run twice at once.

`newsbot run` and `newsbot digest` each have their own: cron starts a daily digest in the same
minute as a run, and one must not refuse the other, while two runs (or two digests, a cron line
copied onto two machines sharing a folder) would each send what the other sends.
"""

from __future__ import annotations

import contextlib
import os
import pwd
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from newsbot.errors import LockedError, StorageError
from newsbot.storage.database import require_folder


@contextlib.contextmanager
def database_lock(database: Path, suffix: str, name: str, busy: str) -> Iterator[None]:
    """The lock `<database><suffix>` (`name`: "run lock"), released by the kernel even if the process
    is killed; held elsewhere, LockedError with `busy` (its `{path}` filled in). Beside the file itself,
    whatever path names it: two configs reaching one database through a symlink each took a lock of
    their own, ran at once, and sent every pending alert twice. (A symlink loop keeps the path as
    written: opening the database then fails with its own sentence.)"""
    try:
        path = f"{database.resolve()}{suffix}"
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, on Python 3.11
        path = f"{database}{suffix}"
    require_folder(database)  # before FileLock, which makes the folders its lock file needs
    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise LockedError(busy.format(path=path)) from None
    except PermissionError:
        raise StorageError(_lock_refused(Path(path), name)) from None
    try:
        _owned_like_the_database(Path(path), database)
        yield
    finally:
        lock.release()


def _owned_like_the_database(lock: Path, database: Path) -> None:
    """A lock file root's run creates is given to the database's owner, as SQLite gives it the -wal and
    -shm files: left root's, it refused every later run by the owner (cron's user) at once."""
    if os.geteuid() != 0:
        return
    with contextlib.suppress(OSError):  # no database yet: the next run creates both as its own user
        owner = database.stat()
        if lock.stat().st_uid != owner.st_uid:
            os.chown(lock, owner.st_uid, owner.st_gid)


def _lock_refused(lock: Path, name: str) -> str:
    """The lock file's owner named: the folder is writable, and "make the folder writable" misled."""
    try:
        owner = pwd.getpwuid(lock.stat().st_uid).pw_name
    except (OSError, KeyError):
        return f"cannot take the {name} {lock}: this user may not open it; make it writable for this user"
    return (
        f"cannot take the {name} {lock}: it belongs to {owner} and this user may not write it (a run as "
        f"{owner} left it?); remove it, or give it to this user"
    )
