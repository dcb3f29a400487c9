"""alerts.format (pure Block Kit) and the terminal sinks, with alerts built by hand."""

from __future__ import annotations

import calendar
import dataclasses
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from newsbot.alerts.deliver import failing_notice
from newsbot.alerts.format import (
    HEADER_LIMIT,
    SECTION_LIMIT,
    TEXT_LIMIT,
    build_also_in,
    build_digest,
    build_message,
    build_notice,
    escape,
    plain_text,
    safe_link_target,
    truncate,
)
from newsbot.alerts.routing import Destination
from newsbot.alerts.sinks import Outgoing, PostResult
from newsbot.alerts.terminal import PayloadPrinter, TerminalPoster
from newsbot.models import Alert, AlertStatus, Match, RuleHit, Severity, Story
from newsbot.storage.records import TriedAlert

URL = "https://example.org/2021/12/mitto-ss7?id=7"
PUBLISHED = datetime(2021, 12, 6, 9, 30, tzinfo=UTC)


def make_alert(
    *,
    title: str = "Mitto AG co-founder sold SS7 access",
    summary: str = "A short summary.",
    text: str = "",
    url: str = URL,
    source: str = "Telecom Security Wire",
    published: datetime | None = PUBLISHED,
    also_in: tuple[str, ...] = (),
    watchlist: str = "SMS and 2FA vendors",
) -> Alert:
    story = Story(id="story-1", url=url, title=title, summary=summary, text=text, source=source, published_at=published)
    match = Match(
        watchlist=watchlist,
        rules=(
            RuleHit("vendor-surveillance", Severity.HIGH, ("Mitto AG (as Mitto)", "SS7")),
            RuleHit("vendor-breach", Severity.MEDIUM, ("Mitto AG (as Mitto)", "hacked")),
        ),
    )
    return Alert(id="alert-1", story=story, match=match, also_in=also_in)


def strings(value: Any) -> Iterator[str]:
    """Every string anywhere in a JSON value (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def roundtrip(payload: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(payload))


def text_objects(payload: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(block type, text) for every text object in the blocks."""
    for block in payload["blocks"]:
        if "text" in block:
            yield block["type"], block["text"]["text"]
        for field in block.get("fields", []):
            yield "field", field["text"]
        for element in block.get("elements", []):
            yield block["type"], element["text"]


# --------------------------------------------------------------------------------------------
# Escaping
# --------------------------------------------------------------------------------------------

ESCAPE_TABLE = [
    ("plain", "plain"),
    ("AT&T", "AT&amp;T"),
    ("<!channel>", "&lt;!channel&gt;"),
    ("a < b > c", "a &lt; b &gt; c"),
    ("&lt;", "&amp;lt;"),  # already-escaped text is escaped again, not trusted
    ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
]


