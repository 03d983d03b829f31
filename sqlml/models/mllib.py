"""The Spark MLlib makers of the model types (named by their registry entries): sqlml's validated
options mapped onto a Spark ML estimator, as :mod:`sqlml.models.sklearn` maps them for scikit-learn.

BigQuery's penalties apply to the sum of the losses (``l1 |w| + l2 |w|²``); Spark's to their mean,
so they are divided by the number of training rows. pyspark is imported only when a maker runs.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlml.models import boosting
from sqlml.models.sklearn import logistic_penalties

if TYPE_CHECKING:
    from sqlml.models.options import ModelOptions


@dataclass(frozen=True)
class MLlibContext:
    """What a maker needs beyond the options: the prepared frame's size and columns."""

    rows: int  # training rows (≥ 1)
    width: int  # the assembled feature vector's length
    classes: int  # number of classes (classifiers), else 0
    prediction: str  # the prediction column's name
    #: featuresCol, and for supervised models labelCol, predictionCol (classifiers:
    #: probabilityCol, rawPredictionCol), and weightCol when rows are weighted
    common: dict[str, Any]
    #: the boolean column marking the evaluation split's rows among the training rows (None: the
    #: frame holds training rows only); only makers that watch an evaluation split get them
    validation: str | None = None
    #: tasks that can run at once (XGBoost's workers on the executors)
    workers: int = 1
    #: a Spark Connect session (xgboost.spark needs a classic one)
    connect: bool = False


def _seed(o: ModelOptions) -> int:
    return o.get("random_seed", 42)


def logistic_reg(o: ModelOptions, ctx: MLlibContext) -> Any:
    from pyspark.ml import classification

    l1, l2 = logistic_penalties(o)  # scikit-learn's default penalty when none is given
    penalty = (l1 + 2 * l2) / ctx.rows
    mix = l1 / (l1 + 2 * l2) if penalty else 0.0
    return classification.LogisticRegression(
        regParam=penalty,
        elasticNetParam=mix,
        maxIter=o.get("max_iterations", 1000),
        fitIntercept=bool(o.get("fit_intercept", True)),
        standardization=False,
        **ctx.common,
    )


def linear_reg(o: ModelOptions, ctx: MLlibContext) -> Any:
    from pyspark.ml import regression

    l1, l2 = o.get("l1_reg", 0.0), o.get("l2_reg", 0.0)
    n = ctx.rows
    penalty = l1 / (2 * n) + l2 / n
    mix = (l1 / (2 * n)) / penalty if penalty else 0.0
    return regression.LinearRegression(
        regParam=penalty,
        elasticNetParam=mix,
        maxIter=o.get("max_iterations", 1000),
        fitIntercept=bool(o.get("fit_intercept", True)),
        standardization=False,
        **ctx.common,
    )


def _columns_per_split(o: ModelOptions, default: str) -> str:
    """colsample_bynode as Spark's featureSubsetStrategy: a fraction "(0, 1]" is the share of the
    features considered at each split (scikit-learn's max_features)."""
    share = o.get("colsample_bynode")
    return default if share is None else repr(float(share))


def _forest(o: ModelOptions, ctx: MLlibContext, classifier: bool) -> Any:
    from pyspark.ml import classification, regression

    cls = classification.RandomForestClassifier if classifier else regression.RandomForestRegressor
    return cls(
        numTrees=o.get("num_parallel_tree", 100),
        maxDepth=min(30, o.get("max_tree_depth", 20)),
        subsamplingRate=o.get("subsample", 0.8),
        minInfoGain=o.get("min_split_loss", 0.0),
        featureSubsetStrategy=_columns_per_split(o, "sqrt" if classifier else "all"),
        seed=_seed(o),
        **ctx.common,
    )


def forest_classifier(o: ModelOptions, ctx: MLlibContext) -> Any:
    return _forest(o, ctx, True)


