"""COPY table [(columns)] FROM STDIN through ``sqlml serve``: psql's ``\\copy t FROM 'file'``,
psycopg's ``cursor.copy()`` writes. The client's CopyData is decoded as it arrives (text, CSV or
binary) and loaded into a temporary table of the target's column types in batches, so memory is
bounded by a batch; at CopyDone one INSERT moves the rows into the table — all or nothing, as
PostgreSQL's COPY is.
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from sqlml.server.copy import TABLE, column_names, names, with_options
from sqlml.server.errors import ServerError

#: Rows decoded before they are loaded into the staging table.
BATCH_ROWS = 50_000

_COPY_IN = re.compile(rf"^\s*COPY\s+{TABLE}\s+FROM\s+STDIN\b(?P<options>.*?)\s*;?\s*$", re.I | re.S)


@dataclass(frozen=True)
class CopyIn:
    table: tuple[str, ...]  # the name's parts, unquoted
    columns: tuple[str, ...] | None
    format: str
    header: bool
    delimiter: str
    null: str
    quote: str


def copy_in(sql: str) -> CopyIn | None:
    """The COPY FROM STDIN ``sql`` asks for, or None when it is not one."""
    found = _COPY_IN.match(sql)
    if not found:
        return None
    options = with_options("", found.group("options") or "")
    return CopyIn(
        names(found.group("table")),
        column_names(found.group("columns")),
        options.format,
        options.header,
        options.delimiter,
        options.null,
        options.quote,
    )


_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)", re.S)


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] == "x" and len(code) > 1:
        return chr(int(code[1:], 16))
    if code[0] in "01234567":
        return chr(int(code, 8))
    return _ESCAPES.get(code, code)


class Decoder:
    """Rows out of CopyData as it arrives: :meth:`feed` returns the complete rows so far (lists of
    text, or of Python values for binary), :meth:`finish` the rest."""

    def __init__(self, copy: CopyIn, width: int, oids: list[int]) -> None:
        self.copy, self.width, self.oids = copy, width, oids
        self.pending = b""
        self.header_skipped = not copy.header
        self.binary_started = False
        self.ended = False  # text's "\." line, binary's trailer

    def feed(self, data: bytes) -> list[list[Any]]:
        self.pending += data
        if self.copy.format == "binary":
            return self._binary()
        if self.copy.format == "csv":
            return self._csv(final=False)
        return self._text(final=False)

    def finish(self) -> list[list[Any]]:
        if self.copy.format == "binary":
            rows = self._binary()
            if self.pending and not self.ended:
                raise ServerError("COPY binary data ended inside a row", "22P04")
            return rows
        return self._csv(final=True) if self.copy.format == "csv" else self._text(final=True)

    # --- text -----------------------------------------------------------------------------------

    def _text(self, final: bool) -> list[list[Any]]:
        data = self.pending
        cut = len(data) if final else data.rfind(b"\n") + 1
        chunk, self.pending = data[:cut], data[cut:]
        rows = []
        lines = chunk.decode("utf-8").split("\n")
        if lines and lines[-1] == "":  # after the last line break: no row
            lines.pop()
        for raw in lines:
            if self.ended:
                continue
            line = raw[:-1] if raw.endswith("\r") else raw
            if line == "\\.":
                self.ended = True
                continue
            fields = line.split(self.copy.delimiter)
            rows.append(self._row([self._text_value(f) for f in fields]))
        return rows

    def _text_value(self, field: str) -> str | None:
        if field == self.copy.null:
            return None
        return _ESCAPE.sub(_unescape, field) if "\\" in field else field

    # --- CSV ------------------------------------------------------------------------------------

    def _csv(self, final: bool) -> list[list[Any]]:
        """Complete records: up to the last line break outside quotes."""
        data, quote = self.pending, self.copy.quote.encode()
        cut = len(data) if final else _record_boundary(data, quote)
        chunk, self.pending = data[:cut], data[cut:]
        if not chunk.strip():
            return []
        import pyarrow.csv as pacsv

        names = [f"c{i}" for i in range(self.width)]
        table = pacsv.read_csv(
            io.BytesIO(chunk),
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=0 if self.header_skipped else 1
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self.copy.delimiter,
                quote_char=self.copy.quote,
                double_quote=True,
                newlines_in_values=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                null_values=[self.copy.null],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        self.header_skipped = True
        columns = [table.column(n).to_pylist() for n in names]
        return [list(row) for row in zip(*columns, strict=True)]

    # --- binary ---------------------------------------------------------------------------------

    def _binary(self) -> list[list[Any]]:
        from sqlml.server.types.params import decode_param

        data, at, rows = self.pending, 0, []
        if not self.binary_started:
            if len(data) < 19:
                return []
            if not data.startswith(b"PGCOPY\n\xff\r\n\x00"):
                raise ServerError("COPY binary data lacks the PGCOPY signature", "22P04")
            extension = struct.unpack("!i", data[15:19])[0]
            at, self.binary_started = 19 + extension, True
        while not self.ended and len(data) - at >= 2:
            (count,) = struct.unpack("!h", data[at : at + 2])
            if count == -1:
                self.ended, at = True, at + 2
                break
            if count != self.width:
                raise ServerError(
                    f"COPY binary row has {count} fields; the table takes {self.width}", "22P04"
                )
            position, values = at + 2, []
            for index in range(count):
                if len(data) - position < 4:
                    break
                (size,) = struct.unpack("!i", data[position : position + 4])
                position += 4
                if size == -1:
                    values.append(None)
                    continue
                if len(data) - position < size:
                    break
                field = data[position : position + size]
                position += size
                try:
                    values.append(decode_param(field, self.oids[index], binary=True))
                except (ValueError, NotImplementedError, struct.error) as exc:
                    raise ServerError(f"COPY binary value: {exc}", "22P03") from exc
            if len(values) < count:
                break  # the row continues in the next CopyData
            rows.append(values)
            at = position
        self.pending = data[at:]
        return rows

    def _row(self, fields: list[Any]) -> list[Any]:
        if len(fields) != self.width:
            raise ServerError(
                f"COPY row has {len(fields)} columns; the table takes {self.width} (check the "
                f"delimiter and the column list)",
                "22P04",
            )
        return fields


def _record_boundary(data: bytes, quote: bytes) -> int:
    """The end of the last complete CSV record: after the last line break with an even number
    of quotes before it (0 when there is none yet)."""
    end = data.rfind(b"\n")
    while end >= 0:
        if data.count(quote, 0, end) % 2 == 0:
            return end + 1
        end = data.rfind(b"\n", 0, end)
    return 0
