"""The options of CREATE MODEL: names, types, ranges, defaults, and the messages for bad values.

Modelled on scikit-learn's parameter constraints: each option declares what it accepts, and a bad
value gets "The 'max_tree_depth' option of CREATE MODEL churn must be an integer in [1, 100]; got -1."
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlml.errors import OptionError

MODEL_TYPES = (
    "linear_reg",
    "logistic_reg",
    "random_forest_classifier",
    "random_forest_regressor",
    "boosted_tree_classifier",
    "boosted_tree_regressor",
    "dnn_classifier",
    "dnn_regressor",
    "kmeans",
)

# Other products' names for the same models (BigQuery aliases, Redshift MODEL_TYPE values).
MODEL_TYPE_ALIASES = {
    "linear_regression": "linear_reg",
    "logistic_regression": "logistic_reg",
    "random_forest": "random_forest_classifier",
    "xgboost": "boosted_tree_classifier",
    "boosted_tree": "boosted_tree_classifier",
    "mlp": "dnn_classifier",
    "linear_learner": "logistic_reg",
    "k_means": "kmeans",
}

SPLIT_METHODS = ("AUTO_SPLIT", "RANDOM", "SEQ", "NO_SPLIT", "CUSTOM")


@dataclass(frozen=True)
class Option:
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


_CLASSIFIERS = (
    "logistic_reg",
    "random_forest_classifier",
    "boosted_tree_classifier",
    "dnn_classifier",
)
_TREES = (
    "random_forest_classifier",
    "random_forest_regressor",
    "boosted_tree_classifier",
    "boosted_tree_regressor",
)
_BOOSTED = ("boosted_tree_classifier", "boosted_tree_regressor")
_DNN = ("dnn_classifier", "dnn_regressor")
_LINEAR = ("linear_reg", "logistic_reg")
_SUPERVISED = tuple(m for m in MODEL_TYPES if m != "kmeans")

OPTIONS: dict[str, Option] = {
    o.name: o
    for o in [
        Option("model_type", "str", choices=MODEL_TYPES),
        Option("input_label_cols", "str_list", applies_to=_SUPERVISED),
        Option("data_split_method", "str", "AUTO_SPLIT", choices=SPLIT_METHODS),
        Option("data_split_eval_fraction", "float", 0.2, 0.0, 1.0, low_open=True),
        Option("data_split_col", "str"),
        Option("l1_reg", "float", 0.0, 0.0, applies_to=_LINEAR),
        Option("l2_reg", "float", 0.0, 0.0, applies_to=_LINEAR + _DNN),
        Option(
            "max_iterations",
            "int",
            None,
            1,
            100_000,
            applies_to=_LINEAR + _BOOSTED + _DNN + ("kmeans",),
        ),
        Option("learn_rate", "float", None, 0.0, 10.0, low_open=True, applies_to=_BOOSTED + _DNN),
        Option("max_tree_depth", "int", None, 1, 100, applies_to=_TREES),
        Option("num_parallel_tree", "int", None, 1, 10_000, applies_to=_TREES),
        Option("subsample", "float", None, 0.0, 1.0, low_open=True, applies_to=_TREES),
        Option("min_split_loss", "float", 0.0, 0.0, applies_to=_TREES),
        Option("hidden_units", "int_list", None, 1, 100_000, applies_to=_DNN),
        Option("batch_size", "int", None, 1, 10_000_000, applies_to=_DNN),
        Option("num_clusters", "int", None, 1, 10_000, applies_to=("kmeans",)),
        Option(
            "kmeans_init_method",
            "str",
            "KMEANS++",
            choices=("KMEANS++", "RANDOM"),
            applies_to=("kmeans",),
        ),
        Option("standardize_features", "bool", True, applies_to=("kmeans",)),
        Option("auto_class_weights", "bool", False, applies_to=_CLASSIFIERS),
        Option("class_weights", "map", applies_to=_CLASSIFIERS),
        Option("early_stop", "bool", True),
        Option("min_rel_progress", "float", 0.01, 0.0),
        Option(
            "optimize_strategy",
            "str",
            "AUTO_STRATEGY",
            choices=("AUTO_STRATEGY", "BATCH_GRADIENT_DESCENT", "NORMAL_EQUATION"),
            applies_to=_LINEAR,
        ),
        Option("random_seed", "int", 42, 0, 2**31 - 1),
        Option("threshold", "float", None, 0.0, 1.0, applies_to=_CLASSIFIERS),
        Option("engine", "str", "duckdb", choices=("duckdb", "spark", "auto")),
    ]
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
    return ModelOptions(model_type, values, frozenset(raw))


def _bad(option: Option, value: Any, model: str) -> OptionError:
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


def _coerce(option: Option, value: Any, model: str) -> Any:
    if value is None:
        return None
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
        if not isinstance(value, dict) or not all(_CHECKS["float"](v) for v in value.values()):
            raise _bad(option, value, model)
        return {str(k): float(v) for k, v in value.items()}
    raise AssertionError(option.kind)


def _check_range(option: Option, value: float, model: str, whole: Any = None) -> None:
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
