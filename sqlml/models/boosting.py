"""Boosted trees on XGBoost, as BigQuery ML and Redshift ML train them: the makers of the
``boosted_tree_*`` types, BigQuery's options mapped one to one onto XGBoost's parameters.

| BigQuery option          | XGBoost parameter   | BigQuery default |
|--------------------------|---------------------|------------------|
| max_iterations           | n_estimators        | 20               |
| learn_rate               | learning_rate (eta) | 0.3              |
| max_tree_depth           | max_depth           | 6                |
| subsample                | subsample           | 1.0              |
| min_split_loss           | gamma               | 0                |
| l1_reg / l2_reg          | alpha / lambda      | 0 / 1.0          |
| num_parallel_tree        | num_parallel_tree   | 1                |
| booster_type             | booster             | GBTREE           |
| dart_normalize_type      | normalize_type      | TREE             |
| dropout                  | rate_drop           | 0                |
| tree_method              | tree_method         | AUTO (= HIST)    |
| min_tree_child_weight    | min_child_weight    | 1                |
| colsample_by{tree,level,node} | the same       | 1.0              |
| early_stop, min_rel_progress | a callback: stop after the first round whose evaluation loss fell by less than min_rel_progress (relative) | TRUE, 0.01 |

sqlml's defaults differ where the benchmark (benchmarks/quality.py) found better ones: unset,
``learn_rate`` is 0.1 and boosting runs up to 500 rounds, stopping 20 rounds after the evaluation
split's loss last improved and keeping the best round (XGBoost's early stopping), where BigQuery's
20 rounds at 0.3 with the 1 % rule stopped too early (breast_cancer roc_auc 0.974 against 0.985).
Without an evaluation split, or with ``min_rel_progress`` given, BigQuery's rule applies, over
up to 100 rounds unless ``max_iterations`` says otherwise.

xgboost is imported only when a boosted tree is trained (``import sqlml`` stays light).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from sqlml import progress
from sqlml.models.sklearn import EstimatorPlan

if TYPE_CHECKING:
    from sqlml.models.options import ModelOptions

_TREE_METHODS = {"AUTO": "hist", "HIST": "hist", "EXACT": "exact", "APPROX": "approx"}
DEFAULT_LEARN_RATE = 0.1
DEFAULT_ROUNDS = 500  # a cap: early stopping ends the boosting
ROUNDS_WITHOUT_PATIENCE = 100  # BigQuery's rule, or no stopping at all
PATIENCE = 20  # rounds without a better evaluation loss before stopping
TRAINING_LOSS_ROWS = 10_000  # ML.TRAINING_INFO's per-round training loss is on this many rows


def parameters(o: ModelOptions, seed: int) -> dict[str, Any]:
    """XGBoost's parameters for the validated options ``o`` (the table above)."""
    params: dict[str, Any] = {
        "n_estimators": o.get("max_iterations", DEFAULT_ROUNDS),
        "learning_rate": o.get("learn_rate", DEFAULT_LEARN_RATE),
        "max_depth": o.get("max_tree_depth", 6),
        "subsample": o.get("subsample", 1.0),
        "gamma": o.get("min_split_loss", 0.0),
        "reg_alpha": o.get("l1_reg", 0.0),
        # the option table's l2_reg default is the linear models' 0; BigQuery's trees take 1.0
        "reg_lambda": o.get("l2_reg") if "l2_reg" in o.given else 1.0,
        "num_parallel_tree": o.get("num_parallel_tree", 1),
        "tree_method": _TREE_METHODS[o.get("tree_method", "AUTO")],
        "min_child_weight": o.get("min_tree_child_weight", 1),
        "colsample_bytree": o.get("colsample_bytree", 1.0),
        "colsample_bylevel": o.get("colsample_bylevel", 1.0),
        "colsample_bynode": o.get("colsample_bynode", 1.0),
        "random_state": seed,
    }
    if o.get("booster_type", "GBTREE") == "DART":
        params["booster"] = "dart"
        params["normalize_type"] = o.get("dart_normalize_type", "TREE").lower()
        params["rate_drop"] = o.get("dropout", 0.0)
    return params


def stopping(o: ModelOptions) -> dict[str, Any]:
    """How boosting stops: ``relative`` (BigQuery's rule, None: not applied), ``patience``
    (XGBoost's early stopping on the evaluation split; None: not applied), and whether the user
    chose the number of rounds."""
    rounds_given = "max_iterations" in o.given
    if not o.get("early_stop", True):
        return {"relative": None, "patience": None, "rounds_given": rounds_given}
    if "min_rel_progress" in o.given or o.get("booster_type", "GBTREE") == "DART":
        # DART's trees are reweighted as it goes: its best round cannot be cut out afterwards
        return {
            "relative": o.get("min_rel_progress", 0.01),
            "patience": None,
            "rounds_given": rounds_given,
        }
    return {"relative": 0.01, "patience": PATIENCE, "rounds_given": rounds_given}


