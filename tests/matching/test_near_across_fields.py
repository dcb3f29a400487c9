"""`near:` counts words as a reader meets them: through the title, on into the summary and the text.

Counted per field, a headline naming the vendor over a lede naming the breach was never within any
`near:`: every rule of the shipped telecom watchlist has one, so a real run dropped the story while
`newsbot explain` of the same words as one text said MATCH. These stories are an adversary's, cut
to their first sentences, against the watchlists shipped in examples/.
"""

from __future__ import annotations

import re
import shutil
import sqlite3

from newsbot.configuration.watchlists import load_watchlist
from newsbot.matching.matcher import Matcher, story_fields
from newsbot.models import Story
from tests.conftest import REPOSITORY, Workspace
from tests.servers import FeedServer, Route, recent, rss

TELECOM = REPOSITORY / "examples" / "watchlists" / "telecom-threats.yaml"
SYNIVERSE_TITLE = "Syniverse discloses five-year compromise in SEC filing"
SYNIVERSE_LEDE = "An unauthorized party accessed the company's network and the records of 235 carriers."


def rules_fired(title: str, summary: str, text: str = "") -> set[str]:
    matcher = Matcher([load_watchlist(TELECOM)])
    story = Story(id="s", url="https://news.example/s", title=title, summary=summary, text=text, source="Wire")
    return {hit.rule for match in matcher.match_story(story) for hit in match.rules}


def test_a_vendor_in_the_headline_and_the_breach_in_the_lede_fire_a_rule_with_near() -> None:
    assert "vendor-breach" in rules_fired(SYNIVERSE_TITLE, SYNIVERSE_LEDE)


def test_the_same_words_deep_in_the_article_are_still_too_far() -> None:
    """vendor-breach has near: 25; the breach word 40 words into the article is past it."""
    filler = " ".join(["The filing runs to many pages of routine disclosures."] * 4)  # 36 words
    text = f"{filler} It says an unauthorized party accessed its network."
    assert "vendor-breach" not in rules_fired(SYNIVERSE_TITLE, "", text)


def test_a_context_word_counts_only_in_its_names_own_field() -> None:
    """The rule's words run on across the fields; a vendor's context does not: the headline's last
    word "network" was one word from the lede's "Three men were charged", and a common-word carrier
    alerted on a hospital breach."""
    carriers = Matcher([load_watchlist(REPOSITORY / "examples" / "watchlists" / "carriers-and-apps.yaml")])
    police = Story(
        "p",
        "https://news.example/p",
        "Police say hackers breached the hospital network",
        "Three men were charged on Tuesday over the attack.",
        "",
        "Wire",
    )
    assert carriers.match_story(police) == []
    carrier = Story("c", "https://news.example/c", "Three says hackers breached its mobile network", "", "", "Wire")
    assert [match.watchlist for match in carriers.match_story(carrier)] == ["Carriers and apps"]


def test_a_run_alerts_the_headline_and_lede_story_and_explain_agrees(
    workspace: Workspace, feed_server: FeedServer
) -> None:
    shutil.copy(TELECOM, workspace.watchlist("telecom-threats.yaml"))
    item = {"title": SYNIVERSE_TITLE, "description": SYNIVERSE_LEDE, "link": "https://news.example/syniverse"}
    workspace.source("Wire", feed_server.add("/feed.xml", Route(rss([{**item, "pubDate": recent()}]))))

    result = workspace.newsbot("run")
    explained = workspace.newsbot("explain", "--url", "https://news.example/syniverse")

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(workspace.database) as connection:
        alerted = connection.execute("SELECT watchlist, match FROM alerts").fetchall()
    assert [watchlist for watchlist, _ in alerted] == ["Telecom threats"], alerted
    assert '"vendor-breach"' in alerted[0][1]
    assert re.search(r"^  MATCH +vendor-breach \(high\): Syniverse, unauthorized party$", explained.stdout, re.M), (
        explained.stdout
    )


def test_a_guarded_name_in_the_headline_counts_with_a_context_word_opening_the_lede() -> None:
    """ "Orange hit by cyberattack" over "The French operator said…": the headline names the subject,
    the lede says what it is. Only a context word in the name's own field counted, and the story was
    dropped by the run while `explain` of the same words as one text said MATCH."""
    carriers = Matcher([load_watchlist(REPOSITORY / "examples" / "watchlists" / "carriers-and-apps.yaml")])
    lede = "The French operator said data of 850,000 subscribers was stolen."
    orange = Story("o", "https://news.example/o", "Orange hit by cyberattack", lede, "", "Wire")
    assert [match.watchlist for match in carriers.match_story(orange)] == ["Carriers and apps"]
    later = f"{'Data was stolen. ' * 7}{lede}"
    far = Story("f", "https://news.example/f", "Orange hit by cyberattack", later, "", "Wire")
    (evaluation,) = carriers.evaluate(story_fields(far))
    assert evaluation.fired == []  # past the vendor's near: 20
    assert "Orange: no context word within 20 words of it in the headline or the lede under it" in (
        " ".join(evaluation.near_misses)
    )
