"""Hyperparameter tuning and automl: try several configurations, keep the best, refit it.

A trial fits a fresh scikit-learn pipeline (:func:`~sqlml.training.fit.fit_once`) and scores it with
that pipeline directly, on the evaluation split or on k folds of the training rows; only the winner
is refitted on every training row and converted to ONNX by the stages that follow in
:func:`~sqlml.training.fit.fit`. Every trial is recorded in the model's training info for
ML.TRIAL_INFO. Trials run one at a time: the engine and ONNX Runtime already use the cores.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from sqlml import progress
from sqlml.cancel import checkpoint
from sqlml.errors import OptionError, TrainingError
from sqlml.models.boosting import is_xgboost, round_losses
from sqlml.models.options import AUTOML_TYPES, OBJECTIVES, OPTIONS, ModelOptions
from sqlml.models.registry import AUTOML_CANDIDATES, DEFAULT_SPACES
from sqlml.models.space import HParamCandidates, HParamRange, Space
from sqlml.training.pipeline import Training, centroid_distances, fit_once, fit_pipeline

DEFAULT_TRIALS = 10  # with a search space but no num_trials
AUTOML_TRIALS_PER_TYPE = 3  # automl without num_trials: defaults, then two random configurations
AUTOML_FOLDS = 3  # automl's cross-validation when the data split leaves no held-out rows
GRID_INT_LIMIT = 20  # most values of an integer HPARAM_RANGE that GRID_SEARCH expands
LOG_RATIO = 100  # a float range with low > 0 and high / low ≥ this is sampled log-uniformly
DEFAULT_OBJECTIVE = {
    "classification": "roc_auc",
    "regression": "r2_score",
    "clustering": "davies_bouldin_index",
}
# Options automl keeps in the stored options though the concrete model_type does not take them.
_AUTOML_KEYS = ("num_trials", "num_folds", "hparam_tuning_objectives", "budget_seconds")


# --- dispatch (called by fit.fit) -------------------------------------------------------------------


def requested(options: ModelOptions) -> bool:
    """Tuning is on for automl, num_trials > 1, or any option given as a search space."""
    return (
        options.model_type in AUTOML_TYPES
        or (options.get("num_trials") or 1) > 1
        or any(isinstance(v, HParamRange | HParamCandidates) for v in options.values.values())
    )


def concrete_options(options: ModelOptions, table: pa.Table, label: str | None) -> ModelOptions:
    """The options training is prepared with: for automl, its first candidate model_type's."""
    if options.model_type not in AUTOML_TYPES:
        return options
    task = automl_task(options, table, label)
    return _automl_options(AUTOML_CANDIDATES[task][0], options, {})


def automl_task(options: ModelOptions, table: pa.Table, label: str | None) -> str:
    """automl_classifier / _regressor say it; else the objective implies it; else the label does."""
    if options.model_type != "automl":
        return "classification" if options.model_type == "automl_classifier" else "regression"
    objectives = options.get("hparam_tuning_objectives")
    if objectives:
        return "classification" if objectives[0] in OBJECTIVES["classification"] else "regression"
    if label is None or label not in table.column_names:
        return "regression"  # prepare() then names the missing label
    from sqlml.training.labels import infer_problem

    return infer_problem(table.column(label))


def _automl_options(model_type: str, base: ModelOptions, chosen: dict[str, Any]) -> ModelOptions:
    values = {
        name: base.values.get(name, option.default)
        for name, option in OPTIONS.items()
        if name != "model_type" and (option.applies_to is None or model_type in option.applies_to)
    }
    values.update({k: base.values[k] for k in _AUTOML_KEYS if base.values.get(k) is not None})
    values["model_type_requested"] = base.values.get("model_type_requested", base.model_type)
    return ModelOptions(model_type, values | chosen, base.given)


# --- the search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fold:
    """Rows to fit on (None: every training row) and the rows that score the fit."""

    fit_rows: np.ndarray | None
    table: pa.Table
    y: np.ndarray | None


@dataclass(frozen=True)
class Candidate:
    model_type: str
    hyperparameters: dict[str, Any]


