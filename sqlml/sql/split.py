"""Split a SQL script into statements, and parse the ML ones into :mod:`sqlml.sql.nodes` trees.

Only ML statements are parsed: ``CREATE/DROP/EXPORT/SHOW MODEL`` and statements that call
``ML.<FN>(MODEL ...)``. Everything else is passed to the engine verbatim, because the engine's own
parser is the authority on its SQL and sqlglot does not know every DuckDB construct. Splitting uses
sqlglot's tokenizer, so a ``;`` inside a string, comment or ``$$`` body never splits a statement;
a script the tokenizer refuses is split by a small quote-aware scanner instead (the fallback at the
end of this module). Before anything parses the text, it is checked against :class:`Limits`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from sqlml.errors import LimitError, SQLSyntaxError
from sqlml.sql.dialects import GrammarError, dialect_for, parse_tokens
from sqlml.sql.keywords import (
    AI_RECOGNISED,
    ML_FUNCTIONS,
    QUOTED,
    RECOGNISED,
    is_ml_call,
    is_ml_statement,
    not_supported,
)
from sqlml.sql.nodes import Explain, MLFunction
from sqlml.sql.statement import Statement


@dataclass(frozen=True)
class Limits:
    """How much SQL one ``execute()`` takes: its length in characters, and how deeply its brackets
    nest. Checked before anything parses the text (sqlml or the engine: DuckDB's parser takes 32 s
    for 8,000 nested parentheses, holding its connection meanwhile), in time linear in its length.
    """

    #: BigQuery's limit on the length of a query (1,024 KB), in characters.
    max_statement_size: int = 1_048_576
    #: Parentheses, brackets and braces open at once; legible SQL stays far below it.
    max_nesting_depth: int = 200


DEFAULT_LIMITS = Limits()


def split_statements(
    script: str, dialect: str = "duckdb", limits: Limits = DEFAULT_LIMITS
) -> list[Statement]:
    """Split ``script`` at top-level ``;`` and parse the ML statements; see :class:`Statement`.

    Raises SQLSyntaxError (with the line and column in ``script``) for an ML statement that does
    not parse, and LimitError for text over ``limits``. Other statements are never refused: the
    engine reports their errors itself.
    """
    if len(script) > limits.max_statement_size:
        raise LimitError(
            f"The SQL text is {len(script):,} characters long, over the limit of "
            f"{limits.max_statement_size:,} (max_statement_size); split it into several "
            f"statements, or load large data from a file (read_csv, COPY) rather than as literals."
        )
    dialect_cls = dialect_for(dialect)
    try:
        tokens = dialect_cls().tokenize(script)
    except TokenError:
        _check_text_depth(script, limits.max_nesting_depth)
        return _split_fallback(script, dialect_cls)
    _check_depth(tokens, script, limits.max_nesting_depth)
    return [
        _statement(script, _expand_command(chunk, script, limit, dialect_cls), dialect_cls)
        for chunk, limit in _chunks(tokens, len(script))
    ]


_OPENING = frozenset({TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE})
_CLOSING = frozenset({TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE})


def _check_depth(tokens: Sequence[Token], script: str, limit: int) -> None:
    depth = 0
    for token in tokens:
        kind = token.token_type
        if kind in _OPENING:
            depth += 1
            if depth > limit:
                raise _depth_error(script, token.start, limit)
        elif kind in _CLOSING:
            depth = max(0, depth - 1)


def _check_text_depth(script: str, limit: int) -> None:
    """The same check on text sqlglot cannot tokenize (its strings and comments masked)."""
    depth = 0
    masked, _ = _mask(script)
    for match in _BRACKETS.finditer(masked):
        if match.group() in "([{":
            depth += 1
            if depth > limit:
                raise _depth_error(script, match.start(), limit)
        else:
            depth = max(0, depth - 1)


_BRACKETS = re.compile(r"[()\[\]{}]")


def _depth_error(script: str, offset: int, limit: int) -> LimitError:
    line, col = _position(script, offset)
    return LimitError(
        f"The statement nests parentheses and brackets more than {limit} deep "
        f"(max_nesting_depth) at line {line}, column {col}; flatten it, e.g. with a WITH clause "
        f"or fewer nested subqueries."
    )


def _chunks(tokens: list[Token], length: int) -> list[tuple[list[Token], int]]:
    """Token runs between semicolons, each with the offset where its ``;`` (or the text) ends."""
    chunks: list[tuple[list[Token], int]] = []
    current: list[Token] = []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if current:
                chunks.append((current, token.start))
            current = []
        else:
            current.append(token)
    if current:
        chunks.append((current, length))
    return chunks


def _expand_command(
    chunk: list[Token], script: str, limit: int, dialect_cls: type[Dialect]
) -> list[Token]:
    """Re-lex the body of a command (EXPLAIN ..., Spark's SHOW ...) that sqlglot lexes as one string.

    Without this an ``ML.FN(`` or a placeholder inside the body would go unseen, and the body token's
    offsets are not reliable enough to cut the statement's text.
    """
    if len(chunk) < 2 or chunk[-2].token_type not in dialect_cls.tokenizer_class.COMMANDS:
        return chunk
    body_start = chunk[-2].end + 1
    body = script[body_start:limit]
    if chunk[-1].token_type != TokenType.STRING or chunk[-1].text != body.strip():
        return chunk
    try:
        tokens = [_shift(t, body_start) for t in dialect_cls().tokenize(body)]
    except TokenError:
        lead = len(body) - len(body.lstrip())
        text = body.strip()
        end = body_start + lead + len(text) - 1
        tokens = [Token(TokenType.STRING, text, start=body_start + lead, end=end)]
    if not tokens:
        return chunk[:-1]
    return _expand_command(chunk[:-1] + tokens, script, limit, dialect_cls)


def _statement(script: str, chunk: list[Token], dialect_cls: type[Dialect]) -> Statement:
    """A Statement from one chunk of the script's tokens (offsets relative to the script)."""
    start, end = chunk[0].start, chunk[-1].end + 1
    sql = script[start:end]
    line, col = _position(script, start)
    placeholders = tuple((a - start, b - start) for a, b in _placeholders(chunk))
    explained = _explained(script, chunk, dialect_cls)
    if explained is not None and explained.unsupported is not None:
        return Statement(
            sql, line, col, placeholders=placeholders, unsupported=explained.unsupported
        )
    declared = _declared_query(script, chunk, dialect_cls)
    if declared is not None:  # DECLARE c CURSOR FOR <ML query>: sqlml serve runs the query
        return Statement(
            sql,
            line,
            col,
            ml_functions=declared.ml_functions,
            placeholders=placeholders,
            unsupported=DECLARE_OUTSIDE_SERVER,
        )
    if explained is not None:
        analyze = chunk[1].text.upper() == "ANALYZE"
        node = Explain(this=explained.node, analyze=analyze or None)
        return Statement(sql, line, col, node, (), placeholders, explained)
    if not is_ml_statement(chunk):
        return Statement(sql, line, col, placeholders=placeholders)
    reason = not_supported(chunk)
    if reason is not None:
        return Statement(sql, line, col, placeholders=placeholders, unsupported=reason)
    tokens = [_shift(token, -start) for token in chunk]
    node = _parse_ml(sql, tokens, dialect_cls, script, start)
    calls = tuple(sorted(node.find_all(MLFunction), key=lambda f: f.meta["span"][0]))
    return Statement(sql, line, col, node, calls, placeholders)


def _explained(script: str, chunk: list[Token], dialect_cls: type[Dialect]) -> Statement | None:
    """The ML statement after ``EXPLAIN [ANALYZE]``, or None when the chunk is not one (a plain
    EXPLAIN goes to the engine as written)."""
    if len(chunk) < 2 or chunk[0].text.upper() != "EXPLAIN" or chunk[0].token_type in QUOTED:
        return None
    body = chunk[2:] if chunk[1].text.upper() == "ANALYZE" else chunk[1:]
    if not body or not is_ml_statement(body):
        return None
    return _statement(script, body, dialect_cls)


DECLARE_OUTSIDE_SERVER = (
    "DECLARE ... CURSOR is for PostgreSQL clients of sqlml serve (server-side cursors); in "
    "Python, connection.cursor(streaming=True) reads a query's rows as they are fetched."
)


def _declared_query(
    script: str, chunk: list[Token], dialect_cls: type[Dialect]
) -> Statement | None:
    """The ML query of ``DECLARE name [options] CURSOR [WITH[OUT] HOLD] FOR <query>``, or None
    when the chunk is not one (a DECLARE of plain SQL goes to the engine, or sqlml serve, as
    written)."""
    if not chunk or chunk[0].text.upper() != "DECLARE" or chunk[0].token_type in QUOTED:
        return None
    words = [t.text.upper() if t.token_type not in QUOTED else "" for t in chunk[:12]]
    if "CURSOR" not in words or "FOR" not in words[words.index("CURSOR") :]:
        return None
    body = chunk[words.index("FOR", words.index("CURSOR")) + 1 :]
    if not body or not is_ml_statement(body):
        return None
    return _statement(script, body, dialect_cls)


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


#: Tokens after which ``:word`` is a key/value or slice separator rather than a named parameter.
_NOT_BEFORE_NAMED = frozenset(
    {
        TokenType.STRING,
        TokenType.NUMBER,
        TokenType.VAR,
        TokenType.IDENTIFIER,
        TokenType.R_PAREN,
        TokenType.R_BRACKET,
        TokenType.R_BRACE,
        TokenType.L_BRACKET,
    }
)


def _placeholders(tokens: Sequence[Token]) -> list[tuple[int, int]]:
    """(start, end) of ``?``, ``$1``, ``$name`` and ``:name`` tokens, end exclusive."""
    spans = []
    for i, token in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        joined = nxt is not None and nxt.start == token.end + 1
        kind = token.token_type
        if kind == TokenType.PLACEHOLDER:
            spans.append((token.start, token.end + 1))
        elif kind == TokenType.PARAMETER and token.text == "$" and joined and _is_param_name(nxt):
            spans.append((token.start, nxt.end + 1))
        elif kind == TokenType.VAR and re.fullmatch(r"\$\d+", token.text):
            spans.append((token.start, token.end + 1))  # BigQuery lexes $1 as one word
        elif (
            kind == TokenType.COLON
            and joined
            and _is_named_parameter(nxt, tokens[i - 1] if i else None)
        ):
            spans.append((token.start, nxt.end + 1))
    return spans


def _is_named_parameter(name: Token, before: Token | None) -> bool:
    """``:name`` is a parameter unless the colon follows a value, as in ``{'k':v}`` or ``a[1:n]``."""
    if name.token_type in QUOTED or not (name.text[:1].isalpha() or name.text[:1] == "_"):
        return False
    return before is None or before.token_type not in _NOT_BEFORE_NAMED


def _is_param_name(token: Token) -> bool:
    return token.token_type == TokenType.NUMBER or (
        token.token_type not in QUOTED and re.fullmatch(r"[A-Za-z_]\w*", token.text) is not None
    )


def _parse_ml(
    sql: str, tokens: list[Token], dialect_cls: type[Dialect], script: str, offset: int
) -> exp.Expr:
    """Parse one ML statement (tokens relative to ``sql``); errors become SQLSyntaxError at the
    right place in the script."""
    try:
        trees = parse_tokens(dialect_cls, tokens, sql)
    except RecursionError:
        raise LimitError(
            "The statement is too deeply nested for sqlml's parser (long chains of operators or "
            "nested expressions); simplify it, e.g. with a WITH clause."
        ) from None
    except GrammarError as error:
        message = _with_context(error.message, sql, error.offset)
        raise _syntax_error(message, script, offset + error.offset) from None
    node = trees[0] if len(trees) == 1 else None
    if not isinstance(node, exp.Expr):
        raise _syntax_error("Expected a statement", script, offset)
    _check_calls(node, tokens, script, offset)
    return node


def _with_context(message: str, sql: str, where: int) -> str:
    """sqlglot's own messages do not say what was found; add the text at the error."""
    if message.startswith(("Expected", "Unexpected", "Duplicate", "Unsupported", "ML.")):
        return message
    near = " ".join(sql[where : where + 30].split())
    return f"{message} near {near!r}" if near else f"{message} at the end of the statement"


def _check_calls(node: exp.Expr, tokens: Sequence[Token], script: str, offset: int) -> None:
    """Every ``ML.FN(`` in the tokens must have become an MLFunction, or the planner would miss it.

    A call that sqlglot parsed some other way (inside syntax it does not model) is an error rather
    than a statement that silently runs without its ML step.
    """
    found = {f.meta["span"][0] for f in node.find_all(MLFunction)}
    for i, token in enumerate(tokens):
        if is_ml_call(tokens, i) and token.start not in found:
            name = f"ML.{tokens[i + 2].text.upper()}"
            raise _syntax_error(f"Cannot use {name} here", script, offset + token.start)


def _syntax_error(message: str, script: str, offset: int) -> SQLSyntaxError:
    line, col = _position(script, offset)
    return SQLSyntaxError(message, line, col)


# --- fallback when the whole script does not tokenize ---------------------------------------------


def _split_fallback(script: str, dialect_cls: type[Dialect]) -> list[Statement]:
    """Split with a small quote-aware scanner, then treat each piece on its own.

    sqlglot's tokenizer fails on unterminated strings or comments, and may on exotic DuckDB
    lexemes; one bad statement must not make a whole script unusable, and a non-ML statement that
    sqlglot cannot lex is still the engine's to accept or refuse.
    """
    statements = []
    for start, end in _scan_pieces(script):
        piece = script[start:end]
        try:
            tokens = dialect_cls().tokenize(piece)
        except TokenError as error:
            statement = _untokenizable(script, start, end, str(error))
            if statement is not None:
                statements.append(statement)
            continue
        for chunk, limit in _chunks(tokens, len(piece)):
            shifted = [_shift(token, start) for token in chunk]
            shifted = _expand_command(shifted, script, start + limit, dialect_cls)
            statements.append(_statement(script, shifted, dialect_cls))
    return statements


def _shift(token: Token, offset: int) -> Token:
    return Token(
        token.token_type,
        token.text,
        token.line,
        token.col,
        token.start + offset,
        token.end + offset,
        token.comments,
    )


_ML_TEXT = re.compile(
    r"^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?MODEL|(?:ALTER|DROP|EXPORT)\s+MODEL|EXPORT\s+DATA|SHOW\s+MODELS?)\b"
    r"|\bML\s*\.\s*(?:" + "|".join(sorted(ML_FUNCTIONS | RECOGNISED)) + r")\s*\("
    r"|\bAI\s*\.\s*(?:" + "|".join(sorted(AI_RECOGNISED)) + r")\s*\(",
    re.IGNORECASE,
)
_TEXT_PLACEHOLDER = re.compile(r"\?|\$\d+|\$[A-Za-z_]\w*|(?<![\w:\]\)'\"])\:[A-Za-z_]\w*")


def _untokenizable(script: str, start: int, end: int, reason: str) -> Statement | None:
    """A piece sqlglot cannot lex: pass it through unless it is an ML statement (then an error)."""
    masked, opened = _mask(script[start:end])
    if not masked.strip():
        return None
    lead = len(masked) - len(masked.lstrip())
    trail = len(masked.rstrip())
    if _ML_TEXT.search(masked):
        where = start + (opened if opened is not None else lead)
        raise _syntax_error(f"Cannot tokenize this statement: {reason}", script, where)
    placeholders = tuple(m.span() for m in _TEXT_PLACEHOLDER.finditer(masked[lead:trail]))
    line, col = _position(script, start + lead)
    return Statement(script[start + lead : start + trail], line, col, placeholders=placeholders)


def _scan_pieces(script: str) -> list[tuple[int, int]]:
    """(start, end) of the text between top-level semicolons, quote- and comment-aware."""
    pieces, start = [], 0
    for i, _ in _quoted_spans(script, stop_at_semicolon=True):
        pieces.append((start, i))
        start = i + 1
    pieces.append((start, len(script)))
    return pieces


def _mask(text: str) -> tuple[str, int | None]:
    """``text`` with comments blanked and string/quoted-name bodies filled with ``_``, so regexes
    see only code and stripping finds the code's extent; plus the offset where an unterminated
    string or comment starts, if any."""
    out = list(text)
    opened = None
    for i, end in _quoted_spans(text):
        fill = " " if text.startswith(("--", "/*"), i) else "_"
        for j in range(i, min(end, len(text))):
            out[j] = fill if text[j] != "\n" else "\n"
        if end > len(text):
            opened = i
    return "".join(out), opened


def _quoted_spans(text: str, stop_at_semicolon: bool = False) -> Iterable[tuple[int, int]]:
    """Yield (start, end) of each string or comment (end is len+1 if unterminated); or, with
    ``stop_at_semicolon``, (offset, offset) of each top-level ';' instead."""
    i, n = 0, len(text)
    while i < n:
        end = _quoted_end(text, i)
        if end is None:
            if stop_at_semicolon and text[i] == ";":
                yield i, i
            i += 1
            continue
        if not stop_at_semicolon:
            yield i, end
        i = end


_DOLLAR_TAG = re.compile(r"\$[A-Za-z_]*\$")


def _quoted_end(text: str, i: int) -> int | None:
    """If a string or comment starts at ``i``, the offset just past its end (n+1 if unterminated).

    Knows '...', "...", `...` (doubled to escape), $tag$...$tag$, -- and nested /* */ comments.
    """
    n, ch = len(text), text[i]
    if ch in "'\"`":
        j = i + 1
        while j < n:
            if text[j] == ch:
                if j + 1 < n and text[j + 1] == ch:
                    j += 2
                    continue
                return j + 1
            j += 1
        return n + 1
    if text.startswith("--", i):
        j = text.find("\n", i)
        return n if j < 0 else j
    if text.startswith("/*", i):
        depth, j = 0, i
        while j < n:
            if text.startswith("/*", j):
                depth, j = depth + 1, j + 2
            elif text.startswith("*/", j):
                depth, j = depth - 1, j + 2
                if depth == 0:
                    return j
            else:
                j += 1
        return n + 1
    tag = _DOLLAR_TAG.match(text, i) if ch == "$" else None
    if tag:
        j = text.find(tag.group(), i + len(tag.group()))
        return n + 1 if j < 0 else j + len(tag.group())
    return None
