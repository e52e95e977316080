"""Beyond the paper: feature super-resolution for micro-expression descriptors (SR method ``fsr``).

FSR-FER (Jing et al. 2020, Jing et al.) maps the features of a low-resolution face towards those of its
high-resolution original, then classifies them with a classifier trained on HR features. This module
applies the same idea to the benchmark's hand-crafted micro-expression descriptors (LBP-TOP, LBP-SIP,
LPQ-TOP, HOG-TOP, HIGO-TOP, 3DHOG): inside every LOSO fold, a mapping ``LR descriptor -> HR descriptor``
is learned from the *training subjects'* paired descriptors (the same clip at the low resolution and at
the HR size), and the fold's classifier is trained on HR descriptors (``train_on="hr"``, the paper's
frozen HR classifier), on mapped training descriptors (``"sr"``) or both (``"both"``, default).

Why a MER-method wrapper and not a plain :class:`~srmer.sr.methods.SRMethod`
-----------------------------------------------------------------------------
An SR method turns an LR clip into a restored clip, but feature SR changes the *representation*, and
its mapping must be fitted per fold on training subjects only (a mapping fitted on every clip would
leak the test subject's HR descriptors). Both needs are met by the MER contract
(:mod:`srmer.mer.base`): ``represent`` is per clip and cached, ``estimator`` is fitted inside a fold. So

* :class:`FeatureSR` is the SR method ``fsr`` of the grid (``kind = "feature"``): its ``upscale`` is
  bicubic restoration (as FSR-FER's bicubic up-sampling before F; ``restore: none`` keeps the LR clip),
  and its :meth:`FeatureSR.wrap` turns the grid's MER method into an :class:`FSRMER`;
* :class:`FSRMER` wraps a descriptor method: ``represent`` is the base descriptor of the (restored) LR
  clip; :meth:`FSRMER.represent_pair` stacks it with the descriptor of the HR clip; ``estimator``
  returns an :class:`FSREstimator` that splits the stacked row, fits the mapping and the classifier on
  the training rows, and predicts from the LR half only (the HR half of test rows is never read; a
  test checks predictions are unchanged when it is NaN).

How the benchmark uses it
-------------------------
1. ``"fsr": "srmer.mer.fsr:FeatureSR"`` is registered in :data:`srmer.sr.methods.SR_METHODS` by
   string (this module is in the MER layer, above SR: the SR layer never imports it). The
   ``fsr_<descriptor>`` classes of :data:`MER_ENTRIES` can be used without the SR method.
2. For an SR method with ``kind == "feature"`` the runner replaces each MER method ``m`` by
   ``sr.wrap(m)`` and computes the representation as ``wrapped.represent_pair(sr_clip, hr_clip,
   onset, apex)``, where ``sr_clip = sr.upscale(lr_clip, size)`` and ``hr_clip`` is the pre-processed
   HR clip; it is cached under the SR method's key as any other representation.
3. Nothing changes in the protocol: :func:`srmer.eval.protocol.fit_predict_fold` fits the estimator on
   the training rows (training subjects only) and predicts the test rows.

Only descriptor methods (fixed-length vectors) are wrapped; flow networks would need their own
feature-level generator and are not covered (said so in ``docs/fsr_fer.md``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from srmer.errors import ConfigError
from srmer.mer.base import MERMethod
from srmer.sr.methods import SRMethod

__all__ = ["FSRMER", "MER_ENTRIES", "FSREstimator", "FeatureSR", "make_fsr_mer"]

_TRAIN_ON = ("hr", "sr", "both")


class FSREstimator(ClassifierMixin, BaseEstimator):
    """LR->HR descriptor mapping + classifier, fitted on training rows of paired descriptors.

    Parameters
    ----------
    base : estimator
        Classifier with ``fit(X, y[, groups])`` / ``predict(X)`` (e.g. a descriptor method's
        :class:`~srmer.mer.descriptors.DescriptorSVM`); cloned in ``fit``.
    n_lr : int, optional
        Length ``D`` of one descriptor: rows are ``[lr (D) | hr (D)]`` in ``fit`` (default: half the
        row); ``predict`` takes ``(N, D)`` or ``(N, 2D)`` rows and reads the first ``D`` columns only.
    alpha : float
        Ridge regularisation of the mapping (on standardised LR descriptors).
    residual : bool
        Regress ``hr - lr`` (FSR-FER's generator learns a residual) instead of ``hr``.
    train_on : {"hr", "sr", "both"}
        Rows the classifier is fitted on: HR descriptors (the paper's HR classifier), mapped LR
        descriptors, or both stacked.

    Notes
    -----
    The paper's GAN generator is replaced by a closed-form ridge regression: micro-expression folds
    hold tens of clips, far too few to train a generator and a critic, and the ridge solution is the
    minimiser of the feature-wise L2 term of the paper's generator loss.
    """

    def __init__(
        self,
        base: Any,
        n_lr: int | None = None,
        alpha: float = 1.0,
        residual: bool = True,
        train_on: str = "both",
    ) -> None:
        self.base = base
        self.n_lr = n_lr
        self.alpha = alpha
        self.residual = residual
        self.train_on = train_on

    def _split(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        d = self.n_lr if self.n_lr is not None else X.shape[1] // 2
        if X.shape[1] != 2 * d or d == 0:
            raise ValueError(
                f"FSREstimator.fit needs rows [lr | hr] of 2 x {d} values, got {X.shape[1]}; "
                f"build them with FSRMER.represent_pair"
            )
        self.n_lr_ = d
        return X[:, :d], X[:, d:]

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> FSREstimator:
        """Fit mapping and classifier on training rows ``X`` (N, 2D), labels ``y``, subjects ``groups``."""
        if self.train_on not in _TRAIN_ON:
            raise ValueError(f"train_on={self.train_on!r}; use one of {', '.join(_TRAIN_ON)}")
        lr, hr = self._split(X)
        y = np.asarray(y)
        target = hr - lr if self.residual else hr
        self.mapper_ = make_pipeline(StandardScaler(), Ridge(alpha=self.alpha)).fit(lr, target)
        sr = self.map(lr)
        if self.train_on == "hr":
            Xc, yc, gc = hr, y, groups
        elif self.train_on == "sr":
            Xc, yc, gc = sr, y, groups
        else:
            Xc, yc = np.vstack([hr, sr]), np.concatenate([y, y])
            gc = None if groups is None else np.concatenate([groups, groups])
        self.clf_ = clone(self.base)
        try:
            self.clf_.fit(Xc, yc, groups=gc) if gc is not None else self.clf_.fit(Xc, yc)
        except TypeError:  # a classifier without a groups parameter
            self.clf_.fit(Xc, yc)
        self.classes_ = getattr(self.clf_, "classes_", np.unique(y))
        return self

    def map(self, lr: np.ndarray) -> np.ndarray:
        """Super-resolved descriptors ``(N, D)`` of LR descriptors ``(N, D)``."""
        lr = np.asarray(lr, dtype=np.float64).reshape(len(lr), -1)
        out = self.mapper_.predict(lr)
        return lr + out if self.residual else out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels of rows ``X`` (N, D) or (N, 2D); only the LR descriptor (first D values) is read."""
        X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        return self.clf_.predict(self.map(X[:, : self.n_lr_]))


class FSRMER(MERMethod):
    """A descriptor MER method with feature super-resolution (see the module notes).

    Options: ``base`` (a descriptor method name of :mod:`srmer.mer.registry`, default ``lbptop``),
    ``alpha``, ``residual``, ``train_on`` (see :class:`FSREstimator`), and any option of the base
    method (descriptor and classifier options), passed through.
    """

    name = "fsr"
    description = "feature SR of descriptors: LR->HR ridge mapping fitted on training subjects"
    citation = (
        "W. Jing, F. Tian, J. Zhang, K.-M. Chao, Z. Hong, X. Liu, Feature super-resolution based facial "
        "expression recognition for multi-scale low-resolution faces, arXiv:2004.02234, 2020"
    )
    kind = "descriptor"
    needs_hr_pair: ClassVar[bool] = True
    base_name: ClassVar[str] = "lbptop"
    #: the feature-SR options and their defaults (the base method's options pass through)
    fsr_defaults: ClassVar[dict[str, Any]] = {"alpha": 1.0, "residual": True, "train_on": "both"}

    def __init__(self, **params: Any) -> None:
        from srmer.mer.registry import create

        base = params.pop("base", self.base_name)
        self.fsr_params = {k: params.pop(k, v) for k, v in self.fsr_defaults.items()}
        if self.fsr_params["train_on"] not in _TRAIN_ON:
            raise ConfigError(
                f"mer {self.name}: train_on={self.fsr_params['train_on']!r} is invalid; use "
                f"{', '.join(_TRAIN_ON)}"
            )
        a = self.fsr_params["alpha"]
        if not isinstance(a, int | float) or isinstance(a, bool) or a <= 0:
            raise ConfigError(f"mer {self.name}: alpha={a!r} is invalid; use a positive number")
        self.base = create(base, **params)
        if self.base.kind != "descriptor":
            raise ConfigError(
                f"mer {self.name}: base={base!r} is a {self.base.kind} method; feature SR wraps "
                f"descriptor methods (lbptop, lbpsip, lpqtop, hog3d, hogtop, higotop)"
            )
        super().__init__(base=base, **self.fsr_params, **params)

    def represent(self, clip: np.ndarray, onset: int = 0, apex: int | None = None) -> np.ndarray:
        """The base descriptor of the (LR or restored) clip, float32 ``(D,)``."""
        return self.base.represent(clip, onset, apex)

    def represent_pair(
        self, clip: np.ndarray, hr_clip: np.ndarray, onset: int = 0, apex: int | None = None
    ) -> np.ndarray:
        """``[descriptor(clip) | descriptor(hr_clip)]``, float32 ``(2D,)``: one row of the fold data."""
        lr = self.represent(clip, onset, apex)
        hr = self.base.represent(hr_clip, onset, apex)
        if hr.shape != lr.shape:
            raise ConfigError(
                f"mer {self.name}: LR and HR descriptors differ in length ({lr.size} vs {hr.size}); "
                f"use block-histogram options that do not depend on the frame size"
            )
        return np.concatenate([lr, hr]).astype(np.float32)

    def estimator(self, n_classes: int, seed: int = 0, n_lr: int | None = None) -> FSREstimator:
        """A fresh :class:`FSREstimator` around the base method's classifier.

        ``n_lr`` is the descriptor length; by default the estimator takes half of each training row
        (rows are made by :meth:`represent_pair`, possibly in other processes).
        """
        return FSREstimator(self.base.estimator(n_classes, seed), n_lr, **self.fsr_params)

    def cache_params(self) -> dict[str, Any]:
        """The base descriptor's options (the mapping is fitted per fold, not cached)."""
        return {"base": self.base.name, **self.base.cache_params()}


def make_fsr_mer(base: str) -> type[FSRMER]:
    """An :class:`FSRMER` subclass named ``fsr_<base>`` whose default base is ``base``."""
    return type(
        f"FSR_{base.upper()}",
        (FSRMER,),
        {"name": f"fsr_{base}", "base_name": base, "__module__": __name__},
    )


FSR_LBPTOP = make_fsr_mer("lbptop")
FSR_LBPSIP = make_fsr_mer("lbpsip")
FSR_LPQTOP = make_fsr_mer("lpqtop")
FSR_HOGTOP = make_fsr_mer("hogtop")
FSR_HIGOTOP = make_fsr_mer("higotop")
FSR_HOG3D = make_fsr_mer("hog3d")

#: entries the lead can merge into :data:`srmer.mer.registry.MER_METHODS`
MER_ENTRIES: dict[str, str] = {
    f"fsr_{b}": f"srmer.mer.fsr:FSR_{b.upper()}"
    for b in ("lbptop", "lbpsip", "lpqtop", "hogtop", "higotop", "hog3d")
}


class FeatureSR(SRMethod):
    """SR method ``fsr``: feature-level SR of the MER descriptors (wraps the grid's MER method).

    Options: ``restore`` (``bicubic``, default: the LR clip is bicubic-restored to the HR size before
    the descriptor, as FSR-FER feeds bicubic-up-sampled faces to F; ``none``: describe the LR clip),
    ``alpha``, ``residual``, ``train_on`` (passed to :class:`FSRMER`).
    """

    name = "fsr"
    display_name = "FSR"
    description = "feature SR (the idea of Jing et al.): LR descriptors mapped to HR ones per fold"
    kind = "feature"
    #: options and their defaults (``srmer list`` shows them)
    defaults: ClassVar[dict[str, Any]] = {"restore": "bicubic", **FSRMER.fsr_defaults}

    def __init__(self, **options: Any) -> None:
        restore = options.get("restore", "bicubic")
        if restore not in ("bicubic", "none"):
            raise ConfigError(f"sr fsr: restore={restore!r} is invalid; use bicubic or none")
        unknown = set(options) - set(self.defaults)
        if unknown:
            raise ConfigError(
                f"sr fsr: unknown option(s) {', '.join(sorted(unknown))}; known: "
                f"{', '.join(self.defaults)}"
            )
        super().__init__(**options)

    def upscale(self, clip: np.ndarray, size: int) -> np.ndarray:
        if self.options.get("restore", "bicubic") == "none":
            return clip
        from srmer.degrade import resize_clip

        return resize_clip(clip, size)

    def wrap(self, mer: MERMethod) -> FSRMER:
        """The feature-SR version of a descriptor MER method (same descriptor and classifier options)."""
        if isinstance(mer, FSRMER):
            return mer
        opts = {k: v for k, v in self.options.items() if k != "restore"}
        return FSRMER(base=mer.name, **opts, **mer.params)
