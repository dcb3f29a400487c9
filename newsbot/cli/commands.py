"""The `newsbot` command: a thin layer that maps commands to the library and errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import enum
import errno
import logging
import os
import select
import signal
import stat
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from newsbot import __version__
from newsbot.alerts.setup import delivery
from newsbot.alerts.slack import longest_post_with
from newsbot.cli.closed_output import is_closed_output
from newsbot.cli.early_database import DEFAULT_CONFIG, check_of
from newsbot.cli.progress import run_progress
from newsbot.clock import SYSTEM_CLOCK
from newsbot.configuration.config import load_config
from newsbot.configuration.delivery_mode import describe_delivery, ignored_routing
from newsbot.configuration.opml import import_feeds, read_opml, to_opml, write_export
from newsbot.configuration.watchlists import files_not_read, load_watchlist
from newsbot.errors import ConfigError, LockedError, NewsbotError, RunInterrupted, StorageError
from newsbot.long_lived import freeze_what_exists
from newsbot.matching.examples import run_examples
from newsbot.matching.explain import describe_evaluations
from newsbot.matching.matcher import ANY_FIELD, Matcher, story_fields
from newsbot.pipeline.watchdog import Overrun, posting_bounded
from newsbot.sources.crawl_log import hide_crawler_records
from newsbot.sources.crawl_process import start_early
from newsbot.storage.database_errors import database_faults
from newsbot.stories.normalize import html_to_text


class ExitStatus(enum.IntEnum):
    OK = 0
    INVALID_CONFIG = 1  # `newsbot check` found a problem
    CANNOT_RUN = 2  # bad config for any other command, or a wrong command line (argparse's code)
    LOCKED = 3
    DATABASE_ERROR = 4
    ERROR = 5


# A write to standard output that failed for want of room, not of a reader: the disk (or quota) is full.
OUTPUT_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
LONGEST_PERIOD = timedelta(days=36_500)  # --since: a century

DIGEST_OVERRUN = Overrun(
    "the digest",
    "Slack, or a proxy, answering too slowly?",
    "the digest it was posting may be in Slack or not, and those printed above are (run again, "
    "`newsbot digest` posts every one again)",
)
SLACK_TEST_OVERRUN = Overrun(
    "slack-test",
    "Slack, or a proxy, answering too slowly?",
    "the destination it was trying did not answer in time; those printed above did",
)

_EXIT_FOR_ERROR = {
    ConfigError: ExitStatus.CANNOT_RUN,
    LockedError: ExitStatus.LOCKED,
    StorageError: ExitStatus.DATABASE_ERROR,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    arguments.verbose = sum(getattr(arguments, dest, 0) for dest in _VERBOSE_DESTS)
    _configure_logging(arguments.verbose)
    try:
        status = int(arguments.command(arguments))
        sys.stdout.flush()  # a reader gone before the last of the output shows here, not at exit
        return status
    except BrokenPipeError:
        if not _stdout_reader_gone():
            raise
        return _quietly_after_reader_gone()
    except OSError as error:
        return _after_write_failed(error)
    except NewsbotError as error:
        print(f"newsbot: {error}", file=sys.stderr)
        if isinstance(error, RunInterrupted):
            return 128 + error.signal_number  # 143 for SIGTERM, 130 for SIGINT, as a shell reports them
        if isinstance(error, ConfigError) and arguments.command is _check:
            return ExitStatus.INVALID_CONFIG
        return int(
            next((status for kind, status in _EXIT_FOR_ERROR.items() if isinstance(error, kind)), ExitStatus.ERROR)
        )


def _after_write_failed(error: OSError) -> int:
    """A sentence for a write of the command's output that failed (or the error again, if it is none)."""
    if is_closed_output(error):
        with contextlib.suppress(OSError):  # standard error closed too (`>&- 2>&-`): the status says it
            print(
                "newsbot: standard output is closed (`>&-`?), so nothing could be printed; alerts for the "
                "terminal wait in the outbox: give newsbot a file, or /dev/null",
                file=sys.stderr,
            )
        return ExitStatus.ERROR
    if error.errno not in OUTPUT_FULL or error.filename is not None:
        raise error
    return _after_write_failed_for_room(error)