def search(training: Training, options: ModelOptions) -> None:
    """Run the trials, keep the best by the objective, and refit it on every training row."""
    automl = options.model_type in AUTOML_TYPES
    objective = (options.get("hparam_tuning_objectives") or [DEFAULT_OBJECTIVE[training.task]])[0]
    greater = OBJECTIVES[training.task][objective]
    notes: list[str] = []
    folds = _folds(training, options, automl, notes)
    candidates, total, space = _candidates(training, options, automl, notes)
    budget = options.get("budget_seconds") if automl else None
    started = time.perf_counter()
    trials: list[dict[str, Any]] = []
    progress.stage(
        f"tuning {training.spec['model_type']}" if not automl else "automl", total, "trials"
    )
    for trial_id, candidate in enumerate(candidates, start=1):
        checkpoint()
        elapsed = time.perf_counter() - started
        if budget is not None and trials and elapsed >= budget:
            notes.append(
                f"automl stopped after {len(trials)} of {total} trials: budget_seconds "
                f"({budget:g} s) was spent."
            )
            break
        trial_options = _trial_options(candidate, options, automl)
        with progress.quiet():  # the trial's own rounds or trees: the trials are the count
            trials.append(
                _run_trial(training, trial_id, candidate, trial_options, objective, folds)
            )
        progress.advance(trial_id)
    best = _best(trials, greater, training.model)
    progress.stage(f"fitting trial {best['trial_id']} on every training row")
    winner = Candidate(best["model_type"], best["hyperparameters"])
    training.options = _trial_options(winner, options, automl)
    training.spec["model_type"] = winner.model_type
    fit_pipeline(training)
    training.info["notes"] = training.info.get("notes", []) + notes
    training.info["trials"] = trials
    training.info["best_trial_id"] = best["trial_id"]
    training.info["tuning"] = {
        "objective": objective,
        "greater_is_better": greater,
        "algorithm": _algorithm(options) if not automl else "AUTOML",
        "num_folds": len(folds) if folds[0].fit_rows is not None else None,
        "search_space": {k: _describe(v) for k, v in space.items()},
        "budget_seconds": budget,
        "seconds": round(time.perf_counter() - started, 4),
    }


def _algorithm(options: ModelOptions) -> str:
    return options.get("hparam_tuning_algorithm") or "RANDOM_SEARCH"


def _describe(space: Space) -> dict[str, Any]:
    if isinstance(space, HParamRange):
        return {"range": [space.low, space.high]}
    return {"candidates": list(space.values)}


def _trial_options(candidate: Candidate, options: ModelOptions, automl: bool) -> ModelOptions:
    if automl:
        return _automl_options(candidate.model_type, options, candidate.hyperparameters)
    return ModelOptions(
        options.model_type,
        options.values | candidate.hyperparameters,
        options.given | frozenset(candidate.hyperparameters),
    )


def _best(trials: list[dict[str, Any]], greater: bool, model: str) -> dict[str, Any]:
    done = [t for t in trials if t["status"] == "SUCCEEDED"]
    if not done:
        raise TrainingError(
            f"Every trial of CREATE MODEL {model} failed; the first: {trials[0]['error_message']}"
        )
    sign = -1.0 if greater else 1.0
    return min(done, key=lambda t: (sign * t["eval_loss"], t["trial_id"]))


# --- candidates --------------------------------------------------------------------------------------


def _candidates(
    training: Training, options: ModelOptions, automl: bool, notes: list[str]
) -> tuple[Iterator[Candidate], int, dict[str, Space]]:
    """The configurations to try (lazily), how many at most, and the search space."""
    rng = np.random.default_rng(options.get("random_seed", 42))
    if automl:
        types = AUTOML_CANDIDATES[training.task]
        total = options.get("num_trials") or AUTOML_TRIALS_PER_TYPE * len(types)
        return itertools.islice(_automl_candidates(types, rng), total), total, {}
    space = {
        k: v for k, v in options.values.items() if isinstance(v, HParamRange | HParamCandidates)
    }
    algorithm = _algorithm(options)
    if not space and algorithm == "GRID_SEARCH":
        raise OptionError(
            f"GRID_SEARCH in CREATE MODEL {training.model} needs the values to try: give options "
            f"as HPARAM_CANDIDATES([...]) or a small integer HPARAM_RANGE(low, high)."
        )
    space = space or DEFAULT_SPACES[options.model_type]
    if algorithm == "VIZIER_DEFAULT":
        notes.append("hparam_tuning_algorithm 'VIZIER_DEFAULT' runs as 'RANDOM_SEARCH' in sqlml.")
    wanted = options.get("num_trials") or DEFAULT_TRIALS
    grid = _grid(space, training.model) if algorithm == "GRID_SEARCH" else _finite(space)
    if grid is None:
        configs = [_sample(space, rng) for _ in range(wanted)]
    else:
        size = math.prod(len(values) for values in grid.values())
        if size < wanted and options.get("num_trials"):
            notes.append(
                f"The search space of CREATE MODEL {training.model} has {size} configurations; "
                f"{size} trials ran instead of num_trials = {wanted}."
            )
        if algorithm == "GRID_SEARCH" and size <= wanted:
            picks: Any = range(size)
        else:
            picks = rng.permutation(size)[: min(size, wanted)]
        configs = [_grid_config(grid, int(i)) for i in picks]
    candidates = [Candidate(options.model_type, c) for c in configs]
    return iter(candidates), len(candidates), space


