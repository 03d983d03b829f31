"""The model catalog: one row per model version, in the engine's own storage.

The catalog talks to the engine only through :class:`~sqlml.backends.base.Backend`'s small SQL API with
parameters, so the same code serves DuckDB and (later) Spark. Versions make CREATE OR REPLACE atomic:
the new row is written in one transaction after training succeeded; until then the old one is live.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlml.errors import ModelNotFoundError, ProgrammingError

if TYPE_CHECKING:
    from sqlml.backends.base import Backend

COLUMNS = (
    "name",
    "version",
    "created_at",
    "model_type",
    "label",
    "features",
    "options",
    "metrics",
    "training_info",
    "training_sql",
    "data_fingerprint",
    "library_versions",
    "function_name",
    "spec",
    "onnx",
)
JSON_COLUMNS = ("features", "options", "metrics", "training_info", "library_versions", "spec")
#: ``sqlml.model_groups``: one row per group of a model trained PARTITION BY columns.
GROUP_COLUMNS = (
    "group_index",
    "group_key",
    "training_rows",
    "status",
    "reason",
    "metrics",
    "training_info",
    "spec",
    "onnx",
)
_GROUP_JSON = ("metrics", "training_info", "spec")


@dataclass(frozen=True)
class ModelRecord:
    """One model version as stored: JSON columns decoded, ONNX bytes as they are."""

    name: str
    version: int
    created_at: dt.datetime
    model_type: str
    label: str | None
    features: list[dict[str, str]]
    options: dict[str, Any]
    metrics: dict[str, Any]
    training_info: dict[str, Any]
    training_sql: str
    data_fingerprint: str
    library_versions: dict[str, str]
    function_name: str | None
    spec: dict[str, Any]
    onnx: bytes

    @property
    def cache_key(self) -> str:
        digest = hashlib.sha256(self.onnx).hexdigest()[:16]
        return f"{self.name}@{self.version}#{digest}"

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> ModelRecord:
        values = dict(zip(COLUMNS, row, strict=True))
        for column in JSON_COLUMNS:
            values[column] = json.loads(values[column]) if values[column] else {}
        values["onnx"] = bytes(values["onnx"])
        return cls(**values)

    @property
    def partition_by(self) -> list[dict[str, str]]:
        """A partitioned model's partition columns (``name``, Arrow ``type``); [] otherwise."""
        return list(self.spec.get("partition_by") or [])

    @property
    def group_columns(self) -> list[dict[str, str]]:
        """The columns whose values name a group: the partition columns, or a time-series
        model's ``time_series_id_col`` columns (``name``, Arrow ``type``)."""
        return self.partition_by or list((self.spec.get("time_series") or {}).get("id_cols") or [])

    @property
    def expires_at(self) -> dt.datetime | None:
        """When the model expires (its ``expiration_timestamp`` option, set by CREATE or ALTER
        MODEL), in UTC; None if never."""
        value = self.options.get("expiration_timestamp")
        return dt.datetime.fromisoformat(value).astimezone(dt.UTC) if value else None

    def expired(self, now: dt.datetime | None = None) -> bool:
        expires = self.expires_at
        return expires is not None and expires <= (now or dt.datetime.now(dt.UTC))

    def revised(self, version: int, options: dict[str, Any]) -> ModelRecord:
        """This version again as ``version``, with other options (ALTER MODEL): the same graph,
        its ONNX metadata rewritten to say so."""
        import onnx

        record = ModelRecord(**{**self.__dict__, "version": version, "options": options})
        if not self.onnx:  # a partitioned model without a fallback: its groups keep their graphs
            return record
        proto = onnx.load_model_from_string(self.onnx)
        props = record.metadata()
        for entry in proto.metadata_props:
            if entry.key in props:
                entry.value = props.pop(entry.key)
        for key, value in props.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        proto.doc_string = f"sqlml model {record.name} v{version} ({record.model_type})"
        return ModelRecord(**{**record.__dict__, "onnx": proto.SerializeToString()})

    def metadata(self) -> dict[str, str]:
        """The ONNX metadata_props written into the stored and exported model."""
        return {
            "sqlml.name": self.name,
            "sqlml.version": str(self.version),
            "sqlml.created_at": self.created_at.isoformat(),
            "sqlml.model_type": self.model_type,
            "sqlml.label": self.label or "",
            "sqlml.features": json.dumps(self.features),
            "sqlml.options": json.dumps(self.options),
            "sqlml.metrics": json.dumps(self.metrics),
            "sqlml.training_info": json.dumps(self.training_info),
            "sqlml.training_sql": self.training_sql,
            "sqlml.data_fingerprint": self.data_fingerprint,
            "sqlml.library_versions": json.dumps(self.library_versions),
            "sqlml.function_name": self.function_name or "",
            "sqlml.spec": json.dumps(self.spec),
        }


