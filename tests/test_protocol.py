import numpy as np
import pytest

from srmer.errors import DatasetError
from srmer.eval.protocol import loso_predict, loso_splits


def test_loso_no_subject_in_train_and_test():
    groups = np.repeat(["s1", "s2", "s3", "s4"], [3, 2, 4, 1])
    folds = list(loso_splits(groups))
    assert len(folds) == 4
    seen_test = []
    for train, test in folds:
        assert set(groups[train]).isdisjoint(groups[test])
        assert len(set(groups[test])) == 1
        seen_test.extend(test.tolist())
    assert sorted(seen_test) == list(range(len(groups)))


def test_loso_needs_two_subjects():
    with pytest.raises(DatasetError, match="two subjects"):
        list(loso_splits(["a", "a"]))


class _Probe:
    """Records what fit() saw; predicts the majority training label."""

    log: list = []

    def fit(self, X, y, groups=None):
        _Probe.log.append((X[:, 0].copy(), None if groups is None else set(groups)))
        vals, counts = np.unique(y, return_counts=True)
        self.label = vals[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.label)


def test_loso_predict_never_fits_on_test_subject_and_passes_training_groups():
    _Probe.log = []
    groups = np.array(["a", "a", "b", "b", "c", "c"])
    X = np.arange(6, dtype=float)[:, None]  # sample id in column 0
    y = np.array([0, 0, 1, 1, 1, 0])
    pred = loso_predict(_Probe, X, y, groups)
    assert pred.shape == (6,)
    for (seen, seen_groups), (_, test) in zip(_Probe.log, loso_splits(groups), strict=True):
        assert set(seen.astype(int)).isdisjoint(set(test))
        assert groups[test[0]] not in seen_groups


def test_loso_predict_parallel_equals_serial():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = (X[:, 0] > 0).astype(int)
    groups = np.repeat(np.arange(5), 6)
    from sklearn.svm import SVC

    a = loso_predict(lambda: SVC(kernel="linear"), X, y, groups)
    b = loso_predict(lambda: SVC(kernel="linear"), X, y, groups, n_jobs=2)
    assert np.array_equal(a, b)
