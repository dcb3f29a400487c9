"""Roundups: a rule's vendor, topics, context and exclusions must come from one of its stories."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching.matcher import Evaluation, Matcher
from newsbot.matching.roundups import roundup_segments

WATCHLIST = """\
name: Roundups
vendors:
  - name: Temu
  - name: Petco
  - name: BICS
    case_sensitive: true
  - name: Orange
    context: [operator, telecom, mobile]
topics:
  breach: [hack, breach, leaked]
  spyware: [spyware]
rules:
  - name: vendor-breach
    all: [vendors, breach]
    none: [tabletop exercise]
  - name: vendor-spyware
    all: [vendors, spyware]
"""

PETCO = "Petco Hack Exposes Millions, Temu Accused of Spyware, and Ransomware Payments Hit $4.5B"


@pytest.fixture(scope="module")
def matcher(tmp_path_factory: pytest.TempPathFactory) -> Matcher:
    path = Path(tmp_path_factory.mktemp("roundups")) / "roundups.yaml"
    path.write_text(WATCHLIST, encoding="utf-8")
    return Matcher([load_watchlist(path)])


def evaluate(matcher: Matcher, *texts: str) -> Evaluation:
    (evaluation,) = matcher.evaluate_text(*texts)
    return evaluation


def fired(matcher: Matcher, *texts: str) -> set[str]:
    return {hit.rule for hit in evaluate(matcher, *texts).fired}


def test_the_issue_headline_pairs_each_vendor_with_its_own_topic(matcher: Matcher) -> None:
    evaluation = evaluate(matcher, PETCO)
    assert {(hit.rule, hit.terms) for hit in evaluation.fired} == {
        ("vendor-breach", ("Petco", "hack")),
        ("vendor-spyware", ("Temu", "spyware")),
    }


def test_a_vendor_and_a_topic_from_different_stories_do_not_fire(matcher: Matcher) -> None:
    title = "Temu Tops App Charts Again, Petco Opens New Stores, and Retailer Hack Exposes Millions"
    evaluation = evaluate(matcher, title)
    assert evaluation.fired == []
    assert evaluation.not_fired["vendor-breach"] == (
        "a roundup of several stories, and no one of them has a vendor and 'breach' term together"
    )
    assert fired(matcher, title.replace("Temu Tops", "Temu Hack Tops")) == {"vendor-breach"}


@pytest.mark.parametrize(
    "text",
    [
        "Temu, the shopping app, says a hack exposed millions of accounts",  # commas of prose
        "Petco, Temu and Shein were named, and the breach exposed millions",  # one-word parts: a sentence
        "Temu Hack: What We Know, What We Do Not, and What Comes Next",  # a list, but vendor and topic share a part
    ],
)
def test_sentences_with_commas_keep_their_vendor_and_topic_together(matcher: Matcher, text: str) -> None:
    assert fired(matcher, text) == {"vendor-breach"}


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Temu, the shopping app, says its newsletter system suffered a hack", ""),
        ("Temu, the shopping app, says a recap email went out after a hack of its systems", ""),
        ("Shopping app update", "Temu confirmed it on Monday. The hack exposed millions. Subscribe to our newsletter."),
        (
            "Shopping app update",
            "Temu confirmed it on Monday. The hack exposed millions. Sign up for our newsletter: free.",
        ),
    ],
)
def test_prose_that_names_a_newsletter_or_a_recap_is_no_roundup(matcher: Matcher, title: str, summary: str) -> None:
    """Only a roundup's label ("Newsletter:", "Recap:") makes one: read as a roundup, these stories were
    cut at every comma and sentence end, and a real breach alert was lost."""
    assert roundup_segments({"title": title, "summary": summary}) is None
    assert fired(matcher, title, summary, "") == {"vendor-breach"}


def test_a_newsletter_or_recap_label_still_makes_a_roundup(matcher: Matcher) -> None:
    assert fired(matcher, "Newsletter: Temu Tops App Charts, Retailer Hack Exposes Millions") == set()
    assert fired(matcher, "Markets. The Friday Digest: Temu Tops App Charts, Retailer Hack Exposes Millions") == set()
    assert fired(matcher, "Weekly recap: Temu Tops App Charts, Retailer Hack Exposes Millions") == set()
    assert fired(matcher, "Weekly recap: Temu Hack Exposes Millions, Retailer Tops Charts") == {"vendor-breach"}


def test_commas_of_prose_are_one_story(matcher: Matcher) -> None:
    text = "Temu, the shopping app owned by PDD Holdings, said the hack exposed millions"
    assert roundup_segments({"*": text}) is None
    assert fired(matcher, text) == {"vendor-breach"}


def test_a_roundup_marker_cuts_even_two_headlines(matcher: Matcher) -> None:
    assert fired(matcher, "In Other News: Temu Faces Fines, Retail Hack Exposes Data") == set()
    assert fired(matcher, "In Other News: Temu Hack Exposes Data, Retailer Faces Fines") == {"vendor-breach"}


def test_a_roundup_title_cuts_the_summary_and_the_article_into_sentences(matcher: Matcher) -> None:
    title = "Week in review: shopping apps, ransomware and more"
    across = "Temu topped the charts again. Separately, a hack at a retailer exposed millions."
    within = "Temu confirmed a hack that exposed millions. Separately, retailers had a good week."
    assert fired(matcher, title, across, "") == set()
    assert fired(matcher, title, "", across) == set()
    assert fired(matcher, title, within, "") == {"vendor-breach"}
    assert fired(matcher, title, "", within) == {"vendor-breach"}


def test_an_ordinary_title_leaves_the_article_whole(matcher: Matcher) -> None:
    across = "Temu topped the charts again. Separately, a hack at a retailer exposed millions."
    assert fired(matcher, "Shopping apps had a busy week", "", across) == {"vendor-breach"}


def test_a_context_word_from_another_story_of_a_roundup_does_not_count(matcher: Matcher) -> None:
    title = "Orange Juice Prices Soar After Hack, Mobile Operator Cuts Jobs, and Telecom Shares Fall"
    evaluation = evaluate(matcher, title)
    assert evaluation.fired == [] and evaluation.vendors == {}
    assert any(miss.startswith("Orange: no context word") for miss in evaluation.near_misses)
    assert fired(matcher, title.replace("Mobile Operator Cuts Jobs", "Telecom Orange Hack Cuts Jobs")) == {
        "vendor-breach"
    }


def test_an_exclusion_blocks_only_its_own_story(matcher: Matcher) -> None:
    title = "Petco Hack Exposes Millions, Temu Runs Tabletop Exercise on Hack, and Shares Fall Sharply"
    evaluation = evaluate(matcher, title)
    assert [(hit.rule, hit.terms) for hit in evaluation.fired] == [("vendor-breach", ("Petco", "hack"))]
    assert fired(matcher, "Petco Runs Tabletop Exercise on Hack, Markets Close Higher, Shares Fall Sharply") == set()


def test_case_sensitive_names_and_folded_text_agree_on_the_part(matcher: Matcher) -> None:
    """A case-sensitive hit counts offsets in plain text, the topic's in folded text; "Straße" is one
    character longer folded ("strasse"), which must not move a hit into the next part."""
    title = "Straße Telecom Ships New Phones, BICS Hack Exposes Roaming Data, and Prices Rise Again"
    assert fired(matcher, title) == {"vendor-breach"}
    moved = "Straße Telecom Hack Exposes Millions, BICS Ships New Phones, and Prices Rise Again"
    assert fired(matcher, moved) == set()


def test_a_story_is_cut_through_its_fields(matcher: Matcher) -> None:
    """match_story sees title, summary and text: a roundup title cuts all three."""
    title = "Petco Opens Stores, Temu Tops Charts, and Markets Rally Again"
    assert fired(matcher, title, "A busy week.", "A hack exposed millions of records at a bank.") == set()
    assert fired(matcher, title, "A busy week.", "Temu said a hack exposed millions of records.") == {"vendor-breach"}


def test_a_roundup_missing_a_rule_item_everywhere_gets_the_plain_reason(matcher: Matcher) -> None:
    """A rule refused before its items' hits are gathered (an item with no hit at all, roundup or
    not) says what an ordinary story says, not the roundup's reason."""
    roundup = "Temu Tops App Charts Again, Petco Opens New Stores, and Retailer Hack Exposes Millions"
    ordinary = "Temu tops the app charts again"
    for text in (roundup, ordinary):
        evaluation = evaluate(matcher, text)
        assert evaluation.not_fired["vendor-spyware"] == "no 'spyware' term matched"
    assert evaluate(matcher, "Retailer hack exposes millions").not_fired["vendor-breach"] == "no vendor matched"


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Temu says employees were targeted", "The company said this week in a blog post that a hack exposed them."),
        ("Shopping app update", "Temu also this week disclosed a hack of its seller portal."),
    ],
)
def test_this_week_in_prose_is_no_roundup(matcher: Matcher, title: str, summary: str) -> None:
    """ "this week in" anywhere made a roundup: the story was cut at every sentence end, and a vendor in
    the title never met the breach in the summary."""
    assert roundup_segments({"title": title, "summary": summary}) is None
    assert fired(matcher, title, summary, "") == {"vendor-breach"}


