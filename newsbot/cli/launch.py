"""The `newsbot` command's entry point, kept apart from newsbot.cli.commands so that SIGTERM is answered from
the first instant: importing the CLI (Scrapy, pydantic, slack-sdk) takes half a second, and cron or
systemd stopping newsbot then must still end it with a sentence and exit 143, not a silent -15."""

import signal
import sys

from newsbot.pipeline.budget import Terminated, raise_on_sigterm


def main() -> int:
    raise_on_sigterm()
    try:
        from newsbot.cli.commands import main as cli_main

        return cli_main()
    # Outside a run, which answers signals itself: importing, loading the config, checking the database.
    except (Terminated, KeyboardInterrupt) as stop:
        number = signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT
        print(f"newsbot: stopped by {signal.Signals(number).name}", file=sys.stderr)
        return 128 + number
