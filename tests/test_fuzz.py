"""Fuzzing execute() (issue 9, "What it must show", first bullet; DuckDB and the DB-API).

Thousands of statements, made by seeded mutation of the project's own SQL (tests/sql/fixtures, the
examples of sql/reference.md, examples/), run through ``Cursor.execute`` on a DuckDB file that holds
small tables and trained models, so that mutated ML statements get far. The invariant: whatever
goes wrong is a ``sqlml.Error`` and not an ``InternalError`` (an "Unexpected error" wraps a Python
exception sqlml did not expect, a bug), and the connection still answers ``SELECT 1`` afterwards.

Everything is deterministic: each test draws from its own ``random.Random(seed)``, so a failure
reproduces on every run; the offenders are printed (statement repr, parameters, exception) and
collected, and each test asserts at the end that there are none, so one run shows them all.

Safety: the statements never reach outside the test's temporary folder (every path-like string is
rewritten into it, the working directory is that folder, statements that change settings, attach
files, install extensions or open transactions are defused) and cannot train for long (numbers in
CREATE MODEL are capped, row counts stay at most 200, except for the numbers that are huge on
purpose, which option validation refuses at once). The bound is the number of statements; the
timeouts only stop a hang.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import sqlml
from sqlml.models.options import OPTIONS
from sqlml.sql import split_statements

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "sql" / "fixtures"
REFERENCE = ROOT / "sql" / "reference.md"
EXAMPLES = ROOT / "examples"

ROWS = 150  # training rows of the base tables: small, so that training is quick
#: The folder the generated statements name: Fuzz.run puts the test's temporary folder in its
#: place (and checks the paths again), so the statements do not depend on pytest's numbering.
TMP = Path("/fuzz-tmp")

# --- the database: small tables, and a few trained models -------------------------------------

SETUP_TABLES = {
    "customers": f"""CREATE OR REPLACE TABLE customers AS
        SELECT range AS customer_id, 20 + (range * 7) % 50 AS age,
               ['basic', 'pro', 'team'][1 + (range % 3)::INTEGER] AS plan,
               ((range * 13) % 100)::DOUBLE AS monthly_spend,
               (range * 13) % 100 < 40 AND range % 2 = 0 AS churned,
               range % 10 = 0 AS is_eval
        FROM range({ROWS})""",
    "new_customers": """CREATE OR REPLACE TABLE new_customers AS
        SELECT * EXCLUDE (churned, is_eval) FROM customers WHERE customer_id < 20""",
    "holdout": "CREATE OR REPLACE TABLE holdout AS SELECT * FROM customers WHERE is_eval",
    "t": f"""CREATE OR REPLACE TABLE t AS
        SELECT range AS id, range / 10.0 AS a, (range * 7 % 11)::DOUBLE AS b, range % 5 AS x,
               (range * 3 % 17)::DOUBLE AS y, ['north', 'south'][1 + range % 2] AS region,
               'note ' || range AS note, range % 4 AS label
        FROM range({ROWS})""",
    "train": "CREATE OR REPLACE VIEW train AS SELECT a, b, y FROM t",
    "readings": "CREATE OR REPLACE VIEW readings AS SELECT a, b FROM t",
    "predictions": "CREATE OR REPLACE TABLE predictions (id BIGINT, predicted_label VARCHAR)",
}
SETUP_MODELS = {
    "churn": (
        "logistic_reg",
        """CREATE OR REPLACE MODEL churn
             OPTIONS (model_type = 'logistic_reg', input_label_cols = ['churned'])
           AS SELECT * EXCLUDE (customer_id, is_eval) FROM customers""",
    ),
    "spend": (
        "linear_reg",
        """CREATE OR REPLACE MODEL spend
             OPTIONS (model_type = 'linear_reg', input_label_cols = ['monthly_spend'])
           AS SELECT age, plan, monthly_spend FROM customers""",
    ),
    "segments": (
        "kmeans",
        """CREATE OR REPLACE MODEL segments OPTIONS (model_type = 'kmeans', num_clusters = 3)
           AS SELECT age, monthly_spend FROM customers""",
    ),
    "churn_fn": (
        "boosted_tree_classifier",
        """CREATE OR REPLACE MODEL churn_fn
           FROM (SELECT age, plan, monthly_spend, churned FROM customers)
           TARGET churned FUNCTION predict_churn
           MODEL_TYPE XGBOOST PROBLEM_TYPE BINARY_CLASSIFICATION
           HYPERPARAMETERS DEFAULT EXCEPT (NUM_ROUND '5', MAX_DEPTH '3')""",
    ),
    "customer_pca": (
        "pca",
        """CREATE OR REPLACE MODEL customer_pca
             OPTIONS (model_type = 'pca', num_principal_components = 2)
           AS SELECT age, plan, monthly_spend FROM customers""",
    ),
}
BASE_MODELS = list(SETUP_MODELS)
BASE_TABLES = list(SETUP_TABLES)

# The state the fuzzing must not lose: the base tables' columns and the base models' types.
STATE_SQL = f"""
SELECT (SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ','
                          ORDER BY table_name, column_index)
        FROM duckdb_columns() WHERE schema_name = 'main'
          AND table_name IN ({", ".join(repr(t) for t in BASE_TABLES)})),
       (SELECT string_agg(name || ':' || model_type, ',' ORDER BY name)
        FROM (SELECT name, model_type FROM sqlml.models
              QUALIFY version = max(version) OVER (PARTITION BY name))
        WHERE name IN ({", ".join(repr(m) for m in BASE_MODELS)}))
"""


# --- the corpus: the project's own statements --------------------------------------------------


def _fixture_statements(path: Path) -> list[str]:
    """The statements of a tests/sql/fixtures file: blank-line separated blocks, minus the
    `-- expect:` / `-- error:` / `-- at:` lines and the file's header comment."""
    out = []
    for block in re.split(r"\n\s*\n", path.read_text()):
        lines = [ln for ln in block.splitlines() if not ln.startswith("-- ")]
        text = "\n".join(lines).strip()
        if text:
            out.append(text.rstrip(";").strip())
    return out


def _script_statements(text: str) -> list[str]:
    try:
        return [s.sql for s in split_statements(text)]
    except sqlml.Error:  # a Jinja file of the dbt example: as a whole
        return [text]


def load_corpus(tmp: Path) -> list[str]:
    statements = _fixture_statements(FIXTURES / "parse_ok.sql")
    statements += _fixture_statements(FIXTURES / "parse_fail.sql")
    for block in re.findall(r"```sql\n(.*?)```", REFERENCE.read_text(), flags=re.S):
        statements += _script_statements(block)
    for path in sorted(EXAMPLES.rglob("*.sql")):
        statements += _script_statements(path.read_text())
    return [protect_base(make_safe(s, tmp, None)) for s in statements]


def protect_base(sql: str) -> str:
    """The corpus replaces and drops some of the base objects (`CREATE OR REPLACE MODEL churn`,
    `DROP MODEL churn_fn`, the quickstart's customers table): those get names of their own, so the
    base models and tables stay for the statements that use them."""
    names = "|".join(BASE_MODELS + BASE_TABLES)
    return re.sub(
        rf"(?i)\b(CREATE\s+OR\s+REPLACE\s+(?:MODEL|TABLE|VIEW)|DROP\s+(?:MODEL|TABLE|VIEW)"
        rf"(?:\s+IF\s+EXISTS)?)\s+({names})\b",
        r"\1 \2_fz",
        sql,
    )


# --- safety: what a mutated statement may do ----------------------------------------------------

