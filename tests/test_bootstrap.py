"""Subject-level bootstrap (srmer.eval.bootstrap) and paired comparisons (srmer.eval.paired)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from srmer.eval.bootstrap import (
    bootstrap_metrics,
    bootstrap_weights,
    cluster_bootstrap,
    interval,
    jackknife_metrics,
    metrics_from_confusion,
    subject_confusions,
)
from srmer.eval.metrics import all_metrics, confusion
from srmer.eval.paired import (
    detectable_difference,
    holm,
    mcnemar_exact,
    paired_difference,
    sign_flip_test,
    verdict,
)


def _random_preds(rng, n, k, acc, absent=None):
    """Labels in [0, k) (optionally never `absent` in y_true) and predictions right w.p. acc."""
    classes = [c for c in range(k) if c != absent]
    y = rng.choice(classes, size=n)
    right = rng.random(n) < acc
    wrong = (y + rng.integers(1, k, size=n)) % k
    return y, np.where(right, y, wrong)


def _dataset(rng, n_subj, n_clips, k, mu, sigma):
    """Clips with a subject random effect on the logit of the probability of being right."""
    p_s = expit(mu + sigma * rng.standard_normal(n_subj))
    subj = np.repeat(np.arange(n_subj), n_clips)
    y = rng.integers(0, k, size=subj.size)
    right = rng.random(subj.size) < p_s[subj]
    wrong = (y + rng.integers(1, k, size=subj.size)) % k
    return y, np.where(right, y, wrong), subj


# --------------------------------------------------------------------------- vectorised metrics


@pytest.mark.parametrize("seed", range(6))
def test_metrics_from_confusion_equal_all_metrics(seed):
    rng = np.random.default_rng(seed)
    k = 5
    # seeds 0-2: class 3 never in y_true but predicted (drops out of UAR/UF1, FP elsewhere)
    y, p = _random_preds(rng, 57, k, 0.45, absent=3 if seed < 3 else None)
    got = metrics_from_confusion(confusion(y, p, range(k)))
    ref = all_metrics(y, p)
    for m in ("war", "uar", "uf1"):
        assert got[m].shape == ()
        assert float(got[m]) == ref[m], m  # bit-for-bit, the MEGC numbers must not drift


def test_metrics_from_confusion_batched_and_empty():
    rng = np.random.default_rng(1)
    mats = rng.integers(0, 4, size=(2, 3, 4, 4))
    mats[1, 2] = 0  # an empty matrix: metrics undefined
    got = metrics_from_confusion(mats)
    assert got["uf1"].shape == (2, 3)
    for i, j in itertools.product(range(2), range(3)):
        one = metrics_from_confusion(mats[i, j])
        for m in got:
            np.testing.assert_equal(got[m][i, j], one[m])
    assert np.isnan(got["war"][1, 2]) and np.isnan(got["uar"][1, 2])


def test_subject_confusions_counts_and_order():
    rng = np.random.default_rng(2)
    y, p = _random_preds(rng, 40, 3, 0.5)
    subj = rng.choice(["s10", "s02", "s07"], size=40)
    ids, C = subject_confusions(y, p, subj, 3)
    assert list(ids) == ["s02", "s07", "s10"]
    assert C.dtype == np.int64 and C.shape == (3, 3, 3)
    for i, s in enumerate(ids):
        np.testing.assert_array_equal(C[i], confusion(y[subj == s], p[subj == s], range(3)))
    with pytest.raises(ValueError, match="outside"):
        subject_confusions(y, np.where(p == 0, 3, p), subj, 3)


def test_bootstrap_weights_and_replicates():
    W = bootstrap_weights(7, n_boot=50, seed=3)
    assert W.shape == (50, 7) and np.issubdtype(W.dtype, np.integer)
    assert (W.sum(axis=1) == 7).all() and (W >= 0).all()
    np.testing.assert_array_equal(W, bootstrap_weights(7, n_boot=50, seed=3))
    assert not np.array_equal(W, bootstrap_weights(7, n_boot=50, seed=4))
    rng = np.random.default_rng(3)
    C = rng.integers(0, 3, size=(7, 4, 4))
    reps = bootstrap_metrics(C, W)
    ref = metrics_from_confusion(np.einsum("bs,skl->bkl", W, C))
    for m in reps:
        np.testing.assert_array_equal(reps[m], ref[m])
    jack = jackknife_metrics(C)
    np.testing.assert_array_equal(
        jack["uar"][2], metrics_from_confusion(np.delete(C, 2, 0).sum(0))["uar"]
    )


# --------------------------------------------------------------------------- intervals


def test_interval_percentile_nan_safe():
    reps = np.arange(101, dtype=float)
    assert interval(reps, level=0.9) == pytest.approx((5.0, 95.0))
    with_nan = np.concatenate([reps, [np.nan] * 20])
    assert interval(with_nan, level=0.9) == pytest.approx((5.0, 95.0))
    lo, hi = interval(np.full(5, np.nan))
    assert np.isnan(lo) and np.isnan(hi)
    with pytest.raises(ValueError, match="bca"):
        interval(reps, method="bca")


def test_bca_reduces_to_percentile_without_bias_or_skew():
    reps = stats.norm.ppf((np.arange(999) + 0.5) / 999)  # symmetric around 0
    jack = np.ones(20)  # no jackknife spread -> acceleration 0
    assert interval(reps, 0.0, 0.9, "bca", jack) == pytest.approx(interval(reps, level=0.9))
    # every replicate above the estimate: BCa undefined, reported as NaN not as a number
    assert np.isnan(interval(reps + 10.0, 0.0, 0.9, "bca", jack)[0])


def test_bca_matches_scipy_for_iid_data():
    # one clip per subject: the subject jackknife is scipy's ordinary jackknife of a mean
    try:
        from scipy.stats._resampling import _bca_interval
    except ImportError:  # private helper; its absence is not a bug of srmer
        pytest.skip("scipy private _bca_interval not available")
    rng = np.random.default_rng(5)
    y, p = _random_preds(rng, 45, 3, 0.7)
    _, C = subject_confusions(y, p, np.arange(45), 3)
    reps = bootstrap_metrics(C, bootstrap_weights(45, 3000, seed=1))["war"]
    est = float(metrics_from_confusion(C.sum(0))["war"])
    correct = (y == p).astype(float)
    try:
        a1, a2, _ = _bca_interval(
            (correct,), np.mean, axis=-1, alpha=0.05, theta_hat_b=reps[None, :], batch=None, xp=np
        )
    except TypeError:
        pytest.skip("scipy private _bca_interval changed signature")
    want = np.quantile(reps, [float(np.squeeze(a1)), float(np.squeeze(a2))])
    got = interval(reps, est, 0.9, "bca", jackknife_metrics(C)["war"])
    assert got == pytest.approx(tuple(want), abs=1e-12)
    assert got != pytest.approx(interval(reps, level=0.9), abs=1e-6)  # it did adjust something


def test_cluster_bootstrap_estimates_and_perfect_classifier():
    rng = np.random.default_rng(6)
    y, p, subj = _dataset(rng, 12, 6, 4, 0.5, 0.8)
    res = cluster_bootstrap(y, p, subj, 4, n_boot=300, seed=2)
    ref = all_metrics(y, p)
    for m, (est, lo, hi) in res.items():
        assert est == ref[m]
        assert 0.0 <= lo <= est <= hi <= 1.0
    assert res == cluster_bootstrap(y, p, subj, 4, n_boot=300, seed=2)
    perfect = cluster_bootstrap(y, y, subj, 4, n_boot=100, method="bca")
    assert all(v == (1.0, 1.0, 1.0) for v in perfect.values())


def test_cluster_bootstrap_coverage_of_war():
    """Percentile and BCa subject intervals cover the population WAR ~95 %; clip intervals don't."""
    mu, sigma, n_subj, n_clips = 0.4, 1.0, 30, 8
    # population accuracy E[expit(mu + sigma Z)] by Gauss-Hermite quadrature
    x, w = np.polynomial.hermite_e.hermegauss(80)
    truth = float(np.sum(w * expit(mu + sigma * x)) / np.sum(w))
    rng = np.random.default_rng(12345)
    hits = {"percentile": 0, "bca": 0, "clips": 0}
    n_sim = 300
    for i in range(n_sim):
        y, p, subj = _dataset(rng, n_subj, n_clips, 3, mu, sigma)
        for method in ("percentile", "bca"):
            _, lo, hi = cluster_bootstrap(y, p, subj, 3, n_boot=500, seed=i, method=method)["war"]
            hits[method] += lo <= truth <= hi
        # the naive bootstrap: every clip its own "subject"
        _, lo, hi = cluster_bootstrap(y, p, np.arange(y.size), 3, n_boot=500, seed=i)["war"]
        hits["clips"] += lo <= truth <= hi
    cov = {k: v / n_sim for k, v in hits.items()}
    assert 0.90 <= cov["percentile"] <= 0.985, cov
    assert 0.90 <= cov["bca"] <= 0.985, cov
    # ignoring the subject clustering under-covers badly (design effect ~2.5 here)
    assert cov["clips"] < 0.88, cov


