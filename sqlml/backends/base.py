"""The engine interface: the few things sqlml needs from a database to train and score next to data.

Kept small on purpose (ibis-style): SQL in, Arrow out; a stream of record batches for scoring; named
Arrow sources the engine's SQL can read from; scalar functions; transactions. Optional abilities are
capability flags, so callers never branch on the engine's name.
"""

from __future__ import annotations

import abc
import importlib.resources
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do beyond the interface every engine has; callers read these instead of
    the engine's name."""

    #: Runs a Python function over Arrow batches as a SQL scalar function (Redshift FUNCTIONs).
    scalar_udfs: bool = False
    #: BEGIN / COMMIT / ROLLBACK; without them autocommit is the only mode.
    transactions: bool = True
    #: A statement's rows stay pending on the engine until fetched; False: the executor reads
    #: them whole into the cursor's buffer as it runs the statement.
    streams_results: bool = True
    #: Runs TRANSFORM's SQL outputs as they are stored, in DuckDB's dialect; False: sqlml
    #: transpiles them to the backend's ``dialect`` (sqlml.training.transform_columns).
    transform: bool = True
    #: Scores models itself (ML.PREDICT through :meth:`Backend.score_relation`, model functions
    #: through :meth:`Backend.register_model_function`) rather than through batches that sqlml
    #: pulls into this process.
    scores_in_engine: bool = False
    #: Trains on its own workers (:mod:`sqlml.training.mllib`), above ``local_training_rows``.
    distributed_training: bool = False
    #: Binds ``$1`` / ``$name`` placeholders itself; False: only ``?`` (and ``:name``), so the
    #: executor rewrites sqlml's ``$`` forms into ``?``.
    dollar_params: bool = True