@pytest.mark.parametrize(("raw", "escaped"), ESCAPE_TABLE)
def test_escape(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


HOSTILE_TITLES = [
    "<!channel> urgent <https://evil.example|click here>",
    "<!here> <@U024BE7LH> <#C024BE7LR> <!subteam^S123>",
    "Fake <https://evil.example|https://example.org/real> link & more",
    "<" * 400,
]


@pytest.mark.parametrize("title", HOSTILE_TITLES, ids=range(len(HOSTILE_TITLES)))
@pytest.mark.parametrize("where", ["title", "summary", "text"])
def test_feed_text_cannot_add_slack_syntax(title: str, where: str) -> None:
    fields: dict[str, Any] = {where: title, **({"summary": ""} if where == "text" else {})}
    alert = make_alert(**fields)
    payload = roundtrip(build_message(alert))
    header, *parsed_blocks = payload["blocks"]
    # The header is plain_text, which Slack shows literally and never parses for mentions or links.
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    link_start = f"<{safe_link_target(URL)}|"
    for string in strings({**payload, "blocks": parsed_blocks}):
        # The only '<' allowed: the story link and Slack's date token, both built by newsbot.
        leftover = string.replace(link_start, "").replace("<!date^", "")
        assert "<" not in leftover, f"unescaped '<' in {string[:120]!r}"
        assert "<!channel" not in string and "<!here" not in string and "<@" not in string


# --------------------------------------------------------------------------------------------
# The story link
# --------------------------------------------------------------------------------------------

LINK_TABLE = [
    # (url, the link target Slack must see)
    (URL, URL),
    ("https://example.org/a|b", "https://example.org/a%7Cb"),
    ("https://example.org/a>b", "https://example.org/a%3Eb"),
    ("https://example.org/a<b", "https://example.org/a%3Cb"),
    (
        "https://example.org/x|<https://evil.example|click>",
        "https://example.org/x%7C%3Chttps://evil.example%7Cclick%3E",
    ),
    ("https://example.org/a b", "https://example.org/a%20b"),
]


@pytest.mark.parametrize(("url", "target"), LINK_TABLE, ids=[row[0] for row in LINK_TABLE])
def test_story_link(url: str, target: str) -> None:
    alert = make_alert(url=url, title="Mitto & co <sold> SS7")
    payload = build_message(alert)
    link = payload["blocks"][1]["text"]["text"].split("\n")[0]  # the matched words are on the next line
    assert link == f"<{target}|Mitto &amp; co &lt;sold&gt; SS7>"
    # Exactly one link: one '<', one '|', one '>' delimiting it.
    assert (link.count("<"), link.count("|"), link.count(">")) == (1, 1, 1)


# --------------------------------------------------------------------------------------------
# Slack's limits, even for absurd input
# --------------------------------------------------------------------------------------------

HUGE = " ".join(["telecom"] * 12_500)[:100_000]
HUGE_TABLE = [
    ("title", HUGE),
    ("summary", HUGE),
    ("text", HUGE),
    ("title", "x" * 100_000),  # no word boundary at all
    ("title", "&" * 100_000),  # escaping multiplies length by five
    ("summary", "<" * 100_000),
    ("both", "Mitto sold SS7 access & more. " * 3_400),
]


@pytest.mark.parametrize(("where", "value"), HUGE_TABLE, ids=[f"{row[0]}-{row[1][:8]}" for row in HUGE_TABLE])
def test_limits_hold_for_huge_input(where: str, value: str) -> None:
    kwargs: dict[str, Any] = {"title": value, "summary": value} if where == "both" else {where: value}
    payload = roundtrip(build_message(make_alert(**kwargs)))
    header = payload["blocks"][0]
    assert header["type"] == "header"
    assert 0 < len(header["text"]["text"]) <= HEADER_LIMIT
    for block_type, text in text_objects(payload):
        assert len(text) <= SECTION_LIMIT, block_type
    assert len(payload["text"]) <= TEXT_LIMIT
    assert len(payload["blocks"]) <= 50
    assert len(json.dumps(payload)) < 100_000


TRUNCATE_TABLE = [
    # (text, limit, expected)
    ("short", 10, "short"),
    ("exactly ten", 11, "exactly ten"),
    ("the quick brown fox jumps", 12, "the quick…"),
    ("the quick brown fox jumps", 16, "the quick brown…"),
    ("the quick brown fox jumps", 15, "the quick…"),
    ("abcdefghijklmnopqrstuvwxyz", 10, "abcdefghi…"),  # no space: a hard cut still fits
]


@pytest.mark.parametrize(("text", "limit", "expected"), TRUNCATE_TABLE)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected
    assert len(truncate(text, limit)) <= limit


@pytest.mark.parametrize("limit", [20, 150, 3000, 40000])
def test_truncate_cuts_at_a_word_boundary(limit: int) -> None:
    words = [f"word{n}" for n in range(20_000)]
    text = " ".join(words)
    result = truncate(text, limit)
    assert len(result) <= limit
    assert result.endswith("…")
    kept = result[:-1]
    assert text.startswith(kept)
    assert text[len(kept)] == " "  # the cut fell between words
    assert kept.split(" ") == words[: len(kept.split(" "))]


def test_header_is_truncated_at_a_word_boundary() -> None:
    alert = make_alert(title=" ".join(["surveillance"] * 40))
    vendors = tuple(f"Surveillance vendor {n}" for n in range(40))
    many = dataclasses.replace(alert.match, vendors=vendors)
    header = build_message(dataclasses.replace(alert, match=many))["blocks"][0]["text"]["text"]
    whole = "🔴 HIGH · " + ", ".join(vendors)
    assert len(header) <= HEADER_LIMIT and header.endswith("…")
    kept = header[:-1]
    assert whole.startswith(kept) and whole[len(kept)] == " "  # the cut fell between words


# --------------------------------------------------------------------------------------------
# The facts in the message
# --------------------------------------------------------------------------------------------


def test_facts_appear() -> None:
    payload = build_message(make_alert(also_in=("Other Wire",)))
    everything = "\n".join(strings(payload))
    for fact in [
        "Telecom Security Wire",
        "SMS and 2FA vendors",
        "high",
        "vendor-surveillance (high)",
        "vendor-breach (medium)",
        "Mitto AG (as Mitto)",
        "SS7",
        "hacked",
        "*Also in:* Other Wire",
        "A short summary.",
    ]:
        assert fact in everything, fact
    assert payload["blocks"][0]["text"]["text"].startswith("🔴 HIGH · ")
    fields = [field["text"] for field in payload["blocks"][2]["fields"]]
    assert fields[0] == "*Source:* Telecom Security Wire"
    assert fields[2] == "*Watchlist:* SMS and 2FA vendors"
    assert fields[3] == "*Rules:* vendor-surveillance (high), vendor-breach (medium)"
    words = payload["blocks"][1]["text"]["text"].split("\n")[1]
    assert words == "*Matched:* Mitto AG (as Mitto), SS7, hacked"  # each term once; no vendors named, none told apart
    assert payload["text"].count("Mitto AG (as Mitto)") == 1


PUBLISHED_TABLE = [
    (datetime(2021, 12, 6, 9, 30, tzinfo=UTC), "2021-12-06 09:30 UTC"),
    (datetime(1970, 1, 1, 0, 0, tzinfo=UTC), "1970-01-01 00:00 UTC"),
    (datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC), "2024-02-29 23:59 UTC"),
    # An aware time in another zone: the epoch is the same instant, the fallback says UTC.
    (datetime(2021, 12, 6, 11, 30, tzinfo=timezone(timedelta(hours=2))), "2021-12-06 09:30 UTC"),
]


