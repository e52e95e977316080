"""Hand-crafted descriptor + SVM micro-expression recognition methods.

Every method here is a :class:`DescriptorMethod`: ``represent`` turns an RGB or grey clip into one
descriptor vector (a function of :mod:`srmer.features`), ``estimator`` returns a
:class:`DescriptorSVM`. Config options are split between the two: the descriptor's own parameters
(``radii``, ``blocks``, ...) and the classifier options shared by all methods:

``kernel``
    ``linear`` (Zhou et al.: "linear kernel based SVM throughout"; the default), ``poly`` or ``rbf``
    (Sharma et al. section 2.4 lists the three LIBSVM kernels).
``C``, ``gamma``, ``degree``, ``coef0``
    Kernel parameters as in :class:`sklearn.svm.SVC` (LIBSVM). Defaults ``C=1000``,
    ``gamma="scale"``, ``degree=3``, ``coef0=0``. Why ``C=1000`` and not LIBSVM's 1: the descriptors
    are concatenations of histograms that each sum to 1, so single features are ~0.01-0.1 and with
    ``C=1`` the SVM is so strongly regularised that it predicts near chance. Measured with LOSO on
    the built-in synthetic data (8 subjects x 8 clips, 256x256, 2 px): LBP-TOP WAR 0.23 / 0.31 /
    0.56 / 0.53 / 0.53 for C = 1 / 10 / 100 / 1000 / 10000; HOG-TOP 0.22 / 0.20 / 0.33 / 0.39 / 0.39;
    LPQ-TOP (5x5 blocks) 0.22 / 0.22 / 0.30 / 0.47 / 0.47. With far fewer clips than features the
    classes are linearly separable and every C above ~1000 gives the same maximum-margin solution;
    Zhou et al. does not state its C.
``scale``
    ``none`` (default), ``standard`` or ``minmax``: optional feature scaling fitted on the training
    subjects only. Zhou et al. feeds the normalised histograms to the SVM as they are, so ``none`` is the
    default; scaling sparse histogram bins up to unit variance tends to amplify noise bins.
``class_weight``
    ``None`` (default, LIBSVM's default) or ``"balanced"``.
``select``
    ``False`` (default) or ``True``: choose the kernel parameters by grid search *inside the training
    subjects of each fold*; see :class:`DescriptorSVM`.
``grid``, ``inner_cv``, ``scoring``
    Selection grid (``{"C": [...], "gamma": [...]}``; default per kernel, see
    :data:`DEFAULT_GRIDS`), inner split (``"logo"``: leave one training subject out, or an int ``k``:
    ``GroupKFold(k)``) and scikit-learn scoring name (``"accuracy"`` = WAR, ``"balanced_accuracy"`` =
    UAR, ``"f1_macro"`` ~ UF1).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GridSearchCV, GroupKFold, LeaveOneGroupOut, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import SVC

from srmer.errors import ClipError, ConfigError
from srmer.features._common import DescriptorInputError
from srmer.mer.base import MERMethod

__all__ = [
    "CLASSIFIER_DEFAULTS",
    "DEFAULT_GRIDS",
    "HIGOTOP",
    "HOG3D",
    "HOGTOP",
    "LBPSIP",
    "LBPTOP",
    "LPQTOP",
    "MDMO",
    "DescriptorMethod",
    "DescriptorSVM",
]

#: classifier options every descriptor method accepts, with their defaults
CLASSIFIER_DEFAULTS: dict[str, Any] = {
    "kernel": "linear",
    "C": 1000.0,
    "gamma": "scale",
    "degree": 3,
    "coef0": 0.0,
    "scale": "none",
    "class_weight": None,
    "select": False,
    "grid": None,
    "inner_cv": "logo",
    "scoring": "accuracy",
}

#: hyper-parameter grids searched when ``select=True`` and no ``grid`` is given
DEFAULT_GRIDS: dict[str, dict[str, list[Any]]] = {
    "linear": {"C": [1.0, 10.0, 100.0, 1000.0, 10000.0]},
    "rbf": {"C": [1.0, 10.0, 100.0, 1000.0], "gamma": ["scale", 0.1, 1.0, 10.0]},
    "poly": {"C": [10.0, 100.0, 1000.0], "degree": [2, 3], "gamma": ["scale"]},
}

_SCALERS = {"none": None, "standard": StandardScaler, "minmax": MinMaxScaler}


class DescriptorSVM(ClassifierMixin, BaseEstimator):
    """SVM on descriptor vectors, with optional subject-grouped hyper-parameter selection.

    Parameters
    ----------
    kernel, C, gamma, degree, coef0, class_weight
        As :class:`sklearn.svm.SVC`.
    scale : {"none", "standard", "minmax"}
        Feature scaling step of the pipeline (fitted in ``fit``, i.e. on training subjects only).
    select : bool
        Grid-search the SVM parameters in ``fit``.
    grid : dict or None
        ``{svc parameter: list of values}``; ``None``: :data:`DEFAULT_GRIDS` of the kernel.
    inner_cv : "logo" or int
        Inner split over the *training* subjects: leave one subject out, or ``GroupKFold(k)``
        (``k`` capped at the number of training subjects).
    scoring : str
        scikit-learn scorer name used to pick the parameters.
    seed : int
        ``random_state`` of the SVC (only used by LIBSVM's probability estimates; SVC and the
        grouped splits are otherwise deterministic).

    Notes
    -----
    ``fit(X, y, groups=None)`` takes the subject of every training row. The LOSO protocol
    (:func:`srmer.eval.protocol.fit_predict_fold`) passes the training subjects' groups to any
    estimator whose ``fit`` has a ``groups`` parameter, so the inner split of the selection never sees
    the test subject (nested LOSO). Without groups, selection falls back to a stratified 3-fold split
    of the training rows with a warning: clips of one subject then share folds, which flatters the
    inner scores (subject leakage *within* the training set; the test subject is still never seen).
    After ``fit``, ``best_params_`` holds the chosen parameters (or the fixed ones).
    """

    def __init__(
        self,
        kernel: str = "linear",
        C: float = 1000.0,
        gamma: str | float = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        scale: str = "none",
        class_weight: str | None = None,
        select: bool = False,
        grid: dict[str, list[Any]] | None = None,
        inner_cv: str | int = "logo",
        scoring: str = "accuracy",
        seed: int = 0,
    ) -> None:
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.scale = scale
        self.class_weight = class_weight
        self.select = select
        self.grid = grid
        self.inner_cv = inner_cv
        self.scoring = scoring
        self.seed = seed

    def _pipeline(self) -> Pipeline:
        scaler = _SCALERS[self.scale]
        svc = SVC(
            kernel=self.kernel,
            C=self.C,
            gamma=self.gamma,
            degree=self.degree,
            coef0=self.coef0,
            class_weight=self.class_weight,
            random_state=self.seed,
        )
        return Pipeline([("scale", scaler() if scaler else "passthrough"), ("svm", svc)])

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> DescriptorSVM:
        """Fit on training rows ``X`` (N, D), labels ``y`` (N,), subjects ``groups`` (N,)."""
        X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        y = np.asarray(y)
        pipe = self._pipeline()
        if not self.select:
            self.model_ = pipe.fit(X, y)
            self.best_params_ = {
                k: getattr(self, k) for k in ("kernel", "C", "gamma", "degree", "coef0")
            }
        else:
            grid = self.grid if self.grid is not None else DEFAULT_GRIDS[self.kernel]
            param_grid = {f"svm__{k}": list(v) for k, v in grid.items()}
            n_groups = 0 if groups is None else np.unique(groups).size
            if n_groups >= 2:
                cv = (
                    LeaveOneGroupOut()
                    if self.inner_cv == "logo"
                    else GroupKFold(n_splits=min(int(self.inner_cv), n_groups))
                )
                fit_params = {"groups": np.asarray(groups)}
            else:
                warnings.warn(
                    "DescriptorSVM(select=True) got no subject groups (or one subject): selecting "
                    "on a stratified 3-fold split of the training rows, which mixes clips of a "
                    "subject across inner folds; pass fit(X, y, groups=subjects)",
                    stacklevel=2,
                )
                n_min = int(np.bincount(np.unique(y, return_inverse=True)[1]).min())
                cv = StratifiedKFold(n_splits=max(2, min(3, n_min)))
                fit_params = {}
            with warnings.catch_warnings():
                # inner training folds can lack a class; sklearn warns per fold, the fit is still valid
                warnings.simplefilter("ignore", UserWarning)
                search = GridSearchCV(pipe, param_grid, cv=cv, scoring=self.scoring, n_jobs=1)
                search.fit(X, y, **fit_params)
            self.model_ = search.best_estimator_
            self.best_params_ = {k.removeprefix("svm__"): v for k, v in search.best_params_.items()}
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted labels of rows ``X`` (N, D)."""
        return self.model_.predict(np.asarray(X, dtype=np.float64).reshape(len(X), -1))

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """SVC decision values of rows ``X`` (N, D)."""
        return self.model_.decision_function(np.asarray(X, dtype=np.float64).reshape(len(X), -1))


