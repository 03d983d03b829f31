"""sqlml for dbt (dbt-duckdb): a plugin and two materializations, so dbt projects train and use models.

- ``sqlml.dbt.plugin`` is a dbt-duckdb plugin: it registers every sqlml model's FUNCTION (Redshift ML
  form) on dbt's DuckDB connections, so plain dbt SQL models can call ``predict_churn(...)``.
- This folder is also a dbt package (``dbt_project.yml`` + ``macros/``) with the materializations
  ``sqlml_model`` (the model file's SELECT trains ``CREATE OR REPLACE MODEL``, its config gives the
  OPTIONS) and ``sqlml_table`` (a table whose SELECT may call ``ML.PREDICT`` and the other ``ML.*``
  functions). Install it with a ``local:`` entry in ``packages.yml`` pointing at
  :func:`package_path` (``python -m sqlml.dbt`` prints it), then ``dbt deps``.

Importing this package does not import dbt; the plugin module does.
"""

from __future__ import annotations

from pathlib import Path


def package_path() -> Path:
    """The folder to name in a dbt project's ``packages.yml`` (``- local: <this path>``)."""
    return Path(__file__).resolve().parent


__all__ = ["package_path"]
