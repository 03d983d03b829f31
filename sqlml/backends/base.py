"""The engine interface: the few things sqlml needs from a database to train and score next to data.

Kept small on purpose (ibis-style): SQL in, Arrow out; a stream of record batches for scoring; named
Arrow sources the engine's SQL can read from; scalar functions; transactions. Optional abilities are
capability flags, so callers never branch on the engine's name.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa


class Backend(abc.ABC):
    """One engine connection as sqlml sees it."""

    name: str = "base"
    #: The engine can run a Python function over Arrow batches as a SQL scalar function.
    supports_scalar_udfs: bool = False

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
    def table_exists(self, schema: str, table: str) -> bool: ...

    @abc.abstractmethod
    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """A query's whole result as an Arrow table (training and evaluation data)."""

    @abc.abstractmethod
    def stream(
        self, sql: str, params: Sequence[Any] | None = None, batch_size: int = 122_880
    ) -> pa.RecordBatchReader:
        """A query's result as a stream of record batches, with bounded memory where possible."""

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

    # --- transactions ---------------------------------------------------------------------------

    @abc.abstractmethod
    def begin(self) -> None: ...

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...