def test_this_week_in_or_also_this_week_opening_a_text_or_clause_still_makes_a_roundup(matcher: Matcher) -> None:
    assert fired(matcher, "This Week in Retail: Temu Tops Charts, Retailer Hack Exposes Millions") == set()
    assert fired(matcher, "Temu tops the charts again; also this week, a retailer hack exposed millions") == set()


@pytest.mark.parametrize(
    "title",
    [
        "Amid Retail Fraud Wave, Temu Confirms Hack, Customers Face Higher Bills",
        "In Wake Of Spyware Report, Temu Defends Its App, Says Hack Was Contained",
        "Weeks After Massive Hack, Temu Restores Service, Sellers Report Delays",
    ],
)
def test_a_title_case_headline_of_one_story_with_two_commas_is_no_roundup(matcher: Matcher, title: str) -> None:
    """A part that leads in ("Amid …", "In Wake Of …") or goes on ("Says …") is no headline of its own:
    read as three headlines, these alerted nothing."""
    assert roundup_segments({"title": title}) is None
    assert "vendor-breach" in fired(matcher, title)


def test_a_roundup_with_a_part_that_goes_on_is_still_cut_where_its_headlines_end(matcher: Matcher) -> None:
    title = "Temu Tops App Charts Again, Petco Opens New Stores, Says Sales Are Up, and Retailer Hack Exposes Millions"
    assert roundup_segments({"title": title}) is not None
    assert fired(matcher, title) == set()
    leading = "After Retail Hack, Temu Fires Its Security Chief, Petco Opens New Stores, and Shein Tops Charts"
    assert fired(matcher, leading) == {"vendor-breach"}  # the lead-in is Temu's own headline
    assert fired(matcher, leading.replace("Temu Fires", "Retailer Fires")) == set()


