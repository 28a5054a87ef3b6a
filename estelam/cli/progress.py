"""Progress through a known sequence of steps: a bar on a terminal, plain lines in logs and pipes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


@contextmanager
def progress(steps: Sequence[str], *, label: str, console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """Report ``steps`` as they start; yields ``start(step)``, to call as each step begins.

    On a terminal a rich progress bar counts finished steps (a step is finished when the next one starts,
    the last one when the block ends without an error); anything else gets one plain line per step,
    ``<label> 2/6: <step>``, so logs stay readable.
    """
    console = console or Console()
    total = len(steps)
    started = 0

    if not console.is_terminal:
        def start_line(step: str) -> None:
            nonlocal started
            started += 1
            console.print(f"{label} {started}/{total}: {step}", markup=False, highlight=False, soft_wrap=True)

        yield start_line
        return

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    # transient: the bar goes when the work ends; the lines the work printed above it stay.
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)

        def start_bar(step: str) -> None:
            nonlocal started
            started += 1
            bar.update(task, completed=started - 1, description=f"{label} {step}")

        yield start_bar
        bar.update(task, completed=total)
