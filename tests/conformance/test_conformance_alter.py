"""ALTER MODEL ... SET OPTIONS, expiration, and the BigQuery ML statements sqlml does not run
(yet), on both engines.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-alter-model:
``ALTER MODEL [IF EXISTS] name SET OPTIONS (expiration_timestamp = ..., description = ...,
labels = [(key, value), ...], ...)``; with IF EXISTS a missing model is no error. BigQuery deletes
a model past its expiration_timestamp; sqlml keeps it, refuses to use it, and says how to extend
it (a local tool does not drop a user's work on its own).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from conformance_data import X1, X2, reg

import sqlml
from sqlml.errors import ModelNotFoundError

CREATE = (
    "CREATE MODEL {name} OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
    "description = 'first cut', labels = [('team', 'growth')]) AS SELECT x1, x2, y FROM c_alt_reg"
)
PREDICT = "SELECT x1, predicted_y FROM ML.PREDICT(MODEL {name}, TABLE c_alt_reg) ORDER BY x1"


def shown(backend: Any, name: str) -> dict[str, str]:
    return dict(backend.rows(f"SHOW MODEL {name}"))


def test_alter_model_changes_what_show_model_says_and_nothing_else(
    backend: Any, tmp_path: Path
) -> None:
    backend.load("c_alt_reg", reg())
    backend.run(CREATE.format(name="c_alt"))
    before = shown(backend, "c_alt")
    assert (before["Description"], before["Labels"], before["Expiration"]) == (
        "first cut",
        "team:growth",
        "",
    )
    predictions = backend.rows(PREDICT.format(name="c_alt"))

    backend.run(
        "ALTER MODEL c_alt SET OPTIONS (description = 'weekly retrain', "
        "labels = [('team', 'retention'), ('tier', 'gold')], "
        "expiration_timestamp = TIMESTAMP '2999-01-01 00:00:00 UTC')"
    )
    after = shown(backend, "c_alt")
    assert after["Description"] == "weekly retrain"
    assert after["Labels"] == "team:retention, tier:gold"  # a new list replaces the labels
    assert after["Expiration"] == "2999-01-01 00:00:00 UTC"
    assert after["Model State"] == "READY"
    assert int(after["Version"]) == int(before["Version"]) + 1
    unchanged = ("Model Type", "Created", "Target Column", "Training Query", "Metric: r2_score")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert backend.rows(PREDICT.format(name="c_alt")) == predictions

    # The exported ONNX file carries the new options too.
    path = tmp_path / "c_alt.onnx"
    backend.run(f"EXPORT MODEL c_alt OPTIONS (uri = '{path}')")
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    options = json.loads(props["sqlml.options"])
    assert options["description"] == "weekly retrain"
    assert options["labels"] == {"team": "retention", "tier": "gold"}
    assert props["sqlml.version"] == after["Version"]

    # Options left out stay; NULL removes one.
    backend.run("ALTER MODEL c_alt SET OPTIONS (description = NULL)")
    last = shown(backend, "c_alt")
    assert (last["Description"], last["Labels"]) == ("", "team:retention, tier:gold")


def test_an_expired_model_is_refused_until_extended(backend: Any) -> None:
    backend.load("c_alt_reg", reg())
    backend.run(CREATE.format(name="c_exp"))
    backend.run(
        "ALTER MODEL c_exp SET OPTIONS (expiration_timestamp = TIMESTAMP '2001-02-03 04:05:06 UTC')"
    )
    assert shown(backend, "c_exp")["Model State"] == "EXPIRED"
    assert "c_exp" in {row[0] for row in backend.rows("SHOW MODEL ALL")}
    message = (
        r"^Model 'c_exp' expired at 2001-02-03 04:05:06 UTC \(its expiration_timestamp\); "
        r"ML\.PREDICT cannot use it\. Extend it with ALTER MODEL c_exp SET OPTIONS"
    )
    with pytest.raises(sqlml.ProgrammingError, match=message):
        backend.rows(PREDICT.format(name="c_exp"))
    with pytest.raises(sqlml.ProgrammingError, match="EXPORT MODEL cannot use it"):
        backend.run("EXPORT MODEL c_exp OPTIONS (uri = '/tmp/never.onnx')")

    backend.run("ALTER MODEL c_exp SET OPTIONS (expiration_timestamp = NULL)")
    rows = backend.rows(PREDICT.format(name="c_exp"))
    # y = 3·x1 − 0.5·x2 + 2 (+ small noise): the least-squares fit, by numpy
    design = np.column_stack([X1, X2, np.ones_like(X1)])
    target = np.array(reg().column("y").to_pylist())
    coef = np.linalg.lstsq(design, target, rcond=None)[0]
    order = np.argsort(X1)
    expected = (design @ coef)[order]
    assert np.allclose([r[1] for r in rows], expected, atol=1e-6)
    backend.run("DROP MODEL c_exp")


def test_expiration_computed_by_the_engine(backend: Any) -> None:
    """An expression, as BigQuery's examples write one: evaluated once, when the statement runs."""
    backend.load("c_alt_reg", reg())
    backend.run(CREATE.format(name="c_exp7"))
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    backend.run(
        "ALTER MODEL c_exp7 SET OPTIONS (expiration_timestamp = CURRENT_TIMESTAMP + INTERVAL 7 DAY)"
    )
    end = dt.datetime.now(dt.UTC)
    text = shown(backend, "c_exp7")["Expiration"]
    expires = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=dt.UTC)
    assert start + dt.timedelta(days=7) <= expires + dt.timedelta(seconds=1)
    assert expires <= end + dt.timedelta(days=7)


