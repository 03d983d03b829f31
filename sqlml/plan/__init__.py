"""Statements -> jobs (pure: no I/O, no engine): :func:`plan` and the jobs it returns.

:mod:`.planner` plans each statement kind, :mod:`.redshift` Redshift's CREATE MODEL form,
:mod:`.calls` the ML.<FN>(...) calls inside a statement, :mod:`.transform` the TRANSFORM clause,
:mod:`.values` names and option values; :mod:`.jobs` holds what they return.
"""

from sqlml.plan.jobs import (
    DropModelJob,
    ExplainJob,
    ExportModelJob,
    Job,
    MLCall,
    MLQuery,
    PassThrough,
    ShowModelJob,
    TrainJob,
)
from sqlml.plan.planner import plan
from sqlml.plan.values import literal_value, model_name

__all__ = [
    "DropModelJob",
    "ExplainJob",
    "ExportModelJob",
    "Job",
    "MLCall",
    "MLQuery",
    "PassThrough",
    "ShowModelJob",
    "TrainJob",
    "literal_value",
    "model_name",
    "plan",
]