# --------------------------------------------------------------------------- McNemar


def test_mcnemar_hand_case_and_statsmodels():
    # b = 1 (a right, b wrong), c = 6 (a wrong, b right), 5 both right, 2 both wrong
    a = np.array([1] + [0] * 6 + [1] * 5 + [0] * 2, bool)
    b = np.array([0] + [1] * 6 + [1] * 5 + [0] * 2, bool)
    n_ab, n_ba, p = mcnemar_exact(a, b)
    assert (n_ab, n_ba) == (1, 6)
    assert p == pytest.approx(2 * (1 + 7) / 2**7)  # 2 P(X <= 1), X ~ Bin(7, 1/2) = 0.125
    assert p == pytest.approx(0.125)
    rng = np.random.default_rng(7)
    for _ in range(5):
        ca, cb = rng.random(60) < 0.6, rng.random(60) < 0.5
        n_ab, n_ba, p = mcnemar_exact(ca, cb)
        tab = [[np.sum(ca & cb), np.sum(ca & ~cb)], [np.sum(~ca & cb), np.sum(~ca & ~cb)]]
        assert p == pytest.approx(mcnemar(tab, exact=True).pvalue)
        assert p == pytest.approx(stats.binomtest(n_ab, n_ab + n_ba).pvalue)
    assert mcnemar_exact(a, a) == (0, 0, 1.0)


