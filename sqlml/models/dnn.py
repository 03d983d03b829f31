"""DNNs that watch the evaluation split: scikit-learn's MLPs trained one epoch at a time
(``partial_fit``), stopping as BigQuery's ``early_stop`` asks.

BigQuery: "EARLY_STOP: whether training should stop after the first iteration in which the relative
loss improvement is less than the value specified for MIN_REL_PROGRESS", on the evaluation data.
sqlml's default, as for boosted trees (:mod:`sqlml.models.boosting`), is patience rather than the
first small step: an epoch of stochastic gradient descent can lose a little and the next gain a
lot, so training stops PATIENCE epochs after the evaluation loss last improved and keeps the
weights of the best epoch. ``min_rel_progress`` given restores BigQuery's rule (stop after the
first epoch whose evaluation loss fell by less than that share). Without an evaluation split
(NO_SPLIT, AUTO_SPLIT under 500 rows), or with ``early_stop = FALSE``, the MLP trains its
``max_iterations`` epochs as scikit-learn's ``fit`` does.

The evaluation loss is the log loss of the predicted probabilities (classifiers; rows of a class
the training rows lack are skipped) or the mean squared error (regressors, on the label as the
MLP sees it: standardized), recorded per epoch for ML.TRAINING_INFO as ``sqlml_eval_losses_``.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from sqlml import progress

if TYPE_CHECKING:
    from sqlml.models.options import ModelOptions

PATIENCE = (
    10  # epochs without a better evaluation loss before stopping (scikit-learn's n_iter_no_change)
)


def stopping(o: ModelOptions) -> dict[str, Any] | None:
    """How training stops on the evaluation split: ``patience`` or BigQuery's ``relative`` rule;
    None: no stopping (``early_stop = FALSE``)."""
    if not o.get("early_stop", True):
        return None
    if "min_rel_progress" in o.given:
        return {"relative": o.get("min_rel_progress", 0.01), "patience": None}
    return {"relative": None, "patience": PATIENCE}


def is_watching(estimator: Any) -> bool:
    return type(estimator).__module__ == __name__


@cache
def estimator_classes() -> tuple[type, type]:
    """scikit-learn's MLPClassifier and MLPRegressor, fitted with ``evaluation=(x, y)`` epoch by
    epoch when a stopping plan is set (else as scikit-learn fits them)."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    class Classifier(MLPClassifier):
        sqlml_stopping: dict[str, Any] | None = None
        sqlml_eval_losses_: list[float] | None = None

        def fit(self, x: Any, y: Any, evaluation: Any = None, **kwargs: Any) -> Any:
            if evaluation is None or self.sqlml_stopping is None:
                self.sqlml_eval_losses_ = None
                return MLPClassifier.fit(self, x, y, **kwargs)
            classes = np.unique(np.asarray(y))
            ex, ey = evaluation
            known = np.isin(ey, classes)
            ex, index = ex[known], np.searchsorted(classes, np.asarray(ey)[known])

            def loss() -> float:
                if not len(index):
                    return 0.0
                probs = np.clip(self.predict_proba(ex), 1e-15, 1.0)
                return float(-np.mean(np.log(probs[np.arange(len(index)), index])))

            return _epochs(self, lambda: self.partial_fit(x, y, classes=classes, **kwargs), loss)

    class Regressor(MLPRegressor):
        sqlml_stopping: dict[str, Any] | None = None
        sqlml_eval_losses_: list[float] | None = None

        def fit(self, x: Any, y: Any, evaluation: Any = None, **kwargs: Any) -> Any:
            if evaluation is None or self.sqlml_stopping is None:
                self.sqlml_eval_losses_ = None
                return MLPRegressor.fit(self, x, y, **kwargs)
            ex, ey = evaluation
            ey = np.asarray(ey, dtype=np.float64)

            def loss() -> float:
                return float(np.mean((self.predict(ex).reshape(-1) - ey) ** 2))

            return _epochs(self, lambda: self.partial_fit(x, y, **kwargs), loss)

    Classifier.__module__ = Regressor.__module__ = __name__
    Classifier.__qualname__, Regressor.__qualname__ = "Classifier", "Regressor"
    return Classifier, Regressor


@cache
def register_onnx_converters() -> None:
    """Teach skl2onnx these subclasses: its own MLP converters, under the same names."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from skl2onnx.operator_converters.multilayer_perceptron import (
        convert_sklearn_mlp_classifier,
        convert_sklearn_mlp_regressor,
    )

    classifier, regressor = estimator_classes()
    update_registered_converter(
        classifier,
        "SklearnMLPClassifier",
        calculate_linear_classifier_output_shapes,
        convert_sklearn_mlp_classifier,
        options={
            "zipmap": [True, False, "columns"],
            "output_class_labels": [False, True],
            "nocl": [True, False],
        },
    )
    update_registered_converter(
        regressor,
        "SklearnMLPRegressor",
        calculate_linear_regressor_output_shapes,
        convert_sklearn_mlp_regressor,
    )


_STATE = ("coefs_", "intercepts_", "loss_curve_", "n_iter_", "t_", "best_loss_", "loss_")


def _epochs(est: Any, epoch: Any, loss: Any) -> Any:
    """Up to max_iter epochs, each followed by the evaluation loss; stop by the plan; with
    patience, the best epoch's weights kept (and its losses the last recorded)."""
    plan = est.sqlml_stopping
    for name in (
        "coefs_",
        "_optimizer",
        "loss_curve_",
        "n_iter_",
        "t_",
        "classes_",
        "_label_binarizer",
    ):
        if hasattr(est, name):  # a fresh start, as fit gives
            delattr(est, name)
    losses: list[float] = []
    best, best_state, since = np.inf, None, 0
    progress.expect(est.max_iter, "epochs")
    for done in range(1, est.max_iter + 1):
        epoch()
        progress.advance(done)
        value = loss()
        losses.append(value)
        if plan["patience"] is not None:
            if value < best:
                best, since = value, 0
                best_state = {k: copy.deepcopy(getattr(est, k)) for k in _STATE if hasattr(est, k)}
            else:
                since += 1
                if since >= plan["patience"]:
                    break
        elif len(losses) > 1:
            before = losses[-2]
            if before <= 0 or (before - value) / abs(before) < plan["relative"]:
                break
    if best_state is not None:
        for name, value in best_state.items():
            setattr(est, name, value)
        losses = losses[: len(est.loss_curve_)]
    est.n_iter_ = len(est.loss_curve_)  # epochs (partial_fit counts its calls differently)
    est.sqlml_eval_losses_ = losses
    return est
