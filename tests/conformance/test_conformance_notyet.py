"""The notyet marker itself (tests/notyet_marker.py), in a pytest run of its own: a marked test that
raises the recorded error is xfailed; one that passes, raises another error, or raises the right
type with another message fails, with a message saying which."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hang import HANG

CASES = """
import pytest


@pytest.fixture(params=["duckdb", "spark"])
def backend(request):
    return request.param


NOTYET = pytest.mark.notyet("spark", raises=NotImplementedError, match=r"^feature x is not yet")


@NOTYET
def test_gap(backend):
    if backend == "spark":
        raise NotImplementedError("feature x is not yet supported on the Spark engine")


@NOTYET
def test_fixed(backend):
    pass


@NOTYET
def test_other_error(backend):
    if backend == "spark":
        raise KeyError("boom")


@NOTYET
def test_other_message(backend):
    if backend == "spark":
        raise NotImplementedError("something else")


@NOTYET
def test_assertion(backend):
    assert backend == "duckdb"
"""


@pytest.mark.slow  # a pytest of its own: ~1 s idle, more on a busy machine
def test_the_notyet_mark_is_strict(tmp_path: Path) -> None:
    plugin = (Path(__file__).parents[1] / "notyet_marker.py").read_text()
    (tmp_path / "conftest.py").write_text(plugin)
    (tmp_path / "test_cases.py").write_text(CASES)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    notyet: see conftest\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "400"},  # summary lines whole
        timeout=HANG,
    )
    out = done.stdout
    assert done.returncode == 1, out
    assert "5 passed" in out and "4 failed" in out and "1 xfailed" in out, out
    assert "XFAIL test_cases.py::test_gap[spark] - not yet on spark: NotImplementedError" in out
    assert "test_fixed[spark] - Failed: works on spark now: remove the notyet mark" in out
    assert (
        "test_other_error[spark] - Failed: notyet on spark: expected NotImplementedError matching "
        "'^feature x is not yet'; got KeyError: 'boom'"
    ) in out
    assert "test_other_message[spark] - Failed: notyet on spark: expected" in out
    assert "got NotImplementedError: something else" in out
    assert "test_assertion[spark] - Failed: notyet on spark: expected" in out
    assert "got AssertionError" in out
