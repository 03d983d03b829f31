"""TIMESTAMP features as the model sees them: BigQuery's timestamp transformation.

https://cloud.google.com/bigquery/docs/auto-preprocessing#timestamp-transform: a TIMESTAMP column
``ts`` becomes its Unix time in seconds (``ts``, a number, standardized) and seven parts, each a
category of its own (one-hot encoded, NULL its own category): day of month ``_TS_DOM_ts``, day of
week ``_TS_DOW_ts`` (1 = Sunday … 7, as BigQuery's DAYOFWEEK), month ``_TS_MOY_ts``, hour
``_TS_HOD_ts``, minute ``_TS_MOH_ts``, week of year ``_TS_WOY_ts`` (weeks begin on Sunday; days
before the year's first Sunday are week 0, as BigQuery's WEEK) and year ``_TS_YEAR_ts``. Parts are
in UTC (a timestamp without a time zone is read as UTC); each part is the decimal text of its
number ("7", "2024").

The model's graph takes these eight inputs (float32 ``[N, 1]`` for the seconds, string ``[N, 1]``
for the parts). The seconds input counts from the feature's ``origin`` (the first whole second of
the training rows, kept in the model's spec; 0 for models from before it): float32 holds Unix
seconds to 128 s only, so a model fed 1.7e9 would lose the time of day. Training and scoring both compute them here, from the one column, so a model is
fed its TIMESTAMP column by name everywhere; a bare ONNX Runtime user of an exported model computes
them as :func:`timestamp_arrays` does.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlml_udfs.arrays import ARRAY, element_names

#: The feature kind of a TIMESTAMP column (the others: numeric, categorical).
TIMESTAMP = "timestamp"

#: BigQuery's processed_input names of the parts: ``_TS_<PART>_<column>``.
PARTS = ("DOM", "DOW", "MOY", "HOD", "MOH", "WOY", "YEAR")


def part_names(name: str) -> list[str]:
    """The graph inputs of TIMESTAMP column ``name``: its seconds, then its parts."""
    return [name] + [f"_TS_{part}_{name}" for part in PARTS]


def graph_features(features: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The model's features as graph inputs, in order: a TIMESTAMP feature becomes its seconds
    (numeric) and its parts (categorical), an ARRAY its elements (numeric,
    :mod:`sqlml_udfs.arrays`); the others stay as they are."""
    out: list[dict[str, str]] = []
    for feature in features:
        if feature["kind"] == ARRAY:
            names = element_names(feature["name"], int(feature["length"]))
            out.extend({"name": name, "kind": "numeric"} for name in names)
            continue
        if feature["kind"] != TIMESTAMP:
            out.append({"name": feature["name"], "kind": feature["kind"]})
            continue
        seconds, *parts = part_names(feature["name"])
        out.append({"name": seconds, "kind": "numeric"})
        out.extend({"name": part, "kind": "categorical"} for part in parts)
    return out


_OFFSET = re.compile(r"(?:Z|([+-])(\d{2}):?(\d{2})?)$")


def _parse(texts: Any, null: str) -> np.ndarray:
    """Timestamps written as text (a SQL cast's, or Arrow's) as int64 microseconds since the
    epoch in UTC; ``null`` (and NULL) as the minimum int64."""
    out = np.full(len(texts), np.iinfo(np.int64).min, dtype=np.int64)
    for i, text in enumerate(texts):
        if text is None or text == null:
            continue
        text = str(text).strip()
        shift = 0
        match = _OFFSET.search(text)
        if match and (match.group(0) == "Z" or len(text) > 10):
            text = text[: match.start()]
            if match.group(1):
                minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
                shift = (-1 if match.group(1) == "+" else 1) * minutes * 60_000_000
        value = np.datetime64(text.replace(" ", "T"), "us")
        out[i] = value.astype(np.int64) + shift
    return out


def epoch_micros(column: Any, null: str = "") -> tuple[np.ndarray, np.ndarray]:
    """A TIMESTAMP column (Arrow timestamps of any unit and zone, DATE, or their text) as int64
    microseconds since 1970-01-01 UTC, and where it is valid."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(column, pa.Array):
        dtype = column.type
        if pa.types.is_dictionary(dtype):
            column = pc.cast(column, dtype.value_type)
            dtype = column.type
        if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
            if pa.types.is_date(dtype):
                column = pc.cast(column, pa.timestamp("s"))
            micros = pc.cast(
                pc.cast(column, pa.timestamp("us", tz=dtype_tz(column.type))), pa.int64()
            )
            valid = pc.is_valid(micros).to_numpy(zero_copy_only=False)
            return pc.fill_null(micros, 0).to_numpy(zero_copy_only=False), valid
        column = column.to_numpy(zero_copy_only=False)
    micros = _parse(np.asarray(column, dtype=object).reshape(-1), null)
    valid = micros != np.iinfo(np.int64).min
    return np.where(valid, micros, 0), valid


def dtype_tz(dtype: pa.DataType) -> str | None:
    return dtype.tz if pa.types.is_timestamp(dtype) else None


def origin_of(column: Any) -> int:
    """A TIMESTAMP feature's origin: its first whole second in UTC (0 when every value is NULL)."""
    micros, valid = epoch_micros(column)
    return int(np.floor_divide(micros[valid].min(), 1_000_000)) if valid.any() else 0


def timestamp_arrays(
    column: Any, name: str, null: str, float_dtype: type = np.float32, origin: int = 0
) -> dict[str, np.ndarray]:
    """The graph inputs of one TIMESTAMP column, by name (see the module docstring): seconds as
    floats (NaN for NULL, which the graph imputes), parts as text (``null`` for NULL)."""
    micros, valid = epoch_micros(column, null)
    seconds = np.floor_divide(micros, 1_000_000)
    days = np.floor_divide(seconds, 86_400)
    of_day = seconds - days * 86_400
    day = days.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    year = day.astype("datetime64[Y]")
    sunday_based = (days + 4) % 7  # 1970-01-01 was a Thursday; 0 = Sunday
    day_of_year = (day - year).astype(np.int64)
    parts = {
        "DOM": (day - month).astype(np.int64) + 1,
        "DOW": sunday_based + 1,
        "MOY": month.astype(np.int64) % 12 + 1,
        "HOD": of_day // 3600,
        "MOH": of_day % 3600 // 60,
        "WOY": (day_of_year - sunday_based + 7) // 7,
        "YEAR": year.astype(np.int64) + 1970,
    }
    names = part_names(name)
    since = (micros - np.int64(origin) * 1_000_000) / 1_000_000  # exact in int64, then float
    values = np.where(valid, since, np.nan).astype(float_dtype)
    out: dict[str, np.ndarray] = {names[0]: values}
    for part_name, part in zip(names[1:], PARTS, strict=True):
        text = parts[part].astype(str).astype(object)
        text[~valid] = null
        out[part_name] = text
    return out
