"""The one progress display of training loops (a rich progress bar on stderr)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_bar(
    enabled: bool, total: int, completed: int = 0, description: str = "training"
) -> Iterator[Callable[..., None]]:
    """A progress bar of ``total`` steps, ``completed`` of which are already done (a resumed run).

    Yields
    ------
    callable
        ``advance(n=1, description=None)``: count ``n`` more steps, optionally replacing the label
        (e.g. with the current loss). A no-op when ``enabled`` is false or nothing is left to do.
    """
    if not enabled or total <= completed:
        yield lambda n=1, description=None: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    prog = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with prog:
        task = prog.add_task(description, total=total, completed=completed)

        def advance(n: int = 1, description: str | None = None) -> None:
            if description is None:
                prog.update(task, advance=n)
            else:
                prog.update(task, advance=n, description=description)

        yield advance


__all__ = ["progress_bar"]
