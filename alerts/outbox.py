"""What a story's matches become in the outbox: an alert, an "also in" of an earlier alert of its
cluster, or an alert that says it continues an earlier story; and no alert at all for a story too
old to alert. A match that a mute set from Slack covers at the run's time (its story's cluster, or
every vendor it names, muted in its watchlist) is queued as a muted alert: kept and explained, never
sent. The delivery policy that drains the outbox is newsbot.alerts.deliver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from itertools import islice

from newsbot.matching.matcher import Matcher
from newsbot.models import AlertKind, Match, RunSummary, StoredStory, Story
from newsbot.storage.database import Storage
from newsbot.storage.records import alert_id, batched

STAGE_BATCH = 100  # stories matched per commit: short enough that a store never waits long


def too_old_to_alert(published: datetime, now: datetime, max_age_days: float) -> bool:
    """A story published this long ago is no news to a security team: it gets no alert, so its
    matches are not worth finding (an undated story counts from when it was first seen)."""
    return published < now - timedelta(days=max_age_days)


def too_old_when_first_seen(stored: StoredStory, max_age_days: float) -> bool:
    """Whether the run that first saw this story left it without an alert (`too_old_to_alert` then):
    what `backtest` and `explain --url` say of a stored story."""
    first_seen = stored.first_seen
    return too_old_to_alert(stored.story.published_at or first_seen, first_seen, max_age_days)


class MatchedAhead:
    """Stories matched before their turn, while the clustering process decides their batch: the
    stage thread would otherwise only wait for it, and then match them after, one core idle.

    A story's matches depend on its text and the watchlists alone, never on its cluster, so they
    can be found before it is clustered; what they become in the outbox (alert, "also in") waits
    for the cluster, in `queue_matches`, which takes them from here. A story that gets no alert
    (too old, or nothing found) needs no cluster for that: it is marked matched with its batch,
    still during the wait. Left to `queue_matches`, marking a cold run's 20,000 such stories took
    the last third of a second after the last batch was written, the second core idle."""

    def __init__(
        self,
        matcher: Matcher,
        storage: Callable[[], Storage],
        now: Callable[[], datetime],
        max_age_days: float,
        summary: RunSummary,
        should_stop: Callable[[], bool] = lambda: False,
    ):
        self._matcher = matcher
        self._storage = storage  # the calling thread's connection
        self._now, self._max_age_days = now, max_age_days
        self._summary, self._should_stop = summary, should_stop
        self._found: dict[str, list[Match]] = {}

    def while_deciding(self, ids: list[str]) -> Iterator[None]:
        """Matches the batch's stories, yielding after each, then marks matched those that get no alert
        (unless told to stop: they then wait for `queue_matches`, or the next run). Those published
        too long ago to alert (most of a cold run's, whose feeds reach back weeks) are not matched."""
        now = self._now()
        too_old: list[str] = []
        nothing: list[str] = []
        for story in self._storage().unmatched_of(ids):
            # Undated, it was first seen in this run: young enough.
            if story.published_at is not None and too_old_to_alert(story.published_at, now, self._max_age_days):
                too_old.append(story.id)
            elif found := self._matcher.match_story(story):
                self._found[story.id] = found
            else:
                nothing.append(story.id)
            yield
        if self._should_stop():
            self._found.update((story, []) for story in nothing)
            return
        storage = self._storage()
        with storage.transaction():
            storage.mark_matched(too_old + nothing, now)
        self._summary.too_old += len(too_old)

    def matches(self, story: Story) -> list[Match]:
        found = self._found.pop(story.id, None)
        return found if found is not None else self._matcher.match_story(story)

    def found_nothing(self, story: str) -> bool:
        """Whether the story was matched ahead and matched nothing, and is not marked yet (it is then
        forgotten here)."""
        if self._found.get(story) == []:
            del self._found[story]
            return True
        return False


def queue_matches(
    storage: Storage,
    matcher: Matcher,
    max_age_days: float,
    summary: RunSummary,
    now: datetime,
    should_stop: Callable[[], bool] = lambda: False,
    ahead: MatchedAhead | None = None,
) -> None:
    """Match every unmatched story; only stories young enough get alerts queued.

    A copy in a cluster whose earlier story already alerted a watchlist is queued as an "also in"
    of that alert, unless it matched a rule or named a vendor the earlier alerts did not: then it
    alerts, saying it continues the earlier story. A story `ahead` matched already is not matched again.
    """
    if not _marked_unread(storage, max_age_days, summary, now, should_stop, ahead):
        return
    matches_of = ahead.matches if ahead else matcher.match_story
    waiting = storage.unmatched_stories(STAGE_BATCH)
    while batch := list(islice(waiting, STAGE_BATCH)):
        # Matched before the batch's transaction: a source being stored meanwhile waits only for the writes.
        matched = []
        for story, first_seen in batch:
            if should_stop():
                break  # what is matched is recorded
            too_old = too_old_to_alert(story.published_at or first_seen, now, max_age_days)
            matched.append((story, too_old, [] if too_old else matches_of(story)))
        with storage.transaction():  # one commit per batch; each story's alerts and mark stay together
            # Most stories match nothing: they are marked together, their clusters never looked up.
            storage.mark_matched([story.id for story, _, matches in matched if not matches], now)
            for story, too_old, found in matched:
                summary.too_old += too_old
                if not found:
                    continue
                cluster = storage.cluster_id(story.id)
                follows = _follows(storage, cluster, found) if cluster and cluster != story.id else {}
                # The same outlet's story again under another address (a cache-busting query), where
                # that outlet already has its alert or line in this cluster and watchlist: "Also in
                # Desk" under Desk's own alert, posted every run, said nothing.
                matches = [
                    match
                    for match in found
                    if not (
                        follows.get(match.watchlist, (AlertKind.ALERT,))[0] is AlertKind.ALSO_IN
                        and storage.outlet_alerted(cluster or story.id, story, match.watchlist)
                    )
                ]
                summary.matches += sum(
                    follows.get(match.watchlist, (AlertKind.ALERT,))[0] != AlertKind.ALSO_IN for match in matches
                )
                storage.record_matches(story, matches, now, follows)
                for match in matches:
                    mute = storage.mute_for(match.watchlist, match.vendors, cluster, now)
                    if mute is not None:
                        storage.mark_muted(alert_id(story.id, match.watchlist), mute)
        if len(matched) < len(batch):
            return


def _marked_unread(
    storage: Storage,
    max_age_days: float,
    summary: RunSummary,
    now: datetime,
    should_stop: Callable[[], bool],
    ahead: MatchedAhead | None,
) -> bool:
    """Marks matched, without reading their texts, the waiting stories that need none: those too
    old to alert and those `ahead` matched with nothing found, most of a cold run's. Read back only
    to be marked, 20,000 of them took 0.8 s after the pass's clustering, the second process idle.
    False if told to stop first (asked before each batch with something to mark)."""
    for batch in batched(storage.unmatched_ages()):
        too_old = [story for story, dated in batch if too_old_to_alert(dated, now, max_age_days)]
        old = set(too_old)
        nothing = [story for story, _ in batch if ahead and story not in old and ahead.found_nothing(story)]
        if not too_old and not nothing:
            continue
        if should_stop():
            return False
        with storage.transaction():
            storage.mark_matched(too_old + nothing, now)
        summary.too_old += len(too_old)
    return True


def _follows(storage: Storage, cluster: str, matches: list[Match]) -> dict[str, tuple[AlertKind, str | None]]:
    """What a copy's match is beside the cluster's earlier alerts (`kind_beside`), and the first of them."""
    follows: dict[str, tuple[AlertKind, str | None]] = {}
    for match in matches:
        earlier = storage.cluster_alerts(cluster, match.watchlist)
        kind = kind_beside(match, [(alert.rules, alert.vendors) for alert in earlier])
        follows[match.watchlist] = (kind, earlier[0].id if earlier else None)
    return follows


def kind_beside(match: Match, earlier: Sequence[tuple[set[str], set[str] | None]]) -> AlertKind:
    """What a copy's match (a story that joined an earlier one's cluster) is beside the (rules, vendors)
    of the cluster's earlier alerts in one watchlist: news of its own (CONTINUES) when it fires a rule
    they did not, or names a vendor they did not (so always, when there are none); else an "also in"
    of the first. A copy naming a second supplier breached was an "also in" line, and that supplier's
    team never heard. Vendors None: alerts queued before vendors were recorded, which name no vendor
    as new."""
    new_rules = {hit.rule for hit in match.rules} - set().union(*(rules for rules, _ in earlier))
    named = [vendors for _, vendors in earlier if vendors is not None]
    new_vendors = len(named) == len(earlier) and bool(set(match.vendors).difference(*named))
    return AlertKind.CONTINUES if new_rules or new_vendors else AlertKind.ALSO_IN
