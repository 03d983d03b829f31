"""The options of CREATE MODEL: names, types, ranges, defaults, and the messages for bad values.

Modelled on scikit-learn's parameter constraints: each option declares what it accepts, and a bad
value gets "The 'max_tree_depth' option of CREATE MODEL churn must be an integer in [1, 100]; got -1."
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlml.errors import NotSupportedError, OptionError
from sqlml.models import registry
from sqlml.models.option_table import (
    AUTOML_OBJECTIVES,
    AUTOML_TYPES,
    MODEL_TYPE_ALIASES,
    MODEL_TYPES,
    OBJECTIVES,
    OPTIONS,
    SPLIT_METHODS,
    TUNABLE,
    OptionSpec,
)
from sqlml.models.space import HParamCandidates, HParamRange

__all__ = [
    "AUTOML_OBJECTIVES",
    "AUTOML_TYPES",
    "MODEL_TYPE_ALIASES",
    "MODEL_TYPES",
    "OBJECTIVES",
    "OPTIONS",
    "SPLIT_METHODS",
    "TUNABLE",
    "ModelOptions",
    "OptionSpec",
    "normalize_model_type",
    "tuning_task",
    "validate",
]


@dataclass(frozen=True)
class ModelOptions:
    """Validated options: every known option resolved to a value (default where unset)."""

    model_type: str
    values: dict[str, Any] = field(default_factory=dict)
    given: frozenset[str] = frozenset()
    #: Why options that were given change nothing here (the cursor's notices).
    notices: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Any:
        return self.values.get(name)

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value


#: BigQuery ML's other model types (its CREATE MODEL pages): a later sqlml issue brings them.
_IMPORT = "export the model as ONNX and import it with model_type = 'onnx'"
PLANNED_MODEL_TYPES = {
    "arima_plus_xreg": "time-series forecasting comes with a later sqlml release",
    "matrix_factorization": "recommendation models come with a later sqlml release",
    "contribution_analysis": "contribution analysis comes with a later sqlml release",
    "autoencoder": "for anomaly detection, kmeans and pca models take ML.DETECT_ANOMALIES",
    "dnn_linear_combined_classifier": "dnn_classifier is a deep network without the wide part",
    "dnn_linear_combined_regressor": "dnn_regressor is a deep network without the wide part",
    "tensorflow": _IMPORT,
    "tensorflow_lite": _IMPORT,
}


def normalize_planned(raw: Any, model: str) -> None:
    """NotSupportedError for a model type of BigQuery ML's that sqlml does not train yet."""
    if isinstance(raw, str) and raw.strip().lower() in PLANNED_MODEL_TYPES:
        hint = PLANNED_MODEL_TYPES[raw.strip().lower()]
        raise NotSupportedError(
            f"model_type '{raw.strip()}' is not supported yet (CREATE MODEL {model}); {hint}."
        )


def normalize_model_type(raw: Any, model: str) -> str:
    normalize_planned(raw, model)
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
        if name == "optimization_objective" and isinstance(value, list | tuple | dict):
            raise NotSupportedError(
                f"optimization_objective = STRUCT(...) in CREATE MODEL {model} (a precision or "
                f"recall at a fixed value) is not supported yet; sqlml accepts "
                + ", ".join(repr(k) for k, v in AUTOML_OBJECTIVES.items() if v)
                + "."
            )
        values[name] = _coerce(option, value, model)
    notices = _check_accepted(values, model_type, model)
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
    _check_combinations(values, frozenset(raw), model_type, model)
    _check_objectives(values, model_type, model)
    return ModelOptions(model_type, values, frozenset(raw), tuple(notices))


def _shown(value: Any) -> str:
    return "TRUE" if value is True else "FALSE" if value is False else repr(value)


