"""engine='auto': each statement runs where its data is, and EXPLAIN says where, why and what SQL.

A connection with both engines keeps DuckDB (the database file) as the primary engine and the one
model catalog; Spark starts on the first statement routed to it. The rule, decided from the parsed
statement (DuckDB's dialect is the input):

- a statement that reads a DuckDB table or view, writes into the database, or reads nothing runs on
  DuckDB (Spark cannot see DuckDB's tables);
- a statement that reads only files both engines read (``read_parquet('…')``, ``read_csv('…')``,
  ``read_csv_auto``, ``parquet_scan``, ``FROM 'x.parquet'``; globs and lists allowed) runs on Spark
  when the files' total size reaches the threshold (``sqlml.spark_threshold``), else on DuckDB;
- CREATE MODEL routes by its training query, an ML function by its input; the whole statement runs
  on one engine.

On Spark, the statement is transpiled to Spark SQL by sqlglot, each file reference replaced by a
temporary view read with ``spark.read`` (dropped after the statement). Routing is a thin layer
that picks a :class:`~sqlml.core.executor.Executor` per statement; sessions stay engine-agnostic.
"""

from __future__ import annotations

import dataclasses
import glob
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from sqlml.errors import InterfaceError, NotSupportedError, ProgrammingError
from sqlml.plan import (
    DropModelJob,
    ExplainJob,
    ExportModelJob,
    Job,
    MLQuery,
    PassThrough,
    ShowModelJob,
    TrainJob,
    planner,
)
from sqlml.plan import calls as planner_calls
from sqlml.sql import Statement
from sqlml.sql.nodes import CreateModel, MLFunction

if TYPE_CHECKING:
    from sqlml.core.executor import Executor, Result

#: Files at least this large (in total) go to Spark: 1 GiB. Below it DuckDB reads Parquet at
#: several hundred MB/s on one core and trains with scikit-learn in memory, while a Spark job costs
#: seconds before it reads a byte (a session ~10 s to start, ~1-2 s per job on local[2]); around
#: 1 GiB of compressed Parquet (several GiB in memory) is where collecting rows into one process
#: starts to strain a laptop-sized machine and Spark's executors begin to pay off.
DEFAULT_SPARK_THRESHOLD = 1 << 30

EXPLAIN_SCHEMA = pa.schema(
    [("step", pa.string()), ("engine", pa.string()), ("reason", pa.string()), ("sql", pa.string())]
)

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


# --- file references --------------------------------------------------------------------------------

_READERS = {
    "read_parquet": "parquet",
    "parquet_scan": "parquet",
    "read_csv": "csv",
    "read_csv_auto": "csv",
}
_DUCKDB_ONLY_READERS = ("read_json", "read_json_auto", "read_ndjson", "read_text", "read_blob")
_EXTENSIONS = {".parquet": "parquet", ".parq": "parquet", ".csv": "csv"}
_FILE_LIKE = re.compile(r"[/\\*?]|\.(parquet|parq|csv|tsv|json|ndjson|jsonl)(\.\w+)?$", re.I)


@dataclass(frozen=True)
class FileSource:
    """Files a statement reads through a DuckDB file reader or a quoted path in FROM."""

    format: str | None  # "parquet" | "csv"; None when only DuckDB reads them as written
    patterns: tuple[str, ...]
    unsupported: str | None = None  # why Spark cannot read them as written

    def matches(self) -> list[str]:
        """The paths the patterns match (globs expanded, '**' recursive), in order."""
        found: list[str] = []
        for pattern in self.patterns:
            if glob.has_magic(pattern):
                found.extend(sorted(glob.glob(os.path.expanduser(pattern), recursive=True)))
            elif os.path.exists(os.path.expanduser(pattern)):
                found.append(os.path.expanduser(pattern))
        return found

    def reader(self, paths: Sequence[str]) -> str:
        """The Spark call that reads the files, as shown by EXPLAIN."""
        listed = ", ".join(repr(p) for p in paths)
        if self.format == "parquet":
            return f"spark.read.parquet({listed})"
        return f'spark.read.option("header", True).option("inferSchema", True).csv([{listed}])'

    def frame(self, spark: Any, paths: Sequence[str]) -> Any:
        """The files as a Spark DataFrame (header and types inferred for CSV, as DuckDB does)."""
        if self.format == "parquet":
            return spark.read.parquet(*paths)
        return spark.read.option("header", True).option("inferSchema", True).csv(list(paths))


