"""What went wrong with the database, as one sentence that names the file and says what to do.

sqlite3 raises the same few exception types for a full disk, a read-only folder and a damaged
file; its message ("database or disk is full") names neither the file nor a way out. Every
command that touches the database runs inside `database_faults`, so such an error — at open or
half-way through a run — becomes a StorageError (exit 4) instead of a traceback. Nothing is lost
by stopping there: every write is one transaction (newsbot.storage.database), rolled back when it fails,
and what a run did not finish the next run redoes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from newsbot.errors import StorageError

_NOTHING_LOST = "nothing half-written was kept, and the next run catches up"
# Python's sqlite3, not SQLite, raises this (with no error code) for bytes that are not UTF-8 text.
_NOT_UTF8 = re.compile(r"Could not decode to UTF-8 column '([^']*)'")


def damaged(path: Path, detail: str) -> str:
    """The sentence for a file SQLite reports as damaged (newsbot has no way to repair it in place)."""
    return (
        f"the database {path} is damaged ({detail}): restore the file from a backup, "
        "or move it aside to start a new one (the next run then fetches the feeds again, and alerts about "
        f"stories of the last max_age_days may be sent again); either way move {path.name}-wal and "
        f"{path.name}-shm aside with it, or SQLite replays their old writes onto the file that replaces it"
    )


def describe(path: Path, error: sqlite3.DatabaseError) -> str:
    """One sentence for an error SQLite raised while newsbot used `path`."""
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF  # the primary code, without the extended part
    not_utf8 = _NOT_UTF8.match(str(error))
    if not_utf8:  # the message quotes the damaged text: leave it out
        return damaged(path, f"a value in the column '{not_utf8.group(1)}' is not UTF-8 text")
    if code == sqlite3.SQLITE_CORRUPT:
        return damaged(path, str(error))
    sentence = _SENTENCES.get(code)
    return sentence(path) if sentence else f"the database {path} cannot be used: {error}"


def _full(path: Path) -> str:
    return f"the disk holding the database {path} is full; {_NOTHING_LOST} once there is space"


def _cannot_write(path: Path) -> str:
    """What stands in the way, where it can be told: a folder where the file should be, the file or
    a side file this user may not read and write (a folder made writable would change nothing)."""
    try:  # a folder this user may list but not enter makes even these questions fail
        if path.is_dir():
            return f"cannot use the database {path}: it is a folder; point `database:` at a file in it, or elsewhere"
        if path.is_symlink() and not path.exists():
            return (
                f"cannot use the database {path}: it is a symbolic link to {os.readlink(path)}, which leads to no "
                "file that can be opened (a loop of links, or a folder that is not there)"
            )
        if _read_only_mount(path.parent):
            return _cannot_write_folder(path)
        for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
            if file.exists() and not os.access(file, os.R_OK | os.W_OK):
                mode = stat.filemode(file.stat().st_mode)
                return (
                    f"cannot use the database {path}: this user may not read and write {file} ({mode}); "
                    "run newsbot as the user that owns it, or give that user read and write access to it"
                )
    except OSError:
        pass
    return _cannot_write_folder(path)


def _read_only_mount(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _cannot_write_folder(path: Path) -> str:
    return (
        f"cannot write the database {path}: newsbot needs to write the file and to create {path.name}-wal, "
        f"{path.name}-shm and {path.name}.lock in {path.parent} (even to read it); make the folder writable "
        "for this user, or mount it read-write"
    )


def _input_output(path: Path) -> str:
    return f"reading or writing the database {path} failed (a disk I/O error); check the disk — {_NOTHING_LOST}"


def _not_a_database(path: Path) -> str:
    return (
        f"cannot use the database {path}: it is not an SQLite file (its first bytes are something else); "
        "point `database:` at newsbot's database or at a new file, or restore it from a backup"
    )


def _busy(path: Path) -> str:
    return (
        f"another program holds a write lock on the database {path} (not a newsbot run, which would hold "
        f"{path}.lock); stop it or try again later"
    )


_SENTENCES: dict[int, Callable[[Path], str]] = {
    sqlite3.SQLITE_NOTADB: _not_a_database,
    sqlite3.SQLITE_FULL: _full,
    sqlite3.SQLITE_READONLY: _cannot_write,
    sqlite3.SQLITE_PERM: _cannot_write,
    sqlite3.SQLITE_CANTOPEN: _cannot_write,
    sqlite3.SQLITE_IOERR: _input_output,
    sqlite3.SQLITE_BUSY: _busy,
    sqlite3.SQLITE_LOCKED: _busy,
}


@contextlib.contextmanager
def database_faults(path: Path) -> Iterator[None]:
    """Any sqlite3 error inside — or an OSError about a file beside the database, such as the run's
    lock in a read-only or full folder — comes out as a StorageError naming `path`."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        raise StorageError(describe(path, error)) from None
    except OSError as error:
        if error.filename is None or Path(error.filename).parent != path.parent:
            raise
        if error.errno == errno.ENOSPC:
            raise StorageError(_full(path)) from None
        if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise StorageError(_cannot_write(path)) from None
        raise StorageError(f"the database {path} cannot be used: {error.strerror} ({error.filename})") from None
