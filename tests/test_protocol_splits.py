"""Property tests of the protocol split functions and the config's ``protocol:`` field."""

import numpy as np
import pytest

from srmer.errors import ConfigError, DatasetError
from srmer.eval.protocol import (
    check_split_classes,
    cross_dataset_pairs,
    cross_dataset_splits,
    holdout_splits,
    kfold_splits,
    leave_one_dataset_out_splits,
    loso_splits,
    predict_splits,
    protocol_tasks,
)


def _pool(seed=0):
    rng = np.random.default_rng(seed)
    datasets = np.repeat(["casme2", "samm", "smic"], [30, 24, 18])
    # subject numbers repeat across databases, as in the real ones; qualified they are distinct
    subj = np.concatenate([rng.integers(1, 7, 30), rng.integers(1, 5, 24), rng.integers(1, 4, 18)])
    groups = np.array([f"{d}/{s}" for d, s in zip(datasets, subj, strict=True)])
    y = rng.integers(0, 3, len(datasets))
    return datasets, groups, y


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("how", ["loso", "kfold3", "kfold5", "lodo"])
def test_every_sample_tested_exactly_once_and_no_test_subject_in_training(seed, how):
    datasets, groups, _ = _pool(seed)
    if how == "loso":
        splits = list(loso_splits(groups))
        assert len(splits) == len(set(groups))
    elif how.startswith("kfold"):
        k = int(how[-1])
        splits = list(kfold_splits(groups, k=k, seed=seed))
        assert len(splits) == k
    else:
        splits = list(leave_one_dataset_out_splits(datasets))
        assert len(splits) == 3
    tested = np.concatenate([te for _, te in splits])
    assert sorted(tested.tolist()) == list(range(len(groups)))
    for train, test in splits:
        assert set(groups[train]).isdisjoint(groups[test])
        assert len(train) + len(test) == len(groups)
        if how == "lodo":
            assert len(set(datasets[test])) == 1
            assert set(datasets[train]).isdisjoint(datasets[test])


def test_kfold_is_seeded_and_seed_changes_the_folds():
    _, groups, _ = _pool(0)
    a = [te.tolist() for _, te in kfold_splits(groups, 4, seed=1)]
    b = [te.tolist() for _, te in kfold_splits(groups, 4, seed=1)]
    c = [te.tolist() for _, te in kfold_splits(groups, 4, seed=2)]
    assert a == b
    assert a != c


def test_kfold_needs_enough_subjects():
    with pytest.raises(DatasetError, match="at least 3 subjects"):
        list(kfold_splits(["a", "a", "b"], k=3))


def test_loso_with_one_subject_is_a_clear_error():
    with pytest.raises(DatasetError, match="at least two subjects"):
        list(loso_splits(["s1", "s1", "s1"]))


def test_holdout_tests_the_given_subjects_only():
    groups = np.array(["a", "a", "b", "c", "c", "d"])
    [(train, test)] = list(holdout_splits(groups, ["c", "a"]))
    assert sorted(set(groups[test])) == ["a", "c"]
    assert sorted(set(groups[train])) == ["b", "d"]
    with pytest.raises(DatasetError, match="not in the data"):
        list(holdout_splits(groups, ["zz"]))
    with pytest.raises(DatasetError, match="none is left for training"):
        list(holdout_splits(groups, ["a", "b", "c", "d"]))


@pytest.mark.parametrize("train,test", [(["casme2"], "samm"), (["smic", "samm"], "casme2")])
def test_cross_dataset_train_and_test_disjoint_by_dataset(train, test):
    datasets, _, _ = _pool()
    [(tr, te)] = list(cross_dataset_splits(datasets, train, test))
    assert set(datasets[tr]) == set(train)
    assert set(datasets[te]) == {test}
    assert np.count_nonzero(datasets == test) == len(te)


def test_cross_dataset_refuses_testing_on_a_training_dataset_and_unknown_names():
    datasets, _, _ = _pool()
    with pytest.raises(DatasetError, match="both a training and the test"):
        list(cross_dataset_splits(datasets, ["casme2"], "casme2"))
    with pytest.raises(DatasetError, match="casme3"):
        list(cross_dataset_splits(datasets, ["casme3"], "samm"))


def test_pairs_all_is_every_ordered_pair_and_unknown_pair_names_are_refused():
    pairs = cross_dataset_pairs({"pairs": "all"}, ["casme2", "samm", "smic"])
    assert len(pairs) == 6
    assert ((("casme2",), "samm") in pairs) and ((("samm",), "casme2") in pairs)
    assert all(test not in train for train, test in pairs)
    with pytest.raises(DatasetError, match="unknown dataset"):
        cross_dataset_pairs({"pairs": [["casme2", "sammm"]]}, ["casme2", "samm"])


