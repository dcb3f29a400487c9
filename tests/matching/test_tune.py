"""`newsbot tune`'s proposals: concrete edits, each backtested on the judged stories."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.configuration.watchlists import Watchlist, load_watchlist
from newsbot.matching.tune import Edit, Judged, propose
from newsbot.models import Story

WATCHLIST = """\
name: Operators
vendors:
  - name: Orange
  - name: Kaleyra
topics:
  breach: [breach, hackers, leaked]
rules:
  - name: vendor-breach
    all: [vendors, breach]
"""


def story(number: int, title: str, text: str = "") -> Story:
    return Story(id=f"s{number}", url=f"https://n.example/{number}", title=title, summary="", text=text, source="Wire")


WRONG = [
    story(1, "Orange juice prices hit record as hackers target logistics firms"),
    story(2, "Orange juice makers say hackers leaked recipes"),
]
RIGHT = [
    story(3, "Orange, the French telecom operator, says hackers breached a customer portal"),
    story(4, "Hackers leaked data of Orange mobile subscribers, the telecom operator said"),
    story(5, "Kaleyra breach disclosed"),
]


@pytest.fixture
def watchlist(tmp_path: Path) -> Watchlist:
    path = tmp_path / "operators.yaml"
    path.write_text(WATCHLIST, encoding="utf-8")
    return load_watchlist(path)


def by_edit(watchlist: Watchlist, unjudged: list[Story] | None = None) -> dict[Edit, tuple[int, int, int]]:
    judged = [*(Judged(item, relevant=False) for item in WRONG), *(Judged(item, relevant=True) for item in RIGHT)]
    return {
        proposal.edit: (proposal.removes, proposal.loses, proposal.other_removed)
        for proposal in propose(watchlist, judged, unjudged or [])
    }


def test_an_exclude_phrase_from_the_false_alarms_removes_them_and_loses_nothing(watchlist: Watchlist) -> None:
    proposals = by_edit(watchlist)
    assert proposals[Edit("exclude", "Orange", ("Orange juice",))] == (2, 0, 0)


def test_context_words_come_from_what_the_relevant_alerts_share(watchlist: Watchlist) -> None:
    proposals = by_edit(watchlist)
    context = [edit for edit in proposals if edit.key == "context"]
    assert context, proposals
    (edit,) = context
    assert {"telecom", "operator"} <= set(edit.values) and "juice" not in edit.values
    assert proposals[edit] == (2, 0, 0)


def test_proposals_are_ranked_by_relevant_alerts_lost_first(watchlist: Watchlist) -> None:
    judged = [*(Judged(item, relevant=False) for item in WRONG), *(Judged(item, relevant=True) for item in RIGHT)]
    proposals = propose(watchlist, judged)
    losses = [proposal.loses for proposal in proposals]
    assert losses == sorted(losses)
    assert all(proposal.removes > 0 for proposal in proposals)
    assert proposals[0].loses == 0


def test_other_stored_alerts_an_edit_would_remove_are_counted(watchlist: Watchlist) -> None:
    unjudged = [story(9, "Orange juice exporters hit by hackers again"), story(10, "Orange telecom breach")]
    assert by_edit(watchlist, unjudged)[Edit("exclude", "Orange", ("Orange juice",))] == (2, 0, 1)


def test_nothing_to_propose_without_a_false_alarm(watchlist: Watchlist) -> None:
    assert propose(watchlist, [Judged(item, relevant=True) for item in RIGHT]) == []


def test_an_edit_applies_to_a_copy_and_validates(watchlist: Watchlist) -> None:
    edit = Edit("near", "vendor-breach", near=10)
    changed = edit.apply(watchlist.config)
    assert changed.rules[0].near == 10 and watchlist.config.rules[0].near is None
    assert edit.describe() == "rule 'vendor-breach': near: 10"
    assert Edit("exclude", "Orange", ("Orange juice",)).describe() == "vendor 'Orange': exclude: [\"Orange juice\"]"


def test_a_nearer_rule_is_proposed_when_vendor_and_topic_are_far_apart(watchlist: Watchlist) -> None:
    filler = " ".join(["engineers"] * 30)  # "breach" is the 31st word after "Kaleyra", in the same text
    far = story(6, "A new office in Milan", f"Kaleyra hired {filler}. Elsewhere a hospital disclosed a breach.")
    judged = [Judged(far, relevant=False), *(Judged(item, relevant=True) for item in RIGHT)]

    nearer = {proposal.edit.near: proposal for proposal in propose(watchlist, judged) if proposal.edit.key == "near"}

    assert set(nearer) == {10, 20}  # within 40 words, the false alarm stays
    assert (nearer[10].removes, nearer[10].loses) == (1, 0)


def test_between_edits_that_backtest_alike_the_narrowest_comes_first_whatever_the_order_of_the_alerts(
    watchlist: Watchlist,
) -> None:
    """Both false alarms are about a chef named Anna Orange. The first names her in the possessive, so
    it gives no exclude phrase of its own, only the context words; the second gives "Anna Orange".
    Both edits remove both and lose nothing: the exclude, which drops only texts with its phrase,
    leads. Taken in the judged alerts' order, the context words led whenever the possessive came
    first (the order of alerts sent in one second, which was their ids', a hash)."""
    chef = [
        story(6, "Chef Anna Orange's bistro booking site leaked card numbers"),
        story(7, "Anna Orange reopens her bistro after the breach"),
    ]
    judged = [*(Judged(item, relevant=False) for item in chef), *(Judged(item, relevant=True) for item in RIGHT)]

    rankings = [propose(watchlist, order) for order in (judged, [*judged[1:2], judged[0], *judged[2:]])]

    for ranked in rankings:
        tied = [proposal.edit for proposal in ranked if (proposal.removes, proposal.loses) == (2, 0)]
        assert [edit.key for edit in tied] == ["exclude", "context"], ranked
        assert tied[0] == Edit("exclude", "Orange", ("Anna Orange",))


def test_among_nearer_rules_that_backtest_alike_the_loosest_comes_first(watchlist: Watchlist) -> None:
    """near: 40 removes the same false alarm as near: 10 and drops fewer future alerts."""
    filler = " ".join(["engineers"] * 50)
    far = story(6, "A new office in Milan", f"Kaleyra hired {filler}. Elsewhere a hospital disclosed a breach.")
    judged = [Judged(far, relevant=False), *(Judged(item, relevant=True) for item in RIGHT)]

    ranked = [proposal.edit for proposal in propose(watchlist, judged)]

    assert [edit.near for edit in ranked if edit.key == "near"] == [40, 20, 10]


MITTO = """\
name: SMS vendors
vendors:
  - name: Mitto AG
    aliases: [Mitto]
topics:
  surveillance: [SS7, surveillance, sponsors]
rules:
  - name: vendor-surveillance
    all: [vendors, surveillance]
"""


def test_no_exclude_is_a_vendors_own_name_even_when_the_relevant_alerts_used_another(tmp_path: Path) -> None:
    """The relevant alert says "Mitto", the false alarms "Mitto AG": excluding "Mitto AG" loses no judged
    alert, and would have silenced every later "Mitto AG co-founder sold SS7 access" (it led the list)."""
    path = tmp_path / "sms.yaml"
    path.write_text(MITTO, encoding="utf-8")
    judged = [
        Judged(story(1, "Mitto co-founder sold SS7 access to surveillance firms"), relevant=True),
        Judged(story(2, "Mitto AG wins award for SS7 firewall product"), relevant=False),
        Judged(story(3, "Mitto AG sponsors surveillance conference"), relevant=False),
    ]

    proposals = propose(load_watchlist(path), judged)

    excludes = [proposal.edit for proposal in proposals if proposal.edit.key == "exclude"]
    excluded = [value.casefold() for edit in excludes for value in edit.values]
    assert excluded, proposals  # the phrases around the name are still proposed ("Mitto AG wins")
    assert not {"mitto ag", "mitto"} & set(excluded), excluded


def test_an_edit_that_makes_a_passing_example_fail_is_not_proposed(tmp_path: Path) -> None:
    """The context words the relevant alerts share ("telecom", "operator") remove both false alarms and
    lose no judged alert, but the team's own example names Orange without them."""
    path = tmp_path / "operators.yaml"
    example = 'examples:\n  match: ["Hackers breached an Orange customer portal"]\n'
    path.write_text(WATCHLIST + example, encoding="utf-8")
    judged = [*(Judged(item, relevant=False) for item in WRONG), *(Judged(item, relevant=True) for item in RIGHT)]

    edits = [proposal.edit for proposal in propose(load_watchlist(path), judged)]

    assert Edit("exclude", "Orange", ("Orange juice",)) in edits
    assert not [edit for edit in edits if edit.key == "context"], edits
