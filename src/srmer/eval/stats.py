"""Multi-factor ANOVA with Tukey HSD letter groups (Zhou et al., Table VI).

Zhou et al. analyses its benchmark grid with a three-factor analysis of variance, WAR ~ resolution + SR
method + MER method, and groups the levels of each factor into letter classes ("a" = highest mean;
levels sharing a letter do not differ significantly). This module reproduces that analysis:

* the ANOVA itself is statsmodels' ``ols`` + ``anova_lm(typ=2)`` (additive model, no interactions,
  as in the paper);
* the post-hoc comparison is a Tukey(-Kramer) HSD that uses the ANOVA **model's** residual mean square
  and residual degrees of freedom, with ``scipy.stats.studentized_range`` for the p-values. A one-way
  Tukey per factor (statsmodels ``pairwise_tukeyhsd``, scikit-posthocs) would use a within-group error
  that still contains the other two factors' effects and would be far too conservative;
* the compact letter display is Piepho's (2004) insert-and-absorb algorithm with the sweeping step,
  written here because scikit-posthocs (which has one) is not a dependency of srmer; levels are sorted
  by descending mean before letters are given so that "a" marks the highest group;
* ``posthoc="lsd"`` swaps Tukey for Fisher's LSD with the same error term: that reproduces the
  paper's published letters (checked on its CASME II numbers), Tukey's HSD gives wider groups.

References
----------
.. [1] Zhou et al.: benchmark of super-resolution for low-resolution micro-expression recognition,
   Section III-D3 and Table VI.
.. [2] H.-P. Piepho, "An algorithm for a letter-based representation of all-pairwise comparisons",
   Journal of Computational and Graphical Statistics 13(2):456-466, 2004.
.. [3] C. Y. Kramer, "Extension of multiple range tests to group means with unequal numbers of
   replications", Biometrics 12(3):307-310, 1956.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import studentized_range

from srmer.errors import SrmerError

__all__ = [
    "AnovaResult",
    "FactorSummary",
    "compact_letter_display",
    "lsd_pvalues",
    "three_factor_anova",
    "tukey_hsd_pvalues",
]

# Letters for the display: a..z then A..Z (a grid with more than 52 groups is not readable anyway).
_LETTERS = string.ascii_lowercase + string.ascii_uppercase


@dataclass(frozen=True)
class FactorSummary:
    """ANOVA line and post-hoc groups of one factor.

    Attributes
    ----------
    factor : str
        Column name of the factor in the input frame (e.g. ``"resolution"``).
    df : float
        Degrees of freedom of the factor (number of levels - 1).
    sum_sq : float
        Type-II sum of squares of the factor.
    F : float
        F statistic (factor mean square / model residual mean square).
    p : float
        p-value of the F test, in [0, 1].
    levels : pandas.DataFrame
        One row per level in natural (sorted) order, columns ``level`` (the original value),
        ``mean`` (marginal mean of the response), ``n`` (int, observations) and ``letters``
        (str, compact letter display; "a" = group containing the highest mean).
    pvalues : pandas.DataFrame
        Square (k, k) post-hoc p-values between levels (Tukey-Kramer or LSD), index and
        columns = levels.
    """

    factor: str
    df: float
    sum_sq: float
    F: float
    p: float
    levels: pd.DataFrame
    pvalues: pd.DataFrame


@dataclass(frozen=True)
class AnovaResult:
    """Result of :func:`three_factor_anova`.

    Attributes
    ----------
    response : str
        Name of the response column (e.g. ``"war"``).
    formula : str
        The patsy formula that was fitted (on sanitised column names).
    table : pandas.DataFrame
        statsmodels' ``anova_lm(typ=2)`` table, index renamed to the original factor names plus
        ``"Residual"``; columns ``sum_sq``, ``df``, ``F``, ``PR(>F)``.
    factors : dict of str to FactorSummary
        Per factor: F, p, level means and letters, in the order the factors were given.
    mse : float
        Residual mean square of the additive model (the error term of every comparison).
    df_resid : float
        Residual degrees of freedom of the model.
    n : int
        Number of observations used (rows with a finite response).
    alpha : float
        Significance level used for the letters.
    posthoc : str
        ``"tukey"`` or ``"lsd"``: the pairwise comparison behind the letters.
    """

    response: str
    formula: str
    table: pd.DataFrame
    factors: dict[str, FactorSummary] = field(default_factory=dict)
    mse: float = float("nan")
    df_resid: float = float("nan")
    n: int = 0
    alpha: float = 0.05
    posthoc: str = "tukey"


def tukey_hsd_pvalues(
    means: Sequence[float] | np.ndarray,
    counts: Sequence[int] | np.ndarray,
    mse: float,
    df_resid: float,
) -> np.ndarray:
    """Tukey-Kramer p-values for all pairs of level means, given an external error term.

    Parameters
    ----------
    means : array_like of float, shape (k,)
        Level means of the response.
    counts : array_like of int, shape (k,)
        Number of observations behind each mean (all >= 1).
    mse : float
        Residual mean square of the fitted model (> 0).
    df_resid : float
        Residual degrees of freedom of the fitted model (> 0).

    Returns
    -------
    numpy.ndarray of float64, shape (k, k)
        Symmetric matrix of p-values in [0, 1]; the diagonal is 1.

    Notes
    -----
    ``q = |m_i - m_j| / sqrt(MSE / 2 * (1 / n_i + 1 / n_j))`` and
    ``p = P(Q_{k, df} > q)`` with ``Q`` the studentized range distribution of ``k`` means and ``df``
    error degrees of freedom (Tukey's HSD; Kramer's 1956 form for unequal counts).
    """
    m, n, p = _pairwise_setup(means, counts, mse, df_resid)
    if p is not None:
        return p
    k = m.size
    q = np.abs(m[:, None] - m[None, :]) / np.sqrt(mse / 2.0 * (1.0 / n[:, None] + 1.0 / n[None, :]))
    p = np.ones((k, k), dtype=np.float64)
    iu = np.triu_indices(k, 1)
    pu = studentized_range.sf(q[iu], k, df_resid)
    p[iu] = pu
    p[(iu[1], iu[0])] = pu
    return np.clip(p, 0.0, 1.0)


def _pairwise_setup(
    means: Sequence[float] | np.ndarray,
    counts: Sequence[int] | np.ndarray,
    mse: float,
    df_resid: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validated float64 ``(means, counts)`` and, when no test is possible, the final p matrix.

    The matrix is all ones for fewer than two levels; with a perfect fit (MSE 0) or no residual
    degrees of freedom it is NaN off the diagonal ("no evidence"): MSE 0 would make every difference
    infinitely significant and a zero-df model cannot be tested at all. Otherwise it is ``None``.
    """
    m = np.asarray(means, dtype=np.float64)
    n = np.asarray(counts, dtype=np.float64)
    if n.shape != m.shape:
        raise ValueError(f"means has shape {m.shape} but counts has shape {n.shape}")
    k = m.size
    if k < 2:
        return m, n, np.ones((k, k), dtype=np.float64)
    if not (np.isfinite(mse) and mse > 0 and df_resid > 0):
        p = np.full((k, k), np.nan)
        np.fill_diagonal(p, 1.0)
        return m, n, p
    return m, n, None


