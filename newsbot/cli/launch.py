"""The `newsbot` command's entry point, kept apart from newsbot.cli.commands so that SIGTERM is answered from
the first instant: importing the CLI (Scrapy, pydantic, slack-sdk) takes half a second, and cron or
systemd stopping newsbot then must still end it with a sentence and exit 143, not a silent -15.

Outside a run, which answers signals itself, SIGTERM raises Terminated (and SIGINT KeyboardInterrupt)
in the main thread, so that what the command holds is put away as the exception unwinds it — except
inside an import, where an exception is not the command's to handle: importlib's lock callbacks
swallow it, pydantic's schema builder turns it into a SchemaError and dataclasses into a RuntimeError
(a SIGTERM 0.15 s in let `newsbot status` finish and exit 0; one in `status`'s own lazy import of
sqlite-utils ended in a traceback). There, before the command is imported at all, and at a second
signal, the process ends on the spot with the same sentence and status. A signal the process was
started ignoring (a background job of a script) stays ignored.

A run's database check begins here too, before the CLI's imports (newsbot.cli.early_database).
"""

import atexit
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType

from newsbot.cli.closed_output import stand_in_for_closed_output
from newsbot.cli.early_database import begin_database_check
from newsbot.pipeline.budget import RUN_STOP_SIGNALS, Terminated

Handler = Callable[[int, FrameType | None], None]


def main() -> int:
    stand_in_for_closed_output()  # before anything opens a file that could become descriptor 1
    answered = [number for number in RUN_STOP_SIGNALS if signal.getsignal(number) is not signal.SIG_IGN]
    _handle(answered, _end_at_once)
    atexit.register(_handle, answered, signal.SIG_IGN)  # registered first, run last: see _finished
    begin_database_check(sys.argv[1:])  # a run's, while the CLI loads
    from newsbot.cli.commands import main as cli_main

    try:
        _handle(answered, _raise_once_unless_importing(answered))
        status = cli_main()
    except (Terminated, KeyboardInterrupt) as stop:
        number = signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT
        print(_sentence(number), file=sys.stderr)
        status = 128 + number
    _finished(answered, status)
    return status


def _handle(numbers: Sequence[int], handler: Handler | signal.Handlers) -> None:
    for number in numbers:
        signal.signal(number, handler)


def _raise_once_unless_importing(answered: Sequence[int]) -> Handler:
    def handle(signal_number: int, frame: FrameType | None) -> None:
        _handle(answered, _end_at_once)  # a second signal, while the first unwinds: at once
        if _importing(frame):
            _end_at_once(signal_number, frame)
        raise Terminated if signal_number == signal.SIGTERM else KeyboardInterrupt

    return handle


def _end_at_once(signal_number: int, frame: FrameType | None) -> None:
    """What was printed stays (cron's stdout is a pipe, buffered), then the sentence, then the status."""
    _flush_what_was_printed()
    with contextlib.suppress(OSError):  # stderr closed (`2>&-`): the status still says it
        os.write(2, f"{_sentence(signal_number)}\n".encode())
    os._exit(128 + signal_number)


def _importing(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _finished(answered: Sequence[int], status: int) -> None:
    """The command is done: a stop signal now ends the process with the command's own status. Python
    still joins threads and runs exit handlers, which a signal must be able to cut short; after them
    it tears its modules down for some 50 ms with the default action back in place (a SIGTERM there
    was a silent -15 for a command that had finished), so the last exit handler ignores the signals."""
    _flush_what_was_printed()

    def end_with_the_commands_status(signal_number: int, frame: FrameType | None) -> None:
        os._exit(status)

    _handle(answered, end_with_the_commands_status)


def _flush_what_was_printed() -> None:
    with contextlib.suppress(Exception):  # a write the signal interrupted, a stdout gone
        sys.stdout.flush()
        sys.stderr.flush()


def _sentence(signal_number: int) -> str:
    return f"newsbot: stopped by {signal.Signals(signal_number).name}"
