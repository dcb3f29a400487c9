"""Replacing a file the team keeps — newsbot.yaml, a watchlist, an OPML export — without ever leaving
half of one: the new text is written beside the file, checked, then swapped in whole.

The new file keeps what a run depends on: the old one's mode, its owner and group (an edit made from
a root shell must not leave the config unreadable to the service user cron runs newsbot as), and
its place behind a symlink (the link's target is replaced; the link stays a link).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from newsbot.errors import ConfigError


class ReplaceError(ConfigError):
    """The file could not be written; it is as it was."""


def replace_checked(path: Path, text: str, check: Callable[[Path], object], *, what: str = "the file") -> None:
    """Write `text` beside `path` (through a symlink, beside its target), let `check` load it (raising to
    refuse), then swap it in atomically; any failure leaves the file as it was and says why
    (ReplaceError, or what `check` raised). `what` names the file in the sentence."""
    target = path.resolve()
    if target.exists() and not os.access(target, os.W_OK):
        raise ReplaceError(f"{path}: {what} is read-only (file or file system); nothing was changed")
    try:
        # Not *.yaml: a run loading the watchlist folder meanwhile must not see the file twice.
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise ReplaceError(f"{path}: cannot write in {target.parent} ({error.strerror}); nothing was changed") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        _keep_mode_and_owner(temporary, target)
        check(Path(temporary))
        os.replace(temporary, target)
    except OSError as error:
        raise ReplaceError(f"{path}: cannot be written ({error.strerror}); nothing was changed") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _keep_mode_and_owner(temporary: str, target: Path) -> None:
    """The old file's permissions, owner and group on the new one (a new file: the umask's mode). Only
    root may give a file to another user: anyone else writes a file that is theirs, as any editor
    does, in the old file's group when they belong to it, so a service user reading it by its group
    still can."""
    if not target.exists():
        os.chmod(temporary, 0o666 & ~_umask())
        return
    old = target.stat()
    try:
        os.chown(temporary, old.st_uid, old.st_gid)
    except PermissionError:  # not root: the group, at least, which a member may give (the service user's)
        with contextlib.suppress(PermissionError):
            os.chown(temporary, -1, old.st_gid)
    os.chmod(temporary, old.st_mode & 0o777)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