def lsd_pvalues(
    means: Sequence[float] | np.ndarray,
    counts: Sequence[int] | np.ndarray,
    mse: float,
    df_resid: float,
) -> np.ndarray:
    """Fisher's least-significant-difference p-values (no multiplicity correction).

    Parameters and return value are those of :func:`tukey_hsd_pvalues`.

    Notes
    -----
    ``t = |m_i - m_j| / sqrt(MSE * (1 / n_i + 1 / n_j))``, two-sided ``p = 2 P(T_df > t)``.
    It is offered because it reproduces Zhou et al.'s Table VI letters (checked on its CASME II
    numbers, see ``tests/test_stats.py``): the paper's groups are LSD groups, not Tukey groups.
    It does not control the family-wise error rate; Tukey's HSD is the default for that reason.
    """
    from scipy.stats import t as t_dist

    m, n, p = _pairwise_setup(means, counts, mse, df_resid)
    if p is not None:
        return p
    tstat = np.abs(m[:, None] - m[None, :]) / np.sqrt(mse * (1.0 / n[:, None] + 1.0 / n[None, :]))
    p = 2.0 * t_dist.sf(tstat, df_resid)
    np.fill_diagonal(p, 1.0)
    return np.clip(p, 0.0, 1.0)


def compact_letter_display(
    means: Sequence[float] | np.ndarray,
    significant: np.ndarray,
) -> list[str]:
    """Letters for levels so that two levels share a letter iff they do not differ significantly.

    Parameters
    ----------
    means : array_like of float, shape (k,)
        Level means; used only to order the letters ("a" goes to the group holding the highest mean).
    significant : numpy.ndarray of bool, shape (k, k)
        Symmetric; ``significant[i, j]`` is True when levels i and j differ. The diagonal is ignored.

    Returns
    -------
    list of str, length k
        Letters of each level, in the input order (e.g. ``["a", "ab", "b"]``).

    Notes
    -----
    Piepho's (2004) insert-and-absorb algorithm: start from one letter shared by all levels; for
    each significant pair (i, j), split every letter column that contains both into one without i
    and one without j, then drop columns contained in another column (absorb). A final sweep
    removes a level from a column when every non-significant pair that the column connects is
    also connected by another column, which removes redundant letters. Letters are then named in
    order of the best (highest-mean) level each column contains.
    """
    m = np.asarray(means, dtype=np.float64)
    k = m.size
    sig = np.asarray(significant, dtype=bool)
    if sig.shape != (k, k):
        raise ValueError(f"significant must be ({k}, {k}), got {sig.shape}")
    if k == 0:
        return []
    sig = sig | sig.T
    np.fill_diagonal(sig, False)

    # Process levels by descending mean so the result does not depend on the input order.
    order = np.argsort(-m, kind="stable")
    rank = np.empty(k, dtype=int)
    rank[order] = np.arange(k)

    columns: list[frozenset[int]] = [frozenset(range(k))]
    for a in range(k):
        for b in range(a + 1, k):
            i, j = int(order[a]), int(order[b])
            if not sig[i, j]:
                continue
            new: list[frozenset[int]] = []
            for col in columns:
                if i in col and j in col:
                    new.append(col - {i})
                    new.append(col - {j})
                else:
                    new.append(col)
            columns = _absorb(new)

    columns = _sweep(columns, sig)
    # Name columns by the ranks of the levels they hold (best level first), so "a" = highest.
    columns.sort(key=lambda c: sorted(rank[list(c)].tolist()))
    if len(columns) > len(_LETTERS):
        raise ValueError(f"{len(columns)} letter groups needed; at most {len(_LETTERS)} supported")
    out = ["" for _ in range(k)]
    for letter, col in zip(_LETTERS, columns, strict=False):
        for lev in sorted(col):
            out[lev] += letter
    return out


