"""pca and dnn_regressor on Spark: sums over the rows on the executors (column statistics, the
covariance, L-BFGS gradients), the small solve on the driver, and the result set into the
scikit-learn pipeline the DuckDB path fits, so it converts to ONNX by the same skl2onnx path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from sqlml_udfs.scoring import NULL_CATEGORY

from sqlml.errors import (
    OptionError,
    TrainingError,
)
from sqlml.models.options import ModelOptions
from sqlml.training.mllib.frame import LABEL, categorical_columns, numeric_columns

if TYPE_CHECKING:
    from sqlml.training.mllib.trainer import MLlibTrainer


@dataclass
class _ColumnStats:
    """What the DuckDB pipeline's preprocessing learns, from one aggregation over the rows."""

    rows: int
    means: list[float]  # SimpleImputer's statistics_ (mean of the non-NULL values; 0 if none)
    variances: list[float]  # population variance after imputation (StandardScaler's var_)
    categories: list[list[str]]  # per categorical feature, as feature_array spells them


def _number(name: str) -> Any:
    """A numeric feature as double, NaN as NULL (scikit-learn's imputer treats both as missing)."""
    from pyspark.sql import functions as F

    value = F.col(f"`{name}`").cast("double")
    return F.when(F.isnan(value), F.lit(None)).otherwise(value)


def _category(name: str) -> Any:
    """A categorical feature as the string the scorer feeds the graph (NULL as its category)."""
    from pyspark.sql import functions as F

    return F.coalesce(F.col(f"`{name}`").cast("string"), F.lit(NULL_CATEGORY))


def column_stats(train: Any, features: list[dict[str, str]]) -> _ColumnStats:
    from pyspark.sql import functions as F

    aggregates = [F.count(F.lit(1)).alias("n")]
    numeric = [name for name, _ in numeric_columns(features)]
    categorical = [name for name, _ in categorical_columns(features)]
    for i, name in enumerate(numeric):
        value = _number(name)
        aggregates += [
            F.avg(value).alias(f"m{i}"),
            F.var_pop(value).alias(f"v{i}"),
            F.count(value).alias(f"c{i}"),
        ]
    for i, name in enumerate(categorical):
        aggregates.append(F.collect_set(_category(name)).alias(f"s{i}"))
    row = train.agg(*aggregates).collect()[0]
    rows = int(row["n"])
    present = [int(row[f"c{i}"]) for i in range(len(numeric))]
    return _ColumnStats(
        rows=rows,
        means=[float(row[f"m{i}"]) if present[i] else 0.0 for i in range(len(numeric))],
        variances=[
            float(row[f"v{i}"]) * present[i] / rows if present[i] else 0.0
            for i in range(len(numeric))
        ],
        categories=[sorted(row[f"s{i}"]) for i in range(len(categorical))],
    )


def assembled_pipeline(
    features: list[dict[str, str]], options: ModelOptions, stats: _ColumnStats
) -> Any:
    """The DuckDB path's pipeline (sqlml.training.fit.build_pipeline, same estimator and options) with
    its preprocessing fitted from the executors' statistics: fitted on a stand-in frame that holds
    every category once (so the encoder's categories are exactly the data's), then the imputer's
    and scaler's statistics replaced by the real ones."""
    import pandas as pd
    from sklearn.preprocessing._data import _handle_zeros_in_scale, _is_constant_feature

    from sqlml.models.registry import make_estimator
    from sqlml.training.pipeline import build_pipeline

    pipeline = build_pipeline(features, make_estimator(options, stats.rows))
    size = max([1, *(len(c) for c in stats.categories)])
    categories = iter(stats.categories)
    stand_in = pd.DataFrame(
        {
            f["name"]: np.zeros(size)
            if f["kind"] == "numeric"
            else np.resize(np.asarray(next(categories), dtype=object), size)
            for f in features
        }
    )
    preprocess = pipeline.named_steps["preprocess"].fit(stand_in)
    if stats.means:
        steps = preprocess.named_transformers_["numeric"].named_steps
        steps["impute"].statistics_ = np.asarray(stats.means, dtype=np.float64)
        if "scale" in steps:
            scaler = steps["scale"]
            mean = np.asarray(stats.means, dtype=np.float64)
            var = np.asarray(stats.variances, dtype=np.float64)
            count = np.full(len(mean), stats.rows, dtype=np.int64)
            scaler.mean_, scaler.var_, scaler.n_samples_seen_ = mean, var, count
            # StandardScaler's own rule for (near-)constant columns: scale 1, not 1/0.
            constant = _is_constant_feature(var, mean, count)
            scaler.scale_ = _handle_zeros_in_scale(np.sqrt(var), copy=False, constant_mask=constant)
    return pipeline