@dataclass(frozen=True)
class GroupRecord:
    """One group of a partitioned model as stored: its partition values (``key``, in PARTITION BY
    order), training rows, status (trained, skipped, failed) and reason; its metrics, training
    info and scorer spec (empty unless trained); its ONNX bytes when they were read."""

    index: int
    key: tuple[Any, ...]
    rows: int
    status: str
    reason: str = ""
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    training_info: dict[str, Any] = dataclasses.field(default_factory=dict)
    spec: dict[str, Any] = dataclasses.field(default_factory=dict)
    onnx: bytes | None = None


def encode_key(values: tuple[Any, ...]) -> str:
    """Partition values as JSON: numbers, strings and booleans as they are, dates and times in
    ISO form, decimals as text, bytes as hex (:func:`decode_key` reads them back by type)."""

    def plain(value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, bytes):
            return value.hex()
        if isinstance(value, (dt.date, dt.time)):
            return value.isoformat()
        return str(value)

    return json.dumps([plain(v) for v in values])


def decode_key(text: str, columns: list[dict[str, str]]) -> tuple[Any, ...]:
    """The partition values :func:`encode_key` wrote, as Arrow gives them for the columns'
    types (``columns``: the model's ``partition_by``)."""
    import pyarrow as pa

    values = json.loads(text)
    out = []
    for value, column in zip(values, columns, strict=True):
        kind = column["type"]
        if (
            value is None
            or isinstance(value, (bool, int, float))
            or kind in ("string", "large_string")
        ):
            out.append(value)
        elif kind in ("binary", "large_binary"):
            out.append(bytes.fromhex(value))
        else:  # dates, times, timestamps, decimals: Arrow parses its own text forms
            out.append(pa.array([value]).cast(_arrow_type(kind)).to_pylist()[0])
    return tuple(out)


def _arrow_type(name: str) -> Any:
    import pyarrow as pa

    if name.startswith("decimal"):
        precision, scale = (int(p) for p in name[name.index("(") + 1 : -1].split(","))
        return pa.decimal128(precision, scale)
    if name.startswith("timestamp"):
        inner = name[name.index("[") + 1 : -1].split(",")
        zone = inner[1].split("=", 1)[1].strip() if len(inner) > 1 else None
        return pa.timestamp(inner[0].strip(), tz=zone)
    if name.startswith("time"):
        return pa.time64("us") if "us" in name or "ns" in name else pa.time32(name[7:-1] or "s")
    return pa.type_for_alias(name)


def normalize_name(name: str) -> str:
    return name.lower()


@dataclass(frozen=True)
class _Place:
    """Where a model name's versions are kept: the catalog table, the name as stored there, and
    the database a three-part name named (None: the connection's own)."""

    table: str
    stored: str
    database: str | None = None

    def shown(self, stored: str) -> str:
        return stored if self.database is None else f"{self.database.lower()}.{stored}"

    @property
    def groups(self) -> str:
        """The table beside the catalog that holds partitioned models' groups."""
        return self.table.rsplit(".", 1)[0] + ".model_groups"


