"""An alert read at a glance (issue F): severity and vendors in the header, the title once (as the link)
with the vendor's and the topic's words told apart under it, and a feed's own `*bold*`, `_italic_`,
`~strike~` and `` `code` `` shown as text. Messages go through slack-sdk (webhook and bot token) to the
local fake Slack; the assertions are on the Block Kit JSON it recorded. What was there before stays:
buttons on a bot token's alerts (with `newsbot serve`), thread replies, the terminal's lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from newsbot.alerts.deliver import deliver
from newsbot.alerts.format import build_message, escape, plain_text, safe_link_target
from newsbot.models import Alert, FetchResult, FetchStatus, Match, RuleHit, Severity, Story
from newsbot.storage.database import Storage
from tests.alerts.test_slack_buttons import configured
from tests.conftest import Workspace
from tests.servers import FakeSlack, FeedServer, Route, recent, rss

WATCHLIST = "SMS and 2FA vendors"
STORY_TIME = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MITTO = Story(
    "s-mitto",
    "https://wire.example/mitto-ss7",
    "Mitto co-founder sold SS7 access to spies",
    "A report says the SMS aggregator's network was used to locate phones.",
    "",
    "Telecom Security Wire",
    STORY_TIME,
)
SURVEILLANCE = RuleHit("vendor-surveillance", Severity.HIGH, ("Mitto AG (as Mitto)", "SS7", "locate phones"))
MITTO_MATCH = Match(
    WATCHLIST,
    (SURVEILLANCE,),
    snippet=(("A report says the SMS aggregator's network was used to ", False), ("locate phones", True), (".", False)),
    snippet_field="summary",
    vendors=("Mitto AG",),
)


def mrkdwn_objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every mrkdwn text object anywhere in a payload."""
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn":
            yield value
        for item in value.values():
            yield from mrkdwn_objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from mrkdwn_objects(item)


def shown(message: dict[str, Any]) -> list[str]:
    """The texts a reader sees in a message's blocks (header, sections, fields, context)."""
    texts = []
    for block in message["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [field["text"] for field in block.get("fields", [])]
        if block["type"] == "context":
            texts += [element["text"] for element in block["elements"]]
    return texts


def queue(storage: Storage, story: Story, *matches: Match) -> None:
    storage.record_fetch(FetchResult(story.source, "https://wire.example/feed", FetchStatus.OK), [story], STORY_TIME)
    storage.record_matches(story, list(matches), STORY_TIME)


# --------------------------------------------------------------------------------------------
# Severity, vendor and why, first
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "buttons"), [("webhook", 0), ("token", 0), ("token and serve", 1)], ids=str)
def test_the_first_lines_say_severity_vendor_title_and_why_and_the_title_only_once(
    workspace: Workspace, slack: FakeSlack, storage: Storage, mode: str, buttons: int
) -> None:
    queue(storage, MITTO, MITTO_MATCH)
    poster, policy = configured(workspace, slack, mode)

    report = deliver(storage, poster, policy)

    [message] = slack.delivered
    header, first, facts, *rest = message["blocks"]
    assert report.sent == 1
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "🔴 HIGH · Mitto AG", "emoji": False}}
    link, words = first["text"]["text"].split("\n")
    assert link == f"<{safe_link_target(MITTO.url)}|Mitto co-founder sold SS7 access to spies>"
    assert words == "*Vendor:* Mitto AG (as Mitto)  ·  *Topic:* SS7, locate phones"
    assert [field["text"] for field in facts["fields"]][2:] == [
        f"*Watchlist:* {WATCHLIST}",
        "*Rules:* vendor-surveillance (high)",
    ]
    # The title once: in the link, not also in the header; the passage holds the matched words in bold.
    assert sum(text.count("co-founder sold") for text in shown(message)) == 1
    assert [block["type"] for block in rest] == ["context"] + ["actions"] * buttons
    assert rest[0]["elements"][0]["text"] == "A report says the SMS aggregator's network was used to *locate phones*."
    # The notification line says the same first, then the title.
    assert message["text"] == (
        ":red_circle: HIGH · Mitto AG: Mitto co-founder sold SS7 access to spies "
        "(vendor: Mitto AG (as Mitto); topic: SS7, locate phones)"
    )
    # Slack links only what newsbot wrote as a link: no bare URL or #channel in a feed's words.
    assert all(text["verbatim"] is True for text in mrkdwn_objects(message["blocks"]))


