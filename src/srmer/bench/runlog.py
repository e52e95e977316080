"""What a run tells its user: log lines on stderr and in the run's ``run.log``.

Every srmer module logs to the ``srmer`` logger. During a run (:func:`run_logging`) that logger
writes to stderr through rich (time stamps, no source-file positions) at the chosen verbosity, and
to ``RUN_DIR/run.log`` at DEBUG, as plain text, appended invocation after invocation so the log of a
cold run survives the warm re-runs after it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOG_NAME = "run.log"

#: ``verbosity`` -> console level: -1 = ``--quiet`` (warnings and errors), 0 = default, 1 = ``--verbose``
LEVELS = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}


class _PlainFormatter(logging.Formatter):
    """Time-stamped lines with rich markup (``[yellow]``) removed, for the log file."""

    def format(self, record: logging.LogRecord) -> str:
        from rich.text import Text

        line = super().format(record)
        try:
            return Text.from_markup(line).plain
        except Exception:  # not valid markup: keep the text as it is
            return line


def command_line() -> str:
    """The invocation as a shell line (``srmer run configs/demo.yaml``)."""
    argv = list(sys.argv)
    if argv and os.path.basename(argv[0]) in ("srmer", "__main__.py"):
        argv[0] = "srmer"
    return shlex.join(argv) if argv else ""


@contextlib.contextmanager
def run_logging(run_dir: Path | None, verbosity: int = 0, console: Any = None) -> Iterator[Any]:
    """Route the ``srmer`` logger to stderr (at ``verbosity``) and to ``run_dir/run.log``.

    Parameters
    ----------
    run_dir : Path or None
        The run directory (must exist); ``None`` logs to stderr only.
    verbosity : {-1, 0, 1}
        ``-1`` warnings only (``--quiet``), ``0`` progress messages, ``1`` debug (``--verbose``).
    console : rich.console.Console, optional
        The stderr console (shared with the progress display so lines print above the bars).

    Yields
    ------
    logging.Logger
        The ``srmer`` logger.
    """
    from rich.console import Console
    from rich.logging import RichHandler

    logger = logging.getLogger("srmer")
    saved = (logger.level, logger.propagate)
    console = console or Console(stderr=True)
    screen: logging.Handler
    if console.is_terminal:
        screen = RichHandler(console=console, show_path=False, markup=True, log_time_format="[%X]")
    else:  # nohup, SLURM, a pipe: one plain line per message, no padding to a terminal width
        screen = logging.StreamHandler(sys.stderr)
        screen.setFormatter(_PlainFormatter("[%(asctime)s] %(message)s", datefmt="%H:%M:%S"))
    screen.setLevel(LEVELS.get(max(-1, min(1, verbosity)), logging.INFO))
    handlers: list[logging.Handler] = [screen]
    if run_dir is not None:
        fh = logging.FileHandler(Path(run_dir) / LOG_NAME, mode="a", encoding="utf-8")
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(_PlainFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
        handlers.append(fh)
    for h in handlers:
        logger.addHandler(h)
    logger.setLevel(logging.DEBUG)
    # the user's root handlers would print every line a second time
    logger.propagate = False
    try:
        if run_dir is not None:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            logger.debug("---- %s: %s (pid %d)", stamp, command_line() or "python", os.getpid())
        yield logger
    finally:
        for h in handlers:
            logger.removeHandler(h)
            h.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
