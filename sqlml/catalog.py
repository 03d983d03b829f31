"""The model catalog: one row per model version, in the engine's own storage.

The catalog talks to the engine only through :class:`~sqlml.backends.base.Backend`'s small SQL API with
parameters, so the same code serves DuckDB and (later) Spark. Versions make CREATE OR REPLACE atomic:
the new row is written in one transaction after training succeeded; until then the old one is live.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlml.errors import ModelNotFoundError

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


class Catalog:
    """Reads and writes ``sqlml.models`` through a backend."""

    TABLE = "sqlml.models"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._ready = False

    def ensure(self) -> None:
        """Create the catalog schema and table on first write (read-only files stay untouched)."""
        if not self._ready:
            self.backend.run_script(self.backend.catalog_ddl())
            self._ready = True

    def exists(self) -> bool:
        return self.backend.table_exists("sqlml", "models")

    def get(self, name: str, *, statement: str = "") -> ModelRecord:
        record = self.find(name)
        if record is None:
            where = f" in {statement}" if statement else ""
            known = self.names()
            hint = f" Models here: {', '.join(known)}." if known else " There are no models yet."
            raise ModelNotFoundError(f"Model '{name}' not found{where}.{hint}")
        return record

    def find(self, name: str) -> ModelRecord | None:
        if not self.exists():
            return None
        rows = self.backend.query(
            f"SELECT {', '.join(COLUMNS)} FROM {self.TABLE} WHERE name = ? "
            "ORDER BY version DESC LIMIT 1",
            [normalize_name(name)],
        )
        return ModelRecord.from_row(rows[0]) if rows else None

    def names(self) -> list[str]:
        if not self.exists():
            return []
        return [
            r[0] for r in self.backend.query(f"SELECT DISTINCT name FROM {self.TABLE} ORDER BY 1")
        ]

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
        if not self.exists():
            return 1
        rows = self.backend.query(
            f"SELECT coalesce(max(version), 0) + 1 FROM {self.TABLE} WHERE name = ?",
            [normalize_name(name)],
        )
        return int(rows[0][0])

    def insert(self, record: ModelRecord) -> None:
        values: list[Any] = []
        for column in COLUMNS:
            value = getattr(record, column)
            values.append(json.dumps(value) if column in JSON_COLUMNS else value)
        placeholders = ", ".join("?" for _ in COLUMNS)
        self.backend.execute_params(
            f"INSERT INTO {self.TABLE} ({', '.join(COLUMNS)}) VALUES ({placeholders})", values
        )

    def delete(self, name: str) -> None:
        self.backend.delete_model(self.TABLE, normalize_name(name))

    def function_owner(self, function_name: str) -> str | None:
        """The model whose live version registered ``function_name``, if any."""
        for record in self.latest():
            if record.function_name and record.function_name.lower() == function_name.lower():
                return record.name
        return None