def stopping_parameters(plan: dict[str, Any] | None, evaluation: bool) -> dict[str, Any]:
    """XGBoost's parameters for a :func:`stopping` plan (None: the rounds as given, no stopping),
    given whether an evaluation split is watched: early_stopping_rounds, or BigQuery's rule as a
    callback on the last set XGBoost evaluates (the evaluation split, else the training rows),
    and the number of rounds when the user gave none."""
    plan = plan or {"relative": None, "patience": None, "rounds_given": True}
    if plan["patience"] is not None and evaluation:
        return {"early_stopping_rounds": plan["patience"], "callbacks": None}
    relative = plan["relative"]
    out: dict[str, Any] = {
        "early_stopping_rounds": None,
        "callbacks": [_rounds_class()(relative)] if relative is not None else None,
    }
    if not plan["rounds_given"]:
        out["n_estimators"] = ROUNDS_WITHOUT_PATIENCE
    return out


@cache
def _progress_class() -> type:
    import xgboost

    class _Progress(xgboost.callback.TrainingCallback):
        """Each boosting round counted (and a cancel check)."""

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            progress.advance(epoch + 1)
            return False

    return _Progress


@cache
def _rounds_class() -> type:
    import xgboost

    class _Rounds(xgboost.callback.TrainingCallback):
        """Stop after the first round whose loss on the last evaluation set fell by less than
        ``relative`` of the round before's (BigQuery's EARLY_STOP and MIN_REL_PROGRESS)."""

        def __init__(self, relative: float) -> None:
            super().__init__()
            self.relative = relative

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if not evals_log:
                return False
            last = list(evals_log.values())[-1]
            losses = next(iter(last.values()))
            if len(losses) < 2:
                return False
            before, now = float(losses[-2]), float(losses[-1])
            return before <= 0 or (before - now) / abs(before) < self.relative

    return _Rounds


def boosted_classifier(o: ModelOptions, n: int, seed: int) -> EstimatorPlan:
    classifier, _ = estimator_classes()
    est = classifier(**parameters(o, seed))
    est.sqlml_stopping = stopping(o)
    return EstimatorPlan(est, scale_numeric=False, eval_set=True)


def boosted_regressor(o: ModelOptions, n: int, seed: int) -> EstimatorPlan:
    _, regressor = estimator_classes()
    est = regressor(**parameters(o, seed))
    est.sqlml_stopping = stopping(o)
    return EstimatorPlan(est, scale_numeric=False, eval_set=True)


def is_xgboost(estimator: Any) -> bool:
    return type(estimator).__module__ == __name__


@cache
def estimator_classes() -> tuple[type, type]:
    """XGBoost's scikit-learn estimators, as sqlml fits them: any class labels (XGBoost takes only
    0..k-1), the losses per round on the training rows and the evaluation split, early stopping on
    the latter's relative progress."""
    import xgboost

    class Classifier(xgboost.XGBClassifier):
        _labels: np.ndarray | None = None
        sqlml_stopping: dict[str, Any] | None = None

        @property
        def classes_(self) -> np.ndarray:  # type: ignore[override]
            return self._labels if self._labels is not None else np.arange(self.n_classes_)

        def fit(self, x: Any, y: Any, evaluation: Any = None, **kwargs: Any) -> Any:
            labels, codes = np.unique(np.asarray(y), return_inverse=True)
            if evaluation is not None:
                ex, ey = evaluation
                known = np.isin(ey, labels)  # a class only the evaluation rows have is skipped
                evaluation = (ex[known], np.searchsorted(labels, np.asarray(ey)[known]))
            self._labels = None
            xgboost.XGBClassifier.fit(  # the classes check and num_class of XGBClassifier.fit
                self, x, codes, **_fit_kwargs(self, x, codes, evaluation, kwargs)
            )
            _keep_best(self)
            self._labels = labels
            return self

        def predict(self, x: Any, **kwargs: Any) -> np.ndarray:
            return self.classes_[np.argmax(self.predict_proba(x, **kwargs), axis=1)]

    class Regressor(xgboost.XGBRegressor):
        sqlml_stopping: dict[str, Any] | None = None

        def fit(self, x: Any, y: Any, evaluation: Any = None, **kwargs: Any) -> Any:
            xgboost.XGBRegressor.fit(self, x, y, **_fit_kwargs(self, x, y, evaluation, kwargs))
            _keep_best(self)
            return self

    def _fit_kwargs(est: Any, x: Any, y: Any, evaluation: Any, kwargs: dict) -> dict:
        weights = kwargs.pop("sample_weight", None)
        # the training loss per round, on at most TRAINING_LOSS_ROWS rows spread over the
        # training rows (on 750,000 rows the full loss cost 12 % of the fit)
        first, first_weights = (x, y), weights
        if len(y) > TRAINING_LOSS_ROWS:
            rows = np.linspace(0, len(y) - 1, TRAINING_LOSS_ROWS).astype(np.int64)
            first = (x[rows], np.asarray(y)[rows])
            first_weights = None if weights is None else np.asarray(weights)[rows]
        sets = [first] + ([evaluation] if evaluation is not None else [])
        est.set_params(**stopping_parameters(est.sqlml_stopping, evaluation is not None))
        # the rounds counted on the driver only (stopping_parameters also serve Spark's executors)
        est.set_params(callbacks=[*(est.callbacks or []), _progress_class()()])
        progress.expect(est.n_estimators, "rounds")
        return {
            "sample_weight": weights,
            "eval_set": sets,
            "sample_weight_eval_set": [first_weights] + [None] * (len(sets) - 1),
            "verbose": False,
            **kwargs,
        }

    def _keep_best(est: Any) -> None:
        """After XGBoost's early stopping: the booster cut to its best round (so the model, its
        ONNX graph and ML.TRAINING_INFO have the same rounds), and plain parameters again."""
        best = getattr(est, "best_iteration", None) if est.early_stopping_rounds else None
        est.set_params(early_stopping_rounds=None, callbacks=None)
        if best is None:
            return
        recorded = est.evals_result_
        est._Booster = est.get_booster()[: best + 1]
        est.evals_result_ = {
            name: {metric: values[: best + 1] for metric, values in metrics.items()}
            for name, metrics in recorded.items()
        }

    Classifier.__module__ = Regressor.__module__ = __name__
    Classifier.__qualname__, Regressor.__qualname__ = "Classifier", "Regressor"
    return Classifier, Regressor