def _automl_candidates(types: tuple[str, ...], rng: np.random.Generator) -> Iterator[Candidate]:
    """Each type with its defaults, then rounds of random configurations from its default space."""
    for model_type in types:
        yield Candidate(model_type, {})
    while True:
        for model_type in types:
            yield Candidate(model_type, _sample(DEFAULT_SPACES[model_type], rng))


def _grid(space: dict[str, Space], model: str) -> dict[str, list[Any]]:
    grid = {}
    for name, values in space.items():
        if isinstance(values, HParamCandidates):
            grid[name] = list(values.values)
        elif OPTIONS[name].kind != "int":
            raise OptionError(
                f"GRID_SEARCH cannot enumerate HPARAM_RANGE({values.low:g}, {values.high:g}) of the "
                f"'{name}' option of CREATE MODEL {model}: it holds fractional values; list them "
                f"with HPARAM_CANDIDATES([...]), or use hparam_tuning_algorithm = 'RANDOM_SEARCH'."
            )
        elif values.high - values.low + 1 > GRID_INT_LIMIT:
            raise OptionError(
                f"GRID_SEARCH expands an integer HPARAM_RANGE to at most {GRID_INT_LIMIT} values; "
                f"HPARAM_RANGE({values.low}, {values.high}) of the '{name}' option of CREATE MODEL "
                f"{model} has {int(values.high - values.low + 1)}. List the values to try with "
                f"HPARAM_CANDIDATES([...]), or use hparam_tuning_algorithm = 'RANDOM_SEARCH'."
            )
        else:
            grid[name] = list(range(int(values.low), int(values.high) + 1))
    return grid


def _finite(space: dict[str, Space]) -> dict[str, list[Any]] | None:
    """The grid of a space of candidates and integer ranges, which random search draws without
    repeats; None when a float range makes it continuous."""
    grid = {}
    for name, values in space.items():
        if isinstance(values, HParamCandidates):
            grid[name] = list(values.values)
        elif OPTIONS[name].kind == "int":
            grid[name] = list(range(int(values.low), int(values.high) + 1))
        else:
            return None
    return grid


def _grid_config(grid: dict[str, list[Any]], index: int) -> dict[str, Any]:
    """The index-th configuration of the grid, the last option varying fastest."""
    config: dict[str, Any] = {}
    for name in reversed(list(grid)):
        index, position = divmod(index, len(grid[name]))
        config[name] = grid[name][position]
    return {name: config[name] for name in grid}


def _sample(space: dict[str, Space], rng: np.random.Generator) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, values in space.items():
        if isinstance(values, HParamCandidates):
            config[name] = values.values[int(rng.integers(len(values.values)))]
        elif OPTIONS[name].kind == "int":
            config[name] = int(rng.integers(int(values.low), int(values.high) + 1))
        elif values.low > 0 and values.high / values.low >= LOG_RATIO:
            drawn = math.exp(rng.uniform(math.log(values.low), math.log(values.high)))
            config[name] = _round(drawn, values)
        else:
            config[name] = _round(float(rng.uniform(values.low, values.high)), values)
    return config


def _round(value: float, space: HParamRange) -> float:
    """Six significant digits (readable in ML.TRIAL_INFO), kept inside the range."""
    return min(max(float(f"{value:.6g}"), space.low), space.high)


# --- folds and scores --------------------------------------------------------------------------------


