"""The statements the server answers itself (or rewrites before DuckDB sees them): SET, RESET, SHOW,
transaction control, DEALLOCATE, DISCARD, and the ones it refuses with a reason."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """A statement handled by the session instead of DuckDB (or rewritten before it goes there)."""

    #: set, reset, show, begin, commit, rollback, discard, deallocate, declare, fetch, move, close,
    #: unsupported, noop
    kind: str
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
_NAME = r'(?P<name>"(?:[^"]|"")+"|[^\W\d]\w*)'
_DECLARE = re.compile(
    rf"^\s*DECLARE\s+{_NAME}\s+(?P<flags>(?:(?:BINARY|ASENSITIVE|INSENSITIVE|NO\s+SCROLL|SCROLL)\s+)*)"
    r"CURSOR\s+(?:(?P<hold>WITH|WITHOUT)\s+HOLD\s+)?FOR\s+(?P<query>.+?)\s*;?\s*$",
    re.I | re.S,
)
_FETCH = re.compile(
    r"^\s*(?P<kw>FETCH|MOVE)\s+(?:(?P<how>NEXT|PRIOR|FIRST|LAST|ALL|ABSOLUTE\s+[-+]?\d+|"
    r"RELATIVE\s+[-+]?\d+|FORWARD(?:\s+(?:ALL|[-+]?\d+))?|BACKWARD(?:\s+(?:ALL|[-+]?\d+))?|"
    rf"[-+]?\d+)\s+)?(?:(?:FROM|IN)\s+)?{_NAME}\s*;?\s*$",
    re.I,
)
_CLOSE = re.compile(rf"^\s*CLOSE\s+(?:(?P<all>ALL)|{_NAME})\s*;?\s*$", re.I)

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
_HANDLED += ("PREPARE", "COPY", "DECLARE", "FETCH", "MOVE", "CLOSE")


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
    if match := _DECLARE.match(sql):
        flags = {
            re.sub(r"\s+", " ", f.upper())
            for f in re.findall(
                r"NO\s+SCROLL|SCROLL|BINARY|ASENSITIVE|INSENSITIVE", match.group("flags"), re.I
            )
        }
        if (match.group("hold") or "").upper() == "WITH":
            flags.add("HOLD")
        return Command(
            "declare",
            _identifier(match.group("name")),
            match.group("query"),
            ",".join(sorted(flags)),
        )
    if match := _FETCH.match(sql):
        return Command(
            match.group("kw").lower(), _identifier(match.group("name")), _count(match.group("how"))
        )
    if match := _CLOSE.match(sql):
        return Command(
            "close",
            "" if match.group("all") else _identifier(match.group("name")),
            tag="CLOSE CURSOR" + (" ALL" if match.group("all") else ""),
        )
    if match := _DISCARD.match(sql):
        return Command("discard", tag=f"DISCARD {match.group('what').upper()}")
    return None


def _count(how: str | None) -> str:
    """FETCH's direction as a row count going forward ("ALL", "12"), or "backward: ..." for the
    directions a forward-only cursor cannot take."""
    words = re.sub(r"\s+", " ", (how or "NEXT").upper()).split(" ")
    if words[0] in ("NEXT",):
        return "1"
    if words[0] == "ALL" or words[-1] == "ALL" and words[0] == "FORWARD":
        return "ALL"
    if words[0] == "FORWARD":
        words = words[1:] or ["1"]
    if len(words) == 1 and re.fullmatch(r"\+?\d+", words[0]):
        return str(int(words[0]))
    return "backward: " + " ".join(words)


def _identifier(text: str) -> str:
    """A cursor's name as PostgreSQL keeps it: quoted as written, else folded to lower case."""
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].replace(text[0] * 2, text[0])
    return text
