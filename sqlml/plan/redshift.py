"""Redshift ML's CREATE MODEL ... FROM ... TARGET ... FUNCTION ... as a TrainJob: its clauses mapped
onto sqlml's options (HYPERPARAMETERS, MODEL_TYPE, PROBLEM_TYPE, OBJECTIVE, AUTO, SETTINGS).
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from sqlml.errors import NotSupportedError, OptionError, ProgrammingError, SchemaError
from sqlml.plan.jobs import ShowModelJob, TrainJob
from sqlml.plan.values import _NAME, literal_value, model_name
from sqlml.sql.nodes import (
    CreateModel,
)

# Redshift HYPERPARAMETERS (XGBoost's, linear learner's, k-means') -> sqlml options.
REDSHIFT_HYPERPARAMETERS = {
    "num_round": "max_iterations",
    "max_depth": "max_tree_depth",
    "eta": "learn_rate",
    "subsample": "subsample",
    "gamma": "min_split_loss",
    "lambda": "l2_reg",
    "alpha": "l1_reg",
    "k": "num_clusters",
    "epochs": "max_iterations",
    "l1": "l1_reg",
    "wd": "l2_reg",
    "learning_rate": "learn_rate",
    "mini_batch_size": "batch_size",
    "seed": "random_seed",
}

#: Hyperparameters that map onto a sqlml option once the option exists (models/options.py), with
#: how their values are spelled there (XGBoost writes 'hist', BigQuery 'HIST').
_WHEN_DECLARED = {
    "min_child_weight": ("min_tree_child_weight", None),
    "colsample_bytree": ("colsample_bytree", None),
    "colsample_bylevel": ("colsample_bylevel", None),
    "colsample_bynode": ("colsample_bynode", None),
    "tree_method": ("tree_method", str.upper),
    "booster": ("booster_type", str.upper),
}

#: Hyperparameters sqlml reads but that do not change what it trains: XGBoost's NUM_CLASS (the
#: classes are the TARGET column's values), k-means' FEATURE_DIM (the FROM columns).
_DESCRIPTIVE = {"num_class", "feature_dim"}

#: The rest of SageMaker's documented hyperparameters (XGBoost, linear learner, k-means): refused
#: as not supported yet.
_LATER = (
    "max_delta_step",
    "scale_pos_weight",
    "max_leaves",
    "max_bin",
    "grow_policy",
    "sketch_eps",
    "sample_type",
    "normalize_type",
    "rate_drop",
    "one_drop",
    "skip_drop",
    "lambda_bias",
    "tweedie_variance_power",
    "base_score",
    "early_stopping_rounds",
    "csv_weights",
    "deterministic_histogram",
    "interaction_constraints",
    "monotone_constraints",
    "num_parallel_tree",
    "process_type",
    "refresh_leaf",
    "single_precision_histogram",
    "updater",
    "dsplit",
    "predictor_type",
    "num_classes",
    "loss",
    "init_method",
)

#: XGBoost objectives (AUTO OFF) whose loss sqlml's trainers do not minimise: the objective sets
#: the problem type, and a notice says which loss is minimised instead.
_OTHER_LOSSES = (
    "reg:squaredlogerror",
    "reg:pseudohubererror",
    "reg:tweedie",
    "reg:absoluteerror",
    "reg:gamma",
    "binary:hinge",
    "binary:logitraw",
)


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
    "f1_macro": "f1_score",
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
    model_type = clauses.get("MODEL_TYPE")
    if model_type is not None and model_type.name.upper() == "FORECAST":
        return _plan_forecast(node, name, query_sql, replace, exists, clauses, notices)
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
        _hyperparameters(hyper, name, options, notices)

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
    if objective is not None:
        text = str(literal_value(objective)).lower()
        if text.startswith("rank:"):
            raise NotSupportedError(
                f"OBJECTIVE '{text}' in CREATE MODEL {name} (learning to rank) is not supported "
                f"yet; use a regression or classification objective."
            )
        if not automl and text in _OTHER_LOSSES:
            loss = "squared error" if text.startswith("reg:") else "log loss"
            notices.append(
                f"OBJECTIVE '{text}': sqlml's trainers minimise {loss} for this problem type; "
                f"the objective sets the problem type only."
            )
        if problem is None:
            if text == "mse" or text.startswith("reg:"):
                problem = "regression"
            elif text in ("accuracy", "f1", "f1macro", "f1_macro", "auc") or text.startswith(
                ("binary:", "multi:")
            ):
                problem = "classification"
    options["model_type"] = family  # resolved with the label's type in the session
    if family != "kmeans":  # Redshift explains every supervised model: EXPLAIN_MODEL reads it
        options["enable_global_explain"] = True
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


def _hyperparameters(
    hyper: exp.Tuple, name: str, options: dict[str, Any], notices: list[str]
) -> None:
    """``HYPERPARAMETERS DEFAULT EXCEPT (KEY 'value', ...)`` onto sqlml's options."""
    from sqlml.models.options import OPTIONS

    for item in hyper.expressions:
        key = item.this.name.lower()
        value = literal_value(item.args.get("expression"))
        if isinstance(value, str):
            value = _number(value)
        if key in REDSHIFT_HYPERPARAMETERS:
            options[REDSHIFT_HYPERPARAMETERS[key]] = value
        elif key in _WHEN_DECLARED and _WHEN_DECLARED[key][0] in OPTIONS:
            option, spelling = _WHEN_DECLARED[key]
            options[option] = spelling(value) if spelling and isinstance(value, str) else value
        elif key == "eval_metric":  # what XGBoost reports on the validation rows as it trains
            notices.append(
                f"HYPERPARAMETERS EVAL_METRIC '{value}': sqlml reports every metric of the "
                f"evaluation rows (ML.EVALUATE) and does not stop on one; ignored."
            )
        elif key in _DESCRIPTIVE:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OptionError(
                    f"HYPERPARAMETERS {key.upper()} of CREATE MODEL {name} must be a positive "
                    f"integer such as '10'; got {value!r}."
                )
            notices.append(
                f"HYPERPARAMETERS {key.upper()} '{value}': sqlml takes it from the training data "
                f"({'the TARGET column' if key == 'num_class' else 'the FROM columns'}); "
                f"checked, not needed."
            )
        elif key in _LATER or key in _WHEN_DECLARED:
            raise NotSupportedError(
                f"HYPERPARAMETERS {key.upper()} in CREATE MODEL {name} is not supported yet; "
                f"supported: {', '.join(_supported(OPTIONS))}."
            )
        else:
            raise OptionError(
                f"Unknown hyperparameter {key.upper()} in CREATE MODEL {name}; supported: "
                f"{', '.join(_supported(OPTIONS))}."
            )