def _stdout_reader_gone() -> bool:
    """Whether standard output is a pipe whose reader has closed it (`newsbot explain … | head`): the
    kernel flags the writing end with POLLERR. Any other broken pipe is a fault, not a reader's choice."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):  # no file descriptor (an embedding's stdout): nothing to tell
        return False


def _quietly_after_reader_gone() -> int:
    """End as a command killed by SIGPIPE would, silently: what is still buffered goes to /dev/null,
    so that Python's own flush at exit does not print a BrokenPipeError of its own."""
    _stdout_to_devnull()
    return 128 + signal.SIGPIPE


def _stdout_to_devnull() -> None:
    """What is still buffered for standard output, which cannot take it, goes nowhere at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _stdout_cannot_take(error: OSError) -> bool:
    """Whether the write that failed for want of room was standard output's. A write names no file
    either way, so standard output's own disk is asked: a full /tmp under a command writing a temporary
    file must not be reported as its output, nor its output sent to /dev/null."""
    try:
        descriptor = sys.stdout.fileno()
        if error.errno == errno.ENOSPC:
            return os.fstatvfs(descriptor).f_bavail == 0
        return stat.S_ISREG(os.fstat(descriptor).st_mode)  # a quota or a size limit: only a file has one
    except (OSError, ValueError):  # no descriptor (an embedding's stdout): nothing to tell
        return False


def _after_write_failed_for_room(error: OSError) -> int:
    """A sentence for a write that a full disk refused: standard output's, or a file's (the write
    names none, so standard output's own disk is asked which)."""
    if _stdout_cannot_take(error):
        return _after_output_full(error)
    print(f"newsbot: a write failed: {error.strerror}; free some space and try again", file=sys.stderr)
    return ExitStatus.ERROR


def _after_output_full(error: OSError) -> int:
    """Standard output is a file on a full disk (cron's `>> newsbot.log`): a sentence rather than a
    traceback, on standard error if it can still be written (often the same file). What stays
    buffered goes to /dev/null, so that Python's own flush at exit neither fails again nor turns the
    status into its 120. An alert the terminal could not take stays in the outbox for the next run."""
    with contextlib.suppress(OSError):
        print(f"newsbot: could not write to standard output: {error.strerror}", file=sys.stderr, flush=True)
    _stdout_to_devnull()
    return ExitStatus.ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot", description="Watch telecom-security news for the vendors and topics you care about."
    )
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    _verbose_option(parser, 0)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, handler: object, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(command=handler)
        _verbose_option(sub, 1)
        sub.add_argument(
            "--config",
            type=Path,
            default=DEFAULT_CONFIG,
            help="path to newsbot.yaml (default: ./newsbot.yaml)",
        )
        return sub

    run = command("run", _run, "crawl all sources, store new stories, match them, deliver alerts")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="do everything on a throwaway copy of the database and print the Slack payloads",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="print nothing when all went well")
    command("check", _check, "validate newsbot.yaml and the watchlists, and run the watchlists' examples")
    command("test", _test, "run every watchlist's examples and show each result")
    command("slack-test", _slack_test, "send a test message to every Slack channel or webhook alerts go to")
    explain = command("explain", _explain, "show which rules match a text, and why others do not")
    explain.add_argument("text", nargs="?", help="the text to test, e.g. a headline and summary")
    explain.add_argument("--url", help="explain a stored story instead of a text")
    backtest = command("backtest", _backtest, "try a watchlist file on the stored stories; sends nothing")
    backtest.add_argument("watchlist", type=Path, help="a new or edited watchlist file")
    backtest.add_argument(
        "--since", type=duration, default=timedelta(days=90), help="how far back: 90d (default), 12h, 2w"
    )
    digest = command("digest", _digest, "post one summary per watchlist of the alerts sent recently")
    digest.add_argument("--since", type=duration, default=timedelta(hours=24), help="period: 24h (default), 7d")
    digest.add_argument("-q", "--quiet", action="store_true", help="print nothing unless a digest could not be posted")
    digest.add_argument("--dry-run", action="store_true", help="print the messages it would post; post nothing")
    command("status", _status, "per source: last fetch and result; alerts pending and sent")
    search = command("search", _search, "full-text search of the stories a run has clustered (SQLite FTS syntax)")
    search.add_argument("query", help='e.g. Mitto, "SIM swap", SS7 AND Diameter')
    search.add_argument("--limit", type=count, default=20, help="at most this many stories (default 20)")
    _browse_options(command("browse", _browse, "look at the database in a web browser (Datasette, read-only)"))
    _sources_commands(command)
    _vendor_commands(commands)
    _feedback_commands(command)
    demo = commands.add_parser(
        "demo",
        help="run the whole pipeline on the bundled offline sample feeds",
        description="Run the whole pipeline on the bundled sample feeds, served on 127.0.0.1, and print the "
        "alerts on the terminal: no config, no network and no Slack needed.",
    )
    demo.set_defaults(command=_demo)
    _verbose_option(demo, 1)
    return parser


