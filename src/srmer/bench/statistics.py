"""Subject-level statistics of a run, computed from its stored per-clip predictions (no model is refit).

* :func:`add_intervals`: ``<metric>_lo`` / ``<metric>_hi`` columns of every results row, from a cluster
  bootstrap over subjects (:mod:`srmer.eval.bootstrap`).
* :func:`sr_comparisons`: "Does SR help?": each SR method against ``none`` and ``bicubic`` at the same
  resolution and MER method, with a paired subject-bootstrap interval of the difference, exact
  McNemar and a subject-level sign-flip permutation test, Holm-corrected within a table
  (:mod:`srmer.eval.paired`).
* :func:`detectable` : the smallest difference the run could detect at 80% power.

All cells of one panel (pool x protocol task) are tested on the same clips, so one subject resample
serves every cell of the panel: intervals of differences and of averages over cells are then paired,
as they must be when every method sees the same subjects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

METRICS = ("war", "uar", "uf1")
#: prediction columns that identify a panel and a cell within it
PANEL_KEYS = ("dataset", "protocol", "train_datasets", "test_dataset")
CELL = ("resolution", "sr", "mer")


@dataclass
class StatsOptions:
    """How intervals and tests are computed (the config's ``report:`` fields)."""

    n_boot: int = 2000
    level: float = 0.95
    method: str = "percentile"
    alpha: float = 0.05
    n_perm: int = 10000
    seed: int = 0

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> StatsOptions:
        """From a run's ``config.yaml`` as a dict (defaults where absent)."""
        rep = cfg.get("report") if isinstance(cfg.get("report"), dict) else {}
        return cls(
            n_boot=int(rep.get("n_boot", 2000)),
            level=float(rep.get("level", 0.95)),
            method=str(rep.get("ci", "percentile")),
            alpha=float(rep.get("alpha", 0.05)),
            seed=int(cfg.get("seed", 0) or 0),
        )


@dataclass
class Panel:
    """The cells of one pool x protocol task, on a common subject index and class index."""

    key: dict[str, str]
    clusters: np.ndarray  # (S,) cluster ids "source_dataset/subject"
    classes: list[str]
    weights: np.ndarray  # (B, S) bootstrap counts, shared by every cell
    cells: dict[tuple, pd.DataFrame] = field(default_factory=dict)  # (res, sr, mer) -> rows
    confusions: dict[tuple, np.ndarray] = field(default_factory=dict)  # -> (S, K, K)
    replicates: dict[tuple, dict[str, np.ndarray]] = field(default_factory=dict)  # -> metric (B,)

    def cell_arrays(self, cell: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(y_true, y_pred, cluster index)`` int arrays of one cell, sorted by clip."""
        d = self.cells[cell]
        idx = {c: i for i, c in enumerate(self.classes)}
        cl = {c: i for i, c in enumerate(self.clusters)}
        return (
            d["y_true"].astype(str).map(idx).to_numpy(),
            d["y_pred"].astype(str).map(idx).to_numpy(),
            d["_cluster"].map(cl).to_numpy(),
        )


def _with_keys(pred: pd.DataFrame) -> pd.DataFrame:
    p = pred.copy()
    for k in PANEL_KEYS:
        if k not in p.columns:  # runs written before the protocols: one LOSO task per dataset
            p[k] = p["dataset"] if k != "protocol" else "loso"
    src = p["source_dataset"] if "source_dataset" in p.columns else p["dataset"]
    p["_cluster"] = src.astype(str) + "/" + p["subject"].astype(str)
    p["_clip"] = p["_cluster"] + "/" + p["clip"].astype(str)
    p["resolution"] = p["resolution"].astype(int)
    for k in ("sr", "mer", *PANEL_KEYS):
        p[k] = p[k].astype(str)
    return p


def panels(predictions: pd.DataFrame, opts: StatsOptions) -> Iterator[Panel]:
    """Every panel of a run's ``predictions.csv`` with its cells' bootstrap replicates."""
    from srmer.eval.bootstrap import bootstrap_metrics, bootstrap_weights

    p = _with_keys(predictions)
    for key, part in p.groupby(list(PANEL_KEYS), sort=False):
        clusters = np.array(sorted(part["_cluster"].unique()))
        classes = sorted(set(part["y_true"].astype(str)) | set(part["y_pred"].astype(str)))
        panel = Panel(
            dict(zip(PANEL_KEYS, key, strict=True)),
            clusters,
            classes,
            bootstrap_weights(len(clusters), opts.n_boot, opts.seed),
        )
        k = len(classes)
        for cell, rows in part.groupby(list(CELL), sort=False):
            rows = rows.sort_values("_clip")
            panel.cells[cell] = rows
            t, pr, c = panel.cell_arrays(cell)
            conf = np.zeros((len(clusters), k, k), np.int64)
            np.add.at(conf, (c, t, pr), 1)
            panel.confusions[cell] = conf
            panel.replicates[cell] = bootstrap_metrics(conf, panel.weights)
        yield panel


def add_intervals(
    results: pd.DataFrame, predictions: pd.DataFrame, opts: StatsOptions | None = None
) -> pd.DataFrame:
    """``results`` with ``war_lo, war_hi, uar_lo, uar_hi, uf1_lo, uf1_hi`` (subject bootstrap).

    Parameters
    ----------
    results : pandas.DataFrame
        ``results.csv`` rows (one per cell).
    predictions : pandas.DataFrame
        ``predictions.csv``: one row per cell and test clip (``y_true``, ``y_pred``, ``subject``).
    opts : StatsOptions, optional
        Resamples (default 2000), level (0.95), interval method (percentile or BCa), seed.

    Returns
    -------
    pandas.DataFrame
        A copy of ``results``; rows without predictions get NaN bounds.
    """
    from srmer.eval.bootstrap import interval, jackknife_metrics, metrics_from_confusion

    opts = opts or StatsOptions()
    out = results.copy()
    for m in METRICS:
        out[f"{m}_lo"] = np.nan
        out[f"{m}_hi"] = np.nan
    if predictions is None or predictions.empty:
        return out
    keyed = _with_keys(out.assign(subject="", clip=""))
    for panel in panels(predictions, opts):
        mask = np.ones(len(out), bool)
        for k, v in panel.key.items():
            mask &= keyed[k].to_numpy() == v
        for cell, reps in panel.replicates.items():
            m_row = (
                mask
                & (keyed["resolution"].to_numpy() == int(cell[0]))
                & (keyed["sr"].to_numpy() == str(cell[1]))
                & (keyed["mer"].to_numpy() == str(cell[2]))
            )
            if not m_row.any():
                continue
            conf = panel.confusions[cell]
            est = metrics_from_confusion(conf.sum(axis=0))
            jack = jackknife_metrics(conf) if opts.method == "bca" else None
            for m in METRICS:
                lo, hi = interval(
                    reps[m],
                    float(est[m]),
                    level=opts.level,
                    method=opts.method,
                    jackknife=None if jack is None else jack[m],
                )
                out.loc[m_row, f"{m}_lo"] = lo
                out.loc[m_row, f"{m}_hi"] = hi
    return out


def mean_interval(
    panel: Panel, cells: list[tuple], metric: str, level: float
) -> tuple[float, float]:
    """Interval of the mean of ``metric`` over ``cells`` of one panel (same subject resamples)."""
    from srmer.eval.bootstrap import interval

    reps = np.mean([panel.replicates[c][metric] for c in cells], axis=0)
    return interval(reps, float(np.mean(reps)), level=level)


# -------------------------------------------------------------------------------- comparisons
#: options that make an SR entry "trained for recognition" (its twin has none of them)
RECOGNITION_OPTIONS = (
    "loss",
    "task_mode",
    "task_steps",
    "task_lr",
    "task_batch",
    "task_epochs",
    "label",
)


def sr_twins(sr_entries: Iterable[Any]) -> dict[str, str]:
    """Each SR entry trained with a recognition loss -> its pixel-loss twin's label.

    The twin is the entry of the same method with the same options except the loss and the
    task-driven options (:data:`RECOGNITION_OPTIONS`) and no non-pixel loss term itself, e.g.
    ``{name: srcnn, steps: 300, loss: {pixel: 1, motion: 0.1}}`` -> ``{name: srcnn, steps: 300}``.

    Parameters
    ----------
    sr_entries : iterable
        The config's ``sr:`` entries (names, mappings or :class:`~srmer.bench.config.MethodSpec`).

    Returns
    -------
    dict
        SR label -> twin label (entries without a twin in the run are left out).
    """
    from srmer.bench.config import MethodSpec

    specs = [e if isinstance(e, MethodSpec) else MethodSpec.model_validate(e) for e in sr_entries]

    def plain(spec: MethodSpec) -> bool:
        loss = spec.options.get("loss") or {}
        return not any(float(v) for k, v in loss.items() if k != "pixel")

    def core(spec: MethodSpec) -> str:
        rest = {k: v for k, v in spec.options.items() if k not in RECOGNITION_OPTIONS}
        return repr((spec.name, sorted(rest.items(), key=lambda kv: kv[0])))

    twins_of = {core(s): s.label for s in specs if plain(s)}
    return {
        s.label: twins_of[core(s)]
        for s in specs
        if not plain(s) and core(s) in twins_of and twins_of[core(s)] != s.label
    }


def _pairs(panel: Panel, twins: dict[str, str] | None = None) -> Iterator[tuple[tuple, tuple]]:
    """(SR cell, baseline cell) pairs, same resolution and MER: each SR method against none and
    bicubic, and each SR method trained for recognition against its pixel-loss twin (``twins``)."""
    by = {}
    for res, sr, mer in panel.cells:
        by.setdefault((res, mer), []).append(sr)
    for (res, mer), srs in by.items():
        for base in ("none", "bicubic"):
            if base not in srs:
                continue
            for sr in srs:
                if sr in ("none", base):
                    continue
                yield (res, sr, mer), (res, base, mer)
        for sr in srs:
            twin = (twins or {}).get(sr)
            if twin in srs:
                yield (res, sr, mer), (res, twin, mer)


def _paired(panel: Panel, a: tuple, b: tuple, metric: str, opts: StatsOptions) -> dict | None:
    """Paired statistics of cell ``a`` minus cell ``b`` of one panel (None: different clips)."""
    from srmer.eval.bootstrap import interval, metrics_from_confusion
    from srmer.eval.paired import detectable_difference, mcnemar_exact, sign_flip_test

    ta, pa, ca = panel.cell_arrays(a)
    tb, pb, _ = panel.cell_arrays(b)
    if not np.array_equal(panel.cells[a]["_clip"].to_numpy(), panel.cells[b]["_clip"].to_numpy()):
        return None
    n_a, n_c, p_mc = mcnemar_exact(pa == ta, pb == tb)
    p_perm = float("nan")
    if metric != "war":
        _, p_perm = sign_flip_test(
            ta, pa, pb, ca, len(panel.classes), metric, opts.n_perm, opts.seed
        )
    reps = panel.replicates[a][metric] - panel.replicates[b][metric]
    sa = float(metrics_from_confusion(panel.confusions[a].sum(0))[metric])
    sb = float(metrics_from_confusion(panel.confusions[b].sum(0))[metric])
    lo, hi = interval(reps, sa - sb, level=opts.level)
    return {
        "a": sa,
        "b": sb,
        "diff": sa - sb,
        "lo": lo,
        "hi": hi,
        "n_clips": len(ta),
        "n_subjects": len(np.unique(ca)),
        "discordant": f"{n_a}/{n_c}",
        "p_mcnemar": p_mc,
        "p_perm": p_perm,
        "p": p_mc if metric == "war" else p_perm,
        "detectable": detectable_difference(reps - np.mean(reps), opts.alpha),
    }


def compare_cells(
    predictions: pd.DataFrame,
    a: dict[str, Any],
    b: dict[str, Any],
    metric: str = "war",
    opts: StatsOptions | None = None,
    **panel: str,
) -> dict[str, Any]:
    """Any two cells of a run on the same clips: ``a`` minus ``b`` with its paired statistics.

    Parameters
    ----------
    predictions : pandas.DataFrame
        ``predictions.csv`` of a run (or of ``srmer compare``).
    a, b : dict
        ``{"resolution": 64, "sr": "edsr", "mer": "lbptop"}``; usually they differ in one factor.
    metric : {"war", "uar", "uf1"}
    **panel : str
        ``dataset``, ``protocol``, ``train_datasets``, ``test_dataset`` when the run has several.

    Returns
    -------
    dict
        ``a``, ``b``, ``diff``, ``lo``, ``hi`` (paired subject bootstrap), ``p_mcnemar``, ``p_perm``
        (UAR/UF1 only), ``p``, ``detectable``, ``verdict`` (uncorrected: correct several
        comparisons with :func:`srmer.eval.paired.holm`).

    Raises
    ------
    SrmerError
        A cell is not in the predictions, or the two cells were not tested on the same clips.
    """
    from srmer.errors import SrmerError
    from srmer.eval.paired import verdict

    opts = opts or StatsOptions()
    ca = (int(a["resolution"]), str(a["sr"]), str(a["mer"]))
    cb = (int(b["resolution"]), str(b["sr"]), str(b["mer"]))
    for p in panels(predictions, opts):
        if any(str(v) != p.key[k] for k, v in panel.items()):
            continue
        missing = [c for c in (ca, cb) if c not in p.cells]
        if missing:
            continue
        out = _paired(p, ca, cb, metric, opts)
        if out is None:
            raise SrmerError(f"cells {ca} and {cb} were not tested on the same clips")
        out["verdict"] = verdict(out["diff"], out["lo"], out["hi"], out["p"], opts.alpha)
        return {**p.key, **out}
    raise SrmerError(
        f"no panel of the predictions holds both cells {ca} and {cb} (resolution, sr, mer)"
        + (f" with {panel}" if panel else "")
    )


def sr_comparisons(
    predictions: pd.DataFrame,
    metric: str = "war",
    opts: StatsOptions | None = None,
    reference: set | None = None,
    panels_: list[Panel] | None = None,
    twins: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Each SR method against ``none`` and ``bicubic`` (and its pixel-loss twin) on the same clips,
    per panel.

    Parameters
    ----------
    predictions : pandas.DataFrame
        ``predictions.csv`` of a run.
    metric : {"war", "uar", "uf1"}
        The difference reported and tested: McNemar's exact test on per-clip correctness for WAR,
        the subject-level sign-flip permutation test for UAR and UF1 (both p-values are given).
    reference : set of (resolution, sr), optional
        Settings to leave out (the HR reference rows).
    panels_ : list of Panel, optional
        :func:`panels` of ``predictions`` with the same ``opts``, when the caller already has them
        (the report draws its error bars from the same resamples).
    twins : dict, optional
        SR label -> label of its pixel-loss twin (:func:`sr_twins`): those pairs are compared too
        (``baseline`` is then the twin's label).

    Returns
    -------
    pandas.DataFrame
        One row per comparison: panel keys, ``resolution``, ``mer``, ``sr``, ``baseline``,
        ``metric``, ``a`` and ``b`` (the two scores), ``diff`` with ``lo``/``hi`` (paired subject
        bootstrap), ``n_clips``, ``n_subjects``, ``discordant`` (b, c), ``p_mcnemar``, ``p_perm``,
        ``p`` (the test of ``metric``), ``p_holm`` (Holm over the panel's comparisons),
        ``detectable`` (smallest difference detected at 80% power) and ``verdict``.
    """
    from srmer.eval.paired import holm, verdict

    opts = opts or StatsOptions()
    reference = reference or set()
    rows = []
    for panel in panels_ if panels_ is not None else panels(predictions, opts):
        start = len(rows)
        for a, b in _pairs(panel, twins):
            if (a[0], a[1]) in reference or (b[0], b[1]) in reference:
                continue
            stats_ab = _paired(panel, a, b, metric, opts)
            if stats_ab is None:  # not the same clips: a paired test would be wrong
                continue
            rows.append(
                {
                    **panel.key,
                    "resolution": int(a[0]),
                    "mer": a[2],
                    "sr": a[1],
                    "baseline": b[1],
                    "metric": metric,
                    **stats_ab,
                }
            )
        if len(rows) > start:
            adj = holm(np.array([r["p"] for r in rows[start:]], float))
            for r, q in zip(rows[start:], adj, strict=True):
                r["p_holm"] = float(q)
                r["verdict"] = verdict(r["diff"], r["lo"], r["hi"], r["p_holm"], opts.alpha)
    cols = [*PANEL_KEYS, "resolution", "mer", "sr", "baseline", "metric", "a", "b", "diff", "lo",
            "hi", "n_clips", "n_subjects", "discordant", "p_mcnemar", "p_perm", "p", "p_holm",
            "detectable", "verdict"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)
