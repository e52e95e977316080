"""Evaluation protocols: leave-one-subject-out (LOSO) with pooled predictions.

Anything fitted (scalers, SVM hyper-parameters, networks) is fitted inside :func:`loso_predict` on the
training subjects of a fold only; estimators that select hyper-parameters internally receive the
training subjects' groups so their inner split never sees the test subject.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut


def loso_splits(groups: Sequence) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-subject-out folds.

    Parameters
    ----------
    groups : sequence, shape (N,)
        Subject id of each sample.

    Yields
    ------
    (train_idx, test_idx) : int arrays
        One fold per subject, in sorted subject order; no subject is in both.
    """
    groups = np.asarray(groups)
    if np.unique(groups).size < 2:
        raise ValueError("LOSO needs samples from at least two subjects")
    yield from LeaveOneGroupOut().split(np.zeros(len(groups)), groups=groups)


def _accepts_groups(estimator: Any) -> bool:
    try:
        return "groups" in inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return False


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
    if _accepts_groups(est):
        est.fit(X[train], y[train], groups=groups[train])
    else:
        est.fit(X[train], y[train])
    return np.asarray(est.predict(X[test]))


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
        Per-sample representations.
    y : sequence, shape (N,)
        Labels.
    groups : sequence, shape (N,)
        Subject ids.
    n_jobs : int
        Folds run in parallel with joblib when > 1.

    Returns
    -------
    ndarray, shape (N,)
        Predicted label of each sample.
    """
    X, y, groups = np.asarray(X), np.asarray(y), np.asarray(groups)
    folds = list(loso_splits(groups))
    if n_jobs == 1:
        preds = [fit_predict_fold(make_estimator, X, y, groups, tr, te) for tr, te in folds]
    else:
        from joblib import Parallel, delayed

        preds = Parallel(n_jobs=n_jobs)(
            delayed(fit_predict_fold)(make_estimator, X, y, groups, tr, te) for tr, te in folds
        )
    out = np.empty(len(y), dtype=y.dtype)
    for (_, te), p in zip(folds, preds, strict=True):
        out[te] = p
    return out
