"""The micro-expression grid: datasets x resolutions x SR methods x MER methods under LOSO.

Orchestration only: SR preparation (:mod:`~srmer.bench.stages.sr_prepare`), the clip stage
(:mod:`~srmer.bench.stages.clip`), the fold stage (:mod:`~srmer.bench.stages.fold`) and results
assembly (:mod:`srmer.bench.results`) run in that order, every stage output cached, clip and fold
jobs run by the configured executor.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from srmer.bench.cache import Cache
from srmer.bench.config import Config
from srmer.bench.executors import make_executor
from srmer.bench.plan import Setting, expand
from srmer.bench.results import cell_row, mean_quality, prediction_rows, write_table
from srmer.bench.stages.clip import ClipPlan, ClipResult, clip_job
from srmer.bench.stages.fold import FoldJob, fold_job
from srmer.bench.stages.sr_prepare import prepare_sr_methods
from srmer.errors import DatasetError


def grid_plan(config: Config) -> dict[str, Any]:
    """What ``plan.json`` records of a grid: settings, MER labels and datasets."""
    return {
        "experiment": "grid",
        "settings": [s.id for s in expand(config)],
        "mer": [m.label for m in config.mer],
        "datasets": [d.name for d in config.datasets],
    }


def _clip_stage(ds, samples, plan: ClipPlan, executor, progress, gpu: bool, skipped, timings):
    task = progress.add_task(f"{ds.name}: clips", total=len(samples))
    per_clip: dict[int, ClipResult] = {}
    stage_t: dict[str, float] = {}
    t = time.perf_counter()
    for i, res in executor.imap(clip_job, [(plan, s) for s in samples], gpu=gpu):
        if res.skipped is not None:
            skipped.append({"dataset": ds.name, "clip": res.clip, "problem": res.skipped})
        else:
            per_clip[i] = res
            for k, v in res.timings.items():
                stage_t[k] = stage_t.get(k, 0.0) + v
        progress.advance(task)
    timings[f"clips:{ds.name}"] = time.perf_counter() - t
    timings.update({f"{k}:{ds.name} (cpu-s)": v for k, v in stage_t.items()})
    return per_clip


def _fold_stage(
    ds, jobs: list[FoldJob], cache: Cache, executor, progress, timings
) -> list[np.ndarray]:
    t = time.perf_counter()
    keys = [j.key() for j in jobs]
    preds: dict[int, np.ndarray] = {}
    todo = []
    for j, fkey in enumerate(keys):
        hit = cache.load("fold", fkey, expect=("y_pred",))
        if hit is not None and len(hit["y_pred"]) == len(jobs[j].y):
            preds[j] = hit["y_pred"]
        else:
            todo.append(j)
    task = progress.add_task(f"{ds.name}: LOSO folds", total=len(jobs))
    progress.advance(task, len(jobs) - len(todo))
    for jj, y_pred in executor.imap(fold_job, [jobs[j] for j in todo]):
        j = todo[jj]
        cache.save("fold", keys[j], {"y_pred": y_pred})
        preds[j] = y_pred
        progress.advance(task)
    timings[f"folds:{ds.name}"] = time.perf_counter() - t
    return [preds[j] for j in range(len(jobs))]


def run_grid(
    config: Config,
    run_dir: Path,
    cache: Cache,
    device: str,
    workers: int | None,
    progress,
    log,
) -> dict[str, Any]:
    """Run every stage of a grid config; write ``results``, ``predictions`` and ``quality`` tables.

    Returns
    -------
    dict
        ``results`` (DataFrame, one row per dataset x setting x MER), ``skipped`` (list of
        ``{dataset, clip, problem}``), ``timings`` (seconds per stage) and ``workers``.
    """
    from srmer.data import load
    from srmer.eval.metrics import all_metrics

    timings: dict[str, float] = {}
    settings: list[Setting] = expand(config)
    t = time.perf_counter()
    sr_context = prepare_sr_methods(config, cache.root, device, log)
    timings["sr_prepare"] = time.perf_counter() - t

    rows, pred_rows, quality_rows, skipped = [], [], [], []
    executor = make_executor(
        config.executor.kind, workers or config.executor.workers, config.executor.address
    )
    with executor:
        for ds in config.datasets:
            t = time.perf_counter()
            samples = load(ds.name, ds.root, classes=ds.classes, **ds.options)
            timings[f"load:{ds.name}"] = time.perf_counter() - t
            skipped += [
                {"dataset": ds.name, "clip": s.clip, "problem": s.problem} for s in samples.skipped
            ]
            plan = ClipPlan(
                str(cache.root),
                config.preprocess.model_dump(mode="json"),
                config.degradation.model_dump(mode="json"),
                settings,
                config.mer,
                config.seed,
                sr_context.as_dict(),
                config.cache_clips,
                list(config.quality),
            )
            per_clip = _clip_stage(
                ds, samples, plan, executor, progress, device.startswith("cuda"), skipped, timings
            )
            kept = sorted(per_clip)
            if len(kept) < 2:
                reasons = "; ".join(x["problem"] for x in skipped if x["dataset"] == ds.name)[:800]
                raise DatasetError(
                    f"dataset {ds.name} at {ds.root}: fewer than 2 usable clips "
                    f"({len(samples)} loaded). Skipped: {reasons or 'none'}"
                )
            used = [samples[i] for i in kept]
            y = np.array([s.label for s in used])
            groups = np.array([s.subject for s in used])

            cells, jobs = [], []
            for st in settings:
                for spec in config.mer:
                    if spec.label not in per_clip[kept[0]].repr[st.id]:
                        continue
                    cells.append((st, spec))
                    jobs.append(
                        FoldJob(
                            spec,
                            st.sr,
                            np.stack([per_clip[i].repr[st.id][spec.label] for i in kept]),
                            y,
                            groups,
                            len(samples.classes),
                            config.seed,
                            config.protocol,
                            str(cache.root / "net_checkpoints"),
                        )
                    )
            preds = _fold_stage(ds, jobs, cache, executor, progress, timings)

            for (st, spec), y_pred in zip(cells, preds, strict=True):
                rows.append(
                    cell_row(
                        ds.name,
                        samples.class_map,
                        config.degradation.label,
                        st,
                        spec,
                        all_metrics(y, y_pred),
                        len(kept),
                        mean_quality(per_clip, kept, st.id),
                        list(config.quality),
                    )
                )
                pred_rows += prediction_rows(ds.name, st, spec, used, samples.classes, y, y_pred)
            for st in settings:
                q = mean_quality(per_clip, kept, st.id)
                if q:
                    quality_rows.append(
                        {
                            "dataset": ds.name,
                            "resolution": st.resolution,
                            "setting": st.name,
                            "sr": st.sr_label,
                            **q,
                        }
                    )

    results = pd.DataFrame(rows)
    write_table(run_dir / "results", results)
    write_table(run_dir / "predictions", pd.DataFrame(pred_rows), parquet=False)
    write_table(run_dir / "quality", pd.DataFrame(quality_rows), parquet=False)
    return {
        "results": results,
        "skipped": skipped,
        "timings": timings,
        "workers": executor.workers,
    }
