"""COPY ... TO STDOUT through ``sqlml serve``: psql's ``\\copy (SELECT ...) TO 'file'``, psycopg's
``cursor.copy()`` and JDBC's CopyManager. The query (ML statements included) runs as any other;
its rows go back as CopyData in PostgreSQL's text, CSV or binary COPY format, encoded column-wise
by Arrow from the values the server already writes for DataRows.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from sqlml.server.errors import ServerError

#: Rows per CopyData chunk (a chunk is built, sent and freed before the next).
CHUNK_ROWS = 8192

#: One name as COPY takes it: quoted ("My Table", "" for a quote) or plain.
_IDENT = r'(?:"(?:[^"]|"")+"|[\w$]+)'
#: A table, dot-qualified, and an optional column list: the part COPY TO and COPY FROM share.
TABLE = rf"(?P<table>{_IDENT}(?:\.{_IDENT})*)(?:\s*\((?P<columns>[^()]*)\))?"

_COPY_OUT = re.compile(
    rf"^\s*COPY\s+(?:\((?P<query>.*)\)|{TABLE})\s+TO\s+STDOUT\b(?P<options>.*?)\s*;?\s*$",
    re.I | re.S,
)


def names(text: str) -> tuple[str, ...]:
    """The identifiers of a dotted name, unquoted (they are quoted again where SQL is built)."""
    return tuple(
        p[1:-1].replace('""', '"') if p.startswith('"') else p for p in re.findall(_IDENT, text)
    )


def column_names(text: str | None) -> tuple[str, ...] | None:
    """A COPY column list's names, each checked to be one identifier."""
    if text is None:
        return None
    items = [item.strip() for item in text.split(",") if item.strip()]
    for item in items:
        if not re.fullmatch(_IDENT, item):
            raise ServerError(f"COPY column {item!r} is not a column name", "42601")
    return tuple(names(item)[0] for item in items)


def quoted(parts: tuple[str, ...]) -> str:
    """Quoted identifiers, dot-joined: what COPY's SQL is built with."""
    from sqlml.project.sqltext import qualified

    return qualified(*parts)


@dataclass(frozen=True)
class CopyOut:
    """A parsed ``COPY ... TO STDOUT``: the query whose rows to send and how to write them."""

    query: str
    format: str = "text"  # text, csv or binary
    header: bool = False
    delimiter: str = "\t"
    null: str = "\\N"
    quote: str = '"'


def copy_out(sql: str) -> CopyOut | None:
    """The COPY TO STDOUT ``sql`` asks for, or None when it is not one."""
    found = _COPY_OUT.match(sql)
    if not found:
        return None
    if found.group("query") is not None:
        query = found.group("query").strip()
    else:
        columns = column_names(found.group("columns"))
        selected = ", ".join(quoted((c,)) for c in columns) if columns else "*"
        query = f"SELECT {selected} FROM {quoted(names(found.group('table')))}"
    return with_options(query, found.group("options") or "")


def with_options(query: str, text: str) -> CopyOut:
    """PostgreSQL's options: ``WITH (FORMAT csv, HEADER, DELIMITER ';', NULL '', QUOTE '"')`` or
    the older ``[WITH] CSV HEADER`` / ``BINARY`` / ``DELIMITER [AS] 'x'`` / ``NULL [AS] 'x'``."""
    options: dict[str, str] = {}
    text = text.strip()
    text = re.sub(r"^WITH\b", "", text, flags=re.I).strip()
    if text.startswith("(") and text.endswith(")"):
        for item in _split_options(text[1:-1]):
            name, _, value = item.strip().partition(" ")
            options[name.lower()] = _unquote(value.strip()) if value.strip() else "true"
    else:
        tokens = re.findall(r"'(?:[^']|'')*'|\S+", text)
        i = 0
        while i < len(tokens):
            word = tokens[i].lower()
            if word in ("csv", "binary", "text"):
                options["format"] = word
            elif word == "header":
                options["header"] = "true"
            elif word in ("delimiter", "null", "quote") and i + 1 < len(tokens):
                if tokens[i + 1].lower() == "as" and i + 2 < len(tokens):
                    i += 1
                options[word] = _unquote(tokens[i + 1])
                i += 1
            else:
                raise ServerError(f"COPY option {tokens[i]!r} is not supported", "0A000")
            i += 1
    fmt = options.get("format", "text").lower()
    if fmt not in ("text", "csv", "binary"):
        raise ServerError(f"COPY format {fmt!r} is not recognized", "22023")
    header = options.get("header", "false").lower() in ("true", "on", "1", "")
    if header and fmt != "csv":
        raise ServerError("COPY HEADER is available only in CSV mode", "0A000")
    delimiter = options.get("delimiter", "," if fmt == "csv" else "\t")
    if len(delimiter) != 1:
        raise ServerError("COPY delimiter must be a single one-byte character", "0A000")
    null = options.get("null", "" if fmt == "csv" else "\\N")
    return CopyOut(query, fmt, header, delimiter, null, options.get("quote", '"'))


