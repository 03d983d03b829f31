"""What PostgreSQL clients expect of a server beyond SQL: settings, SET/SHOW, and the catalog.

psql's ``\\d`` commands, pgcli and JDBC drivers query ``pg_catalog`` with PostgreSQL-only syntax
(``OPERATOR(pg_catalog.~)``, ``COLLATE pg_catalog.default``, ``::pg_catalog.regclass``) and
functions DuckDB lacks (``pg_get_userbyid``, ``pg_encoding_to_char``). DuckDB has a ``pg_catalog``
of its own; the server rewrites those queries lightly (outside string literals only): the missing
functions and tables live in an in-memory database attached to its connection (nothing is written
to the user's file, nothing shows in ``SHOW TABLES``), and ``reg*``/``oid`` casts become numbers.

Client settings (TimeZone, DateStyle, application_name, ...) are kept per client; DuckDB's own
settings (``SET threads = 2``) pass through and apply to the shared connection.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlml
from sqlml.server.errors import ServerError

PG_VERSION = "15.0"
PG_VERSION_NUM = "150000"

# --- the emulated catalog ----------------------------------------------------------------------

_EMPTY_TABLES = {
    "pg_inherits": "inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN",
    "pg_policy": "oid BIGINT, polname VARCHAR, polrelid BIGINT, polcmd VARCHAR, "
    "polpermissive BOOLEAN, polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR",
    "pg_statistic_ext": "oid BIGINT, stxrelid BIGINT, stxname VARCHAR, stxnamespace BIGINT, "
    "stxowner BIGINT, stxstattarget INTEGER, stxkeys INTEGER[], stxkind VARCHAR[], "
    "stxexprs VARCHAR",
    "pg_publication": "oid BIGINT, pubname VARCHAR, pubowner BIGINT, puballtables BOOLEAN, "
    "pubinsert BOOLEAN, pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, "
    "pubviaroot BOOLEAN",
    "pg_publication_rel": "oid BIGINT, prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, "
    "prattrs INTEGER[]",
    "pg_publication_namespace": "oid BIGINT, pnpubid BIGINT, pnnspid BIGINT",
    "pg_trigger": "oid BIGINT, tgrelid BIGINT, tgparentid BIGINT, tgname VARCHAR, tgfoid BIGINT, "
    "tgtype INTEGER, tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstrrelid BIGINT, "
    "tgconstrindid BIGINT, tgconstraint BIGINT, tgdeferrable BOOLEAN, tginitdeferred BOOLEAN, "
    "tgnargs INTEGER, tgattr INTEGER[], tgargs BLOB, tgqual VARCHAR, tgoldtable VARCHAR, "
    "tgnewtable VARCHAR",
    "pg_rewrite": "oid BIGINT, rulename VARCHAR, ev_class BIGINT, ev_type VARCHAR, "
    "ev_enabled VARCHAR, is_instead BOOLEAN, ev_qual VARCHAR, ev_action VARCHAR",
    "pg_foreign_table": "ftrelid BIGINT, ftserver BIGINT, ftoptions VARCHAR[]",
    "pg_foreign_server": "oid BIGINT, srvname VARCHAR, srvowner BIGINT, srvfdw BIGINT, "
    "srvtype VARCHAR, srvversion VARCHAR, srvacl VARCHAR[], srvoptions VARCHAR[]",
    "pg_foreign_data_wrapper": "oid BIGINT, fdwname VARCHAR, fdwowner BIGINT, fdwhandler BIGINT, "
    "fdwvalidator BIGINT, fdwacl VARCHAR[], fdwoptions VARCHAR[]",
    "pg_partitioned_table": "partrelid BIGINT, partstrat VARCHAR, partnatts INTEGER, "
    "partdefid BIGINT, partattrs INTEGER[], partclass BIGINT[], partcollation BIGINT[], "
    "partexprs VARCHAR",
    "pg_auth_members": "oid BIGINT, roleid BIGINT, member BIGINT, grantor BIGINT, "
    "admin_option BOOLEAN",
    "pg_event_trigger": "oid BIGINT, evtname VARCHAR, evtevent VARCHAR, evtowner BIGINT, "
    "evtfoid BIGINT, evtenabled VARCHAR, evttags VARCHAR[]",
    "pg_extension": "oid BIGINT, extname VARCHAR, extowner BIGINT, extnamespace BIGINT, "
    "extrelocatable BOOLEAN, extversion VARCHAR, extconfig BIGINT[], extcondition VARCHAR[]",
    "pg_range": "rngtypid BIGINT, rngsubtype BIGINT, rngmultitypid BIGINT, "
    "rngcollation BIGINT, rngsubopc BIGINT, rngcanonical VARCHAR, rngsubdiff VARCHAR",
    "pg_language": "oid BIGINT, lanname VARCHAR, lanowner BIGINT, lanispl BOOLEAN, "
    "lanpltrusted BOOLEAN, lanplcallfoid BIGINT, laninline BIGINT, lanvalidator BIGINT, "
    "lanacl VARCHAR[]",
    "pg_opclass": "oid BIGINT, opcmethod BIGINT, opcname VARCHAR, opcnamespace BIGINT, "
    "opcowner BIGINT, opcfamily BIGINT, opcintype BIGINT, opcdefault BOOLEAN, opckeytype BIGINT",
    "pg_shdescription": "objoid BIGINT, classoid BIGINT, description VARCHAR",
    "pg_default_acl": "oid BIGINT, defaclrole BIGINT, defaclnamespace BIGINT, "
    "defaclobjtype VARCHAR, defaclacl VARCHAR[]",
    "pg_cast": "oid BIGINT, castsource BIGINT, casttarget BIGINT, castfunc BIGINT, "
    "castcontext VARCHAR, castmethod VARCHAR",
    "pg_conversion": "oid BIGINT, conname VARCHAR, connamespace BIGINT, conowner BIGINT, "
    "conforencoding INTEGER, contoencoding INTEGER, conproc VARCHAR, condefault BOOLEAN",
    "pg_operator": "oid BIGINT, oprname VARCHAR, oprnamespace BIGINT, oprowner BIGINT, "
    "oprkind VARCHAR, oprcanmerge BOOLEAN, oprcanhash BOOLEAN, oprleft BIGINT, oprright BIGINT, "
    "oprresult BIGINT, oprcom BIGINT, oprnegate BIGINT, oprcode VARCHAR, oprrest VARCHAR, "
    "oprjoin VARCHAR",
    "pg_stat_activity": "datid BIGINT, datname VARCHAR, pid INTEGER, usesysid BIGINT, "
    "usename VARCHAR, application_name VARCHAR, client_addr VARCHAR, client_port INTEGER, "
    "backend_start TIMESTAMPTZ, xact_start TIMESTAMPTZ, query_start TIMESTAMPTZ, "
    "state_change TIMESTAMPTZ, wait_event_type VARCHAR, wait_event VARCHAR, state VARCHAR, "
    "backend_xid BIGINT, backend_xmin BIGINT, query VARCHAR, backend_type VARCHAR",
    "pg_matviews": "schemaname VARCHAR, matviewname VARCHAR, matviewowner VARCHAR, "
    "tablespace VARCHAR, hasindexes BOOLEAN, ispopulated BOOLEAN, definition VARCHAR",
}

_ROLE_COLUMNS = (
    "10::BIGINT AS oid, 'sqlml' AS rolname, true AS rolsuper, true AS rolinherit, "
    "true AS rolcreaterole, true AS rolcreatedb, true AS rolcanlogin, false AS rolreplication, "
    "-1 AS rolconnlimit, '********' AS rolpassword, NULL::TIMESTAMPTZ AS rolvaliduntil, "
    "false AS rolbypassrls, NULL::VARCHAR[] AS rolconfig"
)

_VIEWS = {
    "pg_roles": f"SELECT {_ROLE_COLUMNS}",
    "pg_authid": f"SELECT {_ROLE_COLUMNS}",
    "pg_user": "SELECT 'sqlml' AS usename, 10::BIGINT AS usesysid, true AS usecreatedb, "
    "true AS usesuper, false AS userepl, false AS usebypassrls, '********' AS passwd, "
    "NULL::TIMESTAMPTZ AS valuntil, NULL::VARCHAR[] AS useconfig",
    "pg_class": "SELECT * REPLACE ('d' AS relreplident, NULL::BIGINT AS relminmxid, "
    "NULL::VARCHAR[] AS relacl, NULL::VARCHAR[] AS reloptions, NULL::VARCHAR AS relpartbound), "
    "false AS relforcerowsecurity FROM pg_catalog.pg_class",
    "pg_database": "SELECT d.oid, d.datname, 10::BIGINT AS datdba, 6 AS encoding, "
    "'c' AS datlocprovider, d.datistemplate, d.datallowconn, -1 AS datconnlimit, "
    "0::BIGINT AS datfrozenxid, 0::BIGINT AS datminmxid, 0::BIGINT AS dattablespace, "
    "'C' AS datcollate, 'C' AS datctype, NULL::VARCHAR AS daticulocale, "
    "NULL::VARCHAR AS datcollversion, NULL::VARCHAR[] AS datacl "
    "FROM pg_catalog.pg_database d WHERE d.datname NOT IN ('system', 'temp')",
}

_MACROS = [
    "pg_get_userbyid(role) AS 'sqlml'",
    "pg_encoding_to_char(encoding) AS 'UTF8'",
    "pg_char_to_encoding(name) AS 6",
    "pg_get_indexdef(idx) AS (SELECT i.sql FROM duckdb_indexes() i WHERE i.index_oid = idx), "
    "(idx, col, pretty) AS (SELECT i.sql FROM duckdb_indexes() i WHERE i.index_oid = idx)",
    "pg_get_expr(expr, relation) AS expr, (expr, relation, pretty) AS expr",
    "pg_get_partkeydef(relation) AS NULL::VARCHAR",
    "pg_relation_is_publishable(relation) AS false",
    "pg_get_viewdef(v) AS (SELECT w.sql FROM duckdb_views() w WHERE w.view_oid = v), "
    "(v, pretty) AS (SELECT w.sql FROM duckdb_views() w WHERE w.view_oid = v)",
    "array_upper(arr, dim) AS len(arr)",
    "array_lower(arr, dim) AS CASE WHEN len(arr) > 0 THEN 1 END",
    "pg_get_statisticsobjdef_columns(statistic) AS NULL::VARCHAR",
    "pg_get_triggerdef(trigger) AS NULL::VARCHAR, (trigger, pretty) AS NULL::VARCHAR",
    "pg_get_ruledef(rule) AS NULL::VARCHAR, (rule, pretty) AS NULL::VARCHAR",
    "pg_get_function_arguments(fn) AS ''",
    "pg_get_functiondef(fn) AS NULL::VARCHAR",
    "pg_get_function_result(fn) AS ''",
    "pg_get_function_identity_arguments(fn) AS ''",
    "pg_relation_size(relation) AS 0::BIGINT, (relation, fork) AS 0::BIGINT",
    "pg_table_size(relation) AS 0::BIGINT",
    "pg_total_relation_size(relation) AS 0::BIGINT",
    "pg_indexes_size(relation) AS 0::BIGINT",
    "pg_database_size(db) AS 0::BIGINT",
    "pg_backend_pid() AS 0",
    "pg_is_in_recovery() AS false",
    "pg_get_serial_sequence(tab, col) AS NULL::VARCHAR",
    "pg_tablespace_location(ts) AS ''",
    "pg_stat_get_numscans(relation) AS 0::BIGINT",
    "txid_current() AS 1::BIGINT",
    "quote_ident(name) AS '\"' || replace(name, '\"', '\"\"') || '\"'",
    "to_regclass(name) AS (SELECT oid FROM pg_catalog.pg_class WHERE relname = name LIMIT 1)",
]

EMULATION = "__sqlml_pg"  # an in-memory database attached to the server's connection
_HOME = f"{EMULATION}.main"
_HIDDEN_SCHEMAS = f"(SELECT oid FROM duckdb_schemas() WHERE database_name = '{EMULATION}')"
_VIEWS["pg_class"] += f" WHERE relnamespace NOT IN {_HIDDEN_SCHEMAS}"
_VIEWS["pg_database"] += f" AND d.datname <> '{EMULATION}'"
_VIEWS["pg_namespace"] = f"SELECT * FROM pg_catalog.pg_namespace WHERE oid NOT IN {_HIDDEN_SCHEMAS}"


def setup_statements() -> list[str]:
    """The emulated catalog: views and macros in an in-memory database of their own.

    Attached rather than temporary, so they stay out of ``SHOW TABLES`` and the user's file; the
    rewrites below name them in full.
    """
    statements = [f"ATTACH IF NOT EXISTS ':memory:' AS {EMULATION} (READ_WRITE)"]
    statements += [f"CREATE OR REPLACE MACRO {_HOME}.{macro}" for macro in _MACROS]
    for table, columns in _EMPTY_TABLES.items():
        nulls = ", ".join(
            f"NULL::{column.split(' ', 1)[1]} AS {column.split(' ', 1)[0]}"
            for column in _split_columns(columns)
        )
        statements.append(f"CREATE OR REPLACE VIEW {_HOME}.{table} AS SELECT {nulls} WHERE false")
    statements += [
        f"CREATE OR REPLACE VIEW {_HOME}.{name} AS {sql}" for name, sql in _VIEWS.items()
    ]
    return statements


def _split_columns(columns: str) -> list[str]:
    return [c.strip() for c in columns.split(", ")]


_TABLES = sorted(set(_EMPTY_TABLES) | set(_VIEWS))
_FUNCTIONS = sorted({m.split("(", 1)[0] for m in _MACROS})
# DuckDB has no reg* or oid types: they are numbers (oids) here, and ``name`` is text.
_OID_TYPES = "regclass|regtype|regproc|regprocedure|regnamespace|regrole|regoper|regconfig|"
_OID_TYPES += "oid|xid|cid|tid"

# --- rewriting ----------------------------------------------------------------------------------

# Only statements with one of these go through the rewrites (the rest pass untouched).
_TRIGGER = re.compile(
    r"pg_|OPERATOR\s*\(|COLLATE|version\s*\(|::|'\{|\bAS\s+\"char\"|"
    r"\b(?:array_upper|array_lower|quote_ident|txid_current|to_regclass)\b",
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
    (re.compile(r"\bOPERATOR\s*\(\s*" + _PG + r"?([~!<>=*^|&#@+\-/%]+)\s*\)", re.I), r" \1 "),
    (re.compile(r"\s+COLLATE\s+" + _PG + r"?(?:default\b|\"default\"|\"C\"|C\b)", re.I), ""),
    (re.compile(r"::\s*" + _PG + r"?(?:" + _OID_TYPES + r")\b", re.I), "::BIGINT"),
    (re.compile(r"::\s*" + _PG + r"?(?:name\b|\"char\")", re.I), "::VARCHAR"),
    (re.compile(r"::\s*" + _PG + r"(\"?)(\w+)\1", re.I), r"::\2"),
    (re.compile(r"\bAS\s+" + _PG + r"(?:" + _OID_TYPES + r")\b", re.I), "AS BIGINT"),
    (re.compile(r"\bAS\s+" + _PG + r"(?:name\b|\"char\")", re.I), "AS VARCHAR"),
    (re.compile(r"\bAS\s+" + _PG + r"(\"?)(\w+)\1", re.I), r"AS \2"),
    (re.compile(_PG + r"?\bversion\s*\(\s*\)", re.I), lambda m: f"'{_version_string()}'"),
    (
        re.compile(r"(?:" + _PG + r"|" + _BARE + r")(" + "|".join(_FUNCTIONS) + r")\s*\(", re.I),
        _HOME + r".\1(",
    ),
    (re.compile(_PG + r"(\w+)\s*\(", re.I), r"\1("),
    (
        re.compile(r"(?:" + _PG + r"|" + _BARE + r")(" + "|".join(_TABLES) + r")\b(?!\s*\()", re.I),
        _HOME + r".\1",
    ),
]


_NAME_CAST = re.compile(r"^\s*::\s*" + _PG + r"?(regclass|regtype|regproc|regnamespace)\b", re.I)
_LOOKUPS = {
    "regclass": f"SELECT oid FROM {_HOME}.pg_class WHERE relname = {{0}}",
    "regtype": "SELECT oid FROM pg_catalog.pg_type WHERE typname = {0}",
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


# --- client settings ----------------------------------------------------------------------------

REPORTED = (
    "server_version",
    "server_encoding",
    "client_encoding",
    "DateStyle",
    "TimeZone",
    "integer_datetimes",
    "standard_conforming_strings",
    "IntervalStyle",
    "application_name",
    "is_superuser",
    "session_authorization",
    "default_transaction_read_only",
    "in_hot_standby",
)


def _duration_ms(value: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)?\s*", value, re.I)
    if not match:
        raise ValueError(value)
    unit = (match.group(2) or "ms").lower()
    scale = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}[unit]
    return int(float(match.group(1)) * scale)


def _encoding(value: str) -> str:
    if re.sub(r"[-_\s]", "", value).upper() in ("UTF8", "UNICODE", "SQLASCII", "AUTO"):
        return "UTF8"
    raise ValueError("sqlml serve sends and receives UTF8 only; set client_encoding to UTF8")


def _datestyle(value: str) -> str:
    words = {w.strip().upper() for w in value.split(",")}
    if words - {"ISO", "MDY", "DMY", "YMD", "US", "EUROPEAN", "NONEURO", "NONEUROPEAN"}:
        raise ValueError("only the ISO DateStyle is supported")
    order = "DMY" if words & {"DMY", "EUROPEAN"} else "YMD" if "YMD" in words else "MDY"
    return f"ISO, {order}"


def timezone(value: str) -> dt.tzinfo:
    """A TimeZone setting as tzinfo: a zone name, UTC, or a number of hours east of UTC."""
    text = value.strip().strip("'")
    if re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
        return dt.timezone(dt.timedelta(hours=float(text)))
    if text.upper() in ("UTC", "GMT", "Z", "ZULU"):
        return dt.UTC
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time zone {text!r} is not recognized") from None


def _timezone_setting(value: str) -> str:
    timezone(value)
    return value.strip().strip("'")


def _only(*allowed: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value.lower() not in allowed:
            raise ValueError(f"only {' or '.join(allowed)} is supported")
        return value.lower()

    return check


def _int(value: str) -> str:
    return str(int(value))


def _duration(value: str) -> str:
    _duration_ms(value)
    return value.strip()


_CHECKS: dict[str, Callable[[str], str]] = {
    "client_encoding": _encoding,
    "DateStyle": _datestyle,
    "TimeZone": _timezone_setting,
    "IntervalStyle": _only("postgres"),
    "standard_conforming_strings": _only("on"),
    "bytea_output": _only("hex"),
    "extra_float_digits": _int,
    "statement_timeout": _duration,
    "lock_timeout": _duration,
    "idle_in_transaction_session_timeout": _duration,
}

_READ_ONLY = {
    "server_version",
    "server_version_num",
    "server_encoding",
    "integer_datetimes",
    "is_superuser",
    "in_hot_standby",
    "max_identifier_length",
    "lc_collate",
    "lc_ctype",
}


@dataclass
class Settings:
    """One client's settings, with PostgreSQL's names and defaults."""

    values: dict[str, str]
    defaults: dict[str, str]

    @classmethod
    def create(
        cls, user: str, timezone_name: str, read_only: bool, lock_timeout: float
    ) -> Settings:
        import duckdb

        values = {
            "server_version": f"{PG_VERSION} (sqlml {sqlml.__version__}, "
            f"DuckDB {duckdb.__version__})",
            "server_version_num": PG_VERSION_NUM,
            "server_encoding": "UTF8",
            "client_encoding": "UTF8",
            "DateStyle": "ISO, MDY",
            "TimeZone": timezone_name,
            "integer_datetimes": "on",
            "standard_conforming_strings": "on",
            "IntervalStyle": "postgres",
            "application_name": "",
            "is_superuser": "on",
            "session_authorization": user,
            "default_transaction_read_only": "on" if read_only else "off",
            "transaction_read_only": "on" if read_only else "off",
            "in_hot_standby": "off",
            "extra_float_digits": "1",
            "search_path": '"$user", public',
            "statement_timeout": "0",
            "lock_timeout": f"{int(lock_timeout * 1000)}ms",
            "idle_in_transaction_session_timeout": "0",
            "client_min_messages": "notice",
            "bytea_output": "hex",
            "transaction_isolation": "serializable",
            "default_transaction_isolation": "serializable",
            "max_identifier_length": "63",
            "lc_collate": "C",
            "lc_ctype": "C",
            "lc_messages": "C",
            "lc_monetary": "C",
            "lc_numeric": "C",
            "lc_time": "C",
        }
        return cls(values, dict(values))

    def canonical(self, name: str) -> str | None:
        lowered = name.lower()
        if lowered in ("time zone", "time_zone"):
            lowered = "timezone"
        if lowered == "transaction isolation level":
            lowered = "transaction_isolation"
        return next((key for key in self.values if key.lower() == lowered), None)

    def set(self, name: str, value: str) -> str:
        """Set a client setting; returns its canonical name. ServerError for a bad value."""
        key = self.canonical(name) or name
        if key in _READ_ONLY:
            raise ServerError(f'parameter "{key}" cannot be changed', "55P02")
        value = value.strip()
        if value.upper() in ("DEFAULT", "LOCAL"):
            value = self.defaults.get(key, "")
        check = _CHECKS.get(key)
        try:
            self.values[key] = check(value) if check else value
        except ValueError as exc:
            text = f'invalid value for parameter "{key}": "{value}" ({exc})'
            raise ServerError(text, "22023") from None
        return key

    def reset(self, name: str) -> str | None:
        key = self.canonical(name)
        if key is not None and key in self.defaults:
            self.values[key] = self.defaults[key]
        return key

    def tz(self) -> dt.tzinfo:
        return timezone(self.values["TimeZone"])

    def milliseconds(self, name: str) -> int:
        return _duration_ms(self.values[name])


# --- commands the server answers itself ---------------------------------------------------------


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
        re.compile(r"^\s*COPY\b.*\b(STDIN|STDOUT)\b", re.I | re.S),
        "COPY FROM STDIN / TO STDOUT is not supported by sqlml serve; use COPY with a file path "
        "the server can reach, or INSERT",
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
