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
        "ADVANCED_WEIGHTS",
        "FORECAST",
        "VALIDATE_DATA_DRIFT",
        "ARIMA_EVALUATE",
    }
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
REDSHIFT_STOP = frozenset(REDSHIFT_CLAUSES) - {"TARGET"} | {"RETURNS"}
#: Unquoted words that cannot be a model name right after CREATE MODEL: a clause is missing the name.
CREATE_NAME_STOP = frozenset(
    {"OPTIONS", "TRANSFORM", "PARTITION", "AS", "FROM", "TARGET", "FUNCTION"}
)
#: The BigQuery-form clauses, as error messages list them.
BIGQUERY_CLAUSES = "PARTITION BY, TRANSFORM, OPTIONS or AS"
#: Redshift clauses whose value is one of a few bare words.
CHOICES = {
    "AUTO": ("ON", "OFF"),
    "MODEL_TYPE": ("XGBOOST", "MLP", "LINEAR_LEARNER", "KMEANS"),
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


def is_ml_statement(tokens: Sequence[Token]) -> bool:
    """Whether sqlml parses the statement: a ``CREATE/DROP/EXPORT/SHOW MODEL`` or any ``ML.FN(``.

    Decided on tokens, before any parsing, so that everything else reaches the engine verbatim.
    """
    words = [t.text.upper() if t.token_type not in QUOTED else "" for t in tokens[:4]]
    if words[:1] == ["CREATE"]:
        rest = words[3:4] if words[1:3] == ["OR", "REPLACE"] else words[1:2]
        if rest == ["MODEL"]:
            return True
    if words[:2] in (["DROP", "MODEL"], ["EXPORT", "MODEL"], ["SHOW", "MODEL"], ["SHOW", "MODELS"]):
        return True
    return any(is_ml_call(tokens, i) or is_explain_model(tokens, i) for i in range(len(tokens)))


def is_explain_model(tokens: Sequence[Token], i: int) -> bool:
    """Redshift's ``EXPLAIN_MODEL (`` at tokens[i], unqualified (sqlml.plan.redshift answers it
    from the model catalog)."""
    return (
        i + 1 < len(tokens)
        and tokens[i].token_type not in QUOTED
        and tokens[i].text.upper() == "EXPLAIN_MODEL"
        and tokens[i + 1].token_type == TokenType.L_PAREN
        and (i == 0 or tokens[i - 1].token_type != TokenType.DOT)
    )
