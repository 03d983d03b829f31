"""The options of CREATE MODEL: names, types, ranges, defaults, and the messages for bad values.

Modelled on scikit-learn's parameter constraints: each option declares what it accepts, and a bad
value gets "The 'max_tree_depth' option of CREATE MODEL churn must be an integer in [1, 100]; got -1."
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlml.errors import OptionError
from sqlml.models import registry
from sqlml.models.space import HParamCandidates, HParamRange

#: Every model_type, in the registry's order, and the other products' names for them.
MODEL_TYPES = registry.NAMES
AUTOML_TYPES = registry.AUTOML_TYPES
MODEL_TYPE_ALIASES = registry.ALIASES

SPLIT_METHODS = ("AUTO_SPLIT", "RANDOM", "SEQ", "NO_SPLIT", "CUSTOM")


# Options that take a search space (HPARAM_RANGE / HPARAM_CANDIDATES); hidden_units by candidates.
TUNABLE = (
    "max_tree_depth",
    "num_parallel_tree",
    "learn_rate",
    "l1_reg",
    "l2_reg",
    "subsample",
    "max_iterations",
    "min_split_loss",
    "num_clusters",
    "hidden_units",
)
# Tuning objectives by task, each with whether greater is better.
OBJECTIVES: dict[str, dict[str, bool]] = {
    "classification": {
        "roc_auc": True,
        "average_precision": True,
        "accuracy": True,
        "f1_score": True,
        "precision": True,
        "recall": True,
        "log_loss": False,
    },
    "regression": {"r2_score": True, "mean_squared_error": False, "mean_absolute_error": False},
    "clustering": {"davies_bouldin_index": False},
}


@dataclass(frozen=True)
class OptionSpec:
    """One option: its kind, its allowed range, and the model types it applies to."""

    name: str
    kind: str  # "int" | "float" | "bool" | "str" | "str_list" | "int_list" | "map"
    default: Any = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] | None = None
    applies_to: tuple[str, ...] | None = None  # None: every model type
    doc: str = ""

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        noun = {
            "int": "an integer",
            "float": "a number",
            "bool": "TRUE or FALSE",
            "str": "a string",
            "str_list": "an array of strings such as ['a', 'b']",
            "int_list": "an array of integers such as [32, 16]",
            "map": "an array of STRUCT(label, weight) pairs or a JSON object",
        }[self.kind]
        if self.low is None and self.high is None:
            return noun
        lo = "(" if self.low_open else "["
        low = "-inf" if self.low is None else _fmt(self.low)
        high = "inf" if self.high is None else _fmt(self.high)
        return (
            f"{noun} in {lo}{low}, {high}]"
            if self.high is not None
            else (f"{noun} {'>' if self.low_open else '≥'} {low}")
        )


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


OPTIONS: dict[str, OptionSpec] = {
    o.name: o
    for o in [
        OptionSpec("model_type", "str", choices=MODEL_TYPES),
        OptionSpec("input_label_cols", "str_list"),
        OptionSpec("data_split_method", "str", "AUTO_SPLIT", choices=SPLIT_METHODS),
        OptionSpec("data_split_eval_fraction", "float", 0.2, 0.0, 1.0, low_open=True),
        OptionSpec("data_split_col", "str"),
        OptionSpec("l1_reg", "float", 0.0, 0.0),
        OptionSpec("l2_reg", "float", 0.0, 0.0),
        OptionSpec("max_iterations", "int", None, 1, 100_000),
        OptionSpec("learn_rate", "float", None, 0.0, 10.0, low_open=True),
        OptionSpec("max_tree_depth", "int", None, 1, 100),
        OptionSpec("num_parallel_tree", "int", None, 1, 10_000),
        OptionSpec("subsample", "float", None, 0.0, 1.0, low_open=True),
        OptionSpec("min_split_loss", "float", 0.0, 0.0),
        OptionSpec("hidden_units", "int_list", None, 1, 100_000),
        OptionSpec("batch_size", "int", None, 1, 10_000_000),
        OptionSpec("num_clusters", "int", None, 1, 10_000),
        OptionSpec(
            "kmeans_init_method",
            "str",
            "KMEANS++",
            choices=("KMEANS++", "RANDOM"),
        ),
        OptionSpec("standardize_features", "bool", True),
        OptionSpec("num_principal_components", "int", None, 1, 10_000),
        OptionSpec(
            "pca_explained_variance_ratio",
            "float",
            None,
            0.0,
            1.0,
            low_open=True,
        ),
        OptionSpec("scale_features", "bool", True),
        OptionSpec("pca_solver", "str", "AUTO", choices=("FULL", "RANDOMIZED", "AUTO")),
        OptionSpec("auto_class_weights", "bool", False),
        OptionSpec("class_weights", "map"),
        OptionSpec("early_stop", "bool", True),
        OptionSpec("min_rel_progress", "float", 0.01, 0.0),
        OptionSpec(
            "optimize_strategy",
            "str",
            "AUTO_STRATEGY",
            choices=("AUTO_STRATEGY", "BATCH_GRADIENT_DESCENT", "NORMAL_EQUATION"),
        ),
        OptionSpec("random_seed", "int", 42, 0, 2**31 - 1),
        OptionSpec("threshold", "float", None, 0.0, 1.0),
        OptionSpec(
            "optimize_threshold",
            "str",
            None,
            choices=("f1", "accuracy", "balanced_accuracy"),
            doc="binary classifiers: tune the stored threshold on the evaluation split",
        ),
        OptionSpec(
            "enable_global_explain",
            "bool",
            False,
            doc="record mean |attribution| per feature at training, for ML.GLOBAL_EXPLAIN",
        ),
        OptionSpec("engine", "str", "duckdb", choices=("duckdb", "spark", "auto")),
        # model_type = 'onnx': import a file instead of training (sqlml.training.onnx_import).
        OptionSpec("model_path", "str", doc="the .onnx file to import"),
        OptionSpec(
            "input_columns",
            "str_list",
            doc="columns fed, in order, to the graph's one [N, k] input",
        ),
        OptionSpec("class_labels", "str_list", doc="labels of the k classes"),
        OptionSpec(
            "task",
            "str",
            choices=("classification", "regression", "clustering"),
            doc="what the imported graph predicts, when its outputs do not say",
        ),
        # Hyperparameter tuning and automl (sqlml.training.tuning); None means the documented default.
        OptionSpec("num_trials", "int", None, 1, 10_000),
        OptionSpec("max_parallel_trials", "int", None, 1, 10_000),
        OptionSpec(
            "hparam_tuning_algorithm",
            "str",
            None,
            choices=("RANDOM_SEARCH", "GRID_SEARCH", "VIZIER_DEFAULT"),
        ),
        OptionSpec("hparam_tuning_objectives", "str_list", None),
        OptionSpec("num_folds", "int", None, 2, 100),
        OptionSpec("budget_seconds", "float", 60.0, 0.0, low_open=True),
    ]
}
# Which model types an option applies to comes from the registry: the types whose entry names it
# (an option no entry names applies to every type).
_TAKEN = {name for entry in registry.ENTRIES for name in entry.options}
OPTIONS = {
    name: replace(option, applies_to=registry.names(taking=name)) if name in _TAKEN else option
    for name, option in OPTIONS.items()
}


@dataclass(frozen=True)
class ModelOptions:
    """Validated options: every known option resolved to a value (default where unset)."""

    model_type: str
    values: dict[str, Any] = field(default_factory=dict)
    given: frozenset[str] = frozenset()

    def __getitem__(self, name: str) -> Any:
        return self.values.get(name)

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value


def normalize_model_type(raw: Any, model: str) -> str:
    if not isinstance(raw, str):
        raise OptionError(
            f"The 'model_type' option of CREATE MODEL {model} must be a string such as "
            f"'logistic_reg'; got {raw!r}."
        )
    name = raw.strip().lower()
    name = MODEL_TYPE_ALIASES.get(name, name)
    if name not in MODEL_TYPES:
        raise OptionError(
            f"Unknown model_type {raw!r} in CREATE MODEL {model}; supported: "
            + ", ".join(MODEL_TYPES)
            + "."
        )
    return name


def validate(raw: dict[str, Any], model: str) -> ModelOptions:
    """Check every option in ``raw`` (lower-cased names, Python values) against the registry."""
    if "model_type" not in raw:
        raise OptionError(
            f"CREATE MODEL {model} needs OPTIONS (model_type = '...'); supported: "
            + ", ".join(MODEL_TYPES)
            + "."
        )
    model_type = normalize_model_type(raw["model_type"], model)
    values: dict[str, Any] = {}
    for name, value in raw.items():
        option = OPTIONS.get(name)
        if option is None:
            close = _closest(name, OPTIONS)
            hint = f" Did you mean '{close}'?" if close else ""
            raise OptionError(f"Unknown option '{name}' in CREATE MODEL {model}.{hint}")
        if name == "model_type":
            continue
        if option.applies_to is not None and model_type not in option.applies_to:
            raise OptionError(
                f"The '{name}' option does not apply to model_type '{model_type}' "
                f"(CREATE MODEL {model}); it applies to: {', '.join(option.applies_to)}."
            )
        values[name] = _coerce(option, value, model)
    for name, option in OPTIONS.items():
        applies = option.applies_to is None or model_type in option.applies_to
        if name not in values and name != "model_type" and applies:
            values[name] = option.default
    if values.get("threshold") is not None and values.get("optimize_threshold") is not None:
        raise OptionError(
            f"CREATE MODEL {model} sets both 'threshold' and 'optimize_threshold': the threshold "
            f"is either given or tuned on the evaluation split; drop one of the two options."
        )
    if values.get("num_principal_components") and values.get("pca_explained_variance_ratio"):
        raise OptionError(
            f"CREATE MODEL {model} sets both 'num_principal_components' and "
            f"'pca_explained_variance_ratio'; give one: a number of components, or the share of "
            f"variance they must explain."
        )
    _check_objectives(values, model_type, model)
    return ModelOptions(model_type, values, frozenset(raw))


def tuning_task(model_type: str) -> str | None:
    """The task whose tuning objectives apply; None for 'automl', whose label decides it."""
    task = registry.get(model_type).task
    return task if task in OBJECTIVES else None


def _check_objectives(values: dict[str, Any], model_type: str, model: str) -> None:
    objectives = values.get("hparam_tuning_objectives")
    if objectives is None:
        return
    task = tuning_task(model_type)
    allowed = OBJECTIVES[task] if task else OBJECTIVES["classification"] | OBJECTIVES["regression"]
    names = [o.lower() for o in objectives]
    if len(names) != 1 or names[0] not in allowed:
        raise OptionError(
            f"The 'hparam_tuning_objectives' option of CREATE MODEL {model} must be an array of one "
            f"metric of {task or 'classification or regression'}, one of "
            f"{', '.join(repr(n) for n in allowed)}; got {objectives!r}."
        )
    values["hparam_tuning_objectives"] = names


def _coerce_space(option: OptionSpec, space: HParamRange | HParamCandidates, model: str) -> Any:
    """Check every bound or candidate of a search space as the option's own value is checked."""
    if option.name not in TUNABLE:
        raise OptionError(
            f"The '{option.name}' option of CREATE MODEL {model} cannot be tuned: HPARAM_RANGE and "
            f"HPARAM_CANDIDATES apply to {', '.join(TUNABLE)}; give '{option.name}' one value."
        )
    if isinstance(space, HParamCandidates):
        if not space.values or any(v is None for v in space.values):
            raise OptionError(
                f"HPARAM_CANDIDATES of the '{option.name}' option of CREATE MODEL {model} needs "
                f"at least one value and no NULL, as in HPARAM_CANDIDATES([1, 2]); got "
                f"{list(space.values)!r}."
            )
        unique: list[Any] = []
        for value in space.values:
            coerced = _coerce(option, value, model)
            if coerced not in unique:
                unique.append(coerced)
        return HParamCandidates(tuple(unique))
    if option.kind not in ("int", "float"):
        raise OptionError(
            f"HPARAM_RANGE does not apply to the '{option.name}' option of CREATE MODEL {model}, "
            f"which is {option.describe()}; list the choices with HPARAM_CANDIDATES, as in "
            f"HPARAM_CANDIDATES([[64], [128, 64]])."
        )
    low, high = _coerce(option, space.low, model), _coerce(option, space.high, model)
    if low is None or high is None or low >= high:
        raise OptionError(
            f"HPARAM_RANGE of the '{option.name}' option of CREATE MODEL {model} needs two "
            f"numbers, low < high, as in HPARAM_RANGE(1, 10); got HPARAM_RANGE({space.low!r}, "
            f"{space.high!r})."
        )
    return HParamRange(low, high)