def _sources_commands(command: Callable[[str, object, str], argparse.ArgumentParser]) -> None:
    """`sources import FILE.opml` and `sources export`."""
    sources = command("sources", _sources_usage, "import sources from an OPML file, or export them as OPML")
    actions = sources.add_subparsers(metavar="ACTION")
    opml_import = actions.add_parser(
        "import",
        help="add the feeds of an OPML file to newsbot.yaml's sources:",
        description="Add the feeds of an OPML file (a feed reader's export) to sources: in newsbot.yaml. Comments "
        "and layout are kept, feeds already configured are skipped, and the result is validated before it "
        "replaces the file.",
    )
    opml_import.set_defaults(command=_sources_import)
    opml_import.add_argument("opml", type=Path, help="an OPML file exported by a feed reader")
    opml_import.add_argument("--dry-run", action="store_true", help="show what would be added; change nothing")
    opml_export = actions.add_parser(
        "export",
        help="print the feed sources as OPML",
        description="Print the feed sources of newsbot.yaml as OPML, for a feed reader (a site: source by the "
        "feed it was found to announce; listing pages, sitemaps and spiders have no feed to export).",
    )
    opml_export.set_defaults(command=_sources_export)
    opml_export.add_argument("--output", type=Path, help="write to this file instead of standard output")
    for action in (opml_import, opml_export):  # `--config` also after the action; the outer default stays
        action.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="path to newsbot.yaml")
        _verbose_option(action, 2)


def _vendor_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`vendors import FILE.csv --watchlist FILE.yaml`: it edits a watchlist file, and `--config` only says
    whether that config's runs read it."""
    vendors = commands.add_parser(
        "vendors",
        help="add the vendors of a vendor-risk register (CSV) to a watchlist",
        description="Add the vendors of a vendor-risk register (CSV) to a watchlist: see `newsbot vendors import -h`.",
    )
    vendors.set_defaults(command=_vendors_usage)
    _verbose_option(vendors, 1)
    vendor_actions = vendors.add_subparsers(metavar="ACTION")
    vendor_import = vendor_actions.add_parser(
        "import",
        help="add a CSV's vendors (a 'name' column; optional aliases, domain, context) to a watchlist",
        description="Add the suppliers of a vendor-risk register exported as CSV (a 'name' column; optional "
        "aliases, domain and context columns) to a watchlist, after its last vendor, keeping its comments and "
        "layout. Vendors it already has are skipped, names that are common words are marked for a look, and the "
        "result is validated before it replaces the file; a watchlist that does not exist is created.",
    )
    vendor_import.set_defaults(command=_vendors_import)
    _verbose_option(vendor_import, 2)
    vendor_import.add_argument(
        "register", type=Path, metavar="FILE.csv", help="the register as CSV (UTF-8; ',', ';' or tab between fields)"
    )
    vendor_import.add_argument(
        "--watchlist", type=Path, required=True, metavar="FILE.yaml", help="the watchlist to add them to (or create)"
    )
    vendor_import.add_argument("--dry-run", action="store_true", help="show the change; write nothing")
    vendor_import.add_argument(
        "--config",
        type=Path,
        help="path to newsbot.yaml, to say whether its runs read the watchlist (default: ./newsbot.yaml, if any)",
    )


# `-v` is counted wherever it is written (`newsbot -v run`, `newsbot run -v`, `newsbot sources import -v`):
# argparse gives each subcommand a namespace of its own, so each level counts into its own destination.
_VERBOSE_DESTS = ("verbose", "verbose_command", "verbose_action")


def _verbose_option(parser: argparse.ArgumentParser, level: int) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        dest=_VERBOSE_DESTS[level],
        action="count",
        default=0 if level == 0 else argparse.SUPPRESS,
        help="more logging (-vv for debug), before or after the command",
    )


