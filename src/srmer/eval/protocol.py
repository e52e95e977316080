"""Evaluation protocols: plain functions that turn per-sample subjects and datasets into splits.

Every protocol is a function returning ``(train_idx, test_idx)`` integer index pairs; none knows
anything of the engine. Predictions are pooled over the splits (the MEGC convention: a metric is
computed once on every test prediction, not averaged over folds).

* :func:`loso_splits`: leave one subject out (Zhou et al., Sharma et al., MEGC 2019).
* :func:`kfold_splits`: k folds by subject, seeded.
* :func:`holdout_splits`: one split with given test subjects.
* :func:`cross_dataset_splits`: train on some databases, test on another.
* :func:`leave_one_dataset_out_splits`: one fold per database.

Anything fitted (scalers, SVM hyper-parameters, networks, feature SR) is fitted inside
:func:`predict_splits` on the training rows of a split only; estimators that select
hyper-parameters internally receive the training subjects' groups so that their inner split never
sees a test subject.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

from srmer.errors import DatasetError

Split = tuple[np.ndarray, np.ndarray]


def loso_splits(groups: Sequence) -> Iterator[Split]:
    """Leave-one-subject-out folds.

    Parameters
    ----------
    groups : sequence, shape (N,)
        Subject id of each sample.

    Yields
    ------
    (train_idx, test_idx) : int arrays
        One fold per subject, in sorted subject order; no subject is in both.

    Raises
    ------
    DatasetError
        Fewer than two subjects.
    """
    groups = np.asarray(groups)
    subjects = np.unique(groups)
    if subjects.size < 2:
        raise DatasetError(
            f"LOSO needs samples from at least two subjects (found {subjects.size}: "
            f"{', '.join(map(str, subjects)) or 'none'}); add subjects or use another dataset"
        )
    yield from LeaveOneGroupOut().split(np.zeros(len(groups)), groups=groups)


def kfold_splits(groups: Sequence, k: int = 5, seed: int = 0) -> Iterator[Split]:
    """``k`` folds by subject: every subject's samples are in exactly one test fold.

    Subjects are shuffled with ``seed`` before the folds are balanced by sample count
    (scikit-learn's ``GroupKFold(shuffle=True)``), so the same ``(k, seed)`` gives the same folds.

    Parameters
    ----------
    groups : sequence, shape (N,)
        Subject id of each sample.
    k : int
        Number of folds, ``2 <= k <=`` number of subjects.
    seed : int
        Shuffles the subjects.

    Raises
    ------
    DatasetError
        Fewer subjects than folds.
    """
    groups = np.asarray(groups)
    n = np.unique(groups).size
    if k < 2:
        raise DatasetError(f"kfold needs k >= 2 (got k={k}); set protocol.k")
    if n < k:
        raise DatasetError(
            f"kfold with k={k} needs at least {k} subjects (found {n}); lower protocol.k"
        )
    cv = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for train, test in cv.split(np.zeros(len(groups)), groups=groups):
        yield np.sort(train), np.sort(test)


def holdout_splits(groups: Sequence, test_subjects: Sequence[str]) -> Iterator[Split]:
    """One split: the given subjects are tested, every other subject trains.

    Raises
    ------
    DatasetError
        A test subject is absent from the data, or no subject would be left for training.
    """
    groups = np.asarray(groups).astype(str)
    have = set(groups.tolist())
    wanted = [str(s) for s in test_subjects]
    missing = [s for s in wanted if s not in have]
    if missing:
        raise DatasetError(
            f"holdout test subject(s) {missing} are not in the data; the subjects are: "
            f"{', '.join(sorted(have))} (set protocol.test_subjects)"
        )
    test = np.flatnonzero(np.isin(groups, wanted))
    train = np.flatnonzero(~np.isin(groups, wanted))
    if train.size == 0:
        raise DatasetError(
            "holdout: every subject is a test subject, none is left for training; "
            "shorten protocol.test_subjects"
        )
    yield train, test


def cross_dataset_splits(
    datasets: Sequence[str], train: Sequence[str], test: str
) -> Iterator[Split]:
    """One split: train on every sample of the ``train`` databases, test on the ``test`` one.

    Parameters
    ----------
    datasets : sequence of str, shape (N,)
        Source database of each sample.
    train : sequence of str
        Training databases (``test`` must not be among them).
    test : str
        Test database.

    Raises
    ------
    DatasetError
        A named database has no sample, or ``test`` is also a training database.
    """
    datasets = np.asarray(datasets).astype(str)
    have = sorted(set(datasets.tolist()))
    train = [str(t) for t in train]
    for name in [*train, test]:
        if name not in have:
            raise DatasetError(
                f"cross_dataset: no clip of dataset {name!r} (the data holds {', '.join(have)})"
            )
    if test in train:
        raise DatasetError(
            f"cross_dataset: {test!r} is both a training and the test dataset; "
            "test on a dataset you do not train on"
        )
    yield np.flatnonzero(np.isin(datasets, train)), np.flatnonzero(datasets == test)


def leave_one_dataset_out_splits(datasets: Sequence[str]) -> Iterator[Split]:
    """One fold per database: test on it, train on all the others (sorted database order).

    Raises
    ------
    DatasetError
        Fewer than two databases.
    """
    datasets = np.asarray(datasets).astype(str)
    names = sorted(set(datasets.tolist()))
    if len(names) < 2:
        raise DatasetError(
            f"leave_one_dataset_out needs clips of at least two datasets (found {names}); "
            "use the composite dataset or list several datasets"
        )
    for name in names:
        yield np.flatnonzero(datasets != name), np.flatnonzero(datasets == name)


def check_split_classes(
    y: np.ndarray, splits: Sequence[Split], classes: Sequence[str], what: str
) -> None:
    """Refuse splits whose test rows hold a class that none of their training rows has.

    A model cannot predict a class it never saw, so such a test set measures nothing about that
    class; under LOSO this cannot happen for the protocol as a whole, under a single split it can.

    Raises
    ------
    DatasetError
        Naming the split (``what``) and the missing class.
    """
    for train, test in splits:
        lacking = sorted(set(y[test].tolist()) - set(y[train].tolist()))
        if lacking:
            names = [str(classes[i]) if i < len(classes) else str(i) for i in lacking]
            raise DatasetError(
                f"{what}: the test data has class(es) {names} that no training clip has; "
                "train on data with every class, or drop the class with another class map"
            )


def _accepts_groups(estimator: Any) -> bool:
    try:
        return "groups" in inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return False


def fit_estimator(est: Any, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> Any:
    """``est.fit(X, y, groups=groups)`` when the estimator takes subject groups (nested,
    subject-grouped hyper-parameter selection) and ``groups`` is given, else ``est.fit(X, y)``.

    Returns the fitted estimator.
    """
    if groups is not None and _accepts_groups(est):
        return est.fit(X, y, groups=groups)
    return est.fit(X, y)


def fit_predict_fold(
    make_estimator: Callable[[], Any],
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
) -> np.ndarray:
    """Fit a fresh estimator on ``train`` rows and predict the ``test`` rows.

    ``groups`` restricted to the training rows is passed to ``fit`` when the estimator accepts it
    (nested, subject-grouped hyper-parameter selection).
    """
    est = make_estimator()
    fit_estimator(est, X[train], y[train], groups[train])
    return np.asarray(est.predict(X[test]))


def predict_splits(
    make_estimator: Callable[[], Any],
    X: np.ndarray,
    y: Sequence,
    groups: Sequence,
    splits: Sequence[Split],
    n_jobs: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Pooled predictions of any protocol: each test row is predicted by a model of its split.

    Parameters
    ----------
    make_estimator : callable
        Returns a fresh, unfitted estimator (``fit``/``predict``).
    X : ndarray, shape (N, ...)
        Per-sample representations.
    y : sequence, shape (N,)
        Labels.
    groups : sequence, shape (N,)
        Subject ids (passed, restricted to the training rows, to estimators whose ``fit`` takes
        ``groups``).
    splits : sequence of (train_idx, test_idx)
        From one of the ``*_splits`` functions; a row may be tested at most once.
    n_jobs : int
        Splits run in parallel with joblib when > 1.

    Returns
    -------
    (index, y_pred) : ndarray, shape (M,)
        The sorted rows that were tested and their predictions.
    """
    X, y, groups = np.asarray(X), np.asarray(y), np.asarray(groups)
    splits = [(np.asarray(tr), np.asarray(te)) for tr, te in splits]
    tested = np.concatenate([te for _, te in splits]) if splits else np.zeros(0, int)
    if np.unique(tested).size != tested.size:
        raise ValueError("predict_splits: a row is in the test part of two splits")
    if n_jobs == 1:
        preds = [fit_predict_fold(make_estimator, X, y, groups, tr, te) for tr, te in splits]
    else:
        from joblib import Parallel, delayed

        preds = Parallel(n_jobs=n_jobs)(
            delayed(fit_predict_fold)(make_estimator, X, y, groups, tr, te) for tr, te in splits
        )
    index = np.sort(tested)
    out = np.empty(len(y), dtype=y.dtype)
    for (_, te), p in zip(splits, preds, strict=True):
        out[te] = p
    return index, out[index]


def loso_predict(
    make_estimator: Callable[[], Any],
    X: np.ndarray,
    y: Sequence,
    groups: Sequence,
    n_jobs: int = 1,
) -> np.ndarray:
    """Pooled LOSO predictions: every sample is predicted by a model that never saw its subject.

    Parameters
    ----------
    make_estimator : callable
        Returns a fresh, unfitted estimator (``fit``/``predict``).
    X : ndarray, shape (N, ...)
    y : sequence, shape (N,)
    groups : sequence, shape (N,)
        Subject ids.
    n_jobs : int
        Folds run in parallel with joblib when > 1.

    Returns
    -------
    ndarray, shape (N,)
        Predicted label of each sample.
    """
    _, pred = predict_splits(
        make_estimator, X, y, groups, list(loso_splits(np.asarray(groups))), n_jobs
    )
    return pred


# ---------------------------------------------------------------------------- protocol -> tasks
#: protocol names a config's ``protocol:`` accepts
PROTOCOLS = ("loso", "kfold", "holdout", "cross_dataset", "leave_one_dataset_out")


@dataclass(frozen=True)
class Task:
    """One evaluation of a protocol: its splits and what it trains and tests on.

    ``train_datasets`` and ``test_dataset`` are the names result rows carry (``test_dataset`` is the
    pool's name when the test rows span several databases, e.g. ``composite`` under LOSO).
    """

    protocol: str
    train_datasets: tuple[str, ...]
    test_dataset: str
    splits: tuple[Split, ...]

    @property
    def what(self) -> str:
        """``loso on casme2`` / ``cross_dataset casme2 -> samm``, for messages."""
        if self.protocol == "cross_dataset":
            return f"cross_dataset {'+'.join(self.train_datasets)} -> {self.test_dataset}"
        return f"{self.protocol} on {self.test_dataset}"


def protocol_tasks(
    spec: Mapping[str, Any], datasets: Sequence[str], groups: Sequence, pool: str
) -> list[Task]:
    """The evaluations a protocol asks for on one pool of samples.

    Parameters
    ----------
    spec : mapping
        ``{"name": "loso"}``, ``{"name": "kfold", "k": 5, "seed": 0}``,
        ``{"name": "holdout", "test_subjects": [...]}``,
        ``{"name": "cross_dataset", "train": [...], "test": [...]}`` or ``{..., "pairs": "all"}``
        (or a list of ``[train, test]`` pairs), ``{"name": "leave_one_dataset_out"}``.
    datasets : sequence of str, shape (N,)
        Source database of each sample.
    groups : sequence, shape (N,)
        Subject of each sample (unique across databases).
    pool : str
        Name of the pool (``casme2``, ``composite``, ``casme2+samm``), the ``test_dataset`` of
        tasks that test on all of it.

    Returns
    -------
    list of Task
        One task per evaluation: one for LOSO, k-fold, hold-out and leave-one-dataset-out (their
        predictions are pooled over the folds), one per (train, test) pair for cross-dataset.
    """
    datasets = np.asarray(datasets).astype(str)
    names = tuple(sorted(set(datasets.tolist())))
    name = spec.get("name", "loso")
    if name == "loso":
        return [Task("loso", names, pool, tuple(loso_splits(groups)))]
    if name == "kfold":
        splits = kfold_splits(groups, int(spec.get("k") or 5), int(spec.get("seed") or 0))
        return [Task("kfold", names, pool, tuple(splits))]
    if name == "holdout":
        splits = holdout_splits(groups, spec.get("test_subjects") or [])
        return [Task("holdout", names, pool, tuple(splits))]
    if name == "leave_one_dataset_out":
        return [Task(name, names, pool, tuple(leave_one_dataset_out_splits(datasets)))]
    if name == "cross_dataset":
        pairs = cross_dataset_pairs(spec, names)
        return [
            Task(name, tuple(train), test, tuple(cross_dataset_splits(datasets, train, test)))
            for train, test in pairs
        ]
    raise DatasetError(f"unknown protocol {name!r}; choose one of: {', '.join(PROTOCOLS)}")


def cross_dataset_pairs(
    spec: Mapping[str, Any], names: Sequence[str]
) -> list[tuple[tuple[str, ...], str]]:
    """``(train databases, test database)`` pairs of a cross-dataset spec over databases ``names``.

    ``pairs: all`` is every ordered pair of distinct databases; ``pairs: [[a, b], ...]`` the listed
    ones; else ``train: [...]`` against each database of ``test: [...]``.

    Raises
    ------
    DatasetError
        A database name that is not among ``names``.
    """
    pairs: list[tuple[tuple[str, ...], str]]
    given = spec.get("pairs")
    if given == "all":
        pairs = [((a,), b) for a in names for b in names if a != b]
    elif given:
        pairs = [((str(a),), str(b)) for a, b in given]
    else:
        test = spec.get("test") or []
        pairs = [
            (tuple(map(str, spec.get("train") or [])), str(t))
            for t in ([test] if isinstance(test, str) else test)
        ]
    for train, test in pairs:
        unknown = sorted({*train, test} - set(names))
        if unknown:
            raise DatasetError(
                f"cross_dataset: unknown dataset(s) {unknown}; the data holds {', '.join(names)}"
            )
    return pairs
