"""Progress on the terminal: a live one-line bar (rich) while a statement works, gone when it ends,
then a one-line summary with the elapsed time. Nothing when the stream is not a terminal, unless
forced (``--progress``); nothing at all with ``--quiet``.

rich is imported only when a statement first reports progress.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, TextIO

import sqlml


def wanted(stream: TextIO, mode: bool | None) -> bool:
    """Show progress on ``stream``: ``mode`` True / False forces it; None: if it is a terminal."""
    if mode is not None:
        return mode
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Bar:
    """One statement's bar: created by its first report, removed by its last."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live: Any = None
        self.task: Any = None
        self.stage = ""

    def __call__(self, report: Any) -> None:
        if report.finished:
            self.close()
            self.stream.write(f"{report}\n")
            self.stream.flush()
            return
        if self.live is None:
            self._start()
        total = report.total if report.done is not None else None
        self.live.update(
            self.task,
            description=f"{report.statement}: {report.stage}",
            total=total,
            completed=report.done or 0,
            count=report.count_text(),
        )
        self.stage = report.stage

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(file=self.stream, highlight=False)
        self.live = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            refresh_per_second=8,
        )
        self.live.start()
        self.task = self.live.add_task("", total=None, count="")

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


class Lines:
    """Progress as plain lines, for ``--progress`` when the stream is not a terminal (a log):
    each stage, a count at most every 5 seconds, and the summary."""

    def __init__(self, stream: TextIO) -> None:
        from sqlml.progress import Sparse

        self.stream = stream
        self.wanted = Sparse(every=5.0)

    def __call__(self, report: Any) -> None:
        if self.wanted(report):
            self.stream.write(f"{report}\n")
            self.stream.flush()

    def close(self) -> None:
        pass


@contextlib.contextmanager
def showing(connection: sqlml.Connection, stream: TextIO, mode: bool | None) -> Iterator[None]:
    """While the block runs a statement on ``connection``, its progress is shown on ``stream``."""
    if not wanted(stream, mode):
        yield
        return
    bar: Any = Bar(stream) if wanted(stream, None) else Lines(stream)
    before = connection.progress_callback
    connection.progress_callback = bar
    try:
        yield
    finally:
        connection.progress_callback = before
        bar.close()