def _check_classifier(opts: dict[str, Any], method: str) -> None:
    def bad(field: str, fix: str) -> ConfigError:
        return ConfigError(f"mer {method}: {field}={opts[field]!r} is invalid; {fix}")

    if opts["kernel"] not in ("linear", "poly", "rbf"):
        raise bad("kernel", "use linear, poly or rbf")
    if not isinstance(opts["C"], int | float) or isinstance(opts["C"], bool) or opts["C"] <= 0:
        raise bad("C", "use a positive number, e.g. C: 1.0")
    g = opts["gamma"]
    if not (
        g in ("scale", "auto") or (isinstance(g, int | float) and not isinstance(g, bool) and g > 0)
    ):
        raise bad("gamma", "use scale, auto or a positive number")
    if (
        not isinstance(opts["degree"], int)
        or isinstance(opts["degree"], bool)
        or opts["degree"] < 1
    ):
        raise bad("degree", "use a positive integer, e.g. degree: 3")
    if not isinstance(opts["coef0"], int | float) or isinstance(opts["coef0"], bool):
        raise bad("coef0", "use a number, e.g. coef0: 0.0")
    if opts["scale"] not in _SCALERS:
        raise bad("scale", "use none, standard or minmax")
    if opts["class_weight"] not in (None, "balanced"):
        raise bad("class_weight", "use balanced or leave it out")
    if not isinstance(opts["select"], bool):
        raise bad("select", "use true or false")
    grid = opts["grid"]
    if grid is not None:
        allowed = {"C", "gamma", "degree", "coef0", "kernel", "class_weight"}
        if not isinstance(grid, dict) or not grid:
            raise bad("grid", "use a mapping such as {C: [0.1, 1, 10]}")
        for k, v in grid.items():
            if k not in allowed:
                raise bad(
                    "grid", f"grid key {k!r} is not an SVM parameter ({', '.join(sorted(allowed))})"
                )
            if not isinstance(v, list | tuple) or not v:
                raise bad("grid", f"grid[{k!r}] must be a non-empty list of values")
    ic = opts["inner_cv"]
    if not (ic == "logo" or (isinstance(ic, int) and not isinstance(ic, bool) and ic >= 2)):
        raise bad("inner_cv", "use logo or an integer >= 2 (GroupKFold)")
    if not isinstance(opts["scoring"], str):
        raise bad("scoring", "use a scikit-learn scorer name such as accuracy or f1_macro")
    from sklearn.metrics import get_scorer_names

    if opts["scoring"] not in get_scorer_names():
        raise bad("scoring", "use a scikit-learn scorer name such as accuracy or f1_macro")


