"""A folder of model files -> nodes in a dependency graph, as dbt reads a project.

Each ``.sql`` file is one node named after the file; each ``.csv`` file in a seed folder is a seed
(loaded as a table). Files are Jinja templates with dbt's functions: ``ref``, ``source``, ``config``,
``var``, ``env_var`` and ``this``. They are rendered twice: the first pass collects every file's
``config()`` and ``ref()``s, so the second can render each ``ref()`` as the final name of its target
(which its own config may change with ``alias`` or ``schema``). Jinja runs sandboxed and strict: an
unknown name is an error, never an empty string.
"""

from __future__ import annotations

import difflib
import graphlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlml.errors import Error, ProgrammingError
from sqlml.project.sqltext import check_model_name, qualified, quote_identifier, sql_literal

PROJECT_FILES = ("sqlml_project.yml", "sqlml_project.yaml", "dbt_project.yml", "dbt_project.yaml")
# What a file's config(materialized=...) may say, and the kind of node it makes. The sqlml_* names
# are the dbt materializations' (sqlml.dbt), so one project runs under both tools.
MATERIALIZATIONS = {
    "view": "view",
    "table": "table",
    "model": "model",
    "sqlml_table": "table",
    "sqlml_model": "model",
}
DEFAULT_MATERIALIZATION = "view"  # as in dbt
# config() keys the runner understands on every node; dbt's descriptive keys are accepted and unused.
RUNNER_KEYS = frozenset(
    {"materialized", "schema", "alias", "enabled", "options", "tags", "meta", "docs", "description"}
)
QUERY_KEYWORDS = frozenset({"SELECT", "WITH", "FROM", "VALUES", "TABLE", "PIVOT", "UNPIVOT"})
# Folders that hold dbt's or the user's artefacts, never model files.
SKIPPED_DIRS = frozenset({"target", "dbt_packages", "logs", "node_modules", "__pycache__"})
_MISSING = object()


class ProjectError(ProgrammingError):
    """A project that cannot run: a missing ref, a cycle, a bad config or template."""


@dataclass(frozen=True)
class Relation:
    """What ``ref()``, ``source()`` and ``this`` render to: a quoted, possibly qualified name.

    The attribute names are dbt's, so ``{{ ref('churn').identifier }}`` means the same in both tools.
    """

    identifier: str
    schema: str | None = None
    database: str | None = None

    @property
    def name(self) -> str:
        return self.identifier

    def render(self) -> str:
        return qualified(self.database, self.schema, self.identifier)

    def __str__(self) -> str:
        return self.render()


@dataclass
class Node:
    """One model file or seed, rendered."""

    name: str
    path: Path
    kind: str  # seed | view | table | model | script
    sql: str = ""
    refs: tuple[str, ...] = ()
    sources: tuple[Relation, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)
    relation: Relation = Relation("")
    has_ml_functions: bool = False

    @property
    def key(self) -> str:
        return self.name.lower()

    @property
    def model_name(self) -> str:
        """The catalog name of a ``model`` node: ``name`` or ``schema.name``."""
        relation = self.relation
        name = (
            f"{relation.schema}.{relation.identifier}" if relation.schema else relation.identifier
        )
        return check_model_name(name)


@dataclass
class Project:
    root: Path
    nodes: dict[str, Node]  # by lower-cased name, in topological order
    vars: dict[str, Any]
    settings: dict[str, Any]
    parents: dict[str, set[str]]

    def node(self, name: str) -> Node:
        key = name.lower()
        if key not in self.nodes:
            raise ProjectError(
                f"No model or seed named {name!r} in {self.root}.{_hint(name, self)}"
            )
        return self.nodes[key]

    def children(self) -> dict[str, set[str]]:
        result: dict[str, set[str]] = {key: set() for key in self.nodes}
        for key, parents in self.parents.items():
            for parent in parents:
                result[parent].add(key)
        return result

    def select(self, selectors: Iterable[str] | None = None) -> list[Node]:
        """The nodes the selectors pick, in build order (dbt's syntax: ``name``, ``name+``, ``+name``).

        ``name+`` adds everything built from ``name``; ``+name`` everything ``name`` is built from.
        Several selectors are a union. No selector selects the whole project.
        """
        selectors = list(selectors or [])
        if not selectors:
            return list(self.nodes.values())
        children = self.children()
        chosen: set[str] = set()
        for selector in selectors:
            text = selector.strip()
            name = text.strip("+")
            if not name:
                raise ProjectError(f"Empty selector {selector!r}: write name, name+ or +name.")
            key = self.node(name).key
            chosen.add(key)
            if text.startswith("+"):
                chosen |= _closure(key, self.parents)
            if text.endswith("+"):
                chosen |= _closure(key, children)
        return [node for key, node in self.nodes.items() if key in chosen]