def _feedback_commands(command: Callable[[str, object, str], argparse.ArgumentParser]) -> None:
    """`serve` (Slack's clicks on alerts' buttons), `mutes` (what those clicks muted), and what the
    clicks say: `feedback` (precision per rule) and `tune` (the edit that would have avoided them)."""
    serve = command("serve", _serve, "receive clicks on alerts' buttons from Slack (feedback, mutes)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on over HTTP (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=port_number, default=3000, help="port to listen on over HTTP (default 3000; 0: any)"
    )
    mutes = command("mutes", _mutes_list, "list the active mutes set from Slack; `mutes lift ID` ends one")
    lift = mutes.add_subparsers(metavar="ACTION").add_parser(
        "lift",
        help="end a mute now (the alerts it suppressed stay muted)",
        description="End a mute now: later matches alert again, while the alerts it suppressed stay muted "
        "(old news is not sent late).",
    )
    lift.set_defaults(command=_mutes_lift)
    _verbose_option(lift, 2)
    lift.add_argument("id", type=count, help="the mute's number, as `newsbot mutes` lists it")
    lift.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="path to newsbot.yaml")
    feedback = command("feedback", _feedback, "per watchlist and rule: alerts sent, judged in Slack, precision so far")
    feedback.add_argument("--since", type=duration, help="only alerts sent in this period: 30d, 12h, 2w (default: all)")
    tune = command(
        "tune", _tune, "propose watchlist edits that would have avoided the alerts marked Not relevant in Slack"
    )
    tune.add_argument("watchlist", help="the watchlist's name or file, e.g. 'SMS and 2FA vendors' or sms-vendors.yaml")
    tune.add_argument("--since", type=duration, help="only alerts sent in this period: 90d, 2w (default: all)")
    tune.add_argument("--apply", type=int, metavar="N", help="write proposal N into the watchlist file (comments kept)")


