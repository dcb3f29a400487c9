"""newsbot.storage.feedback on a real SQLite file: clicks stored once, mutes and when they apply,
what a mute does to the matches queued after it, and each alert's verdict."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsbot.alerts.outbox import queue_matches
from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching.matcher import Matcher
from newsbot.models import (
    AlertStatus,
    FeedbackAction,
    FetchResult,
    FetchStatus,
    Match,
    RuleHit,
    RunSummary,
    Severity,
    Story,
)
from newsbot.storage.database import Storage
from newsbot.storage.feedback import Click, MuteTarget
from newsbot.storage.migrations import MIGRATIONS
from newsbot.storage.records import alert_id
from tests.conftest import REPOSITORY

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WATCHLIST = "SMS and 2FA vendors"
MITTO = MuteTarget(WATCHLIST, vendor="Mitto AG")
KALEYRA = MuteTarget(WATCHLIST, vendor="Kaleyra")


def click(action: FeedbackAction, user: str = "U0ANALYST1", alert: str = "a1", when: datetime = NOW) -> Click:
    return Click(alert, user, user.lower(), action, when)


def store(storage: Storage, name: str, title: str, when: datetime = NOW) -> Story:
    story = Story(id=name, url=f"https://wire.example/{name}", title=title, summary="", text="", source="Wire")
    storage.record_fetch(FetchResult("Wire", "https://wire.example/feed", FetchStatus.OK), [story], when)
    storage.db.execute("UPDATE stories SET cluster_id = id WHERE id = ?", [name])  # what clustering would do
    return story


def queue(storage: Storage, when: datetime) -> RunSummary:
    """The run's matching step over what is stored, at the run's time `when`."""
    matcher = Matcher([load_watchlist(REPOSITORY / "examples" / "watchlists" / "sms-vendors.yaml")])
    summary = RunSummary()
    queue_matches(storage, matcher, 30, summary, when)
    return summary


def statuses(storage: Storage) -> dict[str, tuple[str, int | None]]:
    rows = storage.db.execute("SELECT story_id, status, mute_id FROM alerts").fetchall()
    return {story: (status, mute) for story, status, mute in rows}


def test_the_same_click_twice_is_stored_once(storage: Storage) -> None:
    first, _ = storage.record_click(click(FeedbackAction.NOT_RELEVANT))
    again, _ = storage.record_click(click(FeedbackAction.NOT_RELEVANT, when=NOW + timedelta(seconds=5)))
    other_user, _ = storage.record_click(click(FeedbackAction.NOT_RELEVANT, user="U0OTHER1"))

    rows = storage.db.execute("SELECT user_id, clicked_at FROM feedback ORDER BY user_id").fetchall()
    assert (first, again, other_user) == (True, False, True)
    assert rows == [("U0ANALYST1", (NOW + timedelta(seconds=5)).isoformat()), ("U0OTHER1", NOW.isoformat())]


def test_a_verdict_clicked_again_is_the_latest_word_as_the_message_then_shows(storage: Storage) -> None:
    """alice: Not relevant; bob: Relevant; alice's Not relevant again (a client not refreshed): the message
    reads "Not relevant — alice", and the count said Relevant."""
    storage.record_click(click(FeedbackAction.NOT_RELEVANT, user="U0ALICE01"))
    storage.record_click(click(FeedbackAction.RELEVANT, user="U0BOB0001", when=NOW + timedelta(minutes=1)))
    storage.record_click(click(FeedbackAction.NOT_RELEVANT, user="U0ALICE01", when=NOW + timedelta(minutes=2)))

    assert storage.verdicts() == {"a1": FeedbackAction.NOT_RELEVANT}
    assert storage.db.execute("SELECT count(*) FROM feedback").fetchone()[0] == 2, "each click counted once"


def test_a_verdict_is_the_latest_relevant_or_not_relevant_click_of_anyone(storage: Storage) -> None:
    storage.record_click(click(FeedbackAction.RELEVANT, alert="a1"))
    storage.record_click(click(FeedbackAction.NOT_RELEVANT, user="U0OTHER1", alert="a1", when=NOW + timedelta(1)))
    storage.record_click(click(FeedbackAction.NOT_RELEVANT, alert="a2"))
    storage.record_click(click(FeedbackAction.MUTE_7D, alert="a2", when=NOW + timedelta(2)), [MITTO], NOW)
    storage.record_click(click(FeedbackAction.RELEVANT, alert="a2", when=NOW + timedelta(3)))

    assert storage.verdicts() == {"a1": FeedbackAction.NOT_RELEVANT, "a2": FeedbackAction.RELEVANT}
    assert storage.verdicts(["a1", "a3"]) == {"a1": FeedbackAction.NOT_RELEVANT}


def test_a_mute_is_set_once_per_click_and_an_earlier_longer_one_is_kept(storage: Storage) -> None:
    week, month = NOW + timedelta(days=7), NOW + timedelta(days=30)
    new, [mute] = storage.record_click(click(FeedbackAction.MUTE_7D), [MITTO], week)
    retried, [same] = storage.record_click(click(FeedbackAction.MUTE_7D), [MITTO], week)
    longer, [month_mute] = storage.record_click(click(FeedbackAction.MUTE_30D), [MITTO], month)
    shorter, [kept] = storage.record_click(click(FeedbackAction.MUTE_7D, user="U0OTHER1"), [MITTO], week)

    assert (new, retried, longer, shorter) == (True, False, True, True)
    assert mute.id == same.id and mute.until == week and mute.by == "@u0analyst1"
    assert month_mute.id != mute.id and kept.id == month_mute.id  # a second 7-day mute adds nothing to 30 days
    assert storage.db.execute("SELECT count(*) FROM mutes").fetchone()[0] == 2


def test_two_mutes_of_one_target_in_one_second_are_one_mute_whichever_microseconds_they_came_at(
    storage: Storage,
) -> None:
    """Stored with whole seconds, the first read back as shorter than the second: two mutes, Slack
    named the first for both clicks, and `mutes lift` of that one left the other muting."""
    alice_at, bob_at = NOW + timedelta(microseconds=120_000), NOW + timedelta(microseconds=870_000)
    _, [alices] = storage.record_click(click(FeedbackAction.MUTE_7D, when=alice_at), [MITTO], alice_at + timedelta(7))
    _, [bobs] = storage.record_click(
        click(FeedbackAction.MUTE_7D, user="U0BOB0001", alert="a2", when=bob_at), [MITTO], bob_at + timedelta(7)
    )

    assert alices.id == bobs.id
    assert storage.db.execute("SELECT count(*) FROM mutes").fetchone()[0] == 1
    assert storage.lift_mute(alices.id, NOW + timedelta(hours=1), "root")
    assert storage.mute_for(WATCHLIST, ["Mitto AG"], None, NOW + timedelta(hours=2)) is None


def test_the_same_mute_clicked_again_after_it_was_lifted_mutes_again(storage: Storage) -> None:
    """A client that did not refresh still shows the button; the click is stored already (counted once),
    and answered "Nothing to mute: it names no vendor" while the vendor went on alerting."""
    _, [first] = storage.record_click(click(FeedbackAction.MUTE_7D), [MITTO], NOW + timedelta(days=7))
    storage.lift_mute(first.id, NOW + timedelta(hours=1), "root")
    later = NOW + timedelta(hours=2)

    new, covering = storage.record_click(click(FeedbackAction.MUTE_7D, when=later), [MITTO], later + timedelta(7))

    assert new is False  # the same click, still counted once
    assert [mute.id for mute in covering] != [first.id] and len(covering) == 1
    assert storage.mute_for(WATCHLIST, ["Mitto AG"], None, later + timedelta(hours=1)) == covering[0].id


def test_a_match_is_muted_only_when_every_vendor_it_names_is_muted_until_then(storage: Storage) -> None:
    storage.record_click(click(FeedbackAction.MUTE_7D), [MITTO], NOW + timedelta(days=7))
    [mute] = storage.mutes(NOW)

    assert storage.mute_for(WATCHLIST, ["Mitto AG"], None, NOW + timedelta(days=6)) == mute.id
    assert storage.mute_for(WATCHLIST, ["Mitto AG", "Kaleyra"], None, NOW) is None  # Kaleyra still alerts
    assert storage.mute_for("Another watchlist", ["Mitto AG"], None, NOW) is None
    assert storage.mute_for(WATCHLIST, [], None, NOW) is None  # a match naming no vendor
    assert storage.mute_for(WATCHLIST, ["Mitto AG"], None, NOW + timedelta(days=7)) is None  # expired
    assert storage.mutes(NOW + timedelta(days=7)) == []


def test_a_cluster_mute_covers_any_match_of_that_cluster_in_its_watchlist(storage: Storage) -> None:
    cluster = MuteTarget(WATCHLIST, cluster_id="c1")
    storage.record_click(click(FeedbackAction.MUTE_CLUSTER), [cluster], NOW + timedelta(days=7))

    assert storage.mute_for(WATCHLIST, [], "c1", NOW) is not None
    assert storage.mute_for(WATCHLIST, ["Kaleyra"], "c2", NOW) is None
    assert storage.mute_for("Another watchlist", [], "c1", NOW) is None


def test_a_lifted_mute_stops_muting_but_leaves_what_it_muted(storage: Storage) -> None:
    storage.record_click(click(FeedbackAction.MUTE_7D), [MITTO], NOW + timedelta(days=7))
    store(storage, "first", "Mitto AG sold SS7 access")
    queue(storage, NOW)
    [mute] = storage.mutes(NOW)

    lifted = storage.lift_mute(mute.id, NOW + timedelta(hours=1), "root")
    again = storage.lift_mute(mute.id, NOW + timedelta(hours=2), "root")
    store(storage, "second", "Mitto AG surveillance report")
    queue(storage, NOW + timedelta(hours=3))

    after = storage.mute(mute.id)
    assert (lifted, again) == (True, False)
    assert after is not None and after.lifted_at == NOW + timedelta(hours=1) and after.lifted_by == "root"
    assert after.suppressed == 1 and storage.mutes(NOW + timedelta(hours=3)) == []
    assert statuses(storage) == {"first": (AlertStatus.MUTED, mute.id), "second": (AlertStatus.PENDING, None)}


def test_queued_matches_follow_the_mutes_at_the_runs_time(storage: Storage) -> None:
    storage.record_click(click(FeedbackAction.MUTE_7D), [MITTO], NOW + timedelta(days=7))
    store(storage, "during", "Mitto AG sold SS7 access")
    store(storage, "both", "Mitto AG and Kaleyra hacked")
    store(storage, "other", "Kaleyra breach")
    queue(storage, NOW + timedelta(days=6))
    store(storage, "after", "Mitto AG surveillance report")
    queue(storage, NOW + timedelta(days=8))  # the mute ran out at day 7

    [mute] = storage.mutes(NOW)
    assert statuses(storage) == {
        "during": (AlertStatus.MUTED, mute.id),
        "both": (AlertStatus.PENDING, None),  # Kaleyra is not muted: the match still alerts
        "other": (AlertStatus.PENDING, None),
        "after": (AlertStatus.PENDING, None),
    }
    assert [alert.story.id for alert in storage.due_alerts(NOW + timedelta(days=8))] == ["both", "other", "after"]
    assert storage.alert_counts()[AlertStatus.MUTED] == 1
    assert [(watchlist, found.id) for watchlist, found in storage.muted_alerts("during")] == [(WATCHLIST, mute.id)]


def test_the_feedback_alert_names_its_vendors_and_cluster(storage: Storage) -> None:
    store(storage, "s1", "Mitto AG and Kaleyra hacked")
    queue(storage, NOW)

    found = storage.feedback_alert(alert_id("s1", WATCHLIST))

    assert found is not None and (found.watchlist, found.vendors, found.cluster_id) == (
        WATCHLIST,
        ("Mitto AG", "Kaleyra"),
        "s1",
    )
    assert storage.feedback_alert("no-such-alert") is None


def test_alerts_queued_before_vendors_were_recorded_read_as_naming_none(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Storage.open(path, migrate=False)
    old._check_identity(creating=True)
    MIGRATIONS.apply(old.db, stop_before="m006_feedback")
    old.db.execute("INSERT INTO stories (id, url, title, source, cluster_id) VALUES ('s', 'https://x/', 't', 'W', 's')")
    record = {"rules": [{"rule": "r", "severity": "high", "terms": ["Mitto AG"]}], "snippet": [], "snippet_field": ""}
    old.db.execute(
        "INSERT INTO alerts (id, story_id, watchlist, severity, match, status, attempts, created_at) "
        "VALUES ('x', 's', ?, 'high', ?, 'pending', 0, ?)",
        [WATCHLIST, json.dumps(record), NOW.isoformat()],
    )
    old.db.conn.commit()
    old.close()

    upgraded = Storage.open(path)

    [alert] = upgraded.due_alerts(NOW)
    assert alert.match.vendors == () and upgraded.feedback_alert("x") is not None
    assert upgraded.db.execute("SELECT mute_id FROM alerts").fetchone() == (None,)
    upgraded.close()


def test_a_match_stores_the_vendors_that_counted(storage: Storage) -> None:
    stored = Story("s", "https://x/s", "Mitto AG breach", "", "", "W")
    match = Match(WATCHLIST, (RuleHit("r", Severity.HIGH, ("Mitto AG",)),), vendors=("Mitto AG",))
    storage.record_fetch(FetchResult("W", "https://x/feed", FetchStatus.OK), [stored], NOW)
    storage.record_matches(stored, [match], NOW)

    [alert] = storage.due_alerts(NOW)
    assert alert.match.vendors == ("Mitto AG",)
    with sqlite3.connect(storage.db.conn.execute("PRAGMA database_list").fetchone()[2]) as reader:
        assert json.loads(reader.execute("SELECT match FROM alerts").fetchone()[0])["vendors"] == ["Mitto AG"]


def test_a_person_who_changes_their_mind_back_has_the_last_word(storage: Storage) -> None:
    storage.record_click(click(FeedbackAction.RELEVANT))
    storage.record_click(click(FeedbackAction.NOT_RELEVANT, when=NOW + timedelta(minutes=1)))
    storage.record_click(click(FeedbackAction.RELEVANT, when=NOW + timedelta(minutes=2)))
    retried, _ = storage.record_click(click(FeedbackAction.RELEVANT, when=NOW + timedelta(minutes=2)))

    assert storage.verdicts() == {"a1": FeedbackAction.RELEVANT}
    assert retried is False
    assert storage.db.execute("SELECT action FROM feedback").fetchall() == [("relevant",)]


def test_tallies_count_sent_alerts_and_their_verdicts_per_watchlist_and_per_rule(storage: Storage) -> None:
    store(storage, "s1", "Mitto AG co-founder sold SS7 access to surveillance firms")
    store(storage, "s2", "Kaleyra says it was hacked; customer data leaked")
    store(storage, "s3", "Mitto hit by ransomware; SS7 logs leaked")  # both rules fire
    store(storage, "s4", "Kaleyra breach: call logs of customers exposed")
    queue(storage, NOW)
    ids = {story: alert for alert, story in storage.db.execute("SELECT id, story_id FROM alerts").fetchall()}
    storage.mark_sent([ids["s1"], ids["s2"], ids["s3"]], NOW, "C0ALERTS", "1.1")  # s4 is still pending
    storage.record_click(click(FeedbackAction.RELEVANT, alert=ids["s1"]))
    storage.record_click(click(FeedbackAction.NOT_RELEVANT, alert=ids["s3"]))
    storage.record_click(click(FeedbackAction.MUTE_7D, alert=ids["s2"]), [KALEYRA], NOW + timedelta(days=7))

    tallies = {(tally.watchlist, tally.rule): tally for tally in storage.tallies()}

    whole = tallies[(WATCHLIST, None)]
    assert (whole.alerts, whole.relevant, whole.not_relevant, whole.precision) == (3, 1, 1, 0.5)
    surveillance = tallies[(WATCHLIST, "vendor-surveillance")]
    assert (surveillance.alerts, surveillance.relevant, surveillance.not_relevant) == (2, 1, 1)
    breach = tallies[(WATCHLIST, "vendor-breach")]
    assert (breach.alerts, breach.relevant, breach.not_relevant, breach.precision) == (2, 0, 1, 0.0)
    assert len(tallies) == 3
    assert storage.tallies(since=NOW + timedelta(seconds=1)) == []
