"""The experiment engine: one entry point, :func:`run`, for every experiment kind.

``run`` checks every option and input, takes the run directory's lock, clears the previous run's
outputs, writes ``config.yaml`` and ``plan.json``, runs the experiment (:data:`EXPERIMENTS`: the
micro-expression ``grid`` of Zhou et al. and Sharma et al., or ``fsr_fer``, the static-FER
experiment of Jing et al.), then writes ``provenance.json`` and the report. A killed run loses
nothing that finished: every stage output is stored atomically in the cache, and a re-run finds it.
"""

from __future__ import annotations

import json
import os
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
class Result:
    """What an experiment run returns (:func:`run`, :func:`srmer.run`).

    Attributes
    ----------
    run_dir : Path or None
        The run directory; ``None`` for an in-memory run (``srmer.run(..., output=None)``).
    results : pandas.DataFrame
        The grid's results table (one row per dataset x setting x MER method, the columns of
        ``results.csv``: metrics in 0..1 with their ``_lo``/``_hi`` interval bounds) or, for
        FSR-FER, Table 1 (rows = methods, columns = factors, accuracy in %).
    skipped : list of dict
        Clips that could not be used: ``{"dataset", "clip", "problem"}``.
    tables : dict of str to pandas.DataFrame
        Every table by name (FSR-FER: ``table1``, ``table2``).
    predictions : pandas.DataFrame
        Grid runs: one row per clip x setting x MER method (``predictions.csv``: true and predicted
        label, subject, fold); empty for FSR-FER.
    report : Path or None
        ``report/report.html`` when the report was written.
    provenance : dict
        ``provenance.json``: versions, seed, device, timings and the history of invocations.
    """

    run_dir: Path | None
    results: pd.DataFrame
    skipped: list[dict[str, str]]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    report: Path | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        where = self.run_dir if self.run_dir is not None else "in memory"
        return (
            f"Result({where}, {len(self.results)} result rows, {len(self.predictions)} "
            f"predictions, {len(self.skipped)} skipped)"
        )


#: the former name of :class:`Result`
RunResult = Result

#: invocations of a run directory, one JSON object per line (kept when a re-run clears the outputs)
HISTORY_NAME = "history.jsonl"


def _versions() -> dict[str, str]:
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


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


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    """The run directory's invocations, oldest first (unreadable lines are skipped)."""
    path = Path(run_dir) / HISTORY_NAME
    out = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict):
                out.append(doc)
    return out


def _append_history(run_dir: Path, entry: dict[str, Any]) -> None:
    # one short line per append: whole lines survive a killed process
    with open(Path(run_dir) / HISTORY_NAME, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")


def run(
    config: Config | FERConfig,
    workers: int | None = None,
    quiet: bool = False,
    write_report: bool = True,
    verbose: bool = False,
) -> Result:
    """Run an experiment config end to end and write its run directory.

    Parameters
    ----------
    config : Config or FERConfig
        Validated experiment config (:func:`srmer.bench.config.load_config`).
    workers : int, optional
        Override ``executor.workers`` (grid experiments).
    quiet : bool
        No progress display; only warnings and errors on stderr.
    write_report : bool
        Write the report at the end.
    verbose : bool
        Debug messages on stderr too (the run's ``run.log`` always has them).

    Returns
    -------
    Result
        Run directory, results, predictions, skipped clips, every table, report path, provenance.

    Raises
    ------
    SrmerError
        A missing input (dataset root, SR pool, checkpoint) before anything is written, or a run
        directory in use by another run (:class:`srmer.bench.rundir.RunDirectoryBusy`).
    """
    import hashlib
    import time

    from rich.console import Console

    from srmer.bench.runlog import command_line, run_logging
    from srmer.train.progress import active, run_progress

    console = Console(stderr=True)
    preflight(config)  # before the lock and before any file is written
    run_dir = config.output_dir
    kind = "grid" if isinstance(config, Config) else "fsr_fer"
    config_yaml = dump_config(config)
    with RunLock(run_dir), run_logging(run_dir, -1 if quiet else int(verbose), console) as logger:
        start_run(run_dir, config_yaml, _plan(config))
        cache = Cache(config.cache_dir)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        t0 = time.perf_counter()
        entry: dict[str, Any] = {
            "started": started,
            "command": command_line(),
            "config_sha256": hashlib.sha256(config_yaml.encode()).hexdigest()[:16],
            "pid": os.getpid(),
        }
        _append_history(run_dir, {**entry, "status": "started"})
        device = str(resolve_device(config.device))
        logger.info("run directory %s, device %s", run_dir, device)
        with active(run_progress(not quiet, console)) as progress:
            out = _experiment(kind)(
                config,
                run_dir=run_dir,
                cache=cache,
                device=device,
                workers=workers,
                progress=progress,
                log=logger.info,
            )
        wall = round(time.perf_counter() - t0, 3)
        entry.update(
            status="finished",
            finished=datetime.now(UTC).isoformat(timespec="seconds"),
            wall_s=wall,
            timings=out.get("timings", {}),
        )
        _append_history(run_dir, entry)
        history = [h for h in read_history(run_dir) if h.get("status") == "finished"]
        provenance = {
            "experiment": kind,
            "command": entry["command"],
            "versions": _versions(),
            "seed": config.seed,
            "timings": out.get("timings", {}),
            "skipped": out.get("skipped", []),
            "started": started,
            "finished": entry["finished"],
            "wall_s": wall,
            "device": device,
            "machine": f"{platform.node()} {platform.machine()} "
            f"{platform.processor() or ''} python {platform.python_version()}".strip(),
            # every finished invocation of this directory: a warm re-run does not hide the cold one
            "history": history,
        }
        if out.get("sr_pool_check") is not None:
            provenance["sr_pool_check"] = out["sr_pool_check"]
        if "workers" in out:
            provenance["executor"] = {"kind": config.executor.kind, "workers": out["workers"]}
        atomic_write_text(run_dir / "provenance.json", json.dumps(provenance, indent=2))
        report = None
        if write_report:
            from srmer.bench.report import write_report as _write_report

            t1 = time.perf_counter()
            try:
                report = _write_report(run_dir)
            except SrmerError as err:  # the results are safe on disk; `srmer report` can retry
                logger.warning("report not written: %s", err)
            logger.info("report written in %.1f s", time.perf_counter() - t1)
        logger.info("finished: experiment %.1f s, results in %s", wall, run_dir)
    tables = out.get("tables", {})
    results = out["results"] if "results" in out else tables.get("table1", pd.DataFrame())
    preds = run_dir / "predictions.csv"
    return Result(
        run_dir,
        results,
        out.get("skipped", []),
        tables,
        predictions=pd.read_csv(preds) if preds.is_file() else pd.DataFrame(),
        report=Path(report) if report else None,
        provenance=provenance,
    )
