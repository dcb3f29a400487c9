"""Each new story's cluster: the one of the earlier story it is a copy of (newsbot.clustering.clusters
decides what is a copy), or its own. Runs over what is stored, in the order it was stored, so a
cluster's first story is always its first in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from newsbot.clustering.clusters import MIN_SAMPLED, Fingerprint, Neighbour, compare, fingerprint
from newsbot.models import Story
from newsbot.storage.database import Storage
from newsbot.storage.records import batched

STAGE_BATCH = 100  # stories clustered per commit: short enough that a store never waits long


def assign_clusters(
    storage: Storage, now: datetime, window: timedelta, should_stop: Callable[[], bool] = lambda: False
) -> None:
    """Give every new story a cluster: the one of the earlier story it is a copy of, or its own.
    `should_stop` is asked before each story (the rest waits for the next pass or run)."""
    since = now - window
    storage.prune_shingles(since)
    for batch in batched(storage.unclustered_stories(), STAGE_BATCH):
        with storage.transaction():  # one commit per batch, not per story
            for story in batch:
                if should_stop():
                    return  # what is done is committed
                _assign_cluster(storage, story, now, since)


def _assign_cluster(storage: Storage, story: Story, now: datetime, since: datetime) -> None:
    shingles = fingerprint(cluster_text(story))
    if shingles is None:
        storage.record_cluster(story.id, story.id, None, None, (), now)
        return
    neighbour = nearest_story(storage, story, shingles, since)
    cluster = neighbour.cluster_id if neighbour and neighbour.joins else story.id
    score = neighbour.containment if neighbour else None
    note = neighbour.why_not if neighbour else ""
    storage.record_cluster(story.id, cluster, score, neighbour and neighbour.story_id, shingles.sampled, now, note)


def nearest_story(storage: Storage, story: Story, shingles: Fingerprint, since: datetime) -> Neighbour | None:
    """The stored story most like this one, and whether this one is a copy of it."""
    boilerplate = frozenset(storage.boilerplate(shingles.sampled, since))
    if len(shingles.sampled - boilerplate) < MIN_SAMPLED:
        return None
    candidates = storage.cluster_candidates(shingles.sampled - boilerplate, since)
    stories = storage.stories_by_id(candidate for candidate, _, _ in candidates)
    best: Neighbour | None = None
    for candidate, cluster, _ in candidates:
        other = fingerprint(cluster_text(stories[candidate])) if candidate in stories else None
        if other is None:
            continue
        same_site = _site(story.url) == _site(stories[candidate].url)
        score, why_not = compare(shingles, other, boilerplate, same_site=same_site)
        neighbour = Neighbour(candidate, cluster, round(score, 3), not why_not, why_not)
        if best is None or (neighbour.joins, neighbour.containment) > (best.joins, best.containment):
            best = neighbour
    return best


def _site(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def cluster_text(story: Story) -> str:
    """What copies share: the summary and text (a re-titled copy keeps the body)."""
    return f"{story.summary}\n{story.text}"
