"""Every conformance test runs once on DuckDB and once on Spark: the ``backend`` fixture and its
:class:`Engine` live in tests/engine_fixture.py (tests/docs shares them), the strict ``notyet``
marker in tests/notyet_marker.py.

Model names here avoid tests/backends/spark's (lr_noisy, gbt, forest, mlp, lin, blobs_km, fn_model, …).
"""

from __future__ import annotations

from engine_fixture import backend  # noqa: F401  (the fixture)
from notyet_marker import pytest_runtest_call  # noqa: F401  (the notyet marker's hook)
