"""What CREATE MODEL records for ML.CENTROIDS (k-means) and ML.PRINCIPAL_COMPONENTS /
ML.PRINCIPAL_COMPONENT_INFO (PCA), per raw feature, in the model's training info.

The fitted centroids and eigenvectors live in the model's preprocessed space (numbers imputed and,
where the model scales, standardized; one column per category). They are mapped back to the raw
features here, while the fitted estimator and its preprocessing are at hand: a numeric feature gets
one value (a centroid's on the feature's original scale, with its standardized value beside it), a
categorical one a value per category.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sqlml_udfs.scoring import NULL_CATEGORY

if TYPE_CHECKING:
    from sqlml.training.mllib.onnx import KMeansHead, Layout
    from sqlml.training.pipeline import Training

CENTROIDS = "centroids"
PRINCIPAL_COMPONENTS = "principal_components"


def kmeans_centroids(training: Training, layout: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """scikit-learn's KMeans: ``cluster_centers_`` through the ColumnTransformer's ``layout``
    (:func:`sqlml.training.insights.column_layout`)."""
    estimator = training.pipeline.named_steps["model"]
    centers = np.asarray(estimator.cluster_centers_, dtype=np.float64)
    return _centroids(centers, layout, training)


def spark_kmeans_centroids(
    training: Training, layout: Layout, head: KMeansHead
) -> list[dict[str, Any]]:
    """Spark's KMeansModel: its centers through the Spark pipeline's layout (numbers first, in
    assembler order, then each categorical block of len(labels) + 1 columns)."""
    numeric = {name: i for i, name in enumerate(layout.numeric)}
    blocks: dict[str, tuple[int, list[str]]] = {}
    start = len(layout.numeric)
    for name, labels in layout.categorical:
        blocks[name] = (start, list(labels))
        start += len(labels) + 1
    items = []
    for feature in training.features:
        name = feature["name"]
        if name in numeric:
            i = numeric[name]
            scaled = layout.mean is not None and layout.std is not None
            items.append(
                {
                    "name": name,
                    "kind": "numeric",
                    "columns": [i],
                    "impute": layout.surrogates[i] if layout.surrogates else None,
                    "mean": float(layout.mean[i]) if scaled else 0.0,  # type: ignore[index]
                    "scale": float(layout.std[i]) if scaled else 1.0,  # type: ignore[index]
                }
            )
        else:
            first, labels = blocks[name]
            items.append(
                {
                    "name": name,
                    "kind": "categorical",
                    "columns": list(range(first, first + len(labels))),
                    "categories": labels,
                }
            )
    return _centroids(np.asarray(head.centers, dtype=np.float64), items, training)


def _centroids(
    centers: np.ndarray, layout: list[dict[str, Any]], training: Training
) -> list[dict[str, Any]]:
    """One entry per centroid (ids from 1, as BigQuery numbers them), one per feature inside it.

    ``standardized`` is the value in units of the feature's standard deviation over the training
    rows: the model's own standardization where it scales (standardize_features = TRUE, the
    default), else the mean and population standard deviation of the imputed training column.
    """
    stats = {}
    for item in layout:
        if item["kind"] != "numeric":
            continue
        if item["scale"] != 1.0 or item["mean"] != 0.0:
            stats[item["name"]] = (item["mean"], item["scale"])
            continue
        values = _numbers(training, item["name"], item.get("impute"))
        std = float(values.std()) if len(values) else 0.0
        stats[item["name"]] = (float(values.mean()) if len(values) else 0.0, std or 1.0)
    rows = []
    for k, center in enumerate(centers, start=1):
        features = []
        for item in layout:
            if item["kind"] == "numeric":
                value = float(center[item["columns"][0]]) * item["scale"] + item["mean"]
                mean, std = stats[item["name"]]
                features.append(
                    {
                        "feature": item["name"],
                        "numerical_value": value,
                        "standardized_value": (value - mean) / std,
                    }
                )
            else:
                shares = [float(center[c]) for c in item["columns"]]
                features.append(
                    {
                        "feature": item["name"],
                        "categorical_value": [
                            {"category": None if c == NULL_CATEGORY else str(c), "value": v}
                            for c, v in zip(item["categories"], shares, strict=True)
                            if abs(v) > 1e-12
                        ],
                    }
                )
        rows.append({"centroid_id": k, "features": features})
    return rows


def _numbers(training: Training, name: str, impute: float | None) -> np.ndarray:
    column = training.train.column(name).to_numpy(zero_copy_only=False)
    values = np.asarray(column, dtype=np.float64)
    missing = np.isnan(values)
    if missing.any():
        values = np.where(missing, impute if impute is not None else np.nanmean(values), values)
    return values


def principal_components(training: Training, layout: list[dict[str, Any]]) -> dict[str, Any]:
    """The eigenvectors (in the preprocessed space, where PCA found them), their eigenvalues and
    explained variance ratios, in descending order of eigenvalue, as scikit-learn keeps them."""
    estimator = training.pipeline.named_steps["model"]
    components = np.asarray(estimator.components_, dtype=np.float64)
    vectors = []
    for k, vector in enumerate(components, start=1):
        features = []
        for item in layout:
            if item["kind"] == "numeric":
                features.append(
                    {"feature": item["name"], "numerical_value": float(vector[item["columns"][0]])}
                )
            else:
                features.append(
                    {
                        "feature": item["name"],
                        "categorical_value": [
                            {"category": None if c == NULL_CATEGORY else str(c), "value": float(v)}
                            for c, v in zip(
                                item["categories"], vector[item["columns"]], strict=True
                            )
                        ],
                    }
                )
        vectors.append({"principal_component_id": k, "features": features})
    return {
        "eigenvalues": [float(v) for v in estimator.explained_variance_],
        "explained_variance_ratio": [float(v) for v in estimator.explained_variance_ratio_],
        "components": vectors,
    }
