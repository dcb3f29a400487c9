"""The fast path and feedparser give the same stories on every feed of ../shared/corpus.

newsbot.stories.feeds.parse_feed is what a crawl runs: fastfeedparser (newsbot.stories.fastfeeds) for
the well-formed UTF-8 RSS and Atom it trusts, feedparser for the rest; parse_feed_reference is feedparser
alone. For every file of the corpus's feeds/ and broken-feeds/ (its SOURCES.md says what each is),
newsbot's own Story-building code (newsbot.stories.normalize.to_story) must make the same stories from
both: the same identity, URL and title, entry by entry, and the same entries left without an address.
No file is exempt. Summaries, contents and dates are measured, not required, in test_parser_agreement.

The corpus is not shipped with newsbot: without it, these tests skip.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsbot.models import FeedEntry
from newsbot.stories.fastfeeds import parse_well_formed
from newsbot.stories.feeds import FeedParseError, parse_feed, parse_feed_reference
from newsbot.stories.normalize import to_story
from tests.conftest import CORPUS

FOLDERS = ("feeds", "broken-feeds")
NOW = datetime(2026, 12, 1, tzinfo=UTC)
# Observed: 40 of the 55 files of feeds/ and 5 of the 31 of broken-feeds/ take the fast path; a margin
# for a changed corpus, so that the comparison keeps comparing two parsers.
MIN_FAST_FILES = 40


def corpus_files() -> list[Path]:
    return sorted(path for folder in FOLDERS if (CORPUS / folder).is_dir() for path in (CORPUS / folder).iterdir())


FILES = corpus_files()


def corpus_url(path: Path) -> str:
    return f"https://corpus.example.test/{path.parent.name}/{path.name}"


def identities(parse: Callable[[bytes, str], list[FeedEntry]], path: Path) -> list[tuple[str, str, str] | None] | str:
    """(id, url, title) of the story each entry makes, None for an entry without an address; or the
    sentence of the FeedParseError when the body is no feed."""
    try:
        entries = parse(path.read_bytes(), corpus_url(path))
    except FeedParseError as error:
        return str(error)
    stories = [to_story(entry, "Corpus", NOW) for entry in entries]
    return [(story.id, story.url, story.title) if story else None for story in stories]


@pytest.mark.skipif(not FILES, reason=f"no shared corpus at {CORPUS}")
@pytest.mark.parametrize("path", FILES, ids=[f"{path.parent.name}/{path.name}" for path in FILES])
def test_both_paths_make_the_same_stories(path: Path) -> None:
    assert identities(parse_feed, path) == identities(parse_feed_reference, path)


@pytest.mark.skipif(not FILES, reason=f"no shared corpus at {CORPUS}")
def test_the_fast_path_is_taken_often_enough_to_be_compared() -> None:
    fast = [path.name for path in FILES if parse_well_formed(path.read_bytes(), corpus_url(path)) is not None]
    assert len(fast) >= MIN_FAST_FILES, fast
