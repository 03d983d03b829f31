"""Constant SQL expressions (option values, function arguments) as Python values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from sqlml.errors import SQLSyntaxError

#: Integer literals longer than this are read as floats: no option or argument needs more (a
#: 64-bit integer has 19 digits), and Python refuses to read integers of over 4,300 digits.
MAX_INT_DIGITS = 30


def literal(node: exp.Expression | None, other: Callable[[exp.Expression], Any]) -> Any:
    """``node`` as str, int, float, bool, None, or a list of those.

    Anything else (a column, a function call, a STRUCT) is handed to ``other``, which returns the
    caller's value for it or raises the caller's error.
    """
    if node is None or isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        text = node.this
        try:
            if any(c in text for c in ".eE") or len(text) > MAX_INT_DIGITS:
                return float(text)  # a number too long for an exact integer is its float (or inf)
            return int(text)
        except ValueError:  # the tokenizer's number of ". 0.9": '0.0.9'
            raise SQLSyntaxError(
                f"'{text}' is not a number; write a number such as 0.9 or 1e-3."
            ) from None
    if isinstance(node, exp.Neg):
        value = literal(node.this, other)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value
        return other(node)
    if isinstance(node, exp.Paren):
        return literal(node.this, other)
    if isinstance(node, exp.Array):
        return [literal(e, other) for e in node.expressions]
    return other(node)