@pytest.mark.parametrize(
    ("title", "summary", "rule"),
    [
        (
            "Twilio says employees were targeted",
            "The company said this week in a blog post that attackers sent SMS phishing texts to its staff.",
            "vendor-smishing",
        ),
        (
            "Amid SMS Pumping Fraud Wave, Twilio Raises Verify Prices, Customers Face Higher Bills",
            "",
            "vendor-sms-fraud",
        ),
        (
            "In Wake Of SS7 Location Tracking Report, Syniverse Defends Its Network, Says No Breach Found",
            "",
            "vendor-signalling",
        ),
    ],
)
def test_an_adversarys_stories_alert_with_the_shipped_watchlist(title: str, summary: str, rule: str) -> None:
    shipped = Matcher([load_watchlist(Path(__file__).parents[2] / "examples" / "watchlists" / "telecom-threats.yaml")])
    (evaluation,) = shipped.evaluate_text(title, summary, "")
    assert rule in {hit.rule for hit in evaluation.fired}, evaluation.not_fired


def test_a_context_word_in_another_story_of_a_roundup_is_named_as_such(matcher: Matcher) -> None:
    evaluation = evaluate(
        matcher, "Orange Juice Prices Climb Again, Mobile Operator Hack Exposes Data, and Markets Slip"
    )
    assert "Orange: no context word in its own story of the roundup (operator, telecom, mobile) for Orange" in (
        evaluation.near_misses
    )


