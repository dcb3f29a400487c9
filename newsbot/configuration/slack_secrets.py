"""Slack secrets in the config — webhook URLs and tokens — checked for shape without ever being shown.

A webhook URL is a password with a scheme: whoever has it posts to the channel. One pasted with a
space or a line break used to pass `newsbot check` and reach slack-sdk, whose urllib refused it
with an error quoting the URL's path — the secret part — which was printed, logged and stored as
the alert's last_error. Here such a value is refused when the config is loaded, and the sentence
names the key, `file:line` and what is wrong, never the value or any part of it. `redact` is the
second line of defence for messages built from text that may contain one: it removes every run of
characters shared with a secret's private part, and anything shaped like a Slack secret.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any
from urllib.parse import SplitResult, urlsplit

from pydantic import AfterValidator, ValidationInfo

from newsbot.configuration.validation import ENV_REFERENCE
from newsbot.configuration.yamlfile import Location, YamlDocument
from newsbot.errors import ConfigError

SECRET_KEYS = frozenset({"webhook_url", "ops_webhook_url", "token", "signing_secret", "app_token"})
KEEP_REFERENCES = "keep_env_references"  # validation context: an unset `${VAR}` may stay as written
REDACTED = "<secret>"
SHORTEST_SHOWN_PART = 8  # a run this long shared with a secret is removed from a message
_TOKEN_PREFIXES = ("xoxb-", "xoxp-", "xoxe.xoxb-", "xoxe.xoxp-")  # bot, user, and their rotating forms
_TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9.-]+")
_ANY_TOKEN_PREFIX = re.compile(r"(?:xoxe\.)?xox[a-z]-|xapp-")
# Whatever the config said: a token's or a webhook's private part, found by its shape in any text.
_SECRET_SHAPED = re.compile(r"(?:(?:xoxe\.)?xox[a-z]-|xapp-|hooks\.slack(?:-gov)?\.com/services/)([A-Za-z0-9_/-]{4,})")
_HEX = re.compile(r"[0-9a-fA-F]+")
_WEBHOOK_EXAMPLE = "https://hooks.slack.com/services/T…/B…/…"


def characters_problem(value: str) -> str | None:
    """What is wrong with a secret's characters, without quoting any: copy-paste leaves spaces and line breaks."""
    if any(character in "\r\n" for character in value):
        return "contains a line break; copy it again without one"
    if value != value.strip():
        return "starts or ends with a space; remove it"
    if any(character.isspace() for character in value):
        return "contains a space or tab; copy it again without it"
    if not value.isascii() or not value.isprintable():
        return "contains an invisible or non-ASCII character; copy it again (or type it)"
    return None


def url_problem(url: str, *, example: str) -> str | None:
    """An https URL with a host; http only to a loopback address (a test server)."""
    problem = characters_problem(url)
    if problem is None and "://" not in url:
        problem = f"has no scheme: it must look like {example}"
    return problem or _address_problem(urlsplit(url), example)


def _address_problem(parts: SplitResult, example: str) -> str | None:
    try:
        parts.port  # noqa: B018 — urlsplit checks the port only when asked
    except ValueError:
        return "has a port that is not a number from 0 to 65535"
    scheme = parts.scheme.lower()
    checks = (
        (scheme not in ("https", "http"), f"must start with https:// (like {example})"),
        (not parts.hostname, f"has no host name: it must look like {example}"),
        (parts.username is not None or parts.password is not None, "must not contain a user name or password"),
        (
            scheme == "http" and not _is_loopback(parts.hostname or ""),
            "must use https:// (over http:// it would travel unencrypted; http is only for a test server on 127.0.0.1)",
        ),
    )
    return next((message for failed, message in checks if failed), None)


def webhook_url_problem(url: str) -> str | None:
    if characters_problem(url) is None and _ANY_TOKEN_PREFIX.match(url):
        return "is a Slack token, not a webhook's URL: a bot token goes in slack.token (with slack.channel)"
    problem = url_problem(url, example=_WEBHOOK_EXAMPLE)
    if problem is None and urlsplit(url).path.strip("/") == "":
        return f"has no path: a Slack webhook looks like {_WEBHOOK_EXAMPLE}"
    return problem


def token_problem(token: str) -> str | None:
    problem = characters_problem(token)
    if problem:
        return problem
    if not token.startswith(_TOKEN_PREFIXES):
        return "does not look like a Slack token: a bot token starts with xoxb-, a user token with xoxp-"
    if not _TOKEN_CHARACTERS.fullmatch(token):
        return "has characters a Slack token never has (it is letters, digits and dashes)"
    return None


def signing_secret_problem(secret: str) -> str | None:
    """Slack's signing secret (Basic Information → App Credentials) is hexadecimal; the client secret
    and verification token sit beside it and are easy to paste instead."""
    problem = characters_problem(secret)
    if problem is None and not _HEX.fullmatch(secret):
        return "does not look like a Slack signing secret (hexadecimal, under Basic Information → App Credentials)"
    return problem


