"""Progress in a Jupyter notebook: one output line, updated in place while a statement works
(jupysql's ``%sql`` or the DB-API in a kernel), left as a one-line summary when it ends.

IPython is never imported here: the line is shown only when the process already runs a kernel.
"""

from __future__ import annotations

import html
import sys
from typing import Any

BAR = 24


def notebook_listener(forced: bool = False) -> Any:
    """A listener for one execute() when running inside a Jupyter kernel (or ``forced`` with
    IPython loaded); None otherwise."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    if shell is None or (getattr(shell, "kernel", None) is None and not forced):
        return None
    return NotebookLine()


class NotebookLine:
    """The display handle of one statement's line, created by its first report."""

    def __init__(self) -> None:
        self.handle: Any = None

    def __call__(self, report: Any) -> None:
        from IPython.display import display

        bundle = {"text/plain": str(report), "text/html": render(report)}
        if self.handle is None:
            self.handle = display(bundle, raw=True, display_id=True)
        else:
            self.handle.update(bundle, raw=True)


def render(report: Any) -> str:
    """The line as HTML: a bar where the stage is counted to a known total."""
    text = html.escape(str(report))
    if report.finished or report.done is None or not report.total:
        return f"<code>{text}</code>"
    filled = min(BAR, round(BAR * report.done / report.total))
    bar = "█" * filled + "░" * (BAR - filled)
    return f"<code>{bar} {text}</code>"
