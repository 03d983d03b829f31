"""One model per group (sqlml.training.groups, the training half of issue 13's PARTITION BY): the
split by one and two columns with NULL as a group, each group's linear_reg against numpy's least
squares on that group's rows, skipped and failed groups recorded without failing the call, the
worker pool giving the same models as training in process, and the groups counted as progress."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sqlml_udfs.scoring import Scorer

from sqlml import progress
from sqlml.errors import ProgrammingError
from sqlml.models.options import validate
from sqlml.training.groups import fit_groups, split_groups

SLOPES = {("a", 1): (2.0, 1.0), ("a", 2): (-1.0, 3.0), ("b", 1): (0.5, -2.0), (None, 1): (4.0, 0.0)}


def sales(rows_per_group: int = 60) -> pa.Table:
    rng = np.random.default_rng(0)
    shop, period, x, y = [], [], [], []
    for (s, p), (slope, intercept) in SLOPES.items():
        xs = rng.uniform(0, 10, rows_per_group)
        shop += [s] * rows_per_group
        period += [p] * rows_per_group
        x += xs.tolist()
        y += (slope * xs + intercept + rng.normal(0, 0.1, rows_per_group)).tolist()
    return pa.table({"shop": shop, "period": period, "x": x, "y": y})


def options(**extra: object) -> object:
    return validate({"model_type": "linear_reg", "data_split_method": "no_split", **extra}, "m")


def test_split_by_two_columns_with_null_as_a_group() -> None:
    table = sales(10)
    groups = split_groups(table, ["shop", "period"])
    assert [key for key, _ in groups] == [(None, 1), ("a", 1), ("a", 2), ("b", 1)]
    for key, part in groups:
        assert part.column_names == ["x", "y"]  # the partition columns are not features
        mask = [
            (s, p) == key
            for s, p in zip(table["shop"].to_pylist(), table["period"].to_pylist(), strict=True)
        ]
        assert part["x"].to_pylist() == [
            v for v, m in zip(table["x"].to_pylist(), mask, strict=True) if m
        ]
    assert [key for key, _ in split_groups(table, ["shop"])] == [(None,), ("a",), ("b",)]
    with pytest.raises(ProgrammingError, match="PARTITION BY names nope"):
        split_groups(table, ["nope"])


def _predictions(outcome, part: pa.Table) -> np.ndarray:
    scorer = Scorer(outcome.trained.onnx, outcome.trained.spec)
    ((_name, values),) = scorer.predict_columns({"x": part["x"].combine_chunks()})
    return np.asarray(values)


def test_each_group_fits_its_own_rows() -> None:
    table = sales()
    outcomes, fallback = fit_groups(
        table, ["shop", "period"], model="m", options=options(), label="y"
    )
    assert fallback is None
    assert [(o.key, o.rows, o.status) for o in outcomes] == [
        ((None, 1), 60, "trained"),
        (("a", 1), 60, "trained"),
        (("a", 2), 60, "trained"),
        (("b", 1), 60, "trained"),
    ]
    for outcome, (_key, part) in zip(
        outcomes, split_groups(table, ["shop", "period"]), strict=True
    ):
        x = np.asarray(part["x"]), np.asarray(part["y"])
        design = np.column_stack([x[0], np.ones_like(x[0])])
        coef, *_ = np.linalg.lstsq(design, x[1], rcond=None)  # the textbook fit, by hand
        np.testing.assert_allclose(_predictions(outcome, part), design @ coef, rtol=1e-4, atol=1e-3)
        slope, intercept = SLOPES[outcome.key]
        assert abs(coef[0] - slope) < 0.05 and abs(coef[1] - intercept) < 0.2


def test_small_and_failing_groups_do_not_fail_the_call() -> None:
    table = pa.table(
        {
            "g": ["one class"] * 40 + ["fine"] * 40 + ["tiny"] * 3,
            "x": [float(i % 10) for i in range(83)],
            "y": [1] * 40 + [int(i % 10 >= 5) for i in range(40)] + [0, 1, 0],
        }
    )
    logistic = validate({"model_type": "logistic_reg", "data_split_method": "no_split"}, "m")
    outcomes, _ = fit_groups(
        table, ["g"], model="m", options=logistic, label="y", min_group_rows=10
    )
    by_key = {o.key: o for o in outcomes}
    assert by_key[("fine",)].status == "trained"
    assert by_key[("tiny",)].status == "skipped"
    assert by_key[("tiny",)].reason == "3 rows, fewer than min_group_rows = 10"
    assert by_key[("one class",)].status == "failed"
    assert "class" in by_key[("one class",)].reason and by_key[("one class",)].trained is None


@pytest.mark.slow
def test_the_worker_pool_trains_the_same_models_and_counts_groups() -> None:
    table = sales()
    reports: list[progress.Progress] = []
    with progress.reporting("CREATE MODEL m", [reports.append]):
        pooled, fallback = fit_groups(
            table,
            ["shop", "period"],
            model="m",
            options=options(),
            label="y",
            workers=2,
            fallback=True,
        )
    here, _ = fit_groups(table, ["shop", "period"], model="m", options=options(), label="y")
    groups = split_groups(table, ["shop", "period"])
    for a, b, (_key, part) in zip(pooled, here, groups, strict=True):
        assert (a.key, a.status) == (b.key, b.status)
        np.testing.assert_allclose(_predictions(a, part), _predictions(b, part), rtol=1e-6)
    # the fallback: one line through every row, by hand
    x, y = np.asarray(table["x"]), np.asarray(table["y"])
    design = np.column_stack([x, np.ones_like(x)])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    assert fallback is not None and fallback.status == "trained" and fallback.rows == len(x)
    np.testing.assert_allclose(_predictions(fallback, table), design @ coef, rtol=1e-4, atol=1e-3)
    counts = [r.done for r in reports if r.unit == "groups" and r.done is not None]
    assert counts == sorted(counts) and counts[-1] == 4
    assert all(r.total == 4 for r in reports if r.unit == "groups" and r.total is not None)


@pytest.mark.slow
def test_a_cancel_stops_the_pool() -> None:
    # 24 groups of a 200-tree forest each: the first group's count cancels; the call raises
    # OperationalError (a cancel) long before the groups could all train, and the workers end
    from sqlml.cancel import CancelFlag, watching
    from sqlml.errors import OperationalError

    table = pa.table(
        {
            "g": [i % 24 for i in range(24 * 400)],
            "x": [float(i % 97) for i in range(24 * 400)],
            "y": [float(i % 13) for i in range(24 * 400)],
        }
    )
    forest = validate({"model_type": "random_forest_regressor", "num_parallel_tree": 200}, "m")
    flag = CancelFlag()

    def cancel_at_first_group(report: progress.Progress) -> None:
        if report.unit == "groups" and report.done:
            flag.set("canceling statement due to user request")

    with (
        watching(flag),
        progress.reporting("CREATE MODEL m", [cancel_at_first_group]),
        pytest.raises(OperationalError, match="cancel"),
    ):
        fit_groups(table, ["g"], model="m", options=forest, label="y", workers=2)
