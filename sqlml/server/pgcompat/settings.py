"""A client's settings (TimeZone, DateStyle, application_name, ...), with PostgreSQL's names,
defaults and checks; SET, SHOW and RESET read and change them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlml
from sqlml.server.errors import ServerError
from sqlml.server.pgcompat.catalog import PG_VERSION, PG_VERSION_NUM

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