@pytest.mark.parametrize(
    ("published", "fallback"), PUBLISHED_TABLE, ids=[row[0].isoformat() for row in PUBLISHED_TABLE]
)
def test_published_is_a_slack_date(published: datetime, fallback: str) -> None:
    payload = build_message(make_alert(published=published))
    field = payload["blocks"][2]["fields"][1]["text"]
    found = re.fullmatch(r"\*Published:\* <!date\^(\d+)\^([^|>]*)\|([^>]*)>", field)
    assert found, field
    epoch = calendar.timegm(published.astimezone(UTC).timetuple())
    assert int(found.group(1)) == epoch
    assert found.group(3) == fallback
    assert published.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") in plain_text(make_alert(published=published))


def test_published_unknown() -> None:
    payload = build_message(make_alert(published=None))
    assert payload["blocks"][2]["fields"][1]["text"] == "*Published:* unknown"
    assert "<!date" not in json.dumps(payload)
    assert "published: unknown" in plain_text(make_alert(published=None))


ALSO_IN_TABLE = [
    ((), False),
    (("Other Wire",), True),
    (("Other Wire", "Third <Feed>"), True),
]


@pytest.mark.parametrize(("also_in", "shown"), ALSO_IN_TABLE)
def test_also_in_only_when_present(also_in: tuple[str, ...], shown: bool) -> None:
    alert = make_alert(also_in=also_in)
    everything = "\n".join(strings(build_message(alert)))
    assert ("Also in" in everything) is shown
    assert ("also in:" in plain_text(alert)) is shown
    for name in also_in:
        assert escape(name) in everything
        assert name in plain_text(alert)


