"""Subject-level (cluster) bootstrap intervals for the pooled MER metrics WAR, UAR and UF1.

MER benchmarks pool the predictions of every LOSO fold and report one WAR / UAR / UF1 number
(:mod:`srmer.eval.metrics`). The clips of one subject are not independent draws: they share a face,
a recording session and often the same few emotions, so a recogniser is right or wrong on them
together. Resampling clips as if they were independent therefore makes intervals far too narrow.
This module resamples **subjects** with replacement (a cluster bootstrap) instead: every replicate
keeps all clips of each drawn subject, and the metric is recomputed on the pooled counts of the
replicate, exactly as the benchmark pools folds.

Everything is vectorised through per-subject confusion matrices: a replicate is a vector of subject
multiplicities ``w`` (``W[b]``), its pooled confusion matrix is ``sum_s w_s C_s`` and every metric is
a function of a pooled confusion matrix (:func:`metrics_from_confusion`), so ``B`` replicates cost
one ``(B, S) @ (S, K*K)`` product.

What the interval means, and when to trust it
--------------------------------------------
A 95 % interval from :func:`cluster_bootstrap` is meant to cover, in 95 % of repeated studies, the
metric the recogniser would reach on the *population of subjects* the dataset's subjects were drawn
from (with a similar number of clips each). It assumes that

* subjects are exchangeable (independent draws from one population of subjects) -- clips within a
  subject may be arbitrarily dependent;
* there are enough subjects. The bootstrap distribution is a plug-in estimate of the between-subject
  variability; with few subjects (say fewer than 15-20; SMIC-HS has 16, SAMM 28-32, CASME II 26)
  percentile intervals are **too narrow** and under-cover, and BCa only partly repairs that. Read
  them as optimistic in that regime.

The intervals do not account for the variance of training (seeds, LOSO model refits): they treat
the pooled predictions as fixed given the subjects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = [
    "METRICS",
    "bootstrap_metrics",
    "bootstrap_weights",
    "cluster_bootstrap",
    "interval",
    "jackknife_metrics",
    "metrics_from_confusion",
    "subject_confusions",
]

#: Metric names returned by :func:`metrics_from_confusion`, in reporting order.
METRICS: tuple[str, ...] = ("war", "uar", "uf1")


def subject_confusions(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    subjects: Sequence | np.ndarray,
    n_classes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject confusion counts.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted class indices in ``[0, n_classes)``, pooled over folds.
    subjects : array_like, shape (N,)
        Subject id of each clip (any sortable dtype: int or str).
    n_classes : int
        Number of classes ``K``.

    Returns
    -------
    ids : np.ndarray, shape (S,)
        Sorted unique subject ids.
    C : np.ndarray of int64, shape (S, K, K)
        ``C[s, i, j]`` = number of clips of subject ``ids[s]`` with true class ``i`` predicted as
        ``j`` (rows true, columns predicted, as :func:`srmer.eval.metrics.confusion`).

    Raises
    ------
    ValueError
        On length mismatch, empty input or labels outside ``[0, n_classes)``.
    """
    yt = np.asarray(y_true)
    yp = np.asarray(y_pred)
    subj = np.asarray(subjects)
    if not (yt.shape == yp.shape == subj.shape) or yt.ndim != 1:
        raise ValueError(
            f"y_true, y_pred and subjects must be 1-D of one length, got shapes "
            f"{yt.shape}, {yp.shape}, {subj.shape}"
        )
    if yt.size == 0:
        raise ValueError("subject_confusions() needs at least one clip")
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    for name, arr in (("y_true", yt), ("y_pred", yp)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
        if arr.min() < 0 or arr.max() >= n_classes:
            raise ValueError(f"{name} has labels outside [0, {n_classes})")
    ids, inv = np.unique(subj, return_inverse=True)
    C = np.zeros((ids.size, n_classes, n_classes), dtype=np.int64)
    # unbuffered add: several clips of a subject can land in the same cell
    np.add.at(C, (inv.ravel(), yt, yp), 1)
    return ids, C


def metrics_from_confusion(C: np.ndarray) -> dict[str, np.ndarray]:
    """WAR, UAR and UF1 of (a batch of) pooled confusion matrices.

    Same conventions as :func:`srmer.eval.metrics.all_metrics` with ``labels=None``: UAR and UF1
    average over the classes *present* in the ground truth, i.e. with a non-zero row sum in the
    matrix at hand (a class that a bootstrap replicate happens not to contain drops out of that
    replicate's average, as it would on a dataset without it).

    Parameters
    ----------
    C : array_like of int or float, shape (..., K, K)
        Confusion counts, rows true and columns predicted; any leading batch dimensions.

    Returns
    -------
    dict
        ``{"war", "uar", "uf1"}``, each a float64 array of shape ``C.shape[:-2]`` with values in
        ``[0, 1]``; NaN where the matrix is empty (no clip).
    """
    C = np.asarray(C)
    if C.ndim < 2 or C.shape[-1] != C.shape[-2]:
        raise ValueError(f"C must have shape (..., K, K), got {C.shape}")
    C = C.astype(np.float64, copy=False)
    tp = np.diagonal(C, axis1=-2, axis2=-1)  # (..., K)
    row = C.sum(axis=-1)  # clips per true class
    col = C.sum(axis=-2)  # clips per predicted class
    n = row.sum(axis=-1)
    present = row > 0
    n_present = present.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        war = tp.sum(axis=-1) / n
        # absent classes contribute an exact 0.0 to the sums, so the numbers match the
        # list-based reference bit for bit for small K
        recall = np.where(present, tp / np.where(present, row, 1.0), 0.0)
        uar = recall.sum(axis=-1) / n_present
        # 2TP + FP + FN = row + col; 0 when the class is neither true nor predicted
        denom = row + col
        f1 = np.where(denom > 0, 2.0 * tp / np.where(denom > 0, denom, 1.0), 0.0)
        uf1 = np.where(present, f1, 0.0).sum(axis=-1) / n_present
    return {
        "war": np.asarray(war, dtype=np.float64),
        "uar": np.asarray(uar, dtype=np.float64),
        "uf1": np.asarray(uf1, dtype=np.float64),
    }


def bootstrap_weights(n_subjects: int, n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """Subject multiplicities of ``n_boot`` cluster-bootstrap replicates.

    Replicate ``b`` draws ``n_subjects`` subjects with replacement; ``W[b, s]`` is how often subject
    ``s`` was drawn (a multinomial count). Reuse one ``W`` for several methods evaluated on the same
    subjects to get a *paired* bootstrap.

    Parameters
    ----------
    n_subjects : int
        Number of subjects ``S`` (>= 1).
    n_boot : int
        Number of replicates ``B`` (>= 1).
    seed : int
        Seed of ``np.random.default_rng``.

    Returns
    -------
    np.ndarray of int64, shape (B, S)
        Non-negative counts, every row sums to ``S``.
    """
    if n_subjects < 1 or n_boot < 1:
        raise ValueError(f"need n_subjects >= 1 and n_boot >= 1, got {n_subjects}, {n_boot}")
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_subjects, np.full(n_subjects, 1.0 / n_subjects), size=n_boot).astype(
        np.int64
    )


def _pool(C: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``einsum("bs,skl->bkl", W, C)`` as one integer matrix product (B, K, K)."""
    C = np.asarray(C)
    W = np.asarray(W)
    if C.ndim != 3 or W.ndim != 2 or W.shape[1] != C.shape[0]:
        raise ValueError(f"W must be (B, S) and C (S, K, K), got {W.shape} and {C.shape}")
    S, K, _ = C.shape
    # integer matmul keeps the counts exact; reshaping to (S, K*K) avoids einsum's slow path
    return (W @ C.reshape(S, K * K)).reshape(W.shape[0], K, K)


def bootstrap_metrics(C: np.ndarray, W: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics of every cluster-bootstrap replicate.

    Parameters
    ----------
    C : np.ndarray of int, shape (S, K, K)
        Per-subject confusion counts (:func:`subject_confusions`).
    W : np.ndarray of int, shape (B, S)
        Subject multiplicities (:func:`bootstrap_weights`).

    Returns
    -------
    dict
        ``{"war", "uar", "uf1"}``, each float64 of shape (B,): the metric of the pooled confusion
        matrix ``sum_s W[b, s] C[s]`` of each replicate.
    """
    return metrics_from_confusion(_pool(C, W))


def jackknife_metrics(C: np.ndarray) -> dict[str, np.ndarray]:
    """Leave-one-subject-out metrics (for the BCa acceleration).

    Parameters
    ----------
    C : np.ndarray of int, shape (S, K, K)
        Per-subject confusion counts.

    Returns
    -------
    dict
        ``{"war", "uar", "uf1"}``, each float64 of shape (S,): entry ``s`` is the metric of the
        pooled counts of all subjects but ``s`` (NaN if that leaves no clip).
    """
    C = np.asarray(C)
    if C.ndim != 3:
        raise ValueError(f"C must have shape (S, K, K), got {C.shape}")
    # the jackknife unit must be the bootstrap's resampling unit (the subject), else the
    # acceleration measures the skewness of the wrong sampling scheme
    return metrics_from_confusion(C.sum(axis=0, keepdims=True) - C)


def _bca_levels(
    reps: np.ndarray, estimate: float, jack: np.ndarray, level: float
) -> tuple[float, float]:
    """BCa-adjusted lower/upper quantile levels (Efron & Tibshirani 1993, eq. 14.10, 14.15)."""
    # bias correction: fraction of replicates below the estimate, ties counted half (the
    # metrics are ratios of small counts, so exact ties with the estimate are common)
    frac = (np.count_nonzero(reps < estimate) + np.count_nonzero(reps <= estimate)) / (
        2.0 * reps.size
    )
    if frac <= 0.0 or frac >= 1.0:
        # every replicate on one side of the estimate: the bias correction is infinite
        return (float("nan"), float("nan"))
    z0 = float(ndtri(frac))
    jack = jack[np.isfinite(jack)]
    d = jack.mean() - jack if jack.size else np.zeros(0)
    ss = float(np.sum(d**2))
    # a constant jackknife (e.g. a perfect recogniser) carries no skewness information
    a = float(np.sum(d**3)) / (6.0 * ss**1.5) if ss > 0 else 0.0
    z = ndtri(np.array([(1.0 - level) / 2.0, (1.0 + level) / 2.0]))
    num = z0 + z
    levels = ndtr(z0 + num / (1.0 - a * num))
    return float(levels[0]), float(levels[1])


def interval(
    replicates: np.ndarray,
    estimate: float | None = None,
    level: float = 0.95,
    method: Literal["percentile", "bca"] = "percentile",
    jackknife: np.ndarray | None = None,
) -> tuple[float, float]:
    """Bootstrap confidence interval from replicates.

    Parameters
    ----------
    replicates : array_like of float, shape (B,)
        Bootstrap replicates of the statistic; NaN entries (undefined replicates) are dropped.
    estimate : float, optional
        The statistic on the original data; required for ``method="bca"``.
    level : float
        Coverage level in (0, 1).
    method : {"percentile", "bca"}
        ``"percentile"``: the ``(1-level)/2`` and ``(1+level)/2`` quantiles of the replicates.
        ``"bca"``: bias-corrected and accelerated percentile interval; the bias correction comes
        from the share of replicates below ``estimate``, the acceleration from ``jackknife``.
    jackknife : array_like of float, shape (S,), optional
        Leave-one-*subject*-out values of the statistic (:func:`jackknife_metrics`); required for
        ``method="bca"``. For a cluster bootstrap it must leave out whole subjects.

    Returns
    -------
    (lo, hi) : tuple of float
        Interval bounds (linear-interpolated quantiles); ``(nan, nan)`` when no replicate is finite,
        or for BCa when every replicate lies on one side of the estimate (BCa is undefined there).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    reps = np.asarray(replicates, dtype=np.float64).ravel()
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return (float("nan"), float("nan"))
    if method == "percentile":
        q = ((1.0 - level) / 2.0, (1.0 + level) / 2.0)
    elif method == "bca":
        if estimate is None or jackknife is None:
            raise ValueError("method='bca' needs both estimate and jackknife")
        if not np.isfinite(estimate):
            return (float("nan"), float("nan"))
        q = _bca_levels(reps, float(estimate), np.asarray(jackknife, dtype=np.float64), level)
        if not all(np.isfinite(q)):
            return (float("nan"), float("nan"))
    else:
        raise ValueError(f"method must be 'percentile' or 'bca', got {method!r}")
    lo, hi = np.quantile(reps, q)
    return (float(lo), float(hi))


def cluster_bootstrap(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    subjects: Sequence | np.ndarray,
    n_classes: int,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    method: Literal["percentile", "bca"] = "percentile",
) -> dict[str, tuple[float, float, float]]:
    """Pooled WAR / UAR / UF1 with subject-bootstrap confidence intervals.

    Subjects are resampled with replacement (all clips of a drawn subject come along), because the
    clips of one subject are not independent; see the module docstring for what the interval means
    and why it is too narrow with few subjects.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted class indices in ``[0, n_classes)``, pooled over LOSO folds.
    subjects : array_like, shape (N,)
        Subject id of each clip.
    n_classes : int
        Number of classes ``K``.
    n_boot : int
        Number of bootstrap replicates.
    level : float
        Coverage level in (0, 1).
    seed : int
        Seed of the subject resampling.
    method : {"percentile", "bca"}
        Interval type (:func:`interval`); BCa uses a leave-one-subject-out jackknife.

    Returns
    -------
    dict
        ``{metric: (estimate, lo, hi)}`` for ``metric`` in ``("war", "uar", "uf1")``; floats in
        ``[0, 1]`` (bounds NaN where undefined).
    """
    _, C = subject_confusions(y_true, y_pred, subjects, n_classes)
    est = metrics_from_confusion(C.sum(axis=0))
    reps = bootstrap_metrics(C, bootstrap_weights(C.shape[0], n_boot, seed))
    jack = jackknife_metrics(C) if method == "bca" else None
    out: dict[str, tuple[float, float, float]] = {}
    for m in METRICS:
        e = float(est[m])
        lo, hi = interval(reps[m], e, level, method, None if jack is None else jack[m])
        out[m] = (e, lo, hi)
    return out
