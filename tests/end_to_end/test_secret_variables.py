"""A Slack secret's `${VARIABLE}` is for its Slack setting only, and imports never bring a `${…}` in.

newsbot.yaml and watchlists expand `${VAR}` in every value, which a team uses for a private feed's
token. A feed URL holding the webhook's variable would send the secret to the feed's host on every
run, and a source or vendor named by it would print it; an OPML file or a vendor register from
elsewhere can carry either. Both imports skip such entries with a reason, and loading refuses a
secret's variable anywhere but its own key, with `file:line`, before anything is fetched.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import Workspace, run_newsbot
from tests.servers import FakeSlack, FeedServer, Route, rss

SECRET_WEBHOOK = "/services/T0CANARY1/B0CANARY2/c4n4ryS3cretW3bh00kXYZ"


def feed_with_one_story(feed_server: FeedServer) -> str:
    return feed_server.add("/feed.xml", Route(rss([{"title": "Carrier outage", "link": "https://n.example/1"}])))


def test_an_opml_outline_naming_a_variable_is_skipped_and_no_run_sends_the_secret(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack, tmp_path: Path
) -> None:
    feed = feed_with_one_story(feed_server)
    opml = tmp_path / "shared.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        f'<outline text="Leaky" xmlUrl="{feed}?ref=${{TEST_SLACK_WEBHOOK}}"/>'
        f'<outline text="${{HOME}} news" xmlUrl="{feed}?named"/>'
        f'<outline text="Plain" xmlUrl="{feed}"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    workspace.use_slack(slack)
    workspace.write()

    imported = run_newsbot("sources", "import", str(opml), "--config", str(workspace.config), cwd=workspace.folder)

    assert imported.returncode == 0, imported.stderr
    reason = "it holds a ${VARIABLE}, which newsbot.yaml would fill from the environment"
    assert f"skipped: Leaky: {reason}" in imported.stdout
    assert f"skipped: ${{HOME}} news: {reason}" in imported.stdout
    sources = yaml.safe_load(workspace.config.read_text(encoding="utf-8"))["sources"]
    assert sources == [{"name": "Plain", "feed": feed}]
    workspace.settings["sources"] = sources  # the workspace writes its config again for each command
    run = workspace.newsbot("run", "--quiet")
    assert run.returncode == 0, run.stderr
    assert [request.path for request in feed_server.requests_to("/feed.xml")] == ["/feed.xml"]
    assert not any("CANARY" in request.path or "services" in request.path for request in feed_server.requests)


def test_a_secrets_variable_anywhere_but_its_own_key_is_refused_with_the_line(
    workspace: Workspace, feed_server: FeedServer, slack: FakeSlack
) -> None:
    feed = feed_with_one_story(feed_server)
    workspace.use_slack(slack)
    workspace.source("Wire", f"{feed}?ref=${{TEST_SLACK_WEBHOOK}}")
    lines = workspace.write().read_text(encoding="utf-8").splitlines()
    line = next(number for number, text in enumerate(lines, 1) if "?ref=" in text)

    for command in (("check",), ("run", "--quiet")):
        result = workspace.newsbot(*command)
        assert result.returncode in (1, 2), result.stderr
        assert result.stderr.startswith(
            f"newsbot: {workspace.config}:{line}: sources.0.feed uses ${{TEST_SLACK_WEBHOOK}}, the variable of a "
            "Slack secret; a secret is expanded only where it is set"
        ), result.stderr
        assert "Traceback" not in result.stderr and SECRET_WEBHOOK not in result.stderr + result.stdout
    assert not feed_server.requests  # refused before the crawl


def test_a_watchlist_value_naming_the_configs_secret_is_refused_with_its_own_line(
    workspace: Workspace, slack: FakeSlack
) -> None:
    workspace.use_slack_token(slack)
    workspace.environment["TEST_SLACK_TOKEN"] = "xoxb-1111-2222-c4n4ryS3cretT0kenXYZ"
    watchlist = workspace.watchlist()
    text = watchlist.read_text(encoding="utf-8")
    watchlist.write_text(text.replace("name: Mitto AG", "name: Mitto ${TEST_SLACK_TOKEN}", 1), encoding="utf-8")
    line = next(n for n, t in enumerate(watchlist.read_text(encoding="utf-8").splitlines(), 1) if "TEST_SLACK" in t)

    check = workspace.newsbot("check")

    assert check.returncode == 1, check.stderr
    assert check.stderr.startswith(f"newsbot: {watchlist}:{line}: vendors."), check.stderr
    assert "uses ${TEST_SLACK_TOKEN}, the variable of a Slack secret" in check.stderr
    assert "c4n4ry" not in check.stderr + check.stdout


def test_another_variable_in_a_feed_url_is_still_filled_in(workspace: Workspace, feed_server: FeedServer) -> None:
    feed = feed_server.add("/feed.xml?token=t0ken42", Route(rss([{"title": "Outage", "link": "https://n.example/1"}])))
    workspace.source("Private feed", feed.replace("t0ken42", "${FEED_TOKEN}"))
    workspace.environment["FEED_TOKEN"] = "t0ken42"

    run = workspace.newsbot("run", "--quiet")

    assert run.returncode == 0, run.stderr
    assert len(feed_server.requests_to("/feed.xml?token=t0ken42")) == 1


def test_a_register_row_naming_a_variable_is_skipped(workspace: Workspace, tmp_path: Path) -> None:
    register = tmp_path / "register.csv"
    register.write_text("name,aliases\nAcme Telecom,${AWS_SECRET_ACCESS_KEY}\nBeta Messaging,Beta\n", encoding="utf-8")
    watchlist = workspace.folder / "watchlists" / "register.yaml"
    workspace.write()

    result = run_newsbot("vendors", "import", str(register), "--watchlist", str(watchlist), cwd=workspace.folder)

    assert result.returncode == 0, result.stderr
    assert "Acme Telecom: a cell holds a ${VARIABLE}, which the watchlist would fill from the environment" in (
        result.stdout
    )
    names = [vendor["name"] for vendor in yaml.safe_load(watchlist.read_text(encoding="utf-8"))["vendors"]]
    assert names == ["Beta Messaging"]
