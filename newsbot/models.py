"""The data that flows one way through a run: fetch → entry → story → match → alert.

Each stage has its own frozen type, so a stage can be tested with values built by hand and a
later issue can deepen one stage without touching the others.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime


class SourceKind(enum.StrEnum):
    FEED = "feed"  # RSS, Atom or JSON Feed
    SITE = "site"  # a home page whose <link rel="alternate"> names the feed
    LISTING = "url"  # an HTML page of story links, picked by a selector
    SITEMAP = "sitemap"  # a (Google News) XML sitemap
    SPIDER = "spider"  # a user's own Scrapy spider in spiders/


class FullText(enum.StrEnum):
    AUTO = "auto"  # fetch the article when the feed gives only a teaser
    ALWAYS = "always"
    NEVER = "never"


NO_AGE_LIMIT = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SourceRequest:
    """Everything the spiders need to fetch one source politely, with what the last run learned.

    `url` is what the config names; `feed_url` is the feed a `site:` source was found to have
    (fetched directly until it stops working). `etag`, `last_modified` and `body_hash` come from
    the last successful fetch, so an unchanged source costs one 304 and no parsing.
    """

    source: str
    kind: SourceKind
    url: str
    internal: bool = False
    full_text: FullText = FullText.AUTO
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    feed_url: str | None = None
    links_css: str | None = None
    links_xpath: str | None = None
    next_page_css: str | None = None
    follow_pages: int = 0
    title_css: str | None = None
    date_css: str | None = None
    max_items: int = 50
    max_articles: int = 30  # article pages fetched this run, newest first; the rest wait (cut short)
    # Stories published before this never alert (the run's clock, less max_age_days): no article is
    # fetched for them and a sitemap lists only later ones.
    oldest: datetime = NO_AGE_LIMIT
    spider: str | None = None  # kind SPIDER: the spider's name in spiders/
    spider_args: tuple[tuple[str, str], ...] = ()

    def reading_key(self) -> str:
        """How the source's pages are read (its kind, selectors, limits, full text): a body is the same
        as last time only if it was read alike. A corrected selector once found the page "unchanged"
        and took nothing from it until the site changed its bytes."""
        how = (
            self.kind.value,
            self.full_text.value,
            self.links_css,
            self.links_xpath,
            self.next_page_css,
            self.follow_pages,
            self.title_css,
            self.date_css,
            self.max_items,
            self.max_articles,
            self.spider,
            self.spider_args,
        )
        return hashlib.sha256(repr(how).encode()).hexdigest()[:12]

    def body_hash_of(self, body: bytes) -> str:
        """A fetched body's hash, after how the source reads it: the same body read with a corrected
        selector is not "unchanged"."""
        return f"{self.reading_key()}:{hashlib.sha256(body).hexdigest()}"

    def reads_as_when(self, body_hash: str | None) -> bool:
        """Whether a stored body hash was taken reading the source as it is read now."""
        return (body_hash or "").startswith(f"{self.reading_key()}:")


@dataclass(frozen=True)
class FeedEntry:
    """One item as the feed gave it: HTML still in it, link not yet canonical — unless `plain`."""

    link: str
    title: str = ""
    summary: str = ""
    content: str = ""
    published: datetime | None = None
    # The link's #fragment names this item on a page that holds many (its guid says so, see
    # newsbot.stories.urls.fragment_names_item): part of its identity, and the page is not its text.
    anchored: bool = False
    # Read where the feed was (newsbot.stories.normalize.plain_entry, in the reading process): title,
    # summary and content are plain text already and `canonical` is the link's identity, so that the
    # run's own process, which stores the entry, does not make them again.
    plain: bool = False
    canonical: str = ""
    # The identity of the link the feed gave, once its article page was fetched: where the page named
    # another address (its `rel=canonical`, or a redirect's end), the story keeps it (to_story), stored
    # beside it so that the next run knows the link and does not fetch its page again.
    reached_by: str = ""


class FetchStatus(enum.StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"


CUT_BY_MAX_ARTICLES = "it reached max_articles"  # how a FetchResult.cut_short by the article cap begins
CUT_BY_SKIPPED_HOST = "an article host was skipped"  # … by a dead article host (its own line names it)


@dataclass(frozen=True)
class FetchResult:
    """The outcome of fetching one source: a failure is a value, never an exception."""

    source: str
    url: str
    status: FetchStatus
    entries: tuple[FeedEntry, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    body_hash: str | None = None  # of the body that was parsed: the same body next time is not parsed again
    feed_url: str | None = None  # the feed a `site:` source links to
    links_found: int | None = None  # story links a listing page or sitemap gave (None: a feed)
    article_errors: tuple[str, ...] = ()  # articles whose full text could not be fetched
    # What else went wrong while the source was read, its other stories kept: a later listing page, a
    # child sitemap, a team spider's callback. Not articles: "kept their teaser" would be untrue.
    problems: tuple[str, ...] = ()
    parse_seconds: float = 0.0
    # Why the source did not finish (the run stopped, max_articles): what it had is stored, its
    # validators are not, so the next run fetches it again and takes the stories left this time.
    cut_short: str | None = None


@dataclass(frozen=True)
class Story:
    """A normalised news story; its identity is its canonical URL."""

    id: str
    url: str
    title: str
    summary: str
    text: str
    source: str
    published_at: datetime | None = None
    reached_by: str = ""  # a feed's link to it, when that is another address (FeedEntry.reached_by)


@dataclass(frozen=True)
class StoredStory:
    """A story as a run stored it: when it was first seen (what its age to alert is counted against)
    and the cluster a run put it in (copies of one story alert once)."""

    story: Story
    first_seen: datetime
    cluster: str | None


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


@dataclass(frozen=True)
class RuleHit:
    """One rule that fired, with the words that made each of its conditions true."""

    rule: str
    severity: Severity
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """Everything one watchlist found in one story; it becomes at most one alert.

    `snippet` is a passage of the story as (text, is_matched_word) parts, from `snippet_field`.
    `vendors` are the watchlist's vendors (by their configured name) whose words a fired rule used:
    what a "mute vendor" click in Slack mutes, and what decides whether a later match is muted.
    """

    watchlist: str
    rules: tuple[RuleHit, ...]
    snippet: tuple[tuple[str, bool], ...] = ()
    snippet_field: str = ""
    vendors: tuple[str, ...] = ()

    @property
    def severity(self) -> Severity:
        return max((hit.severity for hit in self.rules), key=lambda severity: severity.rank)

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(term for hit in self.rules for term in hit.terms))


@dataclass(frozen=True)
class Alert:
    """A match waiting in (or taken from) the outbox, with the story it is about."""

    id: str
    story: Story
    match: Match
    also_in: tuple[str, ...] = ()  # the other outlets that carried the story or a copy of it
    in_flight_since: datetime | None = None  # a crashed run was sending it: check before resending
    in_flight_to: str | None = None  # where that attempt went (with a bot token: the channel)
    in_flight_thread: str | None = None  # the thread it replied in, if it was a reply: look there
    kind: AlertKind = field(default_factory=lambda: AlertKind.ALERT)
    parent: str | None = None  # the earlier alert of the story's cluster this one follows
    continues: str | None = None  # the title of the earlier story a CONTINUES alert follows up
    cluster: str | None = None  # the story's cluster (stories.cluster_id), where known: a digest lists a cluster once


class AlertStatus(enum.StrEnum):
    """An alert's place in the outbox, stored as its value (newsbot.storage.schema)."""

    PENDING = "pending"  # waits to be sent, or to be retried after a failure
    SENDING = "sending"  # in flight: an attempt started and its outcome is not recorded (looked up before a resend)
    SENT = "sent"
    UNCONFIRMED = "unconfirmed"  # in flight to a webhook when a run died, with `delivery: at_most_once`
    MUTED = "muted"  # suppressed by a mute from Slack (its mute_id says which): kept, searchable, never sent


