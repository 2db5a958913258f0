"""Progress for long jobs: a rich bar on stderr when it is a terminal, nothing otherwise."""

from __future__ import annotations

import sys
from contextlib import contextmanager


@contextmanager
def bar(wanted: bool, label: str):
    """Yield ``on_step(done, total, what)`` that draws a rich progress bar; a no-op when not wanted or when
    stderr is not a terminal (logs and pipes stay clean)."""
    if not (wanted and sys.stderr.isatty()):
        yield None
        return
    import rich.console
    import rich.progress

    progress = rich.progress.Progress(
        rich.progress.TextColumn(f"{label}: {{task.description}}"),
        rich.progress.BarColumn(),
        rich.progress.TaskProgressColumn(),
        rich.progress.TimeElapsedColumn(),
        console=rich.console.Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("starting", total=None)

    def on_step(done: int, total: int, what: str) -> None:
        progress.update(task, completed=done, total=total, description=what)

    with progress:
        yield on_step