@pytest.mark.parametrize(("unfurl", "expected"), [(None, False), (False, False), (True, True)])
def test_unfurl(unfurl: bool | None, expected: bool) -> None:
    alert = make_alert()
    payload = build_message(alert) if unfurl is None else build_message(alert, unfurl_links=unfurl)
    assert payload["unfurl_links"] is expected
    assert payload["unfurl_media"] is expected


def test_summary_falls_back_to_text() -> None:
    payload = build_message(make_alert(summary="", text="Body text & details"))
    assert payload["blocks"][-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Body text &amp; details", "verbatim": True}],
    }
    payload = build_message(make_alert(summary="", text=""))
    assert [block["type"] for block in payload["blocks"]] == ["header", "section", "section"]


# --------------------------------------------------------------------------------------------
# Terminal sinks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("also_in", [(), ("Other Wire",)])
def test_terminal_sink_prints_plain_text(also_in: tuple[str, ...]) -> None:
    alert = make_alert(title="<!channel> Mitto & SS7", also_in=also_in)
    stream = io.StringIO()
    message = Outgoing(build_message(alert), plain_text(alert), (alert.id,))
    outcome = TerminalPoster(stream).post(Destination("the terminal"), message)
    assert outcome == PostResult(ok=True)
    output = stream.getvalue()
    assert output == plain_text(alert) + "\n\n"
    assert "[HIGH] SMS and 2FA vendors: <!channel> Mitto & SS7" in output  # unescaped on a terminal
    assert URL in output


@pytest.mark.parametrize("unfurl", [False, True])
@pytest.mark.parametrize("title", ["Mitto sold SS7 access", "<!channel> Zürich & “quotes”"])
def test_payload_printer_prints_the_exact_payload(unfurl: bool, title: str) -> None:
    alert = make_alert(title=title, also_in=("Other Wire",))
    stream = io.StringIO()
    message = Outgoing(build_message(alert, unfurl_links=unfurl), plain_text(alert), (alert.id,), thread_ts="1.5")
    outcome = PayloadPrinter(stream).post(Destination("#vendor-news", channel="#vendor-news"), message)
    assert outcome.ok is True
    printed = json.loads(stream.getvalue())
    assert printed == {"destination": "#vendor-news", "thread_ts": "1.5", **build_message(alert, unfurl_links=unfurl)}


LONG_LINK_TABLE = [
    # (length of the URL's path, length of the title)
    (100, 100_000),
    (2_000, 20),
    (2_000, 100_000),
    (2_800, 20),
    (2_800, 100_000),  # URL fits in a section on its own; the label must shrink, not the link break
]


@pytest.mark.parametrize(("path_length", "title_length"), LONG_LINK_TABLE)
def test_link_stays_well_formed_within_the_section_limit(path_length: int, title_length: int) -> None:
    url = "https://example.org/" + "a" * path_length
    title = ("word " * title_length)[:title_length]
    section = build_message(make_alert(url=url, title=title))["blocks"][1]["text"]["text"]
    link = section.split("\n")[0]  # the matched words are on the next line
    assert len(section) <= SECTION_LIMIT
    assert link.startswith(f"<{url}|")
    assert link.endswith(">")
    assert link.count("<") == 1 and link.count(">") == 1


@pytest.mark.parametrize("shift", range(5))  # the cut lands on each character of "&amp;" in turn
def test_a_cut_never_leaves_half_an_escape(shift: int) -> None:
    also_in = ("x" * shift + "&" * 1_000,)  # one "word" longer than a section holds once escaped
    payload = build_message(make_alert(also_in=also_in))
    texts = [text for _, text in text_objects(payload) if text.endswith("…")]
    assert texts  # the details section was cut
    for text in texts:
        assert not re.search(r"&(amp|am|a|lt|l|gt|g)?…$", text), text[-20:]
        assert len(text) <= SECTION_LIMIT


