"""The experiment engine: one entry point, :func:`run`, for every experiment kind.

``run`` checks every option and input, takes the run directory's lock, clears the previous run's
outputs, writes ``config.yaml`` and ``plan.json``, runs the experiment (:data:`EXPERIMENTS`: the
micro-expression ``grid`` of Zhou et al. and Sharma et al., or ``fsr_fer``, the static-FER
experiment of Jing et al.), then writes ``provenance.json`` and the report. A killed run loses
nothing that finished: every stage output is stored atomically in the cache, and a re-run finds it.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from srmer.bench.cache import Cache, atomic_write_text
from srmer.bench.config import Config, dump_config, preflight
from srmer.bench.rundir import RunLock, start_run
from srmer.errors import SrmerError
from srmer.train.device import resolve_device

if TYPE_CHECKING:
    from srmer.fer.config import FERConfig

PACKAGES = (
    "srmer",
    "numpy",
    "scipy",
    "scikit-learn",
    "scikit-image",
    "opencv-contrib-python-headless",
    "torch",
    "pandas",
    "statsmodels",
    "pydantic",
)

#: experiment kind -> "module:function" running it (imported on use)
EXPERIMENTS: dict[str, str] = {
    "grid": "srmer.bench.experiments.grid:run_grid",
    "fsr_fer": "srmer.bench.experiments.fsr_fer:run_fsr_fer_experiment",
}


@dataclass
class RunResult:
    """What :func:`run` returns.

    ``results`` is the grid's results table (one row per dataset x setting x MER) or, for FSR-FER,
    Table 1 with rows = methods and columns = factors; ``tables`` holds every table by name.
    """

    run_dir: Path
    results: pd.DataFrame
    skipped: list[dict[str, str]]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def _versions() -> dict[str, str]:
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _progress(quiet: bool):
    if quiet:
        return _NullProgress()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )


def _experiment(kind: str):
    import importlib

    module, fn = EXPERIMENTS[kind].split(":")
    return getattr(importlib.import_module(module), fn)


def _plan(config: Config | FERConfig) -> dict[str, Any]:
    if isinstance(config, Config):
        from srmer.bench.experiments.grid import grid_plan

        return grid_plan(config)
    from srmer.bench.experiments.fsr_fer import fsr_fer_plan

    return fsr_fer_plan(config)


def run(
    config: Config | FERConfig,
    workers: int | None = None,
    quiet: bool = False,
    write_report: bool = True,
) -> RunResult:
    """Run an experiment config end to end and write its run directory.

    Parameters
    ----------
    config : Config or FERConfig
        Validated experiment config (:func:`srmer.bench.config.load_config`).
    workers : int, optional
        Override ``executor.workers`` (grid experiments).
    quiet : bool
        No progress bars.
    write_report : bool
        Write the report at the end.

    Returns
    -------
    RunResult
        Run directory, results table, skipped clips and every table.

    Raises
    ------
    SrmerError
        A missing input (dataset root, SR pool, checkpoint) before anything is written, or a run
        directory in use by another run (:class:`srmer.bench.rundir.RunDirectoryBusy`).
    """
    from rich.console import Console

    console = Console(stderr=True, quiet=quiet)
    preflight(config)  # before the lock and before any file is written
    run_dir = config.output_dir
    kind = "grid" if isinstance(config, Config) else "fsr_fer"
    with RunLock(run_dir):
        start_run(run_dir, dump_config(config), _plan(config))
        cache = Cache(config.cache_dir)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        device = str(resolve_device(config.device))
        with _progress(quiet) as progress:
            out = _experiment(kind)(
                config,
                run_dir=run_dir,
                cache=cache,
                device=device,
                workers=workers,
                progress=progress,
                log=console.log,
            )
        provenance = {
            "experiment": kind,
            "versions": _versions(),
            "seed": config.seed,
            "timings": out.get("timings", {}),
            "skipped": out.get("skipped", []),
            "started": started,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "device": device,
            "machine": f"{platform.node()} {platform.machine()} "
            f"{platform.processor() or ''} python {platform.python_version()}".strip(),
        }
        if out.get("sr_pool_check") is not None:
            provenance["sr_pool_check"] = out["sr_pool_check"]
        if "workers" in out:
            provenance["executor"] = {"kind": config.executor.kind, "workers": out["workers"]}
        atomic_write_text(run_dir / "provenance.json", json.dumps(provenance, indent=2))
        if write_report:
            from srmer.bench.report import write_report as _write_report

            try:
                _write_report(run_dir)
            except SrmerError as err:  # the results are safe on disk; `srmer report` can retry
                console.print(f"[yellow]report not written: {err}[/yellow]")
    tables = out.get("tables", {})
    results = out["results"] if "results" in out else tables.get("table1", pd.DataFrame())
    return RunResult(run_dir, results, out.get("skipped", []), tables)


class _NullProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, *a, **k):
        return 0

    def advance(self, *a, **k):
        pass
