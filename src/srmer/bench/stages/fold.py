"""The fold stage: the LOSO protocol of one (dataset, setting, MER) cell on cached representations.

Every estimator is fitted on the training subjects of its fold only (``srmer.eval.protocol``); a
cell's predictions are cached under a key of the representations, labels, subjects, the MER and SR
configuration, the seed and the protocol, so changing any of them refits the cell and nothing else.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from srmer.bench.cache import make_key
from srmer.bench.config import MethodSpec
from srmer.bench.stages.clip import cell_mer

#: version of the fold stage; bump when its predictions change
FOLD_VERSION = 1


@dataclass
class FoldJob:
    """One cell's inputs (picklable): ``X`` ``(N, ...)`` float32 representations, ``y`` ``(N,)`` int
    labels in ``[0, n_classes)``, ``groups`` ``(N,)`` subject ids."""

    mer: MethodSpec
    sr: MethodSpec | None
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    n_classes: int
    seed: int
    protocol: str
    #: folder where network estimators checkpoint each fold ("" for none)
    checkpoints: str = ""

    def key(self) -> str:
        """Cache key of the cell's predictions."""
        return make_key(
            "fold",
            {
                "mer": self.mer.model_dump(mode="json"),
                "sr": self.sr.model_dump(mode="json") if self.sr is not None else None,
                "seed": self.seed,
                "protocol": self.protocol,
            },
            [
                hashlib.sha256(np.ascontiguousarray(self.X).tobytes()).hexdigest(),
                hashlib.sha256(
                    self.y.tobytes() + "|".join(map(str, self.groups)).encode()
                ).hexdigest(),
            ],
            FOLD_VERSION,
        )


def fold_job(job: FoldJob) -> np.ndarray:
    """LOSO predictions ``(N,)`` int of one cell, in the order of ``job.y``."""
    from srmer.eval.protocol import loso_predict

    mer = cell_mer(job.mer, job.sr)

    def make():
        est = mer.estimator(job.n_classes, job.seed)
        # networks checkpoint each fold (keyed by its training data and settings), so a killed
        # cell resumes mid-training instead of starting the fold again
        if job.checkpoints and getattr(est, "checkpoint_dir", False) is None:
            est.checkpoint_dir = job.checkpoints
        return est

    return loso_predict(make, job.X, job.y, job.groups)