def _split_options(text: str) -> list[str]:
    return [p for p in re.findall(r"(?:'(?:[^']|'')*'|[^,'])+", text) if p.strip()]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def copy_out_response(binary: bool, columns: int) -> bytes:
    """CopyOutResponse ('H'): the overall format and each column's."""
    fmt = 1 if binary else 0
    body = struct.pack("!bh", fmt, columns) + struct.pack(f"!{columns}h", *([fmt] * columns))
    return b"H" + struct.pack("!i", len(body) + 4) + body


def copy_data(payload: bytes) -> bytes:
    return b"d" + struct.pack("!i", len(payload) + 4) + payload


COPY_DONE = b"c\x00\x00\x00\x04"
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_BINARY_TRAILER = struct.pack("!h", -1)


def _text_cells(column: pa.Array, copy: CopyOut) -> pa.Array:
    """One column's text values written as COPY writes them (NULL as ``copy.null``)."""
    cells = column if pa.types.is_string(column.type) else column.cast(pa.string())
    if copy.format == "text":  # backslash escapes for the characters COPY's text format uses
        escapes = [("\\", "\\\\"), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")]
        if copy.delimiter not in "\\\n\r\t":
            escapes.append((copy.delimiter, "\\" + copy.delimiter))
        for char, escaped in escapes:
            cells = pc.replace_substring(cells, char, escaped)
    else:  # CSV: quote values holding the delimiter, the quote, a line break, or equal to NULL
        quote = copy.quote
        needs = pc.or_(
            pc.or_(
                pc.match_substring(cells, copy.delimiter),
                pc.match_substring(cells, quote),
            ),
            pc.or_(
                pc.or_(pc.match_substring(cells, "\n"), pc.match_substring(cells, "\r")),
                pc.equal(cells, copy.null),
            ),
        )
        doubled = pc.replace_substring(cells, quote, quote + quote)
        quoted = pc.binary_join_element_wise(quote, doubled, quote, "")
        cells = pc.if_else(pc.fill_null(needs, False), quoted, cells)
    return pc.fill_null(cells, copy.null)


def text_chunks(
    columns: list[pa.Array], names: list[str], copy: CopyOut, first: bool = True
) -> Iterator[bytes]:
    """CopyData messages, one per row as PostgreSQL sends them (psycopg's reader expects it), of
    the rows as COPY text or CSV lines, built :data:`CHUNK_ROWS` rows at a time; the CSV header
    before the ``first`` batch."""
    if copy.header and first:
        header = [_text_cells(pa.array([n]), copy)[0].as_py() for n in names]
        yield copy_data((copy.delimiter.join(header) + "\n").encode())
    rows = len(columns[0]) if columns else 0
    for start in range(0, rows, CHUNK_ROWS):
        cells = [_text_cells(c.slice(start, CHUNK_ROWS), copy) for c in columns]
        lines = pc.binary_join_element_wise(*cells, copy.delimiter).to_pylist()
        yield b"".join(copy_data((line + "\n").encode()) for line in lines)


def binary_chunks(
    columns: list[pa.Array], first: bool = True, last: bool = True
) -> Iterator[bytes]:
    """CopyData messages in COPY's binary format, one per row: the header with the first row (of
    the ``first`` batch), each row its field count and each field as a 4-byte length (-1 for
    NULL) and its binary value (a DataRow's body: the DataRow messages are rebuilt with COPY's
    type byte), then, after the ``last`` batch, the trailer."""
    from sqlml.server.types.rows import data_rows

    rows = len(columns[0]) if columns else 0
    for start in range(0, rows, CHUNK_ROWS):
        stop = min(rows, start + CHUNK_ROWS)
        bodies = _bodies(data_rows(columns, start, stop), stop - start)
        if first:
            bodies[0], first = _BINARY_HEADER + bodies[0], False
        yield b"".join(copy_data(body) for body in bodies)
    if not last:
        return
    # no rows at all: the header goes with the trailer, in one message (as PostgreSQL sends it;
    # psycopg reads the header and a row, or the trailer, from the first message)
    yield copy_data(_BINARY_HEADER + _BINARY_TRAILER if first else _BINARY_TRAILER)


def _bodies(messages: bytes, count: int) -> list[bytes]:
    """The bodies of ``count`` DataRow messages (without their type byte and length)."""
    view = memoryview(messages)
    out, at = [], 0
    for _ in range(count):
        size = int.from_bytes(view[at + 1 : at + 5], "big")
        out.append(bytes(view[at + 5 : at + 1 + size]))
        at += 1 + size
    return out
