"""The run directory: one owner at a time, and never parts of two different runs.

A run takes the directory's lock (``.lock``, holding the owner's host, pid and start time) before it
writes anything, so a second run on a directory in use fails at once with a clear message. A lock
whose owner process is gone (a killed run) is stale: it is reported and taken over. Starting a run
removes the previous run's outputs before writing the new ``config.yaml``, so a run killed half-way
leaves a config and a plan that describe it, never the old run's results beside the new config;
the stage cache (which is content-addressed) keeps every finished piece of work.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
import warnings
from pathlib import Path
from types import TracebackType

from srmer.bench.cache import atomic_write_text
from srmer.errors import SrmerError

LOCK_NAME = ".lock"

#: everything a run writes besides the cache (grid and FSR-FER experiments), removed when a new run
#: starts in the same directory
RUN_OUTPUTS: tuple[str, ...] = (
    "config.yaml",
    "plan.json",
    "results.csv",
    "results.parquet",
    "predictions.csv",
    "quality.csv",
    "provenance.json",
    "report",
    "report.html",
    "results.json",
    "table1.csv",
    "table1.md",
    "table2.csv",
    "table2.md",
    "loss_fsr.csv",
    "loss_fsr_noreweight.csv",
    "loss_curves.png",
    "backbone_history.csv",
)


class RunDirectoryBusy(SrmerError):
    """Another live run owns the run directory."""


class StaleLockWarning(UserWarning):
    """A lock left by a run that no longer exists was taken over."""


def _pid_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class RunLock:
    """Exclusive ownership of a run directory (context manager).

    The lock file is created atomically with its content (written to a temporary file, then
    hard-linked into place, which fails if the lock exists), so it is never seen empty.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._held = False

    def owner(self) -> dict | None:
        """The current lock's content, ``{}`` if unreadable, ``None`` if there is no lock."""
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def _is_stale(self, owner: dict) -> bool:
        if not owner:
            return True  # unreadable: no live run writes a lock like that
        if owner.get("host") != socket.gethostname():
            return False  # cannot see that host's processes: assume it is alive
        return not _pid_alive(int(owner.get("pid", -1)))

    def acquire(self) -> RunLock:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        doc = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
        fd, tmp = tempfile.mkstemp(dir=self.run_dir, prefix=".lock.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(doc, fh)
            for _ in range(3):
                try:
                    os.link(tmp, self.path)
                    self._held = True
                    return self
                except FileExistsError:
                    owner = self.owner()
                    if owner is None:
                        continue  # released meanwhile
                    if not self._is_stale(owner):
                        raise RunDirectoryBusy(
                            f"run directory {self.run_dir} is in use by another run (pid "
                            f"{owner.get('pid')} on {owner.get('host')}, lock {self.path}); wait "
                            "for it to finish, or give this run another `output:` folder. If that "
                            "run is gone (e.g. its machine rebooted), delete the lock file."
                        ) from None
                    warnings.warn(
                        f"taking over the stale lock {self.path} of a run that no longer exists "
                        f"(pid {owner.get('pid')} on {owner.get('host')})",
                        StaleLockWarning,
                        stacklevel=2,
                    )
                    self.path.unlink(missing_ok=True)
            raise RunDirectoryBusy(f"could not take the lock {self.path}; try again")
        finally:
            Path(tmp).unlink(missing_ok=True)

    def release(self) -> None:
        if self._held:
            owner = self.owner()
            if owner and owner.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def start_run(run_dir: Path, config_yaml: str, plan: dict) -> None:
    """Clear the previous run's outputs and write this run's ``config.yaml`` and ``plan.json``.

    Call with the directory's :class:`RunLock` held, after every option was validated.
    """
    for name in RUN_OUTPUTS:
        p = run_dir / name
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    atomic_write_text(run_dir / "config.yaml", config_yaml)
    atomic_write_text(run_dir / "plan.json", json.dumps(plan, indent=2))
