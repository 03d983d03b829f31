"""Every user mistake raises the specific sqlml error, of the right PEP 249 class, naming the culprit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import sqlml
from sqlml import errors

DATA = """
    CREATE TABLE t AS
    SELECT i AS id, (i - 19.5)::DOUBLE AS x, ['p', 'q'][i % 2 + 1] AS cat, i >= 20 AS y,
           TIMESTAMP '2024-01-01' + INTERVAL (i) DAY AS ts, i % 4 = 0 AS is_eval
    FROM range(40) t(i)
"""


@pytest.fixture(scope="module")
def cur(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlml.Cursor]:
    path = tmp_path_factory.mktemp("errors") / "errors.duckdb"
    connection = sqlml.connect(str(path))
    cursor = connection.cursor()
    cursor.execute(DATA)
    cursor.execute(
        "CREATE MODEL good OPTIONS(model_type='logistic_reg', input_label_cols=['y']) "
        "AS SELECT x, cat, y FROM t"
    )
    yield cursor
    connection.close()


def bq(options: str, query: str = "SELECT x, cat, y FROM t", name: str = "bad") -> str:
    return f"CREATE MODEL {name} OPTIONS({options}) AS {query}"


LR = "model_type='logistic_reg', input_label_cols=['y']"

CASES = [
    # id, statement, error class, PEP 249 class, words the message must contain
    (
        "unknown-model-type",
        bq("model_type='gradient_magic', input_label_cols=['y']"),
        errors.OptionError,
        sqlml.ProgrammingError,
        ["gradient_magic", "logistic_reg"],
    ),
    (
        "unknown-option",
        bq(LR + ", max_iteration=3"),
        errors.OptionError,
        sqlml.ProgrammingError,
        ["max_iteration", "Did you mean 'max_iterations'"],
    ),
    (
        "max-tree-depth-0",
        bq("model_type='boosted_tree_classifier', input_label_cols=['y'], max_tree_depth=0"),
        errors.OptionError,
        sqlml.ProgrammingError,
        ["max_tree_depth", "0"],
    ),
    (
        "eval-fraction-1.5",
        bq(LR + ", data_split_eval_fraction=1.5"),
        errors.OptionError,
        sqlml.ProgrammingError,
        ["data_split_eval_fraction", "1.5"],
    ),
    (
        "l2-negative",
        bq(LR + ", l2_reg=-1"),
        errors.OptionError,
        sqlml.ProgrammingError,
        ["l2_reg", "-1"],
    ),
    (
        "wrong-type",
        bq(LR + ", max_iterations='ten'"),
        errors.OptionError,
        sqlml.ProgrammingError,
        ["max_iterations", "ten", "integer"],
    ),
    (
        "option-not-for-type",
        bq(LR + ", num_clusters=3"),
        errors.OptionError,
        sqlml.ProgrammingError,
        ["num_clusters", "logistic_reg", "kmeans"],
    ),
    (
        "label-not-in-query",
        bq("model_type='logistic_reg', input_label_cols=['churned']"),
        errors.SchemaError,
        sqlml.ProgrammingError,
        ["churned"],
    ),
    (
        "empty-training-set",
        bq(LR, "SELECT x, cat, y FROM t WHERE false"),
        errors.TrainingError,
        sqlml.DataError,
        ["bad", "no rows"],
    ),
    (
        "one-class-label",
        bq(LR, "SELECT x, cat, y FROM t WHERE y"),
        errors.TrainingError,
        sqlml.DataError,
        ["'y'", "one class"],
    ),
    (
        "regression-varchar-label",
        bq("model_type='linear_reg', input_label_cols=['cat']", "SELECT x, cat FROM t"),
        errors.SchemaError,
        sqlml.ProgrammingError,
        ["'cat'", "VARCHAR", "numeric"],
    ),
    (
        "blob-feature",  # a TIMESTAMP is a feature now (BigQuery's seconds and parts)
        bq(LR, "SELECT x, encode(cat) AS b, y FROM t"),
        errors.SchemaError,
        sqlml.ProgrammingError,
        ["'b'", "BLOB", "cast", "EXCLUDE"],
    ),
    (
        "custom-split-without-col",
        bq(LR + ", data_split_method='CUSTOM'"),
        errors.SchemaError,
        sqlml.ProgrammingError,
        ["CUSTOM", "data_split_col"],
    ),
    (
        "existing-model",
        bq(LR, name="good"),
        errors.ModelExistsError,
        sqlml.IntegrityError,
        ["'good'"],
    ),
    (
        "predict-unknown-model",
        "SELECT * FROM ML.PREDICT(MODEL nope, TABLE t)",
        errors.ModelNotFoundError,
        sqlml.ProgrammingError,
        ["'nope'", "ML.PREDICT"],
    ),
    (
        "evaluate-unknown-model",
        "SELECT * FROM ML.EVALUATE(MODEL nope)",
        errors.ModelNotFoundError,
        sqlml.ProgrammingError,
        ["'nope'", "ML.EVALUATE"],
    ),
    (
        "drop-unknown-model",
        "DROP MODEL nope",
        errors.ModelNotFoundError,
        sqlml.ProgrammingError,
        ["'nope'", "DROP MODEL"],
    ),
    (
        "export-unknown-model",
        "EXPORT MODEL nope OPTIONS(uri='/tmp/nope.onnx')",
        errors.ModelNotFoundError,
        sqlml.ProgrammingError,
        ["'nope'", "EXPORT MODEL"],
    ),
    (
        "show-unknown-model",
        "SHOW MODEL nope",
        errors.ModelNotFoundError,
        sqlml.ProgrammingError,
        ["'nope'", "SHOW MODEL"],
    ),
    (
        "predict-missing-feature",
        "SELECT * FROM ML.PREDICT(MODEL good, (SELECT x, y FROM t))",
        errors.SchemaError,
        sqlml.ProgrammingError,
        ["'cat'"],
    ),
    (
        "feature-type-changed",
        "SELECT * FROM ML.PREDICT(MODEL good, (SELECT x, (id % 2)::INTEGER AS cat FROM t))",
        errors.SchemaError,
        sqlml.ProgrammingError,
        ["'cat'", "VARCHAR", "INTEGER"],
    ),
]


@pytest.mark.parametrize(
    ("sql", "cls", "pep249", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_error(cur: sqlml.Cursor, sql: str, cls: type, pep249: type, words: list[str]) -> None:
    with pytest.raises(cls) as caught:
        cur.execute(sql)
    assert isinstance(caught.value, sqlml.Error)
    assert isinstance(caught.value, pep249)
    for word in words:
        assert word in str(caught.value)


def test_no_model_was_stored_by_failures(cur: sqlml.Cursor) -> None:
    cur.execute("SELECT name FROM sqlml.models")
    assert cur.fetchall() == [("good",)]


def test_syntax_error_has_line_and_column(cur: sqlml.Cursor) -> None:
    sql = (
        "SELECT 1;\n"  # line 1
        "CREATE MODEL m\n"  # line 2
        "  OPTIONS(model_type='linear_reg'\n"  # line 3
        "          input_label_cols=['y'])\n"  # line 4: the missing comma is here
        "AS SELECT * FROM t"
    )
    with pytest.raises(errors.SQLSyntaxError) as caught:
        cur.execute(sql)
    error = caught.value
    assert isinstance(error, sqlml.ProgrammingError)
    assert error.line == 4
    assert error.col == 11  # 'input_label_cols' starts after 10 spaces
    assert "line 4" in str(error)
    assert "column 11" in str(error)


def test_predict_error_names_the_closest_column(cur: sqlml.Cursor) -> None:
    with pytest.raises(errors.SchemaError, match="'CAT'"):
        cur.execute('SELECT * FROM ML.PREDICT(MODEL good, (SELECT x, cat AS "CAT" FROM t))')


def test_bad_threshold(cur: sqlml.Cursor) -> None:
    with pytest.raises(errors.OptionError, match="threshold"):
        cur.execute("SELECT * FROM ML.PREDICT(MODEL good, TABLE t, STRUCT(1.5 AS threshold))")


def test_error_classes_hierarchy() -> None:
    assert issubclass(errors.OptionError, sqlml.ProgrammingError)
    assert issubclass(errors.SchemaError, sqlml.ProgrammingError)
    assert issubclass(errors.ModelNotFoundError, sqlml.ProgrammingError)
    assert issubclass(errors.SQLSyntaxError, sqlml.ProgrammingError)
    assert issubclass(errors.ModelExistsError, sqlml.IntegrityError)
    assert issubclass(errors.TrainingError, sqlml.DataError)
    for cls in (sqlml.ProgrammingError, sqlml.IntegrityError, sqlml.DataError):
        assert issubclass(cls, sqlml.DatabaseError)
        assert issubclass(cls, sqlml.Error)


def test_parameters_rejected_for_create_model(tmp_path: Path) -> None:
    with sqlml.connect(str(tmp_path / "p.duckdb")) as con:
        con.execute(DATA)
        with pytest.raises(sqlml.ProgrammingError, match="Parameters"):
            con.execute(bq(LR, "SELECT x, cat, y FROM t WHERE x > ?"), [0])


def test_a_missing_table_is_not_matched_to_duckdbs_catalog_views(tmp_path: Path) -> None:
    """DuckDB suggests its own catalog views for a missing table ("Did you mean
    pg_prepared_statements?" for orders): sqlml drops those and keeps suggestions of the user's."""
    con = sqlml.connect(str(tmp_path / "s.duckdb"))
    cur = con.cursor()
    cur.execute("CREATE TABLE customers (a INTEGER)")
    for missing in ("orders", "events", "sales"):
        with pytest.raises(sqlml.ProgrammingError) as info:
            cur.execute(f"SELECT * FROM {missing}")
        text = str(info.value)
        assert f"{missing} does not exist" in text and "SHOW TABLES lists" in text
        assert "pg_" not in text and "sqlite_" not in text and "duckdb_" not in text
    with pytest.raises(sqlml.ProgrammingError, match='Did you mean "customers"'):
        cur.execute("SELECT * FROM custmers")
    con.close()
