"""A story's text is bounded: a page or feed entry of megabytes is stored (and matched) cut short."""

from newsbot.models import FeedEntry
from newsbot.sources.articles import MAX_PAGE_CHARS, extract_article
from newsbot.stories.normalize import MAX_TEXT_CHARS, MAX_TITLE_CHARS, bounded, to_story

PARAGRAPHS = "".join(f"<p>Paragraph {n} says Mitto sold SS7 access to locate phones.</p>" for n in range(60_000))


def test_a_huge_feed_entry_is_stored_cut_at_a_word():
    entry = FeedEntry(link="https://news.example.com/huge", title="Mitto " * 1_000, summary="", content=PARAGRAPHS)

    story = to_story(entry, "Wire")

    assert story is not None
    assert MAX_TEXT_CHARS // 2 < len(story.text) <= MAX_TEXT_CHARS
    assert story.text.startswith("Paragraph 0 says Mitto") and story.text.split()[-1] in PARAGRAPHS
    assert len(story.title) <= MAX_TITLE_CHARS and story.title.endswith("Mitto")


def test_a_huge_article_page_is_read_only_so_far():
    html = f"<html><body><article>{PARAGRAPHS}</article></body></html>"
    assert len(html) > 2 * MAX_PAGE_CHARS

    article = extract_article(html, "https://news.example.com/huge")

    assert article.text.startswith("Paragraph 0 says Mitto")
    assert len(article.text) <= MAX_TEXT_CHARS


def test_bounded_leaves_short_text_alone_and_cuts_a_word_free_text_hard():
    assert bounded("Mitto AG", 100) == "Mitto AG"
    assert bounded("x" * 500, 100) == "x" * 100


def test_a_page_of_one_table_row_of_a_hundred_thousand_cells_is_read_without_its_tables():
    """trafilatura counts a row's cells again for each cell: read with its table, this page (1.1 MB,
    under the page bound) held the reading about a minute; an article's own tables are kept."""
    lede = "<p>" + "Mitto AG sold SS7 access to locate phones. " * 20 + "</p>"
    flood = "<table><tr>" + "<td>x</td>" * 110_000 + "</tr></table>"
    short = "<table><tr><td>Mitto AG</td><td>SS7 gateway</td></tr></table>"

    flooded = extract_article(f"<html><body><article>{lede}{flood}</article></body></html>", "https://e.example/a")
    kept = extract_article(f"<html><body><article>{lede}{short}</article></body></html>", "https://e.example/b")

    assert flooded.text.startswith("Mitto AG sold SS7 access") and len(flooded.text) < 5_000  # no table
    assert "SS7 gateway" in kept.text
