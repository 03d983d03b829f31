"""BigQuery's TIMESTAMP transformation as sqlml_udfs.temporal computes it, against an independent
computation (pyarrow's strftime in UTC), for every way a timestamp reaches the scorer: Arrow
timestamps with and without a zone, and the text SQL casts and Arrow write.

https://cloud.google.com/bigquery/docs/auto-preprocessing#timestamp-transform
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlml_udfs.temporal import part_names, timestamp_arrays

NULL = "__null__"
# Around year ends, leap days, Sundays and midnight; before 1970 too.
INSTANTS = [
    dt.datetime(1969, 12, 31, 23, 59, 59),
    dt.datetime(1970, 1, 1),
    dt.datetime(2023, 12, 31, 12, 30),  # a Sunday: week 53 of 2023
    dt.datetime(2024, 1, 1, 0, 1),  # a Monday before 2024's first Sunday: week 0
    dt.datetime(2024, 1, 7, 23, 59),  # 2024's first Sunday: week 1
    dt.datetime(2024, 2, 29, 6, 7, 8, 900_000),
    dt.datetime(2100, 3, 1, 13, 14),
]


def _expected(values: list[dt.datetime]) -> dict[str, list[str]]:
    stamps = pa.array(values, pa.timestamp("us"))
    formats = {"DOM": "%d", "DOW": "%w", "MOY": "%m", "HOD": "%H", "MOH": "%M", "WOY": "%U"}
    out = {}
    for part, fmt in {**formats, "YEAR": "%Y"}.items():
        text = pc.strftime(stamps, format=fmt).to_pylist()
        out[f"_TS_{part}_ts"] = [str(int(v) + (part == "DOW")) for v in text]
    return out


def _seconds(values: list[dt.datetime]) -> list[float]:
    return [v.replace(tzinfo=dt.UTC).timestamp() for v in values]


def test_parts_of_naive_and_zoned_timestamps() -> None:
    expected = _expected(INSTANTS)
    naive = pa.array(INSTANTS, pa.timestamp("us"))
    # the same instants written in another zone (UTC+05:30): parts are UTC's
    zone = dt.timezone(dt.timedelta(hours=5, minutes=30))
    zoned = pa.array(
        [v.replace(tzinfo=dt.UTC).astimezone(zone) for v in INSTANTS],
        pa.timestamp("ms", tz="+05:30"),
    )
    for column in (naive, zoned, pa.chunked_array([naive])):
        arrays = timestamp_arrays(column, "ts", NULL, np.float64)
        assert list(arrays) == part_names("ts")
        for name, values in expected.items():
            assert arrays[name].tolist() == values, name
        np.testing.assert_allclose(arrays["ts"], _seconds(INSTANTS), atol=1e-3)


def test_text_forms_and_nulls() -> None:
    """The text of SQL casts (DuckDB's TIMESTAMPTZ writes '+05:30'), Arrow's ('...Z'), ISO 'T'."""
    instant = dt.datetime(2024, 2, 29, 6, 7, 8)
    texts = np.array(
        [
            "2024-02-29 06:07:08",
            "2024-02-29T06:07:08.000000Z",
            "2024-02-29 11:37:08+05:30",
            "2024-02-29 01:07:08-05",
            NULL,
            None,
        ],
        dtype=object,
    )
    arrays = timestamp_arrays(texts, "ts", NULL)
    expected = _expected([instant])
    for name, values in expected.items():
        assert arrays[name].tolist() == values * 4 + [NULL, NULL], name
    seconds = arrays["ts"]
    np.testing.assert_allclose(seconds[:4], _seconds([instant]) * 4, rtol=1e-7)
    assert np.isnan(seconds[4:]).all()
