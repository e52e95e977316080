"""Descriptor + SVM MER methods: config validation, represent, estimators, grouped selection."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from srmer.errors import ClipError, ConfigError
from srmer.features import lbp_sip, lbp_top
from srmer.mer import MER_METHODS, create
from srmer.mer.descriptors import DescriptorSVM
from srmer.video.io import to_grey

DESCRIPTOR_METHODS = ["lbptop", "lbpsip", "lpqtop", "hog3d", "hogtop", "higotop"]


def _clip(t=10, size=24, seed=0, rgb=True):
    rng = np.random.default_rng(seed)
    shape = (t, size, size, 3) if rgb else (t, size, size)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def _toy(n_subjects=6, per=8, d=12, seed=0):
    """Two well separated classes, several clips per subject."""
    rng = np.random.default_rng(seed)
    X, y, g = [], [], []
    for s in range(n_subjects):
        for i in range(per):
            label = i % 2
            X.append(rng.normal(label * 2.0, 1.0, d))
            y.append(label)
            g.append(f"s{s}")
    return np.array(X), np.array(y), np.array(g)


@pytest.mark.parametrize("name", [m for m in DESCRIPTOR_METHODS if m in MER_METHODS])
def test_registered_methods_represent_fixed_length_float32(name):
    m = create(name)
    a = m.represent(_clip(seed=1))
    b = m.represent(_clip(seed=2))
    assert a.dtype == np.float32 and a.ndim == 1
    assert a.shape == b.shape and a.size > 0
    assert np.isfinite(a).all()
    assert m.kind == "descriptor"


def test_all_issue_methods_registered():
    assert set(DESCRIPTOR_METHODS) <= set(MER_METHODS)


def test_lbptop_represent_is_lbp_top_of_grey_clip():
    clip = _clip(t=12, size=30)
    m = create("lbptop")
    np.testing.assert_array_equal(m.represent(clip), lbp_top(to_grey(clip)))
    m2 = create("lbptop", radii=[1, 1, 1], points=8, blocks=[2, 3], mapping="u2")
    np.testing.assert_array_equal(
        m2.represent(clip), lbp_top(to_grey(clip), (1, 1, 1), 8, (2, 3), "u2")
    )
    assert m2.represent(clip).size == 6 * 3 * 59


def test_lbpsip_default_concatenates_radii_1_and_3():
    clip = _clip(t=12, size=30)
    grey = to_grey(clip)
    got = create("lbpsip").represent(clip)
    want = np.concatenate([lbp_sip(grey, radius=1), lbp_sip(grey, radius=3)])
    np.testing.assert_array_equal(got, want)
    assert got.size == 2 * 25 * 20


@pytest.mark.parametrize(
    ("opts", "field"),
    [
        ({"radii": (1, 0, 4)}, "radii"),
        ({"points": 40}, "points"),
        ({"blocks": "5x5"}, "blocks"),
        ({"mapping": "riu2"}, "mapping"),
        ({"kernel": "sigmoid"}, "kernel"),
        ({"C": -1}, "C"),
        ({"gamma": 0}, "gamma"),
        ({"scale": "robust"}, "scale"),
        ({"grid": {"nu": [1]}}, "grid"),
        ({"inner_cv": 1}, "inner_cv"),
        ({"scoring": "war"}, "scoring"),
        ({"radius": 3}, "radius"),  # an LBP-SIP option given to LBP-TOP
    ],
)
def test_bad_options_raise_config_error_naming_them(opts, field):
    with pytest.raises(ConfigError, match=field) as info:
        create("lbptop", **opts)
    assert "lbptop" in str(info.value)


def test_too_short_clip_is_a_clip_error():
    m = create("lbptop")  # Rt = 4 needs 9 frames
    with pytest.raises(ClipError, match="Rt=4"):
        m.represent(_clip(t=8))


def test_cache_params_exclude_classifier_options():
    a = create("lbptop", C=10.0, kernel="rbf")
    b = create("lbptop")
    assert a.cache_params() == b.cache_params()
    assert create("lbptop", blocks=4).cache_params() != b.cache_params()


@pytest.mark.parametrize("kernel", ["linear", "poly", "rbf"])
def test_estimator_kernels_fit_and_predict(kernel):
    X, y, g = _toy()
    est = create("lbptop", kernel=kernel).estimator(n_classes=2, seed=0)
    assert isinstance(est, DescriptorSVM)
    est.fit(X[g != "s0"], y[g != "s0"])
    assert est.model_.named_steps["svm"].kernel == kernel
    assert (est.predict(X[g == "s0"]) == y[g == "s0"]).mean() >= 0.75


def test_scale_step_is_fitted_on_training_rows_only():
    X, y, _ = _toy()
    est = DescriptorSVM(scale="standard").fit(X[:20], y[:20])
    np.testing.assert_allclose(est.model_.named_steps["scale"].mean_, X[:20].mean(axis=0))


def test_estimator_is_deterministic():
    X, y, g = _toy(seed=3)
    m = create("lbptop", kernel="rbf", select=True)
    p1 = m.estimator(2, seed=5).fit(X, y, groups=g).predict(X)
    p2 = m.estimator(2, seed=5).fit(X, y, groups=g).predict(X)
    np.testing.assert_array_equal(p1, p2)


def test_selection_splits_by_training_subject(monkeypatch):
    X, y, g = _toy()
    seen = {}
    orig = GridSearchCV.fit

    def spy(self, X_, y_=None, **params):
        groups = params.get("groups")
        seen["folds"] = [set(groups[te]) for _, te in self.cv.split(X_, y_, groups)]
        seen["train_groups"] = set(groups)
        return orig(self, X_, y_, **params)

    monkeypatch.setattr(GridSearchCV, "fit", spy)
    train = g != "s5"
    est = DescriptorSVM(select=True, grid={"C": [0.1, 1.0]}).fit(
        X[train], y[train], groups=g[train]
    )
    assert "s5" not in seen["train_groups"]
    assert len(seen["folds"]) == 5 and all(len(f) == 1 for f in seen["folds"])  # leave one out
    assert est.best_params_["C"] in (0.1, 1.0)

    est = DescriptorSVM(select=True, inner_cv=2).fit(X[train], y[train], groups=g[train])
    assert len(seen["folds"]) == 2 and set().union(*seen["folds"]) == seen["train_groups"]
    assert est.best_params_["C"] in (1.0, 10.0, 100.0, 1000.0, 10000.0)


def test_selection_without_groups_warns():
    X, y, _ = _toy()
    with pytest.warns(UserWarning, match="groups"):
        DescriptorSVM(select=True, grid={"C": [1.0]}).fit(X, y)


def test_protocol_passes_groups_to_the_estimator():
    from srmer.eval.protocol import _accepts_groups

    assert _accepts_groups(create("lbptop").estimator(4, 0))


@pytest.mark.parametrize(
    ("name", "opts", "field"),
    [
        ("lpqtop", {"window": 4}, "window"),
        ("lpqtop", {"rho": 2.0}, "rho"),
        ("lpqtop", {"mode": "lpq"}, "mode"),
        ("lpqtop", {"decorrelate": "yes"}, "decorrelate"),
        ("hog3d", {"t_divisions": 0}, "t_divisions"),
        ("hogtop", {"bins": -2}, "bins"),
        ("higotop", {"signed": 1}, "signed"),
        ("lbpsip", {"radius": [1, 0]}, "radius"),
    ],
)
def test_other_methods_validate_their_options(name, opts, field):
    with pytest.raises(ConfigError, match=field) as info:
        create(name, **opts)
    assert name in str(info.value)


def test_other_methods_represent_with_their_functions():
    from srmer.features import higo_top, hog3d, hog_top, lpq_top

    clip = _clip(t=9, size=20)
    grey = to_grey(clip)
    np.testing.assert_array_equal(
        create("lpqtop", window=3, mode="lpq_m").represent(clip),
        lpq_top(grey, window=3, mode="lpq_m"),
    )
    np.testing.assert_array_equal(
        create("hog3d", t_divisions=2).represent(clip), hog3d(grey, t_divisions=2)
    )
    np.testing.assert_array_equal(create("hogtop", bins=6).represent(clip), hog_top(grey, bins=6))
    np.testing.assert_array_equal(create("higotop").represent(clip), higo_top(grey))


def test_default_c_is_not_swamped_by_small_histogram_features():
    # histogram-like features (75 histograms of 16 bins, each summing to 1, values ~0.06) with a weak
    # class signal spread over many bins, as texture differences are: LIBSVM's C=1 regularises
    # such small feature values too strongly, the default does not
    rng = np.random.default_rng(0)
    n, d = 60, 1200
    y = np.arange(n) % 3
    X = rng.dirichlet(np.ones(16) * 20, size=(n, d // 16)).reshape(n, d)
    X += rng.normal(0, 0.004, (3, d))[y]
    g = np.repeat(np.arange(6), 10)
    from srmer.eval.protocol import loso_predict

    war_default = (loso_predict(lambda: create("lbptop").estimator(3, 0), X, y, g) == y).mean()
    war_c1 = (loso_predict(lambda: create("lbptop", C=1.0).estimator(3, 0), X, y, g) == y).mean()
    assert war_default > 0.95
    assert war_c1 < 0.8