def file_source(table: exp.Expression) -> FileSource | None:
    """The files an ``exp.Table`` reads, or None when it names a table (or a table function)."""
    if not isinstance(table, exp.Table):
        return None
    this = table.this
    if isinstance(this, exp.ReadParquet):
        return _reader_source("read_parquet", this.expressions[:1], this.expressions[1:])
    if isinstance(this, exp.ReadCSV):
        return _reader_source("read_csv", [this.this], this.expressions)
    if isinstance(this, exp.Anonymous):
        name = this.name.lower()
        if name in _READERS:
            return _reader_source(name, this.expressions[:1], this.expressions[1:])
        if name in _DUCKDB_ONLY_READERS:
            return FileSource(None, (), f"{name}() reads files that only DuckDB's route reads")
        return None
    if isinstance(this, exp.Identifier) and this.quoted and not table.args.get("db"):
        name = this.name
        if not _FILE_LIKE.search(name):
            return None
        suffix = os.path.splitext(name.rstrip("*"))[1].lower()
        fmt = _EXTENSIONS.get(suffix)
        why = None if fmt else f"'{name}' is not a Parquet or CSV file by its name"
        return FileSource(fmt, (name,), why)
    return None


def _reader_source(
    name: str, paths: Sequence[exp.Expression], options: Sequence[exp.Expression]
) -> FileSource:
    fmt = _READERS[name]
    node = paths[0] if paths else None
    values = node.expressions if isinstance(node, exp.Array) else [node]
    if node is None or not all(isinstance(v, exp.Literal) and v.is_string for v in values):
        return FileSource(None, (), f"the paths of {name}() are not string literals")
    patterns = tuple(v.name for v in values)
    if options:
        written = ", ".join(o.sql("duckdb") for o in options)
        why = f"{name}() options ({written}) have no Spark translation"
        return FileSource(None, patterns, why)
    return FileSource(fmt, patterns)


def _size(paths: Sequence[str]) -> int:
    total = 0
    for path in paths:
        if os.path.isdir(path):
            for folder, _dirs, files in os.walk(path):
                total += sum(os.stat(os.path.join(folder, f)).st_size for f in files)
        else:
            total += os.stat(path).st_size
    return total


@dataclass
class References:
    """What a statement reads: DuckDB relations by name, and file sources."""

    tables: list[str] = field(default_factory=list)
    files: list[FileSource] = field(default_factory=list)


def references(node: exp.Expression) -> References:
    """Tables and files read by ``node``; CTE names and ML.<FN>'s MODEL argument are not tables."""
    refs = References()
    ctes = {c.alias_or_name.lower() for c in node.find_all(exp.CTE)}
    models = {id(f.args.get("model")) for f in node.find_all(MLFunction)}
    for table in node.find_all(exp.Table):
        if id(table) in models:
            continue
        source = file_source(table)
        if source is not None:
            refs.files.append(source)
        elif isinstance(table.this, exp.Func):
            refs.tables.append(f"{table.this.sql('duckdb').split('(')[0].lower()}()")
        elif table.args.get("db") or table.name.lower() not in ctes:
            name = table.sql("duckdb").split(" AS ")[0]
            if name not in refs.tables:
                refs.tables.append(name)
    return refs


# --- the decision -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """Where a statement runs and why; for Spark, the files it reads (matched paths per source)."""

    engine: str  # "duckdb" | "spark"
    reason: str
    files: tuple[tuple[FileSource, tuple[str, ...]], ...] = ()