def design_columns(
    features: list[dict[str, str]], pipeline: Any, center: bool
) -> tuple[list[Any], list[str], np.ndarray]:
    """The pipeline's preprocessing as Spark column expressions (imputed, scaled and one-hot
    columns, in the ColumnTransformer's order), so the executors see exactly the matrix
    scikit-learn would; ``center`` also subtracts the unscaled numbers' means (PCA's sums of
    squares stay precise whatever the columns' magnitude), returned as the offset to add back."""
    from pyspark.sql import functions as F

    preprocess = pipeline.named_steps["preprocess"]
    transformers = preprocess.named_transformers_
    columns: list[Any] = []
    offset: list[float] = []
    numeric = [name for name, _ in numeric_columns(features)]
    if numeric:
        steps = transformers["numeric"].named_steps
        means = steps["impute"].statistics_
        scaler = steps.get("scale")
        for j, name in enumerate(numeric):
            value = F.coalesce(_number(name), F.lit(float(means[j])))
            shift = 0.0
            if scaler is not None:
                value = (value - F.lit(float(scaler.mean_[j]))) / F.lit(float(scaler.scale_[j]))
            elif center:
                shift = float(means[j])
                value = value - F.lit(shift)
            columns.append(value)
            offset.append(shift)
    categorical = [name for name, _ in categorical_columns(features)]
    if categorical:
        encoder = transformers["categorical"]
        for name, values in zip(categorical, encoder.categories_, strict=True):
            for value in values:
                hit = _category(name) == F.lit(str(value))
                columns.append(F.when(hit, F.lit(1.0)).otherwise(F.lit(0.0)))
                offset.append(0.0)
    names = [f"__sqlml_z{i}" for i in range(len(columns))]
    aliased = [c.alias(n) for c, n in zip(columns, names, strict=True)]
    return aliased, names, np.asarray(offset, dtype=np.float64)


def fit_pca(
    training: MLlibTrainer,
    design: Any,
    names: list[str],
    offset: np.ndarray,
    pipeline: Any,
    options: ModelOptions,
    model: str,
    info: dict[str, Any],
) -> None:
    """One Spark job sums n, x and x^T x over the executors' rows; the driver turns them into the
    covariance and decomposes it as scikit-learn's 'covariance_eigh' solver does."""
    from sqlml_udfs.moments import moment_batches

    schema = "count long, sums array<double>, gram array<double>"
    parts = _mapped(training, design, moment_batches(names), schema)
    width = len(names)
    n = int(np.sum(parts.column("count").to_numpy()))
    sums = _stacked(parts.column("sums"), width).sum(axis=0)
    gram = _stacked(parts.column("gram"), width * width).sum(axis=0).reshape(width, width)
    if n < 2:
        raise TrainingError(
            f"CREATE MODEL {model} (pca) needs at least 2 training rows to estimate a covariance; "
            f"got {n}."
        )
    mean = sums / n
    covariance = (gram - n * np.outer(mean, mean)) / (n - 1)
    covariance = (covariance + covariance.T) / 2
    set_pca_state(pipeline.named_steps["model"], covariance, mean + offset, n, options, model)
    info["spark_jobs"] = 1
    if options.get("pca_solver") == "RANDOMIZED":
        info.setdefault("notes", []).append(
            "pca_solver 'RANDOMIZED' approximates the exact decomposition; on Spark the "
            "executors' covariance matrix is decomposed exactly instead."
        )


