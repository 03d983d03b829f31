"""The scikit-learn makers of the model types (named by their registry entries): sqlml's validated
options mapped onto a scikit-learn estimator's parameters.

BigQuery ML's defaults are kept where scikit-learn has the same knob (100 trees for a random forest,
20 k-means iterations); the mapping of each option is in the statement reference (sql/reference.md).
Boosted trees are XGBoost's (sqlml.models.boosting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlml.errors import OptionError

if TYPE_CHECKING:
    from sqlml.models.options import ModelOptions


@dataclass(frozen=True)
class EstimatorPlan:
    """What to fit: the estimator, whether numeric inputs get scaled, and fit-time keyword args."""

    estimator: Any
    scale_numeric: bool
    #: Rows scaled to unit L2 norm after preprocessing (k-means with distance_type = 'COSINE').
    normalize_rows: bool = False
    #: The BOOL column whose TRUE rows are k-means' initial centroids (kmeans_init_method CUSTOM).
    init_col: str | None = None
    #: The estimator's fit takes ``evaluation=(x, y)``, the preprocessed evaluation split, for its
    #: loss per round and early stopping (XGBoost: sqlml.models.boosting).
    eval_set: bool = False
    #: Fitted one solver iteration at a time (warm-started), stopping after the first whose training
    #: objective fell by less than this share (BigQuery's min_rel_progress); None: one fit.
    stepwise: float | None = None
    #: The label is standardized for the fit and the scaling folded back into the estimator's
    #: output layer afterwards (an MLP regressor), so the model predicts in the label's units.
    scale_label: bool = False


def linear_reg(o: ModelOptions, n: int, seed: int) -> EstimatorPlan:
    from sklearn.linear_model import ElasticNet, LinearRegression, Ridge

    l1, l2 = o.get("l1_reg", 0.0), o.get("l2_reg", 0.0)
    intercept = bool(o.get("fit_intercept", True))
    if l1 > 0:
        # BigQuery's penalties apply to the sum of squared errors; ElasticNet's to half the mean.
        alpha = l1 / (2 * n) + l2 / n
        est: Any = ElasticNet(
            alpha=alpha,
            l1_ratio=(l1 / (2 * n)) / alpha,
            max_iter=o.get("max_iterations", 1000),
            fit_intercept=intercept,
            random_state=seed,
        )
    elif l2 > 0:
        est = Ridge(alpha=l2, fit_intercept=intercept)
    else:
        est = LinearRegression(fit_intercept=intercept)
    return EstimatorPlan(est, scale_numeric=True)


#: logistic_reg's L2 penalty when neither l1_reg nor l2_reg is given: scikit-learn's default
#: (C = 1 on the standardized features). BigQuery's 0 is unpenalized, and it stops its gradient
#: descent after ~20 iterations, which regularizes; an exact solver without a penalty saturates on
#: separable data (breast_cancer: log_loss 1.37 against 0.09 with this default).
DEFAULT_LOGISTIC_L2 = 0.5


def logistic_penalties(o: ModelOptions) -> tuple[float, float]:
    """(l1, l2) of a logistic_reg, on BigQuery's scale (the summed loss + l1·|w| + l2·|w|²)."""
    if "l1_reg" not in o.given and "l2_reg" not in o.given:
        return 0.0, DEFAULT_LOGISTIC_L2
    return o.get("l1_reg", 0.0), o.get("l2_reg", 0.0)


def logistic_reg(o: ModelOptions, n: int, seed: int) -> EstimatorPlan:
    """Newton steps (scikit-learn's newton-cholesky), one at a time: BigQuery's early_stop and
    min_rel_progress end the fit after the first step whose training objective fell by less than
    that share, max_iterations bounds the steps; with l1_reg, saga to its tolerance."""
    from sklearn.linear_model import LogisticRegression

    l1, l2 = logistic_penalties(o)
    penalty = l1 + 2 * l2
    kwargs: dict[str, Any] = {
        # BigQuery's 20 iterations (Newton steps here; saga's epochs need more)
        "max_iter": o.get("max_iterations", 1000 if l1 > 0 else 20),
        "fit_intercept": bool(o.get("fit_intercept", True)),
        "random_state": seed,
        "C": math.inf if penalty == 0 else 1.0 / penalty,
    }
    if l1 > 0:
        kwargs["l1_ratio"] = l1 / penalty
        kwargs["solver"] = "saga"
        return EstimatorPlan(LogisticRegression(**kwargs), scale_numeric=True)
    kwargs["solver"] = "newton-cholesky"
    relative = o.get("min_rel_progress", 0.01) if o.get("early_stop", True) else None
    return EstimatorPlan(LogisticRegression(**kwargs), scale_numeric=True, stepwise=relative)


def _forest(o: ModelOptions, n: int, seed: int, classifier: bool) -> EstimatorPlan:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if classifier else RandomForestRegressor
    subsample = o.get("subsample", 0.8)
    est = cls(
        n_estimators=o.get("num_parallel_tree", 100),
        max_depth=o.get("max_tree_depth", 20),
        max_samples=None if subsample >= 1.0 else subsample,
        min_impurity_decrease=o.get("min_split_loss", 0.0),
        **_tree_kwargs(o, "sqrt" if classifier else 1.0),
        n_jobs=-1,
        random_state=seed,
    )
    return EstimatorPlan(est, scale_numeric=False)