# Statements that change the connection's settings, files or transaction state, or reach the network.
DEFUSED = re.compile(
    r"(?i)\b(INSTALL|LOAD|ATTACH|DETACH|USE|SET|RESET|PRAGMA|CALL|BEGIN|COMMIT|ROLLBACK|ABORT|"
    r"TRANSACTION|START|CHECKPOINT|VACUUM|IMPORT|DATABASE|SECRET|EXTENSION|getenv|httpfs)\b"
)
WRITES = re.compile(r"(?i)\b(CREATE|DROP|ALTER|INSERT|UPDATE|DELETE|TRUNCATE|COPY|MERGE|COMMENT)\b")
CATALOG = re.compile(r'(?i)"?\bsqlml\b"?\s*\.\s*"?models\b"?')
STRING = re.compile(r"'((?:[^']|'')*)'")
NUMBER = re.compile(r"(?<![\w.$])(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)(?![\w.])")
DATABASES = ("f.duckdb", "bigquery.duckdb")  # the files Fuzz opens, and their .wal
HUGE = 1e19  # at least this: out of every integer type's range, refused at once (on purpose)


def _number(text: str) -> float:
    try:
        return float(text)
    except (OverflowError, ValueError):
        return math.inf


def make_safe(sql: str, tmp: Path, rng: random.Random | None) -> str:
    """Defuse what could touch the machine or take long (see the module docstring)."""
    sql = DEFUSED.sub("nope", sql)
    if WRITES.search(sql):  # the catalog is sqlml's: a statement that writes may not name it
        sql = CATALOG.sub("sqlml_fz.models", sql)
    sql = re.sub(r"(?i)EXPORT\s+(?!MODEL)", "EXPORT MODEL ", sql)

    def path(body: str) -> str:
        name = re.sub(r"[^\w.]", "_", body.rsplit("/", 1)[-1])[:80] or "file"
        if name.startswith(DATABASES):  # never the fuzzed database files themselves
            return str(tmp / f"not_{name}")
        if (
            body.startswith(("/", "~", "\\"))
            or "://" in body
            or ".." in body
            or re.search(r"\.(onnx|parquet|csv|json|duckdb|db)$", body)
        ) and not body.startswith(str(tmp)):
            return str(tmp / name)
        return body

    # Numbers: training stays short, and no query makes more than a few hundred rows.
    is_training = re.search(r"(?i)\bCREATE\b.*\bMODEL\b", sql, re.S) is not None
    cap = 8 if is_training else 200

    def small(match: re.Match[str]) -> str:
        value = _number(match.group(1))
        if cap < value < HUGE:
            return str(rng.randint(1, cap) if rng else cap)
        return match.group(0)

    def literal(body: str) -> str:
        if NUMBER.fullmatch(body):  # '100' in HYPERPARAMETERS DEFAULT EXCEPT (NUM_ROUND '100')
            return NUMBER.sub(small, body)
        return path(body)

    # outside the strings and inside them (the split's group), alternately
    pieces = STRING.split(sql)
    sql = "".join(
        NUMBER.sub(small, piece) if i % 2 == 0 else f"'{literal(piece)}'"
        for i, piece in enumerate(pieces)
    )
    if is_training:
        # budget_seconds bounds automl and tuning: at most a second or two
        sql = re.sub(r"(?i)(budget_seconds\s*=\s*)[\d.eE+]+", r"\g<1>1", sql)
        if re.search(r"(?i)automl", sql) and not re.search(r"(?i)budget_seconds", sql):
            sql = re.sub(r"(?i)(OPTIONS\s*\()", r"\1budget_seconds = 1, ", sql, count=1)
    return sql


# --- mutation -----------------------------------------------------------------------------------

TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<comment>--[^\n]*|/\*.*?\*/)
    |(?P<str>'(?:[^']|'')*'?)
    |(?P<ident>"(?:[^"]|"")*"?)
    |(?P<dollar>\$\$.*?\$\$)
    |(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<param>\$\d+|\$[A-Za-z_]\w*|\?|:[A-Za-z_]\w*)
    |(?P<word>[^\W\d][\w$]*)
    |(?P<op>::|<>|<=|>=|!=|\|\||//|.)""",
    re.S | re.X,
)

KEYWORDS = [
    "SELECT",
    "FROM",
    "WHERE",
    "AS",
    "MODEL",
    "MODELS",
    "OPTIONS",
    "TRANSFORM",
    "TABLE",
    "STRUCT",
    "CREATE",
    "OR",
    "REPLACE",
    "IF",
    "NOT",
    "EXISTS",
    "DROP",
    "EXPORT",
    "SHOW",
    "ALL",
    "TARGET",
    "FUNCTION",
    "RETURNS",
    "IAM_ROLE",
    "AUTO",
    "ON",
    "OFF",
    "MODEL_TYPE",
    "PROBLEM_TYPE",
    "OBJECTIVE",
    "PREPROCESSORS",
    "HYPERPARAMETERS",
    "DEFAULT",
    "EXCEPT",
    "SETTINGS",
    "EXPLAIN",
    "ANALYZE",
    "UNION",
    "WITH",
    "JOIN",
    "USING",
    "PARTITION",
    "BY",
    "GROUP",
    "ORDER",
    "LIMIT",
    "EXCLUDE",
    "OVER",
    "AND",
    "IN",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "DISTINCT",
    "VALUES",
    "INSERT",
    "INTO",
    "XGBOOST",
    "MLP",
    "KMEANS",
    "LINEAR_LEARNER",
    "REGRESSION",
    "BINARY_CLASSIFICATION",
    "MULTICLASS_CLASSIFICATION",
    "DESC",
    "QUALIFY",
    "WINDOW",
    "LATERAL",
]
ML_FUNCTIONS = [
    "PREDICT",
    "EVALUATE",
    "CONFUSION_MATRIX",
    "ROC_CURVE",
    "FEATURE_INFO",
    "TRAINING_INFO",
    "WEIGHTS",
    "FEATURE_IMPORTANCE",
    "EXPLAIN_PREDICT",
    "GLOBAL_EXPLAIN",
    "TRIAL_INFO",
    "CENTROIDS",
    "PRINCIPAL_COMPONENTS",
    "ADVANCED_WEIGHTS",
    "DETECT_ANOMALIES",
    "FORECAST",
    "VALIDATE_DATA_DRIFT",
    "ARIMA_EVALUATE",
    "STANDARD_SCALER",
    "MIN_MAX_SCALER",
    "BUCKETIZE",
    "ONE_HOT_ENCODER",
]

