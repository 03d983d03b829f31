"""dbt-style projects: a folder of SQL model files built in dependency order (``sqlml run``).

    sqlml run examples/dbt_project -d shop.duckdb --select churn_model+

See :mod:`sqlml.project.loader` for how files become nodes, and :mod:`sqlml.project.runner` for how
nodes are built. ``sqlml.dbt`` runs the same model files under dbt itself.
"""

from sqlml.project.loader import Node, Project, ProjectError, Relation, load_project
from sqlml.project.runner import NodeResult, RunResult, main, run, run_project

__all__ = [
    "Node",
    "NodeResult",
    "Project",
    "ProjectError",
    "Relation",
    "RunResult",
    "load_project",
    "main",
    "run",
    "run_project",
]