def app_token_problem(token: str) -> str | None:
    problem = characters_problem(token)
    if problem is None and not token.startswith("xapp-"):
        return "does not look like an app-level token: it starts with xapp- (Basic Information → App-Level Tokens)"
    if problem is None and not _TOKEN_CHARACTERS.fullmatch(token):
        return "has characters a Slack token never has (it is letters, digits and dashes)"
    return problem


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked(problem_of: Callable[[str], str | None]) -> AfterValidator:
    """A pydantic validator raising the problem as a sentence; pydantic's message then quotes no input.

    A value still holding an unset `${VAR}` passes when the context allows it (`explain`, `status`
    run without the secret in their environment).
    """

    def check(value: str, info: ValidationInfo) -> str:
        if info.context and info.context.get(KEEP_REFERENCES) and ENV_REFERENCE.search(value):
            return value
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


WebhookUrl = Annotated[str, _checked(webhook_url_problem)]
SlackToken = Annotated[str, _checked(token_problem)]
SigningSecret = Annotated[str, _checked(signing_secret_problem)]
AppToken = Annotated[str, _checked(app_token_problem)]
# Not a secret, but the token travels to it: the same rules as a webhook's address.
ApiUrl = Annotated[str, _checked(lambda url: url_problem(url, example="https://slack.com/api/"))]


def secret_values(data: Any) -> Iterator[str]:
    """Every string under a secret's key (SECRET_KEYS) anywhere in `data`."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in SECRET_KEYS and isinstance(value, str):
                yield value
            else:
                yield from secret_values(value)
    elif isinstance(data, list):
        for item in data:
            yield from secret_values(item)


def secret_variables(document: YamlDocument, data: Any, also: frozenset[str] = frozenset()) -> frozenset[str]:
    """The environment variables the secret keys name, with `also` (a config's, for its watchlists);
    a ConfigError if any other value names one of them. A feed URL or a source's name holding
    `${SLACK_WEBHOOK_URL}` (an OPML file can carry one) would send the secret to the feed's host on
    every run and print it in the run's summary: a secret's variable is for its Slack setting only."""
    names = also | {name for value in secret_values(data) for name in ENV_REFERENCE.findall(value)}
    for location, value in _other_strings(data, ()):
        used = next((name for name in ENV_REFERENCE.findall(value) if name in names), None)
        if used is not None:
            raise ConfigError(
                f"{document.where(location)}: {'.'.join(map(str, location))} uses ${{{used}}}, the variable "
                "of a Slack secret; a secret is expanded only where it is set (webhook_url, token, …), "
                "never in a URL or a name that newsbot fetches or prints"
            )
    return names


def _other_strings(data: Any, location: Location) -> Iterator[tuple[Location, str]]:
    """Every string in `data` with where it is, but those under a secret's key."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key not in SECRET_KEYS:
                yield from _other_strings(value, (*location, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _other_strings(item, (*location, index))
    elif isinstance(data, str):
        yield location, data


def private_part(secret: str) -> str:
    """What must never be shown: a webhook's path (not its public host), a token after `xoxb-` or `xapp-`,
    a signing secret whole."""
    if "/" in secret:  # a URL, perhaps written without its scheme
        netloc = urlsplit(secret if "://" in secret else f"//{secret}").netloc
        return (secret.split(netloc, 1)[-1] if netloc else secret).removeprefix("/services/")
    return _ANY_TOKEN_PREFIX.sub("", secret, count=1)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every run of SHORTEST_SHOWN_PART characters found in a secret's private part, and
    anything shaped like a Slack token or webhook, replaced by `<secret>`.

    Runs, not the whole secret: an error that quotes part of a URL (urllib quotes the path only)
    or cuts it short must not show that part either.
    """
    hidden = [False] * len(text)
    for secret in secrets:
        part = private_part(secret)
        width = min(SHORTEST_SHOWN_PART, len(part))
        if width < 4:  # too short to be a secret worth hiding, too common to hide everywhere
            continue
        pieces = {part[start : start + width] for start in range(len(part) - width + 1)}
        for start in range(len(text) - width + 1):
            if text[start : start + width] in pieces:
                hidden[start : start + width] = [True] * width
    for found in _SECRET_SHAPED.finditer(text):
        hidden[found.start(1) : found.end(1)] = [True] * (found.end(1) - found.start(1))
    shown: list[str] = []
    for index, character in enumerate(text):
        if not hidden[index]:
            shown.append(character)
        elif index == 0 or not hidden[index - 1]:
            shown.append(REDACTED)
    return "".join(shown)


@contextlib.contextmanager
def redacting(secrets: Iterable[str]) -> Iterator[None]:
    """A ConfigError raised inside comes out with every part of these secrets redacted."""
    known = list(secrets)
    try:
        yield
    except ConfigError as error:
        raise ConfigError(redact(str(error), known)) from None
