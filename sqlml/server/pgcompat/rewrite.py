"""PostgreSQL catalog idioms in client queries rewritten into DuckDB SQL (outside string literals,
quoted names and comments): ``OPERATOR(pg_catalog.~)``, ``COLLATE``, ``reg*``/``oid`` casts,
``'orders'::regclass``, array literals, and the emulated catalog's tables and functions by full
name."""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlml
from sqlml.server.pgcompat.catalog import FUNCTIONS, HOME, PG_VERSION, TABLES

# DuckDB has no reg* or oid types: they are numbers (oids) here, and ``name`` is text.
_OID_TYPES = "regclass|regtype|regproc|regprocedure|regnamespace|regrole|regoper|regconfig|"
_OID_TYPES += "oid|xid|cid|tid"

# Only statements with one of these go through the rewrites (the rest pass untouched).
_TRIGGER = re.compile(
    r"pg_|_pg_expandarray|OPERATOR\s*\(|COLLATE|version\s*\(|::|'\{|\bAS\s+\"char\"|"
    r"\b(?:array_upper|array_lower|quote_ident|txid_current|to_regclass|current_schemas)\b",
    re.I,
)
_QUOTED = re.compile(
    r"""(?P<q>'(?:[^']|'')*'?)|(?P<e>(?<!\w)[Ee]'(?:[^'\\]|\\.|'')*'?)|(?P<d>"(?:[^"]|"")*"?)"""
    r"""|(?P<dollar>\$(?P<tag>[A-Za-z_]*)\$.*?(?:\$(?P=tag)\$|$))"""
    r"""|(?P<c>--[^\n]*|/\*.*?(?:\*/|$))""",
    re.S,
)


def _code_parts(sql: str) -> list[tuple[bool, str]]:
    """``sql`` cut into (is_code, text) runs; literals, quoted names and comments are not code."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in _QUOTED.finditer(sql):
        if match.start() > position:
            parts.append((True, sql[position : match.start()]))
        parts.append((False, match.group(0)))
        position = match.end()
    if position < len(sql):
        parts.append((True, sql[position:]))
    return parts


def _version_string() -> str:
    import duckdb

    return (
        f"PostgreSQL {PG_VERSION} (sqlml {sqlml.__version__} on DuckDB {duckdb.__version__}), "
        "64-bit"
    )


_PG = r"(?:\bpg_catalog\s*\.\s*)"
_BARE = r"(?<![\w.\"])"
_REWRITES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # pg_proc.proargtypes is an oidvector ("701 23"), which PostgreSQL casts to regtype[] (pgcli)
    (
        re.compile(r"\b((?:\w+\.)?proargtypes)\s*::\s*" + _PG + r"?regtype\s*\[\s*\]", re.I),
        r"string_split(\1, ' ')::BIGINT[]",
    ),
    (re.compile(r"\bOPERATOR\s*\(\s*" + _PG + r"?([~!<>=*^|&#@+\-/%]+)\s*\)", re.I), r" \1 "),
    (re.compile(r"\s+COLLATE\s+" + _PG + r"?(?:default\b|\"default\"|\"C\"|C\b)", re.I), ""),
    (re.compile(r"::\s*" + _PG + r"?(?:" + _OID_TYPES + r")\b", re.I), "::BIGINT"),
    (re.compile(r"::\s*" + _PG + r"?(?:name\b|\"char\")", re.I), "::VARCHAR"),
    (re.compile(r"::\s*" + _PG + r"(\"?)(\w+)\1", re.I), r"::\2"),
    (re.compile(r"\bAS\s+" + _PG + r"(?:" + _OID_TYPES + r")\b", re.I), "AS BIGINT"),
    (re.compile(r"\bAS\s+" + _PG + r"(?:name\b|\"char\")", re.I), "AS VARCHAR"),
    (re.compile(r"\bAS\s+" + _PG + r"(\"?)(\w+)\1", re.I), r"AS \2"),
    (re.compile(_PG + r"?\bversion\s*\(\s*\)", re.I), lambda m: f"'{_version_string()}'"),
    # pgjdbc's keys and indexes: information_schema._pg_expandarray(indkey) (a set-returning one)
    (
        re.compile(r"\binformation_schema\s*\.\s*_pg_expandarray\s*\(", re.I),
        HOME + "._pg_expandarray(",
    ),
    (
        re.compile(r"(?:" + _PG + r"|" + _BARE + r")(" + "|".join(FUNCTIONS) + r")\s*\(", re.I),
        HOME + r".\1(",
    ),
    (re.compile(_PG + r"(\w+)\s*\(", re.I), r"\1("),
    (
        re.compile(r"(?:" + _PG + r"|" + _BARE + r")(" + "|".join(TABLES) + r")\b(?!\s*\()", re.I),
        HOME + r".\1",
    ),
]


_NAME_CAST = re.compile(r"^\s*::\s*" + _PG + r"?(regclass|regtype|regproc|regnamespace)\b", re.I)
_LOOKUPS = {
    "regclass": f"SELECT oid FROM {HOME}.pg_class WHERE relname = {{0}}",
    "regtype": f"SELECT oid FROM {HOME}.pg_type WHERE typname = {{0}}",
    "regproc": "SELECT oid FROM pg_catalog.pg_proc WHERE proname = {0}",
    "regnamespace": "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = {0}",
}


def _name_lookup(literal: str, code: str) -> tuple[str, str] | None:
    """``'orders'::regclass`` -> a subquery for the object's oid (DuckDB has no reg* types)."""
    match = _NAME_CAST.match(code)
    if not match or not literal.startswith("'") or literal[1:-1].isdigit():
        return None
    name = literal[1:-1].replace("''", "'").rsplit(".", 1)[-1].strip('"')
    quoted = "'" + name.replace("'", "''") + "'"
    query = _LOOKUPS[match.group(1).lower()].format(quoted)
    return f"({query} LIMIT 1)", code[match.end() :]


