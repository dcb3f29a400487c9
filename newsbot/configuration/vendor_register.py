"""A vendor-risk register exported as CSV: its rows, and the everyday name under each legal name.

Registers come out of Excel more often than not, so the file is read as Excel writes it: UTF-8
with or without the byte-order mark ("CSV UTF-8"), or UTF-16 with one ("Unicode Text"), and with
`,`, `;` (Excel in most of Europe) or a tab between fields. The delimiter is the one that makes the
header row have a `name` column: csv.Sniffer guesses from character counts, gives up on a
one-column file and can be misled by names such as "Bandwidth, Inc.", while the header is known
to name `name`. Any other encoding (Excel's legacy "CSV (Comma delimited)" is Windows-1252) is
refused with the way out rather than guessed, since a wrong guess puts mojibake into vendor names.

A register names companies by their legal names ("Mitto AG", "Bandwidth Inc."), and news by the
names people use ("Mitto", "Bandwidth"): `common_name` drops the legal-form suffix.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from newsbot.errors import ConfigError, NewsbotError

MAX_REGISTER_BYTES = 20 * 1024 * 1024  # a register with many columns per vendor; the watchlist itself is bounded
COLUMNS = ("name", "aliases", "domain", "context")
DELIMITERS = (",", ";", "\t")
LIST_SEPARATORS = re.compile(r"[;|\n]")  # several aliases or context words in one cell
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

# Legal-form suffixes, compared without dots and case: "S.A." is "sa", "Inc." is "inc". Each is a
# sequence of words; a name loses the longest one that ends it, then again ("Co., Ltd." → "Co." → "").
_LEGAL_SUFFIXES = {
    tuple(suffix.split())
    for suffix in [
        *("ag", "inc", "incorporated", "ltd", "limited", "llc", "llp", "lp", "plc", "corp", "corporation", "co"),
        *("gmbh", "mbh", "kg", "kgaa", "ug", "se", "sa", "sas", "sarl", "spa", "srl", "sl", "bv", "nv"),
        *("oy", "oyj", "ab", "(publ)", "asa", "as", "a/s", "aps", "kk", "pte", "pty", "pvt", "bhd", "tbk"),
        *("jsc", "pjsc", "ojsc", "private limited", "sdn bhd", "gmbh & co kg", "sa de cv", "s a"),
    ]
}
_LONGEST_SUFFIX = max(len(suffix) for suffix in _LEGAL_SUFFIXES)
_DOMAIN = re.compile(r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}")
_WORD = re.compile(r"[^\s,]+")


class VendorImportError(NewsbotError):
    """Raised when a register, or the watchlist it would give, cannot be used as it is: nothing is
    written, and the sentence says what to fix (the CLI exits 1). A register or watchlist that cannot
    be read at all is a ConfigError, as for every other command."""


@dataclass(frozen=True)
class RegisterRow:
    """One vendor as the register gives it; `line` is where its record starts in the file."""

    line: int
    name: str
    aliases: tuple[str, ...] = ()
    domain: str = ""
    context: tuple[str, ...] = ()


@dataclass
class Register:
    path: Path
    rows: list[RegisterRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)  # the register's other columns (owner, tier, …)
    problems: list[str] = field(default_factory=list)  # `file:line: sentence` for rows that cannot be read

    def where(self, line: int) -> str:
        return f"{self.path}:{line}"


def read_register(path: Path) -> Register:
    """The rows of a register CSV. A file that cannot be read is a ConfigError; one whose header or
    encoding is unusable is a VendorImportError; rows that cannot be read are listed in `problems`."""
    text = _decode(path, _read_bounded(path))
    header, delimiter = _header(path, text)
    register = Register(path=path, ignored_columns=[column for column in header if column and column not in COLUMNS])
    position = {column: header.index(column) for column in COLUMNS if column in header}
    for line, record in _records(text, delimiter, path):
        if not any(cell.strip() for cell in record):
            continue  # a blank line, or a row of empty cells under a filter
        if any(cell.strip() for cell in record[len(header) :]):
            register.problems.append(
                f"{register.where(line)}: this row has {len(record)} fields but the header has {len(header)}; "
                f"a value with a '{delimiter}' in it must be in double quotes"
            )
            continue
        cells = {column: record[index] if index < len(record) else "" for column, index in position.items()}
        register.rows.append(
            RegisterRow(
                line=line,
                name=_one_line(cells["name"]),
                aliases=_list(cells.get("aliases", "")),
                domain=cells.get("domain", "").strip(),
                context=_list(cells.get("context", "")),
            )
        )
    return register


def _records(text: str, delimiter: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """Each record after the header, and the line it starts on (a quoted value may span lines)."""
    # strict: an unclosed quote is an error, where csv would read the rest of the file as one value
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a value over csv's 128 KiB limit, a NUL byte, a quote not closed
            raise VendorImportError(f"{path}:{start}: this is not a CSV row newsbot can read ({error})") from None
        if start > 1:  # the header is the record on line 1
            yield start, record
        start = reader.line_num + 1


def common_name(legal_name: str) -> str:
    """`legal_name` without its legal-form suffix: "Mitto AG" → "Mitto", "Bandwidth, Inc." → "Bandwidth",
    "Foo Co., Ltd." → "Foo". The first word always stays: "AG" or "SA" alone is a name, not a suffix."""
    name = legal_name.strip()
    while True:
        words = list(_WORD.finditer(name))
        keys = tuple(word.group().replace(".", "").casefold() for word in words)
        length = next(
            (size for size in range(min(_LONGEST_SUFFIX, len(words) - 1), 0, -1) if keys[-size:] in _LEGAL_SUFFIXES),
            0,
        )
        if not length:
            return name
        name = name[: words[-length].start()].rstrip(" ,&")


def domain_name(value: str) -> str | None:
    """The host of a domain cell ("https://www.Bandwidth.com/" → "bandwidth.com"), or None if it is not one."""
    host = urlsplit(value if "://" in value else f"//{value}").hostname or ""
    host = host.removeprefix("www.").rstrip(".")
    return host if _DOMAIN.fullmatch(host) else None


def _read_bounded(path: Path) -> bytes:
    """At most MAX_REGISTER_BYTES of a regular file (a FIFO would block the command forever)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise ConfigError(f"{path}: this is not a regular file; point newsbot at the register's CSV file")
        try:
            data = file.read(MAX_REGISTER_BYTES + 1)
        except OSError as error:
            raise ConfigError(f"{path}: cannot be read ({error.strerror})") from None
    if len(data) > MAX_REGISTER_BYTES:
        raise ConfigError(f"{path}: the file is larger than {MAX_REGISTER_BYTES // 2**20} MB; newsbot refuses it")
    return data


