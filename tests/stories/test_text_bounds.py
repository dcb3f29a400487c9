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