HUGE_INT = "9" * 5000
ODD_NUMBERS = [
    "0",
    "-0",
    "-1",
    "1",
    "2",
    "0.5",
    "-0.5",
    "3.7",
    "1.0000001",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "-9223372036854775809",
    "1" + "0" * 400,
    "0." + "0" * 400 + "1",
    "1e999",
    "-1e999",
    "1e-999",
    "1e308",
    "4.9e-324",
    HUGE_INT,
    "-" + HUGE_INT,
    HUGE_INT + "." + HUGE_INT,
]
ODD_STRINGS = [
    "''",
    "' '",
    "'x'",
    "'" + "x" * 100_000 + "'",
    "'\x00'",
    "'a\x00b'",
    "'naïve ☃ 🙂'",
    "'it''s'",
    "'NULL'",
    "'[1, 2]'",
    "'{\"a\": 1}'",
    "'-1'",
    "'1e999'",
    "'" + HUGE_INT + "'",
    "'nan'",
    "'inf'",
    "'AUTO_SPLIT'",
    "'CUSTOM'",
    "'SEQ'",
    "'NO_SPLIT'",
    "'logistic_reg'",
    "'linear_reg'",
    "'kmeans'",
    "'pca'",
    "'onnx'",
    "'automl'",
    "'dnn_classifier'",
    "'boosted_tree_regressor'",
    "'random_forest_classifier'",
    "'churned'",
    "'plan'",
    "'age'",
    "'is_eval'",
    "'f1'",
    "'KMEANS++'",
    "'RANDOM'",
    "'roc_auc'",
    "'relative.onnx'",
    "'sub/dir/x.onnx'",
    "'sub'",
    "'.'",
    "'\ud800'",
    "'a\udfffb'",
]
ODD_VALUES = [
    "NULL",
    "TRUE",
    "FALSE",
    "[]",
    "[1, 2]",
    "['a', NULL]",
    "[[1]]",
    "[" + ", ".join(["0.5"] * 300) + "]",
    "['churned', 'churned']",
    "['nope']",
    "[1e999]",
    "STRUCT(1 AS a)",
    "STRUCT('x' AS label, 2 AS weight)",
    "[STRUCT('x' AS label, -1 AS weight)]",
    "[STRUCT(TRUE AS label, 1e999 AS weight)]",
    "(SELECT 1)",
    "DATE '2024-01-01'",
    "INTERVAL 1 DAY",
    "HPARAM_RANGE(0, 1)",
    "HPARAM_RANGE(1, 0)",
    "HPARAM_RANGE('a', 'b')",
    "HPARAM_RANGE(1e999, -1e999)",
    "HPARAM_CANDIDATES([])",
    "HPARAM_CANDIDATES([1, 'a'])",
    "HPARAM_CANDIDATES([1e999])",
    "HPARAM_CANDIDATES([NULL])",
    "HPARAM_CANDIDATES(1)",
    "GENERATE_ARRAY(0, 1, 0)",
    "GENERATE_ARRAY(1, 0, -0.1)",
    "GENERATE_ARRAY(0, 1, 1e-300)",
    "GENERATE_ARRAY(NULL, 1, 0.1)",
    "auto_split",
    "x",
    "-x",
    "?",
    "$1",
    "1/0",
    "CAST(NULL AS INTEGER)",
    "MAP {'a': 1}",
    "{'a': 1}",
    "'a' || 'b'",
    "-(-1)",
    "+1",
    "~1",
    "1::DOUBLE",
    "-TRUE",
    "NOT NULL",
    "[[]]",
    "STRUCT()",
]
ODD_IDENTS = [
    '"a b"',
    '"we""ird"',
    '"ünï©ødé ☃"',
    '"\x00"',
    '""',
    '"' + "n" * 5000 + '"',
    "ä",
    "x",
    '"MODEL"',
    "model",
    "select",
    '"--"',
    '"; DROP"',
    "_",
    '"🙂"',
    '"\udc80"',
    "a.b.c.d",
    '"a"."b"',
    "sqlml.models",
    '"sqlml"."models"',
    "churned",
    "age",
    "plan",
    "customers",
    "t",
    "predict_churn",
    "predict_churn_probabilities",
]
MISSING_MODELS = [
    "nope",
    "missing.model",
    '"No Such"',
    "analytics.churn",
    '"Churn"',
    "CHURN",
    "sqlml.churn",
    '"churn "',
    '"ch\x00urn"',
    "a.b.c",
    "ml",
    "model",
    '"' + "m" * 300 + '"',
    '"ü ☃"',
    "main.churn",
    "churn_fz",
    "m",
]
STRUCT_FIELDS = [
    "threshold",
    "top_k_features",
    "contamination",
    "num_paths",
    "standardize",
    "class_level_explain",
    "categorical_default_threshold",
    "horizon",
    "confidence_level",
]
ODD_OPTION_NAMES = sorted(OPTIONS) + [
    "MODEL_TYPE",
    '"model_type"',
    "x",
    '"a b"',
    "ü",
    "select",
    "options",
    "model",
    "n" * 300,
    "model_type",
    "input_label_cols",
]

VOCABULARY = (
    KEYWORDS
    + [f"ML.{f}(" for f in ML_FUNCTIONS]
    + ["ML.", "ML", ".", "ML.PREDICT(", "MODEL", "STRUCT(", "TRANSFORM(", "OPTIONS(", "TABLE"]
    + ["HPARAM_RANGE(", "HPARAM_CANDIDATES(", "GENERATE_ARRAY(", "predict_churn("]
    + ["(", ")", "(", ")", ",", ",", "'", '"', ";", "[", "]", "=", "*", "-", "::", "--", "/*"]
    + ["$1", "$2", "$name", "?", "?", ":name", "$$", "$", "{", "}", "{{", "}}", "\\"]
    + ODD_NUMBERS[:14]
    + ["1e999", HUGE_INT]
    + ["NULL", "'\x00'", "\x00", "'" + "y" * 50_000 + "'", "'unterminated"]
    + ODD_IDENTS[:6]
    + ["'naïve ☃'", "🙂", "\u202e", "\ufeff", "\r\n", "\t"]
)


@dataclass
class Tok:
    kind: str
    text: str


def tokenize(sql: str) -> list[Tok]:
    return [
        Tok(m.lastgroup or "op", m.group(0)) for m in TOKEN.finditer(sql) if m.lastgroup != "ws"
    ]


def join(tokens: list[Tok]) -> str:
    return " ".join(t.text + ("\n" if t.text.startswith("--") else "") for t in tokens)


def _value(rng: random.Random) -> str:
    pool = rng.choice([ODD_NUMBERS, ODD_STRINGS, ODD_VALUES, ODD_VALUES])
    return rng.choice(pool)


def m_delete(rng: random.Random, toks: list[Tok]) -> list[Tok]:
    if toks:
        i = rng.randrange(len(toks))
        del toks[i : i + rng.choice([1, 1, 1, 2, 3])]
    return toks


def m_duplicate(rng: random.Random, toks: list[Tok]) -> list[Tok]:
    if toks:
        i = rng.randrange(len(toks))
        span = toks[i : i + rng.choice([1, 1, 2, 3])]
        toks[i:i] = [Tok(t.kind, t.text) for t in span] * rng.choice([1, 1, 2, 5])
    return toks


def m_swap(rng: random.Random, toks: list[Tok]) -> list[Tok]:
    if len(toks) > 1:
        i = rng.randrange(len(toks) - 1)
        j = i + 1 if rng.random() < 0.5 else rng.randrange(len(toks))
        toks[i], toks[j] = toks[j], toks[i]
    return toks


def m_insert(rng: random.Random, toks: list[Tok]) -> list[Tok]:
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        toks.insert(rng.randrange(len(toks) + 1), Tok("ins", rng.choice(VOCABULARY)))
    return toks


def m_nest(rng: random.Random, toks: list[Tok]) -> list[Tok]:
    """Parentheses, often deep (the limit is 200 deep), around a span, balanced or not."""
    depth = rng.choice([1, 2, 3, 10, 50, 150, 199, 200, 201, 300, 500, 1000])
    i = rng.randrange(len(toks) + 1)
    j = rng.randrange(i, len(toks) + 1)
    opening, closing = rng.choice([("(", ")"), ("(", ")"), ("[", "]"), ("{", "}")])
    left = [Tok("op", opening)] * depth
    right = [Tok("op", closing)] * (depth if rng.random() < 0.8 else rng.randrange(depth + 1))
    return toks[:i] + left + toks[i:j] + right + toks[j:]


def m_nest_query(rng: random.Random, toks: list[Tok]) -> list[Tok]:
    """A sub-query, deeply parenthesized, where the statement has one (after AS, or in an ML call)."""
    depth = rng.choice([1, 5, 100, 150, 199, 201, 400])
    for i, t in enumerate(toks):
        if t.text.upper() in ("SELECT", "FROM") and i > 0:
            return (
                toks[:i]
                + [Tok("op", "(")] * depth
                + toks[i:]
                + [Tok("op", ")")] * depth
                + ([] if rng.random() < 0.7 else [Tok("op", ")")])
            )
    return m_nest(rng, toks)


