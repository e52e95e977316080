"""Subject bootstrap and paired tests against hand computations, scipy/statsmodels and simulation."""

import numpy as np
import pytest

from srmer.eval.bootstrap import (
    bootstrap_metrics,
    bootstrap_weights,
    cluster_bootstrap,
    interval,
    jackknife_metrics,
    metrics_from_confusion,
    subject_confusions,
)
from srmer.eval.metrics import all_metrics
from srmer.eval.paired import (
    detectable_difference,
    holm,
    mcnemar_exact,
    paired_difference,
    sign_flip_test,
    verdict,
)


def test_vectorised_metrics_equal_the_reference_ones():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 3, 40)  # class 3 of 4 is absent from y_true, may be predicted
        p = rng.integers(0, 4, 40)
        _, conf = subject_confusions(y, p, rng.integers(0, 5, 40), 4)
        got = metrics_from_confusion(conf.sum(0))
        ref = all_metrics(y, p)
        for m in ("war", "uar", "uf1"):
            assert got[m] == pytest.approx(ref[m])


def test_bootstrap_interval_covers_the_true_accuracy_about_95_percent():
    rng = np.random.default_rng(1)
    true_acc, covered, n = 0.6, 0, 200
    for _ in range(n):
        s, per = 30, 8
        # subject-level difficulty: clips of one subject are correlated
        logit = np.log(true_acc / (1 - true_acc)) + rng.normal(0, 0.5, s)
        pk = np.repeat(1 / (1 + np.exp(-logit)), per)
        correct = rng.random(s * per) < pk
        y = np.zeros(s * per, int)
        pred = np.where(correct, 0, 1)
        _, lo, hi = cluster_bootstrap(y, pred, np.repeat(np.arange(s), per), 2, n_boot=400,
                                        seed=int(rng.integers(1 << 30)))["war"]  # fmt: skip
        # the population accuracy under the subject effects (computed by simulation below)
        covered += lo <= TRUE_WAR <= hi
    assert 0.88 <= covered / n <= 0.99


# population mean of the logistic-normal accuracy above (logit 0.405, sd 0.5)
_z = np.random.default_rng(123).normal(0, 0.5, 2_000_000)
TRUE_WAR = float(np.mean(1 / (1 + np.exp(-(np.log(0.6 / 0.4) + _z)))))


def test_bca_and_percentile_agree_on_a_symmetric_case_and_jackknife_has_one_value_per_subject():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    p = np.where(rng.random(200) < 0.7, y, 1 - y)
    s = np.repeat(np.arange(25), 8)
    _, conf = subject_confusions(y, p, s, 2)
    reps = bootstrap_metrics(conf, bootstrap_weights(25, 2000, 0))["war"]
    est = float(metrics_from_confusion(conf.sum(0))["war"])
    jk = jackknife_metrics(conf)["war"]
    assert jk.shape == (25,)
    a, b = interval(reps, est), interval(reps, est, method="bca", jackknife=jk)
    assert a[0] < est < a[1] and b[0] < est < b[1]
    assert abs(a[0] - b[0]) < 0.03 and abs(a[1] - b[1]) < 0.03


def test_mcnemar_hand_case_and_statsmodels():
    from statsmodels.stats.contingency_tables import mcnemar

    a = np.array([1] * 3 + [1] * 1 + [0] * 6 + [0] * 2, bool)
    b = np.array([1] * 3 + [0] * 1 + [1] * 6 + [0] * 2, bool)
    n01, n10, p = mcnemar_exact(a, b)
    assert (n01, n10) == (1, 6)
    assert p == pytest.approx(0.125)  # 2 * P(X <= 1), X ~ Bin(7, 0.5) = 2 * 8/128
    ref = mcnemar([[3, 1], [6, 2]], exact=True).pvalue
    assert p == pytest.approx(ref)
    assert mcnemar_exact(a, a)[2] == 1.0


def test_sign_flip_exact_small_case_by_hand():
    # 2 subjects, 2 clips each; a right on every clip, b wrong on every clip
    y = np.array([0, 1, 0, 1])
    a = y.copy()
    b = 1 - y
    subj = np.array([0, 0, 1, 1])
    d, p = sign_flip_test(y, a, b, subj, 2, "war")
    # swaps: none (d=1), both (d=-1), one each (d=0): |d*| >= 1 in 2 of 4
    assert d == pytest.approx(1.0) and p == pytest.approx(0.5)
    d0, p0 = sign_flip_test(y, a, a, subj, 2, "uar")
    assert d0 == 0 and p0 == 1.0


def test_sign_flip_detects_a_large_planted_difference():
    rng = np.random.default_rng(3)
    s = np.repeat(np.arange(20), 10)
    y = rng.integers(0, 3, 200)
    a = np.where(rng.random(200) < 0.8, y, (y + 1) % 3)
    b = np.where(rng.random(200) < 0.35, y, (y + 1) % 3)
    d, p = sign_flip_test(y, a, b, s, 3, "uf1", n_perm=2000)
    assert d > 0.3 and p < 0.01


def test_holm_equals_statsmodels_and_keeps_nan():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan])
    got = holm(p)
    ref = multipletests(p[:4], method="holm")[1]
    assert np.allclose(got[:4], ref) and np.isnan(got[4])


def test_detectable_difference_of_normal_replicates():
    d = np.random.default_rng(4).normal(0, 0.05, 200_000)
    assert detectable_difference(d) == pytest.approx((1.96 + 0.84) * 0.05, rel=0.03)
    assert np.isnan(detectable_difference(np.zeros(100)))


def test_paired_interval_is_narrower_than_unpaired_for_correlated_methods():
    rng = np.random.default_rng(5)
    s = np.repeat(np.arange(30), 8)
    skill = np.repeat(rng.normal(0, 1.0, 30), 8)
    y = np.zeros(240, int)
    a = (rng.normal(size=240) + skill > -0.3).astype(int) ^ 1
    b = np.where(rng.random(240) < 0.9, a, 1 - a)
    w = bootstrap_weights(30, 1000, 0)
    diff, lo, hi, _ = paired_difference(y, a, b, s, 2, "war", w)
    ra = cluster_bootstrap(y, a, s, 2, n_boot=1000, seed=0)["war"]
    rb = cluster_bootstrap(y, b, s, 2, n_boot=1000, seed=9)["war"]
    unpaired = np.hypot(ra[2] - ra[1], rb[2] - rb[1])
    assert lo <= diff <= hi and (hi - lo) < 0.6 * unpaired


def test_verdicts():
    assert verdict(0.08, 0.02, 0.14, 0.012).startswith("helps")
    assert verdict(-0.08, -0.14, -0.02, 0.012).startswith("hurts")
    assert verdict(0.08, -0.02, 0.14, 0.2).startswith("no detectable difference")