def route_query(node: exp.Expression, threshold: int) -> Route:
    """The engine for a query by what it reads (see the module docstring)."""
    refs = references(node)
    if refs.tables:
        named = [f"table function {t}" if t.endswith("()") else f"table {t}" for t in refs.tables]
        reason = f"reads DuckDB {', '.join(named)}"
        if refs.files:
            reason += (
                " as well as files; a statement runs on one engine, and only DuckDB reads both"
            )
        return Route("duckdb", reason)
    if not refs.files:
        return Route("duckdb", "reads no table or file")
    for source in refs.files:
        if source.unsupported:
            return Route("duckdb", source.unsupported)
        remote = [p for p in source.patterns if "://" in p]
        if remote:
            return Route("duckdb", f"the size of {remote[0]} is not known here (not a local path)")
    matched = [(s, tuple(s.matches())) for s in refs.files]
    for source, paths in matched:
        if not paths:
            return Route("duckdb", f"no file matches {source.patterns[0]!r}")
    size = sum(_size(paths) for _, paths in matched)
    count = sum(len(paths) for _, paths in matched)
    kinds = " and ".join(
        sorted({"Parquet" if s.format == "parquet" else "CSV" for s in refs.files})
    )
    what = f"reads {count} {kinds} file{'s' if count != 1 else ''} of {format_size(size)}"
    limit = f"the threshold of {format_size(threshold)} (sqlml.spark_threshold)"
    if size >= threshold:
        return Route("spark", f"{what}, at or above {limit}", tuple(matched))
    return Route("duckdb", f"{what}, below {limit}")


def route_statement(statement: Statement, job: Job, threshold: int) -> Route:
    """The engine for one statement of an auto connection (``job`` is its DuckDB plan)."""
    if isinstance(job, (DropModelJob, ExportModelJob, ShowModelJob)):
        return Route("duckdb", "works on the model catalog, sqlml.models in the DuckDB database")
    node = statement.node if statement.node is not None else parse(statement.sql)
    if node is None:
        return Route("duckdb", "not a statement sqlml reads; DuckDB runs it as written")
    if isinstance(node, CreateModel):
        return _route_training(node, job, threshold)
    if isinstance(node, (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create)):
        target = node.this.find(exp.Table) if node.this is not None else None
        what = node.args.get("kind", "table") if isinstance(node, exp.Create) else "table"
        name = target.sql("duckdb") if target is not None else ""
        return Route("duckdb", f"writes DuckDB {str(what).lower()} {name}".rstrip())
    if not isinstance(node, exp.Query):
        return Route("duckdb", "not a query; DuckDB runs it as written")
    return route_query(node, threshold)


def _route_training(node: CreateModel, job: Job, threshold: int) -> Route:
    query = node.args.get("query")
    if query is None or not isinstance(job, TrainJob):
        return Route("duckdb", "imports an ONNX file: there is no training query")
    forced = str(job.options.get("engine") or "").lower()
    if isinstance(query, exp.Table):
        query = exp.select("*").from_(query.copy())
    found = route_query(query, threshold)
    if job.transform is not None and found.engine == "spark" and forced != "spark":
        return Route("duckdb", found.reason + "; but TRANSFORM is not yet supported on Spark")
    if forced == "duckdb" and found.engine == "spark":
        return Route("duckdb", "OPTIONS (engine = 'duckdb') of CREATE MODEL; " + found.reason)
    if forced == "spark" and found.engine == "duckdb":
        spark = route_query(query, 0)
        if spark.engine != "spark":
            raise NotSupportedError(
                f"OPTIONS (engine = 'spark') of CREATE MODEL {job.name}: the training query "
                f"cannot run on Spark ({spark.reason}); Spark reads Parquet and CSV files only. "
                f"Remove the option to train on DuckDB."
            )
        return dataclasses.replace(
            spark, reason="OPTIONS (engine = 'spark') of CREATE MODEL; " + spark.reason
        )
    return found


def parse(sql: str, read: str = "duckdb") -> exp.Expression | None:
    """A statement sqlml does not handle itself, parsed to see what it reads (None: unparsable)."""
    try:
        node = sqlglot.parse_one(sql, read=read)
    except SqlglotError:
        return None
    return None if isinstance(node, exp.Command) else node


# --- Spark SQL ----------------------------------------------------------------------------------------


