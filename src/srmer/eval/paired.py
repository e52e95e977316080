"""Paired comparisons of two recognisers (or SR methods) evaluated on the SAME clips.

Two methods scored on the same clips are strongly correlated: the hard clips are hard for both.
Comparing their two separate confidence intervals wastes that pairing and misses real differences,
so every tool here works on the pair:

* :func:`mcnemar_exact` -- exact McNemar test on per-clip correctness. It is the classic test of a
  WAR difference but treats clips as independent, which they are not within a subject; prefer
  :func:`sign_flip_test` when subjects are known.
* :func:`sign_flip_test` -- subject-level sign-flip permutation test of a pooled-metric difference
  (WAR, UAR or UF1). Under H0 the two methods are exchangeable within a subject, so swapping their
  predictions on all clips of any set of subjects leaves the distribution of the pooled difference
  unchanged. Exact when all ``2**S`` swaps can be enumerated.
* :func:`paired_difference` -- the difference with a paired subject-bootstrap interval (one subject
  resample applied to both methods).
* :func:`holm` -- Holm step-down adjustment across the comparisons of a table.
* :func:`detectable_difference` -- the smallest difference the design could detect (a power
  statement that keeps a "no detectable difference" honest).
* :func:`verdict` -- the result in plain words.

All the subject-level tools share the assumption of :mod:`srmer.eval.bootstrap`: subjects are
exchangeable and numerous enough; with few subjects the bootstrap intervals are too narrow and the
sign-flip test has little resolution (its smallest possible p-value is ``2 / 2**S``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from statsmodels.stats.contingency_tables import mcnemar

from srmer.eval.bootstrap import (
    METRICS,
    bootstrap_metrics,
    interval,
    metrics_from_confusion,
    subject_confusions,
)

__all__ = [
    "detectable_difference",
    "holm",
    "mcnemar_exact",
    "paired_difference",
    "sign_flip_test",
    "verdict",
]

# Pooled differences recomputed from swapped matrices are equal to the observed one only up to
# rounding (different summation order); count |d*| >= |d| with this slack so ties are ties.
_TIE_EPS = 1e-12

# Swap patterns evaluated per batch in the sign-flip test: bounds memory at ~_BATCH * K * K floats.
_BATCH = 4096


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")


def mcnemar_exact(
    correct_a: Sequence[bool] | np.ndarray, correct_b: Sequence[bool] | np.ndarray
) -> tuple[int, int, float]:
    """Exact McNemar test of two methods' per-clip correctness.

    Parameters
    ----------
    correct_a, correct_b : array_like of bool, shape (N,)
        Whether method a / b classified each clip correctly (same clips, same order).

    Returns
    -------
    n_ab : int
        Clips where a is right and b wrong.
    n_ba : int
        Clips where a is wrong and b right.
    p : float in [0, 1]
        Exact two-sided p-value, ``min(1, 2 P(X <= min(n_ab, n_ba)))`` with
        ``X ~ Binomial(n_ab + n_ba, 1/2)``; 1 when there is no discordant clip.
    """
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"correct_a and correct_b must be 1-D of one length, got {a.shape}, {b.shape}"
        )
    n_ab = int(np.count_nonzero(a & ~b))
    n_ba = int(np.count_nonzero(~a & b))
    if n_ab + n_ba == 0:
        # no discordant pair: no evidence either way (statsmodels would return nan here)
        return n_ab, n_ba, 1.0
    n_both = int(np.count_nonzero(a & b))
    n_none = int(np.count_nonzero(~a & ~b))
    res = mcnemar([[n_both, n_ab], [n_ba, n_none]], exact=True)
    return n_ab, n_ba, float(min(1.0, res.pvalue))


def _swap_patterns(n_subjects: int, n_perm: int, seed: int) -> tuple[np.ndarray, bool]:
    """(P, S) 0/1 swap indicators: all 2**S patterns when affordable, else ``n_perm`` random ones."""
    if n_subjects < 63 and 2**n_subjects <= n_perm:
        codes = np.arange(2**n_subjects, dtype=np.int64)
        bits = (codes[:, None] >> np.arange(n_subjects, dtype=np.int64)) & 1
        return bits.astype(np.int64), True
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, size=(n_perm, n_subjects), dtype=np.int64), False


def sign_flip_test(
    y_true: Sequence[int] | np.ndarray,
    pred_a: Sequence[int] | np.ndarray,
    pred_b: Sequence[int] | np.ndarray,
    subjects: Sequence | np.ndarray,
    n_classes: int,
    metric: str = "uar",
    n_perm: int = 10000,
    seed: int = 0,
) -> tuple[float, float]:
    """Subject-level sign-flip permutation test of ``metric(a) - metric(b)``.

    Under H0 (the two methods are exchangeable within each subject) swapping a's and b's
    predictions on all clips of any set of subjects gives an equally likely dataset. The pooled
    difference is recomputed for every swap pattern; a swap only decides which side each subject's
    confusion matrix is pooled into, so this is one integer matrix product per batch of patterns.

    Parameters
    ----------
    y_true, pred_a, pred_b : array_like of int, shape (N,)
        Ground truth and the two methods' predictions on the same clips, classes in ``[0, K)``.
    subjects : array_like, shape (N,)
        Subject id of each clip.
    n_classes : int
        Number of classes ``K``.
    metric : {"war", "uar", "uf1"}
        Pooled metric whose difference is tested.
    n_perm : int
        Enumerate all ``2**S`` swaps when ``2**S <= n_perm`` (exact p-value, which includes the
        identity and the full swap, so it is at least ``2 / 2**S``); otherwise draw ``n_perm``
        random swaps and return ``p = (1 + #{|d*| >= |d|}) / (1 + n_perm)``.
    seed : int
        Seed of the random swaps (unused when exact).

    Returns
    -------
    diff : float in [-1, 1]
        Observed ``metric(a) - metric(b)`` on the pooled predictions.
    p : float in (0, 1]
        Two-sided p-value.
    """
    _check_metric(metric)
    if n_perm < 1:
        raise ValueError(f"n_perm must be >= 1, got {n_perm}")
    _, ca = subject_confusions(y_true, pred_a, subjects, n_classes)
    _, cb = subject_confusions(y_true, pred_b, subjects, n_classes)
    S, K, _ = ca.shape
    tot_a, tot_b = ca.sum(axis=0), cb.sum(axis=0)
    diff = float(metrics_from_confusion(tot_a)[metric] - metrics_from_confusion(tot_b)[metric])
    # swapping subject s moves (cb_s - ca_s) into side a and the opposite into side b
    delta = (cb - ca).reshape(S, K * K)
    flips, exact = _swap_patterns(S, n_perm, seed)
    hits = 0
    for start in range(0, flips.shape[0], _BATCH):
        moved = (flips[start : start + _BATCH] @ delta).reshape(-1, K, K)
        d = (
            metrics_from_confusion(tot_a + moved)[metric]
            - metrics_from_confusion(tot_b - moved)[metric]
        )
        hits += int(np.count_nonzero(np.abs(d) >= abs(diff) - _TIE_EPS))
    p = hits / flips.shape[0] if exact else (1 + hits) / (1 + flips.shape[0])
    return diff, float(min(1.0, p))


def paired_difference(
    y_true: Sequence[int] | np.ndarray,
    pred_a: Sequence[int] | np.ndarray,
    pred_b: Sequence[int] | np.ndarray,
    subjects: Sequence | np.ndarray,
    n_classes: int,
    metric: str,
    W: np.ndarray,
    level: float = 0.95,
) -> tuple[float, float, float, np.ndarray]:
    """Pooled metric difference with a paired subject-bootstrap percentile interval.

    The SAME subject resample ``W[b]`` is applied to both methods, so the between-subject variation
    they share cancels in the difference (a paired bootstrap); intervals are much narrower than
    combining two separate intervals when the methods are correlated.

    Parameters
    ----------
    y_true, pred_a, pred_b : array_like of int, shape (N,)
        Ground truth and the two methods' predictions on the same clips, classes in ``[0, K)``.
    subjects : array_like, shape (N,)
        Subject id of each clip.
    n_classes : int
        Number of classes ``K``.
    metric : {"war", "uar", "uf1"}
        Pooled metric.
    W : np.ndarray of int, shape (B, S)
        Subject multiplicities (:func:`srmer.eval.bootstrap.bootstrap_weights`), columns in sorted
        subject order.
    level : float
        Coverage level of the interval.

    Returns
    -------
    diff : float in [-1, 1]
        ``metric(a) - metric(b)`` on the pooled predictions.
    lo, hi : float
        Percentile interval of the replicates (NaN if none is defined).
    replicates : np.ndarray of float64, shape (B,)
        Bootstrap replicates of the difference (feed their spread to
        :func:`detectable_difference`).
    """
    _check_metric(metric)
    _, ca = subject_confusions(y_true, pred_a, subjects, n_classes)
    _, cb = subject_confusions(y_true, pred_b, subjects, n_classes)
    diff = float(
        metrics_from_confusion(ca.sum(axis=0))[metric]
        - metrics_from_confusion(cb.sum(axis=0))[metric]
    )
    reps = bootstrap_metrics(ca, W)[metric] - bootstrap_metrics(cb, W)[metric]
    lo, hi = interval(reps, diff, level, "percentile")
    return diff, lo, hi, reps


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values.

    Parameters
    ----------
    pvalues : array_like of float, shape (M,)
        Raw p-values in [0, 1]; NaN for comparisons that were not made.

    Returns
    -------
    np.ndarray of float64, shape (M,)
        Adjusted p-values in [0, 1], same order; NaN entries stay NaN and do not count towards the
        number of tests. Reject H0_i at family-wise level alpha iff ``adjusted[i] < alpha``.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"pvalues must be 1-D, got shape {p.shape}")
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    # the i-th smallest p is multiplied by (m - i); the running max enforces step-down monotonicity
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def detectable_difference(
    null_replicates: np.ndarray, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest true difference a two-sided level-``alpha`` test detects with probability ``power``.

    Simulated from the bootstrap: the replicates of a paired difference, centred at 0, stand for
    its sampling distribution ``D`` under H0. The critical value is ``c`` = the ``1 - alpha``
    quantile of ``|D|``, the power at a true difference ``delta`` is ``P(|D + delta| > c)`` over the
    replicates, and the result is the smallest ``delta >= 0`` whose power reaches ``power``. For a
    normal ``D`` with sd ``s`` that is about ``(z_{1-alpha/2} + z_power) s`` (2.80 s by default).

    Assumes the sampling spread of the difference does not depend on ``delta`` (a shift model):
    true for small differences, approximate for large ones where accuracies near 0 or 1 shrink it.

    Parameters
    ----------
    null_replicates : array_like of float, shape (B,)
        Bootstrap replicates of the difference (any centre; NaN entries are dropped).
    alpha : float
        Level of the two-sided test, in (0, 1).
    power : float
        Target power, in (0, 1).

    Returns
    -------
    float >= 0
        The detectable difference, in the metric's units; NaN with fewer than 2 finite replicates.
        Computed exactly over the replicates: ``power(delta)`` is a step function and the value
        returned is the step at which it first reaches ``power`` (the infimum of such ``delta``).
    """
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"alpha and power must be in (0, 1), got {alpha}, {power}")
    d = np.asarray(null_replicates, dtype=np.float64).ravel()
    d = d[np.isfinite(d)]
    if d.size < 2:
        return float("nan")
    d = np.sort(d - d.mean())
    c = float(np.quantile(np.abs(d), 1.0 - alpha))
    B = d.size
    # Right-continuous power: just above delta, D + delta > c  <=>  D >= c - delta, and the lower
    # tail D + delta < -c  <=>  D < -c - delta. Power only rises at delta = c - D_i, so the answer
    # is 0 or one of those steps; evaluate every candidate at once with searchsorted.
    cand = np.concatenate(([0.0], c - d[d <= c]))
    cand = np.unique(cand[cand >= 0.0])
    upper = B - np.searchsorted(d, c - cand, side="left")
    lower = np.searchsorted(d, -c - cand, side="left")
    pw = (upper + lower) / B
    reached = np.flatnonzero(pw >= power)
    # the largest candidate makes every D_i >= c - delta, so power 1 is reached in exact
    # arithmetic; rounding (c - (c - D_min) != D_min) can miss it by one step
    return float(cand[reached[0]] if reached.size else cand[-1] + np.spacing(cand[-1]))


