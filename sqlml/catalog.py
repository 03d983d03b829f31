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

    def function_owner(self, function_name: str) -> str | None:
        """The model whose live version registered ``function_name``, if any."""
        for record in self.latest():
            if record.function_name and record.function_name.lower() == function_name.lower():
                return record.name
        return None
