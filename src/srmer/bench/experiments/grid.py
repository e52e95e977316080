"""The micro-expression grid: datasets x resolutions x SR methods x MER methods under a protocol.

Orchestration only: SR preparation (:mod:`~srmer.bench.stages.sr_prepare`), the clip stage
(:mod:`~srmer.bench.stages.clip`), the fold stage (:mod:`~srmer.bench.stages.fold`) and results
assembly (:mod:`srmer.bench.results`) run in that order, every stage output cached, clip and fold
jobs run by the configured executor.

The clip stage does not depend on the protocol, so a clip's LR, SR and descriptor entries are shared
by every protocol (and, since the composite's clips keep their source keys, by the composite and the
single-dataset runs). The protocol (:mod:`srmer.eval.protocol`) only decides the fold jobs: LOSO,
k-fold and hold-out evaluate each configured dataset on its own; the cross-dataset protocols pool the
configured datasets and split them by source database.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from srmer.bench.cache import Cache
from srmer.bench.config import Config, DatasetSpec
from srmer.bench.executors import make_executor
from srmer.bench.plan import Setting, expand
from srmer.bench.results import (
    by_dataset_rows,
    cell_row,
    mean_quality,
    prediction_rows,
    write_table,
)
from srmer.bench.stages.clip import ClipPlan, ClipResult, clip_job
from srmer.bench.stages.fold import FoldJob, fold_job
from srmer.bench.stages.sr_prepare import prepare_sr_methods
from srmer.bench.statistics import StatsOptions, add_intervals
from srmer.data.sample import Sample, SampleSet
from srmer.errors import DatasetError


def grid_plan(config: Config) -> dict[str, Any]:
    """What ``plan.json`` records of a grid: settings, MER labels, datasets, protocol, metric."""
    return {
        "experiment": "grid",
        "settings": [s.id for s in expand(config)],
        "mer": [m.label for m in config.mer],
        "datasets": [d.name for d in config.datasets],
        "protocol": config.protocol.as_dict(),
        "metric": config.report_metric,
    }


@dataclass
class Pool:
    """The clips one protocol evaluation draws from: one configured dataset, or several pooled.

    ``datasets`` is the source database of each clip, ``groups`` its subject (qualified by the
    database when several are pooled, since subject numbers repeat across databases).
    """

    name: str
    class_map: str
    classes: tuple[str, ...]
    samples: list[Sample]
    results: list[ClipResult]

    @property
    def datasets(self) -> np.ndarray:
        return np.array([s.dataset for s in self.samples])

    @property
    def groups(self) -> np.ndarray:
        if len(set(self.datasets.tolist())) > 1:
            return np.array([f"{s.dataset}/{s.subject}" for s in self.samples])
        return np.array([s.subject for s in self.samples])

    @property
    def y(self) -> np.ndarray:
        return np.array([s.label for s in self.samples])


def _pools(config: Config, loaded: list[tuple[DatasetSpec, SampleSet, list[int], dict]]):
    """The protocol's pools: each dataset alone, or (cross-dataset protocols) all of them together."""
    pools = [
        Pool(
            ds.name,
            ss.class_map,
            ss.classes,
            [ss[i] for i in kept],
            [per_clip[i] for i in kept] if per_clip else [],
        )
        for ds, ss, kept, per_clip in loaded
    ]
    if not config.protocol.pooled or len(pools) == 1:
        return pools
    classes = {p.classes for p in pools}
    if len(classes) > 1:
        raise DatasetError(
            f"protocol {config.protocol.name}: the datasets have different classes "
            f"({'; '.join(f'{p.name}: {list(p.classes)}' for p in pools)}); "
            "give every dataset the same class map (classes: megc3)"
        )
    return [
        Pool(
            "+".join(p.name for p in pools),
            pools[0].class_map,
            pools[0].classes,
            [s for p in pools for s in p.samples],
            [r for p in pools for r in p.results],
        )
    ]


def _tasks(config: Config, pool: Pool):
    """The protocol's tasks on one pool, with the class check of every split."""
    from srmer.eval.protocol import check_split_classes, protocol_tasks

    tasks = protocol_tasks(config.protocol.as_dict(), pool.datasets, pool.groups, pool.name)
    if config.protocol.name not in ("loso", "kfold"):
        y = pool.y
        for t in tasks:
            check_split_classes(y, t.splits, pool.classes, t.what)
    return tasks


def _load_all(config: Config, timings: dict, skipped: list) -> list[tuple[DatasetSpec, SampleSet]]:
    from srmer.data import load

    out = []
    for ds in config.datasets:
        t = time.perf_counter()
        samples = load(ds.name, ds.source, classes=ds.classes, **ds.options)
        timings[f"load:{ds.name}"] = time.perf_counter() - t
        skipped += [
            {"dataset": ds.name, "clip": s.clip, "problem": s.problem} for s in samples.skipped
        ]
        if len(samples) < 2:
            reasons = "; ".join(s.problem for s in samples.skipped)[:800]
            raise DatasetError(
                f"dataset {ds.name} at {ds.source}: fewer than 2 usable clips "
                f"({len(samples)} loaded). Skipped: {reasons or 'none'}"
            )
        out.append((ds, samples))
    return out


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