def _decode(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-16") if data.startswith(_UTF16_BOMS) else data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise VendorImportError(
            f"{path}:{line}: the file is not UTF-8 text (byte {error.start}); "
            "in Excel, save it as 'CSV UTF-8 (Comma delimited)'"
        ) from None
    return text.removeprefix("\ufeff")


def _header(path: Path, text: str) -> tuple[list[str], str]:
    """The header's column names (trimmed, lower case) and the delimiter that gives it a `name` column;
    of several, the one that gives the most columns (a one-column file is read with `,`)."""
    if not text.strip():
        raise VendorImportError(f"{path}: the file is empty; it needs a header row with a 'name' column")
    try:
        candidates = [
            [column.strip().casefold() for column in next(csv.reader(io.StringIO(text, newline=""), delimiter=d))]
            for d in DELIMITERS
        ]
    except csv.Error as error:
        raise VendorImportError(f"{path}:1: the header row cannot be read as CSV ({error})") from None
    usable = [index for index, columns in enumerate(candidates) if "name" in columns]
    if not usable:
        found = ", ".join(repr(column) for column in candidates[0] if column) or "nothing"
        raise VendorImportError(
            f"{path}:1: the header row has no 'name' column (it has {found}); "
            "rename the column that holds the vendors' names to 'name'"
        )
    index = max(usable, key=lambda candidate: len(candidates[candidate]))
    header = candidates[index]
    for column in COLUMNS:
        if header.count(column) > 1:
            raise VendorImportError(f"{path}:1: the header row has two '{column}' columns; keep one")
    return header, DELIMITERS[index]


def _one_line(cell: str) -> str:
    return " ".join(cell.split())


def _list(cell: str) -> tuple[str, ...]:
    """Aliases or context words of one cell, separated by `;`, `|` or line breaks (never `,`: "Bandwidth, Inc.")."""
    return tuple(dict.fromkeys(item for item in map(_one_line, LIST_SEPARATORS.split(cell)) if item))
