"""The words of sqlml's grammar, and how to spot an ML statement or call in a run of tokens.

Shared by the grammar (:mod:`sqlml.sql.dialects`) and the splitter (:mod:`sqlml.sql.split`): the
splitter decides from tokens alone which statements to parse, so both must agree on the words.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot.tokens import Token, TokenType

ML_FUNCTIONS: frozenset[str] = frozenset(
    {
        "PREDICT",
        "EVALUATE",
        "CONFUSION_MATRIX",
        "ROC_CURVE",
        "FEATURE_INFO",
        "TRAINING_INFO",
        "WEIGHTS",
        "EXPLAIN_PREDICT",
        "GLOBAL_EXPLAIN",
        "FEATURE_IMPORTANCE",
        "TRIAL_INFO",
        "DETECT_ANOMALIES",
        "CENTROIDS",
        "PRINCIPAL_COMPONENTS",
        "PRINCIPAL_COMPONENT_INFO",
        "TRANSFORM",
        "GROUP_INFO",
        "FORECAST",
        "EXPLAIN_FORECAST",
        "ARIMA_EVALUATE",
        "ARIMA_COEFFICIENTS",
    }
)

#: BigQuery ML functions that a later sqlml issue brings, with what the message adds. A statement
#: that calls one is recognised from its tokens alone (it is not parsed: the arguments of these
#: differ, ML.DESCRIBE_DATA takes no model) and fails with "ML.X is not supported yet; <hint>."
_FORECASTING = "it reads the holiday effects of an ARIMA_PLUS model, which sqlml does not model yet"
_TIME_SERIES = "sqlml has no time-series functions yet"
_IN_SQL = "compute it in SQL meanwhile"
_IMAGES = "sqlml's models read numeric and string columns, not images"
NOT_YET: dict[str, str] = {
    "HOLIDAY_INFO": _FORECASTING,
    "DETECT_CHANGE_POINTS": _TIME_SERIES,
    "SEASONALITY": _TIME_SERIES,
    "TREND": _TIME_SERIES,
    "METRICS": "ML.EVALUATE gives the metrics of a model on input rows",
    "CORRELATION": "compute it in SQL meanwhile (corr)",
    "ADVANCED_WEIGHTS": "ML.WEIGHTS gives a linear model's weights",
    "RECOMMEND": "it reads a matrix factorization model, which sqlml does not train yet",
    "GET_INSIGHTS": "it reads a contribution analysis model, which sqlml does not train yet",
    "VALIDATE_DATA_SKEW": "ML.FEATURE_INFO gives the statistics of a model's training data",
    "VALIDATE_DATA_DRIFT": "compare the two tables' statistics in SQL meanwhile",
    "DESCRIBE_DATA": "ML.FEATURE_INFO gives the statistics of a model's training data",
    "TFDV_DESCRIBE": "ML.FEATURE_INFO gives the statistics of a model's training data",
    "TFDV_VALIDATE": "compare the two tables' statistics in SQL meanwhile",
    "FEATURES_AT_TIME": "join the feature table on its timestamp in SQL meanwhile",
    "ENTITY_FEATURES_AT_TIME": "join the feature table on its timestamp in SQL meanwhile",
    "DISTANCE": _IN_SQL,
    "LP_NORM": _IN_SQL,
    "NORMALIZER": _IN_SQL,
    "HASH_BUCKETIZE": _IN_SQL,
    "MULTI_HOT_ENCODER": _IN_SQL,
    "NGRAMS": _IN_SQL,
    "BAG_OF_WORDS": _IN_SQL,
    "TF_IDF": _IN_SQL,
    "DECODE_IMAGE": _IMAGES,
    "RESIZE_IMAGE": _IMAGES,
    "CONVERT_COLOR_SPACE": _IMAGES,
    "CONVERT_IMAGE_TYPE": _IMAGES,
}

#: The preprocessing functions that sqlml computes inside CREATE MODEL's TRANSFORM (...) clause
#: (sqlml.plan.transform); anywhere else, for now, "ML.X outside TRANSFORM is not supported yet".
TRANSFORM_ONLY = frozenset(
    {
        "STANDARD_SCALER",
        "MIN_MAX_SCALER",
        "MAX_ABS_SCALER",
        "ROBUST_SCALER",
        "IMPUTER",
        "ONE_HOT_ENCODER",
        "LABEL_ENCODER",
        "BUCKETIZE",
        "QUANTILE_BUCKETIZE",
        "POLYNOMIAL_EXPAND",
        "FEATURE_CROSS",
    }
)

#: BigQuery ML functions that call a model or an API in Google Cloud (Vertex AI, Cloud Translation,
#: Natural Language, Vision, Document AI, Speech-to-Text): sqlml runs the models of its catalog
#: on the local engine and has no such service, so these say "ML.X is not supported: ...".
REMOTE = frozenset(
    {
        "GENERATE_TEXT",
        "GENERATE_EMBEDDING",
        "GENERATE_TEXT_EMBEDDING",
        "GENERATE_TABLE",
        "TRANSLATE",
        "UNDERSTAND_TEXT",
        "ANNOTATE_IMAGE",
        "PROCESS_DOCUMENT",
        "TRANSCRIBE",
    }
)

#: Every name after ``ML.`` that makes a statement sqlml's, beyond the table functions it parses.
RECOGNISED = frozenset(NOT_YET) | TRANSFORM_ONLY | REMOTE

#: BigQuery's ``AI.`` functions: all but two run a model Google hosts (Gemini, TimesFM, TabFM).
AI_REMOTE = frozenset(
    {
        "GENERATE",
        "GENERATE_BOOL",
        "GENERATE_DOUBLE",
        "GENERATE_INT",
        "GENERATE_TABLE",
        "GENERATE_TEXT",
        "GENERATE_EMBEDDING",
        "EMBED",
        "SIMILARITY",
        "SEARCH",
        "CLASSIFY",
        "IF",
        "SCORE",
        "AGG",
        "COUNT_TOKENS",
        "FORECAST",
        "DETECT_ANOMALIES",
        "EVALUATE",
        "PREDICT",
        "PARSE_DOCUMENT",
    }
)
AI_NOT_YET: dict[str, str] = {
    "CAUSAL_EFFECT": _TIME_SERIES,
    "KEY_DRIVERS": "it is BigQuery's contribution analysis, which sqlml does not have yet",
}
AI_RECOGNISED = AI_REMOTE | frozenset(AI_NOT_YET)

#: ``ALTER MODEL name <form ...>``: the forms a later issue brings (model versions and aliases,
#: as Snowflake writes them); sqlml's own form is ``SET OPTIONS (...)``.
ALTER_NOT_YET = (
    ("SET", "DEFAULT_VERSION"),
    ("VERSION",),
    ("ADD", "VERSION"),
    ("DROP", "VERSION"),
)

#: Tokens whose text is never a keyword: quoted names and string literals.
QUOTED = frozenset({TokenType.STRING, TokenType.IDENTIFIER})

#: Redshift CREATE MODEL clauses that may follow ``FROM source``, in any order.
REDSHIFT_CLAUSES = (
    "TARGET",
    "FUNCTION",
    "IAM_ROLE",
    "AUTO",
    "MODEL_TYPE",
    "PROBLEM_TYPE",
    "OBJECTIVE",
    "PREPROCESSORS",
    "HYPERPARAMETERS",
    "SETTINGS",
)
#: Words that end a name or value in the Redshift form instead of being taken as one. TARGET is
#: left out so that ``TARGET target`` (a label column called "target") still works.
REDSHIFT_STOP = frozenset(REDSHIFT_CLAUSES) - {"TARGET"} | {"RETURNS", "PARTITION"}
#: Unquoted words that cannot be a model name right after CREATE MODEL: a clause is missing the name.
CREATE_NAME_STOP = frozenset(
    {"OPTIONS", "TRANSFORM", "PARTITION", "AS", "FROM", "TARGET", "FUNCTION"}
)
#: The BigQuery-form clauses, as error messages list them.
BIGQUERY_CLAUSES = "PARTITION BY, TRANSFORM, OPTIONS or AS"
#: Redshift clauses whose value is one of a few bare words.
CHOICES = {
    "AUTO": ("ON", "OFF"),
    "MODEL_TYPE": ("XGBOOST", "MLP", "LINEAR_LEARNER", "KMEANS", "FORECAST"),
    "PROBLEM_TYPE": ("REGRESSION", "BINARY_CLASSIFICATION", "MULTICLASS_CLASSIFICATION"),
}


def is_ml_call(tokens: Sequence[Token], i: int) -> bool:
    """``ML . <name in ML_FUNCTIONS> (`` starting at tokens[i]."""
    if i < 0 or i + 3 >= len(tokens):
        return False
    ml, dot, name, paren = tokens[i : i + 4]
    return (
        ml.token_type == TokenType.VAR
        and ml.text.upper() == "ML"
        and dot.token_type == TokenType.DOT
        and name.token_type not in QUOTED
        and name.text.upper() in ML_FUNCTIONS
        and paren.token_type == TokenType.L_PAREN
    )


def _words(tokens: Sequence[Token], count: int) -> list[str]:
    return [t.text.upper() if t.token_type not in QUOTED else "" for t in tokens[:count]]


def _is_create_model(words: list[str]) -> bool:
    if words[:1] != ["CREATE"]:
        return False
    return (words[3:4] if words[1:3] == ["OR", "REPLACE"] else words[1:2]) == ["MODEL"]


_MODEL_STATEMENTS = (
    ["DROP", "MODEL"],
    ["EXPORT", "MODEL"],
    ["SHOW", "MODEL"],
    ["SHOW", "MODELS"],
    ["ALTER", "MODEL"],
    ["EXPORT", "DATA"],  # BigQuery's; no engine has it (DuckDB's is EXPORT DATABASE)
)


def is_ml_statement(tokens: Sequence[Token]) -> bool:
    """Whether the statement is sqlml's: ``CREATE/ALTER/DROP/EXPORT/SHOW MODEL``, any ``ML.FN(``
    of a table function sqlml parses, or a call of another BigQuery ML function (which
    :func:`not_supported` then names).

    Decided on tokens, before any parsing, so that everything else reaches the engine verbatim.
    """
    words = _words(tokens, 4)
    if _is_create_model(words) or words[:2] in _MODEL_STATEMENTS:
        return True
    return any(
        is_ml_call(tokens, i)
        or _ml_name_at(tokens, i)
        or is_explain_model(tokens, i)
        or is_explain_model(tokens, i, "FORECAST")
        for i in range(len(tokens))
    )


def is_explain_model(tokens: Sequence[Token], i: int, name: str = "EXPLAIN_MODEL") -> bool:
    """Redshift's ``EXPLAIN_MODEL (`` (or ``FORECAST (``, a forecast model's rows) at tokens[i],
    unqualified (sqlml.plan.redshift answers it from the model catalog)."""
    return (
        i + 1 < len(tokens)
        and tokens[i].token_type not in QUOTED
        and tokens[i].text.upper() == name
        and tokens[i + 1].token_type == TokenType.L_PAREN
        and (i == 0 or tokens[i - 1].token_type != TokenType.DOT)
    )


def _ml_name_at(tokens: Sequence[Token], i: int) -> str | None:
    """``ML.NAME`` for ``ML . <name in RECOGNISED> (`` starting at tokens[i] (``AI.NAME`` for
    ``AI . <name in AI_RECOGNISED> (``), else None."""
    if i < 0 or i + 3 >= len(tokens):
        return None
    prefix, dot, name, paren = tokens[i : i + 4]
    known = {"ML": RECOGNISED, "AI": AI_RECOGNISED}.get(prefix.text.upper(), frozenset())
    if (
        prefix.token_type == TokenType.VAR
        and dot.token_type == TokenType.DOT
        and name.token_type not in QUOTED
        and name.text.upper() in known
        and paren.token_type == TokenType.L_PAREN
    ):
        return f"{prefix.text.upper()}.{name.text.upper()}"
    return None


def not_supported(tokens: Sequence[Token]) -> str | None:
    """Why sqlml cannot run this ML statement, read from its tokens: the message of the
    NotSupportedError its planning raises, or None for a statement the grammar parses.

    For the features a later sqlml issue brings the message says exactly "<feature> is not
    supported yet"; for those that need Google Cloud, "<feature> is not supported: <why>".
    """
    words = _words(tokens, 4)
    if words[:2] == ["ALTER", "MODEL"]:
        return _alter_form(tokens)
    if words[:2] == ["EXPORT", "DATA"]:
        return (
            "EXPORT DATA is not supported yet; write the rows with the engine's own statement "
            "(DuckDB: COPY (SELECT ...) TO 'file.parquet'; Spark: INSERT OVERWRITE DIRECTORY), "
            "or fetch them from the cursor."
        )
    create = _is_create_model(words)
    if create and _top_level_words(tokens, ("REMOTE", "WITH", "CONNECTION")):
        return (
            "CREATE MODEL ... REMOTE WITH CONNECTION is not supported: a remote model runs in "
            "Google Cloud (Vertex AI or a Cloud AI API), and sqlml trains and runs its models on "
            "the local engine. Export the model as ONNX and import it with "
            "OPTIONS (model_type = 'onnx', model_path = '...')."
        )
    for i in range(len(tokens)):
        call = _ml_name_at(tokens, i)
        if call is None:
            continue
        prefix, name = call.split(".")
        if prefix == "ML" and name in TRANSFORM_ONLY:
            if create:  # TRANSFORM (...) reads it (sqlml.plan.transform)
                continue
            return (
                f"{call} outside TRANSFORM is not supported yet; use it in "
                f"CREATE MODEL ... TRANSFORM ({call}(...) OVER () AS name, ...), or compute "
                f"the column in SQL."
            )
        if name in (REMOTE if prefix == "ML" else AI_REMOTE):
            return (
                f"{call} is not supported: it calls a model or an API in Google Cloud "
                f"(Vertex AI or a Cloud AI service), and sqlml runs only the models of its "
                f"catalog, on the local engine."
            )
        return f"{call} is not supported yet; {(NOT_YET if prefix == 'ML' else AI_NOT_YET)[name]}."
    return None


def _alter_form(tokens: Sequence[Token]) -> str | None:
    """The message for ``ALTER MODEL [IF EXISTS] name <form>`` when the form is one a later issue
    brings; None for SET OPTIONS and for anything else (the grammar says what it expected)."""
    i = 2
    if _words(tokens[i : i + 2], 2) == ["IF", "EXISTS"]:
        i += 2
    i += 1  # the name, then any ``.part``
    while i + 1 < len(tokens) and tokens[i].token_type == TokenType.DOT:
        i += 2
    rest = _words(tokens[i:], 2)
    for form in ALTER_NOT_YET:
        if rest[: len(form)] == list(form):
            return (
                f"ALTER MODEL ... {' '.join(form)} is not supported yet: model versions and aliases "
                f"come with a later sqlml release; ALTER MODEL takes SET OPTIONS (description, "
                f"labels, expiration_timestamp) for now."
            )
    return None


def _top_level_words(tokens: Sequence[Token], words: tuple[str, ...]) -> bool:
    """Whether the unquoted words follow each other outside any parentheses."""
    depth = 0
    for i, token in enumerate(tokens):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and _words(tokens[i : i + len(words)], len(words)) == list(words):
            return True
    return False