# --------------------------------------------------------------------------- sign-flip test


def test_sign_flip_hand_enumerated_war():
    # s1: 2 clips a right / b wrong (+2), s2: 1 clip a right / b wrong (+1), s3: 1 clip a wrong /
    # b right (-1). WAR diff = (2 + 1 - 1) / 4 = 0.5; swaps give (+-2 +-1 +-1) / 4, of which
    # 6 of 8 have |sum| >= 2 -> exact p = 0.75.
    y = np.array([0, 1, 0, 1])
    a = np.array([0, 1, 0, 0])
    b = np.array([1, 0, 1, 1])
    subj = np.array([1, 1, 2, 3])
    diff, p = sign_flip_test(y, a, b, subj, 2, metric="war")
    assert diff == pytest.approx(0.5)
    assert p == pytest.approx(0.75)
    diff, p = sign_flip_test(y, b, a, subj, 2, metric="war")
    assert (diff, p) == pytest.approx((-0.5, 0.75))


@pytest.mark.parametrize("metric", ["uar", "uf1"])
def test_sign_flip_matches_bruteforce_on_clips(metric):
    # reference: literally swap the clip predictions of every subset of subjects
    rng = np.random.default_rng(8)
    y, a = _random_preds(rng, 30, 3, 0.7)
    _, b = _random_preds(rng, 30, 3, 0.4)
    b = np.where(rng.random(30) < 0.3, a, b)
    subj = rng.integers(0, 4, size=30)
    d_obs = all_metrics(y, a)[metric] - all_metrics(y, b)[metric]
    ds = []
    for flips in itertools.product((False, True), repeat=4):
        swap = np.asarray(flips)[subj]
        pa, pb = np.where(swap, b, a), np.where(swap, a, b)
        ds.append(all_metrics(y, pa)[metric] - all_metrics(y, pb)[metric])
    p_ref = np.mean(np.abs(ds) >= abs(d_obs) - 1e-12)
    diff, p = sign_flip_test(y, a, b, subj, 3, metric=metric, n_perm=16)
    assert diff == pytest.approx(d_obs, abs=1e-12)
    assert p == pytest.approx(p_ref)


def test_sign_flip_identical_planted_and_monte_carlo():
    rng = np.random.default_rng(9)
    y, a, subj = _dataset(rng, 20, 6, 3, 0.5, 0.5)
    assert sign_flip_test(y, a, a, subj, 3) == (0.0, 1.0)
    # planted: a right 90 %, b right 30 % -> every one of 10000 random swaps is less extreme
    right_a = rng.random(y.size) < 0.9
    right_b = rng.random(y.size) < 0.3
    pa = np.where(right_a, y, (y + 1) % 3)
    pb = np.where(right_b, y, (y + 2) % 3)
    diff, p = sign_flip_test(y, pa, pb, subj, 3, metric="uar", n_perm=10000)
    assert diff > 0.4
    assert p == pytest.approx(1 / 10001)
    # Monte Carlo p approximates the exact one (S = 10: 1024 swaps)
    y, a, subj = _dataset(rng, 10, 5, 3, 0.5, 0.5)
    b = np.where(rng.random(y.size) < 0.6, a, (a + 1) % 3)
    _, p_exact = sign_flip_test(y, a, b, subj, 3, n_perm=1024)
    _, p_mc = sign_flip_test(y, a, b, subj, 3, n_perm=1023, seed=1)
    assert 0.01 < p_exact < 0.99
    assert p_mc == pytest.approx(p_exact, abs=0.05)
    assert p_mc != p_exact


