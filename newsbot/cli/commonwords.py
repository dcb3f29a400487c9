"""`newsbot check`'s warnings about vendors whose name is also a common word, with what it costs, and
about topic terms nearly every story holds.

A warning that says "'Orange' alone matches 212 of 3,400 stored stories" is acted on; one that
says "may be ambiguous" is not. The count is read from the database when a run has made one.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsbot.cli.status import reading
from newsbot.configuration.commonwords import topic_terms_in_every_story, unguarded_common_words
from newsbot.configuration.config import Config
from newsbot.configuration.watchlists import VendorConfig, Watchlist
from newsbot.errors import StorageError
from newsbot.storage.database_errors import database_faults


@dataclass(frozen=True)
class CommonWordVendor:
    watchlist: Watchlist
    position: int  # the vendor's index in the watchlist
    vendor: VendorConfig
    form: str
    zipf: float

    def where(self) -> str:
        vendor = self.vendor
        if self.form == vendor.name:
            return self.watchlist.where(("vendors", self.position, "name"))
        key = "aliases" if self.form in vendor.aliases else "unambiguous"
        return self.watchlist.where(("vendors", self.position, key, getattr(vendor, key).index(self.form)))


def common_word_warnings(config: Config) -> list[str]:
    found = [
        CommonWordVendor(watchlist, position, vendor, form, zipf)
        for watchlist in config.watchlists
        for position, vendor in enumerate(watchlist.config.vendors)
        for form, zipf in unguarded_common_words(vendor)
    ]
    if not found:
        return []
    counts = _stored_counts(config, [vendor.form for vendor in found])
    return [
        f"{found_vendor.where()}: {_sentence(found_vendor)}{counts.get(found_vendor.form, '')}"
        for found_vendor in found
    ]


def everyday_topic_warnings(config: Config) -> list[str]:
    """A topic term nearly every story holds, at its `file:line`."""
    return [
        f"{watchlist.where(('topics', topic, position))}: topic '{topic}': {why}, so nearly every story has the "
        "topic and a rule that needs it fires on its other items alone; name what the topic is about"
        for watchlist in config.watchlists
        for topic, position, why in topic_terms_in_every_story(watchlist.config)
    ]


def _sentence(found: CommonWordVendor) -> str:
    # A form in capitals ("ORANGE", as an imported register writes it) is matched in any case all the same.
    spelled = "is a" if not found.form.isupper() else f"matches, in any case, '{found.form.casefold()}', a"
    start = (
        f"vendor '{found.vendor.name}': '{found.form}' {spelled} common English word (wordfreq Zipf {found.zipf:.1f})"
    )
    if found.vendor.context:
        return f"{start} listed in unambiguous:, so it counts without a context word; take it out of unambiguous:"
    return (
        f"{start} and counts alone, so stories about the word alert too; give the vendor context: words "
        "(near: keeps them close) or case_sensitive: true"
    )


def _stored_counts(config: Config, forms: list[str]) -> dict[str, str]:
    """ ", alone it matches N of the M stored stories" per form; nothing before the first run."""
    try:
        with database_faults(config.database), reading(config) as storage:
            if storage is None:
                return {}
            total = storage.story_count()
            return {
                form: f"; alone it matches {storage.count_with_word(form):,} of the {total:,} stored stories"
                for form in dict.fromkeys(forms)
            }
    except StorageError as error:
        return dict.fromkeys(forms, f" (stored stories not counted: {error})")