def _bad(option: OptionSpec, value: Any, model: str) -> OptionError:
    return OptionError(
        f"The '{option.name}' option of CREATE MODEL {model} must be {option.describe()}; "
        f"got {value!r}."
    )


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
}


def _coerce(option: OptionSpec, value: Any, model: str) -> Any:
    if value is None:
        return None
    if isinstance(value, HParamRange | HParamCandidates):
        return _coerce_space(option, value, model)
    if option.kind == "float" and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _bad(option, value, model) from None
    if option.kind == "int" and isinstance(value, float) and value.is_integer():
        value = int(value)
    if option.kind == "bool" and isinstance(value, str) and value.upper() in ("TRUE", "FALSE"):
        value = value.upper() == "TRUE"
    if option.kind in _CHECKS:
        if not _CHECKS[option.kind](value):
            raise _bad(option, value, model)
        if option.kind == "str" and option.choices:
            upper = {c.upper(): c for c in option.choices}
            if value.upper() not in upper:
                raise _bad(option, value, model)
            return upper[value.upper()]
        if option.kind in ("int", "float"):
            if option.kind == "float" and not math.isfinite(value):
                raise _bad(option, value, model)
            _check_range(option, value, model)
            return float(value) if option.kind == "float" else value
        return value
    if option.kind == "str_list":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise _bad(option, value, model)
        return value
    if option.kind == "int_list":
        if not isinstance(value, list) or not value or not all(_CHECKS["int"](v) for v in value):
            raise _bad(option, value, model)
        for v in value:
            _check_range(option, v, model, whole=value)
        return value
    if option.kind == "map":
        if isinstance(value, str):
            import json

            try:
                value = json.loads(value)
            except ValueError:
                raise _bad(option, value, model) from None
        if isinstance(value, list):
            try:
                value = {str(k): v for k, v in value}
            except (TypeError, ValueError):
                raise _bad(option, value, model) from None
        if not isinstance(value, dict) or not all(
            _CHECKS["float"](v) and math.isfinite(v) for v in value.values()
        ):
            raise _bad(option, value, model)
        return {str(k): float(v) for k, v in value.items()}
    raise AssertionError(option.kind)


def _check_range(option: OptionSpec, value: float, model: str, whole: Any = None) -> None:
    too_low = option.low is not None and (
        value <= option.low if option.low_open else value < option.low
    )
    too_high = option.high is not None and value > option.high
    if too_low or too_high:
        raise _bad(option, value if whole is None else whole, model)


def _closest(name: str, known: dict[str, Any]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return matches[0] if matches else None
