"""Standard output closed before newsbot started (`newsbot run >&-` in a crontab).

Python then sets `sys.stdout` to None, and the first alert for the terminal or the run's last line
ended in an AttributeError's traceback. In its place goes a stream every write to which fails as a
write to a closed descriptor does: an alert for the terminal is a failed post that stays in the
outbox, and the command ends with a sentence and exit 5 (newsbot.cli.commands). Descriptor 1 itself
is taken by /dev/null, read-only, so that no file newsbot opens later becomes standard output.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys


class ClosedOutput(io.TextIOBase):
    """Standard output that was closed: a write fails with EBADF, as one to the descriptor would, and
    a flush of nothing (the interpreter's at exit) succeeds, so that exit keeps the command's status."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def stand_in_for_closed_output() -> None:
    """Puts ClosedOutput where Python found no standard output."""
    if sys.stdout is not None:
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(os.devnull, os.O_RDONLY)
        if descriptor != 1:  # standard input was closed too, and took it
            os.dup2(descriptor, 1)
            os.close(descriptor)
    sys.stdout = ClosedOutput()


def is_closed_output(error: OSError) -> bool:
    """Whether `error` is a write to standard output that was closed when newsbot started."""
    return isinstance(sys.stdout, ClosedOutput) and error.errno == errno.EBADF