def _fmt_p(p: float) -> str:
    if not np.isfinite(p):
        return "p=n/a"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def verdict(diff: float, lo: float, hi: float, p_adjusted: float, alpha: float = 0.05) -> str:
    """The outcome of a paired comparison in plain words.

    The decision is the (multiplicity-adjusted) test's: ``p_adjusted < alpha`` and ``diff > 0`` is
    "helps", ``diff < 0`` "hurts", anything else (including a NaN p) "no detectable difference".
    The interval is reported for size, not used for the decision.

    Parameters
    ----------
    diff : float
        Observed difference ``metric(a) - metric(b)`` (a = the method under test).
    lo, hi : float
        Its confidence interval.
    p_adjusted : float
        Adjusted p-value (e.g. :func:`holm` of :func:`sign_flip_test` p-values).
    alpha : float
        Family-wise level.

    Returns
    -------
    str
        E.g. ``"helps (+0.081 [0.020, 0.140], p=0.012)"``, ``"hurts (-0.050 [-0.090, -0.010],
        p=0.030)"`` or ``"no detectable difference (+0.010 [-0.030, 0.050], p=0.600)"``.
    """
    detail = f"({diff:+.3f} [{lo:.3f}, {hi:.3f}], {_fmt_p(p_adjusted)})"
    if np.isfinite(p_adjusted) and p_adjusted < alpha and diff != 0:
        return ("helps " if diff > 0 else "hurts ") + detail
    return "no detectable difference " + detail