class AlertKind(enum.StrEnum):
    ALERT = "alert"
    ALSO_IN = "also_in"  # a copy with nothing new: a line in the earlier alert's thread, or nothing
    CONTINUES = "continues"  # a copy that matched a rule, or named a vendor, the earlier one did not


class FeedbackAction(enum.StrEnum):
    """A click on an alert's buttons in Slack, stored as its value (table feedback)."""

    RELEVANT = "relevant"
    NOT_RELEVANT = "not_relevant"
    MUTE_7D = "mute_7d"  # the alert's vendors, in its watchlist, for 7 days
    MUTE_30D = "mute_30d"  # … for 30 days
    MUTE_CLUSTER = "mute_cluster"  # the alert's story's cluster (its copies), in its watchlist, for 7 days

    @property
    def mute_days(self) -> int | None:
        """How long the mute this click sets lasts; None for a verdict."""
        return {"mute_7d": 7, "mute_30d": 30, "mute_cluster": 7}.get(self.value)

    @property
    def is_verdict(self) -> bool:
        return self in (FeedbackAction.RELEVANT, FeedbackAction.NOT_RELEVANT)


@dataclass(frozen=True)
class SourceNotice:
    """A source broke or recovered: announced once to the ops channel, kept until it is."""

    id: int
    source: str
    kind: str
    text: str


