"""ML.PRINCIPAL_COMPONENTS and ML.PRINCIPAL_COMPONENT_INFO: a PCA model's eigenvectors and their
eigenvalues.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-principal-components
and .../bigqueryml-syntax-principal-component-info. Both read what CREATE MODEL recorded
(:mod:`sqlml.training.unsupervised`), in descending order of eigenvalue. An eigenvector's values
are in the space PCA worked in: numbers centered and, unless scale_features = FALSE, scaled to unit
variance; one value per category (of the one-hot encoding) for a categorical feature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sqlml.functions import CallContext, register
from sqlml.functions.model_info import recorded
from sqlml.training.unsupervised import PRINCIPAL_COMPONENTS

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord

CATEGORY_VALUE = pa.struct([("category", pa.string()), ("value", pa.float64())])


def pca_model(record: ModelRecord) -> str | None:
    return None if record.model_type == "pca" else "PCA models"


@register("PRINCIPAL_COMPONENTS", input="none", applies=pca_model, groups="each")
def principal_components(ctx: CallContext) -> pa.Table:
    stored = recorded(ctx.record, PRINCIPAL_COMPONENTS, "PRINCIPAL_COMPONENTS")
    out: dict[str, list[Any]] = {
        "principal_component_id": [],
        "feature": [],
        "numerical_value": [],
        "categorical_value": [],
    }
    for component in stored["components"]:
        for feature in component["features"]:
            out["principal_component_id"].append(component["principal_component_id"])
            out["feature"].append(feature["feature"])
            out["numerical_value"].append(feature.get("numerical_value"))
            out["categorical_value"].append(feature.get("categorical_value", []))
    return pa.table(
        {
            "principal_component_id": pa.array(out["principal_component_id"], pa.int64()),
            "feature": pa.array(out["feature"], pa.string()),
            "numerical_value": pa.array(out["numerical_value"], pa.float64()),
            "categorical_value": pa.array(out["categorical_value"], pa.list_(CATEGORY_VALUE)),
        }
    )


@register("PRINCIPAL_COMPONENT_INFO", input="none", applies=pca_model, groups="each")
def principal_component_info(ctx: CallContext) -> pa.Table:
    """The explained variance ratio is scikit-learn's: the share of the training rows' total
    variance (every component's, kept or not), so the cumulative ratio reaches 1 only when
    every component is kept."""
    stored = recorded(ctx.record, PRINCIPAL_COMPONENTS, "PRINCIPAL_COMPONENT_INFO")
    ratios = stored["explained_variance_ratio"]
    cumulative, total = [], 0.0
    for ratio in ratios:
        total += ratio
        cumulative.append(total)
    return pa.table(
        {
            "principal_component_id": pa.array(range(1, len(ratios) + 1), pa.int64()),
            "eigenvalue": pa.array(stored["eigenvalues"], pa.float64()),
            "explained_variance_ratio": pa.array(ratios, pa.float64()),
            "cumulative_explained_variance_ratio": pa.array(cumulative, pa.float64()),
        }
    )