def spark_tree(node: exp.Expression, views: dict[tuple[Any, ...], str]) -> exp.Expression:
    """A copy of ``node`` with each file source replaced by its temporary view, and the text
    of every query forgotten (plan() would otherwise reuse the DuckDB text as written)."""

    def swap(item: exp.Expression) -> exp.Expression:
        source = file_source(item)
        if source is None:
            return item
        table = exp.Table(this=exp.to_identifier(views[_key(source)], quoted=True))
        alias = item.args.get("alias")
        if alias is not None:
            table.set("alias", alias.copy())
        return table

    tree = node.transform(swap)
    for item in tree.walk():
        item.meta.pop("sql", None)
    return tree


def _key(source: FileSource) -> tuple[Any, ...]:
    return (source.format, source.patterns)


_SPARK_HINT = (
    "This statement reads files large enough for Spark (sqlml.spark_threshold), but sqlglot "
    "cannot write it in Spark SQL: {exc}. Rewrite it, or raise the threshold "
    "(SET sqlml.spark_threshold = '…') to run it on DuckDB."
)


def write_sql(node: exp.Expression, dialect: str, hint: str) -> str:
    """``node`` written in ``dialect``; what sqlglot cannot translate is an error, not a guess
    (``hint`` is the message, with ``{exc}`` for sqlglot's reason)."""
    try:
        return node.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise NotSupportedError(hint.format(exc=exc)) from exc


def spark_sql(node: exp.Expression) -> str:
    """``node`` written in Spark SQL, for a statement routed to Spark."""
    return write_sql(node, "spark", _SPARK_HINT)


def spark_job(statement: Statement, job: Job, route: Route) -> tuple[Job, dict[str, Any]]:
    """``job`` as it runs on Spark, with the temporary views it needs (name -> (source, paths))."""
    views: dict[tuple[Any, ...], str] = {}
    named: dict[str, Any] = {}
    for index, (source, paths) in enumerate(route.files, start=1):
        if _key(source) not in views:
            views[_key(source)] = f"__sqlml_file_{index}"
            named[views[_key(source)]] = (source, paths)
    node = statement.node if statement.node is not None else parse(statement.sql)
    assert node is not None
    return _rewritten(spark_tree(node, views), job, "spark", _SPARK_HINT), named


def transpile_job(statement: Statement, job: Job, read: str, write: str) -> Job:
    """``job`` (planned from ``statement``, written in the ``read`` dialect) with its SQL in the
    engine's ``write`` dialect: ``connect(dialect=...)`` on an engine of another dialect."""
    if not isinstance(job, (TrainJob, MLQuery, PassThrough)):
        return job  # DROP / EXPORT / SHOW MODEL, EXPLAIN: no engine SQL of the user's
    if isinstance(job, MLQuery) and job.placeholders:
        raise NotSupportedError(
            f"Parameters in a statement with an ML call are not yet supported when the "
            f"connection's dialect ({read}) differs from the engine's ({write}); put the values "
            f"in the statement, or connect without dialect=."
        )
    node = statement.node if statement.node is not None else parse(statement.sql, read)
    if node is None:
        raise NotSupportedError(
            f"sqlglot cannot read this statement as {read} SQL, so sqlml cannot write it in "
            f"{write} SQL; write it in {write} SQL and connect without dialect=."
        )
    tree = spark_tree(node, {})
    hint = (
        f"sqlglot cannot write this {read} statement in {write} SQL: {{exc}}. Write it in "
        f"{write} SQL and connect without dialect=."
    )
    return _rewritten(tree, job, write, hint)


def _rewritten(tree: exp.Expression, job: Job, dialect: str, hint: str) -> Job:
    if isinstance(job, TrainJob):
        query = tree.args.get("query")
        if query is None:  # model_type = 'onnx': an import, no training query
            return job
        query = exp.select("*").from_(query) if isinstance(query, exp.Table) else query
        return dataclasses.replace(job, query_sql=write_sql(query, dialect, hint))
    if isinstance(job, MLQuery):
        return _ml_query(tree, dialect, hint)
    return PassThrough(write_sql(tree, dialect, hint))


