"""The contract every micro-expression recognition (MER) method fulfils.

A MER method has two halves, kept apart so the benchmark engine can cache and parallelise them:

* ``represent(clip, onset, apex)``: a pure per-clip function (descriptor, flow images, TIM sequence)
  whose output the engine caches per (clip, resolution, SR method);
* ``estimator(n_classes, seed)``: a fresh scikit-learn-style estimator (``fit(X, y)`` / ``predict(X)``)
  that the protocol fits on the training subjects of one fold only.

Methods do not know about grids, caches or executors (benchopt's separation).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np


class MERMethod(ABC):
    """Base class of MER methods.

    Subclasses set ``name``, ``description`` and ``citation``, accept their parameters as keyword
    arguments (validated in ``__init__`` with a :class:`srmer.errors.ConfigError` naming the bad one) and
    implement :meth:`represent` and :meth:`estimator`.
    """

    name: ClassVar[str] = ""
    #: the papers' spelling, used in tables and the report (``"3DHOG"`` for ``hog3d``)
    display_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    #: "descriptor" (fixed-length vector + SVM) or "network" (trained on flow images / sequences)
    kind: ClassVar[str] = "descriptor"
    #: which frames ``represent`` reads: ``"all"``, or ``"onset_apex"`` (the flow networks), so a
    #: caller that must restore frames first (task-driven SR) restores only those
    reads_frames: ClassVar[str] = "all"
    #: bump when ``represent`` changes its output, so cached representations are recomputed
    version: ClassVar[int] = 1

    def __init__(self, **params: Any) -> None:
        self.params = params

    @abstractmethod
    def represent(self, clip: np.ndarray, onset: int = 0, apex: int | None = None) -> np.ndarray:
        """Per-clip representation.

        Parameters
        ----------
        clip : ndarray
            ``(T, H, W, 3)`` RGB or ``(T, H, W)`` grey, uint8, frames onset..offset at any resolution.
        onset, apex : int
            Indices into ``clip`` of the onset and apex frames (apex ``None``: middle frame).

        Returns
        -------
        ndarray
            A fixed-shape float32 array (same shape for every clip of an experiment).
        """

    @abstractmethod
    def estimator(self, n_classes: int, seed: int = 0) -> Any:
        """A fresh, unfitted estimator with ``fit(X, y)`` and ``predict(X)``."""

    def cache_params(self) -> dict[str, Any]:
        """Parameters that determine :meth:`represent`'s output (for cache keys)."""
        return dict(self.params)