class Catalog:
    """Reads and writes ``sqlml.models`` through a backend.

    A three-part name ``database.schema.model`` keeps the model in that database's own catalog
    (DuckDB: an attached database's ``sqlml.models``, so the model travels with its file), stored
    there as ``schema.model``; the connection's own database named first is the same as leaving
    it out (``memory.main.m`` is ``main.m``).
    """

    TABLE = "sqlml.models"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._ready: set[str | None] = set()

    def _place(self, name: str) -> _Place:
        name = normalize_name(name)
        parts = name.split(".")
        if len(parts) < 3:
            return _Place(self.TABLE, name)
        database, stored = parts[0], ".".join(parts[1:])
        current, known = self.backend.databases()
        match = next((d for d in known if d.lower() == database), None)
        if match is None:
            raise ProgrammingError(
                f"Model name '{name}': this connection has no database or catalog named "
                f"'{database}'; its databases: {', '.join(known) or 'none'}. Attach it first "
                f"(DuckDB: ATTACH 'file.duckdb' AS {database}), or leave the first part out."
            )
        if match.lower() == current.lower():
            return _Place(self.TABLE, stored)
        return _Place(self.backend.catalog_table(match), stored, match)

    def ensure(self, name: str | None = None) -> None:
        """Create the catalog schema and table on first write (read-only files stay untouched);
        with a three-part ``name``, that database's."""
        database = self._place(name).database if name is not None else None
        if database not in self._ready:
            self.backend.run_script(self.backend.catalog_ddl(database))
            self._ready.add(database)

    def exists(self, place: _Place | None = None) -> bool:
        database = place.database if place is not None else None
        return self.backend.table_exists("sqlml", "models", database)

    def get(self, name: str, *, statement: str = "", allow_expired: bool = False) -> ModelRecord:
        """The live version of ``name``. An expired model (past its expiration_timestamp) is an
        error unless ``allow_expired`` (SHOW, ALTER and DROP MODEL see it): BigQuery deletes it,
        but a local tool does not drop a user's work on its own, so it stays until the user
        extends it or drops it."""
        record = self.find(name)
        if record is None:
            where = f" in {statement}" if statement else ""
            known = self.names(self._place(name))
            hint = f" Models here: {', '.join(known)}." if known else " There are no models yet."
            # not "not found": notebook tools (jupysql) take that for a missing table and put their
            # own hint first
            raise ModelNotFoundError(f"There is no model '{name}'{where}.{hint}")
        if not allow_expired and record.expired():
            expires = record.expires_at
            assert expires is not None
            where = f"{statement} cannot use it" if statement else "it cannot be used"
            raise ProgrammingError(
                f"Model '{record.name}' expired at {expires:%Y-%m-%d %H:%M:%S} UTC (its "
                f"expiration_timestamp); {where}. Extend it with ALTER MODEL {record.name} SET "
                f"OPTIONS (expiration_timestamp = NULL) or a later TIMESTAMP, or DROP MODEL "
                f"{record.name}."
            )
        return record

    def find(self, name: str) -> ModelRecord | None:
        place = self._place(name)
        if not self.exists(place):
            return None
        rows = self.backend.query(
            f"SELECT {', '.join(COLUMNS)} FROM {place.table} WHERE name = ? "
            "ORDER BY version DESC LIMIT 1",
            [place.stored],
        )
        if not rows:
            return None
        record = ModelRecord.from_row(rows[0])
        return dataclasses.replace(record, name=place.shown(record.name))

    def names(self, place: _Place | None = None) -> list[str]:
        place = place or _Place(self.TABLE, "")
        if not self.exists(place):
            return []
        rows = self.backend.query(f"SELECT DISTINCT name FROM {place.table} ORDER BY 1")
        return [place.shown(r[0]) for r in rows]

    def latest(self) -> list[ModelRecord]:
        """The live version of every model."""
        if not self.exists():
            return []
        rows = self.backend.query(
            f"SELECT {', '.join(COLUMNS)} FROM {self.TABLE} "
            "QUALIFY version = max(version) OVER (PARTITION BY name) ORDER BY name"
        )
        return [ModelRecord.from_row(r) for r in rows]

    def next_version(self, name: str) -> int:
        place = self._place(name)
        if not self.exists(place):
            return 1
        rows = self.backend.query(
            f"SELECT coalesce(max(version), 0) + 1 FROM {place.table} WHERE name = ?",
            [place.stored],
        )
        return int(rows[0][0])

    def insert(self, record: ModelRecord) -> None:
        place = self._place(record.name)
        record = dataclasses.replace(record, name=place.stored)
        values: list[Any] = []
        for column in COLUMNS:
            value = getattr(record, column)
            values.append(json.dumps(value) if column in JSON_COLUMNS else value)
        placeholders = ", ".join("?" for _ in COLUMNS)
        self.backend.execute_params(
            f"INSERT INTO {place.table} ({', '.join(COLUMNS)}) VALUES ({placeholders})", values
        )

    def delete(self, name: str) -> None:
        place = self._place(name)
        self.backend.delete_model(place.table, place.stored)
        if self._has_groups(place) and self.backend.query(
            f"SELECT 1 FROM {place.groups} WHERE name = ? LIMIT 1", [place.stored]
        ):  # (Spark: dropping a partition that holds nothing would leave an empty folder)
            self.backend.delete_model(place.groups, place.stored)

    # --- the groups of a model trained PARTITION BY columns -----------------------------------------

    def _has_groups(self, place: _Place) -> bool:
        return self.backend.table_exists("sqlml", "model_groups", place.database)

    def insert_groups(self, name: str, version: int, groups: list[GroupRecord]) -> None:
        """Write a version's groups (before the version itself: see catalog.sql), as one INSERT
        from an Arrow table."""
        import pyarrow as pa

        place = self._place(name)
        table = pa.table(
            {
                "name": pa.array([place.stored] * len(groups), pa.string()),
                "version": pa.array([version] * len(groups), pa.int32()),
                "group_index": pa.array([g.index for g in groups], pa.int32()),
                "group_key": pa.array([encode_key(g.key) for g in groups], pa.string()),
                "training_rows": pa.array([g.rows for g in groups], pa.int64()),
                "status": pa.array([g.status for g in groups], pa.string()),
                "reason": pa.array([g.reason or None for g in groups], pa.string()),
                **{
                    column: pa.array([json.dumps(getattr(g, column)) for g in groups], pa.string())
                    for column in _GROUP_JSON
                },
                "onnx": pa.array([g.onnx for g in groups], pa.binary()),
            }
        )
        source = self.backend.temp_name("groups")
        columns = ", ".join(table.column_names)
        self.backend.register_arrow(source, table)
        try:
            self.backend.execute_params(
                f"INSERT INTO {place.groups} ({columns}) SELECT {columns} "
                f"FROM {self.backend.quote(source)}"
            )
        finally:
            self.backend.unregister_arrow(source)

    def groups(
        self, record: ModelRecord, *, specs: bool = False, brief: bool = False
    ) -> list[GroupRecord]:
        """The groups of a partitioned ``record`` in order, without their ONNX bytes (and, unless
        ``specs``, their scorer specs; with ``brief``, their values, rows and status only)."""
        place = self._place(record.name)
        columns = [c for c in GROUP_COLUMNS if c != "onnx" and (specs or c != "spec")]
        if brief:
            columns = ["group_index", "group_key", "training_rows", "status", "reason"]
        rows = self.backend.query(
            f"SELECT {', '.join(columns)} FROM {place.groups} WHERE name = ? AND version = ? "
            "ORDER BY group_index",
            [place.stored, record.spec["groups_version"]],
        )
        return [self._group(dict(zip(columns, row, strict=True)), record) for row in rows]

    def group_models(
        self,
        record: ModelRecord,
        indices: list[int] | None,
        *,
        aside: bool = False,
        scoring: bool = False,
    ) -> dict[int, GroupRecord]:
        """The groups ``indices`` (None: every trained one) of ``record``, with their ONNX bytes
        and specs. ``aside``: read through the backend's stream (DuckDB: a second connection),
        as a statement running on the main connection pulls the scores; ``scoring``: what a
        scorer needs only (no metrics or training info)."""
        place = self._place(record.name)
        columns = [c for c in GROUP_COLUMNS if not scoring or c not in ("metrics", "training_info")]
        found: dict[int, GroupRecord] = {}
        chunks = (
            [
                [int(i) for i in indices[start : start + 500]]
                for start in range(0, len(indices), 500)
            ]
            if indices is not None
            else [None]
        )
        for chunk in chunks:
            sql = (
                f"SELECT {', '.join(columns)} FROM {place.groups} WHERE name = ? AND "
                "version = ? AND "
                + (
                    f"group_index IN ({', '.join('?' for _ in chunk)})"
                    if chunk is not None
                    else "status = 'trained'"
                )
            )
            params = [place.stored, record.spec["groups_version"], *(chunk or [])]
            if aside:
                table = self.backend.stream(sql, params).read_all()
                rows = list(zip(*(table.column(c).to_pylist() for c in columns), strict=True))
            else:
                rows = self.backend.query(sql, params)
            for row in rows:
                group = self._group(dict(zip(columns, row, strict=True)), record)
                found[group.index] = group
        return found

    def group_stream(self, record: ModelRecord, *, full: bool = False) -> Iterator[GroupRecord]:
        """The trained groups of ``record`` with their graphs and specs, read once from start
        to end through the backend's stream (DuckDB: a second connection; a filtered read of a
        few groups would scan every group's graph). In the order they were written — group
        order — where the engine keeps it (DuckDB does): an ORDER BY would sort every graph in
        memory before the first arrived. A reader meeting them out of order reads the ones it
        passed again (:meth:`group_models`). ``full``: with their metrics and training info."""
        place = self._place(record.name)
        columns = ["group_index", "group_key", "training_rows", "status", "reason", "spec", "onnx"]
        if full:
            columns += ["metrics", "training_info"]
        reader = self.backend.stream(
            f"SELECT {', '.join(columns)} FROM {place.groups} WHERE name = ? AND version = ? "
            "AND status = 'trained'",
            [place.stored, record.spec["groups_version"]],
            batch_size=64,
        )
        for batch in reader:
            for row in zip(*(batch.column(c).to_pylist() for c in columns), strict=True):
                yield self._group(dict(zip(columns, row, strict=True)), record)

    def engine_models(self, record: ModelRecord) -> tuple[dict[tuple[Any, ...], Any], Any]:
        """A partitioned model as an engine that scores itself takes it: each trained group's
        values -> (cache key, ONNX bytes, spec JSON), and the fallback's (None without one)."""
        models = {
            g.key: (f"{record.cache_key}#group{g.index}", g.onnx or b"", json.dumps(g.spec))
            for g in self.group_stream(record)
        }
        fallback = (record.cache_key, record.onnx, json.dumps(record.spec)) if record.onnx else None
        return models, fallback

    @staticmethod
    def _group(values: dict[str, Any], record: ModelRecord) -> GroupRecord:
        for column in _GROUP_JSON:
            if column in values:
                values[column] = json.loads(values[column]) if values[column] else {}
        onnx = values.get("onnx")
        return GroupRecord(
            index=int(values["group_index"]),
            key=decode_key(values["group_key"], record.group_columns),
            rows=int(values["training_rows"]),
            status=values["status"],
            reason=values["reason"] or "",
            metrics=values.get("metrics", {}),
            training_info=values.get("training_info", {}),
            spec=values.get("spec", {}),
            onnx=bytes(onnx) if onnx is not None else None,
        )

    def function_owner(self, function_name: str) -> str | None:
        """The model whose live version registered ``function_name``, if any."""
        for record in self.latest():
            if record.function_name and record.function_name.lower() == function_name.lower():
                return record.name
        return None
