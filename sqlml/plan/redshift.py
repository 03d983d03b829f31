"""Redshift ML's CREATE MODEL ... FROM ... TARGET ... FUNCTION ... as a TrainJob: its clauses mapped
onto sqlml's options (HYPERPARAMETERS, MODEL_TYPE, PROBLEM_TYPE, OBJECTIVE, AUTO, SETTINGS).
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from sqlml.errors import OptionError, ProgrammingError
from sqlml.plan.jobs import TrainJob
from sqlml.plan.values import _NAME, literal_value
from sqlml.sql.nodes import (
    CreateModel,
)

# Redshift HYPERPARAMETERS -> sqlml options.
REDSHIFT_HYPERPARAMETERS = {
    "num_round": "max_iterations",
    "max_depth": "max_tree_depth",
    "eta": "learn_rate",
    "subsample": "subsample",
    "k": "num_clusters",
    "epochs": "max_iterations",
    "l1": "l1_reg",
    "wd": "l2_reg",
    "learning_rate": "learn_rate",
    "mini_batch_size": "batch_size",
}


REDSHIFT_MODEL_TYPES = {
    "XGBOOST": "boosted_tree",
    "MLP": "dnn",
    "LINEAR_LEARNER": "linear",
    "KMEANS": "kmeans",
}


# Redshift OBJECTIVE (lower-cased) -> the tuning objective of AUTO ON (other 'reg:…' -> MSE).
REDSHIFT_OBJECTIVES = {
    "auc": "roc_auc",
    "accuracy": "accuracy",
    "f1": "f1_score",
    "f1macro": "f1_score",
    "mse": "mean_squared_error",
    "reg:squarederror": "mean_squared_error",
    "reg:absoluteerror": "mean_absolute_error",
    "binary:logistic": "log_loss",
    "multi:softprob": "log_loss",
    "multi:softmax": "accuracy",
    "binary:hinge": "accuracy",
}


REDSHIFT_PROBLEM_TYPES = {
    "REGRESSION": "regression",
    "BINARY_CLASSIFICATION": "classification",
    "MULTICLASS_CLASSIFICATION": "classification",
}


def plan_redshift(
    node: CreateModel, name: str, query_sql: str, replace: bool, exists: bool
) -> TrainJob:
    clauses: dict[str, Any] = {}
    for item in node.args.get("options") or []:
        clauses[item.this.name.upper()] = item.args.get("expression")
    notices: list[str] = []
    for cloud in ("IAM_ROLE", "PREPROCESSORS"):
        if cloud in clauses:
            notices.append(f"{cloud} applies only to Amazon Redshift; ignored.")
    options: dict[str, Any] = {}
    auto = clauses.get("AUTO")
    automl = "MODEL_TYPE" not in clauses and (auto is None or auto.name.upper() == "ON")
    settings = clauses.get("SETTINGS")
    if settings is not None:
        for item in settings.expressions:
            if automl and item.this.name.upper() == "MAX_RUNTIME":
                options["budget_seconds"] = literal_value(item.args.get("expression"))
                continue
            notices.append(
                f"SETTINGS {item.this.name.upper()} applies only to Amazon Redshift; ignored."
            )
    hyper = clauses.get("HYPERPARAMETERS")
    if hyper is not None and isinstance(hyper, exp.Tuple):
        for item in hyper.expressions:
            key = item.this.name.lower()
            if key not in REDSHIFT_HYPERPARAMETERS:
                raise OptionError(
                    f"Unknown hyperparameter {key.upper()} in CREATE MODEL {name}; supported: "
                    + ", ".join(k.upper() for k in REDSHIFT_HYPERPARAMETERS)
                    + "."
                )
            value = literal_value(item.args.get("expression"))
            if isinstance(value, str):
                value = _number(value)
            options[REDSHIFT_HYPERPARAMETERS[key]] = value

    model_type_word = clauses.get("MODEL_TYPE")
    problem_word = clauses.get("PROBLEM_TYPE")
    problem = None
    if problem_word is not None:
        key = problem_word.name.upper()
        if key not in REDSHIFT_PROBLEM_TYPES:
            raise OptionError(
                f"Unknown PROBLEM_TYPE {key} in CREATE MODEL {name}; supported: "
                + ", ".join(REDSHIFT_PROBLEM_TYPES)
                + "."
            )
        problem = REDSHIFT_PROBLEM_TYPES[key]
    if model_type_word is not None:
        key = model_type_word.name.upper()
        if key not in REDSHIFT_MODEL_TYPES:
            raise OptionError(
                f"Unknown MODEL_TYPE {key} in CREATE MODEL {name}; supported: "
                + ", ".join(REDSHIFT_MODEL_TYPES)
                + "."
            )
        family = REDSHIFT_MODEL_TYPES[key]
    else:
        family = "automl" if automl else "boosted_tree"  # AUTO ON: several types tried
    objective = clauses.get("OBJECTIVE")
    if objective is not None and automl:
        options["hparam_tuning_objectives"] = [_redshift_objective(objective, name)]
    if objective is not None and problem is None:
        text = str(literal_value(objective)).lower()
        if text in ("mse", "reg:squarederror", "reg:linear") or text.startswith("reg:"):
            problem = "regression"
        elif text in ("accuracy", "f1", "f1macro", "auc", "binary:logistic", "multi:softmax"):
            problem = "classification"
    options["model_type"] = family  # resolved with the label's type in the session
    target = node.args.get("target")
    function = node.args.get("function")
    function_name = function.name if function is not None else None
    if function_name and not _NAME.match(function_name):
        raise ProgrammingError(f"Invalid FUNCTION name {function_name!r}.")
    return TrainJob(
        name=name,
        query_sql=query_sql,
        options=options,
        label=target.name if target is not None else None,
        replace=replace,
        if_not_exists=exists,
        function_name=function_name.lower() if function_name else None,
        problem_type=problem,
        notices=tuple(notices),
        form="redshift",
    )


def _redshift_objective(node: exp.Expression, name: str) -> str:
    """Redshift's OBJECTIVE as the metric that AUTO ON's model search optimizes."""
    text = str(literal_value(node)).lower()
    if text in REDSHIFT_OBJECTIVES:
        return REDSHIFT_OBJECTIVES[text]
    if text.startswith("reg:"):
        return "mean_squared_error"
    raise OptionError(
        f"Unknown OBJECTIVE {text!r} in CREATE MODEL {name}; with AUTO ON use one of "
        + ", ".join(repr(k) for k in REDSHIFT_OBJECTIVES)
        + "."
    )


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