def m_literal(rng: random.Random, toks: list[Tok]) -> list[Tok]:
    spots = [i for i, t in enumerate(toks) if t.kind in ("num", "str", "dollar")]
    if spots:
        for i in rng.sample(spots, min(len(spots), rng.choice([1, 1, 2]))):
            toks[i] = Tok("lit", _value(rng))
    else:
        toks.insert(rng.randrange(len(toks) + 1), Tok("lit", _value(rng)))
    return toks


def _name_span(toks: list[Tok], i: int) -> int:
    """The end of the (dotted) name starting at toks[i]."""
    j = i
    while j < len(toks) and toks[j].kind in ("word", "ident"):
        j += 1
        if j < len(toks) - 1 and toks[j].text == ".":
            j += 1
        else:
            break
    return j


def m_model(rng: random.Random, toks: list[Tok]) -> list[Tok]:
    """Swap the model named after MODEL for another: missing, odd, or another base model (never a
    base model as the target of CREATE or DROP)."""
    spots = [
        i + 1
        for i, t in enumerate(toks[:-1])
        if t.text.upper() == "MODEL" and toks[i + 1].kind in ("word", "ident")
    ]
    if not spots:
        return m_identifier(rng, toks)
    i = rng.choice(spots)
    writes = any(t.text.upper() in ("CREATE", "DROP") for t in toks[:i])
    pool = MISSING_MODELS if writes else MISSING_MODELS + BASE_MODELS * 3
    toks[i : _name_span(toks, i)] = [Tok("ident", rng.choice(pool))]
    return toks


def m_identifier(rng: random.Random, toks: list[Tok]) -> list[Tok]:
    spots = [i for i, t in enumerate(toks) if t.kind in ("word", "ident")]
    if spots:
        toks[rng.choice(spots)] = Tok("ident", rng.choice(ODD_IDENTS))
    return toks


def m_option(rng: random.Random, toks: list[Tok]) -> list[Tok]:
    """An option name or value (OPTIONS (...), STRUCT(... AS name), Redshift clauses) made odd; or an
    option added."""
    names = [
        i
        for i, t in enumerate(toks[:-1])
        if t.kind in ("word", "ident") and toks[i + 1].text == "="
    ]
    values = [i + 1 for i in names if i + 1 < len(toks) - 1]
    struct_names = [
        i
        for i, t in enumerate(toks)
        if t.text.lower() in STRUCT_FIELDS and i >= 2 and toks[i - 1].text.upper() == "AS"
    ] + [i for i, t in enumerate(toks) if t.text.upper() in ("NUM_ROUND", "MAX_DEPTH", "K")]
    choice = rng.random()
    if names and choice < 0.3:
        toks[rng.choice(names)] = Tok("word", rng.choice(ODD_OPTION_NAMES))
    elif values and choice < 0.75:
        i = rng.choice(values) + 1  # past the "="
        j = i
        depth = 0
        while j < len(toks) and (depth > 0 or toks[j].text not in (",", ")")):
            depth += (toks[j].text in ("(", "[")) - (toks[j].text in (")", "]"))
            j += 1
        toks[i:j] = [Tok("lit", _value(rng))]
    elif struct_names and choice < 0.9:
        i = rng.choice(struct_names)
        if i + 1 < len(toks):
            if rng.random() < 0.3:
                toks[i] = Tok("word", rng.choice(STRUCT_FIELDS + ODD_OPTION_NAMES[-8:]))
            toks[i - 2 if toks[i - 1].text.upper() == "AS" else i + 1] = Tok("lit", _value(rng))
    else:
        spot = next((i for i, t in enumerate(toks) if t.text.upper() == "OPTIONS"), None)
        if spot is not None and spot + 1 < len(toks):
            name = rng.choice(ODD_OPTION_NAMES)
            toks[spot + 2 : spot + 2] = [Tok("word", f"{name} = {_value(rng)} ,")]
        else:
            return m_literal(rng, toks)
    return toks


def m_nul(rng: random.Random, toks: list[Tok]) -> list[Tok]:
    if toks:
        t = toks[rng.randrange(len(toks))]
        k = rng.randrange(len(t.text) + 1)
        t.text = (
            t.text[:k] + rng.choice(["\x00", "\x00\x00", "\ud800", "\x1b", "\x7f"]) + t.text[k:]
        )
    return toks


def m_case(rng: random.Random, toks: list[Tok]) -> list[Tok]:
    for t in toks:
        if t.kind == "word" and rng.random() < 0.5:
            t.text = rng.choice([t.text.lower(), t.text.upper(), t.text.swapcase()])
    return toks


TOKEN_MUTATIONS: list[Callable[[random.Random, list[Tok]], list[Tok]]] = [
    m_delete,
    m_delete,
    m_duplicate,
    m_swap,
    m_swap,
    m_insert,
    m_insert,
    m_insert,
    m_nest,
    m_nest_query,
    m_literal,
    m_literal,
    m_model,
    m_identifier,
    m_option,
    m_nul,
    m_case,
]
TARGETED_MUTATIONS = [m_literal, m_literal, m_model, m_model, m_option, m_option, m_option]


def mutate(
    rng: random.Random,
    sql: str,
    mutations: list[Callable[..., list[Tok]]],
    tmp: Path,
    times: tuple[int, ...] = (1, 1, 1, 2, 2, 3, 4),
) -> str:
    toks = tokenize(sql)
    for _ in range(rng.choice(times)):
        toks = rng.choice(mutations)(rng, toks)
    text = (
        join(toks)
        if rng.random() < 0.9
        else rng.choice(["", "\n", "/**/"]).join(t.text for t in toks)
    )
    if rng.random() < 0.12:  # truncated at a random character
        text = text[: rng.randrange(len(text) + 1)]
    if rng.random() < 0.05:
        text = rng.choice([";", " ;", "; ;", "\n-- trailing", "; SELECT 1", ";\x00"]) + text
    return make_safe(text, tmp, rng)


# --- well-formed statements with odd parts (a small grammar) -----------------------------------