@pytest.mark.parametrize("lines", [18, 2_000])
def test_a_long_notice_is_split_into_sections_slack_accepts(lines: int) -> None:
    """ "Delivery is failing" naming 18 watchlists' channels was one section of 3,235 characters:
    refused (invalid_blocks), and retried in silence every run. Each line is kept while they fit."""
    text = "\n".join(
        f"'Watchlist {number}' to #missing-{number}: Slack says channel_not_found " + "x" * 120
        for number in range(lines)
    )

    payload = build_notice(text)

    sections = [block["text"]["text"] for block in payload["blocks"]]
    assert len(sections) <= 50 and all(0 < len(section) <= 3000 for section in sections)
    assert len(payload["text"]) <= 40000
    shown = "\n".join(sections)
    if lines == 18:
        assert shown == text and len(sections) == 2
    else:
        assert len(sections) == 50 and shown.endswith("…")  # the lines that do not fit, cut in the last
        assert text.startswith("\n".join(sections[:49]) + "\n")


def test_the_delivery_failing_notice_of_forty_channels_is_whole_in_slacks_limits() -> None:
    """Its causes were joined by "; " on one line, which build_notice could only cut: the last causes
    and "They are kept…" were lost. One cause a line, every one is shown."""
    stuck = [
        TriedAlert(
            id=f"a{number}",
            watchlist="W",
            destination=f"#missing-channel-{number}",
            attempts=3,
            last_error="Slack says channel_not_found: the channel does not exist or the bot cannot see it (HTTP 200)",
            created_at=datetime(2026, 12, 1, tzinfo=UTC),
            status=AlertStatus.PENDING,
            title="t",
        )
        for number in range(40)
    ]

    payload = build_notice(failing_notice(stuck, timedelta(hours=6)))

    sections = [block["text"]["text"] for block in payload["blocks"]]
    assert all(0 < len(section) <= 3000 for section in sections) and len(sections) <= 50
    shown = "\n".join(sections)
    assert all(f"#missing-channel-{number}:" in shown for number in range(40))
    assert shown.endswith("They are kept and will be sent when fixed.")


def test_the_delivery_failing_notice_names_an_alert_in_flight_as_such() -> None:
    """An attempt whose answer was lost has no error: the notice said "#vendor-news: None"."""
    lost = TriedAlert("a", "W", "#vendor-news", 1, None, datetime(2026, 12, 1, tzinfo=UTC), AlertStatus.SENDING, "t")
    text = failing_notice([lost], timedelta(hours=6))
    assert "#vendor-news: sent, its answer lost (looked up before it is sent again)" in text and "None" not in text


@pytest.mark.parametrize(
    "title",
    [
        "https://www.cisa.gov/news-events/alerts/mitto-breach-advisory",
        "www.cisa.gov: Mitto advisory",
        "cisa.gov advisory",
    ],
)
def test_a_title_that_reads_as_an_address_is_followed_by_where_the_link_goes(title: str) -> None:
    """A feed's title "https://www.cisa.gov/…" over a link to another host showed a trusted address and
    led elsewhere: nothing else in the alert, the digest or an "also in" line named the host."""
    alert = make_alert(url="https://evil.example/phish", title=title)
    link = build_message(alert)["blocks"][1]["text"]["text"].split("\n")[0]
    also_in = build_also_in(alert)["blocks"][0]["elements"][0]["text"]
    digest = build_digest("newsbot: 1 new alert", [alert])[0].payload["blocks"]
    assert link.endswith("> (evil.example)") and link.startswith("<https://evil.example/phish|")
    assert also_in.endswith("> (evil.example)")
    assert "> (evil.example)" in json.dumps(digest)


def test_a_plain_title_shows_no_host_and_an_also_in_line_keeps_its_link_whole() -> None:
    assert build_message(make_alert())["blocks"][1]["text"]["text"].split("\n")[0].endswith("sold SS7 access>")
    long_url = "https://example.org/" + "a" * 2_960  # fits a section alone, not after "Also in …: "
    text = build_also_in(make_alert(url=long_url, title="Mitto AG sold SS7 access"))["blocks"][0]["elements"][0]["text"]
    assert len(text) <= SECTION_LIMIT and text.count("<") == text.count(">")
