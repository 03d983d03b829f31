"""sqlml's model catalog on Spark: the table ``sqlml.models`` (``sql/catalog_spark.sql``), its
files under the warehouse, re-registered over them by a session whose catalog does not know the
table; and DROP MODEL, which drops a model's partition (Spark's Parquet tables have no DELETE).
Mixed into :class:`~sqlml.backends.spark.backend.SparkBackend`.
"""

from __future__ import annotations

import importlib.resources
import logging

from sqlml.backends.spark.errors import spark_errors, translate_error
from sqlml.errors import DatabaseError, OperationalError

log = logging.getLogger("sqlml")

CATALOG_DATABASE = "sqlml"
CATALOG_NAME = "models"
CATALOG_TABLE = f"{CATALOG_DATABASE}.{CATALOG_NAME}"
#: The catalog's tables: the versions, and the groups of partitioned models.
CATALOG_NAMES = (CATALOG_NAME, "model_groups")


def _statements(sql: str) -> list[str]:
    """A DDL script's statements: split at ``;``, comment lines dropped."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _is_catalog_table(statement: str) -> str | None:
    """The table (``models``, ``model_groups``) that ``statement`` creates, if it is one of
    catalog_spark.sql's CREATE TABLEs."""
    head = " ".join(statement.split()[:6]).lower()
    for name in CATALOG_NAMES:
        if head == f"create table if not exists {CATALOG_DATABASE}.{name}":
            return name
    return None


class SparkCatalog:
    """The catalog's methods of :class:`~sqlml.backends.spark.backend.SparkBackend`."""

    # --- the catalog's files, across sessions ------------------------------------------------------

    def catalog_location(self, table: str = CATALOG_NAME) -> str:
        """Where ``sqlml.models`` (or another catalog ``table``) keeps its files, or would:
        ``<database location>/models``, the database's location being
        ``<spark.sql.warehouse.dir>/sqlml.db`` unless the session's catalog already knows the
        database (a metastore may place it elsewhere)."""
        try:
            if self.spark.catalog.databaseExists(CATALOG_DATABASE):
                base = self.spark.catalog.getDatabase(CATALOG_DATABASE).locationUri
            else:
                warehouse = self.spark.conf.get("spark.sql.warehouse.dir")
                base = f"{warehouse.rstrip('/')}/{CATALOG_DATABASE}.db"
        except spark_errors() as exc:
            raise translate_error(exc) from exc
        return f"{base.rstrip('/')}/{table}"

    def _attach_on_connect(self) -> None:
        """Re-register the catalog when this session does not know ``sqlml.models`` but its
        folder holds files (an earlier session's models). Classic sessions only: their driver
        (here) owns the catalog and reaches the warehouse through Hadoop's FileSystem, as
        Spark's own location check does. A Spark Connect server keeps its catalog for as long as
        it runs; after a restart, the first CREATE MODEL re-registers it (:meth:`run_script`).
        A failure here is a warning, not a failed connect: plain Spark SQL still works, and the
        first CREATE MODEL tries again and raises what is wrong."""
        if self.connect:
            return
        try:
            for table in CATALOG_NAMES:
                if self.table_exists(CATALOG_DATABASE, table):
                    continue
                if not self._holds_files(self.catalog_location(table)):
                    continue  # none yet: the first CREATE MODEL creates it (catalog_spark.sql)
                self.attach_catalog(table=table)
        except DatabaseError as exc:
            log.warning("the sqlml catalog in the warehouse could not be re-registered: %s", exc)

    def _holds_files(self, location: str) -> bool:
        """Whether the folder ``location`` exists and is not empty: what makes Spark refuse a
        managed table there (LOCATION_ALREADY_EXISTS). Classic sessions only (the driver's JVM)."""
        try:
            jvm = self.spark._jvm
            path = jvm.org.apache.hadoop.fs.Path(location)
            fs = path.getFileSystem(self.spark._jsparkSession.sessionState().newHadoopConf())
            return bool(fs.exists(path)) and len(fs.listStatus(path)) > 0
        except spark_errors() as exc:
            raise OperationalError(
                f"Could not read the warehouse folder {location}: {translate_error(exc)}"
            ) from exc

    def attach_catalog(
        self, reason: BaseException | None = None, table: str = CATALOG_NAME
    ) -> None:
        """Register ``sqlml.models`` (or ``table``, another of the catalog's) over the files at
        :meth:`catalog_location` (the catalog an earlier session wrote there) and recover its
        partitions, one per model name.

        The table is EXTERNAL (Spark creates no managed table over existing files); so that
        DROP MODEL still removes a model's files there, :meth:`delete_model` empties the
        partition before dropping it. What a process killed mid-write leaves (``_temporary``,
        ``.spark-staging-*``, an empty ``name=`` folder) is hidden or holds no rows: no model
        appears from it, and every complete one is back. Nothing is written to the warehouse."""
        location = self.catalog_location(table)
        create = next(s for s in _statements(self.catalog_ddl()) if _is_catalog_table(s) == table)
        literal = "'" + location.replace("\\", "\\\\").replace("'", "\\'") + "'"
        try:
            self.execute_params(f"CREATE DATABASE IF NOT EXISTS {CATALOG_DATABASE}")
            self.execute_params(f"{create}\nLOCATION {literal}")
            self.execute_params(f"ALTER TABLE {CATALOG_DATABASE}.{table} RECOVER PARTITIONS")
        except DatabaseError as exc:
            cause = f"{reason} " if reason is not None else ""
            raise OperationalError(
                f"{cause}The warehouse holds a sqlml catalog from an earlier Spark session at "
                f"{location}, which could not be registered again in this session ({exc}). "
                f"Move that folder away, or use another spark.sql.warehouse.dir, or a persistent "
                f"metastore (spark.sql.catalogImplementation=hive, see README 'Spark')."
            ) from exc
        log.info("sqlml catalog re-registered over %s", location)

    # --- the catalog ----------------------------------------------------------------------------------

    def catalog_ddl(self, database: str | None = None) -> str:
        return importlib.resources.files("sqlml._assets").joinpath("catalog_spark.sql").read_text()

    def databases(self) -> tuple[str, list[str]]:
        """The session's current catalog (``spark_catalog`` unless changed), where ``sqlml.models``
        lives, and every catalog the session knows; ``spark_catalog.default.m`` is ``default.m``."""
        try:
            current = self.spark.catalog.currentCatalog()
            known = [c.name for c in self.spark.catalog.listCatalogs()]
        except spark_errors() as exc:
            raise translate_error(exc) from exc
        return current, sorted(set(known) | {current})

    def delete_model(self, table: str, name: str) -> None:
        """Spark's Parquet tables have no DELETE: the catalog is partitioned by name instead, and
        DROP MODEL drops the model's partition. Its files go first, by overwriting it with no
        rows: a table re-attached over an earlier session's files (:meth:`attach_catalog`) is
        EXTERNAL, whose DROP PARTITION keeps them, and a later session would find the model
        again."""
        literal = "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"
        try:
            fields = self.sql(f"SELECT * FROM {table}").schema.fields
        except spark_errors() as exc:
            raise translate_error(exc) from exc
        nulls = ", ".join(
            f"CAST(NULL AS {f.dataType.simpleString()}) AS {self.quote(f.name)}"
            for f in fields
            if f.name != "name"
        )
        self.execute_params(
            f"INSERT OVERWRITE TABLE {table} PARTITION (name = {literal}) SELECT {nulls} WHERE false"
        )
        self.execute_params(f"ALTER TABLE {table} DROP IF EXISTS PARTITION (name = {literal})")