FUNCTIONS = [
    "PREDICT",
    "PREDICT",
    "PREDICT",
    "EVALUATE",
    "EVALUATE",
    "CONFUSION_MATRIX",
    "ROC_CURVE",
    "FEATURE_INFO",
    "TRAINING_INFO",
    "WEIGHTS",
    "EXPLAIN_PREDICT",
    "EXPLAIN_PREDICT",
    "GLOBAL_EXPLAIN",
    "FEATURE_IMPORTANCE",
    "TRIAL_INFO",
    "DETECT_ANOMALIES",
    "CENTROIDS",
    "PRINCIPAL_COMPONENTS",
    "ADVANCED_WEIGHTS",
    "FORECAST",
    "VALIDATE_DATA_DRIFT",
    "ARIMA_EVALUATE",
]
# Inputs for the base models' columns (age INTEGER, plan VARCHAR, monthly_spend DOUBLE, churned
# BOOLEAN): as expected, missing, renamed, of other types, empty, NULL, non-finite, huge, odd text.
INPUTS = [
    "TABLE customers",
    "TABLE new_customers",
    "TABLE holdout",
    "TABLE t",
    "TABLE nope",
    'TABLE "a b"',
    "(SELECT * FROM customers)",
    "(SELECT * FROM customers WHERE FALSE)",
    "(SELECT * FROM customers LIMIT 1)",
    "(SELECT age, plan FROM customers)",
    "(SELECT age, plan, monthly_spend FROM customers)",
    '(SELECT age AS AGE, plan AS "Plan", monthly_spend, churned FROM customers)',
    "(SELECT age::VARCHAR AS age, plan, monthly_spend, churned FROM customers)",
    "(SELECT plan AS age, age AS plan, monthly_spend, churned FROM customers)",
    "(SELECT NULL AS age, NULL AS plan, NULL AS monthly_spend, NULL AS churned FROM range(5))",
    "(SELECT CAST(NULL AS INTEGER) AS age, plan, monthly_spend, churned FROM customers)",
    "(SELECT age, plan, 'nan'::DOUBLE AS monthly_spend, churned FROM customers)",
    "(SELECT age, plan, 'inf'::DOUBLE AS monthly_spend, churned FROM customers)",
    "(SELECT age, plan, -'inf'::DOUBLE AS monthly_spend, churned FROM customers)",
    "(SELECT age, plan, 1e308 AS monthly_spend, churned FROM customers)",
    "(SELECT 170141183460469231731687303715884105727::HUGEINT AS age, plan, monthly_spend, "
    "churned FROM customers)",
    "(SELECT age::DECIMAL(38, 10) AS age, plan, monthly_spend::DECIMAL(38, 30) AS monthly_spend, "
    "churned FROM customers)",
    "(SELECT age, repeat('x', 100000) AS plan, monthly_spend, churned FROM customers LIMIT 3)",
    "(SELECT age, 'naïve ☃ 🙂' AS plan, monthly_spend, churned FROM customers)",
    "(SELECT age, chr(0) AS plan, monthly_spend, churned FROM customers)",
    "(SELECT age, '__sqlml_null__' AS plan, monthly_spend, churned FROM customers)",
    "(SELECT age, '' AS plan, monthly_spend, churned FROM customers)",
    "(SELECT [age] AS age, plan, monthly_spend, churned FROM customers)",
    "(SELECT {'a': age} AS age, plan, monthly_spend, churned FROM customers)",
    "(SELECT age, plan::BLOB AS plan, monthly_spend, churned FROM customers)",
    "(SELECT DATE '2024-01-01' + age AS age, plan, monthly_spend, churned FROM customers)",
    "(SELECT INTERVAL 1 DAY * age AS age, plan, monthly_spend, churned FROM customers)",
    "(SELECT age, plan, monthly_spend, churned::VARCHAR AS churned FROM customers)",
    "(SELECT age, plan, monthly_spend, NULL AS churned FROM customers)",
    "(SELECT age, plan, monthly_spend, 'maybe' AS churned FROM customers)",
    "(SELECT age, plan, monthly_spend, age AS churned FROM customers)",
    "(SELECT age, plan, monthly_spend, churned, age AS age FROM customers)",
    "(SELECT *, * FROM customers)",
    "(SELECT age, plan, monthly_spend, churned, uuid() AS id FROM customers)",
    '(SELECT age AS "", plan, monthly_spend, churned FROM customers)',
    '(SELECT age AS "a""b", plan, monthly_spend, churned FROM customers)',
    "(SELECT 1 AS x)",
    "(SELECT * FROM range(0))",
    "(SELECT a, b FROM t)",
    "(SELECT a, b, 'inf'::DOUBLE AS c FROM t)",
    "(SELECT * FROM customers WHERE age = ?)",
    "(SELECT * FROM customers WHERE plan = $1)",
    "(SELECT * FROM customers UNION ALL SELECT * FROM customers)",
    "(WITH c AS (SELECT * FROM customers) SELECT * FROM c)",
    "(FROM customers)",
    "(SELECT * FROM ML.PREDICT(MODEL churn, TABLE customers))",
    "(SELECT * FROM ML.PREDICT(MODEL nope, TABLE customers))",
    "(SELECT)",
    "(VALUES (1, 2))",
    "(" * 150 + "SELECT * FROM customers" + ")" * 150,
    "(" * 201 + "SELECT * FROM customers" + ")" * 201,
]
ODD_FIELDS = ["nope", '"a b"', "THRESHOLD", "threshold"]
STRUCT_VALUES = ODD_NUMBERS[:18] + ODD_STRINGS[:16] + ODD_VALUES[:20]
TRAINING_QUERIES = [
    "SELECT age, plan, monthly_spend, churned FROM customers",
    "SELECT * EXCLUDE (customer_id, is_eval) FROM customers",
    "SELECT * FROM customers",
    "SELECT age, plan, monthly_spend, churned, is_eval FROM customers",
    "SELECT age, plan, monthly_spend, churned FROM customers WHERE FALSE",
    "SELECT age, plan, monthly_spend, churned FROM customers LIMIT 1",
    "SELECT age, plan, monthly_spend, churned FROM customers LIMIT 3",
    "SELECT age, plan, monthly_spend, TRUE AS churned FROM customers",
    "SELECT age, plan, monthly_spend, NULL AS churned FROM customers",
    "SELECT age, plan, monthly_spend, CAST(NULL AS BOOLEAN) AS churned FROM customers",
    "SELECT age, plan, NULL AS monthly_spend, churned FROM customers",
    "SELECT age, plan, 'nan'::DOUBLE AS monthly_spend, churned FROM customers",
    "SELECT age, plan, 'inf'::DOUBLE AS monthly_spend, churned FROM customers",
    "SELECT age, plan, 1e308 * age AS monthly_spend, churned FROM customers",
    "SELECT age, plan, monthly_spend * 1e300 AS monthly_spend, churned FROM customers",
    "SELECT 170141183460469231731687303715884105727::HUGEINT AS age, plan, churned FROM customers",
    "SELECT age::DECIMAL(38, 30) AS age, plan, churned FROM customers",
    "SELECT age, plan, monthly_spend, churned::VARCHAR || '☃' AS churned FROM customers",
    "SELECT age, plan, monthly_spend, age AS churned FROM customers",
    "SELECT age, plan, monthly_spend, age::DOUBLE / 7 AS churned FROM customers",
    "SELECT age, chr(0) || plan AS plan, monthly_spend, churned FROM customers",
    "SELECT age, repeat(plan, 5000) AS plan, monthly_spend, churned FROM customers",
    "SELECT age, customer_id::VARCHAR AS plan, monthly_spend, churned FROM customers",
    "SELECT age, plan, monthly_spend, churned, [age] AS l FROM customers",
    "SELECT age, plan, monthly_spend, churned, {'a': age} AS s FROM customers",
    "SELECT age, plan, monthly_spend, churned, plan::BLOB AS b FROM customers",
    "SELECT age, plan, monthly_spend, churned, DATE '2024-01-01' + age AS d FROM customers",
    "SELECT age, plan, monthly_spend, churned, now() AS ts FROM customers",
    "SELECT age, plan, monthly_spend, churned, INTERVAL 1 DAY * age AS i FROM customers",
    "SELECT age, plan, monthly_spend, churned, uuid() AS u FROM customers",
    'SELECT age AS "a b", plan AS "ü ☃", monthly_spend AS """", churned FROM customers',
    'SELECT age AS "__sqlml_null__", plan, churned FROM customers',
    "SELECT age AS label, plan AS scores, monthly_spend AS probabilities, churned FROM customers",
    "SELECT age AS variable, monthly_spend AS centered, plan AS output_label, churned FROM customers",
    "SELECT age AS predicted_churned, plan AS centroid_id, monthly_spend, churned FROM customers",
    "SELECT age AS predicted_label, monthly_spend AS nearest_centroids_distance, churned "
    "FROM customers",
    "SELECT age AS principal_component_1, monthly_spend AS is_anomaly, churned FROM customers",
    'SELECT age AS "x_sqlml_clamped", monthly_spend AS "label_sqlml", churned FROM customers',
    "SELECT churned FROM customers",
    "SELECT age, churned, churned AS churned2 FROM customers",
    "SELECT age, plan, monthly_spend AS churned, churned AS monthly_spend FROM customers",
    "SELECT a, b, y FROM t",
    "SELECT a, b, x, label FROM t",
    "SELECT a, b FROM t",
    "SELECT 1 AS x, 2 AS y",
    "SELECT * FROM range(0)",
    "SELECT age, plan, monthly_spend, churned FROM customers WHERE plan = ?",
    "SELECT age, plan, monthly_spend, churned FROM nope",
    "(" * 150 + "SELECT age, monthly_spend, churned FROM customers" + ")" * 150,
]
MODEL_TYPES = [
    "'logistic_reg'",
    "'linear_reg'",
    "'kmeans'",
    "'pca'",
    "'boosted_tree_classifier'",
    "'boosted_tree_regressor'",
    "'random_forest_classifier'",
    "'random_forest_regressor'",
    "'dnn_classifier'",
    "'dnn_regressor'",
    "'automl'",
    "'onnx'",
    "'LOGISTIC_REG'",
    "' kmeans '",
    "'xgboost'",
    "'arima_plus'",
    "''",
    "NULL",
    "1",
]
LABELS = ["'churned'", "'monthly_spend'", "'age'", "'plan'", "'nope'", "'y'", "'CHURNED'", "''"]
PATHS = [
    "'{tmp}/churn.onnx'",
    "'{tmp}/out.onnx'",
    "'{tmp}/sub/x.onnx'",
    "'{tmp}/missing/x.onnx'",
    "'{tmp}/sub'",
    "'{tmp}'",
    "'{tmp}/" + "a" * 300 + ".onnx'",
    "'{tmp}/x\x00.onnx'",
    "'{tmp}/☃ ü.onnx'",
    "'{tmp}/\ud800.onnx'",
    "'{tmp}/f.duckdb.wal.onnx'",
    "'relative.onnx'",
    "''",
    "'{tmp}/not_onnx.onnx'",
    "'{tmp}/empty.onnx'",
    "'{tmp}/truncated.onnx'",
    "NULL",
    "1",
    "['{tmp}/out.onnx']",
]
FUNCTION_CALLS = [
    "predict_churn(age, plan, monthly_spend)",
    "predict_churn_probabilities(age, plan, monthly_spend)",
    "predict_churn(age, plan)",
    "predict_churn()",
    "predict_churn(age, plan, monthly_spend, churned)",
    "predict_churn(NULL, NULL, NULL)",
    "predict_churn(plan, age, monthly_spend)",
    "predict_churn('x', 1, [1])",
    "predict_churn(age::VARCHAR, plan, monthly_spend)",
    "predict_churn(1e999, 'basic', -1e999)",
    "predict_churn(age, chr(0), monthly_spend)",
    "predict_churn(age, repeat('x', 100000), monthly_spend)",
    "predict_churn(age, plan, 'nan'::DOUBLE)",
    "predict_churn(170141183460469231731687303715884105727::HUGEINT, plan, monthly_spend)",
    "predict_churn_probabilities(NULL, plan, NULL)",
    "predict_churn(*)",
    "predict_churn(DISTINCT age, plan, monthly_spend)",
    "predict_churn(age, plan, monthly_spend) OVER ()",
    "predict_churn(age => 1, plan, monthly_spend)",
]


