"""sqlml's statement nodes: sqlglot expressions for the ML statements that no engine dialect knows.

The grammar (:mod:`sqlml.sql.grammar`) builds these; the planner (:mod:`sqlml.plan`) turns them into
jobs; sqlml's dialects write them back as SQL (``node.sql(dialect=dialect_for(name))``, see
:mod:`sqlml.sql.render`). They are syntax only: no validation of option names or values happens here.
"""

from __future__ import annotations

from sqlglot import exp


class Option(exp.Expression):
    """``key = value`` inside OPTIONS (...), or a Redshift clause such as ``MODEL_TYPE XGBOOST``.

    ``this`` is an :class:`exp.Identifier`: the key as written for OPTIONS, upper-cased for Redshift
    clauses (which are keywords), e.g. ``MODEL_TYPE``; ``expression`` the value expression
    (a literal, boolean, NULL, array, ``HPARAM_RANGE(...)`` call, negated number, or an :class:`exp.Var`
    for bare words such as ``ON`` / ``XGBOOST``). For ``HYPERPARAMETERS DEFAULT EXCEPT (k 'v', ...)`` and
    ``SETTINGS (k v, ...)`` the value is an :class:`exp.Tuple` of nested :class:`Option` nodes.
    """

    arg_types = {"this": True, "expression": False}


class CreateModel(exp.Expression):
    """``CREATE [OR REPLACE] MODEL [IF NOT EXISTS] name ...`` in either dialect.

    BigQuery form: ``options`` (list of Option), optional ``transform`` (list of select expressions),
    ``query`` (the training query), optional ``partition_by`` (list of columns).
    Redshift form (``form`` = "redshift"): ``query`` is the FROM source (an exp.Table or a query),
    ``target`` the label identifier, ``function`` the function-name identifier, and ``options`` holds
    the remaining clauses as Option nodes keyed IAM_ROLE, AUTO, MODEL_TYPE, PROBLEM_TYPE, OBJECTIVE,
    PREPROCESSORS, HYPERPARAMETERS, SETTINGS, and RETURNS (an :class:`exp.DataType`, from
    ``FUNCTION f RETURNS type``).
    A query in ``query`` carries ``meta["sql"]``: its own text as written, without enclosing parens.
    """

    arg_types = {
        "this": True,
        "form": True,  # exp.Var("bigquery") | exp.Var("redshift")
        "replace": False,
        "exists": False,
        "options": False,
        "transform": False,
        "query": False,
        "partition_by": False,
        "target": False,
        "function": False,
    }


class DropModel(exp.Expression):
    """``DROP MODEL [IF EXISTS] name``."""

    arg_types = {"this": True, "exists": False}


class AlterModel(exp.Expression):
    """``ALTER MODEL [IF EXISTS] name SET OPTIONS (key = value, ...)``: ``options`` a list of
    :class:`Option` (possibly empty)."""

    arg_types = {"this": True, "exists": False, "options": False}


class ExportModel(exp.Expression):
    """``EXPORT MODEL name OPTIONS (uri = '...')``."""

    arg_types = {"this": True, "options": False}


class ShowModel(exp.Expression):
    """``SHOW MODEL name`` or ``SHOW MODEL ALL`` (``this`` is None for ALL)."""

    arg_types = {"this": False}


class MLFunction(exp.Expression):
    """``ML.<NAME>(MODEL m [, TABLE t | (query)] [, STRUCT(...)])`` used as a table in FROM.

    ``this`` is an :class:`exp.Var` holding the upper-cased function name (PREDICT, EVALUATE, ...),
    ``model`` an :class:`exp.Table`, ``input`` an :class:`exp.Table` or a query (or None), ``params`` an
    :class:`exp.Struct` (or None), ``alias`` the :class:`exp.TableAlias` of ``FROM ML.FN(...) AS p``.
    A query input carries ``meta["sql"]``, its own text without the enclosing parens.
    ``thresholds`` (ML.ROC_CURVE only, in place of the STRUCT) is the last argument when it is an
    array literal (an :class:`exp.Array`) or a ``GENERATE_ARRAY(start, end, step)`` call (an
    :class:`exp.Anonymous` named GENERATE_ARRAY, whichever dialect parsed it); its values are not
    checked here.
    ``meta["span"]`` is ``(start, end)``: the character offsets, within
    the statement text, of the whole ``ML.NAME(...)`` call, end exclusive, so the planner can splice a
    replacement into the user's own SQL text.
    """

    arg_types = {
        "this": True,
        "model": True,
        "input": False,
        "params": False,
        "thresholds": False,
        "alias": False,
    }

    @property
    def function(self) -> str:
        return self.this.name.upper()


class Explain(exp.Expression):
    """``EXPLAIN [ANALYZE] <ML statement>``: ``this`` is the ML statement's node; ``analyze`` is
    set for EXPLAIN ANALYZE. The statement itself rides in :attr:`Statement.explained`."""

    arg_types = {"this": True, "analyze": False}