def test_protocol_tasks_names_train_and_test_datasets():
    datasets, groups, _ = _pool()
    tasks = protocol_tasks({"name": "cross_dataset", "pairs": "all"}, datasets, groups, "pool")
    assert {(t.train_datasets, t.test_dataset) for t in tasks} == {
        ((a,), b) for a in ("casme2", "samm", "smic") for b in ("casme2", "samm", "smic") if a != b
    }
    [lodo] = protocol_tasks({"name": "leave_one_dataset_out"}, datasets, groups, "composite")
    assert lodo.test_dataset == "composite" and len(lodo.splits) == 3
    [loso] = protocol_tasks({"name": "loso"}, datasets, groups, "composite")
    assert loso.train_datasets == ("casme2", "samm", "smic")


def test_a_test_class_missing_from_training_is_refused():
    y = np.array([0, 0, 1, 1, 2, 2])
    ok = [(np.array([0, 2, 4]), np.array([1, 3, 5]))]
    check_split_classes(y, ok, ("negative", "positive", "surprise"), "x")
    bad = [(np.array([0, 1, 2, 3]), np.array([4, 5]))]
    with pytest.raises(DatasetError, match="surprise"):
        check_split_classes(y, bad, ("negative", "positive", "surprise"), "cross_dataset a -> b")


class _Probe:
    """Records the rows and subjects fit() saw; predicts the majority training label."""

    log: list = []

    def fit(self, X, y, groups=None):
        _Probe.log.append((set(X[:, 0].astype(int).tolist()), set(groups)))
        vals, counts = np.unique(y, return_counts=True)
        self.label = vals[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.label)


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "loso"},
        {"name": "kfold", "k": 3, "seed": 0},
        {"name": "holdout", "test_subjects": ["samm/1", "casme2/2"]},
        {"name": "cross_dataset", "pairs": "all"},
        {"name": "leave_one_dataset_out"},
    ],
)
def test_no_estimator_ever_fits_on_a_test_row_under_any_protocol(spec):
    datasets, groups, y = _pool(1)
    X = np.arange(len(y), dtype=float)[:, None]  # row id in column 0
    tasks = protocol_tasks(spec, datasets, groups, "pool")
    for task in tasks:
        _Probe.log = []
        index, pred = predict_splits(_Probe, X, y, groups, task.splits)
        assert len(_Probe.log) == len(task.splits)
        for (rows, subjects), (_, test) in zip(_Probe.log, task.splits, strict=True):
            assert rows.isdisjoint(test.tolist())
            assert subjects.isdisjoint(groups[test].tolist())
        assert index.tolist() == sorted(np.concatenate([te for _, te in task.splits]).tolist())
        assert pred.shape == index.shape


def _grid_config(protocol, datasets=None):
    from srmer.bench.config import parse_config

    return parse_config(
        {
            "name": "p",
            "datasets": datasets
            or [{"name": "casme2", "root": "."}, {"name": "samm", "root": "."}],
            "resolutions": [32],
            "sr": ["none"],
            "mer": ["lbptop"],
            "protocol": protocol,
        }
    )


def test_config_protocol_forms():
    assert _grid_config("loso").protocol.name == "loso"
    cfg = _grid_config({"name": "kfold", "k": 4})
    assert cfg.protocol.as_dict() == {"name": "kfold", "k": 4, "seed": 0}
    cfg = _grid_config({"name": "cross_dataset", "train": ["casme2"], "test": "samm"})
    assert cfg.protocol.test == ["samm"]
    # the cross-dataset protocols put every dataset in one label space
    assert [d.classes for d in cfg.datasets] == ["megc3", "megc3"]
    assert cfg.report_metric == "uf1"
    assert _grid_config("loso").report_metric == "war"


@pytest.mark.parametrize(
    "protocol,needle",
    [
        ({"name": "cross_dataset", "pairs": [["casme2", "smic"]]}, "unknown dataset"),
        ({"name": "cross_dataset", "train": ["casme2"]}, "needs `train"),
        ({"name": "holdout"}, "test_subjects"),
        ({"name": "loso", "k": 3}, "takes no"),
        ({"name": "kfold", "k": 1}, "k"),
        ("bootstrap", "protocol"),
    ],
)
def test_config_protocol_errors_name_the_field(protocol, needle):
    with pytest.raises(ConfigError, match=needle):
        _grid_config(protocol)


def test_cross_dataset_on_one_dataset_and_mixed_class_maps_are_refused():
    with pytest.raises(ConfigError, match="at least two datasets"):
        _grid_config("leave_one_dataset_out", [{"name": "casme2", "root": "."}])
    with pytest.raises(ConfigError, match="same class map"):
        _grid_config(
            {"name": "cross_dataset", "pairs": "all"},
            [
                {"name": "casme2", "root": ".", "classes": "4class"},
                {"name": "samm", "root": ".", "classes": "megc3"},
            ],
        )