SCRATCH_MODELS = ["fz_m", "fz_r", "nope", '"fz m"', "fz.m"]


def _struct(rng: random.Random) -> str:
    fields = [
        f"{rng.choice(STRUCT_VALUES)} AS {rng.choice(STRUCT_FIELDS + ODD_FIELDS)}"
        for _ in range(rng.choice([1, 1, 2, 3]))
    ]
    return f"STRUCT({', '.join(fields)})"


def _ml_call(rng: random.Random) -> str:
    model = rng.choice(BASE_MODELS * 4 + MISSING_MODELS)
    args = [f"MODEL {model}"]
    if rng.random() < 0.7:
        args.append(rng.choice(INPUTS))
    if rng.random() < 0.4:
        args.append(
            rng.choice(
                [
                    _struct(rng),
                    _struct(rng),
                    "GENERATE_ARRAY(0.1, 0.9, 0.2)",
                    rng.choice(ODD_VALUES[18:31]),
                    "[0.25, 0.5]",
                    "[" + ", ".join(rng.choice(ODD_NUMBERS[:10]) for _ in range(3)) + "]",
                ]
            )
        )
    if rng.random() < 0.1:
        rng.shuffle(args)
    return f"ML.{rng.choice(FUNCTIONS)}({', '.join(args)})"


def _option_value(rng: random.Random, name: str) -> str:
    """Mostly a value the option accepts, at or near its limits; sometimes an odd one."""
    option = OPTIONS.get(name)
    if option is None or rng.random() < 0.3:
        return _value(rng)
    if option.choices:
        return repr(rng.choice(option.choices))
    low = option.low if option.low is not None else -1
    high = option.high if option.high is not None else 10
    if option.kind == "int":
        return str(rng.choice([int(low), int(low) + 1, int(low) - 1, 2, 3, int(high), 7]))
    if option.kind == "float":
        return repr(rng.choice([low, high, (low + high) / 2, low + 1e-9, 0.001, 0.999, 1e-300]))
    if option.kind == "bool":
        return rng.choice(["TRUE", "FALSE"])
    if option.kind == "int_list":
        return rng.choice(["[1]", "[2, 2]", "[8, 1, 8]", "[]", "[0]"])
    if option.kind == "str_list":
        return rng.choice(["['churned']", "['age', 'plan']", "[]", "['roc_auc', 'log_loss']"])
    if option.kind == "map":
        return rng.choice(
            [
                "[STRUCT(TRUE AS label, 2.0 AS weight), STRUCT(FALSE AS label, 0.5 AS weight)]",
                "[STRUCT('x' AS label, 1 AS weight)]",
                '\'{"true": 3, "false": 1}\'',
                "[]",
            ]
        )
    return rng.choice(["'is_eval'", "'age'", "'customer_id'", "'nope'", "''", "'churned'"])


def _training(rng: random.Random) -> str:
    """CREATE MODEL (BigQuery form) with odd options and odd data."""
    model_type = rng.choice(MODEL_TYPES)
    options = [f"model_type = {model_type}"]
    if rng.random() < 0.8:
        options.append(f"input_label_cols = [{rng.choice(LABELS)}]")
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        name = rng.choice(ODD_OPTION_NAMES)
        options.append(f"{name} = {_option_value(rng, name)}")
    if model_type == "'onnx'" or rng.random() < 0.05:
        options.append(f"model_path = {rng.choice(PATHS)}")
    if rng.random() < 0.1:
        rng.shuffle(options)
    name = rng.choice(["fz_m", "fz_m", '"fz m"', "fz.m", "fz_ü"])
    transform = ""
    if rng.random() < 0.15:
        transform = (
            "TRANSFORM ("
            + rng.choice(
                [
                    "ML.STANDARD_SCALER(age) OVER () AS age_s, plan, churned",
                    "ML.MIN_MAX_SCALER(monthly_spend) OVER () AS m, churned",
                    "ML.BUCKETIZE(age, [30, 50]) AS band, churned",
                    "ML.BUCKETIZE(age, []) AS band, churned",
                    "ML.ONE_HOT_ENCODER(plan) OVER () AS p, churned",
                    "age // 0 AS z, churned",
                    "*",
                    "nope, churned",
                    "ML.STANDARD_SCALER(plan) OVER () AS p, churned",
                    "age AS churned",
                ]
            )
            + ") "
        )
    query = (
        ""
        if model_type == "'onnx'" and rng.random() < 0.7
        else f" AS {rng.choice(TRAINING_QUERIES)}"
    )
    return f"CREATE OR REPLACE MODEL {name} {transform}OPTIONS ({', '.join(options)}){query}"


