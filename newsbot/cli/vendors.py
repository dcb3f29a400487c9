"""`newsbot vendors import FILE.csv --watchlist FILE.yaml [--dry-run] [--config PATH]`: what the import did,
in the terminal, and whether the config's runs read that watchlist.

Exit 0 when the vendors were added (or, with --dry-run, would be; also when there was nothing to
add), 1 when the register or the result has a problem and nothing was written (a row to fix, no
`name` column, a watchlist that would not validate, a read-only file), 2 when the command cannot
start (a file that does not exist or cannot be read, a watchlist that is already invalid: the
ConfigError every other command exits 2 with).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from newsbot.cli.commands import ExitStatus
from newsbot.cli.early_database import DEFAULT_CONFIG
from newsbot.configuration.config import load_config
from newsbot.configuration.vendor_import import NewVendor, VendorImport, import_register
from newsbot.configuration.vendor_register import VendorImportError
from newsbot.configuration.watchlists import is_watchlist_name
from newsbot.errors import ConfigError


def import_vendors(arguments: argparse.Namespace) -> ExitStatus:
    try:
        result = import_register(arguments.register, arguments.watchlist, write=not arguments.dry_run)
    except VendorImportError as error:
        print(f"newsbot: {error}", file=sys.stderr)
        return ExitStatus.INVALID_CONFIG
    if arguments.dry_run:
        sys.stdout.write(result.diff)
    print(describe(result, dry_run=arguments.dry_run))
    if unread := unread_by_runs(result.watchlist, arguments.config):
        print(f"note: {unread}")
    return ExitStatus.OK


def unread_by_runs(watchlist: Path, config: Path | None) -> str | None:
    """Why the config's runs will not read the watchlist, if they will not: a register imported into a
    file outside the watchlist folder matched nothing, and nothing said so. The config named, or
    ./newsbot.yaml where there is one; none, no word."""
    if config is None and not DEFAULT_CONFIG.exists():
        return None
    named = config or DEFAULT_CONFIG
    try:
        loaded = load_config(named, require_env=False)
    except ConfigError as error:
        return f"whether {named}'s runs read {watchlist} is not known: {error}"
    folder = loaded.path.parent / loaded.settings.watchlists
    # Read by runs as a file of the folder, or as a link there; or, a link elsewhere, written into one.
    for path in (watchlist.absolute(), watchlist.resolve()):
        if path.parent.resolve() == folder.resolve() and is_watchlist_name(path):
            return None
    return (
        f"{watchlist} is not in {folder}, the watchlist folder {named} names: its runs will not read it "
        "(move it there, or import into a file of that folder)"
    )


def describe(result: VendorImport, *, dry_run: bool) -> str:
    """One line per vendor added, skipped or to check, then the counts."""
    plan, watchlist = result.plan, result.watchlist
    verb = "would add" if dry_run else "added"
    lines = [f"{verb}: {_forms(new)} ({watchlist}:{result.lines[new.vendor.name]})" for new in plan.added]
    lines += [f"skipped: {row}: {why}" for row, why in plan.skipped]
    lines += [f"note: {note}" for note in plan.notes]
    if result.ignored_columns:
        lines.append(f"note: columns not imported: {', '.join(result.ignored_columns)}")
    to_check = [new for new in plan.added if new.check()]
    lines += [f"{watchlist}:{result.lines[new.vendor.name]}: {new.vendor.name}: {new.check()}" for new in to_check]
    created = " (a new watchlist, with a starter topic and rule to edit)" if result.created else ""
    added = f"{len(plan.added)} vendor{'' if len(plan.added) == 1 else 's'}"
    counts = (
        f"{added} {'would be added' if dry_run else 'added'} to {watchlist}{created}, "
        f"{len(plan.skipped)} skipped, {len(to_check)} to check{'; nothing was written (dry run)' if dry_run else ''}"
    )
    return "\n".join([*lines, counts])


def _forms(new: NewVendor) -> str:
    vendor = new.vendor
    also = f", also as {', '.join(vendor.aliases)}" if vendor.aliases else ""
    guard = f"; context: {', '.join(vendor.context)}" if vendor.context else ""
    alone = f"; counts alone: {', '.join(vendor.unambiguous)}" if vendor.unambiguous else ""
    return f"{vendor.name}{also}{guard}{alone}"
