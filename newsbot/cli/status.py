"""Read-only views of the database: `newsbot status`, `search`, and the stories others read."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from newsbot.alerts.deliver import DELIVERY_FAILING
from newsbot.alerts.slack import longest_post_with
from newsbot.cli.mutes import status_lines as mute_status_lines
from newsbot.cli.precision import precision_lines
from newsbot.clock import SYSTEM_CLOCK
from newsbot.clustering.clusters import CONTAINMENT, MIN_WORDS
from newsbot.configuration.config import Config
from newsbot.configuration.opml import OpmlFeed
from newsbot.errors import StorageError
from newsbot.models import Alert, AlertStatus, StoredStory, Story
from newsbot.pipeline.health import Health, HealthChange, HealthState
from newsbot.storage.database import Storage
from newsbot.storage.records import RunRecord, SourceState, TriedAlert, iso
from newsbot.stories.urls import canonical_url


def describe_status(config: Config) -> str:
    """A report for a person; it never writes to the database."""
    with reading(config) as storage:
        if storage is None:
            if config.database.exists():
                return (
                    f"No run yet: {config.database} is empty (a first run that failed leaves it so: see what "
                    "it printed, or cron's mail). Run `newsbot run`."
                )
            return f"No run yet: {config.database} does not exist. Run `newsbot run` first."
        return "\n".join(_report(config, storage))


def search_stories(config: Config, query: str, limit: int) -> tuple[list[Story], str | None]:
    """Stories whose title, summary or text match an FTS query, best first, and why the query is not
    FTS syntax when it is not (Storage.search then looks for its words as typed: `Mitto's` finds Mitto's)."""
    problem = _fts_syntax_problem(query)
    if problem and not re.search(r"\w", query):  # no word to look for as typed either ('', '"')
        return [], problem
    # As typed, "-SS7" is the word SS7: the stories to leave out. Not inside quotes ("DO NOT CALL).
    if problem and _NEGATION.search(_QUOTED.sub(" ", query)):
        return [], f"{problem}; to leave stories out, NOT goes between two parts: Mitto NOT SS7"
    with reading(config) as storage:
        return (storage.search(query, limit=limit) if storage else []), problem


_QUOTED = re.compile(r'"[^"]*(?:"|$)')  # a phrase, or one whose quote is never closed
_NEGATION = re.compile(r"(?:^|[\s(])-\w|\bNOT\b")  # FTS5's NOT is upper case; a leading - is no operator
_FTS_COLUMNS = ("title", "summary", "text")  # those of the stories' full-text index (newsbot.storage.schema)


def _fts_syntax_problem(query: str) -> str | None:
    """What SQLite's FTS5 parser finds wrong with `query`, in words, or None.

    The parser is SQLite's own, run on an empty in-memory table with the index's columns: the only
    judge of the syntax, and one that needs no database (nor reads the stored index).
    """
    if not query.strip():  # SQLite's own words for it would be "it ends where a word should follow"
        return "it is empty"
    with contextlib.closing(sqlite3.connect(":memory:")) as connection:
        connection.execute(f"CREATE VIRTUAL TABLE probe USING fts5({', '.join(_FTS_COLUMNS)})")
        try:
            connection.execute("SELECT rowid FROM probe WHERE probe MATCH ?", [query]).fetchall()
        except sqlite3.OperationalError as error:
            return _fts_error_in_words(str(error))
    return None


def _fts_error_in_words(message: str) -> str:
    if message == "unterminated string":
        return 'a double quote (") is not closed'
    if (near := re.fullmatch(r'fts5: syntax error near "(.*)"', message, re.DOTALL)) is not None:
        if near.group(1) == "":
            return "it ends where a word should follow (after AND, OR, NOT, '(' or a ':')"
        return (
            f"it cannot be read at '{near.group(1)}' (AND, OR and NOT need a word on each side, parentheses "
            'must pair, and punctuation belongs inside "double quotes")'
        )
    if (column := re.fullmatch(r"no such column: (.*)", message, re.DOTALL)) is not None:
        return (
            f"'{column.group(1)}' is read as a column (after ':' or '-'), and the columns are "
            f'{", ".join(_FTS_COLUMNS)}; put a word with - or : in "double quotes"'
        )
    if message.startswith("unknown special query"):
        return "'*' finishes a word's prefix (SS7*) and cannot stand alone"
    return f"SQLite says: {message}"


def stored_story(config: Config, url: str) -> StoredStory | None:
    """The stored story with this URL (canonicalised first, as stories are stored): an item stored at
    its anchor (a FeedEntry that is `anchored`) with its fragment, any other without."""
    with reading(config) as storage:
        if storage is None:
            return None
        return storage.story_by_url(canonical_url(url, keep_fragment=True)) or storage.story_by_url(canonical_url(url))


def too_old_line(story: Story, first_seen: datetime, max_age_days: float) -> str:
    """Why a story whose rules fire below got no alert: the run leaves a story this old alone."""
    published = story.published_at.date().isoformat() if story.published_at else "undated"
    return (
        f"Age: published {published}, first seen {first_seen:%Y-%m-%d}: too old to alert (max_age_days: "
        f"{max_age_days:g}), so a run queues no alert for it, whatever fires below.\n"
    )


def exportable_feeds(config: Config) -> tuple[list[OpmlFeed], list[tuple[str, str]]]:
    """Feed sources as OPML outlines (a `site:` by the feed it was found to have), and the rest."""
    with reading(config) as storage:
        found = storage.fetch_state(source.name for source in config.settings.sources) if storage else {}
    feeds, left_out = [], []
    for source in config.settings.sources:
        if source.feed:
            feeds.append(OpmlFeed(source.name, source.feed))
        elif source.site and (feed_url := found[source.name].feed_url if source.name in found else None):
            feeds.append(OpmlFeed(source.name, feed_url, source.site))
        elif source.site:
            left_out.append((source.name, "its feed is not known yet (run newsbot first)"))
        else:
            left_out.append((source.name, f"a {source.kind.value}: source has no feed URL for OPML"))
    return feeds, left_out


def story_cluster(config: Config, story: Story) -> str:
    """Which cluster a stored story joined and why: its score against its nearest neighbour."""
    with reading(config) as storage:
        cluster = storage.cluster_of(story.id) if storage else None
        neighbour = storage.stories_by_id([cluster.neighbour]) if storage and cluster and cluster.neighbour else {}
    if cluster is None:
        return "Cluster: not assigned yet (the next `newsbot run` does it)."
    score = cluster.score
    nearest = next(iter(neighbour.values()), None)
    others = [member for member in cluster.members if member.id != story.id]
    if cluster.cluster_id == story.id:
        head = "Cluster: this story is the first of its cluster"
    else:
        root = next((member for member in cluster.members if member.id == cluster.cluster_id), None)
        head = f"Cluster: joined the cluster of '{root.title if root else cluster.cluster_id}'"
    lines = [f"{head} ({len({member.id for member in cluster.members})} stories)."]
    if nearest is not None and score is not None:
        verdict = f"not joined: {cluster.note}" if cluster.note else f"at least {CONTAINMENT}: joined"
        lines.append(f"  nearest: '{nearest.title}' ({nearest.source}): containment {score:.2f}, {verdict}")
    elif score is None:
        lines.append(f"  no stored story shares enough of its text (or it is shorter than {MIN_WORDS} words)")
    lines += [f"  also: {member.source}: {member.title} ({member.url})" for member in others]
    return "\n".join(lines)


def sent_alerts_since(config: Config, when: datetime) -> list[Alert]:
    with reading(config) as storage:
        return storage.sent_alerts_since(when) if storage else []


def stories_since(config: Config, when: datetime) -> tuple[list[StoredStory], list[StoredStory]]:
    """The stories first seen since `when`, and the earlier stories of their clusters."""
    with reading(config) as storage:
        if storage is None:
            return [], []
        stories = storage.stories_since(when)
        return stories, storage.earlier_in_clusters(stories, when)


@contextlib.contextmanager
def reading(config: Config) -> Iterator[Storage | None]:
    """The database opened for reading, or None before a first run has set it up."""
    if not config.database.exists():
        yield None
        return
    storage = Storage.open(config.database, migrate=False)
    if storage.is_empty():  # not "written by an older newsbot": none wrote it (a first run failed?)
        storage.close()
        yield None
        return
    if storage.needs_upgrade():
        storage.close()
        raise StorageError(
            f"{config.database} was written by an older newsbot; `newsbot run` upgrades it (this command only reads)"
        )
    try:
        yield storage
    finally:
        storage.close()


def _source_lines(name: str, state: SourceState) -> list[str]:
    """One line per source, and a second saying what is wrong when something is."""
    result = (state.last_status or "").replace("_", " ")
    if state.last_error:
        result = f"error: {state.last_error}"
        if state.consecutive_failures > 1:
            result += f" ({state.consecutive_failures} runs in a row)"
    found = f", feed found: {state.feed_url}" if state.feed_url else ""
    lines = [f"  {name}: last fetch {state.last_fetch_at}, {result}, {state.stories} stories{found}"]
    if state.health and state.health != "ok":
        lines.append(f"    {state.health.upper().replace('_', ' ')} since {state.health_since}: {state.health_detail}")
    if state.last_warning:
        lines.append(f"    warning: {state.last_warning}")
    return lines


def _report(config: Config, storage: Storage) -> list[str]:
    rows = {state.name: state for state in storage.source_rows()}
    lines = [
        *_at_a_glance(config, storage),
        f"Database: {config.database} ({storage.story_count()} stories)",
        "Sources:",
    ]
    for source in config.settings.sources:
        row = rows.get(source.name)
        if row is None:
            lines.append(f"  {source.name}: not fetched yet")
            continue
        lines += _source_lines(source.name, row)
    clusters = storage.clusters()
    if clusters:
        lines.append("Clusters (copies of one story, newest first):")
        for cluster in clusters:
            outlets = ", ".join(sorted(set(cluster.outlets)))
            lines.append(f"  {cluster.size} stories since {cluster.first_seen}: '{cluster.title}' — in {outlets}")
    counts = storage.alert_counts()
    unconfirmed = counts[AlertStatus.UNCONFIRMED]
    shown = f", {unconfirmed} unconfirmed" if unconfirmed else ""
    owed = storage.details_owed()
    shown += f"; {owed} full messages still owed to their digests' threads" if owed else ""
    lines.append(f"Alerts: {counts[AlertStatus.PENDING]} pending, {counts[AlertStatus.SENT]} sent{shown}")
    failing_after = _failing_after(config)
    now = SYSTEM_CLOCK.now()
    for alert in storage.undelivered():
        state = "FAILING" if alert.created_at < now - failing_after else "not delivered yet"
        if alert.status is AlertStatus.UNCONFIRMED:
            state = "unconfirmed"
        if _being_sent(config, alert, now):
            state = "being sent"
        lines.append(
            f"  {state}: '{alert.title}' ({alert.watchlist}) to {alert.destination}, "
            f"{alert.attempts} attempts since {iso(alert.created_at)}; {_why_waiting(config, alert, now)}"
        )
    lines += mute_status_lines(storage, SYSTEM_CLOCK.now())
    tallies = storage.tallies()
    if tallies:
        lines += ["Feedback from Slack (precision: marked relevant ÷ judged):", *precision_lines(config, tallies)]
    last = storage.last_run()
    if last:
        summary = last.summary
        lines.append(
            f"Last run: {last.started_at} → {last.finished_at}: {summary['new_stories']} new "
            f"stories, {summary['matches']} matches, {summary['alerts_sent']} alerts sent, "
            f"{len(summary['failed_sources'])} sources failed"
        )
    return lines


def _at_a_glance(config: Config, storage: Storage) -> list[str]:
    """The morning look, before the details: one line of counts, then what needs a person, worst
    first (a source that stopped working, alerts that cannot get out, a run that did not finish)."""
    now = SYSTEM_CLOCK.now()
    states = storage.fetch_state(source.name for source in config.settings.sources)
    last = storage.last_run()
    attention = [
        *_sources_needing_attention(config, states),
        *_alerts_needing_attention(config, storage, now),
        *_runs_needing_attention(states, last),
        *_runs_stopped_coming(storage.run_starts(RUNS_FOR_THE_PACE + 1), now),
    ]
    lines = [_summary_line(config, states, storage.alert_counts(), last, now)]
    lines += ["Needs attention:", *(f"  - {item}" for item in attention)] if attention else ["Nothing needs attention."]
    return [*lines, ""]


FAILED_LAST_FETCH = "failed their last fetch"
RUNS_FOR_THE_PACE = 10  # the gaps between the last this many runs and the one before them set the pace
MIN_RUNS_FOR_THE_PACE = 4
STOPPED_AFTER_GAPS = 3
STOPPED_AT_LEAST = timedelta(hours=2)  # runs by hand while setting up must not make an hourly cron look stopped


def _health_word(state: SourceState | None) -> str:
    """A source's health for the summary line. A source whose last fetch failed is not yet failing
    (that takes `health.failing_after_runs` in a row), but it is not "ok" either: a summary of 19
    sources ok above the 15 lines of their errors once read as a contradiction."""
    if state is None:
        return "unfetched"
    health = state.health or HealthState.OK
    return FAILED_LAST_FETCH if health == HealthState.OK and state.consecutive_failures else health


def _summary_line(
    config: Config,
    states: Mapping[str, SourceState],
    counts: Mapping[AlertStatus, int],
    last: RunRecord | None,
    now: datetime,
) -> str:
    health = Counter(_health_word(states.get(source.name)) for source in config.settings.sources)
    sources = (
        f"{health[HealthState.OK]} sources ok, {health[HealthState.FAILING]} failing, {health[HealthState.STALE]} stale"
    )
    words_of = (
        (FAILED_LAST_FETCH, FAILED_LAST_FETCH),
        (HealthState.NO_LINKS, "finding no links"),
        ("unfetched", "not fetched yet"),
    )
    for key, words in words_of:
        sources += f", {health[key]} {words}" if health[key] else ""
    unconfirmed = counts[AlertStatus.UNCONFIRMED]
    alerts = f"{counts[AlertStatus.PENDING]} alerts pending" + (f", {unconfirmed} unconfirmed" if unconfirmed else "")
    if last is None:
        return f"Summary: {sources}; {alerts}; no run recorded yet"
    started = datetime.fromisoformat(last.started_at).astimezone(UTC)
    return (
        f"Summary: {sources}; {alerts}; last run {started:%Y-%m-%d %H:%M} UTC ({_ago(now - started)}), "
        f"took {last.summary['seconds']:.1f} s"
    )


def _sources_needing_attention(config: Config, states: Mapping[str, SourceState]) -> list[str]:
    """Sources whose health is not OK, in the words their notice used, the broken before the stale."""
    worst_first = [HealthState.FAILING, HealthState.NO_LINKS, HealthState.STALE]
    unwell = []
    for source in config.settings.sources:
        state = states.get(source.name)
        if state and state.health and state.health != HealthState.OK:
            health = Health(HealthState(state.health), state.health_detail or "")
            unwell.append((HealthChange(source.name, health), state.health_since))
    unwell.sort(key=lambda found: worst_first.index(found[0].health.state))  # stable: config order within each
    return [f"{change.text} (since {since})" for change, since in unwell]


def _alerts_needing_attention(config: Config, storage: Storage, now: datetime) -> list[str]:
    """Alerts tried and not delivered: failing for longer than failing_after (with whether the
    "delivery is failing" notice went out), unconfirmed, and still being retried."""
    failing_after = _failing_after(config)
    tried = [alert for alert in storage.undelivered() if not _being_sent(config, alert, now)]
    unconfirmed = [alert for alert in tried if alert.status is AlertStatus.UNCONFIRMED]
    waiting = [alert for alert in tried if alert.status is not AlertStatus.UNCONFIRMED]
    failing = [alert for alert in waiting if alert.created_at < now - failing_after]
    retrying = [alert for alert in waiting if alert.created_at >= now - failing_after]
    items = []
    if failing:
        episode = (min(alert.created_at for alert in failing) + failing_after).replace(microsecond=0)
        notice = storage.last_notice(DELIVERY_FAILING)
        announced = (
            f"the 'delivery is failing' notice went out at {iso(notice)}"
            if notice is not None and notice >= episode
            else "no 'delivery is failing' notice has gone out yet (it goes once Slack answers again)"
        )
        hours = failing_after.total_seconds() / 3600
        items.append(f"{len(failing)} alerts undelivered for more than {hours:g} h ({_causes(failing)}); {announced}")
    if unconfirmed:
        items.append(
            f"{len(unconfirmed)} alerts unconfirmed: a crash or a lost answer left unknown whether Slack has them, "
            "and delivery: at_most_once does not send them again; look in the channel"
        )
    if retrying:
        items.append(f"{len(retrying)} alerts not delivered yet, tried again each run ({_causes(retrying)})")
    return items


def _runs_needing_attention(states: Mapping[str, SourceState], last: RunRecord | None) -> list[str]:
    """A run that left no record (killed, or ended by its watchdog), or was cut short (its budget
    was spent, or a signal stopped it). A run that is over when its crawl is (within the budget)
    but delivers for longer is not listed: the delivery allowance after the budget is for that."""
    items = []
    fetched = [datetime.fromisoformat(state.last_fetch_at) for state in states.values() if state.last_fetch_at]
    if fetched and (last is None or max(fetched) > datetime.fromisoformat(last.finished_at)):
        items.append(
            f"sources were fetched at {iso(max(fetched))}, after the last recorded run: a run is under way, or one "
            "ended without recording itself (killed, or stopped by its watchdog); the next run completes its work"
        )
    if last is None:
        return items
    cut_short: dict[str, str] = last.summary.get("cut_short") or {}
    # Stories stored and not yet matched: a run stopped while it clustered or matched left thousands,
    # with no alert pending yet, and this said "Nothing needs attention".
    waiting = last.summary.get("stories_waiting") or 0
    stories = "1 story waits" if waiting == 1 else f"{waiting} stories wait"
    unmatched = f"; {stories} to be matched" if waiting else ""
    stopped = last.summary.get("stopped")
    pending = last.summary.get("alerts_pending") or 0
    if cut_short:  # its budget was spent, or a signal stopped it: the reason says which
        # Each source's reason, without what it adds of that source alone ("; 3 stories wait for
        # the next run", its articles): "(interrupted; interrupted; 1 story waits …)" said it twice.
        reasons = "; ".join(sorted({reason.split("; ")[0] for reason in cut_short.values()}))
        sources = "1 source waits" if len(cut_short) == 1 else f"{len(cut_short)} sources wait"
        alerts = f"; {pending} alerts wait to be sent" if pending else ""
        items.append(f"the last run was cut short ({reasons}): {sources} for the next run{alerts}{unmatched}")
    elif stopped and pending:
        # Stopped after its crawl, while it delivered: no source waits, but alerts do.
        items.append(
            f"the last run was stopped while it delivered ({stopped}): "
            f"{pending} alerts wait for the next run{unmatched}"
        )
    elif stopped and waiting:
        items.append(f"the last run was stopped before it matched every story ({stopped}): {stories} for the next run")
    items += [_helper_failure(failure) for failure in last.summary.get("helper_failures") or []]
    return items


def _helper_failure(failure: str) -> str:
    """A helper process's failure as the run logged it ("the clustering process failed (ended by
    signal 9); clustering continues in the run's process"), told after the fact: the run did the
    helper's work itself (what its budget left undone is a cut-short line of its own), and a SIGKILL
    nobody sent is most often the kernel's, for memory."""
    what = failure.split("; ", maxsplit=1)[0]
    hint = "; a signal 9 nobody sent is most often the kernel's out-of-memory killer (see `dmesg`)"
    return f"in the last run, {what}: the run went on without it, more slowly" + (hint if "signal 9" in what else "")


def _runs_stopped_coming(starts: list[datetime], now: datetime) -> list[str]:
    """Runs that came at a steady pace and then stopped: cron no longer runs newsbot (a crontab
    edited away, a machine rebuilt), and nothing else would say so, since no run is left to fail.
    The pace is the median gap between the last runs' starts (a run by hand now and then does not
    move it); a gap of three of them, and two hours at least, is a stop."""
    if len(starts) < MIN_RUNS_FOR_THE_PACE:
        return []
    gaps = sorted(later - earlier for earlier, later in pairwise(starts))
    pace = gaps[len(gaps) // 2]
    quiet = now - starts[-1]
    if quiet < max(STOPPED_AFTER_GAPS * pace, STOPPED_AT_LEAST):
        return []
    return [
        f"no run since {iso(starts[-1])} ({_ago(quiet)}), where the last {len(starts)} came about every "
        f"{_span(pace)}: is cron still running newsbot?"
    ]


def _span(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    if minutes < 120:
        return f"{max(minutes, 1):.0f} min"
    return f"{minutes / 60:.0f} h" if minutes < 48 * 60 else f"{minutes / 1440:.0f} days"


def _failing_after(config: Config) -> timedelta:
    """How long an alert may wait before its delivery counts as failing (as alerts.deliver judges it)."""
    slack = config.settings.slack
    return timedelta(hours=slack.failing_after_hours if slack else 6)


def _causes(alerts: list[TriedAlert]) -> str:
    """Each destination and why its alerts wait. An alert in flight has no error (its answer was lost,
    or a run was killed while it was sent): it once showed as "#vendor-news: None"."""
    return "; ".join(sorted({f"{alert.destination}: {alert.last_error or IN_FLIGHT}" for alert in alerts}))


def _why_waiting(config: Config, alert: TriedAlert, now: datetime) -> str:
    if alert.last_error:
        return alert.last_error
    return "a run is sending it now" if _being_sent(config, alert, now) else IN_FLIGHT


def _being_sent(config: Config, alert: TriedAlert, now: datetime) -> bool:
    """In flight since less than one post may take: a run (or a digest) is sending it now. Shown as
    "sent, its answer lost" in the Needs-attention list of a `status` read during a run's delivery."""
    started = alert.attempt_started_at
    if alert.status is not AlertStatus.SENDING or alert.last_error or started is None:
        return False
    return now - started < timedelta(seconds=longest_post_with(config.settings.slack))


IN_FLIGHT = "sent, its answer lost: a bot token looks it up before sending again, a webhook follows delivery:"


def _ago(span: timedelta) -> str:
    return "just now" if span < timedelta(minutes=1) else f"{_span(span)} ago"
