"""SQL text built from names and values that come from model files and config, quoted safely.

The runner and the dbt materializations both turn a model file's config into
``CREATE OR REPLACE MODEL ... OPTIONS (...) AS <query>``. Config values are data, not SQL: each is
rendered as a literal (strings quoted with ``'`` doubled), never pasted in as text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from sqlml.errors import OptionError, ProgrammingError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_identifier(name: str) -> str:
    """``name`` as a DuckDB quoted identifier (``"`` doubled), whatever it contains."""
    if not isinstance(name, str) or not name:
        raise ProgrammingError(f"An identifier must be a non-empty string; got {name!r}.")
    return '"' + name.replace('"', '""') + '"'


def qualified(*parts: str | None) -> str:
    """``"db"."schema"."name"`` from the parts that are set."""
    return ".".join(quote_identifier(p) for p in parts if p)


def sql_literal(value: Any, what: str = "value") -> str:
    """A Python value (str, number, bool, None, list, dict) as a SQL literal.

    Lists become ``[...]`` (as BigQuery writes ``input_label_cols = ['y']``); a dict becomes a JSON
    string, which sqlml's map-valued options (``class_weights``) accept.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise OptionError(f"The {what} must be a finite number; got {value!r}.")
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(sql_literal(v, what) for v in value) + "]"
    if isinstance(value, Mapping):
        return sql_literal(json.dumps(dict(value), sort_keys=True), what)
    raise OptionError(
        f"The {what} must be a string, number, boolean, list or mapping; got "
        f"{type(value).__name__} {value!r}."
    )


def check_model_name(name: str) -> str:
    """A sqlml model name (``name`` or ``schema.name``) checked before any SQL is built."""
    parts = name.split(".") if isinstance(name, str) else [repr(name)]
    if len(parts) > 2 or not all(_NAME.match(p) for p in parts):
        raise ProgrammingError(
            f"{name!r} cannot name a sqlml model: use letters, digits and underscores, starting "
            f"with a letter or underscore, optionally after one schema (rename the file or set "
            f"config(alias=...))."
        )
    return name


def create_model_sql(name: str, options: Mapping[str, Any], query: str) -> str:
    """``CREATE OR REPLACE MODEL name OPTIONS (k = literal, ...) AS query``."""
    items = []
    for key, value in options.items():
        if not isinstance(key, str) or not _NAME.match(key):
            raise OptionError(f"Option names are plain words such as 'model_type'; got {key!r}.")
        items.append(f"{key.lower()} = {sql_literal(value, f'{key!r} option of model {name}')}")
    return (
        f"CREATE OR REPLACE MODEL {check_model_name(name)}\n"
        f"OPTIONS ({', '.join(items)})\nAS\n{query}"
    )


def model_options(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The CREATE MODEL options in a model's config: ``options={...}`` plus top-level option keys.

    Top-level keys count only when sqlml's option registry knows them and they are set (not None),
    so a host tool's own config keys (dbt adds many, all defaulted) never leak into OPTIONS.
    """
    from sqlml.models.options import OPTIONS

    nested = config.get("options") or {}
    if not isinstance(nested, Mapping):
        raise OptionError(
            f"config(options=...) of model {name} must be a mapping such as "
            f"{{'model_type': 'logistic_reg'}}; got {nested!r}."
        )
    options = {str(k).lower(): v for k, v in nested.items()}
    for key, value in config.items():
        key = key.lower()
        if key not in OPTIONS or value is None:
            continue
        if key in options and options[key] != value:
            raise OptionError(
                f"Option '{key}' of model {name} is set twice, in config() and in its options; "
                f"keep one."
            )
        options[key] = value
    if "model_type" not in options:
        raise OptionError(
            f"Model {name} is materialized as a sqlml model but its config sets no model_type; "
            f"add config(model_type='logistic_reg', input_label_cols=['label'], ...)."
        )
    return options
