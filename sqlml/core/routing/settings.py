"""``sqlml.spark_threshold``: the size of files from which a statement runs on Spark, as bytes
(an int, or '512MB' / '4GiB' in DuckDB's units), and its SET / RESET statements.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from sqlml.errors import InterfaceError, ProgrammingError

if TYPE_CHECKING:
    pass


#: Files at least this large (in total) go to Spark: 1 GiB. Below it DuckDB reads Parquet at
#: several hundred MB/s on one core and trains with scikit-learn in memory, while a Spark job costs
#: seconds before it reads a byte (a session ~10 s to start, ~1-2 s per job on local[2]); around
#: 1 GiB of compressed Parquet (several GiB in memory) is where collecting rows into one process
#: starts to strain a laptop-sized machine and Spark's executors begin to pay off.
DEFAULT_SPARK_THRESHOLD = 1 << 30


_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.I)


_SIZE_FORMS = (
    "bytes as an integer (1073741824), or a string such as '512MB', '4GiB', '100 kB' "
    "(units B, KB, MB, GB, TB in powers of 1000; KiB, MiB, GiB, TiB in powers of 1024)"
)


def parse_size(value: Any, *, error: type[Exception] = InterfaceError) -> int:
    """A threshold as bytes: an int, or text with DuckDB's units ('1GB' = 10⁹, '1GiB' = 2³⁰)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _SIZE.match(value) if isinstance(value, str) and len(value) <= 40 else None
    if match is None or match.group(2).lower() not in _UNITS:
        raise error(f"spark_threshold must be {_SIZE_FORMS}; got {value!r:.60}.")
    size = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not math.isfinite(size):
        raise error(f"spark_threshold must be {_SIZE_FORMS}; got {value!r}.")
    return int(size)


def format_size(size: int) -> str:
    """Bytes for a reason text: '1.5 GiB', '100 MB' (a round decimal size stays decimal)."""
    for unit, power in (("TB", 4), ("GB", 3), ("MB", 2), ("kB", 1)):
        if size >= 1000**power and size % 1000**power == 0 and size % 1024**power:
            return f"{size // 1000**power} {unit}"
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


_SET = re.compile(
    r"^\s*(SET|RESET)\s+(?:SESSION\s+|LOCAL\s+|GLOBAL\s+)?sqlml\.spark_threshold\b"
    r"(?:\s*(?:=|\bTO\b)\s*(.*?))?\s*$",
    re.I | re.S,
)


def threshold_setting(sql: str) -> tuple[str, str | None] | None:
    """``SET sqlml.spark_threshold = v`` -> ("SET", "v"); ``RESET …`` -> ("RESET", None)."""
    match = _SET.match(sql)
    if match is None:
        return None
    return match.group(1).upper(), match.group(2)


def setting_value(text: str | None) -> int:
    """The value of SET sqlml.spark_threshold: a quoted size or a number of bytes."""
    if text is None or not text:
        raise ProgrammingError(f"SET sqlml.spark_threshold needs a value: {_SIZE_FORMS}.")
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return parse_size(text[1:-1].replace("''", "'"), error=ProgrammingError)
    if text.isdigit() and len(text) <= 30:
        return int(text)
    return parse_size(text, error=ProgrammingError)