def _ml_query(tree: exp.Expression, dialect: str, hint: str) -> MLQuery:
    functions = sorted(tree.find_all(MLFunction), key=lambda f: f.meta["span"][0])
    calls = [planner_calls.plan_call(f, dialect) for f in functions]
    bare = planner_calls.is_bare(tree)
    for index, function in enumerate(functions):
        stand_in = exp.Table(this=exp.to_identifier(f"__sqlml_call_{index}"))
        alias = function.args.get("alias")
        if alias is not None:
            stand_in.set("alias", alias.copy())
        function.replace(stand_in)
    sql = write_sql(tree, dialect, hint)
    spans = {int(m.group(1)): m.span() for m in re.finditer(r"[`\"]?__sqlml_call_(\d+)[`\"]?", sql)}
    placed = tuple(dataclasses.replace(c, span=spans[i]) for i, c in enumerate(calls))
    return MLQuery(sql, placed, (), bare)


# --- running a statement --------------------------------------------------------------------------


@dataclass
class Dispatch:
    """One statement, placed: the executor that runs it, its job there, and why."""

    executor: Any
    job: Any
    engine: str
    reason: str
    views: dict[str, Any] = field(default_factory=dict)  # Spark views: name -> (source, paths)
    table: pa.Table | None = None  # EXPLAIN's rows, answered without running anything
    status: str | None = None  # a setting sqlml took itself (SET sqlml.…)
    after: Callable[[], None] | None = None

    def run(self, params: Any) -> Result:
        from sqlml.core.executor import Result

        if self.status is not None:
            return Result(has_result=False, status=self.status)
        if self.table is not None:
            return self.executor._result_table(self.table)
        backend = self.executor.backend
        for name, (source, paths) in self.views.items():
            backend.register_arrow(name, _spark_frame(backend, source, paths))
        try:
            outcome = self.executor.run(self.job, params)
        finally:
            for name in self.views:
                backend.unregister_arrow(name)
        if self.after is not None:
            self.after()
        return outcome


def _spark_frame(backend: Any, source: FileSource, paths: Sequence[str]) -> Any:
    from sqlml.backends.spark.backend import spark_errors, translate_error

    try:
        return source.frame(backend.spark, paths)
    except spark_errors() as exc:
        raise translate_error(exc) from exc


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