def _closure(start: str, edges: Mapping[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _hint(name: str, project: Project) -> str:
    names = [node.name for node in project.nodes.values()]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return f" Did you mean {close[0]!r}?"
    return f" It has: {', '.join(sorted(names))}." if names else ""


# --- settings -----------------------------------------------------------------------------------


def read_settings(root: Path) -> tuple[dict[str, Any], Path | None]:
    """The project file (sqlml_project.yml, else dbt_project.yml) as a mapping, and its path."""
    import yaml

    for name in PROJECT_FILES:
        path = root / name
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise ProjectError(f"{path} is not valid YAML: {exc}") from None
            if not isinstance(data, dict):
                raise ProjectError(f"{path} must be a YAML mapping (key: value lines).")
            return data, path
    return {}, None


def _paths(root: Path, settings: dict[str, Any], key: str, default: str) -> list[Path]:
    value = settings.get(key)
    if value is None:
        return [root / default] if (root / default).is_dir() else []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProjectError(f"'{key}' in the project file must be a list of folders; got {value!r}.")
    paths = [root / v for v in value]
    for path in paths:
        if not path.is_dir():
            raise ProjectError(f"'{key}' names {path}, which is not a folder.")
    return paths


def _files(folders: list[Path], suffix: str, exclude: list[Path]) -> list[Path]:
    found: list[Path] = []
    for folder in folders:
        for path in sorted(folder.rglob(f"*{suffix}")):
            relative = path.relative_to(folder).parts[:-1]
            if any(p.startswith(".") or p in SKIPPED_DIRS for p in relative):
                continue
            if any(path.is_relative_to(e) for e in exclude):
                continue
            if path.is_file():
                found.append(path)
    return found


# --- rendering ----------------------------------------------------------------------------------


class _Config:
    """``config(...)`` records keys; ``config.get(key)`` reads them back (as dbt's does)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        if args:
            if len(args) != 1 or not isinstance(args[0], Mapping):
                raise ProjectError(
                    "config() takes keyword arguments, as in config(materialized=…)."
                )
            kwargs = {**args[0], **kwargs}
        for key, value in kwargs.items():
            self.values[str(key).lower()] = value
        return ""

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key.lower(), default)


class _Renderer:
    """Renders one file; collects what its template calls."""

    def __init__(
        self,
        loader: _Loader,
        path: Path,
        name: str,
        relations: Mapping[str, Relation] | None,
    ) -> None:
        self.loader = loader
        self.path = path
        self.name = name
        self.relations = relations  # None in the first pass
        self.refs: list[str] = []
        self.sources: list[Relation] = []
        self.config: dict[str, Any] = {}
        self.sql = ""

    def ref(self, *args: str, **kwargs: Any) -> Relation:
        if not args or len(args) > 2 or not all(isinstance(a, str) for a in args):
            raise ProjectError("ref() takes a model name, as in ref('customers').")
        target = args[-1]  # ref('package', 'name'): one project here, so the package is ignored
        self.refs.append(target)
        if self.relations is None:
            return Relation(target)
        return self.relations[target.lower()]

    def source(self, source_name: str, table_name: str) -> Relation:
        if not isinstance(source_name, str) or not isinstance(table_name, str):
            raise ProjectError("source() takes two names, as in source('raw', 'customers').")
        relation = self.loader.source_relation(source_name, table_name)
        self.sources.append(relation)
        return relation

    def var(self, name: str, default: Any = _MISSING) -> Any:
        values = self.loader.vars
        if name in values:
            return values[name]
        if default is not _MISSING:
            return default
        raise ProjectError(
            f"var({name!r}) has no value and no default: pass --vars '{{\"{name}\": ...}}' or set "
            f"it under vars: in the project file."
        )

    @staticmethod
    def env_var(name: str, default: Any = _MISSING) -> Any:
        if name in os.environ:
            return os.environ[name]
        if default is not _MISSING:
            return default
        raise ProjectError(f"env_var({name!r}): the environment variable is not set.")

    def render(self, template_text: str) -> str:
        import jinja2

        config = _Config(self.config)
        this = self.relations[self.name.lower()] if self.relations else Relation(self.name)
        try:
            template = self.loader.env.from_string(template_text)
            return template.render(
                ref=self.ref,
                source=self.source,
                config=config,
                var=self.var,
                env_var=self.env_var,
                this=this,
            )
        except jinja2.TemplateSyntaxError as exc:
            raise ProjectError(f"{self.where} line {exc.lineno}: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise ProjectError(
                f"{self.where} {exc.message} (templates can use ref, source, config, var, "
                f"env_var and this)."
            ) from None
        except jinja2.exceptions.SecurityError as exc:
            raise ProjectError(f"{self.where} {exc}") from None
        except Error as exc:
            raise type(exc)(f"{self.where} {exc}") from None

    @property
    def where(self) -> str:
        return f"{self.loader.display(self.path)}:"


class _Loader:
    def __init__(self, root: Path, vars: Mapping[str, Any] | None) -> None:
        import jinja2.sandbox

        self.root = root
        self.settings, self.settings_path = read_settings(root)
        project_vars = self.settings.get("vars") or {}
        if not isinstance(project_vars, dict):
            raise ProjectError(f"vars: in {self.settings_path} must be a mapping.")
        self.vars = {**project_vars, **dict(vars or {})}
        self.env = jinja2.sandbox.SandboxedEnvironment(
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
        )
        self.env.filters["literal"] = sql_literal
        self.env.filters["identifier"] = quote_identifier

    def display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def source_relation(self, source_name: str, table_name: str) -> Relation:
        """``source('raw', 'customers')`` is the table ``raw.customers`` (dbt's default schema rule)."""
        return Relation(table_name, schema=source_name)

    def load(self) -> Project:
        seed_dirs = _paths(self.root, self.settings, "seed-paths", "seeds")
        model_dirs = _paths(self.root, self.settings, "model-paths", "models") or [self.root]
        sql_files = _files(model_dirs, ".sql", exclude=seed_dirs)
        seed_files = _files(seed_dirs, ".csv", exclude=[])
        if not sql_files and not seed_files:
            where = ", ".join(self.display(d) or "." for d in model_dirs)
            raise ProjectError(f"No .sql model files found in {where} (project {self.root}).")
        self._check_unique(sql_files + seed_files)
        templates = {p.stem.lower(): p.read_text(encoding="utf-8") for p in sql_files}
        # pass 1: config and refs, with placeholder relations
        first = {p.stem.lower(): self._render(p, templates, None) for p in sql_files}
        configs = {key: renderer.config for key, renderer in first.items()}
        for key in [k for k, c in configs.items() if c.get("enabled") is False]:
            del configs[key], templates[key]
        relations = {p.stem.lower(): Relation(p.stem) for p in seed_files}
        paths = {p.stem.lower(): p for p in sql_files + seed_files}
        for key, config in configs.items():
            relations[key] = self._relation(paths[key], config)
        self._check_refs(first, relations, paths)
        nodes: dict[str, Node] = {}
        for path in seed_files:
            nodes[path.stem.lower()] = Node(
                path.stem, path, "seed", relation=relations[path.stem.lower()]
            )
        for key in configs:
            nodes[key] = self._node(paths[key], self._render(paths[key], templates, relations))
        parents = {key: {r.lower() for r in node.refs} for key, node in nodes.items()}
        order = self._order(parents, nodes)
        return Project(
            self.root, {key: nodes[key] for key in order}, self.vars, self.settings, parents
        )

    def _render(
        self, path: Path, templates: dict[str, str], relations: Mapping[str, Relation] | None
    ) -> _Renderer:
        renderer = _Renderer(self, path, path.stem, relations)
        renderer.sql = renderer.render(templates[path.stem.lower()])
        return renderer

    def _relation(self, path: Path, config: dict[str, Any]) -> Relation:
        alias = config.get("alias") or path.stem
        schema = config.get("schema")
        for key, value in (("alias", alias), ("schema", schema)):
            if value is not None and not isinstance(value, str):
                raise ProjectError(f"{self.display(path)}: config({key}=...) must be a string.")
        return Relation(alias, schema=schema)

    def _check_unique(self, files: list[Path]) -> None:
        seen: dict[str, Path] = {}
        for path in files:
            key = path.stem.lower()
            if key in seen:
                raise ProjectError(
                    f"Two files define {path.stem!r}: {self.display(seen[key])} and "
                    f"{self.display(path)}; names are case-insensitive and must be unique."
                )
            seen[key] = path

    def _check_refs(
        self,
        renderers: dict[str, _Renderer],
        relations: Mapping[str, Relation],
        paths: Mapping[str, Path],
    ) -> None:
        known = sorted({paths[k].stem for k in relations})
        for key, renderer in renderers.items():
            if key not in relations:
                continue  # disabled
            for target in renderer.refs:
                if target.lower() in relations:
                    continue
                if target.lower() in renderers:
                    raise ProjectError(
                        f"{self.display(renderer.path)}: ref({target!r}) names a disabled model "
                        f"(config(enabled=false)); enable it or remove the ref()."
                    )
                close = difflib.get_close_matches(target, known, n=1, cutoff=0.6)
                hint = f" Did you mean {close[0]!r}?" if close else f" It has: {', '.join(known)}."
                raise ProjectError(
                    f"{self.display(renderer.path)}: ref({target!r}) names no model file or seed "
                    f"in this project.{hint}"
                )

    def _node(self, path: Path, renderer: _Renderer) -> Node:
        from sqlml.dbapi import first_keyword
        from sqlml.sql import split_statements

        config = renderer.config
        where = self.display(path)
        try:
            statements = split_statements(renderer.sql)
        except Error as exc:
            raise type(exc)(f"{where}: {exc}") from None
        if not statements:
            raise ProjectError(f"{where} holds no SQL statement; add a SELECT or delete the file.")
        is_query = len(statements) == 1 and first_keyword(statements[0].sql) in QUERY_KEYWORDS
        materialized = config.get("materialized")
        if not is_query:
            if materialized is not None:
                first = first_keyword(statements[0].sql) or "?"
                raise ProjectError(
                    f"{where} sets materialized={materialized!r} but holds {len(statements)} "
                    f"statement(s) starting with {first}, not one SELECT. Make it a single query, "
                    f"or drop materialized to run the file as a script."
                )
            kind, sql = "script", renderer.sql
        else:
            kind = self._kind(where, materialized)
            sql = statements[0].sql
        has_ml = any(s.ml_functions for s in statements)
        self._check_config(where, kind, config)
        if kind == "view" and has_ml:
            raise ProjectError(
                f"{where} calls an ML function (ML.PREDICT, ML.EVALUATE, ...) but is materialized "
                f"as a view; a DuckDB view cannot hold an ML call. Set "
                f"config(materialized='table') to store its rows."
            )
        node = Node(
            name=path.stem,
            path=path,
            kind=kind,
            sql=sql,
            refs=tuple(dict.fromkeys(renderer.refs)),
            sources=tuple(dict.fromkeys(renderer.sources)),
            config=dict(config),
            relation=self._relation(path, config),
            has_ml_functions=has_ml,
        )
        if kind == "model":
            try:
                node.model_name  # noqa: B018 - validates the name now, not after the parents ran
            except Error as exc:
                raise ProjectError(f"{where} {exc}") from None
        return node

    @staticmethod
    def _kind(where: str, materialized: Any) -> str:
        if materialized is None:
            return MATERIALIZATIONS[DEFAULT_MATERIALIZATION]
        kind = MATERIALIZATIONS.get(str(materialized).lower())
        if kind is None:
            raise ProjectError(
                f"{where} has materialized={materialized!r}; use 'view', 'table' or 'model' "
                f"(or dbt's 'sqlml_table' / 'sqlml_model')."
            )
        return kind

    @staticmethod
    def _check_config(where: str, kind: str, config: Mapping[str, Any]) -> None:
        from sqlml.models.options import OPTIONS

        allowed = set(RUNNER_KEYS) | (set(OPTIONS) if kind == "model" else set())
        for key in config:
            if key in allowed:
                continue
            if key in OPTIONS:
                raise ProjectError(
                    f"{where} sets the model option {key!r}, but it is a {kind}, not a model; "
                    f"add config(materialized='model') to train it."
                )
            close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.75)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ProjectError(f"{where} has an unknown config key {key!r}.{hint}")
        if kind != "model" and config.get("options"):
            raise ProjectError(
                f"{where} sets config(options=...), which only a materialized='model' file uses."
            )

    def _order(self, parents: dict[str, set[str]], nodes: Mapping[str, Node]) -> list[str]:
        """Build order: dependencies first, ties by name, so runs are reproducible."""
        sorter = graphlib.TopologicalSorter(parents)
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            cycle = [nodes[k].name for k in reversed(exc.args[1])]
            raise ProjectError(
                f"The model files depend on each other in a cycle: {' → '.join(cycle)} (each "
                f"ref()s the next). Remove one of these ref()s."
            ) from None
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            order.extend(ready)
            sorter.done(*ready)
        return order


def load_project(path: str | os.PathLike[str], vars: Mapping[str, Any] | None = None) -> Project:
    """Read, render and order the project in ``path``; raises ProjectError when it cannot run."""
    root = Path(path)
    if not root.exists():
        raise ProjectError(f"Project folder {str(root)!r} does not exist.")
    if not root.is_dir():
        raise ProjectError(f"{str(root)!r} is a file; sqlml run takes the folder of model files.")
    return _Loader(root, vars).load()
