"""Progress of long statements (sqlml.progress): the stages of CREATE MODEL, counts that only
grow (trees, rounds, epochs, iterations, trials), the Python callback and cursor.progress, and a
cancel from the callback during each counted stage, which leaves the old model in place."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sqlml
from sqlml import progress

ROWS = """
    CREATE TABLE t AS
    SELECT (i % 97) / 97.0 AS a, ((i * 31) % 89) / 89.0 AS b, ((i * 7) % 13)::DOUBLE AS c,
           CASE WHEN (i % 97) / 97.0 + ((i * 31) % 89) / 89.0 > 1 THEN 1 ELSE 0 END AS y
    FROM range(3000) t(i)
"""

#: every counted stage: the statement, and the unit its count is in
COUNTED = {
    "trees": "model_type = 'random_forest_classifier', num_parallel_tree = 40",
    "rounds": "model_type = 'boosted_tree_classifier', max_iterations = 60, early_stop = FALSE",
    # epochs are counted when they are watched on the evaluation split (early_stop, the default)
    "epochs": "model_type = 'dnn_classifier', hidden_units = [8], max_iterations = 40",
    "iterations": "model_type = 'logistic_reg', l2_reg = 0, max_iterations = 20, "
    "min_rel_progress = 0.0000000001",
    "trials": "model_type = 'boosted_tree_classifier', num_trials = 4, "
    "max_tree_depth = HPARAM_RANGE(2, 5)",
    # one model per group (PARTITION BY c: 13 groups), each group a count
    "groups": "model_type = 'logistic_reg'",
}
PARTITIONED = {"groups": "c"}


def create(options: str, name: str = "m", partition: str | None = None) -> str:
    by = f"PARTITION BY {partition} " if partition else ""
    return (
        f"CREATE OR REPLACE MODEL {name} {by}OPTIONS ({options}, input_label_cols = ['y']) "
        "AS SELECT * FROM t"
    )


def counted(unit: str) -> str:
    """The statement whose ``unit`` is counted."""
    return create(COUNTED[unit], partition=PARTITIONED.get(unit))


@pytest.fixture
def reports(tmp_path: Path) -> Any:
    seen: list[progress.Progress] = []
    con = sqlml.connect(str(tmp_path / "p.duckdb"), progress_callback=seen.append)
    con.cursor().execute(ROWS)
    yield con, seen
    con.close()


def counts(seen: list[progress.Progress], unit: str) -> list[int]:
    return [r.done for r in seen if r.unit == unit and r.done is not None and not r.finished]


@pytest.mark.parametrize("unit", sorted(COUNTED))
def test_each_counted_stage_counts_up_to_its_total(reports: Any, unit: str) -> None:
    con, seen = reports
    cur = con.cursor()
    cur.execute(counted(unit))
    numbers = counts(seen, unit)
    assert numbers, [str(r) for r in seen]
    assert numbers == sorted(numbers) and numbers[0] == 0  # counts only grow, from 0
    total = {r.total for r in seen if r.unit == unit}
    assert len(total) == 1
    expected = {"trees": 40, "rounds": 60, "epochs": 40, "iterations": 20, "trials": 4}.get(
        unit, 13
    )
    assert total == {expected}
    if unit not in ("iterations", "epochs"):  # Newton steps converge, epochs stop early
        assert numbers[-1] == expected  # the last of a stage is always reported
    stages = [r.stage for r in seen]
    assert stages[0] == "reading the data"
    # a group's own stages are not shown: the groups are counted instead
    inner = ("preparing the data", "converting to ONNX and checking fidelity")
    for stage in ("fitting one model per group",) if unit == "groups" else inner:
        assert stage in stages
    assert "storing" in stages
    last = seen[-1]
    assert last.finished and last.ok and str(last).startswith("CREATE MODEL m: done in ")
    assert cur.progress == last
    assert all(a.elapsed <= b.elapsed for a, b in zip(seen, seen[1:], strict=False))


def test_tuning_counts_trials_not_the_trials_own_rounds(reports: Any) -> None:
    con, seen = reports
    con.cursor().execute(create(COUNTED["trials"]))
    tuning = [r for r in seen if r.stage.startswith("tuning")]
    assert {r.unit for r in tuning} == {"trials"}
    assert [r.done for r in tuning][-1] == 4
    refit = [r for r in seen if r.stage.startswith("fitting trial")]
    assert refit  # then the winner on every training row, its own rounds counted
    assert {r.unit for r in refit if r.done is not None} == {"rounds"}


def test_counts_reach_listeners_at_most_five_times_a_second(reports: Any) -> None:
    con, seen = reports
    started = time.monotonic()
    con.cursor().execute(create(COUNTED["rounds"].replace("60", "400")))
    elapsed = time.monotonic() - started
    stage_changes = len({(r.stage, r.unit) for r in seen}) + 2
    throttled = [r for r in seen if r.unit == "rounds" and 0 < (r.done or 0) < 400]
    assert len(throttled) <= elapsed / progress.INTERVAL + 1
    assert len(seen) <= len(throttled) + stage_changes + 8


@pytest.mark.parametrize("unit", sorted(COUNTED))
def test_cancel_during_a_counted_stage_keeps_the_old_model(reports: Any, unit: str) -> None:
    con, seen = reports
    cur = con.cursor()
    cur.execute(create("model_type = 'logistic_reg'"))
    cur.execute("SELECT predicted_y_probs FROM ML.PREDICT(MODEL m, TABLE t)")
    before = cur.fetchall()

    def stop_at_first_count(report: progress.Progress) -> None:
        seen.append(report)
        if report.unit == unit and (report.done or 0) >= 1:
            con.interrupt()

    con.progress_callback = stop_at_first_count
    with pytest.raises(sqlml.OperationalError, match="nothing of the statement was stored"):
        cur.execute(counted(unit))
    assert (
        seen[-1].finished
        and not seen[-1].ok
        and str(seen[-1]).startswith("CREATE MODEL m: stopped")
    )
    con.progress_callback = None
    cur.execute("SELECT model_type FROM sqlml.models WHERE name = 'm'")
    assert {row[0] for row in cur.fetchall()} == {"logistic_reg"}
    cur.execute("SELECT predicted_y_probs FROM ML.PREDICT(MODEL m, TABLE t)")
    assert cur.fetchall() == before


def test_a_callback_that_raises_stops_the_statement_with_a_clear_error(reports: Any) -> None:
    con, _ = reports

    def broken(report: progress.Progress) -> None:
        raise ValueError("boom")

    con.progress_callback = broken
    with pytest.raises(sqlml.ProgrammingError, match="progress callback raised ValueError: boom"):
        con.cursor().execute(create("model_type = 'logistic_reg'"))
    con.progress_callback = None
    with pytest.raises(sqlml.ProgrammingError, match="no model 'm'"):  # nothing was stored
        con.cursor().execute("SELECT * FROM ML.EVALUATE(MODEL m)")


def test_plain_statements_report_nothing(reports: Any) -> None:
    con, seen = reports
    cur = con.cursor()
    cur.execute("SELECT count(*) FROM t")
    cur.execute("CREATE TABLE u AS SELECT * FROM t")
    assert seen == [] and cur.progress is None


def test_a_counted_forest_is_the_forest_an_uncounted_fit_grows(tmp_path: Path) -> None:
    """Trees are counted by a subclass of the forest's tree that ticks as each finishes; with
    progress off the plain tree is used: the two models score every row identically."""
    scores = []
    for report in (True, False):
        con = sqlml.connect(str(tmp_path / f"f{report}.duckdb"), report_progress=report)
        cur = con.cursor()
        cur.execute(ROWS)
        cur.execute(create("model_type = 'random_forest_classifier', num_parallel_tree = 30"))
        cur.execute(
            "SELECT p.prob FROM ML.PREDICT(MODEL m, TABLE t), UNNEST(predicted_y_probs) u(p) "
            "ORDER BY ALL"
        )
        scores.append(np.array([row[0] for row in cur.fetchall()]))
        assert cur.progress is None or report
        con.close()
    np.testing.assert_array_equal(scores[0], scores[1])


def test_rate_and_time_left_follow_the_count() -> None:
    report = progress.Progress(
        "CREATE MODEL m", "fitting", 40, 100, "trees", elapsed=5.0, stage_elapsed=4.0
    )
    assert report.rate == pytest.approx(10.0)
    assert report.remaining == pytest.approx(6.0)
    assert str(report) == "CREATE MODEL m: fitting, 40 of 100 trees, 10.0/s, ~6.0 s left"
    unknown = progress.Progress("ML.PREDICT", "scoring", 5000, None, "rows", 2.0, 2.0)
    assert unknown.remaining is None and str(unknown).endswith("5,000 rows, 2,500/s")


def test_rows_scored_into_a_table_are_counted(
    reports: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    con, seen = reports
    cur = con.cursor()
    cur.execute(create("model_type = 'logistic_reg'"))
    cur.execute("CREATE TABLE many AS SELECT t.* FROM t, range(20)")  # 60,000 rows
    seen.clear()
    cur.execute("CREATE TABLE quick AS SELECT * FROM ML.PREDICT(MODEL m, TABLE t)")
    assert seen == []  # an ML query shows its progress only once it has run a second
    from sqlml.core import executor

    monkeypatch.setattr(executor, "SCORING_SHOWN_AFTER", 0.0)
    cur.execute("CREATE TABLE scored AS SELECT * FROM ML.PREDICT(MODEL m, TABLE many)")
    rows = [r.done for r in seen if r.unit == "rows" and not r.finished]
    assert rows and rows == sorted(rows) and rows[-1] == 60_000
    assert {r.stage for r in seen} == {"scoring"} and seen[-1].finished
    summary = "CREATE TABLE scored AS SELECT * FROM ML…: done in "
    assert str(seen[-1]).startswith(summary) and str(seen[-1]).endswith(" s, 60,000 rows")


SERIES = """
    CREATE TABLE s AS
    SELECT i % 13 AS shop, DATE '2024-01-01' + INTERVAL (i // 13) DAY AS day,
           sin(i / 13 / 7.0) + i % 13 + ((i * 7919) % 17) / 17.0 AS sales
    FROM range(13 * 60) t(i)
"""
ARIMA = (
    "CREATE OR REPLACE MODEL m OPTIONS (model_type = 'ARIMA_PLUS', time_series_timestamp_col = "
    "'day', time_series_data_col = 'sales', time_series_id_col = ['shop'], horizon = 3) "
    "AS SELECT * FROM s"
)


def test_time_series_are_counted_and_a_cancel_keeps_the_old_model(reports: Any) -> None:
    con, seen = reports
    cur = con.cursor()
    cur.execute(SERIES)
    cur.execute(ARIMA)
    numbers = counts(seen, "series")
    assert numbers == sorted(numbers) and numbers[0] == 0 and numbers[-1] == 13
    assert {r.total for r in seen if r.unit == "series"} == {13}
    assert "fitting one model per time series" in [r.stage for r in seen]
    cur.execute(create("model_type = 'logistic_reg'"))

    def stop_at_first_series(report: progress.Progress) -> None:
        seen.append(report)
        if report.unit == "series" and (report.done or 0) >= 1:
            con.interrupt()

    con.progress_callback = stop_at_first_series
    with pytest.raises(sqlml.OperationalError, match="nothing of the statement was stored"):
        cur.execute(ARIMA)
    con.progress_callback = None
    cur.execute("SELECT model_type FROM sqlml.models WHERE name = 'm' ORDER BY version DESC")
    assert cur.fetchall()[0] == ("logistic_reg",)