def test_if_exists_and_a_missing_model(backend: Any) -> None:
    cur = backend.run("ALTER MODEL IF EXISTS c_missing SET OPTIONS (description = 'x')")
    assert any("does not exist" in str(m[1]) for m in cur.messages)
    with pytest.raises(ModelNotFoundError, match="There is no model 'c_missing' in ALTER MODEL"):
        backend.run("ALTER MODEL c_missing SET OPTIONS (description = 'x')")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "ALTER MODEL c_alt SET DEFAULT_VERSION = v2",
            r"^ALTER MODEL \.\.\. SET DEFAULT_VERSION is not supported yet",
        ),
        (
            "ALTER MODEL c_alt VERSION v1 SET ALIAS = production",
            r"^ALTER MODEL \.\.\. VERSION is not supported yet",
        ),
        (
            "SELECT * FROM ML.VALIDATE_DATA_SKEW(MODEL c_alt, TABLE c_alt_reg)",
            r"^ML\.VALIDATE_DATA_SKEW is not supported yet; ",
        ),
        (
            "SELECT * FROM ML.HOLIDAY_INFO(MODEL c_alt)",
            r"^ML\.HOLIDAY_INFO is not supported yet; ",
        ),
        (
            "SELECT * FROM ML.GENERATE_TEXT(MODEL c_alt, TABLE c_alt_reg)",
            r"^ML\.GENERATE_TEXT is not supported: it calls a model or an API in Google Cloud",
        ),
        (
            "SELECT ML.STANDARD_SCALER(x1) OVER () AS s FROM c_alt_reg",
            r"^ML\.STANDARD_SCALER outside TRANSFORM is not supported yet",
        ),
        (
            "CREATE MODEL c_llm REMOTE WITH CONNECTION DEFAULT OPTIONS (endpoint = 'gemini')",
            r"^CREATE MODEL \.\.\. REMOTE WITH CONNECTION is not supported: ",
        ),
        (
            # https://cloud.google.com/bigquery/docs/reference/standard-sql/export-statements
            "EXPORT DATA OPTIONS (uri = '/tmp/c_alt_*.csv', format = 'CSV', overwrite = true) "
            "AS SELECT * FROM c_alt_reg",
            r"^EXPORT DATA is not supported yet; write the rows with the engine's own statement",
        ),
    ],
)
def test_statements_sqlml_does_not_run_say_so(
    backend: Any, capfd: pytest.CaptureFixture[str], sql: str, message: str
) -> None:
    backend.load("c_alt_reg", reg())
    capfd.readouterr()
    with pytest.raises(sqlml.NotSupportedError, match=message):
        backend.run(sql)
    assert capfd.readouterr().err == ""
