"""The `newsbot` command's entry point, kept apart from newsbot.cli.commands so that SIGTERM is answered from
the first instant: importing the CLI (Scrapy, pydantic, slack-sdk) takes half a second, and cron or
systemd stopping newsbot then must still end it with a sentence and exit 143, not a silent -15.

Outside a run, which answers signals itself, SIGTERM raises Terminated (and SIGINT KeyboardInterrupt)
in the main thread, so that what the command holds is put away as the exception unwinds it — except
inside an import, where an exception is not the command's to handle: importlib's lock callbacks
swallow it, pydantic's schema builder turns it into a SchemaError and dataclasses into a RuntimeError
(a SIGTERM 0.15 s in let `newsbot status` finish and exit 0; one in `status`'s own lazy import of
sqlite-utils ended in a traceback). There, and before the command is imported at all, nothing is
open yet: the process ends on the spot with the same sentence and status.
"""

import os
import signal
import sys
from types import FrameType

from newsbot.pipeline.budget import Terminated

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def main() -> int:
    for number in STOP_SIGNALS:
        signal.signal(number, _end_at_once)
    from newsbot.cli.commands import main as cli_main

    try:
        for number in STOP_SIGNALS:
            signal.signal(number, _raise_unless_importing)
        return cli_main()
    except (Terminated, KeyboardInterrupt) as stop:
        number = signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT
        print(_sentence(number), file=sys.stderr)
        return 128 + number
    finally:
        # The command is done: what is left is Python tearing down, for some 50 ms with the default
        # action back in place (a SIGTERM there was a silent -15 for a command that had finished).
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)


def _end_at_once(signal_number: int, frame: FrameType | None) -> None:
    os.write(2, f"{_sentence(signal_number)}\n".encode())
    os._exit(128 + signal_number)


def _raise_unless_importing(signal_number: int, frame: FrameType | None) -> None:
    if _importing(frame):
        _end_at_once(signal_number, frame)
    raise Terminated if signal_number == signal.SIGTERM else KeyboardInterrupt


def _importing(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _sentence(signal_number: int) -> str:
    return f"newsbot: stopped by {signal.Signals(signal_number).name}"
