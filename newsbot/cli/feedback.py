"""`newsbot feedback` and `newsbot tune`: what the team's clicks in Slack say about each rule, and the
watchlist edit that would have avoided the alerts marked "Not relevant".

Precision is counted over the alerts someone judged: an alert nobody clicked is neither right nor
wrong yet, so "precision so far" is relevant ÷ (relevant + not relevant), beside how many were sent.
A mute is not a verdict (a team mutes a vendor it has heard enough about, relevant or not).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from newsbot.cli.precision import precision_lines
from newsbot.cli.status import reading
from newsbot.configuration.config import Config
from newsbot.configuration.replace import replace_checked
from newsbot.configuration.watchlist_edit import add_to_vendor_list, set_rule_value
from newsbot.configuration.watchlists import Watchlist, load_watchlist
from newsbot.configuration.yamlfile import read_config_text
from newsbot.errors import ConfigError
from newsbot.matching.tune import Judged, Proposal, examples_broken_by, passing_examples, propose
from newsbot.models import Alert, AlertKind, FeedbackAction
from newsbot.storage.database import Storage

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def describe_feedback(config: Config, since: datetime | None) -> str:
    period = f"since {since:%Y-%m-%d %H:%M} UTC" if since else "since the first alert"
    with reading(config) as storage:
        if storage is None:
            return f"No run yet: {config.database} does not exist. Run `newsbot run` first."
        lines = precision_lines(config, storage.tallies(since))
    return "\n".join([f"Feedback from Slack, {period}:", *lines])


def find_watchlist(config: Config, wanted: str) -> Watchlist:
    """A configured watchlist by its name, its file's name or stem, or its path."""
    for watchlist in config.watchlists:
        names = (watchlist.config.name, watchlist.path.name, watchlist.path.stem)
        if wanted.casefold() in (name.casefold() for name in names) or watchlist.path == Path(wanted).resolve():
            return watchlist
    known = ", ".join(f"'{watchlist.config.name}' ({watchlist.path.name})" for watchlist in config.watchlists)
    raise ConfigError(f"{config.path}: no watchlist is named or stored as '{wanted}'; there are {known}")


def tune(config: Config, watchlist: Watchlist, since: datetime | None, apply: int | None) -> str:
    """The proposals as a numbered list; with `apply`, that proposal written into the file."""
    with reading(config) as storage:
        judged, unjudged = _judged(storage, watchlist.config.name, since) if storage else ([], [])
    proposals = propose(watchlist, judged, [alert.story for alert in unjudged])
    wrong = sum(not item.relevant for item in judged)
    basis = (
        f"{wrong} alert{'s' * (wrong != 1)} marked not relevant, {len(judged) - wrong} marked relevant "
        f"and {len(unjudged)} nobody judged in '{watchlist.config.name}'"
    )
    lines = describe_proposals(proposals, basis, wrong, len(judged) - wrong)
    if apply is not None:
        if not 1 <= apply <= len(proposals):
            raise ConfigError(f"there is no proposal {apply} to apply (there are {len(proposals)})")
        apply_proposal(watchlist, proposals[apply - 1])
        lines.append(f"Applied {apply} to {watchlist.path}: {proposals[apply - 1].edit.describe()}")
    elif proposals:
        lines.append(f"Nothing was changed; `newsbot tune '{watchlist.config.name}' --apply N` writes proposal N.")
    return "\n".join(lines)


def _judged(storage: Storage, watchlist: str, since: datetime | None) -> tuple[list[Judged], list[Alert]]:
    """The watchlist's sent alerts someone judged (as Judged stories), and the ones nobody did. Not the
    "also in" lines of a story's copies: they carry no buttons, so nobody can judge them (as `feedback`
    counts them: no alert sent), and each was "nobody judged" beside its judged original."""
    sent = storage.sent_alerts_since(since or EPOCH)
    alerts = [alert for alert in sent if alert.match.watchlist == watchlist and alert.kind is not AlertKind.ALSO_IN]
    verdicts = storage.verdicts(alert.id for alert in alerts)
    judged = [
        Judged(alert.story, verdicts[alert.id] is FeedbackAction.RELEVANT) for alert in alerts if alert.id in verdicts
    ]
    return judged, [alert for alert in alerts if alert.id not in verdicts]


def describe_proposals(proposals: Sequence[Proposal], basis: str, wrong: int, right: int) -> list[str]:
    if not proposals:
        return [f"From {basis}: no edit to propose (none marked not relevant, or no edit would remove one)."]
    lines = [f"From {basis}, each edit tried on those stories:"]
    for number, proposal in enumerate(proposals, start=1):
        others = f"; {proposal.other_removed} unjudged alerts would go too" if proposal.other_removed else ""
        lines.append(
            f"{number:>3}. {proposal.edit.describe()}: removes {proposal.removes} of {wrong} not relevant, "
            f"loses {proposal.loses} of {right} relevant{others}"
        )
    return lines


def apply_proposal(watchlist: Watchlist, proposal: Proposal) -> None:
    """The edit written as text (comments and layout kept), checked to load as exactly that edit
    before it replaces the file; ${VARIABLES} are compared as written. An edit that makes one of the
    file's passing `examples:` fail is refused: the file may have changed since the proposal was
    made, and a run, which does not run the examples, would go on without a word."""
    edit = proposal.edit
    text = read_config_text(watchlist.path)  # as it is: CRLF line ends stay CRLF
    if edit.key == "near" and edit.near is not None:
        changed = set_rule_value(text, edit.target, "near", edit.near)
    else:
        changed = add_to_vendor_list(text, edit.target, edit.key, edit.values)
    current = load_watchlist(watchlist.path, require_env=False)
    expected = edit.apply(current.config)
    broken = examples_broken_by(current, expected, passing_examples(current))
    if broken:
        raise ConfigError(
            f"{watchlist.path}: not applied: {edit.describe()} would make the watchlist's own examples fail:\n"
            + "\n".join(broken)
        )

    def says_the_edit(written: Path) -> None:
        if load_watchlist(written, require_env=False).config != expected:
            raise ConfigError(f"{watchlist.path}: the edit as text would change more than {edit.describe()}")

    replace_checked(watchlist.path, changed, says_the_edit, what="the watchlist")
