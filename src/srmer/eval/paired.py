"""Paired comparisons of two methods evaluated on the same clips.

* :func:`mcnemar_exact`: exact McNemar test on per-clip correctness (the test of a WAR difference;
  it treats clips as independent).
* :func:`sign_flip_test`: subject-level sign-flip permutation test of a pooled-metric difference
  (UAR, UF1 or WAR): under H0 the two methods are exchangeable within a subject, so swapping their
  predictions for all clips of any set of subjects leaves the difference's distribution unchanged.
* :func:`paired_difference`: the difference with a paired subject-bootstrap interval.
* :func:`holm`, :func:`detectable_difference`, :func:`verdict`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy import stats

from srmer.eval.bootstrap import interval, metrics_from_confusion, subject_confusions


def mcnemar_exact(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> tuple[int, int, float]:
    """Discordant counts (a right & b wrong, a wrong & b right) and the exact two-sided p-value."""
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    n01, n10 = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n = n01 + n10
    if n == 0:
        return n01, n10, 1.0
    p = min(1.0, 2 * stats.binom.cdf(min(n01, n10), n, 0.5))
    return n01, n10, float(p)


def sign_flip_test(
    y_true: Sequence[int],
    pred_a: Sequence[int],
    pred_b: Sequence[int],
    subjects: Sequence,
    n_classes: int,
    metric: str = "uar",
    n_perm: int = 10000,
    seed: int = 0,
) -> tuple[float, float]:
    """Observed ``metric(a) - metric(b)`` and its two-sided subject sign-flip p-value.

    All ``2**S`` swaps are enumerated when that is at most ``n_perm`` (exact p); otherwise
    ``n_perm`` random swaps give ``p = (1 + #{|d*| >= |d|}) / (1 + n_perm)``.
    """
    _, ca = subject_confusions(y_true, pred_a, subjects, n_classes)
    _, cb = subject_confusions(y_true, pred_b, subjects, n_classes)
    s = len(ca)
    d_obs = float(
        metrics_from_confusion(ca.sum(0))[metric] - metrics_from_confusion(cb.sum(0))[metric]
    )
    exact = 2**s <= n_perm
    if exact:
        flips = np.array(list(itertools.product((0, 1), repeat=s)), float)
    else:
        flips = np.random.default_rng(seed).integers(0, 2, size=(n_perm, s)).astype(float)
    fa = np.einsum("ps,skl->pkl", 1 - flips, ca) + np.einsum("ps,skl->pkl", flips, cb)
    fb = np.einsum("ps,skl->pkl", flips, ca) + np.einsum("ps,skl->pkl", 1 - flips, cb)
    d = metrics_from_confusion(fa)[metric] - metrics_from_confusion(fb)[metric]
    hits = np.sum(np.abs(d) >= abs(d_obs) - 1e-12)
    p = hits / len(d) if exact else (1 + hits) / (1 + len(d))
    return d_obs, float(min(1.0, p))


def paired_difference(
    y_true: Sequence[int],
    pred_a: Sequence[int],
    pred_b: Sequence[int],
    subjects: Sequence,
    n_classes: int,
    metric: str,
    weights: np.ndarray,
    level: float = 0.95,
) -> tuple[float, float, float, np.ndarray]:
    """``(diff, lo, hi, replicates)``: the same subject resamples ``weights (B, S)`` for both."""
    _, ca = subject_confusions(y_true, pred_a, subjects, n_classes)
    _, cb = subject_confusions(y_true, pred_b, subjects, n_classes)
    w = weights.astype(float)
    ra = metrics_from_confusion(np.einsum("bs,skl->bkl", w, ca))[metric]
    rb = metrics_from_confusion(np.einsum("bs,skl->bkl", w, cb))[metric]
    diff = float(
        metrics_from_confusion(ca.sum(0))[metric] - metrics_from_confusion(cb.sum(0))[metric]
    )
    reps = ra - rb
    lo, hi = interval(reps, diff, level)
    return diff, lo, hi, reps


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (NaNs stay NaN and are not counted)."""
    p = np.asarray(pvalues, float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def detectable_difference(
    null_replicates: np.ndarray, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest true difference detected with probability ``power`` by a two-sided level-``alpha``
    test, simulated from the bootstrap.

    The centred replicates ``D`` stand for the difference's sampling distribution under H0; the
    critical value is the ``1 - alpha`` quantile of ``|D|`` and the power at ``delta`` is
    ``P(|D + delta| > c)``. Assumes the spread does not depend on ``delta``. NaN without spread.
    """
    d = np.asarray(null_replicates, float)
    d = d[np.isfinite(d)]
    if d.size < 10 or np.ptp(d) == 0:
        return float("nan")
    d = d - d.mean()
    c = np.quantile(np.abs(d), 1 - alpha)

    def pw(delta: float) -> float:
        return float(np.mean(np.abs(d + delta) > c))

    lo, hi = 0.0, c + 4 * np.std(d) + 1e-9
    for _ in range(60):  # bisection: the power grows with delta
        mid = (lo + hi) / 2
        if pw(mid) >= power:
            hi = mid
        else:
            lo = mid
    return float(hi)


def verdict(diff: float, lo: float, hi: float, p_adjusted: float, alpha: float = 0.05) -> str:
    """Plain words: ``helps (+0.081 [+0.020, +0.140], p=0.012)``, ``hurts (...)`` or
    ``no detectable difference (...)``."""
    detail = f"({diff:+.3f} [{lo:+.3f}, {hi:+.3f}], p={p_adjusted:.3g})"
    if np.isfinite(p_adjusted) and p_adjusted < alpha:
        return ("helps " if diff > 0 else "hurts ") + detail
    return "no detectable difference " + detail
