"""Recognition metrics with the conventions of the MER literature.

All functions take label arrays pooled over every LOSO fold (the MEGC convention: counts are pooled
before averaging over classes, not averaged per fold).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix as _sk_confusion


def _labels(y_true: np.ndarray, labels: Sequence | None) -> np.ndarray:
    return np.unique(y_true) if labels is None else np.asarray(labels)


def war(y_true: Sequence, y_pred: Sequence) -> float:
    """Weighted average recall = accuracy = sum_k TP_k / N (Zhou et al., eq. 1).

    Parameters
    ----------
    y_true, y_pred : sequence of int or str, shape (N,)
        True and predicted labels pooled over folds.

    Returns
    -------
    float in [0, 1]
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.size == 0:
        raise ValueError("war() needs at least one prediction")
    return float(np.mean(y_true == y_pred))


def uar(y_true: Sequence, y_pred: Sequence, labels: Sequence | None = None) -> float:
    """Unweighted average recall: mean over the classes present in ``y_true`` of TP_k / N_k."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labs = _labels(y_true, labels)
    recalls = [np.mean(y_pred[y_true == k] == k) for k in labs if np.any(y_true == k)]
    return float(np.mean(recalls))


def uf1(y_true: Sequence, y_pred: Sequence, labels: Sequence | None = None) -> float:
    """Unweighted F1 (MEGC): mean over classes of 2TP / (2TP + FP + FN), counts pooled over folds.

    Classes are those of ``labels`` (default: the classes present in ``y_true``).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    scores = []
    for k in _labels(y_true, labels):
        tp = np.sum((y_true == k) & (y_pred == k))
        fp = np.sum((y_true != k) & (y_pred == k))
        fn = np.sum((y_true == k) & (y_pred != k))
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def confusion(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> np.ndarray:
    """Confusion matrix, rows = true class, columns = predicted class, in ``labels`` order (int64)."""
    return _sk_confusion(np.asarray(y_true), np.asarray(y_pred), labels=list(labels))


def all_metrics(
    y_true: Sequence, y_pred: Sequence, labels: Sequence | None = None
) -> dict[str, float]:
    """``{"war", "uar", "uf1"}`` for pooled predictions."""
    return {
        "war": war(y_true, y_pred),
        "uar": uar(y_true, y_pred, labels),
        "uf1": uf1(y_true, y_pred, labels),
    }