def _configure_logging(verbosity: int) -> None:
    """The level sits on the handler too: Scrapy resets the root logger's level when it starts."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if verbosity == 0:  # Scrapy's own errors and tracebacks become the run's warnings (newsbot.sources.crawl_log)
        handler.addFilter(hide_crawler_records)
    logging.basicConfig(level=level, handlers=[handler])


def _run(arguments: argparse.Namespace) -> ExitStatus:
    config = load_config(arguments.config)  # first: a config error is reported before Scrapy loads (~1 s)
    start_early(len(config.settings.sources), config.database)  # a large warm crawl's second process
    with check_of(config.database) as early:  # the database is read on the other core while Scrapy loads
        from newsbot.pipeline.run import dry_run, run  # Scrapy and Twisted load only for commands that crawl

        pipeline = dry_run if arguments.dry_run else run
        configured, policy = delivery(config, dry_run=arguments.dry_run)
        freeze_what_exists()
        with (
            database_faults(config.database),
            run_progress(configured, quiet=arguments.quiet, verbose=arguments.verbose) as (poster, progress),
        ):
            summary = pipeline(config, poster, policy, progress, early)
    if not arguments.quiet:
        print(f"newsbot run{' (dry run)' if arguments.dry_run else ''}: {summary.describe()}")
    elif summary.worse:
        print(summary.describe_worse())
    return ExitStatus.OK


def _check(arguments: argparse.Namespace) -> ExitStatus:
    config = load_config(arguments.config)
    from newsbot.cli.commonwords import (  # wordfreq: 0.2 s, after the config is known good
        common_word_warnings,
        everyday_topic_warnings,
    )

    warnings = [*config.warnings, *(warning for watchlist in config.watchlists for warning in watchlist.warnings)]
    warnings += files_not_read(config.path.parent / config.settings.watchlists)
    for warning in [
        *warnings,
        *ignored_routing(config),
        *common_word_warnings(config),
        *everyday_topic_warnings(config),
    ]:
        print(f"warning: {warning}")
    failed = [result for result in run_examples(config.watchlists) if not result.passed]
    for result in failed:
        print(f"newsbot: {result.describe()}", file=sys.stderr)
    if failed:
        return ExitStatus.INVALID_CONFIG
    rules = sum(len(watchlist.config.rules) for watchlist in config.watchlists)
    print(
        f"{config.path}: OK — {len(config.settings.sources)} sources, "
        f"{len(config.watchlists)} watchlists, {rules} rules; alerts go to {describe_delivery(config)}"
    )
    from newsbot.cli.serve import describe_serve  # slack-bolt, imported by serve's module, only here

    print(describe_serve(config.settings.slack))
    return ExitStatus.OK


def _test(arguments: argparse.Namespace) -> ExitStatus:
    config = load_config(arguments.config, require_env=False)
    results = run_examples(config.watchlists)
    for result in results:
        print(result.describe())
    failed = sum(not result.passed for result in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return ExitStatus.INVALID_CONFIG if failed else ExitStatus.OK


def _slack_test(arguments: argparse.Namespace) -> ExitStatus:
    # only for this command: `check` starts fast
    from newsbot.alerts.slack_test import destinations, heading, no_slack_sentence, send_test_messages

    config = load_config(arguments.config)
    slack = config.settings.slack
    if slack is None:
        print(no_slack_sentence(config))
        return ExitStatus.OK
    posts = len(destinations(config, slack))
    print(heading(slack, posts), flush=True)
    with posting_bounded(
        config.settings.fetch.run_budget_seconds, posts * longest_post_with(slack), SLACK_TEST_OVERRUN
    ):
        # each said at once: the watchdog may end this command
        report = send_test_messages(config, lambda outcome: print(outcome.describe(), flush=True))
    print(report.closing())
    return ExitStatus.OK if report.ok else ExitStatus.INVALID_CONFIG


def _explain(arguments: argparse.Namespace) -> ExitStatus:
    from newsbot.alerts.format import plain_url, visible  # a stored story's text is a feed's
    from newsbot.alerts.outbox import too_old_when_first_seen
    from newsbot.cli.mutes import story_mutes  # loaded here, not for `check`
    from newsbot.cli.status import stored_story, story_cluster, too_old_line

    if (arguments.text is None) == (arguments.url is None):
        print("newsbot explain: give either a TEXT or --url URL", file=sys.stderr)
        return ExitStatus.CANNOT_RUN
    config = load_config(arguments.config, require_env=False)
    matcher = Matcher(config.watchlists)
    if arguments.url is None:
        fields = {ANY_FIELD: html_to_text(arguments.text)}
    else:
        with database_faults(config.database):
            stored = stored_story(config, arguments.url)
            cluster = story_cluster(config, stored.story) if stored else None
            muted = story_mutes(config, stored.story) if stored else []
        if stored is None:
            print(f"newsbot explain: no stored story has the URL {arguments.url}", file=sys.stderr)
            return ExitStatus.ERROR
        story = stored.story
        print(visible(f"{story.title}\n{plain_url(story.url)} ({story.source})\n{cluster}\n"))
        if too_old_when_first_seen(stored, config.settings.max_age_days):
            print(too_old_line(story, stored.first_seen, config.settings.max_age_days))
        if muted:
            print("\n".join(muted) + "\n")
        fields = story_fields(story)
    print(visible(describe_evaluations(config.watchlists, matcher.evaluate(fields), fields)))
    return ExitStatus.OK


def _backtest(arguments: argparse.Namespace) -> ExitStatus:
    from newsbot.alerts.backtest import backtest  # loaded here, not for `check`
    from newsbot.cli.status import stories_since

    config = load_config(arguments.config, require_env=False)
    candidate = load_watchlist(arguments.watchlist.resolve())
    current = next((w for w in config.watchlists if w.config.name == candidate.config.name), None)
    since = SYSTEM_CLOCK.now() - arguments.since
    with database_faults(config.database):
        stories, before = stories_since(config, since)
    print(backtest(candidate, current, stories, since, config.settings.max_age_days, before).describe())
    return ExitStatus.OK


def duration(text: str) -> timedelta:
    """`90d`, `12h`, `2w`, `30m` for --since; at most a century (a longer one is no date at all)."""
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration like 90d, 12h, 2w or 30m")
    if int(number) == 0:  # `feedback --since 0d` counted every alert ever, "since the first alert"
        raise argparse.ArgumentTypeError(f"'{text}' is no period at all; say 1{unit} or more")
    # Compared before a timedelta is made: one of 200000000w raises OverflowError, which argparse lets through.
    if int(number) * timedelta(**{units[unit]: 1}).total_seconds() > LONGEST_PERIOD.total_seconds():
        raise argparse.ArgumentTypeError(f"'{text}' is longer than a century; say 36500d at most")
    return timedelta(**{units[unit]: int(number)})


def count(text: str) -> int:
    """A positive whole number that SQLite can hold (a mute's number, a --limit)."""
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive whole number")
    return int(text)


def _digest(arguments: argparse.Namespace) -> ExitStatus:
    from newsbot.alerts.digest import describe_period, digest_window_start, plan_digests, post_digests  # not check
    from newsbot.cli.status import sent_alerts_since

    config = load_config(arguments.config)
    with database_faults(config.database), _digest_lock(config.database, dry_run=arguments.dry_run):
        alerts = sent_alerts_since(config, digest_window_start(SYSTEM_CLOCK.now(), arguments.since))
        poster, policy = delivery(config, dry_run=arguments.dry_run)  # dry run: the payloads printed, as `run`'s
        digests = plan_digests(alerts, policy.route, arguments.since)
        messages = sum(len(digest.messages) for digest in digests)
        allowance = messages * (longest_post_with(config.settings.slack) + policy.seconds_between_messages)
        posted = "printed above, not posted (dry run)" if arguments.dry_run else "posted"
        results = []
        with posting_bounded(config.settings.fetch.run_budget_seconds, allowance, DIGEST_OVERRUN):
            posting = post_digests(digests, poster, seconds_between_messages=policy.seconds_between_messages)
            for watchlist, result in posting:  # each said at once: the watchdog may end this command
                results.append((watchlist, result))
                if not (arguments.quiet and result.ok):
                    print(f"digest of '{watchlist}': {posted if result.ok else result.error}", flush=True)
    if not results and not arguments.quiet:
        print(f"no alerts were sent in {describe_period(arguments.since)}: no digest")
    return ExitStatus.OK if all(result.ok for _, result in results) else ExitStatus.ERROR


def _digest_lock(database: Path, *, dry_run: bool) -> contextlib.AbstractContextManager[None]:
    """Two digests at once (a cron line run by hand too, or copied) would both post: the second is
    refused, exit 3. A lock of its own, not the run's: cron starts a daily digest in the minute of a
    run, and neither may refuse the other. A dry run posts nothing and takes none."""
    from newsbot.storage.locks import database_lock  # not for `check`

    if dry_run:
        return contextlib.nullcontext()
    busy = "another newsbot digest is posting (it holds {path}); this one posted nothing"
    return database_lock(database, ".digest.lock", "digest lock", busy)


def _status(arguments: argparse.Namespace) -> ExitStatus:
    from newsbot.cli.status import describe_status  # loaded here, not for `check`

    config = load_config(arguments.config, require_env=False)
    with database_faults(config.database):
        print(describe_status(config))
    return ExitStatus.OK


def _search(arguments: argparse.Namespace) -> ExitStatus:
    from newsbot.alerts.format import plain_url, visible  # a stored title is a feed's text
    from newsbot.cli.status import search_stories  # loaded here, not for `check`

    config = load_config(arguments.config, require_env=False)
    with database_faults(config.database):
        stories, syntax_problem = search_stories(config, arguments.query, arguments.limit)
    if syntax_problem and not stories:
        print(
            f"newsbot search: {arguments.query!r} is not SQLite full-text syntax: {syntax_problem}. Search for "
            'words, "a phrase", or words joined by AND, OR, NOT, e.g. Mitto, "SIM swap", SS7 AND Diameter',
            file=sys.stderr,
        )
        return ExitStatus.CANNOT_RUN
    if syntax_problem:
        print(
            f"newsbot search: {arguments.query!r} is not SQLite full-text syntax ({syntax_problem}); "
            "these stories have its words as typed",
            file=sys.stderr,
        )
    for story in stories:
        published = story.published_at.date().isoformat() if story.published_at else "undated"
        print(visible(f"{published}  {story.source}: {story.title}\n            {plain_url(story.url)}"))
    if not stories:
        print(f"no stored story matches {arguments.query!r}")
    return ExitStatus.OK


def _browse_options(browse: argparse.ArgumentParser) -> None:
    browse.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    browse.add_argument("--port", type=port_number, default=8001, help="port to listen on (default 8001; 0: any free)")
    browse.add_argument("--no-open", dest="open", action="store_false", help="do not open a web browser")


def port_number(text: str) -> int:
    """--port: getaddrinfo would take 70000 as 4464 without a word."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number (0 to 65535)")
    return int(text)


def _browse(arguments: argparse.Namespace) -> ExitStatus:
    from newsbot.cli.browse import browse  # Datasette and uvicorn load only for this command

    browse(arguments)
    return ExitStatus.OK


def _sources_usage(arguments: argparse.Namespace) -> ExitStatus:
    print("newsbot sources: say `import FILE.opml` or `export`", file=sys.stderr)
    return ExitStatus.CANNOT_RUN


def _sources_import(arguments: argparse.Namespace) -> ExitStatus:
    feeds, unusable = read_opml(arguments.opml)
    result = import_feeds(arguments.config, feeds, write=not arguments.dry_run)
    verb = "would add" if arguments.dry_run else "added"
    for feed in result.added:
        print(f"{verb}: {feed.name} ({feed.feed})")
    for name, why in [*result.skipped, *unusable]:
        print(f"skipped: {name}: {why}")
    where = "" if arguments.dry_run or not result.added else f" to {arguments.config}"
    print(f"{len(result.added)} sources {verb}{where}, {len(result.skipped) + len(unusable)} skipped")
    return ExitStatus.OK


def _sources_export(arguments: argparse.Namespace) -> ExitStatus:
    from newsbot.cli.status import exportable_feeds  # loaded here, not for `check`

    config = load_config(arguments.config, require_env=False)
    with database_faults(config.database):
        feeds, left_out = exportable_feeds(config)
    for name, why in left_out:
        print(f"newsbot: not exported: {name}: {why}", file=sys.stderr)
    text = to_opml(feeds, f"newsbot sources ({config.path.name})")
    if arguments.output:
        write_export(arguments.output, text)
    else:
        sys.stdout.write(text)
    return ExitStatus.OK


def _vendors_usage(arguments: argparse.Namespace) -> ExitStatus:
    print("newsbot vendors: say `import FILE.csv --watchlist FILE.yaml`", file=sys.stderr)
    return ExitStatus.CANNOT_RUN


def _vendors_import(arguments: argparse.Namespace) -> ExitStatus:
    from newsbot.cli.vendors import import_vendors  # it reports with this module's ExitStatus

    return import_vendors(arguments)


def _serve(arguments: argparse.Namespace) -> ExitStatus:
    from newsbot.cli.serve import serve  # slack-bolt loads only for this command

    serve(arguments)
    return ExitStatus.OK


def _mutes_list(arguments: argparse.Namespace) -> ExitStatus:
    from newsbot.cli.mutes import list_mutes  # loaded here, not for `check`

    config = load_config(arguments.config, require_env=False)
    with database_faults(config.database):
        print(list_mutes(config, SYSTEM_CLOCK.now()))
    return ExitStatus.OK


def _mutes_lift(arguments: argparse.Namespace) -> ExitStatus:
    from newsbot.cli.mutes import lift as lift_mute  # loaded here, not for `check`

    config = load_config(arguments.config, require_env=False)
    with database_faults(config.database):
        print(lift_mute(config, arguments.id, SYSTEM_CLOCK.now()))
    return ExitStatus.OK


def _feedback(arguments: argparse.Namespace) -> ExitStatus:
    config = load_config(arguments.config, require_env=False)
    since = SYSTEM_CLOCK.now() - arguments.since if arguments.since else None
    with database_faults(config.database):
        from newsbot.cli.feedback import describe_feedback  # the matcher and wordfreq load only when needed

        print(describe_feedback(config, since))
    return ExitStatus.OK


def _tune(arguments: argparse.Namespace) -> ExitStatus:
    config = load_config(arguments.config, require_env=False)
    since = SYSTEM_CLOCK.now() - arguments.since if arguments.since else None
    with database_faults(config.database):
        from newsbot.cli.feedback import find_watchlist, tune  # the matcher and wordfreq load only when needed

        print(tune(config, find_watchlist(config, arguments.watchlist), since, arguments.apply))
    return ExitStatus.OK


def _demo(arguments: argparse.Namespace) -> ExitStatus:
    from newsbot.cli.demo import run_demo

    return ExitStatus.OK if run_demo() else ExitStatus.ERROR
