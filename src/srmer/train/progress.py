"""The one progress display of srmer: rich bars on a terminal, heartbeat lines without one.

Progress always goes to stderr, so stdout carries only results (a table, a path) and can be piped.
On a terminal it is a live rich display with the elapsed time and an ETA. When stderr is not a
terminal (``nohup``, SLURM, a pipe) a live display would print once, at the end; instead every
task logs one line when it starts, one every :data:`HEARTBEAT_S` seconds while it runs (also when
no step finishes in between, from a timer thread) and one when it ends. The lines go to the
``srmer`` logger, so they reach the run's log file too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("srmer.progress")


def _heartbeat_seconds() -> float:
    try:
        return max(0.05, float(os.environ.get("SRMER_HEARTBEAT", "30")))
    except ValueError:
        return 30.0


#: seconds between heartbeat lines when stderr is not a terminal (env ``SRMER_HEARTBEAT``)
HEARTBEAT_S: float = _heartbeat_seconds()


def stderr_is_terminal() -> bool:
    """Whether stderr is an interactive terminal (rich's rule, so ``FORCE_COLOR``/``TTY`` count)."""
    from rich.console import Console

    return Console(stderr=True).is_terminal


def _hms(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


@dataclass
class _Task:
    description: str
    total: int | None
    completed: int = 0
    start: float = field(default_factory=time.monotonic)
    start_completed: int = 0
    last_line: float = field(default_factory=time.monotonic)
    done: bool = False

    def line(self) -> str:
        elapsed = time.monotonic() - self.start
        if not self.total:
            return f"{self.description}: {self.completed} done, {_hms(elapsed)} elapsed"
        pct = 100.0 * self.completed / self.total
        text = f"{self.description}: {self.completed}/{self.total} ({pct:.0f}%), {_hms(elapsed)} elapsed"
        rate_n = self.completed - self.start_completed
        if self.done:
            return text + ", done"
        if rate_n > 0:
            left = elapsed / rate_n * (self.total - self.completed)
            text += f", about {_hms(left)} left"
        return text


class Heartbeat:
    """Progress as log lines (stderr not a terminal): the same methods as :class:`RunProgress`."""

    def __init__(self, interval: float | None = None) -> None:
        self.interval = HEARTBEAT_S if interval is None else float(interval)
        self.tasks: dict[int, _Task] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._beat, name="srmer-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def _beat(self) -> None:
        while not self._stop.wait(min(self.interval, 1.0)):
            now = time.monotonic()
            with self._lock:
                due = [
                    t
                    for t in self.tasks.values()
                    if not t.done and now - t.last_line >= self.interval
                ]
                for t in due:
                    t.last_line = now
            for t in due:
                log.info(t.line())

    def add_task(self, description: str, total: int | None = None, completed: int = 0) -> int:
        with self._lock:
            i = len(self.tasks)
            self.tasks[i] = _Task(description, total, completed, start_completed=completed)
        log.info(self.tasks[i].line())
        return i

    def update(self, task: int, advance: int = 0, description: str | None = None) -> None:
        with self._lock:
            t = self.tasks[task]
            t.completed += advance
            if description is not None:
                t.description = description
            finished = bool(t.total) and t.completed >= (t.total or 0) and not t.done
            if finished:
                t.done = True
        if finished:
            log.info(t.line())

    def advance(self, task: int, advance: int = 1) -> None:
        self.update(task, advance=advance)


class _Null:
    def __enter__(self) -> _Null:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *a: Any, **k: Any) -> int:
        return 0

    def update(self, *a: Any, **k: Any) -> None:
        pass

    def advance(self, *a: Any, **k: Any) -> None:
        pass


def _rich_progress(console: Any = None) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )


def run_progress(enabled: bool = True, console: Any = None) -> Any:
    """The display of a run's stages: ``add_task(description, total)``, ``advance(task, n)``.

    A live rich display on stderr when it is a terminal, :class:`Heartbeat` lines otherwise, and a
    no-op when ``enabled`` is false (``--quiet``). Use it as a context manager.
    """
    if not enabled:
        return _Null()
    terminal = console.is_terminal if console is not None else stderr_is_terminal()
    if terminal:
        return _rich_progress(console)
    return Heartbeat()


#: the display active in this process (a training bar inside a run joins the run's display: rich
#: allows one live display at a time)
_ACTIVE: list[Any] = []


@contextlib.contextmanager
def active(progress: Any) -> Iterator[Any]:
    """Make ``progress`` the display that :func:`progress_bar` adds its task to, inside the block."""
    with progress:
        _ACTIVE.append(progress)
        try:
            yield progress
        finally:
            _ACTIVE.remove(progress)


@contextlib.contextmanager
def progress_bar(
    enabled: bool, total: int, completed: int = 0, description: str = "training"
) -> Iterator[Callable[..., None]]:
    """A progress task of ``total`` steps, ``completed`` of which are already done (a resumed run).

    Joins the run's display when one is active (:func:`active`), else opens its own
    (:func:`run_progress`).

    Yields
    ------
    callable
        ``advance(n=1, description=None)``: count ``n`` more steps, optionally replacing the label
        (e.g. with the current loss). A no-op when ``enabled`` is false or nothing is left to do.
    """
    if not enabled or total <= completed:
        yield lambda n=1, description=None: None
        return
    ctx = contextlib.nullcontext(_ACTIVE[-1]) if _ACTIVE else run_progress(True)
    with ctx as prog:
        task = prog.add_task(description, total=total, completed=completed)

        def advance(n: int = 1, description: str | None = None) -> None:
            if description is None:
                prog.update(task, advance=n)
            else:
                prog.update(task, advance=n, description=description)

        yield advance


__all__ = [
    "HEARTBEAT_S",
    "Heartbeat",
    "active",
    "progress_bar",
    "run_progress",
    "stderr_is_terminal",
]