_ARRAY_CONTEXT_BEFORE = re.compile(r"\b(?:ANY|ALL)\s*\(\s*$", re.I)
_ARRAY_CAST_AFTER = re.compile(r"^\s*::\s*[\w.\"]+\s*\[\s*\]")


def _array_literal(literal: str, before: str, after: str) -> str | None:
    """``ANY('{r,p}')`` or ``'{a,b}'::text[]``: a PostgreSQL array literal as a DuckDB list."""
    if not (literal.startswith("'{") and literal.endswith("}'")):
        return None
    if not (_ARRAY_CONTEXT_BEFORE.search(before) or _ARRAY_CAST_AFTER.match(after)):
        return None
    from sqlml.server.types import parse_array_text

    try:
        items = parse_array_text(literal[1:-1].replace("''", "'"), str)
    except ValueError:
        return None
    quoted = ["NULL" if item is None else "'" + item.replace("'", "''") + "'" for item in items]
    return "[" + ", ".join(quoted) + "]"


def rewrite(sql: str) -> str:
    """``sql`` with PostgreSQL catalog idioms turned into DuckDB SQL; other SQL is unchanged."""
    if not _TRIGGER.search(sql):
        return sql
    parts = _code_parts(sql)
    out = []
    for index, (is_code, text) in enumerate(parts):
        if not is_code and index + 1 < len(parts) and parts[index + 1][0]:
            lookup = _name_lookup(text, parts[index + 1][1])
            if lookup is not None:
                text, rest = lookup
                parts[index + 1] = (True, rest)
                out.append(text)
                continue
        if not is_code:
            before = parts[index - 1][1] if index and parts[index - 1][0] else ""
            after = parts[index + 1][1] if index + 1 < len(parts) and parts[index + 1][0] else ""
            listed = _array_literal(text, before, after)
            if listed is not None:
                out.append(listed)
                continue
            if text.lower() == '"char"' and re.search(r"(::|\bAS)\s*$", before, re.I):
                out.append("VARCHAR")  # PostgreSQL's one-byte "char" type
                continue
        if is_code:
            for pattern, replacement in _REWRITES:
                text = pattern.sub(replacement, text)  # type: ignore[arg-type]
        out.append(text)
    return "".join(out)