WORDS_TABLE = [
    # (vendors the match names, rules that fired, the header, the line under the link)
    (
        ("Mitto AG", "Kaleyra"),
        (
            RuleHit("vendor-surveillance", Severity.HIGH, ("Mitto AG (as Mitto)", "SS7")),
            RuleHit("vendor-breach", Severity.MEDIUM, ("Kaleyra", "leaked")),
        ),
        "🔴 HIGH · Mitto AG, Kaleyra",
        "*Vendors:* Mitto AG (as Mitto), Kaleyra  ·  *Topic:* SS7, leaked",
    ),
    (
        ("MessageBird",),
        (RuleHit("vendor-breach", Severity.MEDIUM, ("MessageBird (as Bird, MessageBird)", "breach")),),
        "🟠 MEDIUM · MessageBird",
        "*Vendor:* MessageBird (as Bird, MessageBird)  ·  *Topic:* breach",
    ),
    (  # a rule with no vendor: the header names what matched
        (),
        (RuleHit("signalling-attacks", Severity.CRITICAL, ("SS7", "Diameter")),),
        "🚨 CRITICAL · SS7, Diameter",
        "*Matched:* SS7, Diameter",
    ),
    (  # a vendor rule only: no topic words
        ("Kaleyra",),
        (RuleHit("any-mention", Severity.LOW, ("Kaleyra",)),),
        "🔵 LOW · Kaleyra",
        "*Vendor:* Kaleyra",
    ),
]


@pytest.mark.parametrize(("vendors", "rules", "header", "words"), WORDS_TABLE, ids=[row[2] for row in WORDS_TABLE])
def test_the_vendors_words_and_the_topics_are_told_apart(
    vendors: tuple[str, ...], rules: tuple[RuleHit, ...], header: str, words: str
) -> None:
    payload = build_message(Alert("a", MITTO, Match(WATCHLIST, rules, vendors=vendors)))

    assert payload["blocks"][0]["text"]["text"] == header
    assert payload["blocks"][1]["text"]["text"].split("\n")[1] == words


# --------------------------------------------------------------------------------------------
# A feed's formatting is text
# --------------------------------------------------------------------------------------------

ESCAPE_TABLE = [
    # (feed text, what goes into mrkdwn)
    ("*bold* _italic_ ~strike~ `code`", "∗bold∗ ˍitalicˍ ∼strike∼ ˋcodeˋ"),
    ("**Breaking** ```code block```", "∗∗Breaking∗∗ ˋˋˋcode blockˋˋˋ"),
    ("＊full width＊ ＿too＿ ｀here｀", "﹡full width﹡ ⸏too⸏ ˋhereˋ"),
    ("~50 carriers, *not* all", "∼50 carriers, ∗not∗ all"),
    # Inside a word Slack never formats: the feed's characters stay as they are.
    ("channel_not_found AT*T 2*3 a~b", "channel_not_found AT*T 2*3 a~b"),
    ("snake_case_ _leading", "snake_caseˍ ˍleading"),
    ("(*aside*) [_note_]", "(∗aside∗) [ˍnoteˍ]"),
    # A quote opens a line only: an invisible soft hyphen before it keeps it a character.
    ("> quoted\nnot > this", "\u00ad&gt; quoted\nnot &gt; this"),
    ("＞ full width quote", "\u00ad＞ full width quote"),
    # Slack's control characters are still escaped, first.
    ("<!channel> *AT&T*", "&lt;!channel&gt; ∗AT&amp;T∗"),
]


