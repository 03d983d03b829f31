"""What Spark raises, and the sqlml (PEP 249) exception each becomes: pyspark's exceptions
(classic and Spark Connect) and py4j's, without the JVM trace.
"""

from __future__ import annotations

from sqlml.errors import (
    DatabaseError,
    DataError,
    OperationalError,
    ProgrammingError,
)


def spark_errors() -> tuple[type[BaseException], ...]:
    """What Spark raises: pyspark's exceptions (all of them on Spark Connect), and py4j's for a
    classic session's JVM calls (py4j is absent from a Connect-only client)."""
    from pyspark.errors import PySparkException

    try:
        from py4j.protocol import Py4JError
    except ImportError:
        return (PySparkException,)
    return (PySparkException, Py4JError)


def translate_error(exc: BaseException) -> DatabaseError:
    """Spark's exception as the sqlml (PEP 249) exception of the same kind, without the JVM trace."""
    from pyspark.errors import (
        AnalysisException,
        ArithmeticException,
        IllegalArgumentException,
        NumberFormatException,
        PythonException,
        SparkRuntimeException,
    )

    message = str(exc).split("\n\nJVM stacktrace:")[0].strip()
    if isinstance(exc, PythonException):  # a Python worker failed: its last line says why
        lines = [line for line in message.splitlines() if line.strip()]
        message = lines[-1] if lines else message
        arity = "ValueError: the model's function takes "
        if message.startswith(arity):  # a wrong call, as DuckDB's binder reports it
            return ProgrammingError(
                f"The model's function takes {message[len(arity) :]}: call it with "
                f"the model's features, in order (SHOW MODEL name lists them)."
            )
        return DataError(f"A Spark Python worker failed: {message}")
    if isinstance(exc, AnalysisException):
        return ProgrammingError(message)
    if isinstance(exc, (ArithmeticException, NumberFormatException)):
        return DataError(message)
    if isinstance(exc, (IllegalArgumentException, SparkRuntimeException)):
        return DataError(message) if "CAST" in message.upper() else OperationalError(message)
    return OperationalError(message.splitlines()[0] if message else repr(exc))