class DescriptorMethod(MERMethod):
    """Base of descriptor + SVM methods: config split, validation, grey conversion, classifier.

    Subclasses set ``name``, ``description``, ``citation``, ``descriptor_defaults`` (the descriptor's
    own options and defaults) and implement :meth:`describe` (grey ``(T, H, W)`` uint8 -> vector);
    :meth:`check_descriptor` may normalise/validate those options by raising
    :class:`srmer.features.DescriptorInputError`, which is reported as a
    :class:`srmer.errors.ConfigError` naming the method.
    """

    kind: ClassVar[str] = "descriptor"
    descriptor_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        known = {**self.descriptor_defaults, **CLASSIFIER_DEFAULTS}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConfigError(
                f"mer {self.name}: unknown option(s) {', '.join(unknown)}; known options: "
                f"{', '.join(sorted(known))}"
            )
        merged = {**known, **params}
        self.descriptor_params = {k: merged[k] for k in self.descriptor_defaults}
        self.classifier_params = {k: merged[k] for k in CLASSIFIER_DEFAULTS}
        try:
            self.descriptor_params = self.check_descriptor(dict(self.descriptor_params))
        except DescriptorInputError as err:
            raise ConfigError(f"mer {self.name}: {err}") from None
        _check_classifier(self.classifier_params, self.name)
        super().__init__(**self.descriptor_params, **self.classifier_params)

    def check_descriptor(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate (and normalise) descriptor options; raise ``DescriptorInputError`` when bad."""
        return params

    def describe(self, grey: np.ndarray) -> np.ndarray:
        """Descriptor of a grey ``(T, H, W)`` uint8 clip."""
        raise NotImplementedError

    def represent(self, clip: np.ndarray, onset: int = 0, apex: int | None = None) -> np.ndarray:
        """Descriptor of the whole clip (onset..offset), float32 1-D.

        RGB clips are converted to grey with :func:`srmer.video.io.to_grey` (BT.601 luma).

        Raises
        ------
        srmer.errors.ClipError
            The clip cannot be described (e.g. fewer frames than the temporal radius needs); the
            benchmark skips and reports the clip.
        """
        from srmer.video.io import to_grey

        grey = to_grey(np.asarray(clip))
        try:
            return np.asarray(self.describe(grey), dtype=np.float32).ravel()
        except DescriptorInputError as err:
            raise ClipError(
                f"{grey.shape[0]}-frame {grey.shape[1]}x{grey.shape[2]} clip",
                f"{self.name}: {err}",
                "drop the clip or change the method's parameters",
            ) from None

    def estimator(self, n_classes: int, seed: int = 0) -> DescriptorSVM:
        """A fresh :class:`DescriptorSVM` with this method's classifier options."""
        return DescriptorSVM(**self.classifier_params, seed=seed)

    def cache_params(self) -> dict[str, Any]:
        """Only the descriptor options decide :meth:`represent`'s output."""
        return dict(self.descriptor_params)


def _describer(fn_name: str) -> Callable[..., np.ndarray]:
    import srmer.features as feats

    return getattr(feats, fn_name)


class LBPTOP(DescriptorMethod):
    """LBP-TOP histograms + SVM (Zhou et al.'s setting by default).

    Options: ``radii`` (Rx, Ry, Rt) = (1, 1, 4), ``points`` = (4, 4, 4), ``blocks`` = (5, 5),
    ``mapping`` = ``basic`` | ``u2``, plus the classifier options of :mod:`srmer.mer.descriptors`.
    See :func:`srmer.features.lbp_top`.
    """

    name = "lbptop"
    display_name = "LBP-TOP"
    description = "LBP-TOP block histograms (Zhao & Pietikainen 2007) + SVM (linear by default)"
    citation = (
        "G. Zhao, M. Pietikainen, Dynamic texture recognition using local binary patterns with an "
        "application to facial expressions, IEEE TPAMI 29(6), 2007"
    )
    descriptor_defaults: ClassVar[dict[str, Any]] = {
        "radii": (1, 1, 4),
        "points": (4, 4, 4),
        "blocks": (5, 5),
        "mapping": "basic",
    }

    def check_descriptor(self, params: dict[str, Any]) -> dict[str, Any]:
        from srmer.features._common import pair, triple
        from srmer.features.lbp import mapping_table

        params["radii"] = triple(params["radii"], "radii")
        params["points"] = triple(params["points"], "points")
        params["blocks"] = pair(params["blocks"], "blocks")
        for p in params["points"]:
            mapping_table(p, params["mapping"])
        return params

    def describe(self, grey: np.ndarray) -> np.ndarray:
        return _describer("lbp_top")(grey, **self.descriptor_params)


class LBPSIP(DescriptorMethod):
    """LBP-SIP histograms + SVM.

    Options: ``radius`` = ``(1, 3)`` (Zhou et al.: "R set to 1 and 3", read as both radii computed and
    concatenated; give one int for a single radius), ``rt`` = 1, ``blocks`` = (5, 5), plus the
    classifier options. See :func:`srmer.features.lbp_sip`.
    """

    name = "lbpsip"
    display_name = "LBP-SIP"
    description = "LBP with six intersection points (Wang et al. 2014), radii 1 and 3 + SVM"
    citation = (
        "Y. Wang, J. See, R. C.-W. Phan, Y.-H. Oh, LBP with six intersection points: reducing "
        "redundant information in LBP-TOP for micro-expression recognition, ACCV 2014"
    )
    descriptor_defaults: ClassVar[dict[str, Any]] = {"radius": (1, 3), "rt": 1, "blocks": (5, 5)}

    def check_descriptor(self, params: dict[str, Any]) -> dict[str, Any]:
        from srmer.features._common import pair, positive_int

        r = params["radius"]
        rs = [r] if np.isscalar(r) else list(r)
        if not rs:
            raise DescriptorInputError("radius=[] is empty; use e.g. radius: [1, 3]")
        params["radius"] = tuple(positive_int(x, "radius") for x in rs)
        params["rt"] = positive_int(params["rt"], "rt")
        params["blocks"] = pair(params["blocks"], "blocks")
        return params

    def describe(self, grey: np.ndarray) -> np.ndarray:
        return _describer("lbp_sip")(grey, **self.descriptor_params)


class LPQTOP(DescriptorMethod):
    """LPQ-TOP histograms + SVM (Sharma et al.).

    Options: ``window`` (wx, wy, wt) = (5, 5, 5), ``rho`` = None (mode default), ``decorrelate`` =
    true, ``blocks`` = (1, 1), ``mode`` = ``lpqtop`` | ``lpq_m``, plus the classifier options. See
    :func:`srmer.features.lpq_top`.
    """

    name = "lpqtop"
    display_name = "LPQ-TOP"
    description = "LPQ-TOP phase histograms (Paivarinta et al. 2011) + SVM"
    citation = (
        "J. Paivarinta, E. Rahtu, J. Heikkila, Volume local phase quantization for blur-insensitive "
        "dynamic texture classification, SCIA 2011"
    )
    descriptor_defaults: ClassVar[dict[str, Any]] = {
        "window": (5, 5, 5),
        "rho": None,
        "decorrelate": True,
        "blocks": (1, 1),
        "mode": "lpqtop",
    }

    def check_descriptor(self, params: dict[str, Any]) -> dict[str, Any]:
        import srmer.features as feats

        if not isinstance(params["decorrelate"], bool):
            raise DescriptorInputError(f"decorrelate={params['decorrelate']!r}; use true or false")
        # the function validates everything on a tiny volume; keep the normalised tuples
        w = params["window"]
        params["window"] = tuple(w) if not np.isscalar(w) else (w, w, w)
        if params["rho"] is not None and not np.isscalar(params["rho"]):
            params["rho"] = tuple(params["rho"])
        if not np.isscalar(params["blocks"]):
            params["blocks"] = tuple(params["blocks"])
        try:
            size = [int(v) for v in params["window"]]
        except (TypeError, ValueError):
            size = [3, 3, 3]
        probe = np.zeros((max(size[2], 3), max(size[1], 3), max(size[0], 3)), np.uint8)
        feats.lpq_top(probe, **params)
        return params

    def describe(self, grey: np.ndarray) -> np.ndarray:
        return _describer("lpq_top")(grey, **self.descriptor_params)


class _PlaneGradientMethod(DescriptorMethod):
    descriptor_defaults: ClassVar[dict[str, Any]] = {"bins": 8, "blocks": (5, 5), "signed": False}
    function: ClassVar[str] = ""

    def check_descriptor(self, params: dict[str, Any]) -> dict[str, Any]:
        from srmer.features._common import pair, positive_int

        params["bins"] = positive_int(params["bins"], "bins")
        params["blocks"] = pair(params["blocks"], "blocks")
        if not isinstance(params["signed"], bool):
            raise DescriptorInputError(f"signed={params['signed']!r}; use true or false")
        return params

    def describe(self, grey: np.ndarray) -> np.ndarray:
        return _describer(self.function)(grey, **self.descriptor_params)


class HOGTOP(_PlaneGradientMethod):
    """HOG-TOP + SVM. Options: ``bins`` = 8, ``blocks`` = (5, 5), ``signed`` = false, plus the
    classifier options. See :func:`srmer.features.hog_top`."""

    name = "hogtop"
    display_name = "HOG-TOP"
    description = "HOG on three orthogonal planes (Li et al. 2018), magnitude-weighted + SVM"
    citation = (
        "X. Li et al., Towards reading hidden emotions: a comparative study of spontaneous "
        "micro-expression spotting and recognition methods, IEEE TAC 9(4), 2018"
    )
    function = "hog_top"


class HIGOTOP(_PlaneGradientMethod):
    """HIGO-TOP + SVM. Options: ``bins`` = 8, ``blocks`` = (5, 5), ``signed`` = false, plus the
    classifier options. See :func:`srmer.features.higo_top`."""

    name = "higotop"
    display_name = "HIGO-TOP"
    description = "Histogram of image gradient orientation on three orthogonal planes + SVM"
    citation = HOGTOP.citation
    function = "higo_top"


class HOG3D(DescriptorMethod):
    """3DHOG + SVM. Options: ``blocks`` = (5, 5), ``t_divisions`` = 1 (Zhou et al.),
    ``azimuth_bins`` = 8, ``elevation_bins`` = 4, plus the classifier options. See
    :func:`srmer.features.hog3d`."""

    name = "hog3d"
    display_name = "3DHOG"
    description = "3-D gradient orientation histograms per block (Polikovsky et al. 2009) + SVM"
    citation = (
        "S. Polikovsky, Y. Kameda, Y. Ohta, Facial micro-expressions recognition using high speed "
        "camera and 3D-gradient descriptor, ICDP 2009"
    )
    descriptor_defaults: ClassVar[dict[str, Any]] = {
        "blocks": (5, 5),
        "t_divisions": 1,
        "azimuth_bins": 8,
        "elevation_bins": 4,
    }

    def check_descriptor(self, params: dict[str, Any]) -> dict[str, Any]:
        from srmer.features._common import pair, positive_int

        params["blocks"] = pair(params["blocks"], "blocks")
        for k in ("t_divisions", "azimuth_bins", "elevation_bins"):
            params[k] = positive_int(params[k], k)
        return params

    def describe(self, grey: np.ndarray) -> np.ndarray:
        return _describer("hog3d")(grey, **self.descriptor_params)


class MDMO(DescriptorMethod):
    """MDMO + SVM (Liu et al. 2016). Options: ``flow`` = ``farneback`` | ``tvl1``, ``bins`` = 8,
    ``normalise`` = true, plus the classifier options. The 36 regions are the landmark-free
    :func:`srmer.features.mdmo_regions` of the clip's frame size. See :func:`srmer.features.mdmo`."""

    name = "mdmo"
    display_name = "MDMO"
    description = "Main directional mean optical flow in 36 face regions (Liu et al. 2016) + SVM"
    citation = (
        "Y.-J. Liu, J.-K. Zhang, W.-J. Yan, S.-J. Wang, G. Zhao, X. Fu, A main directional mean "
        "optical flow feature for spontaneous micro-expression recognition, IEEE TAC 7(4), 2016"
    )
    descriptor_defaults: ClassVar[dict[str, Any]] = {
        "flow": "farneback",
        "bins": 8,
        "normalise": True,
    }

    def check_descriptor(self, params: dict[str, Any]) -> dict[str, Any]:
        from srmer.features._common import positive_int
        from srmer.features.mdmo import FLOW_METHODS

        if params["flow"] not in FLOW_METHODS:
            raise DescriptorInputError(
                f"flow={params['flow']!r}; use one of {', '.join(FLOW_METHODS)}"
            )
        params["bins"] = positive_int(params["bins"], "bins")
        if not isinstance(params["normalise"], bool):
            raise DescriptorInputError(f"normalise={params['normalise']!r}; use true or false")
        return params

    def describe(self, grey: np.ndarray) -> np.ndarray:
        return _describer("mdmo")(grey, **self.descriptor_params)
