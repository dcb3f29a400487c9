"""Every YAML example in the README passes `newsbot check`, its watchlists' `examples:` included.

A reader copies these blocks first, so each is checked as written: the block's text is put in a
file verbatim, and only what a fragment leaves out is added around it. A newsbot.yaml fragment
(`sources:`, `slack:`, …) gets `database:` and `watchlists:` lines pointing at the example
watchlists; a watchlist is checked alone in a folder of its own; the vendor list `vendors import`
prints becomes a watchlist's `vendors:`. The `${VAR}`s the blocks name are set to well-formed
values of the kind each expects (a webhook URL, a bot token, a signing secret).
"""

from __future__ import annotations

import re
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from newsbot.cli.commands import main
from tests.conftest import REPOSITORY

README = REPOSITORY / "README.md"
EXAMPLE_WATCHLISTS = REPOSITORY / "examples" / "watchlists"
SECRETS = {
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/readme0000",
    "SLACK_OPS_WEBHOOK": "https://hooks.slack.com/services/T000/B000/readme0001",
    "SLACK_BOT_TOKEN": "xoxb-0000-0000-readme",
    "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
    "SLACK_APP_TOKEN": "xapp-1-A000-0000-readme",
}
_FENCE = re.compile(r"^( *)```yaml\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
WATCHLIST_KEYS = {"rules", "vendors", "topics"}


@dataclass(frozen=True)
class Block:
    line: int  # of the README, where the block's text starts
    text: str

    @property
    def data(self) -> object:
        return yaml.safe_load(self.text)


def readme_yaml_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [
        Block(text[: found.start(2)].count("\n") + 1, textwrap.dedent(found.group(2)))
        for found in _FENCE.finditer(text)
    ]


BLOCKS = readme_yaml_blocks()


def test_the_readme_has_the_yaml_examples_this_test_knows_how_to_check() -> None:
    """A block this test would skip, or a parse that found none, must not pass silently."""
    kinds = [kind_of(block) for block in BLOCKS]
    assert len(BLOCKS) >= 7, [block.line for block in BLOCKS]
    assert {"newsbot.yaml", "newsbot.yaml fragment", "watchlist", "vendor list"} <= set(kinds), kinds


def kind_of(block: Block) -> str:
    data = block.data
    if isinstance(data, list):
        return "vendor list"
    assert isinstance(data, dict), f"README.md:{block.line}: a YAML example that is neither a mapping nor a list"
    if WATCHLIST_KEYS & set(data):
        return "watchlist"
    return "newsbot.yaml" if {"database", "watchlists"} <= set(data) else "newsbot.yaml fragment"


def lay_out(block: Block, folder: Path) -> Path:
    """The files `newsbot check` reads for this block, the block's text verbatim in one of them."""
    kind = kind_of(block)
    config = folder / "newsbot.yaml"
    watchlists = folder / "watchlists"
    if kind in ("watchlist", "vendor list"):
        watchlists.mkdir()
        text = block.text
        if kind == "vendor list":  # what `vendors import` adds under an existing watchlist's vendors:
            text = f"name: Suppliers\nvendors:\n{text}rules:\n  - name: vendor-named\n    any: [vendors]\n"
        (watchlists / "readme.yaml").write_text(text, encoding="utf-8")
        config.write_text("database: newsbot.db\nwatchlists: watchlists/\n", encoding="utf-8")
        return config
    shutil.copytree(EXAMPLE_WATCHLISTS, watchlists)
    head = "" if kind == "newsbot.yaml" else "database: newsbot.db\nwatchlists: watchlists/\n"
    config.write_text(head + block.text, encoding="utf-8")
    return config


@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{block.line}" for block in BLOCKS])
def test_a_readme_yaml_example_passes_check_and_its_examples(
    block: Block, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config = lay_out(block, tmp_path)
    status = main(["check", "--config", str(config)])
    captured = capsys.readouterr()
    assert status == 0, f"README.md:{block.line} ({kind_of(block)}):\n{captured.err}{captured.out}"
    assert f"{config}: OK" in captured.out
