"""ML.CENTROIDS: a k-means model's centroids, one row per centroid and feature.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-centroids. Reads
what CREATE MODEL recorded (:mod:`sqlml.training.unsupervised`): a numeric feature's centroid value
on the feature's original scale, or with ``STRUCT(TRUE AS standardize)`` in standard deviations from
its training mean; a categorical feature's share of each category among the centroid's coordinates
(categories with no share are left out, as BigQuery's examples show).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sqlml.functions import CallContext, boolean, register
from sqlml.functions.model_info import recorded
from sqlml.training.unsupervised import CENTROIDS

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord

# BigQuery documents categorical_value.value as a STRING.
CATEGORY_VALUE = pa.struct([("category", pa.string()), ("value", pa.string())])


def kmeans_model(record: ModelRecord) -> str | None:
    return None if record.model_type == "kmeans" else "k-means models"


@register(
    "CENTROIDS", options={"standardize": boolean}, input="none", applies=kmeans_model, groups="each"
)
def centroids(ctx: CallContext) -> pa.Table:
    rows = recorded(ctx.record, CENTROIDS, "CENTROIDS")
    standardize = ctx.options.get("standardize", False)
    out: dict[str, list[Any]] = {
        "centroid_id": [],
        "feature": [],
        "numerical_value": [],
        "categorical_value": [],
    }
    for centroid in rows:
        for feature in centroid["features"]:
            out["centroid_id"].append(centroid["centroid_id"])
            out["feature"].append(feature["feature"])
            if "numerical_value" in feature:
                key = "standardized_value" if standardize else "numerical_value"
                out["numerical_value"].append(feature[key])
                out["categorical_value"].append([])
            else:
                out["numerical_value"].append(None)
                out["categorical_value"].append(
                    [
                        {"category": c["category"], "value": repr(float(c["value"]))}
                        for c in feature["categorical_value"]
                    ]
                )
    count = len(out["feature"])
    return pa.table(
        {
            "centroid_id": pa.array(out["centroid_id"], pa.int64()),
            "feature": pa.array(out["feature"], pa.string()),
            "numerical_value": pa.array(out["numerical_value"], pa.float64()),
            "categorical_value": pa.array(out["categorical_value"], pa.list_(CATEGORY_VALUE)),
            "geography_value": pa.nulls(count, pa.string()),  # sqlml has no GEOGRAPHY features
        }
    )
