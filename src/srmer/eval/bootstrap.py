"""Cluster (subject-level) bootstrap of the pooled MER metrics WAR, UAR and UF1.

The clips of one subject are not independent (a recogniser that fails on a person fails on most of
that person's clips), so intervals resample *subjects* with replacement and recompute the pooled
metric from the resampled subjects' confusion counts, exactly as :mod:`srmer.eval.metrics` computes it
(counts pooled before averaging over the classes present in ``y_true``).

Assumption: subjects are exchangeable and there are enough of them; with fewer than about 10
subjects the intervals are too narrow (a resample cannot show more variety than the few people it
draws from).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

METRICS = ("war", "uar", "uf1")


def subject_confusions(
    y_true: Sequence[int], y_pred: Sequence[int], subjects: Sequence, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject confusion counts.

    Returns
    -------
    (subjects, C) : ndarray (S,), int64 ndarray (S, K, K)
        Sorted unique subjects and their confusion matrices (rows true, columns predicted).
    """
    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    uniq, idx = np.unique(np.asarray(subjects).astype(str), return_inverse=True)
    conf = np.zeros((len(uniq), n_classes, n_classes), np.int64)
    np.add.at(conf, (idx, y_true, y_pred), 1)
    return uniq, conf


def metrics_from_confusion(conf: np.ndarray) -> dict[str, np.ndarray]:
    """WAR, UAR and UF1 of pooled confusion matrices ``(..., K, K)``; arrays of shape ``(...)``.

    Classes count when present in the true labels (row sum > 0), as :func:`srmer.eval.metrics.uar`
    and :func:`~srmer.eval.metrics.uf1` count them; values in [0, 1], NaN for an empty matrix.
    """
    conf = np.asarray(conf, float)
    tp = np.diagonal(conf, axis1=-2, axis2=-1)
    rows, cols = conf.sum(-1), conf.sum(-2)
    n = rows.sum(-1)
    present = rows > 0
    k = present.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        war = tp.sum(-1) / n
        recall = np.where(present, tp / np.where(present, rows, 1), 0.0)
        uar = recall.sum(-1) / k
        denom = 2 * tp + (cols - tp) + (rows - tp)
        f1 = np.where(present & (denom > 0), 2 * tp / np.where(denom > 0, denom, 1), 0.0)
        uf1 = f1.sum(-1) / k
    return {"war": war, "uar": uar, "uf1": uf1}


def bootstrap_weights(n_subjects: int, n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """``(B, S)`` int: how often each subject is drawn in each of ``n_boot`` cluster resamples."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_subjects, np.full(n_subjects, 1.0 / n_subjects), size=n_boot)


def bootstrap_metrics(conf: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Metric replicates ``(B,)`` from per-subject confusions ``(S, K, K)`` and weights ``(B, S)``."""
    pooled = np.einsum("bs,skl->bkl", weights.astype(float), conf.astype(float))
    return metrics_from_confusion(pooled)


def jackknife_metrics(conf: np.ndarray) -> dict[str, np.ndarray]:
    """Leave-one-subject-out metrics ``(S,)`` (for the BCa acceleration)."""
    total = conf.sum(axis=0)
    return metrics_from_confusion(total[None] - conf)


def interval(
    replicates: np.ndarray,
    estimate: float | None = None,
    level: float = 0.95,
    method: str = "percentile",
    jackknife: np.ndarray | None = None,
) -> tuple[float, float]:
    """``(lo, hi)`` bootstrap interval at ``level`` from ``replicates`` (NaNs ignored).

    ``method="bca"`` (Efron 1987) needs ``estimate`` and the ``jackknife`` values; it falls back to
    the percentile interval when either is missing or degenerate.
    """
    r = np.asarray(replicates, float)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    qs = [a, 1 - a]
    if method == "bca" and estimate is not None and jackknife is not None:
        frac = np.mean(r < estimate) + 0.5 * np.mean(r == estimate)
        jk = np.asarray(jackknife, float)
        jk = jk[np.isfinite(jk)]
        d = jk.mean() - jk if jk.size else np.zeros(0)
        den = 6 * (np.sum(d**2) ** 1.5) if d.size else 0.0
        if 0 < frac < 1 and den > 0:
            z0 = stats.norm.ppf(frac)
            acc = np.sum(d**3) / den
            z = stats.norm.ppf(qs)
            qs = list(stats.norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z))))
    lo, hi = np.quantile(r, qs)
    return float(lo), float(hi)


def cluster_bootstrap(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    subjects: Sequence,
    n_classes: int,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    method: str = "percentile",
) -> dict[str, tuple[float, float, float]]:
    """``{metric: (estimate, lo, hi)}`` for WAR, UAR and UF1 by resampling subjects.

    Parameters
    ----------
    y_true, y_pred : sequence of int, shape (N,)
        Labels in ``[0, n_classes)``, predictions pooled over folds.
    subjects : sequence, shape (N,)
        Subject (cluster) of each clip.
    n_boot, level, seed, method
        Resamples, confidence level, seed, ``percentile`` or ``bca``.
    """
    _, conf = subject_confusions(y_true, y_pred, subjects, n_classes)
    reps = bootstrap_metrics(conf, bootstrap_weights(len(conf), n_boot, seed))
    est = metrics_from_confusion(conf.sum(0))
    jack = jackknife_metrics(conf) if method == "bca" else None
    return {
        m: (
            float(est[m]),
            *interval(reps[m], float(est[m]), level, method, None if jack is None else jack[m]),
        )
        for m in METRICS
    }
