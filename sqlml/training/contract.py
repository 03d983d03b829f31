"""What every trainer gives the executor, and the checks they share.

A trainer (:class:`~sqlml.training.fit.LocalTrainer`: scikit-learn on rows read into this process;
:class:`~sqlml.training.mllib.trainer.MLlibTrainer`: Spark MLlib on the executors) is made for one
training query; :meth:`Trainer.probe` shows a few of its rows (Redshift's problem type reads the
label), :meth:`Trainer.fit` returns a :class:`TrainedModel`: ONNX bytes and JSON-able metadata only,
never a pickle. Before it does, :func:`check_fidelity` proves that ONNX Runtime agrees with the fitted
model on sampled training rows, within the stated tolerances, and :func:`fingerprint` names the data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa

from sqlml.errors import FidelityError

if TYPE_CHECKING:
    from sqlml.models.options import ModelOptions

FIDELITY_SAMPLE = 2000
# Stated tolerances of the ONNX-vs-estimator check (see sql/reference.md, "Models as ONNX").
PROB_TOLERANCE = 1e-3  # absolute, per class probability
REGRESSION_TOLERANCE = 1e-4  # relative to the label's standard deviation (plus 1e-6 absolute)
DISTANCE_TOLERANCE = 1e-4  # on squared distances, relative to their mean (plus 1e-6 absolute)
#: Rows of the training data that its fingerprint reads (with the schema and the row count).
FINGERPRINT_ROWS = 1000


@dataclass
class TrainedModel:
    onnx: bytes
    spec: dict[str, Any]
    metrics: dict[str, float]
    training_info: dict[str, Any]
    fidelity: dict[str, Any]
    features: list[dict[str, str]] = field(default_factory=list)
    options: ModelOptions | None = None  # as trained: tuning and automl fill in their choices
    #: What the model was trained on (:func:`fingerprint`; an imported file's sha256).
    fingerprint: str = ""


class Trainer(Protocol):
    """One training query's rows, and how they are trained (see the module docstring)."""

    def probe(self, label: str | None) -> pa.Table:
        """Rows enough to read the label's type (at least one per label value, up to 21)."""
        ...

    def fit(
        self, *, model: str, options: ModelOptions, label: str | None, transform: Any = None
    ) -> TrainedModel: ...


def fingerprint(schema: pa.Schema, rows: int, head: pa.Table) -> str:
    """The training data's schema, row count and first FINGERPRINT_ROWS rows, hashed."""
    return hashlib.sha256(
        json.dumps([str(schema), rows]).encode()
        + hashlib.sha256(str(head.slice(0, FINGERPRINT_ROWS).to_pydict()).encode()).digest()
    ).hexdigest()


def check_fidelity(
    task: str,
    expected: np.ndarray,
    outputs: list[Any],
    scorer: Any,
    *,
    model: str,
    reference: str,
    label_scale: float = 1.0,
) -> dict[str, Any]:
    """Compare ONNX Runtime's ``outputs`` on sampled training rows with the fitted model's own
    ``expected`` values for them (``reference`` names that model in the error), within the stated
    tolerances; raise FidelityError when they disagree (the model is then not stored).

    ``expected`` is what the task compares: class probabilities, predictions (regression; the
    tolerance is relative to ``label_scale``, the label's standard deviation), the projected rows
    (PCA), or squared distances to every centroid (k-means: the graph's float32 expansion
    |x|² - 2x·c + |c|² has an absolute error on that scale, which a square root would magnify
    near zero)."""
    rows = len(expected)
    report: dict[str, Any] = {"rows": int(rows)}
    if task == "classification":
        got = np.asarray(outputs[1], dtype=np.float64)
        diff = float(np.max(np.abs(expected - got)))
        report.update(max_probability_difference=diff, tolerance=PROB_TOLERANCE)
    elif task == "regression":
        got = np.asarray(outputs[0], dtype=np.float64).reshape(-1)
        diff = float(np.max(np.abs(expected - got)))
        report.update(max_difference=diff, tolerance=REGRESSION_TOLERANCE * label_scale + 1e-6)
    elif task in ("dimensionality_reduction", "transform"):  # projections; a TRANSFORM's matrix
        got = np.asarray(outputs[0], dtype=np.float64)
        diff = float(np.max(np.abs(expected - got)))
        scale = float(np.sqrt(np.mean(expected**2)))
        report.update(max_difference=diff, tolerance=REGRESSION_TOLERANCE * scale + 1e-6)
    else:
        got = scorer.distances(outputs) ** 2
        diff = float(np.max(np.abs(expected - got)))
        allowed = DISTANCE_TOLERANCE * float(np.mean(expected)) + 1e-6
        report.update(max_squared_distance_difference=diff, tolerance=allowed)
    if not diff <= report["tolerance"]:
        raise FidelityError(
            f"The ONNX graph of {model} disagrees with {reference} on {rows} training rows "
            f"(largest difference {diff:.3g}, tolerance {report['tolerance']:.3g}); the model "
            f"was not stored. Features with huge magnitudes lose precision as float32: rescale "
            f"them in the query (e.g. divide timestamps' epoch seconds), or try another model_type."
        )
    return report