# --------------------------------------------------------------------------- paired bootstrap


def test_paired_interval_narrower_than_unpaired():
    rng = np.random.default_rng(10)
    y, a, subj = _dataset(rng, 30, 8, 3, 0.3, 1.2)
    b = np.where(rng.random(y.size) < 0.85, a, (a + 1) % 3)  # b mostly agrees with a
    W = bootstrap_weights(30, 1000, seed=0)
    diff, lo, hi, reps = paired_difference(y, a, b, subj, 3, "war", W)
    assert reps.shape == (1000,)
    assert diff == pytest.approx(all_metrics(y, a)["war"] - all_metrics(y, b)["war"])
    assert lo <= diff <= hi
    # unpaired: independent subject resamples for the two methods
    W2 = bootstrap_weights(30, 1000, seed=1)
    _, Ca = subject_confusions(y, a, subj, 3)
    _, Cb = subject_confusions(y, b, subj, 3)
    unpaired = bootstrap_metrics(Ca, W)["war"] - bootstrap_metrics(Cb, W2)["war"]
    ulo, uhi = interval(unpaired)
    assert hi - lo < 0.6 * (uhi - ulo)


# --------------------------------------------------------------------------- Holm, power, verdict


def test_holm_against_statsmodels():
    rng = np.random.default_rng(11)
    for _ in range(5):
        p = rng.random(9) ** 3
        np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-12)
    p = np.array([0.01, np.nan, 0.04, 0.03, np.nan, 0.5])
    got = holm(p)
    assert np.isnan(got[[1, 4]]).all()
    ok = np.isfinite(p)
    np.testing.assert_allclose(got[ok], multipletests(p[ok], method="holm")[1], rtol=1e-12)
    np.testing.assert_allclose(got[ok], [0.04, 0.09, 0.09, 0.5])


@pytest.mark.parametrize("sd", [0.02, 0.05])
def test_detectable_difference_normal(sd):
    rng = np.random.default_rng(12)
    reps = 0.3 + sd * rng.standard_normal(200_000)  # the centre must not matter
    expected = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * sd
    assert detectable_difference(reps) == pytest.approx(expected, rel=0.03)
    # stricter tests need a larger difference
    assert detectable_difference(reps, alpha=0.01, power=0.9) == pytest.approx(
        (stats.norm.ppf(0.995) + stats.norm.ppf(0.9)) * sd, rel=0.03
    )
    assert np.isnan(detectable_difference(np.array([np.nan, 1.0])))


def test_verdict_strings():
    assert verdict(0.081, 0.02, 0.14, 0.012) == "helps (+0.081 [0.020, 0.140], p=0.012)"
    assert verdict(-0.05, -0.09, -0.01, 0.03) == "hurts (-0.050 [-0.090, -0.010], p=0.030)"
    assert (
        verdict(0.01, -0.03, 0.05, 0.6)
        == "no detectable difference (+0.010 [-0.030, 0.050], p=0.600)"
    )
    assert verdict(0.2, 0.1, 0.3, 1e-5).startswith("helps (+0.200 [0.100, 0.300], p<0.001")
    assert verdict(0.2, 0.1, 0.3, 0.06).startswith("no detectable difference")
    assert verdict(0.2, 0.1, 0.3, 0.06, alpha=0.1).startswith("helps")
    assert verdict(0.2, 0.1, 0.3, float("nan")).startswith("no detectable difference")


def test_detectable_difference_never_fails_on_rounding_of_discrete_replicates():
    from srmer.eval.paired import detectable_difference

    # few distinct values, as replicates of a difference of accuracies on 16 clips are
    rng = np.random.default_rng(11)
    for _ in range(200):
        d = rng.integers(-4, 5, size=int(rng.integers(20, 300))) / 16.0 + rng.choice([0, 1 / 3])
        v = detectable_difference(d)
        assert np.isfinite(v) and v >= 0