class Backend(abc.ABC):
    """One engine connection as sqlml sees it: everything the executor, the catalog, the ML
    functions and the DB-API cursor call on an engine is declared here."""

    name: str = "base"
    #: The engine's name in messages ("… is not yet supported on the Spark engine").
    display_name: str = "base"
    #: The sqlml.sql dialect that parses the engine's own SQL (what users write to it).
    dialect: str = "duckdb"
    capabilities: Capabilities = Capabilities()
    #: A transaction is open (the cursor and the executor keep it in step with BEGIN / COMMIT).
    in_transaction: bool = False
    #: Where the engine keeps the model catalog, for EXPLAIN ("sqlml.models in ...").
    catalog_place: str = "sqlml.models"
    #: Training queries with more rows than this train on the workers (engines that have them).
    local_training_rows: int | None = None

    @classmethod
    @abc.abstractmethod
    def connect(cls, database: str = ":memory:", **engine_options: Any) -> Backend:
        """A new connection to the engine from ``sqlml.connect``'s engine options (each engine
        checks its own and names the one it does not take)."""

    @property
    @abc.abstractmethod
    def version(self) -> str:
        """The engine's version, recorded with every model."""

    @abc.abstractmethod
    def temp_name(self, kind: str) -> str:
        """A fresh name for a temporary relation of this connection (``kind`` says what for)."""

    # --- a user's statement and its rows ----------------------------------------------------------

    @abc.abstractmethod
    def execute(self, sql: str, params: Any = None) -> None:
        """Run a user's statement; its rows wait for the fetch methods."""

    @abc.abstractmethod
    def description(self) -> list[tuple[Any, ...]] | None:
        """PEP 249's description of the pending rows (None: the statement returned none)."""

    @abc.abstractmethod
    def fetchmany(self, size: int) -> list[tuple[Any, ...]]: ...

    @abc.abstractmethod
    def fetchall(self) -> list[tuple[Any, ...]]: ...

    @abc.abstractmethod
    def fetch_arrow_table(self) -> pa.Table:
        """The pending rows as Arrow."""

    # --- SQL ------------------------------------------------------------------------------------

    @abc.abstractmethod
    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run an internal statement and return all its rows (small results only)."""

    @abc.abstractmethod
    def execute_params(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run an internal statement for its effect."""

    @abc.abstractmethod
    def run_script(self, sql: str) -> None:
        """Run several internal statements (DDL)."""

    @abc.abstractmethod
    def table_exists(self, schema: str, table: str, database: str | None = None) -> bool:
        """Whether ``schema.table`` exists, in ``database`` (None: the connection's own)."""

    @abc.abstractmethod
    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """A query's whole result as an Arrow table (training and evaluation data)."""

    @abc.abstractmethod
    def stream(
        self, sql: str, params: Sequence[Any] | None = None, batch_size: int = 122_880
    ) -> pa.RecordBatchReader:
        """A query's result as a stream of record batches, with bounded memory where possible."""

    #: Set while a streaming cursor's bare ML query opens its input: nothing else will run on the
    #: user's connection meanwhile, so the input may stream there (inside a transaction, too).
    main_connection_free = False

    def stream_query(
        self, sql: str, params: Sequence[Any] | None, batch_rows: int
    ) -> tuple[pa.RecordBatchReader, list[tuple[Any, ...]]]:
        """A user's query as record batches produced as they are read, and its PEP 249
        description: a streaming cursor's rows (engines whose ``streams_results`` is True)."""
        raise NotImplementedError

    def close_streams(self) -> None:  # noqa: B027 - nothing to close unless streams are kept
        """Free the user's connection of the streams :meth:`stream_query` left open on it."""

    # --- Arrow sources and functions ---------------------------------------------------------------

    @abc.abstractmethod
    def register_arrow(self, name: str, data: pa.Table | pa.RecordBatchReader) -> None:
        """Make ``data`` readable by the engine's SQL under ``name`` until unregistered."""

    @abc.abstractmethod
    def unregister_arrow(self, name: str) -> None: ...

    def register_function(
        self,
        name: str,
        function: Callable[..., pa.Array],
        parameters: list[tuple[str, str]],
        return_type: str,
    ) -> None:
        """Register a vectorized scalar function (parameters as ``(name, sql_type)`` pairs)."""
        raise NotImplementedError(f"{self.name} cannot register scalar functions")

    def unregister_function(self, name: str) -> None:
        raise NotImplementedError(f"{self.name} cannot register scalar functions")

    def has_function(self, name: str) -> bool:
        """Whether the engine already knows a function called ``name`` (built in, a macro, or a
        function registered by anyone): a model's FUNCTION must not take such a name."""
        return False

    def quote(self, name: str) -> str:
        """``name`` as a quoted identifier in the engine's SQL."""
        return '"' + name.replace('"', '""') + '"'

    def describe_arrow(self, schema: pa.Schema) -> list[tuple[Any, ...]] | None:
        """The engine's PEP 249 description of rows of ``schema`` (the user's pending rows, if
        any, are left alone where the engine can)."""
        name = self.temp_name("schema")
        self.register_arrow(name, schema.empty_table())
        try:
            self.execute(f"SELECT * FROM {self.quote(name)} LIMIT 0", None)
            description = self.description()
            self.fetchall()
        finally:
            self.unregister_arrow(name)
        return description

    def materialize(self, source: Any) -> pa.Table:
        """An ML function's result (Arrow table or stream, or an engine relation) read whole."""
        return source.read_all() if isinstance(source, pa.RecordBatchReader) else source

    # --- the catalog ----------------------------------------------------------------------------

    def catalog_ddl(self, database: str | None = None) -> str:
        """The statements that create sqlml's catalog (``sqlml.models``) if it is missing."""
        return importlib.resources.files("sqlml._assets").joinpath("catalog.sql").read_text()

    def databases(self) -> tuple[str, list[str]]:
        """The database (catalog) this connection's models live in, and every one that the first
        part of a three-part model name (``database.schema.model``) may name."""
        return ("", [])

    def catalog_table(self, database: str) -> str:
        """The catalog table of another database that :meth:`databases` lists."""
        from sqlml.errors import NotSupportedError

        raise NotSupportedError(
            f"Models in another {self.display_name} catalog ({database}) are not supported yet; "
            f"name the model schema.model to keep it in this connection's catalog."
        )

    def delete_model(self, table: str, name: str) -> None:
        """Remove every version of model ``name`` from the catalog table."""
        self.execute_params(f"DELETE FROM {table} WHERE name = ?", [name])

    # --- engines that score themselves ------------------------------------------------------------

    def relation(self, sql: str, params: Any = None) -> Any:
        """The rows of ``sql`` as an engine relation (``scores_in_engine``), not yet read."""
        raise NotImplementedError(f"{self.name} does not score inside the engine")

    def relation_schema(self, relation: Any) -> pa.Schema:
        """The Arrow schema of a relation from :meth:`relation`."""
        raise NotImplementedError(f"{self.name} does not score inside the engine")

    def score_relation(
        self, record: Any, relation: Any, threshold: Any, added: list[pa.Field]
    ) -> Any:
        """ML.PREDICT on the engine: ``relation``'s rows and columns, then the prediction columns
        ``added`` (``scores_in_engine``; sqlml.functions.predict checked the input)."""
        raise NotImplementedError(f"{self.name} does not score inside the engine")

    def score_groups(
        self,
        relation: Any,
        by: list[str],
        models: dict[tuple[Any, ...], tuple[str, bytes, str]],
        fallback: tuple[str, bytes, str] | None,
        threshold: Any,
        added: list[pa.Field],
        key: str,
    ) -> Any:
        """ML.PREDICT of a partitioned model on the engine (``scores_in_engine``): each group of
        ``relation`` by the ``by`` columns scored by ``models[values]`` (cache key, ONNX bytes,
        spec JSON), else by ``fallback`` (None: NULL predictions); ``key`` names the models."""
        raise NotImplementedError(f"{self.name} does not score inside the engine")

    def register_group_function(
        self,
        record: Any,
        models: dict[tuple[Any, ...], tuple[str, bytes, str]],
        fallback: tuple[str, bytes, str] | None,
    ) -> None:
        """Register a partitioned model's FUNCTION(s), the partition columns first
        (``scores_in_engine``; ``models`` as :meth:`score_groups` takes them)."""
        raise NotImplementedError(f"{self.name} does not score inside the engine")

    def register_model_function(self, record: Any) -> None:
        """Register a model's Redshift FUNCTION(s) (``scores_in_engine``)."""
        raise NotImplementedError(f"{self.name} does not score inside the engine")

    def recover(self) -> None:
        """After a failed statement in autocommit mode: leave no aborted transaction behind (a
        failed COMMIT inside an ML statement), so the next statement runs."""
        return None

    def discard_pending(self) -> None:
        """Drop the rows of a user's statement still pending from :meth:`execute` (the cursor
        that ran it runs another, or is closed), so sqlml's own queries can use the connection."""
        return None

    def interrupt(self) -> None:
        """Stop the running query at the engine's next check; callable from any thread. Engines
        without a way to do so leave it to sqlml's checks between its own steps."""
        return None

    # --- transactions ---------------------------------------------------------------------------

    @abc.abstractmethod
    def begin(self) -> None: ...

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...
