"""The TRANSFORM clause of CREATE MODEL (BigQuery ML): preprocessing that is part of the model.

``CREATE MODEL m TRANSFORM (ML.STANDARD_SCALER(a) OVER () AS a_s, b * 2 AS b2, plan, y) ...``: the
model's features are the TRANSFORM outputs (the label passes through), and ML.PREDICT / ML.EVALUATE
take the raw columns the TRANSFORM reads. Each output lives where it can be expressed:

- ``ML.*`` preprocessing functions are scikit-learn transformers in the pipeline's ColumnTransformer,
  over the raw columns, so their fitted statistics are in the ONNX graph and an exported model takes
  raw columns for them.
- Plain SQL expressions (``b * 2 AS b2``, ``lower(plan) AS plan``) and ``ML.FEATURE_CROSS`` (a string
  concatenation, which ONNX at the opset sqlml targets cannot do) are computed in SQL: the model
  stores them (spec ``transform_sql``) and ML.PREDICT / ML.EVALUATE add them to their input before
  scoring. The ONNX graph takes those outputs as inputs of their own, so an exported model needs
  them precomputed: its metadata key ``sqlml.transform_sql`` says how.

Parsing (:func:`parse_transform`) is pure and imports only sqlglot, so the planner checks a TRANSFORM
before any data is read; scikit-learn and skl2onnx are imported when a pipeline is built.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from sqlml.errors import SchemaError, TrainingError

if TYPE_CHECKING:
    pass

from sqlml.plan.transform import CATEGORICAL_FUNCTIONS, NUMERIC_FUNCTIONS, Transform, TransformItem


def column_transformer(
    transform: Transform,
    features: list[dict[str, str]],
    scale_numeric: bool,
    frame: Any,
    model: str,
) -> Any:
    """The ColumnTransformer for a TRANSFORM model: one branch per output, over the graph inputs.

    Each output then gets the preprocessing every model input gets (numbers: mean imputation, and
    standardization where the model type scales; strings: one-hot encoding with unseen values
    ignored), as BigQuery applies its automatic preprocessing to the TRANSFORM's outputs.
    """
    from sklearn.compose import ColumnTransformer

    kinds = {f["name"]: f["kind"] for f in features}
    types = {f["name"]: f.get("type", "") for f in features}
    parts = []
    for index, item in enumerate(transform.features):
        columns = [item.input_name] if item.kind == "sql" else list(item.columns)
        _check_kinds(item, columns, kinds, types, model)
        step = _branch(item, columns, kinds, scale_numeric, frame, model)
        parts.append((f"t{index}", step, columns))
    return ColumnTransformer(parts, sparse_threshold=0.0)


def _check_kinds(
    item: TransformItem,
    columns: list[str],
    kinds: dict[str, str],
    types: dict[str, str],
    model: str,
) -> None:
    function = item.function
    for column in columns:
        kind = kinds[column]
        where = f"ML.{function}(...) AS {item.output} in the TRANSFORM of CREATE MODEL {model}"
        if function in NUMERIC_FUNCTIONS and kind != "numeric":
            raise SchemaError(
                f"{where} needs a numeric column; '{column}' is {types[column]}. CAST it to a "
                f"number in the training query."
            )
        if function in CATEGORICAL_FUNCTIONS and kind != "categorical":
            raise SchemaError(
                f"{where} needs a STRING column; '{column}' is {types[column]}. Write "
                f"CAST({column} AS VARCHAR) in the training query."
            )
        if function == "IMPUTER" and kind == "categorical" and item.args[0] != "most_frequent":
            raise SchemaError(
                f"{where}: '{column}' is {types[column]}, which only the 'most_frequent' "
                f"strategy can impute; got '{item.args[0]}'."
            )


def _tail(scale: bool) -> list[tuple[str, Any]]:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    steps: list[tuple[str, Any]] = [("impute", SimpleImputer(keep_empty_features=True))]
    if scale:
        steps.append(("scale", StandardScaler()))
    return steps


def _one_hot(categories: list[str] | None = None, dropped: str | None = None) -> Any:
    from sklearn.preprocessing import OneHotEncoder

    listed: Any = "auto" if categories is None else [np.array(categories, dtype=object)]
    drop = None if dropped is None else np.array([dropped], dtype=object)
    return OneHotEncoder(categories=listed, drop=drop, handle_unknown="ignore", sparse_output=False)


def _branch(
    item: TransformItem,
    columns: list[str],
    kinds: dict[str, str],
    scale: bool,
    frame: Any,
    model: str,
) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import (
        MaxAbsScaler,
        MinMaxScaler,
        OrdinalEncoder,
        PolynomialFeatures,
        RobustScaler,
        StandardScaler,
    )
    from sqlml_udfs.scoring import NULL_CATEGORY

    function = item.function
    if item.kind != "ml":  # a pass-through column or a SQL output: the default preprocessing
        if kinds[columns[0]] == "numeric":
            return Pipeline(_tail(scale))
        return _one_hot()
    if function == "IMPUTER" and kinds[columns[0]] == "categorical":
        imputer = SimpleImputer(strategy="most_frequent", missing_values=NULL_CATEGORY)
        return Pipeline([("fn", imputer), ("encode", _one_hot())])
    if function in ("ONE_HOT_ENCODER", "LABEL_ENCODER"):
        drop, top_k, threshold = item.args
        values = np.asarray(frame[columns[0]], dtype=object)
        vocabulary = _vocabulary(values, top_k, threshold, NULL_CATEGORY, item, model)
        if function == "LABEL_ENCODER":
            encoder = OrdinalEncoder(
                categories=[np.array(vocabulary, dtype=object)],
                handle_unknown="use_encoded_value",
                unknown_value=-1,
            )
            return Pipeline([("fn", encoder), *_tail(scale)])
        # dummy encoding: the dropped category encodes as all zeros (kept in the encoder's
        # categories, so the training info and ML.TRANSFORM know which it is)
        dropped = _most_frequent(values, vocabulary) if drop == "most_frequent" else None
        return Pipeline([("fn", _one_hot(vocabulary, dropped))])
    if function in ("BUCKETIZE", "QUANTILE_BUCKETIZE"):
        bucketizer = bucketizer_class()
        if function == "BUCKETIZE":
            return Pipeline([("fn", bucketizer(splits=tuple(item.args[0])))])
        return Pipeline([("fn", bucketizer(num_buckets=item.args[0]))])
    if function == "POLYNOMIAL_EXPAND":
        steps: list[tuple[str, Any]] = [
            ("impute", SimpleImputer(keep_empty_features=True)),
            ("fn", PolynomialFeatures(degree=item.args[0], include_bias=False)),
        ]
        if scale:
            steps.append(("scale", StandardScaler()))
        return Pipeline(steps)
    first: Any
    if function == "STANDARD_SCALER":
        first = StandardScaler()
    elif function == "MIN_MAX_SCALER":
        first = MinMaxScaler(clip=True)  # BigQuery caps values outside the training range
    elif function == "MAX_ABS_SCALER":
        first = MaxAbsScaler()
    elif function == "ROBUST_SCALER":
        low, high, with_median, with_range = item.args
        first = RobustScaler(
            with_centering=with_median, with_scaling=with_range, quantile_range=(low, high)
        )
    else:  # IMPUTER on numbers
        first = SimpleImputer(strategy=item.args[0], keep_empty_features=True)
    return Pipeline([("fn", first), *_tail(scale)])


def _vocabulary(
    values: np.ndarray,
    top_k: int,
    threshold: int,
    null: str,
    item: TransformItem,
    model: str,
) -> list[str]:
    """BigQuery's encoding vocabulary: the top_k most frequent categories occurring at least
    frequency_threshold times, NULL excluded, sorted alphabetically."""
    present = values[values != null].astype(str)
    categories, counts = np.unique(present, return_counts=True)
    keep = counts >= threshold
    categories, counts = categories[keep], counts[keep]
    if len(categories) > top_k:
        order = np.lexsort((categories, -counts))[:top_k]
        categories = categories[order]
    if len(categories) == 0:
        raise TrainingError(
            f"ML.{item.function}({item.columns[0]}) AS {item.output} in the TRANSFORM of CREATE "
            f"MODEL {model}: no value of '{item.columns[0]}' occurs at least {threshold} times "
            f"(its frequency_threshold, 5 unless given) in the training rows, so every row would "
            f"encode alike. Lower it, as in ML.{item.function}({item.columns[0]}"
            f"{', ' + repr('none') if item.function == 'ONE_HOT_ENCODER' else ''}, 32000, 1)."
        )
    return sorted(str(c) for c in categories)


def _most_frequent(values: np.ndarray, vocabulary: list[str]) -> str:
    counts = {v: 0 for v in vocabulary}
    for value in values.astype(str):
        if value in counts:
            counts[value] += 1
    return min(vocabulary, key=lambda v: (-counts[v], v))


@functools.cache
def bucketizer_class() -> type:
    """A transformer for BigQuery's buckets, with its skl2onnx converter registered.

    Output: one column per bucket (bin_1 = below the first split point, …, values equal to a split
    point go to the bucket above it), one-hot, then a column for NULL (NaN), which BigQuery's
    automatic preprocessing makes a category of its own. Comparisons are made in float32, as the
    ONNX graph makes them, so scikit-learn and ONNX Runtime always agree on a row's bucket.
    scikit-learn's KBinsDiscretizer cannot take given edges nor NaN, hence this class.
    """
    from skl2onnx import update_registered_converter
    from sklearn.base import BaseEstimator, TransformerMixin

    class Bucketizer(TransformerMixin, BaseEstimator):
        def __init__(self, splits: tuple[float, ...] | None = None, num_buckets: int | None = None):
            self.splits = splits
            self.num_buckets = num_buckets

        def fit(self, X: Any, y: Any = None) -> Any:
            x = np.asarray(X, dtype=np.float64)[:, 0]
            if self.splits is not None:
                edges = np.asarray(self.splits, dtype=np.float64)
            else:
                present = x[~np.isnan(x)]
                n = int(self.num_buckets or 1)
                levels = np.arange(1, n) / n
                edges = np.unique(np.quantile(present, levels)) if len(present) else np.zeros(0)
            self.splits_ = np.unique(edges.astype(np.float32))
            self.n_features_in_ = 1
            return self

        def transform(self, X: Any) -> np.ndarray:
            x = np.asarray(X, dtype=np.float64)[:, 0].astype(np.float32)
            buckets = len(self.splits_) + 1
            index = (x[:, None] >= self.splits_[None, :]).sum(axis=1)
            missing = np.isnan(x)
            out = np.zeros((len(x), buckets + 1))
            rows = np.flatnonzero(~missing)
            out[rows, index[rows]] = 1.0
            out[missing, buckets] = 1.0
            return out

        def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
            buckets = len(self.splits_) + 1
            return np.array([f"bin_{i}" for i in range(1, buckets + 1)] + ["NULL"], dtype=object)

    update_registered_converter(
        Bucketizer, "SqlmlBucketizer", _bucketizer_shape, _convert_bucketizer
    )
    return Bucketizer


def _bucketizer_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    rows = operator.inputs[0].get_first_dimension()
    width = len(operator.raw_operator.splits_) + 2
    operator.outputs[0].type = FloatTensorType([rows, width])


def _convert_bucketizer(scope: Any, operator: Any, container: Any) -> None:
    """x [N, 1] -> [one-hot of count(x >= split) masked by not-NaN, isnan(x)] as float [N, k+2]."""
    from onnx import TensorProto

    splits = operator.raw_operator.splits_
    x = operator.inputs[0].full_name

    def var(name: str) -> str:
        return scope.get_unique_variable_name(name)

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = var(op.lower())
        container.add_node(op, inputs, [out], name=scope.get_unique_operator_name(op), **attrs)
        return out

    def const(name: str, dtype: int, dims: list[int], values: list[Any]) -> str:
        tensor = var(name)
        container.add_initializer(tensor, dtype, dims, values)
        return tensor

    one = const("one", TensorProto.FLOAT, [1], [1.0])
    missing = node("Cast", [node("IsNaN", [x])], to=TensorProto.FLOAT)
    present = node("Sub", [one, missing])
    buckets = len(splits) + 1
    if len(splits):
        edges = const("bucket_splits", TensorProto.FLOAT, [1, len(splits)], splits.tolist())
        above = node("Cast", [node("GreaterOrEqual", [x, edges])], to=TensorProto.FLOAT)
        axes = const("axes", TensorProto.INT64, [1], [1])
        index = node("ReduceSum", [above, axes], keepdims=1)
        ids = const(
            "bucket_ids", TensorProto.FLOAT, [1, buckets], [float(i) for i in range(buckets)]
        )
        onehot = node("Cast", [node("Equal", [index, ids])], to=TensorProto.FLOAT)
        bins = node("Mul", [onehot, present])
    else:
        bins = present
    container.add_node(
        "Concat",
        [bins, missing],
        [operator.outputs[0].full_name],
        name=scope.get_unique_operator_name("Concat"),
        axis=1,
    )


def summary(preprocess: Any, transform: Transform) -> list[dict[str, Any]]:
    """Per TRANSFORM output: where it is computed, what it reads, and its fitted statistics."""
    rows = []
    for index, item in enumerate(transform.features):
        row: dict[str, Any] = {"output": item.output, "input": list(item.columns)}
        if item.kind == "column":
            row["computed_in"] = "pass-through"
        elif item.kind == "sql":
            row["computed_in"] = "sql"
            row["sql"] = item.sql
            if item.function:
                row["function"] = f"ML.{item.function}"
        else:
            row["computed_in"] = "onnx"
            row["function"] = f"ML.{item.function}"
            if item.function == "POLYNOMIAL_EXPAND":
                row["degree"] = item.args[0]
            branch = preprocess.named_transformers_[f"t{index}"]
            row["statistics"] = _statistics(branch.named_steps["fn"])
        rows.append(row)
    return rows


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _statistics(step: Any) -> dict[str, Any]:
    name = type(step).__name__
    if name == "StandardScaler":
        return {"mean": _number(step.mean_[0]), "stddev": _number(step.scale_[0])}
    if name == "MinMaxScaler":
        return {"min": _number(step.data_min_[0]), "max": _number(step.data_max_[0])}
    if name == "MaxAbsScaler":
        return {"max_abs": _number(step.max_abs_[0])}
    if name == "RobustScaler":
        stats: dict[str, Any] = {}
        if step.center_ is not None:
            stats["median"] = _number(step.center_[0])
        if step.scale_ is not None:
            stats["quantile_range"] = _number(step.scale_[0])
        return stats
    if name == "SimpleImputer":
        value = step.statistics_[0]
        return {
            "strategy": step.strategy,
            "fill_value": str(value) if isinstance(value, str) else _number(value),
        }
    if name in ("OneHotEncoder", "OrdinalEncoder"):
        categories = [str(c) for c in step.categories_[0]]
        dropped = getattr(step, "drop_idx_", None)
        if dropped is not None and dropped[0] is not None:
            gone = categories.pop(int(dropped[0]))
            return {"categories": categories, "dropped": gone}
        return {"categories": categories}
    if name == "Bucketizer":
        return {"split_points": [float(s) for s in step.splits_]}
    if name == "PolynomialFeatures":
        return {"degree": int(step.degree), "output_columns": int(step.n_output_features_)}
    return {}