def forest_regressor(o: ModelOptions, ctx: MLlibContext) -> Any:
    return _forest(o, ctx, False)


def _boosted(o: ModelOptions, ctx: MLlibContext, classifier: bool) -> Any:
    """XGBoost on the executors (xgboost.spark: one barrier task per worker, the booster
    allreduced between them), with the parameters and stopping of the DuckDB path
    (:mod:`sqlml.models.boosting`); MLlib's GBT on a Spark Connect session."""
    if ctx.connect:
        return _gbt(o, ctx, classifier)
    from xgboost.spark import SparkXGBClassifier, SparkXGBRegressor

    progress = logging.getLogger("XGBoost-PySpark")  # INFO lines on every fit and transform
    if progress.level == logging.NOTSET:
        progress.setLevel(logging.WARNING)

    params = boosting.parameters(o, _seed(o))
    params.update(boosting.stopping_parameters(boosting.stopping(o), ctx.validation is not None))
    params = {k: v for k, v in params.items() if v is not None}
    names = {
        "features_col": "featuresCol",
        "label_col": "labelCol",
        "prediction_col": "predictionCol",
        "weight_col": "weightCol",
        **(
            {"probability_col": "probabilityCol", "raw_prediction_col": "rawPredictionCol"}
            if classifier
            else {}
        ),
    }
    columns = {ours: ctx.common[theirs] for ours, theirs in names.items() if theirs in ctx.common}
    if ctx.validation is not None:
        columns["validation_indicator_col"] = ctx.validation
    cls = SparkXGBClassifier if classifier else SparkXGBRegressor
    return cls(num_workers=max(1, ctx.workers), verbose=False, **columns, **params)


def _gbt(o: ModelOptions, ctx: MLlibContext, classifier: bool) -> Any:
    from pyspark.ml import classification, regression

    cls = classification.GBTClassifier if classifier else regression.GBTRegressor
    common = dict(ctx.common)
    # GBTClassifier's constructor takes no probabilityCol: set through the setters.
    outputs = {k: common.pop(k) for k in ("probabilityCol", "rawPredictionCol") if k in common}
    estimator = cls(
        maxIter=o.get("max_iterations", 20),
        stepSize=o.get("learn_rate", 0.3),
        maxDepth=min(30, o.get("max_tree_depth", 6)),
        subsamplingRate=o.get("subsample", 1.0),
        minInfoGain=o.get("min_split_loss", 0.0),
        featureSubsetStrategy=_columns_per_split(o, "all"),
        seed=_seed(o),
        **common,
    )
    if outputs:
        estimator.setProbabilityCol(outputs["probabilityCol"])
        estimator.setRawPredictionCol(outputs["rawPredictionCol"])
    return estimator


def boosted_classifier(o: ModelOptions, ctx: MLlibContext) -> Any:
    return _boosted(o, ctx, True)


def boosted_regressor(o: ModelOptions, ctx: MLlibContext) -> Any:
    return _boosted(o, ctx, False)


def dnn_classifier(o: ModelOptions, ctx: MLlibContext) -> Any:
    from pyspark.ml import classification

    layers = [ctx.width, *o.get("hidden_units", [128]), ctx.classes]
    return classification.MultilayerPerceptronClassifier(
        layers=layers, maxIter=o.get("max_iterations", 200), seed=_seed(o), **ctx.common
    )


def kmeans(o: ModelOptions, ctx: MLlibContext) -> Any:
    from pyspark.ml import clustering

    default_k = max(2, min(10, round(math.log10(max(ctx.rows, 10)))))
    init = "k-means||" if o.get("kmeans_init_method") == "KMEANS++" else "random"
    return clustering.KMeans(
        k=o.get("num_clusters", default_k),
        initMode=init,
        maxIter=o.get("max_iterations", 20),
        seed=_seed(o),
        predictionCol=ctx.prediction,
        **ctx.common,
    )
