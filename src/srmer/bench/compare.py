"""``srmer compare RUN_DIR RUN_DIR ...``: several runs' results in one table and one report.

Typical uses: two SR checkpoints run on different days, or a new method against a saved baseline.
The runs must have been evaluated on the same clips under the same protocol, otherwise the paired
comparisons would compare different things; :func:`compare_runs` refuses them and says what
differs. A cell present in several runs with the same predictions is kept once (the shared `none`
and `bicubic` baselines); a cell whose predictions differ gets the run's name appended to its SR
label (or to its MER label when the SR method is a baseline), so both appear in the tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from srmer.bench.cache import atomic_write_text
from srmer.bench.results import write_table
from srmer.errors import SrmerError

#: prediction columns that identify the clips of a panel
_CLIP_KEYS = ("dataset", "protocol", "train_datasets", "test_dataset", "source_dataset", "subject",
              "clip")  # fmt: skip
_CELL_KEYS = ("dataset", "protocol", "train_datasets", "test_dataset", "resolution", "sr", "mer")
_BASELINES = ("none", "bicubic")


def _read(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    from srmer.bench.report import experiment_kind, load_run, run_metric

    if experiment_kind(run_dir) != "grid":
        raise SrmerError(f"{run_dir}: only micro-expression grid runs can be compared")
    run = load_run(run_dir)
    if run.predictions is None:
        raise SrmerError(
            f"{run_dir}: no predictions.csv; the comparison needs every clip's prediction "
            "(re-run `srmer run` on its config: finished work is cached)"
        )
    pred = run.predictions.copy()
    res = run.results.copy()
    for df in (pred, res):
        for k in ("protocol", "train_datasets", "test_dataset"):
            if k not in df.columns:
                df[k] = "loso" if k == "protocol" else df["dataset"]
    if "source_dataset" not in pred.columns:
        pred["source_dataset"] = pred["dataset"]
    for df in (pred, res):
        for k in ("dataset", "protocol", "train_datasets", "test_dataset", "sr", "mer"):
            df[k] = df[k].astype(str)
        df["resolution"] = df["resolution"].astype(int)
    pred["subject"] = pred["subject"].astype(str)
    pred["clip"] = pred["clip"].astype(str)
    return res, pred, {"metric": run_metric(run_dir)}


def _clip_sets(pred: pd.DataFrame) -> dict[tuple, frozenset]:
    keys = list(_CLIP_KEYS[:4])
    return {
        k if isinstance(k, tuple) else (k,): frozenset(
            map(tuple, part[list(_CLIP_KEYS[4:])].drop_duplicates().to_numpy().tolist())
        )
        for k, part in pred.groupby(keys)
    }


def check_comparable(names: list[str], preds: list[pd.DataFrame]) -> None:
    """Refuse runs whose protocol tasks or clips differ (the message names what differs)."""
    first = _clip_sets(preds[0])
    for name, pred in zip(names[1:], preds[1:], strict=True):
        other = _clip_sets(pred)
        if set(other) != set(first):
            raise SrmerError(
                f"runs {names[0]} and {name} were evaluated under different datasets or protocol "
                f"tasks ({sorted(first)} vs {sorted(other)}); compare runs of one protocol"
            )
        for task, clips in first.items():
            if other[task] != clips:
                only_a = sorted(clips - other[task])[:3]
                only_b = sorted(other[task] - clips)[:3]
                raise SrmerError(
                    f"runs {names[0]} and {name} tested different clips on {'/'.join(task)} "
                    f"({len(clips - other[task])} only in {names[0]}, e.g. {only_a}; "
                    f"{len(other[task] - clips)} only in {name}, e.g. {only_b}); paired "
                    "comparisons need the same clips (same dataset copy, class map and protocol)"
                )


def compare_runs(run_dirs: list[str | Path], output: str | Path) -> Path:
    """Merge runs into ``output`` (results, predictions, report) with their paired comparisons.

    Parameters
    ----------
    run_dirs : list of path
        At least two run directories of ``srmer run`` (grid experiments).
    output : path
        The new directory (its results and report are overwritten).

    Returns
    -------
    pathlib.Path
        ``output/report/report.html``.

    Raises
    ------
    SrmerError
        Fewer than two runs, a run that is not a grid or lacks predictions, or runs whose
        protocol tasks or clips differ.
    """
    from srmer.bench.report import write_report
    from srmer.bench.statistics import StatsOptions, add_intervals

    dirs = [Path(d) for d in run_dirs]
    if len(dirs) < 2:
        raise SrmerError("srmer compare needs at least two run directories")
    names = [d.name for d in dirs]
    if len(set(names)) != len(names):
        names = [f"{d.parent.name}/{d.name}" for d in dirs]
    read = [_read(d) for d in dirs]
    check_comparable(names, [p for _, p, _ in read])

    results, preds = [], []
    seen: dict[tuple, pd.DataFrame] = {}
    for name, (res, pred, _) in zip(names, read, strict=True):
        for cell, part in pred.groupby(list(_CELL_KEYS), sort=False):
            part = part.sort_values(["source_dataset", "subject", "clip"])
            row = res[(res[list(_CELL_KEYS)] == pd.Series(cell, index=_CELL_KEYS)).all(axis=1)]
            if cell in seen:
                if seen[cell]["y_pred"].tolist() == part["y_pred"].tolist():
                    continue  # the same baseline in both runs
                col = "mer" if cell[5] in _BASELINES else "sr"
                label = f"{cell[_CELL_KEYS.index(col)]}@{name}"
                part = part.assign(**{col: label})
                row = row.assign(**{col: label})
            seen.setdefault(cell, part)
            preds.append(part)
            results.append(row)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    merged = pd.concat(results, ignore_index=True)
    predictions = pd.concat(preds, ignore_index=True)
    merged = add_intervals(
        merged.drop(columns=[c for c in merged.columns if c.endswith(("_lo", "_hi"))]),
        predictions,
        StatsOptions(),
    )
    write_table(out / "results", merged)
    write_table(out / "predictions", predictions, parquet=False)
    metric = read[0][2]["metric"]
    atomic_write_text(
        out / "plan.json",
        json.dumps({"experiment": "grid", "metric": metric, "compared": [str(d) for d in dirs]}),
    )
    cfg = dirs[0] / "config.yaml"
    atomic_write_text(
        out / "config.yaml",
        f"# srmer compare of {', '.join(map(str, dirs))}; the first run's config:\n"
        + (cfg.read_text() if cfg.is_file() else ""),
    )
    atomic_write_text(
        out / "provenance.json",
        json.dumps({"experiment": "compare", "runs": [str(d.resolve()) for d in dirs]}, indent=2),
    )
    return write_report(out)
