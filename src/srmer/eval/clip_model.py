"""A per-clip model of correctness with subjects as clusters (GEE logistic regression).

Zhou et al. compare the factors of the benchmark grid (resolution, SR method, MER method) with an
ANOVA on the cells' WAR (:mod:`srmer.eval.stats`). That analysis sees one number per cell: it throws
away how many clips stand behind each number, and it treats the cells as independent although every
cell is evaluated on the same clips of the same subjects. This module models the individual
predictions instead::

    logit P(correct) = b0 + sum_f b_f[level of factor f]        (treatment coding)

fitted by generalised estimating equations (statsmodels ``GEE``: Binomial family, logit link,
exchangeable working correlation within a subject, robust "sandwich" standard errors), with the
subject (``(source_dataset, subject)`` in a pooled set) as the cluster. It complements the ANOVA:

* it uses every clip prediction, so a cell with many clips weighs more than one with few, and
  accuracy near 0 or 1 is modelled on the right (binomial) scale;
* repeated measures are accounted for: the same subject's clips are correlated across cells (an easy
  subject is easy for every method) and within a cell, and the robust standard errors stay valid
  whatever that correlation is, as long as subjects are independent of each other. The ANOVA's
  error term instead assumes independent cells.

What is estimated: each coefficient is the difference in **log-odds of a correct prediction**
between a level and its factor's reference level, the other factors held fixed; ``exp(coef)`` is the
odds ratio. GEE gives a *marginal* (population-averaged) model: the effect on the odds averaged over
subjects. When subjects differ strongly in difficulty, this is smaller in magnitude than the
*subject-specific* effect a mixed model (random intercept per subject) would report, roughly by a
factor ``1 / sqrt(1 + 0.35 sigma^2)`` for a random-intercept s.d. ``sigma`` on the logit scale.

Assumptions and limits:

* clusters (subjects) are independent, and the additive logit model (no interactions between the
  factors) is adequate for the question asked;
* the robust standard errors are asymptotic in the **number of clusters**. The micro-expression
  databases have few subjects (CASME II 26, SAMM 28 (32 in later releases), SMIC-HS 16). With fewer
  than about 40 clusters the sandwich estimator is biased downwards: the standard errors are too
  small and the p-values optimistic. ``cov_type="bias_reduced"`` (Mancl and DeRouen's correction)
  reduces that bias; a borderline p-value should be read as inconclusive either way;
* a level where every prediction is correct (or every one wrong) separates the data: its
  coefficient runs off towards infinity. Such levels are named in ``notes``; when the fit diverges
  because of them, :func:`clip_model` raises an error naming them.

References
----------
.. [1] K.-Y. Liang and S. L. Zeger, "Longitudinal data analysis using generalized linear models",
   Biometrika 73(1):13-22, 1986.
.. [2] L. A. Mancl and T. A. DeRouen, "A covariance estimator for GEE with improved small-sample
   properties", Biometrics 57(1):126-134, 2001.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2 as chi2_dist
from scipy.stats import norm

from srmer.errors import SrmerError

__all__ = ["ClipModel", "clip_model"]

# Below this many clusters the robust SEs are noticeably optimistic (the usual rule of thumb is
# 40-50 clusters), so the result says so.
FEW_CLUSTERS = 40
_COEF_COLUMNS = ["term", "coef", "odds_ratio", "se", "z", "p", "ci_lo", "ci_hi", "factor", "level"]
_TEST_COLUMNS = ["factor", "df", "chi2", "p"]
_COV_TYPES = ("robust", "bias_reduced")


@dataclass(frozen=True)
class ClipModel:
    """Result of :func:`clip_model`.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        One row per model term, ``Intercept`` first (log-odds of a correct prediction at the
        reference levels), then ``factor[level]`` for every non-reference level. Columns ``term``
        (str), ``coef`` (log-odds difference from the reference level), ``odds_ratio``
        (``exp(coef)``), ``se`` (robust standard error), ``z``, ``p`` (two-sided Wald test of
        coef = 0), ``ci_lo`` / ``ci_hi`` (95 % confidence interval of ``coef``, on the log-odds
        scale: ``exp`` them for the odds ratio's), ``factor`` (str, ``""`` for the intercept) and
        ``level`` (the level's original value; ``None`` for the intercept).
    tests : pandas.DataFrame
        One row per factor kept in the model: ``factor``, ``df`` (number of its coefficients),
        ``chi2`` and ``p`` of the joint Wald test that all its coefficients are 0 (does the factor
        matter at all), with the robust covariance.
    n_obs : int
        Clip predictions used (rows of the input with no missing value in a used column).
    n_clusters : int
        Number of clusters (subjects, or ``(source_dataset, subject)`` pairs).
    notes : list of str
        What the caller should know: dropped rows and single-level factors, few clusters,
        separation, convergence warnings.
    reference : dict
        Reference level of each factor kept in the model.
    working_correlation : float
        Estimated exchangeable correlation of two predictions of the same subject (a nuisance
        parameter; the standard errors do not depend on it being right).
    cov_type : str
        ``"robust"`` or ``"bias_reduced"``: the sandwich covariance used.
    """

    coefficients: pd.DataFrame
    tests: pd.DataFrame
    n_obs: int
    n_clusters: int
    notes: list[str] = field(default_factory=list)
    reference: dict[str, Any] = field(default_factory=dict)
    working_correlation: float = float("nan")
    cov_type: str = "robust"

    def summary_text(self) -> str:
        """A plain-text report: sample size, reference levels, coefficients, factor tests, notes.

        Returns
        -------
        str
            Several lines, no trailing newline.
        """
        ref = ", ".join(f"{f}={v}" for f, v in self.reference.items()) or "(no factor)"
        coef = self.coefficients[["term", "coef", "odds_ratio", "se", "z", "p", "ci_lo", "ci_hi"]]
        lines = [
            "GEE logistic model of per-clip correctness "
            f"(Binomial/logit, exchangeable working correlation, {self.cov_type} SEs)",
            f"{self.n_obs} clip predictions in {self.n_clusters} subject clusters; "
            f"working correlation {self.working_correlation:.3f}",
            f"reference levels: {ref}",
            "",
            "coefficients (log-odds of a correct prediction vs the reference level; "
            "95 % CI on the log-odds scale):",
            coef.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
        ]
        if len(self.tests):
            lines += [
                "",
                "joint Wald tests (all of a factor's coefficients = 0):",
                self.tests.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
            ]
        if self.notes:
            lines += ["", "notes:", *(f"- {n}" for n in self.notes)]
        return "\n".join(lines)


def clip_model(
    predictions: pd.DataFrame,
    factors: Sequence[str] = ("resolution", "sr", "mer"),
    reference: dict[str, Hashable] | None = None,
    *,
    cov_type: str = "robust",
) -> ClipModel:
    """Fit a GEE logistic model of per-clip correctness on the benchmark factors.

    Parameters
    ----------
    predictions : pandas.DataFrame
        One row per (cell, clip), e.g. a run's ``predictions.csv``: columns ``y_true`` and
        ``y_pred`` (class names or ints), ``subject`` (the cluster id) and every column in
        ``factors``. When a ``source_dataset`` column is present (pooled sets), the cluster is the
        pair ``(source_dataset, subject)``, so two databases' subjects ``"01"`` are two clusters.
        Rows with a missing value in any of these columns are dropped (counted in ``notes``).
    factors : sequence of str, default ("resolution", "sr", "mer")
        Factor columns, each treated as categorical. A factor with a single level is dropped
        (named in ``notes``); with none left the model is intercept-only (overall accuracy).
    reference : dict, optional
        Reference level per factor (``{"sr": "bicubic"}``); factors not named get the default:
        ``resolution`` its lowest value, ``sr`` ``"none"`` when present (the no-SR baseline),
        any other factor (and ``sr`` without ``"none"``) its most frequent level, ties broken by
        the first in natural order (numbers numerically, else as strings).
    cov_type : {"robust", "bias_reduced"}, default "robust"
        Sandwich covariance: the usual robust one, or Mancl and DeRouen's bias-reduced one, which
        is less optimistic with few clusters.

    Returns
    -------
    ClipModel
        Coefficients (log-odds, odds ratios, robust SEs, 95 % CIs), one joint Wald test per
        factor, sample sizes and notes.

    Raises
    ------
    srmer.errors.SrmerError
        A required column is missing (named), ``reference`` names an unknown factor or level,
        fewer than 2 clusters, no variation in correctness (every prediction right, or every one
        wrong), two factors are confounded (the grid does not separate their effects), or the fit
        diverges (a level with every prediction right or wrong: separation).

    Notes
    -----
    ``correct = (y_true == y_pred)``, compared as numbers when both columns are numeric (so 1 and
    1.0 match) and as strings otherwise (so 1 and ``"1"`` match). The model is additive on the logit
    scale, ``logit P(correct) = b0 + b_resolution + b_sr + b_mer``, with treatment coding; it is
    fitted by statsmodels ``GEE(family=Binomial(), cov_struct=Exchangeable())``. See the module
    docstring for what the coefficients mean and the assumptions (independent subjects, enough
    subjects: with fewer than about 40 the robust SEs are optimistic).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = [dict(subject=s, sr=m, mer="svm", resolution=16, y_true=0,
    ...              y_pred=int(rng.random() > (0.7 if m == "edsr" else 0.4)))
    ...         for s in range(30) for m in ("none", "edsr") for _ in range(5)]
    >>> res = clip_model(pd.DataFrame(rows))
    >>> res.coefficients["term"].tolist()
    ['Intercept', 'sr[edsr]']
    """
    import statsmodels.api as sm

    factors = list(dict.fromkeys(factors))
    reference = dict(reference or {})
    if cov_type not in _COV_TYPES:
        raise SrmerError(f"clip model: cov_type={cov_type!r} is not one of {list(_COV_TYPES)}")
    unknown = [f for f in reference if f not in factors]
    if unknown:
        raise SrmerError(
            f"clip model: reference names {unknown}, which are not among the factors {factors}"
        )
    cluster_cols = ["source_dataset", "subject"] if "source_dataset" in predictions else ["subject"]
    required = ["y_true", "y_pred", *cluster_cols, *factors]
    missing = [c for c in ["y_true", "y_pred", "subject", *factors] if c not in predictions]
    if missing:
        raise SrmerError(
            f"clip model: column(s) {missing} missing from the predictions (columns: "
            f"{list(predictions.columns)}); it needs one row per (cell, clip) with y_true, y_pred, "
            "subject and the factor columns"
        )
    notes: list[str] = []
    data = predictions[required].dropna()
    if len(data) < len(predictions):
        notes.append(
            f"{len(predictions) - len(data)} of {len(predictions)} rows dropped: a missing value "
            f"in {required}"
        )
    if data.empty:
        raise SrmerError("clip model: no prediction left (every row has a missing value)")

    y = _correct(data["y_true"], data["y_pred"])
    # group on the columns themselves (not a joined string) so "a/b" + "c" and "a" + "b/c" differ
    groups = data.groupby(cluster_cols, sort=True).ngroup().to_numpy()
    n_clusters = int(groups.max()) + 1
    if n_clusters < 2:
        raise SrmerError(
            f"clip model: only {n_clusters} cluster ({' x '.join(cluster_cols)}); robust standard "
            "errors need at least 2 subjects (and are only trustworthy with many more)"
        )
    if y.min() == y.max():
        raise SrmerError(
            "clip model: no variation in correctness: every prediction is "
            f"{'correct' if y[0] else 'wrong'}, so there is nothing to model"
        )

    design, terms, kept, refs = _design(data, factors, reference, notes)
    _check_identifiable(design, terms)
    _note_separation(data, y, kept, refs, notes)
    if n_clusters < FEW_CLUSTERS:
        notes.append(
            f"only {n_clusters} clusters: robust (sandwich) standard errors are biased downwards "
            f"with fewer than about {FEW_CLUSTERS}, so p-values are optimistic (too small) and "
            "confidence intervals too narrow"
            + ("; cov_type='bias_reduced' corrects part of that" if cov_type == "robust" else "")
        )

    model = sm.GEE(
        y,
        design,
        groups=groups,
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Exchangeable(),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit(maxiter=100, cov_type=cov_type)
    # statsmodels reports non-convergence and singular updates as warnings (numpy overflows in a
    # diverging fit too): keep them visible, once per distinct message
    for msg, n in Counter(str(w.message) for w in caught).items():
        notes.append(f"fit warning: {msg}" + (f" ({n} times)" if n > 1 else ""))

    params = np.asarray(res.params, dtype=np.float64)
    cov = np.asarray(res.cov_params(), dtype=np.float64)
    if not (np.isfinite(params).all() and np.isfinite(cov).all()):
        separated = [n for n in notes if "separation" in n]
        raise SrmerError(
            "clip model: the GEE fit diverged (non-finite estimates)"
            + (
                f": {'; '.join(separated)}. Leave those cells out or merge their levels"
                if separated
                else "; check the predictions for levels with (almost) no errors or no hits"
            )
        )
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = params / se
    p = 2.0 * norm.sf(np.abs(z))
    q = norm.ppf(0.975)
    coefficients = pd.DataFrame(
        {
            "term": [t for t, _, _ in terms],
            "coef": params,
            "odds_ratio": np.exp(params),
            "se": se,
            "z": z,
            "p": p,
            "ci_lo": params - q * se,
            "ci_hi": params + q * se,
            "factor": [f for _, f, _ in terms],
            "level": pd.Series([lev for _, _, lev in terms], dtype=object),
        },
        columns=_COEF_COLUMNS,
    )
    tests = pd.DataFrame(
        [_wald(params, cov, terms, f, notes) for f in kept], columns=_TEST_COLUMNS
    ).astype({"df": int})
    dep = np.atleast_1d(np.asarray(model.cov_struct.dep_params, dtype=np.float64))
    return ClipModel(
        coefficients=coefficients,
        tests=tests,
        n_obs=len(y),
        n_clusters=n_clusters,
        notes=notes,
        reference={f: refs[f] for f in kept},
        working_correlation=float(dep[0]) if dep.size else float("nan"),
        cov_type=cov_type,
    )


def _correct(y_true: pd.Series, y_pred: pd.Series) -> np.ndarray:
    """0/1 correctness; numeric comparison when both columns are numeric, else string comparison."""
    if pd.api.types.is_numeric_dtype(y_true) and pd.api.types.is_numeric_dtype(y_pred):
        eq = y_true.to_numpy() == y_pred.to_numpy()
    else:
        # predictions.csv may hold ints in one column and strings in the other (or mixed objects)
        eq = y_true.astype(str).to_numpy() == y_pred.astype(str).to_numpy()
    return eq.astype(np.float64)


def _natural_levels(values: pd.Series) -> list:
    """Unique values in natural order: numerically when all are numbers (or numeric strings)."""
    # plain Python values (16, not np.int64(16)) so references and levels print as they read
    uniq = [v.item() if isinstance(v, np.generic) else v for v in pd.unique(values)]
    num = pd.to_numeric(pd.Series(uniq, dtype=object), errors="coerce")
    if num.notna().all():
        # "16" < "128" numerically, not as strings; a stable sort keeps equal numbers in input order
        return [uniq[i] for i in np.argsort(num.to_numpy(dtype=np.float64), kind="stable")]
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def _match_level(levels: list, wanted: Hashable) -> Any | None:
    """The level equal to ``wanted``, else the one spelled the same (16 matches "16")."""
    for lev in levels:
        if lev == wanted:
            return lev
    for lev in levels:
        if str(lev) == str(wanted):
            return lev
    return None


def _default_reference(factor: str, values: pd.Series, levels: list) -> Any:
    """Lowest resolution, ``"none"`` SR, else the most frequent level (first in order on ties)."""
    if factor == "resolution":
        return levels[0]  # levels are in natural (numeric) order
    if factor == "sr":
        none = _match_level(levels, "none")
        if none is not None:
            return none
    counts = values.value_counts(sort=False)
    best = max(int(counts[lev]) for lev in levels)
    return next(lev for lev in levels if int(counts[lev]) == best)


def _design(
    data: pd.DataFrame, factors: list[str], reference: dict[str, Hashable], notes: list[str]
) -> tuple[np.ndarray, list[tuple[str, str, Any]], list[str], dict[str, Any]]:
    """Treatment-coded design matrix, its terms ``(name, factor, level)``, kept factors, references."""
    columns = [np.ones(len(data))]
    terms: list[tuple[str, str, Any]] = [("Intercept", "", None)]
    kept: list[str] = []
    refs: dict[str, Any] = {}
    for f in factors:
        values = data[f]
        levels = _natural_levels(values)
        if len(levels) < 2:
            notes.append(f"factor {f!r} dropped: a single level ({levels[0]!r}) in the predictions")
            continue
        if f in reference:
            ref = _match_level(levels, reference[f])
            if ref is None:
                raise SrmerError(
                    f"clip model: reference level {reference[f]!r} of factor {f!r} is not among "
                    f"its levels {levels}"
                )
        else:
            ref = _default_reference(f, values, levels)
        kept.append(f)
        refs[f] = ref
        arr = values.to_numpy()
        for lev in levels:
            if lev == ref:
                continue
            columns.append((arr == lev).astype(np.float64))
            terms.append((f"{f}[{lev}]", f, lev))
    return np.column_stack(columns), terms, kept, refs


def _check_identifiable(design: np.ndarray, terms: list[tuple[str, str, Any]]) -> None:
    """Refuse a design whose effects cannot be separated (e.g. an SR method run at one resolution
    that is the only one with a particular MER), naming the first aliased terms."""
    if np.linalg.matrix_rank(design) == design.shape[1]:
        return
    aliased, rank = [], 0
    for j in range(1, design.shape[1] + 1):
        r = np.linalg.matrix_rank(design[:, :j])
        if r == rank:
            aliased.append(terms[j - 1][0])
        rank = r
    raise SrmerError(
        f"clip model: the factors are confounded: {aliased} are linear combinations of earlier "
        "terms (some combinations of levels never occur together); fit a subset of the "
        "predictions where the factors are crossed, or drop a factor"
    )


def _note_separation(
    data: pd.DataFrame, y: np.ndarray, kept: list[str], refs: dict[str, Any], notes: list[str]
) -> None:
    """Note levels where every prediction is right or every one wrong (coefficients diverge)."""
    for f in kept:
        arr = data[f].to_numpy()
        for lev in _natural_levels(data[f]):
            m = y[arr == lev]
            if m.min() == m.max():
                what = "correct" if m[0] else "wrong"
                role = " (the reference level: every other coefficient of the factor)" * (
                    lev == refs[f]
                )
                notes.append(
                    f"{f}={lev!r}: all {m.size} predictions {what}: separation, its "
                    f"coefficient{role} diverges and its SE and tests are not reliable"
                )


def _wald(
    params: np.ndarray,
    cov: np.ndarray,
    terms: list[tuple[str, str, Any]],
    factor: str,
    notes: list[str],
) -> dict[str, Any]:
    """Joint Wald chi-square test that all coefficients of ``factor`` are zero."""
    idx = [i for i, (_, f, _) in enumerate(terms) if f == factor]
    b, v = params[idx], cov[np.ix_(idx, idx)]
    # The robust covariance has rank <= number of clusters, so a factor with many levels and few
    # subjects can have a singular block: test in its estimable subspace (pseudo-inverse, rank df).
    rank = int(np.linalg.matrix_rank(v))
    if rank < len(idx):
        notes.append(
            f"factor {factor!r}: robust covariance of its {len(idx)} coefficients has rank {rank} "
            "(too few clusters for its levels); the joint test uses that many degrees of freedom"
        )
    if rank == 0:
        return {"factor": factor, "df": 0, "chi2": float("nan"), "p": float("nan")}
    stat = float(b @ np.linalg.pinv(v) @ b)
    return {"factor": factor, "df": rank, "chi2": stat, "p": float(chi2_dist.sf(stat, rank))}
