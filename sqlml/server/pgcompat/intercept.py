"""The statements the server answers itself (or rewrites before DuckDB sees them): SET, RESET, SHOW,
transaction control, DEALLOCATE, DISCARD, and the ones it refuses with a reason."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """A statement handled by the session instead of DuckDB (or rewritten before it goes there)."""

    kind: str  # set, reset, show, begin, commit, rollback, discard, deallocate, unsupported, noop
    name: str = ""
    value: str = ""
    tag: str = ""


_SET = re.compile(
    r"^\s*SET\s+(?:SESSION\s+|LOCAL\s+)?(?!SESSION\s+CHARACTERISTICS)(?!TRANSACTION\b)"
    r"(?:(?P<tz>TIME\s+ZONE)\s+(?P<tzvalue>.+?)|(?P<name>[\w.\"]+)\s*(?:=|\bTO\b)\s*(?P<value>.+?))"
    r"\s*;?\s*$",
    re.I | re.S,
)
_SET_NAMES = re.compile(r"^\s*SET\s+NAMES\s+(?P<value>.+?)\s*;?\s*$", re.I | re.S)
_SET_IGNORED = re.compile(
    r"^\s*SET\s+(?:SESSION\s+CHARACTERISTICS\s+AS\s+TRANSACTION|TRANSACTION)\b", re.I
)
_RESET = re.compile(r"^\s*RESET\s+(?P<name>ALL|[\w.\"]+|TIME\s+ZONE)\s*;?\s*$", re.I)
_SHOW = re.compile(
    r"^\s*SHOW\s+(?P<name>TIME\s+ZONE|TRANSACTION\s+ISOLATION\s+LEVEL|ALL|[\w.\"]+)\s*;?\s*$", re.I
)
_BEGIN = re.compile(
    r"^\s*(?P<kw>BEGIN|START)(?:\s+(?:WORK|TRANSACTION)\b)?(?P<rest>.*?)\s*;?\s*$", re.I | re.S
)
_COMMIT = re.compile(
    r"^\s*(?P<kw>COMMIT|END|ROLLBACK|ABORT)(?:\s+(?:WORK|TRANSACTION))?\s*;?\s*$", re.I
)
_DEALLOCATE = re.compile(r"^\s*DEALLOCATE\s+(?:PREPARE\s+)?(?P<name>ALL|[\w\"]+)\s*;?\s*$", re.I)
_DISCARD = re.compile(r"^\s*DISCARD\s+(?P<what>ALL|PLANS|SEQUENCES|TEMP|TEMPORARY)\s*;?\s*$", re.I)
_UNSUPPORTED = [
    (
        re.compile(r"^\s*(SAVEPOINT|RELEASE|ROLLBACK\s+TO)\b", re.I),
        "savepoints are not supported: DuckDB has no nested transactions",
    ),
    (
        re.compile(r"^\s*(LISTEN|NOTIFY|UNLISTEN)\b", re.I),
        "LISTEN/NOTIFY are not supported by sqlml serve",
    ),
    (
        re.compile(r"^\s*(PREPARE\s+TRANSACTION|COMMIT\s+PREPARED|ROLLBACK\s+PREPARED)\b", re.I),
        "two-phase commit is not supported by sqlml serve",
    ),
    (
        re.compile(r"^\s*COPY\b.*\bFROM\s+STDIN\b", re.I | re.S),
        "COPY FROM STDIN runs over the simple query protocol (psql's \\copy, psycopg's "
        "cursor.copy()), not as a prepared statement",
    ),
    (
        # the simple query protocol answers COPY TO STDOUT (sqlml/server/copy.py) before this
        re.compile(r"^\s*COPY\b.*\bTO\s+STDOUT\b", re.I | re.S),
        "COPY TO STDOUT runs over the simple query protocol (psql's \\copy, psycopg's "
        "cursor.copy(), JDBC's CopyManager), not as a prepared statement",
    ),
]


_HANDLED = ("SET", "RESET", "SHOW", "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT")
_HANDLED += ("DEALLOCATE", "DISCARD", "SAVEPOINT", "RELEASE", "LISTEN", "NOTIFY", "UNLISTEN")
_HANDLED += ("PREPARE", "COPY")


def command(sql: str) -> Command | None:
    """The server-side handling ``sql`` needs, or None to run it on DuckDB as it is."""
    if not sql.lstrip()[:12].upper().startswith(_HANDLED):
        return None
    for pattern, text in _UNSUPPORTED:
        if pattern.match(sql):
            return Command("unsupported", value=text)
    if _SET_IGNORED.match(sql):
        return Command("noop", tag="SET")
    if match := _SET_NAMES.match(sql):
        return Command("set", "client_encoding", _unquote(match.group("value")))
    if match := _SET.match(sql):
        if match.group("tz"):
            return Command("set", "TimeZone", _unquote(match.group("tzvalue")))
        return Command("set", _unquote(match.group("name")), _unquote(match.group("value")))
    if match := _RESET.match(sql):
        return Command("reset", re.sub(r"\s+", " ", _unquote(match.group("name"))))
    if match := _SHOW.match(sql):
        return Command("show", re.sub(r"\s+", " ", _unquote(match.group("name"))))
    if match := _BEGIN.match(sql):
        rest = match.group("rest").upper()
        if match.group("kw").upper() == "START" and not re.match(r"^\s*$|^\s*[A-Z ,]*$", rest):
            return None
        tag = "START TRANSACTION" if match.group("kw").upper() == "START" else "BEGIN"
        read_only = "READ ONLY" in re.sub(r"\s+", " ", rest)
        return Command("begin", value="READ ONLY" if read_only else "", tag=tag)
    if match := _COMMIT.match(sql):
        kind = "commit" if match.group("kw").upper() in ("COMMIT", "END") else "rollback"
        return Command(kind, tag=kind.upper())
    if match := _DEALLOCATE.match(sql):
        return Command("deallocate", _unquote(match.group("name")))
    if match := _DISCARD.match(sql):
        return Command("discard", tag=f"DISCARD {match.group('what').upper()}")
    return None


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].replace(text[0] * 2, text[0])
    return text
