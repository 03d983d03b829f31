"""The ``notyet`` marker: what an engine cannot do yet, held to the exact error it raises.

``@pytest.mark.notyet("spark", raises=sqlml.NotSupportedError, match="regex")`` on a test of the
``backend`` fixture means: on Spark, the test must raise exactly that error type with a message
matching ``match`` (``re.search``); the test then reports as xfailed with that message. The mark is
strict, as ibis's are: a test that passes on that engine fails ("works on spark now: remove the
notyet mark"), and one that raises anything else fails showing what it raised, so a mark never
hides a new bug or outlives the gap it records.

Kept free of sqlml and fixtures so tests/conformance/test_conformance_notyet.py can run it in a pytest of its
own.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

import pytest

MARKER = "notyet"


def engine_of(item: pytest.Item) -> str | None:
    """The engine a test item runs on: its ``backend`` parameter."""
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("backend")


def mark_for(item: pytest.Item) -> pytest.Mark | None:
    engine = engine_of(item)
    if engine is None:
        return None
    for mark in item.iter_markers(MARKER):
        if engine in mark.args:
            if "raises" not in mark.kwargs or "match" not in mark.kwargs:
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.notyet needs raises= and match= (the exact error "
                    f"the engine raises)."
                )
            return mark
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    mark = mark_for(item)
    if mark is None:
        return (yield)
    engine = engine_of(item)
    raises, match = mark.kwargs["raises"], mark.kwargs["match"]
    expected = f"{raises.__name__} matching {match!r}"
    try:
        yield
    except raises as exc:
        if not re.search(match, str(exc)):
            pytest.fail(
                f"notyet on {engine}: expected {expected}; got {type(exc).__name__}: {exc}",
                pytrace=False,
            )
        pytest.xfail(f"not yet on {engine}: {type(exc).__name__}: {exc}")
    except Exception as exc:
        pytest.fail(
            f"notyet on {engine}: expected {expected}; got {type(exc).__name__}: {exc}",
            pytrace=False,
        )
    pytest.fail(f"works on {engine} now: remove the notyet mark", pytrace=False)