def _folds(training: Training, options: ModelOptions, automl: bool, notes: list[str]) -> list[Fold]:
    """k folds of the training rows with num_folds, else the evaluation split as one fold."""
    k = options.get("num_folds")
    rows = training.train.num_rows
    same = _evaluated_on_training_rows(training)
    held_out = not same and training.evaluation.num_rows > 0
    if k is None and automl and not held_out and rows >= 2 * AUTOML_FOLDS:
        k = AUTOML_FOLDS
        notes.append(
            f"automl compared models by {AUTOML_FOLDS}-fold cross-validation, as the data "
            f"split left no held-out evaluation rows."
        )
    if k is None:
        if training.evaluation.num_rows == 0:
            raise TrainingError(
                f"Hyperparameter tuning of CREATE MODEL {training.model} scores trials on the "
                f"evaluation rows, and the data split left none; set num_folds = 3 (or more) to "
                f"cross-validate, or choose another data_split_method."
            )
        if same:
            notes.append(
                "Trials were scored on the training rows (the data split left no held-out rows), "
                "which favours models that overfit; set num_folds, or data_split_method = "
                "'RANDOM', for a fair comparison."
            )
        y = training.labels(training.evaluation) if training.label else None
        return [Fold(None, training.evaluation, y)]
    if k > rows:
        raise OptionError(
            f"The 'num_folds' option of CREATE MODEL {training.model} must be at most the number "
            f"of training rows ({rows}); got {k}."
        )
    return [
        Fold(fit, training.train.take(held), None if training.y is None else training.y[held])
        for fit, held in _split(training, k, options.get("random_seed", 42))
    ]