def _fold_stage(label: str, jobs: list[FoldJob], cache: Cache, executor, progress, timings):
    t = time.perf_counter()
    keys = [j.key() for j in jobs]
    preds: dict[int, np.ndarray] = {}
    todo = []
    for j, fkey in enumerate(keys):
        hit = cache.load("fold", fkey, expect=("y_pred",))
        if hit is not None and len(hit["y_pred"]) == jobs[j].n_tested:
            preds[j] = hit["y_pred"]
        else:
            todo.append(j)
    # cached folds count as done from the start, so the ETA is that of the folds left
    task = progress.add_task(f"{label}: folds", total=len(jobs), completed=len(jobs) - len(todo))
    for jj, y_pred in executor.imap(fold_job, [jobs[j] for j in todo]):
        j = todo[jj]
        cache.save("fold", keys[j], {"y_pred": y_pred})
        preds[j] = y_pred
        progress.advance(task)
    timings[f"folds:{label}"] = time.perf_counter() - t
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
    """Run every stage of a grid config; write the ``results``, ``results_by_dataset``,
    ``predictions`` and ``quality`` tables.

    Returns
    -------
    dict
        ``results`` (DataFrame, one row per pool x protocol task x setting x MER), ``skipped`` (list
        of ``{dataset, clip, problem}``), ``timings`` (seconds per stage), ``workers`` and
        ``sr_pool_check`` (what the SR-pool leakage guard found, or ``None``).
    """
    from srmer.eval.metrics import all_metrics

    timings: dict[str, float] = {}
    skipped: list[dict] = []
    settings: list[Setting] = expand(config)
    loaded = _load_all(config, timings, skipped)
    # Every protocol error (too few subjects, a class missing from the training data, an unknown
    # hold-out subject) is found on the loaded lists, before any clip is read or model trained.
    for pool in _pools(config, [(ds, ss, list(range(len(ss))), {}) for ds, ss in loaded]):
        _tasks(config, pool)
    pool_check = None
    if config.sr_pool is not None:
        from srmer.bench.pool_guard import check_sr_pool

        pool_check = check_sr_pool(
            config.sr_pool, [(ds.name, ss.root, ss.samples) for ds, ss in loaded]
        )
        if pool_check.status != "checked":
            logging.getLogger(__name__).warning(pool_check.message)

    t = time.perf_counter()
    sr_context = prepare_sr_methods(config, cache.root, device, log)
    timings["sr_prepare"] = time.perf_counter() - t

    rows, by_ds_rows, pred_rows, quality_rows = [], [], [], []
    executor = make_executor(
        config.executor.kind, workers or config.executor.workers, config.executor.address
    )
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
    with executor:
        clipped = []
        for ds, samples in loaded:
            per_clip = _clip_stage(
                ds, samples, plan, executor, progress, device.startswith("cuda"), skipped, timings
            )
            kept = sorted(per_clip)
            if len(kept) < 2:
                reasons = "; ".join(x["problem"] for x in skipped if x["dataset"] == ds.name)[:800]
                raise DatasetError(
                    f"dataset {ds.name} at {ds.source}: fewer than 2 usable clips "
                    f"({len(samples)} loaded). Skipped: {reasons or 'none'}"
                )
            clipped.append((ds, samples, kept, per_clip))
            for st in settings:
                q = mean_quality([per_clip[i] for i in kept], st.id)
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

        for pool in _pools(config, clipped):
            tasks = _tasks(config, pool)
            first = pool.results[0]
            cells = [
                (st, spec)
                for st in settings
                for spec in config.mer
                if spec.label in first.repr[st.id]
            ]
            y, groups = pool.y, pool.groups
            jobs, where = [], []
            for st, spec in cells:
                X = np.stack([r.repr[st.id][spec.label] for r in pool.results])
                for task in tasks:
                    jobs.append(
                        FoldJob.of_task(
                            spec,
                            st.sr,
                            X,
                            y,
                            groups,
                            task.splits,
                            len(pool.classes),
                            config.seed,
                            str(cache.root / "net_checkpoints"),
                            sr_context.as_dict(),
                        )
                    )
                    where.append((st, spec, task))
            preds = _fold_stage(pool.name, jobs, cache, executor, progress, timings)

            for job, (st, spec, task), y_pred in zip(jobs, where, preds, strict=True):
                idx = job.tested_rows
                used = [pool.samples[i] for i in idx]
                y_true = y[idx]
                tested = [pool.results[i] for i in idx]
                common = {
                    "protocol": task.protocol,
                    "train_datasets": "+".join(task.train_datasets),
                    "test_dataset": task.test_dataset,
                }
                rows.append(
                    cell_row(
                        pool.name,
                        pool.class_map,
                        config.degradation.label,
                        st,
                        spec,
                        all_metrics(y_true, y_pred),
                        len(idx),
                        mean_quality(tested, st.id),
                        list(config.quality),
                        **common,
                    )
                )
                by_ds_rows += by_dataset_rows(rows[-1], used, y_true, y_pred)
                pred_rows += prediction_rows(
                    pool.name, st, spec, used, pool.classes, y_true, y_pred, **common
                )

    predictions = pd.DataFrame(pred_rows)
    # subject-bootstrap intervals of every row, from the pooled predictions (nothing refit)
    t = time.perf_counter()
    results = add_intervals(
        pd.DataFrame(rows),
        predictions,
        StatsOptions(
            n_boot=config.report.n_boot,
            level=config.report.level,
            method=config.report.ci,
            seed=config.seed,
        ),
    )
    timings["intervals"] = time.perf_counter() - t
    write_table(run_dir / "results", results)
    write_table(run_dir / "results_by_dataset", pd.DataFrame(by_ds_rows), parquet=False)
    write_table(run_dir / "predictions", predictions, parquet=False)
    write_table(run_dir / "quality", pd.DataFrame(quality_rows), parquet=False)
    return {
        "results": results,
        "skipped": skipped,
        "timings": timings,
        "workers": executor.workers,
        "sr_pool_check": None if pool_check is None else dataclasses.asdict(pool_check),
    }