def _mapped(training: MLlibTrainer, frame: Any, function: Any, schema: str) -> pa.Table:
    """``frame.mapInArrow(function)`` collected as Arrow (without pyspark's pandas-version
    warning, which it repeats on every call: sqlml hands Spark Arrow, never pandas)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
        mapped = frame.mapInArrow(function, schema)
    return training.backend.to_arrow(mapped)


def _stacked(column: pa.ChunkedArray, width: int) -> np.ndarray:
    """A list<double> column of per-partition vectors as a [partitions, width] matrix."""
    flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return flat.astype(np.float64).reshape(-1, width)


def set_pca_state(
    estimator: Any,
    covariance: np.ndarray,
    mean: np.ndarray,
    n: int,
    options: ModelOptions,
    model: str,
) -> None:
    """A scikit-learn PCA's fitted attributes from the covariance of the preprocessed rows, as
    ``PCA._fit_full`` sets them with svd_solver='covariance_eigh' (descending eigenvalues,
    negative ones clipped, signs by svd_flip's row-based rule), so the projections match the
    DuckDB path's on the same rows."""
    from sklearn.utils.extmath import svd_flip

    width = covariance.shape[0]
    eigenvalues, vectors = np.linalg.eigh(covariance)
    eigenvalues = np.clip(eigenvalues[::-1], 0.0, None)
    _, components = svd_flip(None, np.ascontiguousarray(vectors[:, ::-1].T), u_based_decision=False)
    total = float(eigenvalues.sum())
    if total <= 0.0:
        raise TrainingError(
            f"The training rows of CREATE MODEL {model} (pca) have no variance: every feature "
            f"is constant, so there are no principal components to find."
        )
    ratios = eigenvalues / total
    k = _principal_components(options, ratios, width, n, model)
    estimator.set_params(n_components=k)
    estimator.n_components_ = k
    estimator.n_samples_ = n
    estimator.n_features_in_ = width
    estimator.mean_ = mean
    estimator.components_ = np.ascontiguousarray(components[:k])
    estimator.explained_variance_ = eigenvalues[:k].copy()
    estimator.explained_variance_ratio_ = ratios[:k].copy()
    estimator.singular_values_ = np.sqrt(eigenvalues[:k] * (n - 1))
    estimator.noise_variance_ = float(np.mean(eigenvalues[k:])) if k < min(width, n) else 0.0


def _principal_components(
    options: ModelOptions, ratios: np.ndarray, width: int, n: int, model: str
) -> int:
    """The number of components as the DuckDB path picks it (sqlml.models.sklearn: _pca and
    size_pca, then scikit-learn's rule for a share of variance)."""
    from sqlml.models.sklearn import DEFAULT_PRINCIPAL_COMPONENTS

    limit = min(width, n)
    share = options.get("pca_explained_variance_ratio")
    if share is not None:
        if share >= 1:
            return limit
        return min(limit, int(np.searchsorted(np.cumsum(ratios), share, side="right")) + 1)
    given = options.get("num_principal_components")
    if given is None:
        return min(DEFAULT_PRINCIPAL_COMPONENTS, limit)
    if given > limit:
        raise OptionError(
            f"The 'num_principal_components' option of CREATE MODEL {model} must be at most "
            f"{limit}: the training rows have {width} column(s) after preprocessing (numeric "
            f"columns plus one per category) and {n} row(s); got {given}."
        )
    return int(given)


def fit_mlp(
    training: MLlibTrainer,
    design: Any,
    names: list[str],
    pipeline: Any,
    options: ModelOptions,
    model: str,
    info: dict[str, Any],
) -> None:
    """L-BFGS on the driver, as MLlib's MultilayerPerceptronClassifier trains: every loss and
    gradient evaluation is one Spark job over the cached, preprocessed rows
    (:mod:`sqlml_udfs.mlp` on each partition), the partitions' sums added here. The objective and
    stopping rule are MLPRegressor's with solver='lbfgs' (gtol = its tol, 1e-4; maxfun 15,000)."""
    from scipy.optimize import minimize
    from sqlml_udfs import mlp

    estimator = pipeline.named_steps["model"]
    sizes = [len(names), *estimator.hidden_layer_sizes, 1]
    alpha = float(estimator.alpha)
    schema = "count long, loss double, gradient array<double>"
    design = design.persist()
    history: list[float] = []
    try:
        count = design.count()

        def evaluate(theta: np.ndarray) -> tuple[float, np.ndarray]:
            batches = mlp.gradient_batches(theta, sizes, names, LABEL)
            parts = _mapped(training, design, batches, schema)
            loss = float(np.sum(parts.column("loss").to_numpy()))
            gradient = _stacked(parts.column("gradient"), len(theta)).sum(axis=0)
            return mlp.objective(loss, gradient, count, theta, sizes, alpha)

        def record(intermediate_result: Any) -> None:  # scipy passes the state by this name
            history.append(float(intermediate_result.fun))

        start = mlp.initial_weights(sizes, options.get("random_seed", 42))
        result = minimize(
            evaluate,
            start,
            method="L-BFGS-B",
            jac=True,
            callback=record,
            options={"maxiter": estimator.max_iter, "maxfun": 15_000, "gtol": estimator.tol},
        )
    finally:
        design.unpersist()
    if not np.isfinite(result.fun):
        raise TrainingError(
            f"Training {model} (dnn_regressor) on Spark diverged (the loss is not finite); check "
            f"the label and features for NaN or huge values, or rescale them in the query."
        )
    layers = mlp.unpack(result.x, sizes)
    estimator.set_params(solver="lbfgs")
    estimator.coefs_ = [np.array(w) for w, _ in layers]
    estimator.intercepts_ = [np.array(b) for _, b in layers]
    estimator.n_layers_ = len(sizes)
    estimator.n_outputs_ = 1
    estimator.out_activation_ = "identity"
    estimator.n_features_in_ = len(names)
    estimator.n_iter_ = int(result.nit)
    estimator.t_ = int(count) * int(result.nit)
    estimator.loss_ = float(result.fun)
    estimator.loss_curve_ = history or [float(result.fun)]
    info["optimizer"] = "L-BFGS-B"
    info["spark_jobs"] = int(result.nfev) + 1
    if result.nit >= estimator.max_iter:
        info.setdefault("notes", []).append(
            f"L-BFGS stopped after max_iterations ({estimator.max_iter}) before converging; "
            f"raise max_iterations for a closer fit."
        )
