"""Feature SR for micro-expression descriptors: mapping fitted on training subjects, LR-only predict."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from srmer.errors import ConfigError
from srmer.eval.protocol import loso_predict
from srmer.mer.fsr import FSRMER, MER_ENTRIES, FeatureSR, FSREstimator, make_fsr_mer


def _paired(n_subjects=6, per=12, d=30, seed=0):
    """HR vectors = class means + noise; LR = a fixed lossy linear map (blur + shrink) + noise."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 1, (3, d))
    y = np.tile(np.arange(3), n_subjects * per // 3)
    groups = np.repeat(np.arange(n_subjects), per)
    hr = means[y] + rng.normal(0, 0.6, (len(y), d))
    blur = np.eye(d) * 0.2 + np.eye(d, k=1) * 0.4 + np.eye(d, k=-1) * 0.4
    shift = rng.normal(0, 1.0, d)  # LR descriptors drift away from the HR ones
    lr = hr @ blur * 0.3 + shift + rng.normal(0, 0.05, hr.shape)
    return lr, hr, y, groups


def test_fsr_beats_hr_classifier_on_lr_descriptors():
    lr, hr, y, groups = _paired()
    X = np.hstack([lr, hr])
    base = LogisticRegression(max_iter=2000)

    class HROnLR:  # the bicubic-style baseline: classifier fitted on HR, applied to LR
        def fit(self, X, y):
            self.m = LogisticRegression(max_iter=2000).fit(X[:, 30:], y)
            return self

        def predict(self, X):
            return self.m.predict(X[:, :30])

    base_acc = (loso_predict(HROnLR, X, y, groups) == y).mean()
    fsr_acc = (
        loso_predict(lambda: FSREstimator(base, 30, alpha=1.0, train_on="hr"), X, y, groups) == y
    ).mean()
    assert fsr_acc > base_acc + 0.2, (base_acc, fsr_acc)


def test_predict_reads_only_the_lr_half():
    lr, hr, y, _ = _paired(seed=1)
    est = FSREstimator(LogisticRegression(max_iter=2000), 30).fit(np.hstack([lr, hr]), y)
    nan_hr = np.hstack([lr, np.full_like(hr, np.nan)])
    assert np.array_equal(est.predict(nan_hr), est.predict(lr))
    with pytest.raises(ValueError, match="lr \\| hr"):
        est.fit(lr, y)
    with pytest.raises(ValueError, match="lr \\| hr"):
        FSREstimator(LogisticRegression()).fit(lr[:, :1], y)


def test_mapping_is_fitted_on_training_subjects_only():
    lr, hr, y, groups = _paired(seed=2)
    X = np.hstack([lr, hr])
    seen: list[set] = []

    class Spy(FSREstimator):
        def fit(self, X, y, groups=None):
            seen.append(set(map(float, X[:, 0])))
            return super().fit(X, y, groups)

    loso_predict(lambda: Spy(LogisticRegression(max_iter=500), 30), X, y, groups)
    assert len(seen) == len(np.unique(groups))
    for s, g in zip(seen, np.unique(groups), strict=True):
        test_rows = set(map(float, X[groups == g, 0]))
        train_rows = set(map(float, X[groups != g, 0]))
        assert not (s & test_rows) and s == train_rows


@pytest.mark.parametrize("train_on", ["hr", "sr", "both"])
def test_train_on_options(train_on):
    lr, hr, y, _ = _paired(seed=3)
    est = FSREstimator(LogisticRegression(max_iter=500), 30, train_on=train_on)
    est.fit(np.hstack([lr, hr]), y)
    assert est.predict(lr).shape == y.shape
    # the mapping moves LR descriptors towards HR ones (on its training rows)
    assert np.mean((est.map(lr) - hr) ** 2) < np.mean((lr - hr) ** 2)


def test_fsrmer_wraps_a_descriptor_method():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 255, (10, 40, 40), dtype=np.uint8)
    lr = hr[:, ::4, ::4]
    sr = FeatureSR()
    assert sr.kind == "feature" and sr.upscale(lr, 40).shape == (10, 40, 40)
    assert FeatureSR(restore="none").upscale(lr, 40).shape == lr.shape
    m = sr.wrap(
        __import__("srmer.mer.registry", fromlist=["create"]).create("lbptop", blocks=(2, 2))
    )
    assert isinstance(m, FSRMER) and m.base.name == "lbptop"
    row = m.represent_pair(sr.upscale(lr, 40), hr)
    d = m.base.represent(hr).size
    assert row.shape == (2 * d,) and row.dtype == np.float32
    est = m.estimator(3, seed=0)
    assert isinstance(est, FSREstimator) and est.n_lr is None
    rows = np.stack([row, row * 0.9, row * 1.1, row * 0.8])
    est.fit(rows, np.array([0, 1, 0, 1]))
    assert est.n_lr_ == d and est.predict(rows[:, :d]).shape == (4,)
    assert m.cache_params()["base"] == "lbptop"


def test_errors_and_registry_entries():
    with pytest.raises(ConfigError, match="train_on"):
        FSRMER(train_on="test")
    with pytest.raises(ConfigError, match="alpha"):
        FSRMER(alpha=-1)
    with pytest.raises(ConfigError, match="descriptor"):
        FSRMER(base="ststnet")
    with pytest.raises(ConfigError, match="restore"):
        FeatureSR(restore="edsr")
    with pytest.raises(ConfigError, match="unknown option"):
        FeatureSR(sigma=2)
    cls = make_fsr_mer("lbpsip")
    assert cls.name == "fsr_lbpsip" and cls().base.name == "lbpsip"
    import importlib

    for name, target in MER_ENTRIES.items():
        mod, attr = target.split(":")
        assert getattr(importlib.import_module(mod), attr).name == name