def _tree_kwargs(o: ModelOptions, all_features: Any) -> dict[str, Any]:
    """XGBoost's per-split column sampling and least child weight, in scikit-learn's terms.

    colsample_bynode is max_features: the share of (preprocessed) columns drawn at every split;
    unset, the estimator's own default. min_tree_child_weight is, for squared error (every row's
    hessian is 1), the fewest rows a leaf may hold; classifiers take only its default (registry).
    """
    columns = o.get("colsample_bynode")
    return {
        "max_features": all_features if columns is None else columns,
        "min_samples_leaf": max(1, o.get("min_tree_child_weight", 1)),
    }


#: BigQuery's ACTIVATION_FN -> scikit-learn's MLP activation (the others: registry accepts).
_ACTIVATIONS = {"RELU": "relu", "SIGMOID": "logistic", "TANH": "tanh"}


def _dnn(o: ModelOptions, n: int, seed: int, classifier: bool) -> EstimatorPlan:
    from sqlml.models import dnn

    classifier_cls, regressor_cls = dnn.estimator_classes()  # scikit-learn's, watching the
    cls = classifier_cls if classifier else regressor_cls  # evaluation split epoch by epoch
    # TensorFlow's GradientDescentOptimizer (BigQuery's SGD) has no momentum and a fixed rate.
    solver: dict[str, Any] = (
        {"solver": "sgd", "momentum": 0.0, "nesterovs_momentum": False, "learning_rate": "constant"}
        if o.get("optimizer") == "SGD"
        else {"solver": "adam"}
    )
    est = cls(
        hidden_layer_sizes=tuple(o.get("hidden_units", [128])),
        activation=_ACTIVATIONS[o.get("activation_fn", "RELU")],
        alpha=o.get("l2_reg", 0.0) or 1e-4,
        learning_rate_init=o.get("learn_rate", 0.001),
        max_iter=o.get("max_iterations", 200),
        batch_size=o.get("batch_size", "auto"),
        early_stopping=False,
        random_state=seed,
        **solver,
    )
    est.sqlml_stopping = dnn.stopping(o)
    return EstimatorPlan(est, scale_numeric=True, scale_label=not classifier, eval_set=True)


def kmeans(o: ModelOptions, n: int, seed: int) -> EstimatorPlan:
    from sklearn.cluster import KMeans

    default_k = max(2, min(10, round(math.log10(max(n, 10)))))
    method = o.get("kmeans_init_method")
    # CUSTOM: the initial centroids are the preprocessed TRUE rows of kmeans_init_col, set when
    # the pipeline is fitted (training.pipeline.seed_centroids); one run from them.
    init = {"KMEANS++": "k-means++", "RANDOM": "random", "CUSTOM": "random"}[method]
    est = KMeans(
        n_clusters=o.get("num_clusters", default_k),
        init=init,
        max_iter=o.get("max_iterations", 20),
        n_init=1 if method == "CUSTOM" else 3,
        random_state=seed,
    )
    return EstimatorPlan(
        est,
        scale_numeric=bool(o.get("standardize_features", True)),
        normalize_rows=o.get("distance_type") == "COSINE",
        init_col=o.get("kmeans_init_col") if method == "CUSTOM" else None,
    )


def pca(o: ModelOptions, n: int, seed: int) -> EstimatorPlan:
    """BigQuery's PCA: numbers centered, and scaled to unit variance unless scale_features=FALSE.

    With neither num_principal_components nor pca_explained_variance_ratio, the number of
    components is set by :func:`size_pca` once the preprocessed width is known.
    """
    from sklearn.decomposition import PCA

    ratio = o.get("pca_explained_variance_ratio")
    solver = {"FULL": "full", "RANDOMIZED": "randomized", "AUTO": "auto"}[o.get("pca_solver")]
    if ratio is not None:  # a share of variance: scikit-learn needs the full decomposition
        components: Any = ratio if ratio < 1 else None
        solver = "full"
    else:
        components = o.get("num_principal_components")
    est = PCA(n_components=components, svd_solver=solver, random_state=seed)
    return EstimatorPlan(est, scale_numeric=bool(o.get("scale_features", True)))


DEFAULT_PRINCIPAL_COMPONENTS = 10


def size_pca(pipeline: Any, frame: Any, options: ModelOptions, model: str) -> None:
    """Check num_principal_components against the preprocessed width (numeric columns plus one
    per category), or pick the default: min(10, width, rows)."""
    from sklearn.base import clone

    if options.get("pca_explained_variance_ratio") is not None:
        return
    width = clone(pipeline.named_steps["preprocess"]).fit_transform(frame).shape[1]
    limit = min(width, len(frame))
    given = options.get("num_principal_components")
    if given is None:
        pipeline.set_params(model__n_components=min(DEFAULT_PRINCIPAL_COMPONENTS, limit))
    elif given > limit:
        raise OptionError(
            f"The 'num_principal_components' option of CREATE MODEL {model} must be at most "
            f"{limit}: the training rows have {width} column(s) after preprocessing (numeric "
            f"columns plus one per category) and {len(frame)} row(s); got {given}."
        )


def forest_classifier(o: ModelOptions, n: int, seed: int) -> EstimatorPlan:
    return _forest(o, n, seed, True)


def forest_regressor(o: ModelOptions, n: int, seed: int) -> EstimatorPlan:
    return _forest(o, n, seed, False)


def dnn_classifier(o: ModelOptions, n: int, seed: int) -> EstimatorPlan:
    return _dnn(o, n, seed, True)


def dnn_regressor(o: ModelOptions, n: int, seed: int) -> EstimatorPlan:
    return _dnn(o, n, seed, False)