@pytest.mark.parametrize(("raw", "escaped"), ESCAPE_TABLE, ids=[row[0] for row in ESCAPE_TABLE])
def test_escape_makes_a_feeds_formatting_inert(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


FORMATTED = "*Exclusive*: Mitto sold `SS7` access, _sources_ say ~reportedly~"


@pytest.mark.parametrize("mode", ["webhook", "token"])
def test_a_feeds_formatting_reaches_slack_as_text(
    workspace: Workspace, slack: FakeSlack, storage: Storage, mode: str
) -> None:
    summary = "> *Exclusive*: Mitto sold `SS7` access"
    story = Story("s-formatted", "https://wire.example/formatted", FORMATTED, summary, "", "*Wire*")
    match = Match(
        WATCHLIST,
        (RuleHit("vendor-surveillance", Severity.HIGH, ("Mitto AG (as Mitto)", "SS7")),),
        snippet=(("> *Exclusive*: ", False), ("Mitto", True), (" sold `", False), ("SS7", True), ("` access", False)),
        snippet_field="summary",
        vendors=("Mitto AG",),
    )
    queue(storage, story, match)
    poster, policy = configured(workspace, slack, mode)

    deliver(storage, poster, policy)

    [message] = slack.delivered
    label = message["blocks"][1]["text"]["text"].split("\n")[0]
    assert label == f"<{safe_link_target(story.url)}|∗Exclusive∗: Mitto sold ˋSS7ˋ access, ˍsourcesˍ say ∼reportedly∼>"
    assert message["blocks"][2]["fields"][0]["text"] == "*Source:* ∗Wire∗"
    # The passage: newsbot's own bold around the matched words, the feed's characters inert around them,
    # and its opening quote no quote.
    assert message["blocks"][3]["elements"][0]["text"] == "\u00ad&gt; ∗Exclusive∗: *Mitto* sold ˋ*SS7*ˋ access"
    assert FORMATTED.replace("Mitto", "Mitto AG") not in message["text"] and "ˋSS7ˋ" in message["text"]
    for text in [*shown(message)[1:], message["text"]]:  # the header is plain_text: Slack shows it as it is
        for feed_markup in ("*Exclusive*", "`SS7`", "_sources_", "~reportedly~", "*Wire*"):
            assert feed_markup not in text, (feed_markup, text)


@pytest.mark.parametrize(
    ("summary", "passage"), [("> We deny it, *Mitto* said", "\u00ad&gt; We deny it, ∗Mitto∗ said"), ("", None)]
)
def test_a_passage_of_the_title_is_not_the_title_again(summary: str, passage: str | None) -> None:
    """The matched words only in the title: the passage is the summary (its words inert), or nothing."""
    story = Story("s", "https://wire.example/q", "Mitto sold SS7 access", summary, "", "Wire")
    in_title = (("Mitto", True), (" sold ", False), ("SS7", True), (" access", False))
    match = Match(WATCHLIST, (SURVEILLANCE,), snippet=in_title, snippet_field="title", vendors=("Mitto AG",))

    payload = build_message(Alert("a", story, match))

    contexts = [block["elements"][0]["text"] for block in payload["blocks"] if block["type"] == "context"]
    assert contexts == ([passage] if passage else [])
    assert sum(text.count("sold") for text in shown(payload)) == 1


# --------------------------------------------------------------------------------------------
# What stays as it was
# --------------------------------------------------------------------------------------------


def test_a_second_watchlists_alert_about_the_story_still_replies_in_its_thread(
    workspace: Workspace, slack: FakeSlack, storage: Storage
) -> None:
    second = Match("Carrier risk", (RuleHit("ss7", Severity.MEDIUM, ("SS7",)),))
    queue(storage, MITTO, MITTO_MATCH, second)
    poster, policy = configured(workspace, slack, "token")

    deliver(storage, poster, policy)

    first, reply = slack.delivered
    assert first["blocks"][0]["text"]["text"] == "🔴 HIGH · Mitto AG" and "thread_ts" not in first
    assert reply["thread_ts"] == first["ts"] and reply["blocks"][0]["text"]["text"] == "🟠 MEDIUM · SS7"


def test_the_terminal_keeps_its_lines() -> None:
    """The terminal (and the mail cron sends) is not Slack: its text is shown as it is, unescaped."""
    story = Story("s", MITTO.url, "*Mitto* sold `SS7` access", "", "", "Wire", STORY_TIME)
    printed = plain_text(Alert("a", story, MITTO_MATCH))

    assert printed.splitlines()[0] == f"[HIGH] {WATCHLIST}: *Mitto* sold `SS7` access"
    assert "  matched: Mitto AG (as Mitto), SS7, locate phones" in printed.splitlines()


# --------------------------------------------------------------------------------------------
# End to end: the words the real matcher labels
# --------------------------------------------------------------------------------------------


def test_a_real_run_posts_the_vendor_and_the_topic_apart(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    """The example watchlist, a real crawl and match: the vendor matched by its alias is the vendor's."""
    title = "Mitto co-founder sold *SS7* access, `report` says"
    feed = rss([{"title": title, "link": "https://news.example.com/mitto", "description": "", "pubDate": recent()}])
    workspace.source("Wire", feed_server.add("/feed.xml", Route(feed)))
    workspace.use_slack_token(slack)

    result = workspace.newsbot("run")

    assert result.returncode == 0, result.stderr
    [message] = slack.delivered
    assert message["blocks"][0]["text"]["text"] == "🔴 HIGH · Mitto AG"
    link, words = message["blocks"][1]["text"]["text"].split("\n")
    assert link.endswith("|Mitto co-founder sold ∗SS7∗ access, ˋreportˋ says>")
    assert words == "*Vendor:* Mitto AG (as Mitto)  ·  *Topic:* SS7"
    assert "`report`" not in json.dumps(message["blocks"], ensure_ascii=False)
    assert [block["type"] for block in message["blocks"]] == ["header", "section", "section"]  # the title once
