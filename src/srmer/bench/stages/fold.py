"""The fold stage: one protocol task of one (pool, setting, MER) cell on cached representations.

Every estimator is fitted on the training rows of its split only (``srmer.eval.protocol``); a cell's
predictions are cached under a key of the representations, labels and subjects of the rows the task
uses, its splits, the MER and SR configuration and the seed, so changing any of them refits the cell
and nothing else (and a task two protocols share, e.g. CASME II -> SAMM, is fitted once).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from srmer.bench.cache import make_key
from srmer.bench.config import MethodSpec
from srmer.bench.stages.clip import cell_mer, fold_dependent

#: version of the fold stage; bump when its predictions change
FOLD_VERSION = 2


@dataclass
class FoldJob:
    """One cell's inputs (picklable): ``X`` ``(N, ...)`` float32 representations, ``y`` ``(N,)`` int
    labels in ``[0, n_classes)``, ``groups`` ``(N,)`` subject ids, ``splits`` the
    ``(train_idx, test_idx)`` pairs into those rows, ``rows`` the pool rows they are."""

    mer: MethodSpec
    sr: MethodSpec | None
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    splits: tuple[tuple[np.ndarray, np.ndarray], ...]
    n_classes: int
    seed: int
    #: folder where network estimators checkpoint each fold ("" for none)
    checkpoints: str = ""
    #: the pool rows of X (sorted)
    rows: np.ndarray | None = None
    #: the run's SR context (task-driven SR fine-tunes its pool-trained weights per fold)
    sr_context: dict | None = None

    @classmethod
    def of_task(
        cls,
        mer: MethodSpec,
        sr: MethodSpec | None,
        X: np.ndarray,
        y: np.ndarray,
        groups: np.ndarray,
        splits: Sequence[tuple[np.ndarray, np.ndarray]],
        n_classes: int,
        seed: int,
        checkpoints: str = "",
        sr_context: dict | None = None,
    ) -> FoldJob:
        """A job holding only the pool rows the task's splits use (a cross-dataset pair does not
        carry the third database), with the splits re-indexed into them."""
        rows = np.unique(np.concatenate([np.concatenate([tr, te]) for tr, te in splits]))
        local = np.full(len(y), -1)
        local[rows] = np.arange(rows.size)
        return cls(
            mer,
            sr,
            X[rows],
            y[rows],
            groups[rows],
            tuple((local[tr], local[te]) for tr, te in splits),
            n_classes,
            seed,
            checkpoints,
            rows,
            sr_context if fold_dependent(sr) else None,
        )

    @property
    def tested(self) -> np.ndarray:
        """Sorted local indices of the rows the splits test (the order of the predictions)."""
        return np.sort(np.concatenate([te for _, te in self.splits]))

    @property
    def tested_rows(self) -> np.ndarray:
        """Pool rows of the predictions, in their order."""
        t = self.tested
        return t if self.rows is None else self.rows[t]

    @property
    def n_tested(self) -> int:
        return int(sum(len(te) for _, te in self.splits))

    def key(self) -> str:
        """Cache key of the cell's predictions."""
        h = hashlib.sha256()
        for tr, te in self.splits:
            h.update(np.asarray(tr, np.int64).tobytes() + b"|" + np.asarray(te, np.int64).tobytes())
            h.update(b";")
        return make_key(
            "fold",
            {
                "mer": self.mer.model_dump(mode="json"),
                "sr": self.sr.model_dump(mode="json") if self.sr is not None else None,
                "seed": self.seed,
                # task-driven SR starts from the pool-trained weights: they enter the key
                **(
                    {"sr_weights": self.sr_context.get("models", {}).get(self.sr.label, "")}
                    if self.sr_context and self.sr is not None
                    else {}
                ),
            },
            [
                hashlib.sha256(np.ascontiguousarray(self.X).tobytes()).hexdigest(),
                hashlib.sha256(
                    self.y.tobytes() + "|".join(map(str, self.groups)).encode()
                ).hexdigest(),
                h.hexdigest(),
            ],
            FOLD_VERSION,
        )


def fold_job(job: FoldJob) -> np.ndarray:
    """Predictions ``(M,)`` int of one cell's tested rows, in the order of :attr:`FoldJob.tested`."""
    from srmer.eval.protocol import predict_splits

    mer = cell_mer(job.mer, job.sr, job.sr_context)

    def make():
        est = mer.estimator(job.n_classes, job.seed)
        # networks checkpoint each fold (keyed by its training data and settings), so a killed
        # cell resumes mid-training instead of starting the fold again
        if job.checkpoints and getattr(est, "checkpoint_dir", False) is None:
            est.checkpoint_dir = job.checkpoints
        return est

    _, y_pred = predict_splits(make, job.X, job.y, job.groups, job.splits)
    return y_pred