class Router:
    """The auto connection's choice of engine per statement; Spark starts on first use."""

    def __init__(
        self,
        duck: Executor,
        start_spark: Callable[[], Any],
        threshold: int,
        local_training_rows: int,
        location: str,
    ) -> None:
        self.duck = duck
        self._start_spark = start_spark
        self._spark: Executor | None = None
        self.threshold = threshold
        self.local_training_rows = local_training_rows
        self.location = location

    @property
    def spark_started(self) -> bool:
        return self._spark is not None

    @property
    def spark(self) -> Executor:
        """The Spark session, started now if this is its first statement; models through the
        DuckDB catalog, so both engines see the same models."""
        if self._spark is None:
            from sqlml.core.executor import Executor

            backend = self._start_spark()
            try:
                self._spark = Executor(backend, catalog=self.duck.catalog)
            except BaseException:
                backend.close()
                raise
        return self._spark

    def dispatch(self, statement: Statement, params: Any) -> Dispatch:
        setting = threshold_setting(statement.sql)
        if setting is not None:
            verb, value = setting
            self.threshold = DEFAULT_SPARK_THRESHOLD if verb == "RESET" else setting_value(value)
            return Dispatch(self.duck, None, "duckdb", "sqlml setting", status=verb)
        job = planner.plan(statement, "duckdb")
        if isinstance(job, ExplainJob):
            table = self.explain(job)
            return Dispatch(self.duck, job, "duckdb", "EXPLAIN: the plan only", table=table)
        if statement.node is None and _first_word(statement.sql) == "EXPLAIN":
            return self._plain_explain(statement)
        route = self.route(statement, job, params)
        if route.engine == "duckdb":
            return Dispatch(self.duck, job, "duckdb", route.reason, after=self._sync(job, "duckdb"))
        spark_job_, views = spark_job(statement, job, route)
        return Dispatch(
            self.spark, spark_job_, "spark", route.reason, views, after=self._sync(job, "spark")
        )

    def route(self, statement: Statement, job: Job, params: Any) -> Route:
        found = route_statement(statement, job, self.threshold)
        if found.engine == "spark" and params and statement.ml_functions:
            return Route(
                "duckdb",
                found.reason + "; but the statement has parameters, which sqlml binds on Spark "
                "only in statements without ML calls",
            )
        if found.engine == "spark" and isinstance(job, MLQuery):
            for call in job.calls:
                record = self.duck.catalog.find(call.model)
                if record is not None and record.spec.get("transform_sql"):
                    return Route(
                        "duckdb",
                        f"{found.reason}; but model {record.name}'s TRANSFORM computes columns "
                        "in SQL, which is not yet supported on Spark",
                    )
        return found

    def _sync(self, job: Job, engine: str) -> Callable[[], None] | None:
        """After CREATE / DROP MODEL on one engine, the other's Redshift functions follow."""
        if not isinstance(job, (TrainJob, DropModelJob)):
            return None

        def refresh() -> None:
            other = self.duck if engine == "spark" else self._spark
            if other is not None:
                other.register_model_functions()

        return refresh

    def _plain_explain(self, statement: Statement) -> Dispatch:
        """EXPLAIN of a statement without ML calls: the chosen engine's own EXPLAIN."""
        match = re.match(r"\s*EXPLAIN\s+(ANALYZE\s+)?", statement.sql, re.I)
        assert match is not None
        body = Statement(statement.sql[match.end() :], statement.line, statement.col)
        job = PassThrough(body.sql)
        route = route_statement(body, job, self.threshold)
        if route.engine == "duckdb":
            return Dispatch(self.duck, PassThrough(statement.sql), "duckdb", route.reason)
        if match.group(1):
            raise NotSupportedError(
                f"EXPLAIN ANALYZE of this statement would run on Spark ({route.reason}), which "
                f"has no EXPLAIN ANALYZE; use EXPLAIN, or raise sqlml.spark_threshold."
            )
        inner, views = spark_job(body, job, route)
        assert isinstance(inner, PassThrough)
        return Dispatch(
            self.spark, PassThrough("EXPLAIN " + inner.sql), "spark", route.reason, views
        )

    def explain(self, job: ExplainJob) -> pa.Table:
        """EXPLAIN <ML statement>: the placement of each step; nothing runs, Spark stays off."""
        route = self.route(job.statement, job.job, None)
        inner, views = job.job, {}
        if route.engine == "spark":
            inner, views = spark_job(job.statement, job.job, route)
        rows = [
            (
                "file source",
                "spark",
                f"read as temporary view {name}, dropped after the statement",
                source.reader(paths),
            )
            for name, (source, paths) in views.items()
        ]
        place = Placement(
            route.engine,
            route.reason,
            self.local_training_rows if route.engine == "spark" else None,
            "duckdb",
            f"sqlml.models in the DuckDB database {self.location}, which both engines read",
        )
        rows += explain_steps(inner, place, self.duck)
        return explain_table(rows)

    def interrupt(self) -> None:
        if self._spark is not None:
            self._spark.backend.interrupt()

    def close(self) -> None:
        if self._spark is not None:
            self._spark.backend.close()
            self._spark = None


def _first_word(sql: str) -> str:
    match = re.match(r"\s*([A-Za-z]+)", sql)
    return match.group(1).upper() if match else ""


# --- EXPLAIN ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """What EXPLAIN needs to describe a job: its engine and why, and where models are kept."""

    engine: str
    reason: str
    local_training_rows: int | None  # Spark's limit for collected training (None: not Spark)
    catalog_engine: str
    catalog: str


def explain_only_engine(session: Executor, job: ExplainJob) -> pa.Table:
    """EXPLAIN on a connection with one engine: every step runs there."""
    backend = session.backend
    where = (
        "sqlml.models in the Spark session's catalog"
        if backend.name == "spark"
        else "sqlml.models in the DuckDB database"
    )
    place = Placement(
        backend.name,
        "the connection's only engine",
        getattr(backend, "local_training_rows", None),
        session.catalog.backend.name,
        where,
    )
    return explain_table(explain_steps(job.job, place, session))