def _split(training: Training, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """StratifiedKFold for classifiers, KFold otherwise; shuffled with random_seed."""
    from sklearn.model_selection import KFold, StratifiedKFold

    placeholder = np.zeros(training.train.num_rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the least populated class has fewer than k members"
        if training.task == "classification":
            splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
            try:
                return list(splitter.split(placeholder, training.y))
            except ValueError as exc:
                raise OptionError(
                    f"The 'num_folds' option of CREATE MODEL {training.model} is too large for "
                    f"the classes of the label: {exc}"
                ) from None
        return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(placeholder))


def _evaluated_on_training_rows(training: Training) -> bool:
    method = training.info.get("data_split_method")
    same_size = training.info.get("training_rows") == training.info.get("evaluation_rows")
    return method == "NO_SPLIT" or (method == "AUTO_SPLIT" and same_size)


def _run_trial(
    training: Training,
    trial_id: int,
    candidate: Candidate,
    options: ModelOptions,
    objective: str,
    folds: list[Fold],
) -> dict[str, Any]:
    """Fit and score one configuration; a failure is recorded, not raised."""
    trial: dict[str, Any] = {
        "trial_id": trial_id,
        "model_type": candidate.model_type,
        "hyperparameters": candidate.hyperparameters,
        "status": "SUCCEEDED",
        "error_message": None,
        "eval_loss": None,
        "fold_values": None,
        "training_loss": None,
        "training_seconds": 0.0,
        "metrics": None,
    }
    values: list[float] = []
    losses: list[float | None] = []
    measured: list[dict[str, float | None]] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for fold in folds:
                pipeline, seconds, _ = fit_once(training, options, fold.fit_rows)
                trial["training_seconds"] += seconds
                values.append(score(pipeline, training, fold.table, fold.y, objective))
                losses.append(_training_loss(pipeline))
                measured.append(trial_metrics(pipeline, training, fold.table, fold.y))
    except Exception as exc:  # one failing configuration must not end the search
        trial["status"] = "FAILED"
        trial["error_message"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    else:
        trial["eval_loss"] = float(np.mean(values))
        if len(folds) > 1:
            trial["fold_values"] = values
        if all(loss is not None for loss in losses):
            trial["training_loss"] = float(np.mean([loss for loss in losses if loss is not None]))
        trial["metrics"] = _mean_metrics(measured)
    trial["training_seconds"] = round(trial["training_seconds"], 4)
    return trial


def trial_metrics(
    pipeline: Any, training: Training, table: pa.Table, y: np.ndarray | None
) -> dict[str, float | None]:
    """Every ML.EVALUATE metric of a trial's pipeline on the rows it is scored on (what
    ML.EVALUATE of a tuned model reports per trial); None where one is undefined."""
    from sqlml.measures import metrics

    frame = training.frame(table)
    try:
        if training.task == "clustering":
            centroids = centroid_distances(pipeline.named_steps["model"])
            return metrics.clustering_metrics(
                pipeline.transform(frame), {"centroid_distances": centroids}
            )
        if training.task == "regression":
            assert y is not None
            predicted = np.asarray(pipeline.predict(frame), dtype=np.float64).reshape(-1)
            return metrics.regression_metrics(np.asarray(y, dtype=np.float64), predicted)
        if training.task == "classification":
            assert y is not None
            truth, probs, predicted = _class_probabilities(pipeline, training, frame, y)
            n_classes = probs.shape[1]
            return metrics.classification_metrics(truth, predicted, probs, n_classes)
    except ValueError:  # e.g. too few rows for a metric: the trial keeps its objective
        pass
    return {name: None for name in metrics.metric_names(training.task)}


def _mean_metrics(measured: list[dict[str, float | None]]) -> dict[str, float | None] | None:
    """One fold: its metrics; k folds: each metric's mean over the folds where it is defined."""
    if not measured:
        return None
    names = measured[0].keys()
    means: dict[str, float | None] = {}
    for name in names:
        values = [m[name] for m in measured if m.get(name) is not None]
        mean = float(np.mean(values)) if values else None
        means[name] = mean if mean is not None and math.isfinite(mean) else None
    return means


def score(
    pipeline: Any, training: Training, table: pa.Table, y: np.ndarray | None, objective: str
) -> float:
    """``objective`` of a fitted pipeline on ``table``, as ML.EVALUATE defines it."""
    from sqlml.measures import metrics

    frame = training.frame(table)
    if training.task == "clustering":
        centroids = centroid_distances(pipeline.named_steps["model"])
        value = metrics._clustering(pipeline.transform(frame), {"centroid_distances": centroids})
        return _defined(value[objective], objective, "fewer than two clusters hold rows")
    assert y is not None
    if training.task == "regression":
        return _regression_score(y, pipeline.predict(frame), objective)
    return _classification_score(pipeline, training, frame, y, objective)


def _regression_score(y: np.ndarray, predicted: np.ndarray, objective: str) -> float:
    from sklearn import metrics as m

    if objective == "r2_score":
        return _defined(float(m.r2_score(y, predicted)) if len(y) > 1 else None, objective, "")
    if objective == "mean_squared_error":
        return float(m.mean_squared_error(y, predicted))
    return float(m.mean_absolute_error(y, predicted))


def _class_probabilities(
    pipeline: Any, training: Training, frame: Any, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class indices of the rows (of classes the training rows have), probabilities over every
    class of the label (a fold may lack one), and the predicted class indices."""
    assert training.y is not None
    classes = np.unique(training.y)
    known = np.isin(y, classes)
    y, frame = y[known], frame[known]
    truth = np.searchsorted(classes, y)
    probs = np.zeros((len(y), len(classes)))
    probs[:, np.searchsorted(classes, pipeline.classes_)] = pipeline.predict_proba(frame)
    if len(classes) == 2:
        predicted = (probs[:, 1] >= training.spec.get("threshold", 0.5)).astype(np.int64)
    else:
        predicted = np.argmax(probs, axis=1)
    return truth, probs, predicted


def _classification_score(
    pipeline: Any, training: Training, frame: Any, y: np.ndarray, objective: str
) -> float:
    """Probabilities over every class of the label (a fold may lack one), then the metric."""
    from sklearn import metrics as m

    truth, probs, predicted = _class_probabilities(pipeline, training, frame, y)
    classes = np.arange(probs.shape[1])
    labels = list(range(len(classes)))
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    if objective == "accuracy":
        return float(m.accuracy_score(truth, predicted))
    if objective in ("precision", "recall", "f1_score"):
        function = {"precision": m.precision_score, "recall": m.recall_score}.get(
            objective, m.f1_score
        )
        return float(function(truth, predicted, labels=labels, average=average, zero_division=0))
    if objective == "log_loss":
        return float(m.log_loss(truth, np.clip(probs, 1e-15, 1.0), labels=labels))
    if len(np.unique(truth)) < len(classes):
        return _defined(None, objective, "the scored rows lack a class of the label")
    if objective == "roc_auc":
        if binary:
            return float(m.roc_auc_score(truth, probs[:, 1]))
        return float(m.roc_auc_score(truth, probs, multi_class="ovr", labels=labels))
    if binary:
        return float(m.average_precision_score(truth, probs[:, 1]))
    onehot = (truth[:, None] == np.arange(len(classes))[None, :]).astype(np.int64)
    return float(m.average_precision_score(onehot, probs, average="macro"))


def _defined(value: float | None, objective: str, why: str) -> float:
    if value is None or not math.isfinite(value):
        raise TrainingError(f"{objective} is undefined here" + (f": {why}" if why else "") + ".")
    return value


def _training_loss(pipeline: Any) -> float | None:
    """The estimator's last training loss, where it reports one (MLP, boosted trees)."""
    estimator = pipeline.named_steps["model"]
    if is_xgboost(estimator):
        return round_losses(estimator)[0][-1]
    for attribute in ("loss_curve_", "train_score_"):
        curve = getattr(estimator, attribute, None)
        if curve is not None and len(curve):
            return float(curve[-1])
    return None
