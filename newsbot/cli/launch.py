"""The `newsbot` command's entry point, kept apart from newsbot.cli.commands so that SIGTERM is answered from
the first instant: importing the CLI (Scrapy, pydantic, slack-sdk) takes half a second, and cron or
systemd stopping newsbot then must still end it with a sentence and exit 143, not a silent -15."""

import atexit
import os
import signal
import sys
from types import FrameType

from newsbot.pipeline.budget import Terminated, raise_on_sigterm


def main() -> int:
    _end_at_once_on_stop_signals()
    atexit.register(_ignore_stop_signals)
    from newsbot.cli.commands import main as cli_main

    try:
        raise_on_sigterm()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        return cli_main()
    # Outside a run, which answers signals itself: loading the config, checking the database.
    except (Terminated, KeyboardInterrupt) as stop:
        number = signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT
        print(f"newsbot: stopped by {signal.Signals(number).name}", file=sys.stderr)
        return 128 + number


def _end_at_once_on_stop_signals() -> None:
    """While the CLI imports, SIGTERM and SIGINT end the process on the spot: nothing is open to put
    away yet, and an exception raised there lands inside whatever import is running, where importlib's
    lock callbacks swallow it, pydantic's schema builder turns it into a SchemaError and dataclasses
    into a RuntimeError (a SIGTERM 0.15 s in let `newsbot status` finish and exit 0)."""

    def handle(signal_number: int, frame: FrameType | None) -> None:
        os.write(2, f"newsbot: stopped by {signal.Signals(signal_number).name}\n".encode())
        os._exit(128 + signal_number)

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, handle)


def _ignore_stop_signals() -> None:
    """Once the command has done its work and Python's other exit handlers have run, a stop signal is
    moot: Python tears its modules down for some 50 ms with the default action back in place, so a
    SIGTERM then was a silent -15 for a command that had finished (registered first, this runs last)."""
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.SIG_IGN)
