"""The buttons on alerts (alerts.format.feedback_actions) and where they appear: on a bot token's
alerts when `newsbot serve` can receive the click, never on a webhook's, never on a digest; and the
message a click leaves behind. Delivery goes through slack-sdk to the local fake Slack."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from newsbot.alerts.deliver import deliver
from newsbot.alerts.format import BUTTON_VALUE_LIMIT, FEEDBACK_BLOCK, answered, build_digest, build_message
from newsbot.alerts.interactions import note
from newsbot.alerts.setup import delivery
from newsbot.configuration.config import load_config
from newsbot.models import Alert, FeedbackAction, FetchResult, FetchStatus, Match, RuleHit, Severity, Story
from newsbot.storage.database import Storage
from newsbot.storage.feedback import Mute, MuteTarget
from newsbot.storage.records import alert_id
from tests.conftest import Workspace
from tests.servers import FakeSlack

SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
STORY_TIME = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STORY = Story("s1", "https://wire.example/mitto", "Mitto AG sold SS7 access", "", "", "Wire")


def alert(vendors: tuple[str, ...] = ("Mitto AG",), alert_id: str = "5f085e7d607f0154e841") -> Alert:
    match = Match("SMS and 2FA vendors", (RuleHit("vendor-surveillance", Severity.HIGH, ("Mitto AG", "SS7")),))
    return Alert(alert_id, STORY, Match(match.watchlist, match.rules, vendors=vendors))


def actions_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [block for block in payload["blocks"] if block["type"] == "actions"]


def labels(actions: dict[str, Any]) -> list[str]:
    found = []
    for element in actions["elements"]:
        if element["type"] == "overflow":
            found += [f"⋯ {option['text']['text']}" for option in element["options"]]
        else:
            found.append(element["text"]["text"])
    return found


def values(actions: dict[str, Any]) -> list[str]:
    return [
        value
        for element in actions["elements"]
        for value in ([element["value"]] if "value" in element else [o["value"] for o in element["options"]])
    ]


def test_an_alert_with_feedback_carries_the_buttons_each_naming_its_alert() -> None:
    [actions] = actions_of(build_message(alert(), feedback=True))

    decoded = [json.loads(value) for value in values(actions)]
    assert actions["block_id"] == FEEDBACK_BLOCK
    assert labels(actions) == [
        "Relevant",
        "Not relevant",
        "Mute vendor 7 days",
        "⋯ Mute vendor 30 days",
        "⋯ Mute this story's cluster 7 days",
    ]
    assert [value["action"] for value in decoded] == ["relevant", "not_relevant", "mute_7d", "mute_30d", "mute_cluster"]
    assert {value["alert"] for value in decoded} == {"5f085e7d607f0154e841"}
    assert decoded[2]["watchlist"] == "SMS and 2FA vendors" and decoded[2]["vendors"] == ["Mitto AG"]
    assert all(len(value) <= 150 for value in values(actions)[3:])  # Slack's limit on an overflow option's value
    ids = [element["action_id"] for element in actions["elements"]]
    assert len(set(ids)) == len(ids) and all(action.startswith("newsbot_") for action in ids)


def test_an_alert_naming_no_vendor_offers_only_the_clusters_mute() -> None:
    [actions] = actions_of(build_message(alert(vendors=()), feedback=True))

    assert labels(actions) == ["Relevant", "Not relevant", "⋯ Mute this story's cluster 7 days"]


def test_a_mute_button_for_a_great_many_vendors_stays_within_slacks_limit() -> None:
    many = tuple(f"Vendor number {n} with a rather long registered company name" for n in range(100))
    [actions] = actions_of(build_message(alert(vendors=many), feedback=True))

    mute = next(element for element in actions["elements"] if element.get("action_id") == "newsbot_mute_7d")
    assert len(mute["value"]) <= BUTTON_VALUE_LIMIT
    assert json.loads(mute["value"]) == {"alert": "5f085e7d607f0154e841", "action": "mute_7d"}


def test_without_feedback_and_in_digests_there_are_no_buttons() -> None:
    assert actions_of(build_message(alert())) == []
    for part in build_digest("newsbot: 2 new alerts", [alert(), alert(alert_id="other")]):
        assert actions_of(part.payload) == []


def test_a_click_replaces_the_buttons_with_who_judged_it_and_keeps_the_rest() -> None:
    blocks = build_message(alert(), feedback=True)["blocks"]

    after = answered(blocks, note(FeedbackAction.NOT_RELEVANT, "U0ANALYST1", "alice", []))

    assert after[:-1] == [block for block in blocks if block["type"] != "actions"]
    assert after[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "Not relevant — <@U0ANALYST1>"}]}


def test_the_note_says_what_a_mute_silences_escaped_and_until_when() -> None:
    mute = Mute(
        id=4,
        target=MuteTarget("Vendors <&> more", vendor="A&B <Telecom>"),
        until=STORY_TIME + timedelta(days=7),
        created_by="U0ANALYST1",
        created_by_name="alice",
        created_at=STORY_TIME,
        alert_id="a",
        lifted_at=None,
        lifted_by=None,
        suppressed=0,
    )

    muted = note(FeedbackAction.MUTE_7D, "U0ANALYST1", "alice", [mute])
    nothing = note(FeedbackAction.MUTE_7D, "U0ANALYST1", "alice", [])
    forged = note(FeedbackAction.RELEVANT, "<!channel>", "<!here>", [])

    assert muted == (
        "Muted A&amp;B &lt;Telecom&gt; in Vendors &lt;&amp;&gt; more "
        "until 2026-12-08 09:00 UTC (mute #4) — <@U0ANALYST1>"
    )
    assert nothing == "Nothing to mute: it names no vendor — <@U0ANALYST1>"
    assert forged == "Relevant — @&lt;!here&gt;"  # a user id that is not one is never a mention


def queue(storage: Storage, count: int) -> list[str]:
    stories = [Story(f"s{n}", f"https://wire.example/{n}", f"Mitto AG story {n}", "", "", "Wire") for n in range(count)]
    storage.record_fetch(FetchResult("Wire", "https://wire.example/feed", FetchStatus.OK), stories, STORY_TIME)
    match = Match("SMS and 2FA vendors", (RuleHit("vendor-surveillance", Severity.HIGH, ("Mitto AG",)),))
    for story in stories:
        storage.record_matches(story, [Match(match.watchlist, match.rules, vendors=("Mitto AG",))], STORY_TIME)
    return [alert_id(story.id, match.watchlist) for story in stories]


def configured(workspace: Workspace, slack: FakeSlack, mode: str) -> Any:
    """The poster and policy newsbot builds for a config in `mode`, as `newsbot run` would."""
    if mode == "webhook":
        workspace.settings["slack"] = {"webhook_url": slack.webhook_url, "seconds_between_messages": 0}
    else:
        workspace.settings["slack"] = {
            "token": slack.token,
            "api_url": slack.api_url,
            "channel": "#vendor-news",
            "seconds_between_messages": 0,
            **({"signing_secret": SIGNING_SECRET} if mode == "token and serve" else {}),
        }
    return delivery(load_config(workspace.write()))


@pytest.mark.parametrize(
    ("mode", "buttons"), [("webhook", False), ("token", False), ("token and serve", True)], ids=str
)
def test_buttons_reach_slack_only_with_a_bot_token_and_serve_configured(
    workspace: Workspace, slack: FakeSlack, storage: Storage, mode: str, buttons: bool
) -> None:
    queue(storage, 1)
    poster, policy = configured(workspace, slack, mode)

    report = deliver(storage, poster, policy)

    [message] = slack.delivered
    assert report.sent == 1 and message["text"].startswith(":red_circle:")
    assert [block["type"] == "actions" for block in message["blocks"]].count(True) == int(buttons)


def test_a_digest_carries_no_buttons_but_each_alert_in_its_thread_does(
    workspace: Workspace, slack: FakeSlack, storage: Storage
) -> None:
    ids = queue(storage, 3)
    poster, policy = configured(workspace, slack, "token and serve")
    policy = dataclasses.replace(policy, digest_over=2)

    deliver(storage, poster, policy)

    digest, *details = slack.delivered
    assert "3 new alerts" in digest["text"] and actions_of(digest) == []
    assert len(details) == 3 and all(len(actions_of(detail)) == 1 for detail in details)
    assert sorted(json.loads(values(actions_of(detail)[0])[0])["alert"] for detail in details) == sorted(ids)