def _redshift(rng: random.Random) -> str:
    source = rng.choice(
        ["customers", "(" + rng.choice(TRAINING_QUERIES) + ")", "t", "nope", '"a b"']
    )
    target = rng.choice(["churned", "monthly_spend", "plan", "age", "nope", '"Churned"', "y"])
    function = rng.choice(["fz_fn", "fz_fn", "predict_churn", "sum", "ML", '"fz fn"', "fz_fn_p"])
    parts = [f"CREATE OR REPLACE MODEL fz_r FROM {source} TARGET {target} FUNCTION {function}"]
    if rng.random() < 0.3:
        parts.append(f"RETURNS {rng.choice(['VARCHAR', 'DOUBLE', 'INT', 'BOOLEAN', 'nope'])}")
    if rng.random() < 0.5:
        parts.append(f"MODEL_TYPE {rng.choice(['XGBOOST', 'MLP', 'LINEAR_LEARNER', 'KMEANS'])}")
    if rng.random() < 0.5:
        problem = ["REGRESSION", "BINARY_CLASSIFICATION", "MULTICLASS_CLASSIFICATION"]
        parts.append(f"PROBLEM_TYPE {rng.choice(problem)}")
    if rng.random() < 0.4:
        key = rng.choice(["NUM_ROUND", "MAX_DEPTH", "K", "ETA", "NOPE", "num_round"])
        value = rng.choice(["'3'", "'0'", "'-1'", "'x'", "''", "'1e999'", f"'{HUGE_INT}'", "'2.5'"])
        parts.append(f"HYPERPARAMETERS DEFAULT EXCEPT ({key} {value})")
    if rng.random() < 0.2:
        parts.append(f"SETTINGS (MAX_RUNTIME {rng.choice(['1', '0', '-1', HUGE_INT])})")
    return " ".join(parts)


def structured(rng: random.Random, tmp: Path) -> str:
    kind = rng.random()
    if kind < 0.35:
        call = _ml_call(rng)
        sql = rng.choice(
            [
                f"SELECT * FROM {call}",
                f"SELECT * FROM {call}",
                f"SELECT count(*) FROM {call}",
                f"SELECT * FROM {call} AS p JOIN customers USING (customer_id)",
                f"SELECT * FROM {call} UNION ALL SELECT * FROM {call}",
                f"EXPLAIN SELECT * FROM {call}",
                f"CREATE OR REPLACE TABLE fz_scored AS SELECT * FROM {call}",
                f"WITH w AS (SELECT * FROM {call}) SELECT * FROM w",
            ]
        )
    elif kind < 0.6:
        sql = _training(rng)
    elif kind < 0.72:
        sql = _redshift(rng)
    elif kind < 0.85:
        sql = f"SELECT {rng.choice(FUNCTION_CALLS)} FROM customers"
        if rng.random() < 0.2:
            sql += f", {rng.choice(INPUTS[6:])} AS q"
    else:
        model = rng.choice(BASE_MODELS + MISSING_MODELS[:6] + ["fz_m", "fz_r"])
        sql = rng.choice(
            [
                f"EXPORT MODEL {model} OPTIONS (uri = {rng.choice(PATHS)})",
                f"EXPORT MODEL {model} OPTIONS (uri = {rng.choice(PATHS)}, nope = 1)",
                f"EXPORT MODEL {model} OPTIONS ()",
                f"EXPORT MODEL {model}",
                f"SHOW MODEL {model}",
                f"DROP MODEL IF EXISTS {rng.choice(SCRATCH_MODELS)}",
                "SHOW MODEL ALL",
                "SHOW MODELS",
            ]
        )
    return make_safe(sql.replace("{tmp}", str(tmp)), tmp, rng)


# --- parameters ---------------------------------------------------------------------------------

NO_PARAMETERS = object()


class Opaque:
    def __repr__(self) -> str:
        return "Opaque()"


PARAMETERS: list[Callable[[], Any]] = [
    lambda: [],
    lambda: (),
    lambda: [1],
    lambda: [1, 2],
    lambda: ("north", 0.5),
    lambda: ["x"] * 7,
    lambda: [None],
    lambda: [1.5, "a", None],
    lambda: {"name": 1},
    lambda: {"name": "x", "other": None},
    lambda: {},
    lambda: [10**40],
    lambda: [-(10**40)],
    lambda: [float("nan")],
    lambda: [float("inf")],
    lambda: [b"\x00\xff"],
    lambda: [bytearray(b"x")],
    lambda: [Opaque()],
    lambda: [[1, 2]],
    lambda: [{"a": 1}],
    lambda: [dt.date(2024, 1, 1)],
    lambda: [dt.timedelta(days=1)],
    lambda: ["\x00"],
    lambda: ["x" * 100_000],
    lambda: [True],
    lambda: 42,
    lambda: "ab",
    lambda: b"ab",
    lambda: (x for x in [1]),
    lambda: {1: "a"},
    lambda: [[]],
    lambda: [{}],
    lambda: [set()],
    lambda: [1j],
]


# --- running ------------------------------------------------------------------------------------


