"""A model's descriptive options: ``description``, ``labels`` and ``expiration_timestamp``, as
``ALTER MODEL ... SET OPTIONS (...)`` sets them and ``CREATE MODEL ... OPTIONS (...)`` takes them
(https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-alter-model).

They describe the model without changing what it computes, so they are checked here, apart from
the training options (sqlml.models.options), and stored among the model's options in the catalog.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlglot import exp

from sqlml.errors import OptionError
from sqlml.plan.jobs import EngineValue
from sqlml.sql.literals import literal
from sqlml.sql.nodes import Option

#: The options, in the order SHOW MODEL lists them.
METADATA = ("description", "labels", "expiration_timestamp")

#: ALTER MODEL options that act on Google Cloud only (Vertex AI, Cloud KMS): accepted, ignored.
ALTER_CLOUD_OPTIONS = ("vertex_ai_model_id", "kms_key_name", "deploy_model", "endpoint_idle_ttl")

#: BigQuery's rule for label keys and values: at most 63 characters, lowercase letters, digits,
#: underscores and dashes; a key starts with a letter
#: (https://cloud.google.com/bigquery/docs/labels-intro#requirements).
_LABEL_KEY = re.compile(r"^[^\W\dA-Z_][\w-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[\w-]{0,63}$")

_TIMESTAMP_TYPES = frozenset(
    {
        exp.DataType.Type.TIMESTAMP,
        exp.DataType.Type.TIMESTAMPTZ,
        exp.DataType.Type.TIMESTAMPLTZ,
        exp.DataType.Type.TIMESTAMPNTZ,
        exp.DataType.Type.DATETIME,
        exp.DataType.Type.DATE,
    }
)


def split_metadata(items: list[Any]) -> tuple[list[Option], list[Any]]:
    """``OPTIONS (...)`` items as (the descriptive ones, the others)."""
    meta = [o for o in items if isinstance(o, Option) and o.name.lower() in METADATA]
    return meta, [o for o in items if not (isinstance(o, Option) and o.name.lower() in METADATA)]


def metadata_of(items: list[Option], where: str, dialect: str) -> dict[str, Any]:
    """The descriptive options as stored values (None: unset it). ``where`` names the statement
    in messages (``ALTER MODEL m``); ``dialect`` is the engine's, for an expiration_timestamp
    that only the engine can compute (``TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 7 DAY)``)."""
    values: dict[str, Any] = {}
    for item in items:
        key = item.name.lower()
        if key in values:
            raise OptionError(f"Option '{key}' is given twice in {where}.")
        node = item.args.get("expression")
        if key == "description":
            values[key] = _description(node, where)
        elif key == "labels":
            values[key] = _labels(node, where)
        else:
            values[key] = _expiration(node, where, dialect)
    return values


def _description(node: exp.Expression | None, where: str) -> str | None:
    if node is None or isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Literal) and node.is_string:
        return str(node.this)
    raise OptionError(
        f"The 'description' option of {where} must be a string, as in description = 'churn "
        f"model'; got {node.sql()}."
    )


def _labels(node: exp.Expression | None, where: str) -> dict[str, str] | None:
    """``[('key', 'value'), ...]`` (BigQuery's ARRAY<STRUCT<STRING, STRING>>) as a dict; an empty
    array or NULL removes the labels. A new list replaces the model's labels whole."""
    usage = f"The 'labels' option of {where} must be an array of ('key', 'value') pairs"
    if node is None or isinstance(node, exp.Null):
        return None
    if not isinstance(node, exp.Array):
        raise OptionError(f"{usage}, as in labels = [('team', 'growth')]; got {node.sql()}.")
    labels: dict[str, str] = {}
    for pair in node.expressions:
        values = [_pair_value(e) for e in pair.expressions] if _is_pair(pair) else []
        if len(values) != 2 or not all(isinstance(v, str) for v in values):
            raise OptionError(f"{usage}; got {pair.sql()}.")
        key, value = values
        lowercase = key == key.lower() and value == value.lower()
        if not (lowercase and _LABEL_KEY.match(key) and _LABEL_VALUE.match(value)):
            raise OptionError(
                f"{usage}: keys and values of at most 63 lowercase letters, digits, underscores "
                f"or dashes, keys starting with a letter; got ('{key}', '{value}')."
            )
        if key in labels:
            raise OptionError(f"{usage}: label '{key}' is given twice.")
        labels[key] = value
    return labels or None


def _is_pair(node: exp.Expression) -> bool:
    return isinstance(node, (exp.Tuple, exp.Struct))


def _pair_value(node: exp.Expression) -> Any:
    if isinstance(node, (exp.PropertyEQ, exp.Alias)):  # STRUCT('k' AS key, 'v' AS value)
        node = node.expression if isinstance(node, exp.PropertyEQ) else node.this
    return literal(node, lambda other: None)


def _expiration(node: exp.Expression | None, where: str, dialect: str) -> str | EngineValue | None:
    """An ISO 8601 UTC instant for a literal; the engine's epoch seconds of anything else."""
    if node is None or isinstance(node, exp.Null):
        return None
    text = None
    if isinstance(node, exp.Literal) and node.is_string:
        text = node.this
    elif (
        isinstance(node, exp.Cast)
        and isinstance(node.this, exp.Literal)
        and node.this.is_string
        and node.to.this in _TIMESTAMP_TYPES
    ):
        text = node.this.this
    if text is not None:
        return parse_instant(text, where).isoformat()
    if isinstance(node, (exp.Literal, exp.Boolean, exp.Array, exp.Struct, exp.Tuple)):
        raise OptionError(
            f"The 'expiration_timestamp' option of {where} must be a TIMESTAMP, as in "
            f"expiration_timestamp = TIMESTAMP '2027-01-01 00:00:00 UTC'; got {node.sql()}."
        )
    return EngineValue(exp.TimeToUnix(this=node.copy()).sql(dialect=dialect))


def parse_instant(text: str, where: str) -> dt.datetime:
    """``'2027-01-01 00:00:00 UTC'``, ``'2027-01-01T00:00:00+02:00'``, ``'2027-01-01'``: a
    timestamp without a zone is UTC, as BigQuery reads a TIMESTAMP literal."""
    cleaned = text.strip()
    if cleaned.upper().endswith(" UTC"):
        cleaned = cleaned[:-4].rstrip() + "+00:00"
    try:
        value = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        raise OptionError(
            f"The 'expiration_timestamp' option of {where} must be a TIMESTAMP such as "
            f"'2027-01-01 00:00:00 UTC'; got '{text}'."
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def from_epoch(seconds: Any, where: str) -> str | None:
    """The engine's answer for an expiration_timestamp expression, stored like a literal's."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise OptionError(
            f"The 'expiration_timestamp' option of {where} must be a TIMESTAMP; the engine "
            f"computed {seconds!r}."
        )
    return dt.datetime.fromtimestamp(float(seconds), dt.UTC).isoformat()