@dataclass
class RunSummary:
    """What one `newsbot run` did, printed at the end and kept in the database."""

    sources_ok: int = 0
    sources_not_modified: int = 0
    failed_sources: dict[str, str] = field(default_factory=dict)
    cut_short: dict[str, str] = field(default_factory=dict)  # sources the next run continues, and why
    skipped_hosts: list[str] = field(default_factory=list)  # one sentence per host given up on
    source_warnings: dict[str, str] = field(default_factory=dict)  # e.g. "selector matched 0 links"
    entries_seen: int = 0
    new_stories: int = 0
    too_old: int = 0
    matches: int = 0
    alerts_sent: int = 0
    alerts_pending: int = 0
    stories_waiting: int = 0  # stored, not yet matched when the run ended (it was stopped): the next run's
    delivery_errors: list[str] = field(default_factory=list)
    crawler_warnings: list[str] = field(default_factory=list)  # Scrapy's own log lines, first line each
    # A helper process (reading, second crawl, clustering) that could not start or died: the run did its work.
    helper_failures: list[str] = field(default_factory=list)
    worse: list[str] = field(default_factory=list)  # what changed for the worse since the last run
    stopped: str | None = None  # why delivery had to stop (a signal, or the budget and its allowance spent)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)  # fetch, parse, store, match, deliver
    config: str = ""  # the config file the run read, as named, made absolute: one database is one config's

    def describe(self) -> str:
        sources = self.sources_ok + self.sources_not_modified + len(self.failed_sources) + len(self.cut_short)
        cut_short = f", {len(self.cut_short)} cut short" if self.cut_short else ""
        text = (
            f"{sources} sources ({self.sources_not_modified} unchanged, "
            f"{len(self.failed_sources)} failed{cut_short}), {self.entries_seen} entries, "
            f"{self.new_stories} new stories ({self.too_old} too old to alert), "
            f"{self.matches} matches, {self.alerts_sent} alerts sent, "
            f"{self.alerts_pending} pending, {self.seconds:.1f}s"
        )
        lines = [text]
        lines += [f"  source failed: {name}: {error}" for name, error in self.failed_sources.items()]
        lines += [f"  source cut short: {name}: {why}" for name, why in self.cut_short.items()]
        lines += [f"  {host}" for host in self.skipped_hosts]
        lines += [f"  source warning: {name}: {warning}" for name, warning in self.source_warnings.items()]
        lines += [f"  delivery failed: {error}" for error in self.delivery_errors]
        lines += [f"  crawler: {warning}" for warning in self.crawler_warnings]
        lines += [f"  {failure}" for failure in self.helper_failures]
        return "\n".join(lines)

    def describe_worse(self) -> str:
        """For `--quiet`: only what changed for the worse, then the whole summary for context."""
        return "\n".join([*(f"newsbot: {change}" for change in self.worse), self.describe()])