def _absorb(columns: list[frozenset[int]]) -> list[frozenset[int]]:
    """Drop duplicate columns and columns that are subsets of another column."""
    uniq = list(dict.fromkeys(columns))
    return [c for c in uniq if not any(c < d for d in uniq)]


def _sweep(columns: list[frozenset[int]], sig: np.ndarray) -> list[frozenset[int]]:
    """Remove letters that no non-significant pair needs (Piepho 2004, sweeping step)."""
    cols = [set(c) for c in columns]
    for ci, col in enumerate(cols):
        for lev in sorted(col):
            others = [c for cj, c in enumerate(cols) if cj != ci]
            if not any(lev in c for c in others):
                continue  # its only letter: every level keeps at least one
            needed = any(
                not sig[lev, other] and not any(lev in c and other in c for c in others)
                for other in col
                if other != lev
            )
            if not needed:
                col.discard(lev)
    return [frozenset(c) for c in cols if c]


def _sort_levels(values: pd.Series) -> list:
    """Unique levels in natural order (numbers numerically, else as strings)."""
    uniq = pd.unique(values.dropna())
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def three_factor_anova(
    df: pd.DataFrame,
    response: str = "war",
    factors: Sequence[str] = ("resolution", "sr", "mer"),
    alpha: float = 0.05,
    posthoc: str = "tukey",
) -> AnovaResult:
    """Additive multi-factor ANOVA with Tukey HSD letter groups per factor (Zhou et al. Table VI).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per observation (e.g. one benchmark cell: dataset x resolution x SR x MER), holding
        the ``response`` column (float; rows where it is NaN are dropped) and every column in
        ``factors`` (any hashable values; each is treated as categorical).
    response : str, default "war"
        Column analysed (e.g. ``"war"``, ``"uar"``, ``"uf1"``).
    factors : sequence of str, default ("resolution", "sr", "mer")
        Factor columns; three in the paper, any number >= 1 accepted.
    alpha : float, default 0.05
        Significance level of the post-hoc comparisons that define the letter groups, in (0, 1).
    posthoc : {"tukey", "lsd"}, default "tukey"
        ``"tukey"``: Tukey-Kramer HSD with the model's MSE and residual df (controls the
        family-wise error; the srmer default). ``"lsd"``: Fisher's LSD with
        the same error term, which is what reproduces Zhou et al.'s published letters.

    Returns
    -------
    AnovaResult
        ANOVA table, model MSE and residual df, and per factor the level means and letters.

    Raises
    ------
    srmer.errors.SrmerError
        A column is missing, a factor has fewer than two levels, or there are too few observations
        to estimate the error term (residual df = 0).

    Notes
    -----
    The model is ``response ~ C(f1) + C(f2) + C(f3)`` (no interactions, as in Zhou et al.), fitted by
    ``statsmodels.formula.api.ols``; the table is ``anova_lm(model, typ=2)``. Column names are
    replaced by safe identifiers before they reach patsy, so names with spaces or dots work.

    Level means are the raw marginal means of the response. On a balanced grid (every combination
    present once, as in the paper) they equal the model's least-squares means; on an unbalanced
    grid they are an approximation and the Tukey-Kramer comparison is then approximate too.

    Examples
    --------
    >>> import itertools, pandas as pd
    >>> rows = [dict(resolution=r, sr=s, mer=m, war=0.3 + 0.001 * r + 0.01 * i + 0.001 * j)
    ...         for (i, s), (j, m), r in itertools.product(enumerate("ab"), enumerate("xyz"),
    ...                                                      (16, 32, 64))]
    >>> res = three_factor_anova(pd.DataFrame(rows))
    >>> res.factors["resolution"].levels["letters"].tolist()[-1]
    'a'
    """
    import statsmodels.api as sm
    from statsmodels.formula.api import ols

    factors = list(factors)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    pfuncs = {"tukey": tukey_hsd_pvalues, "lsd": lsd_pvalues}
    if posthoc not in pfuncs:
        raise SrmerError(f"ANOVA: posthoc={posthoc!r} is not one of {sorted(pfuncs)}")
    missing = [c for c in [response, *factors] if c not in df.columns]
    if missing:
        raise SrmerError(
            f"ANOVA: column(s) {missing} not in the results table (columns: {list(df.columns)}); "
            "pass response=/factors= naming existing columns"
        )
    data = df[[response, *factors]].copy()
    data[response] = pd.to_numeric(data[response], errors="coerce")
    data = data[np.isfinite(data[response].to_numpy(dtype=np.float64))]
    data = data.dropna(subset=factors)
    for f in factors:
        n_lev = data[f].nunique()
        if n_lev < 2:
            raise SrmerError(
                f"ANOVA: factor {f!r} has {n_lev} level(s) with a finite {response!r}; "
                "at least 2 are needed (run the grid with more than one value of it)"
            )

    # patsy parses names, so give it safe ones and map back afterwards.
    safe = {f: f"f{i}" for i, f in enumerate(factors)}
    fit_df = pd.DataFrame({"y": data[response].to_numpy(dtype=np.float64)})
    for f in factors:
        fit_df[safe[f]] = data[f].astype(str).to_numpy()
    formula = "y ~ " + " + ".join(f"C({safe[f]})" for f in factors)
    model = ols(formula, data=fit_df).fit()
    df_resid = float(model.df_resid)
    if df_resid <= 0:
        raise SrmerError(
            f"ANOVA: {len(fit_df)} observations leave no residual degrees of freedom for "
            f"{len(factors)} factors; add resolutions/SR/MER methods or datasets to the grid"
        )
    table = sm.stats.anova_lm(model, typ=2)
    table = table.rename(index={f"C({safe[f]})": f for f in factors})
    mse = float(model.mse_resid)

    summaries: dict[str, FactorSummary] = {}
    for f in factors:
        levels = _sort_levels(data[f])
        grouped = data.groupby(f, sort=False)[response]
        means = np.array([grouped.get_group(lv).mean() for lv in levels], dtype=np.float64)
        counts = np.array([grouped.get_group(lv).size for lv in levels], dtype=np.int64)
        pmat = pfuncs[posthoc](means, counts, mse, df_resid)
        sig = np.nan_to_num(pmat, nan=1.0) < alpha
        letters = compact_letter_display(means, sig)
        row = table.loc[f]
        summaries[f] = FactorSummary(
            factor=f,
            df=float(row["df"]),
            sum_sq=float(row["sum_sq"]),
            F=float(row["F"]),
            p=float(row["PR(>F)"]),
            levels=pd.DataFrame({"level": levels, "mean": means, "n": counts, "letters": letters}),
            pvalues=pd.DataFrame(pmat, index=levels, columns=levels),
        )
    return AnovaResult(
        response=response,
        formula=f"{response} ~ " + " + ".join(f"C({f})" for f in factors),
        table=table,
        factors=summaries,
        mse=mse,
        df_resid=df_resid,
        n=len(fit_df),
        alpha=alpha,
        posthoc=posthoc,
    )
