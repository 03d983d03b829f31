"""ML.EVALUATE's classifier metrics against scikit-learn's own scores of the same rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as m

from sqlml.measures.metrics import classification_metrics


def _reference(y: np.ndarray, predicted: np.ndarray, probs: np.ndarray, n: int) -> dict:
    labels = list(range(n))
    average = "binary" if n == 2 else "macro"
    kw = {"labels": labels, "average": average, "zero_division": 0}
    return {
        "precision": m.precision_score(y, predicted, **kw),
        "recall": m.recall_score(y, predicted, **kw),
        "accuracy": m.accuracy_score(y, predicted),
        "f1_score": m.f1_score(y, predicted, **kw),
        "log_loss": m.log_loss(y, np.clip(probs, 1e-15, 1.0), labels=labels),
    }


@pytest.mark.parametrize(
    ("n", "absent", "never_called"),
    [(2, None, None), (2, None, 0), (3, None, None), (4, 3, None), (5, None, 2), (5, 4, 1)],
)
def test_scores_match_scikit_learn(n: int, absent: int | None, never_called: int | None) -> None:
    rng = np.random.default_rng(n * 7 + (absent or 0))
    rows = 3000
    probs = rng.dirichlet(np.ones(n), size=rows)
    probs[:5, 0] = 1.0  # a saturated row: clipped at 1e-15 like scikit-learn's
    probs[:5, 1:] = 0.0
    y = rng.integers(0, n, rows)
    if absent is not None:
        y[y == absent] = (absent + 1) % n
    predicted = probs.argmax(axis=1)
    if never_called is not None:
        predicted[predicted == never_called] = (never_called + 1) % n
    got = classification_metrics(y, predicted, probs, n)
    for name, value in _reference(y, predicted, probs, n).items():
        assert got[name] == pytest.approx(float(value), rel=1e-12, abs=1e-15), name


def test_no_called_positive_gives_zero_precision_and_f1() -> None:
    y = np.array([0, 1, 1, 0])
    predicted = np.zeros(4, np.int64)
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.7, 0.3]])
    got = classification_metrics(y, predicted, probs, 2)
    assert got["precision"] == 0.0 and got["recall"] == 0.0 and got["f1_score"] == 0.0
    assert got["accuracy"] == 0.5


def test_roc_auc_is_null_when_a_class_has_no_rows() -> None:
    # one-vs-rest AUC of a class with no positive rows is undefined (scikit-learn warns, NaN)
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(3), size=200)
    y = rng.integers(0, 2, 200)  # class 2 absent
    got = classification_metrics(y, probs.argmax(axis=1), probs, 3)
    assert got["roc_auc"] is None and got["average_precision"] is None
    assert got["accuracy"] == pytest.approx(float(np.mean(probs.argmax(axis=1) == y)))