def explain_table(rows: list[tuple[str, str, str, str | None]]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return pa.Table.from_arrays(
        [pa.array(list(c), pa.string()) for c in columns], schema=EXPLAIN_SCHEMA
    )


def explain_steps(job: Job, place: Placement, session: Executor) -> list[tuple[Any, ...]]:
    """One row per step of ``job`` as it will run: (step, engine, reason, sql)."""
    if isinstance(job, TrainJob):
        return _explain_training(job, place, session)
    if isinstance(job, MLQuery):
        return _explain_ml_query(job, place)
    if isinstance(job, PassThrough):
        return [("statement", place.engine, place.reason, job.sql)]
    what = {
        DropModelJob: "deletes every version of the model from",
        ExportModelJob: "reads the model's ONNX bytes from",
        ShowModelJob: "reads",
    }[type(job)]
    return [("catalog", place.catalog_engine, f"{what} {place.catalog}", None)]


def _explain_training(job: TrainJob, place: Placement, session: Executor) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    if job.query_sql:
        rows.append(("training query", place.engine, place.reason, job.query_sql))
        rows.append(("training", place.engine, _training_path(job, place), None))
    else:
        path = job.options.get("model_path")
        rows.append(
            ("import", place.catalog_engine, f"reads and checks the ONNX file {path!r}", None)
        )
    version = session.catalog.next_version(job.name)
    stored = f"model {job.name} is stored as version {version} in {place.catalog}"
    if job.if_not_exists:
        stored += " (skipped if the model exists: IF NOT EXISTS)"
    insert = f"INSERT INTO sqlml.models ({', '.join(_catalog_columns())}) VALUES (…)"
    rows.append(("catalog", place.catalog_engine, stored, insert))
    return rows


def _catalog_columns() -> tuple[str, ...]:
    from sqlml.catalog import COLUMNS

    return COLUMNS


def _training_path(job: TrainJob, place: Placement) -> str:
    forced = str(job.options.get("engine") or "").lower()
    if place.local_training_rows is None:  # DuckDB
        if forced == "spark":
            return (
                "fails: OPTIONS (engine = 'spark') needs a connection with Spark "
                "(sqlml.connect(database, spark_master=...))"
            )
        return "scikit-learn on the rows read into this process"
    from sqlml.models.registry import MODEL_TYPES

    entry = MODEL_TYPES.get(str(job.options.get("model_type") or "").lower())
    # Types without an MLlib estimator (pca, dnn_regressor): numpy jobs on the executors compute
    # them (sqlml.backends.spark.training); the rest are Spark MLlib estimators.
    executors = (
        "numpy on the executors (statistics / L-BFGS gradients as Spark jobs)"
        if entry is not None and entry.spark is not None and entry.spark.path == "numpy"
        else "Spark MLlib on the executors"
    )
    if forced == "spark":
        return f"{executors} (OPTIONS engine = 'spark')"
    if forced == "duckdb":
        return "scikit-learn on the rows collected to the driver (OPTIONS engine = 'duckdb')"
    return (
        f"{executors} when the query has more than local_training_rows rows "
        f"({place.local_training_rows:,}), else scikit-learn on the collected rows"
    )


def _explain_ml_query(job: MLQuery, place: Placement) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    quote = (lambda n: f"`{n}`") if place.engine == "spark" else (lambda n: f'"{n}"')
    pieces = []
    for index, call in enumerate(job.calls, start=1):
        step = f"ML.{call.function}(MODEL {call.model})"
        if call.input_sql is None:
            rows.append((step, place.catalog_engine, "reads the model only: no input rows", None))
        else:
            how = (
                "scored on the executors (mapInArrow, ONNX Runtime)"
                if place.engine == "spark" and call.function == "PREDICT"
                else "read as Arrow batches through ONNX Runtime in this process"
            )
            rows.append((f"{step} input", place.engine, f"{place.reason}; {how}", call.input_sql))
        pieces.append((call.span, quote(f"__sqlml_{call.function.lower()}_{index}")))
    sql = job.sql
    for (start, end), name in sorted(pieces, reverse=True):
        sql = sql[:start] + name + sql[end:]
    reason = "the ML calls' results are read as temporary " + (
        "views" if place.engine == "spark" else "Arrow sources"
    )
    if job.bare:
        reason = "the ML call's rows are the result as they are (no further SQL runs)"
    rows.append(("statement", place.engine, reason, sql))
    return rows