def _check_accepted(values: dict[str, Any], model_type: str, model: str) -> list[str]:
    """Refuse what sqlml cannot train as documented yet; the notices for what has no effect here."""
    entry = registry.get(model_type)
    notices = []
    for name, value in values.items():
        if value is None:
            continue
        if name in entry.accepts:
            accepted, why = entry.accepts[name]
            if isinstance(value, HParamRange):
                raise NotSupportedError(
                    f"HPARAM_RANGE of the '{name}' option of CREATE MODEL {model} (model_type "
                    f"'{model_type}') is not supported yet: {why}; list the values with "
                    f"HPARAM_CANDIDATES([...]) among: {', '.join(_shown(v) for v in accepted)}."
                )
            for candidate in value.values if isinstance(value, HParamCandidates) else (value,):
                if candidate not in accepted:
                    allowed = (
                        f"sqlml accepts {', '.join(_shown(v) for v in accepted)}"
                        if accepted
                        else "leave the option out"
                    )
                    raise NotSupportedError(
                        f"{name} = {_shown(candidate)} in CREATE MODEL {model} (model_type "
                        f"'{model_type}') is not supported yet: {why}; {allowed}."
                    )
        if name in entry.no_effect and value != OPTIONS[name].default:
            notices.append(
                f"Option '{name}' = {_shown(value)} has no effect here ({entry.no_effect[name]}); "
                f"ignored."
            )
    return notices


def _check_combinations(
    values: dict[str, Any], given: frozenset[str], model_type: str, model: str
) -> None:
    """What BigQuery refuses in combination, and options that need another one."""
    # BigQuery refuses LEARN_RATE with LINE_SEARCH; left unset (Redshift's linear learner sets a
    # learning rate alone), it only has no effect here, like the strategy itself.
    linear = registry.get(model_type).family == "linear"
    line_search = "learn_rate_strategy" in given and values["learn_rate_strategy"] == "LINE_SEARCH"
    if linear and "learn_rate" in given and line_search:
        raise OptionError(
            f"The 'learn_rate' option of CREATE MODEL {model} applies when "
            f"learn_rate_strategy = 'CONSTANT'; with 'LINE_SEARCH' set 'ls_init_learn_rate' "
            f"instead."
        )
    if values.get("optimize_strategy") == "NORMAL_EQUATION" and (
        values.get("l1_reg") or values.get("warm_start")
    ):
        raise OptionError(
            f"optimize_strategy = 'NORMAL_EQUATION' of CREATE MODEL {model} cannot be used with "
            f"'l1_reg' or warm_start = TRUE; use 'BATCH_GRADIENT_DESCENT' or 'AUTO_STRATEGY'."
        )
    if values.get("instance_weight_col") is not None and (
        values.get("auto_class_weights") or values.get("class_weights")
    ):
        raise OptionError(
            f"CREATE MODEL {model} sets 'instance_weight_col' with class weights; BigQuery takes "
            f"one or the other: fold the class weights into the weight column, or drop it."
        )
    custom = values.get("kmeans_init_method") == "CUSTOM"
    if custom != (values.get("kmeans_init_col") is not None):
        raise OptionError(
            f"CREATE MODEL {model}: kmeans_init_method = 'CUSTOM' and 'kmeans_init_col' go "
            f"together: the BOOL column whose TRUE rows are the initial centroids, as in "
            f"OPTIONS (kmeans_init_method = 'CUSTOM', kmeans_init_col = 'is_seed')."
        )
    if "integrated_gradients_num_steps" in given and not values.get("enable_global_explain"):
        raise OptionError(
            f"The 'integrated_gradients_num_steps' option of CREATE MODEL {model} applies with "
            f"enable_global_explain = TRUE."
        )
    objective = values.get("optimization_objective")
    if objective is not None:
        if values.get("hparam_tuning_objectives") is not None:
            raise OptionError(
                f"CREATE MODEL {model} sets both 'optimization_objective' and "
                f"'hparam_tuning_objectives'; give one."
            )
        metric = AUTOML_OBJECTIVES[objective]
        if metric is None:
            supported = [k for k, v in AUTOML_OBJECTIVES.items() if v]
            raise NotSupportedError(
                f"optimization_objective = {objective!r} in CREATE MODEL {model} is not supported "
                f"yet; sqlml accepts {', '.join(repr(k) for k in supported)}."
            )
        values["hparam_tuning_objectives"] = [metric]


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