@cache
def register_onnx_converters() -> None:
    """Teach skl2onnx sqlml's XGBoost estimators (onnxmltools' XGBoost converters)."""
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    classifier, regressor = estimator_classes()
    update_registered_converter(
        classifier,
        "SqlmlXGBClassifier",
        calculate_linear_classifier_output_shapes,
        convert_xgboost,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )
    update_registered_converter(
        regressor, "SqlmlXGBRegressor", calculate_linear_regressor_output_shapes, convert_xgboost
    )


def round_losses(estimator: Any) -> tuple[list[float], list[float] | None]:
    """The loss after each round on the training rows and on the evaluation split (None without
    one), as XGBoost recorded them: log loss for classifiers, mean squared error for regressors."""
    recorded = estimator.evals_result()
    curves = []
    for name in sorted(recorded, key=lambda k: int(k.rsplit("_", 1)[1])):
        metric, values = next(iter(recorded[name].items()))
        square = metric == "rmse"
        curves.append([float(v) ** 2 if square else float(v) for v in values])
    return curves[0], curves[1] if len(curves) > 1 else None


def split_statistics(estimator: Any, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of the preprocessed matrix: the number of splits on it, their total gain and
    their total cover (XGBoost's ``get_score`` weight, total_gain and total_cover)."""
    booster = estimator.get_booster()
    out = []
    for kind in ("weight", "total_gain", "total_cover"):
        column = np.zeros(width)
        for name, value in booster.get_score(importance_type=kind).items():
            column[int(name[1:])] = value  # XGBoost names the columns of a matrix f0, f1, …
        out.append(column)
    return out[0], out[1], out[2]


def for_onnx(estimator: Any) -> Any:
    """The estimator onnxmltools converts: ``estimator`` itself, or for the DART booster (which
    onnxmltools cannot read) a gbtree copy whose leaves carry each tree's weight."""
    import copy
    import json

    import xgboost

    if estimator.get_params().get("booster") != "dart":  # no need to read the model's JSON
        return estimator
    raw = json.loads(estimator.get_booster().save_raw("json"))
    boosted = raw["learner"]["gradient_booster"]
    for tree, weight in zip(
        boosted["gbtree"]["model"]["trees"], boosted["weight_drop"], strict=True
    ):
        for node, left in enumerate(tree["left_children"]):
            if left == -1:  # a leaf: its value is in split_conditions (and base_weights)
                tree["split_conditions"][node] *= weight
                tree["base_weights"][node] *= weight
    raw["learner"]["gradient_booster"] = boosted["gbtree"]
    booster = xgboost.Booster()
    booster.load_model(bytearray(json.dumps(raw).encode()))
    plain = copy.copy(estimator)
    plain._Booster = booster
    plain.set_params(booster="gbtree", normalize_type=None, rate_drop=None)
    return plain


def assign_tree_classes(model: Any, estimator: Any) -> None:
    """Give every leaf of a multiclass graph the class its tree was grown for.

    onnxmltools assigns tree i to class i mod k, which holds for one tree per class and round;
    with num_parallel_tree > 1 a round grows that many trees per class. XGBoost's tree_info
    names each tree's class.
    """
    import json

    from onnx import helper

    if len(estimator.classes_) < 3:  # binary: one margin, nothing to reassign
        return
    raw = json.loads(estimator.get_booster().save_raw("json"))
    boosted = raw["learner"]["gradient_booster"]
    tree_info = (boosted.get("gbtree") or boosted)["model"]["tree_info"]
    for node in model.graph.node:
        if node.op_type != "TreeEnsembleClassifier":
            continue
        attributes = {a.name: a for a in node.attribute}
        if "class_treeids" not in attributes or "class_ids" not in attributes:
            continue
        ids = [tree_info[t] for t in attributes["class_treeids"].ints]
        node.attribute.remove(attributes["class_ids"])
        node.attribute.append(helper.make_attribute("class_ids", ids))