def _supported(declared: Any) -> list[str]:
    keys = list(REDSHIFT_HYPERPARAMETERS)
    keys += [k for k, (option, _) in _WHEN_DECLARED.items() if option in declared]
    return [k.upper() for k in [*keys, *sorted(_DESCRIPTIVE), "eval_metric"]]


def resolve_target(label: str | None, columns: list[str], model: str) -> str | None:
    """The column a Redshift TARGET names: Redshift folds names to lower case, so ``TARGET
    'Churn'`` and ``TARGET cover_type`` find ``churn`` / ``Cover_type``; an exact match first."""
    if label is None or label in columns:
        return label
    matches = [c for c in columns if c.lower() == label.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SchemaError(
            f"TARGET '{label}' of CREATE MODEL {model} matches several columns of the FROM source "
            f"({', '.join(matches)}); name one exactly, in double quotes."
        )
    return label  # the trainer's error names the columns


def explain_model_job(node: exp.Expression) -> ShowModelJob | None:
    """``SELECT EXPLAIN_MODEL('schema.model')`` (Redshift's SQL function; a bare model name too):
    the model's explainability report, one row. None when the statement does not call it; inside a
    larger query it is not supported yet (the report is computed from the catalog, not by the
    engine)."""
    calls = _calls(node, "EXPLAIN_MODEL")
    if not calls:
        return None
    usage = "SELECT EXPLAIN_MODEL('model_name')"
    call = calls[0]
    if not _alone(node, calls):
        raise NotSupportedError(
            f"EXPLAIN_MODEL(...) inside a larger query is not supported yet; select it alone, "
            f"{usage}: its one row is the report (JSON text)."
        )
    args = call.expressions
    if len(args) != 1:
        raise ProgrammingError(f"EXPLAIN_MODEL takes one argument, the model's name: {usage}.")
    arg = args[0]
    if isinstance(arg, exp.Literal) and arg.is_string:
        try:
            table = exp.to_table(arg.name)
        except Exception:  # sqlglot's ParseError: not a name at all
            table = None
        if table is None:
            raise ProgrammingError(f"Invalid model name {arg.name!r} in EXPLAIN_MODEL: {usage}.")
        name = model_name(table)
    elif isinstance(arg, (exp.Column, exp.Identifier, exp.Dot)):
        name = model_name(exp.to_table(arg.sql()))
    else:
        raise ProgrammingError(
            f"EXPLAIN_MODEL takes the model's name, as a string or a name: {usage}; "
            f"got {arg.sql()}."
        )
    column = node.expressions[0].alias_or_name if node.expressions[0] is not call else ""
    return ShowModelJob(name, report="explain_model", column=column or "explain_model")


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


# --- forecast models (MODEL_TYPE FORECAST, Amazon Forecast in Redshift; ARIMA_PLUS here) ----------

#: Redshift's FREQUENCY (Amazon Forecast's) -> data_frequency.
REDSHIFT_FREQUENCIES = {
    "Y": "YEARLY",
    "M": "MONTHLY",
    "W": "WEEKLY",
    "D": "DAILY",
    "H": "HOURLY",
    "MIN": "PER_MINUTE",
    "1MIN": "PER_MINUTE",
}
#: FORECAST(model)'s columns when PERCENTILES is not given (Redshift's default).
DEFAULT_PERCENTILES = "0.1,0.5,0.9"


def _plan_forecast(
    node: CreateModel,
    name: str,
    query_sql: str,
    replace: bool,
    exists: bool,
    clauses: dict[str, Any],
    notices: list[str],
) -> TrainJob:
    """``CREATE MODEL m FROM (SELECT id, time, target ...) TARGET target AUTO ON MODEL_TYPE
    FORECAST SETTINGS (HORIZON n, FREQUENCY 'D', PERCENTILES '0.1,0.5,0.9,mean')``: an ARIMA_PLUS
    model of the TARGET column, one series per value of the other columns but the timestamp (the
    DATE or TIMESTAMP column, found when the query is read); FORECAST(m) reads its rows."""
    if clauses.get("HYPERPARAMETERS") is not None:
        raise OptionError(
            f"CREATE MODEL {name} (MODEL_TYPE FORECAST) takes no HYPERPARAMETERS: a forecast "
            f"model's settings are HORIZON, FREQUENCY and PERCENTILES."
        )
    if clauses.get("PROBLEM_TYPE") is not None:
        raise OptionError(
            f"PROBLEM_TYPE does not apply to a FORECAST model (CREATE MODEL {name}); leave it out."
        )
    target = node.args.get("target")
    assert target is not None  # the grammar requires it
    options: dict[str, Any] = {"model_type": "arima_plus", "time_series_data_col": target.name}
    settings = clauses.get("SETTINGS")
    given = {}
    for item in settings.expressions if settings is not None else []:
        given[item.this.name.upper()] = literal_value(item.args.get("expression"))
    if "HORIZON" not in given or "FREQUENCY" not in given:
        raise OptionError(
            f"CREATE MODEL {name} (MODEL_TYPE FORECAST) needs SETTINGS (HORIZON n, FREQUENCY "
            f"'D', ...): how many steps to forecast, and the data's frequency (Y, M, W, D, H, "
            f"1min)."
        )
    options["horizon"] = given.pop("HORIZON")
    frequency = str(given.pop("FREQUENCY")).upper()
    if frequency not in REDSHIFT_FREQUENCIES:
        raise NotSupportedError(
            f"FREQUENCY '{frequency}' in CREATE MODEL {name} is not supported"
            + (" yet" if frequency.endswith("MIN") else "")
            + "; sqlml forecasts "
            + ", ".join(repr(k) for k in REDSHIFT_FREQUENCIES if k != "MIN")
            + " series."
        )
    options["data_frequency"] = REDSHIFT_FREQUENCIES[frequency]
    options["percentiles"] = str(given.pop("PERCENTILES", DEFAULT_PERCENTILES))
    percentile_columns(options["percentiles"], name)  # checked now
    for key in given:
        notices.append(f"SETTINGS {key} applies only to Amazon Redshift; ignored.")
    objective = clauses.get("OBJECTIVE")
    if objective is not None:
        notices.append(
            f"OBJECTIVE '{literal_value(objective)}' chooses Amazon Forecast's predictor; "
            f"sqlml's ARIMA_PLUS chooses each series' model by its AIC; ignored."
        )
    if node.args.get("function") is not None:
        notices.append(
            f"FUNCTION {node.args['function'].name}: a FORECAST model has no prediction function "
            f"in Redshift; SELECT FORECAST({name}) reads its forecast; ignored."
        )
    auto = clauses.get("AUTO")
    if auto is not None and auto.name.upper() == "OFF":
        notices.append("AUTO OFF: a FORECAST model is trained with AUTO ON in Redshift; ignored.")
    return TrainJob(
        name=name,
        query_sql=query_sql,
        options=options,
        label=None,
        replace=replace,
        if_not_exists=exists,
        notices=tuple(notices),
        form="redshift",
    )


def percentile_columns(text: str, name: str) -> list[tuple[str, float | None]]:
    """PERCENTILES '0.1,0.5,0.9,mean' as FORECAST(model)'s columns: (``p10``, 0.1), …,
    (``mean``, None); at most five, each a quantile in [0.01, 0.99] or mean (Redshift's rules)."""
    columns: list[tuple[str, float | None]] = []
    for part in [p.strip() for p in text.split(",")]:
        if part.lower() == "mean":
            columns.append(("mean", None))
            continue
        try:
            quantile = float(part)
        except ValueError:
            quantile = -1.0
        if not 0.01 <= quantile <= 0.99:
            raise OptionError(
                f"PERCENTILES of CREATE MODEL {name} lists quantiles in [0.01, 0.99] or mean, as "
                f"in '0.1,0.5,0.9,mean'; got {part!r}."
            )
        columns.append((f"p{round(quantile * 100, 2):g}", quantile))
    if not columns or len(columns) > 5 or len({c for c, _ in columns}) < len(columns):
        raise OptionError(
            f"PERCENTILES of CREATE MODEL {name} lists one to five distinct forecast types; got "
            f"{text!r}."
        )
    return columns


def forecast_job(node: exp.Expression, dialect: Any) -> ShowModelJob | None:
    """Redshift's ``SELECT FORECAST(model)``, alone or as ``CREATE TABLE t AS SELECT
    FORECAST(model)``: the forecast model's rows. None when the statement does not call it."""
    calls = _calls(node, "FORECAST")
    if not calls:
        return None
    usage = "SELECT FORECAST(model_name) or CREATE TABLE t AS SELECT FORECAST(model_name)"
    into = ""
    select = node
    if isinstance(node, exp.Create) and str(node.args.get("kind") or "").upper() == "TABLE":
        select = node.expression
        into = node.this.sql(dialect=dialect)
    call = calls[0]
    if not _alone(select, calls):
        raise NotSupportedError(
            f"FORECAST(...) inside a larger query is not supported yet; use {usage}, then query "
            f"the table."
        )
    args = call.expressions
    if len(args) != 1 or not isinstance(args[0], (exp.Column, exp.Identifier, exp.Dot)):
        raise ProgrammingError(f"FORECAST takes one argument, the model's name: {usage}.")
    return ShowModelJob(model_name(exp.to_table(args[0].sql())), report="forecast", into=into)


def _calls(node: exp.Expression, name: str) -> list[exp.Anonymous]:
    """The calls of Redshift's SQL function ``name`` (EXPLAIN_MODEL, FORECAST) in ``node``."""
    return [
        f
        for f in node.find_all(exp.Anonymous)
        if isinstance(f.this, str) and f.this.upper() == name
    ]


def _alone(select: exp.Expression, calls: list[exp.Anonymous]) -> bool:
    """Whether ``select`` is ``SELECT <the one call> [AS alias]`` and nothing else."""
    return (
        isinstance(select, exp.Select)
        and len(calls) == 1
        and len(select.expressions) == 1
        and select.expressions[0].unalias() is calls[0]
        and not any(v for k, v in select.args.items() if k != "expressions")
    )