@pytest.mark.parametrize(
    "title",
    [
        "Petco Opens New Stores, In Texas Hackers Breach Schools, and Temu Accused of Spyware",
        "Temu Fined Over Robocalls, As Hackers Breach Hospitals, and Petco Expands In India",
        "Temu Tops App Charts, Warns Of Retail Breach Wave, and Petco Expands In India",
        "Week in review: Temu adds a new app, as hackers breach hospitals, Petco expands in India",
        "Retail Hack Exposes Millions; Temu Expands In India, ; Petco Adds New Stores",
        "Week in review: Temu adds a new app; ; a hack exposes a retailer's customers",
    ],
)
def test_a_middle_headline_that_starts_like_a_lead_in_or_a_reporting_verb_is_still_its_own(
    matcher: Matcher, title: str
) -> None:
    """Only a first part leads in and only a last one goes on: merged anywhere, and around an empty
    part, these roundups became one story and alerted a vendor with another story's breach."""
    assert "vendor-breach" not in fired(matcher, title)


@pytest.mark.parametrize(
    "text",
    [
        "Podcast: This week in retail: Temu adds a new app, a hack hits a hospital",
        "Risky Biz 700 - This week in retail: Temu adds a new app, a hack hits a hospital",
        '"This week in retail": Temu adds a new app, a hack hits a hospital',
        "This Week in Retail. Temu adds a new app. A hack hits a hospital.",
        "Temu adds a new app — also this week, a hack hits a hospital",
    ],
)
def test_a_this_week_column_anywhere_and_also_this_week_with_its_comma_make_a_roundup(
    matcher: Matcher, text: str
) -> None:
    assert fired(matcher, text) == set()


def test_this_week_in_opening_a_sentence_of_prose_is_no_roundup(matcher: Matcher) -> None:
    summary = "This week in a blog post, Temu said a hack exposed staff data."
    assert roundup_segments({"summary": summary}) is None
    assert fired(matcher, "Shopping app update", summary, "") == {"vendor-breach"}


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Petco Staff Tricked By Fake Texts, Attackers Reach Customer Data, Company Confirms Breach", ""),
        (
            "Petco says a contractor's account was the way in",
            "Petco said intruders used the account for weeks. Data of suppliers such as Deutsche Telekom AG, "
            "Telefonica Deutschland Holding, and Vodafone Group Plc was leaked.",
        ),
        ("Petco Data Stolen via Third-Party Vendor, Hackers Claim Breach, Announce 'Almost 1,000' Victims", ""),
    ],
)
def test_a_title_case_comma_chain_or_names_listed_in_prose_are_one_story(
    matcher: Matcher, title: str, summary: str
) -> None:
    """Read as headline lists, these single stories were cut into parts, the vendor in one and the
    breach in another, and their alerts were lost: a list of headlines is strung as a list (its last
    joined by "and", or semicolons), and is written in one case throughout."""
    assert roundup_segments({"title": title, "summary": summary}) is None
    assert "vendor-breach" in fired(matcher, title, summary, "")


@pytest.mark.parametrize(
    "title",
    [
        "Petco Opens New Stores; Retailer Hack Exposes Millions; Temu Tops App Charts",
        "Petco Opens New Stores | Retailer Hack Exposes Millions | and Temu Tops App Charts",
        "Petco opens new stores, A retailer hack exposes millions, and Temu tops app charts",
        "Petco Opens New Stores, Retailer Hack Exposes Millions, & Temu Tops App Charts",
        # set apart by semicolons or pipes, a headline in sentence case or naming iOS is still its own
        "Petco Names New CFO; Retail Hack Exposes Millions; Apple Patches iOS Zero-Day",
        "Petco Opens Dublin Office; Retailer hack exposes millions; Apple Ships iPhone Update",
    ],
)
def test_headlines_strung_by_semicolons_pipes_or_a_last_and_are_still_a_roundup(matcher: Matcher, title: str) -> None:
    assert fired(matcher, title) == set()


@pytest.mark.parametrize(
    "title",
    [
        "Petco says 125 customers were affected | Latest Tech News | The Economic Times",
        "Petco Says 125 Customers Were Affected | Latest Tech News | The Economic Times",
    ],
)
def test_a_headline_its_section_and_its_site_between_pipes_are_one_story(matcher: Matcher, title: str) -> None:
    """Cut as a list, the vendor of the headline lost the breach its summary told of."""
    summary = "A breach of its systems exposed customer data."
    assert roundup_segments({"title": title, "summary": summary}) is None
    assert "vendor-breach" in fired(matcher, title, summary, "")