@dataclass
class Fuzz:
    """One connection, its base state, and the offenders found so far."""

    path: Path
    tmp: Path
    dialect: str | None = None  # connect(dialect=...), after the setup in DuckDB's own SQL
    con: sqlml.Connection = field(init=False)
    state: Any = None
    offenders: list[str] = field(default_factory=list)
    count: int = 0
    restores: int = 0
    slowest: list[tuple[float, str]] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.open(None)
        for sql in SETUP_TABLES.values():
            self.con.cursor().execute(sql)
        for _, sql in SETUP_MODELS.values():
            self.con.cursor().execute(sql)
        self.state = self.read_state()
        if self.dialect is not None:
            self.con.close()
            self.open(self.dialect)
        self.started = time.perf_counter()

    def open(self, dialect: str | None) -> None:
        self.con = sqlml.connect(str(self.path), dialect=dialect)
        cur = self.con.cursor()
        cur.execute("SET autoinstall_known_extensions = false")  # no network, ever
        cur.execute("SET autoload_known_extensions = false")
        self.cursor = self.con.cursor()

    def read_state(self) -> Any:
        return self.con.cursor().execute(STATE_SQL).fetchall()

    def restore(self) -> None:
        """Put back what a statement dropped or replaced (rare: see protect_base)."""
        self.restores += 1
        if self.dialect is not None:  # the setup is DuckDB SQL
            self.con.close()
            self.open(None)
        cur = self.con.cursor()
        for name, sql in SETUP_TABLES.items():
            try:
                cur.execute(sql)
            except sqlml.Error:  # a table where a view was, or the other way round
                for kind in ("TABLE", "VIEW"):
                    with contextlib.suppress(sqlml.Error):
                        cur.execute(f"DROP {kind} IF EXISTS {name}")
                cur.execute(sql)
        columns, models = self.state[0]
        now = self.read_state()[0][1] or ""
        for name, (kind, sql) in SETUP_MODELS.items():
            if f"{name}:{kind}" not in now.split(","):
                cur.execute(f"DROP MODEL IF EXISTS {name}")
                cur.execute(sql)
        assert self.read_state() == self.state
        if self.dialect is not None:
            self.con.close()
            self.open(self.dialect)

    def offend(self, what: str, sql: str, parameters: Any, exc: BaseException | None) -> None:
        shown = "" if parameters is NO_PARAMETERS else f"  parameters={parameters!r}\n"
        report = f"{what}\n  statement={sql!r}\n{shown}  exception={exc!r}"
        print(report)
        self.offenders.append(report)

    def run(self, sql: str, parameters: Any = NO_PARAMETERS) -> bool:
        """Run one statement and check the invariant; True if it ran without an error."""
        self.count += 1
        sql = make_safe(sql.replace(str(TMP), str(self.tmp)), self.tmp, None)
        ok = False
        cur = self.cursor
        started = time.perf_counter()
        try:
            if parameters is NO_PARAMETERS:
                cur.execute(sql)
            else:
                cur.execute(sql, parameters)
            # fetchmany first: a cross join of three tables should not build millions of rows
            if cur.description is not None and len(cur.fetchmany(2000)) < 2000:
                cur.fetchall()
            self.outcomes["ok"] += 1
            ok = True
        except sqlml.InternalError as exc:
            self.offend("InternalError (a bug)", sql, parameters, exc)
        except sqlml.Error as exc:
            self.outcomes[type(exc).__name__] += 1
        except Exception as exc:  # anything else escaped the PEP 249 hierarchy
            self.offend("not a sqlml.Error", sql, parameters, exc)
        elapsed = time.perf_counter() - started
        self.slowest = sorted([*self.slowest, (elapsed, sql[:200])], reverse=True)[:5]
        self.check(sql, parameters)
        return ok

    def check(self, sql: str, parameters: Any) -> None:
        try:
            cur = self.con.cursor()
            cur.execute("SELECT 1")
            assert cur.fetchall() == [(1,)]
            state = self.read_state()
        except Exception as exc:
            self.offend("the connection no longer answers SELECT 1", sql, parameters, exc)
            with contextlib.suppress(Exception):
                self.con.close()
            self.open(self.dialect)
            state = self.read_state()
        if state != self.state:
            self.restore()

    def report(self, name: str) -> None:
        """Print what ran since the last report; fail if any statement broke the invariant."""
        print(
            f"\n{name}: {self.count} statements in {time.perf_counter() - self.started:.1f} s, "
            f"{self.restores} restores; {dict(self.outcomes.most_common())}; slowest: "
            + "; ".join(f"{s:.2f}s {q!r}" for s, q in self.slowest)
        )
        offenders = self.offenders
        self.offenders, self.count, self.slowest, self.restores = [], 0, [], 0
        self.outcomes.clear()
        self.started = time.perf_counter()
        assert not offenders, f"{len(offenders)} offenders:\n" + "\n".join(
            o[:2000] for o in offenders
        )


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    tmp = tmp_path_factory.mktemp("fuzz")
    (tmp / "sub").mkdir()
    cwd = os.getcwd()
    os.chdir(tmp)  # relative paths in the statements land here
    try:
        runner = Fuzz(tmp / "f.duckdb", tmp)
        cur = runner.con.cursor()
        cur.execute(f"EXPORT MODEL churn OPTIONS (uri = '{tmp / 'churn.onnx'}')")
        onnx = (tmp / "churn.onnx").read_bytes()
        (tmp / "truncated.onnx").write_bytes(onnx[: len(onnx) // 2])
        (tmp / "empty.onnx").write_bytes(b"")
        (tmp / "not_onnx.onnx").write_text("customer_id,age\n1,2\n")
        yield runner
        runner.con.close()
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def fuzz_bigquery(fuzz: Fuzz) -> Iterator[Fuzz]:
    """The same tables and models in a second file, on a connection that reads BigQuery SQL (every
    statement transpiled to DuckDB's by sqlglot)."""
    runner = Fuzz(fuzz.tmp / "bigquery.duckdb", fuzz.tmp, dialect="bigquery")
    yield runner
    runner.con.close()


@dataclass
class Corpus:
    statements: list[str]
    good: list[str]  # those that ran without an error: their mutants get far

    def pick(self, rng: random.Random, good: float = 0.7) -> str:
        return rng.choice(self.good if rng.random() < good else self.statements)


@pytest.fixture(scope="module")
def corpus(fuzz: Fuzz) -> Corpus:
    """The corpus, run once as written (the first test reports what that found)."""
    statements = load_corpus(TMP)
    good = [sql for sql in statements if fuzz.run(sql)]
    return Corpus(statements, good)


def _run_mutants(
    fuzz: Fuzz,
    corpus: Corpus,
    seed: int,
    n: int,
    mutations: list[Callable[..., list[Tok]]],
    times: tuple[int, ...] = (1, 1, 1, 2, 2, 3, 4),
    parameters: float = 0.0,
) -> None:
    rng = random.Random(seed)
    for _ in range(n):
        sql = mutate(rng, corpus.pick(rng), mutations, TMP, times)
        if rng.random() < parameters:
            fuzz.run(sql, rng.choice(PARAMETERS)())
        else:
            fuzz.run(sql)
    fuzz.report(f"seed {seed}")


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_the_corpus_as_written(fuzz: Fuzz, corpus: Corpus) -> None:
    """Every statement of the corpus, unmutated (with the paths and numbers made safe); the
    fixture ran them."""
    assert len(corpus.statements) > 150
    assert len(corpus.good) > 50
    fuzz.report("corpus")


@pytest.mark.timeout(300)
def test_a_few_hundred_mutants(fuzz: Fuzz, corpus: Corpus) -> None:
    """The quick part: a sample of every kind of mutation (the slow tests below run more)."""
    _run_mutants(fuzz, corpus, seed=9, n=300, mutations=TOKEN_MUTATIONS, parameters=0.1)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_token_mutations(fuzz: Fuzz, corpus: Corpus, seed: int) -> None:
    """Tokens deleted, duplicated, swapped, inserted from the vocabulary; deep parentheses;
    truncation; NUL bytes; odd literals, model names and options."""
    _run_mutants(fuzz, corpus, seed=seed, n=400, mutations=TOKEN_MUTATIONS)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", [11, 12])
def test_odd_values_models_and_options(fuzz: Fuzz, corpus: Corpus, seed: int) -> None:
    """Literals, model names and option values swapped for odd ones, one or two at a time, so
    statements stay well formed and reach option validation, the catalog, training and scoring."""
    _run_mutants(fuzz, corpus, seed=seed, n=400, mutations=TARGETED_MUTATIONS, times=(1, 1, 2))


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", [31, 32])
def test_well_formed_statements_with_odd_parts(fuzz: Fuzz, seed: int) -> None:
    """ML calls, trainings (BigQuery and Redshift forms), FUNCTION calls, EXPORT and SHOW built
    from a small grammar, with odd models, inputs, data, options and paths: they parse, and go as
    far as validation, training and scoring allow."""
    rng = random.Random(seed)
    for _ in range(250):
        sql = structured(rng, TMP)
        if rng.random() < 0.1:
            fuzz.run(sql, rng.choice(PARAMETERS)())
        else:
            fuzz.run(sql)
    fuzz.report(f"grammar, seed {seed}")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_bigquery_dialect(fuzz_bigquery: Fuzz, corpus: Corpus) -> None:
    """connect(dialect='bigquery'): mutants and grammar statements through sqlglot's transpiler
    (mostly DuckDB SQL, which it may refuse: a NotSupportedError is fine, an InternalError not)."""
    rng = random.Random(41)
    for _ in range(300):
        if rng.random() < 0.5:
            sql = structured(rng, TMP)
        else:
            sql = mutate(rng, corpus.pick(rng), TARGETED_MUTATIONS, TMP, (1, 1, 2))
        fuzz_bigquery.run(sql)
    fuzz_bigquery.report("bigquery dialect")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_parameters(fuzz: Fuzz, corpus: Corpus) -> None:
    """Parameters of the wrong count and types, with the corpus's statements lightly mutated or
    not at all (those with placeholders first)."""
    rng = random.Random(21)
    placeholders = [s for s in corpus.statements if re.search(r"\?|\$\d|\$name|:name", s)]
    for _ in range(300):
        base = rng.choice(placeholders) if rng.random() < 0.4 else corpus.pick(rng)
        if rng.random() < 0.5:
            base = mutate(rng, base, TARGETED_MUTATIONS, TMP, (1,))
        fuzz.run(base, rng.choice(PARAMETERS)())
    fuzz.report("parameters")
