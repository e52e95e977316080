"""GEE model of per-clip correctness (srmer.eval.clip_model) on simulated predictions."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from srmer.errors import SrmerError
from srmer.eval.clip_model import ClipModel, clip_model

B0 = -0.3  # log-odds of a correct prediction of an average subject at the reference levels


def _simulate(
    seed: int,
    n_subjects: int = 40,
    clips: int = 6,
    effect: float = 1.0,
    sd: float = 1.0,
    sr: tuple[str, ...] = ("none", "x", "y"),
    mer: tuple[str, ...] = ("a", "b"),
) -> pd.DataFrame:
    """Every clip of every subject predicted in every (resolution, sr, mer) cell.

    ``logit P(correct) = B0 + u_subject + effect * [sr == "x"]`` with ``u ~ N(0, sd)``: only SR
    method "x" matters; resolution and MER have no effect.
    """
    rng = np.random.default_rng(seed)
    u = rng.normal(0.0, sd, n_subjects)
    cells = itertools.product(range(n_subjects), range(clips), (16, 32), sr, mer)
    d = pd.DataFrame(list(cells), columns=["s", "clip", "resolution", "sr", "mer"])
    ok = rng.random(len(d)) < expit(B0 + u[d["s"]] + effect * (d["sr"] == "x"))
    d["subject"] = [f"{s:02d}" for s in d["s"]]
    d["y_true"] = "negative"
    d["y_pred"] = np.where(ok, "negative", "positive")
    return d.drop(columns="s")


def _marginal_effect(effect: float, sd: float) -> float:
    """Population-averaged log-odds ratio implied by a subject-specific ``effect`` (what GEE estimates).

    ``logit E[expit(B0 + effect + u)] - logit E[expit(B0 + u)]``, ``u ~ N(0, sd)``, by Gauss-Hermite
    quadrature: a random intercept attenuates the marginal effect (0.83 for effect 1, sd 1).
    """
    x, w = np.polynomial.hermite_e.hermegauss(60)

    def mean_p(b: float) -> float:
        return float(np.sum(w * expit(b + sd * x)) / np.sqrt(2 * np.pi))

    return float(logit(mean_p(B0 + effect)) - logit(mean_p(B0)))


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, ClipModel]:
    d = _simulate(seed=0)
    return d, clip_model(d)


def _coef(res: ClipModel, term: str) -> pd.Series:
    return res.coefficients.set_index("term").loc[term]


def _test(res: ClipModel, factor: str) -> pd.Series:
    return res.tests.set_index("factor").loc[factor]


def test_planted_effect_recovered(planted):
    d, res = planted
    assert res.n_obs == len(d) == 40 * 6 * 2 * 3 * 2
    assert res.n_clusters == 40
    truth = _marginal_effect(1.0, 1.0)
    assert 0.8 < truth < 0.86
    x = _coef(res, "sr[x]")
    assert x.ci_lo <= truth <= x.ci_hi
    assert x.p < 1e-10 and _test(res, "sr").p < 1e-10
    assert x.odds_ratio == pytest.approx(np.exp(x.coef))
    assert x.z == pytest.approx(x.coef / x.se)
    # factors without an effect
    assert _test(res, "mer").p > 0.2
    assert _coef(res, "resolution[32]").ci_lo < 0 < _coef(res, "resolution[32]").ci_hi
    assert _coef(res, "sr[y]").ci_lo < 0 < _coef(res, "sr[y]").ci_hi
    # subjects differ (sd 1), so predictions of the same subject are positively correlated
    assert 0.05 < res.working_correlation < 0.5


def test_without_subject_spread_the_subject_specific_effect_is_recovered():
    res = clip_model(_simulate(seed=1, sd=0.0, effect=1.0))
    x = _coef(res, "sr[x]")
    assert x.ci_lo <= 1.0 <= x.ci_hi


def test_table_layout_terms_and_default_references(planted):
    _, res = planted
    assert list(res.coefficients.columns[:8]) == [
        "term", "coef", "odds_ratio", "se", "z", "p", "ci_lo", "ci_hi",
    ]  # fmt: skip
    assert res.coefficients["term"].tolist() == [
        "Intercept", "resolution[32]", "sr[x]", "sr[y]", "mer[b]",
    ]  # fmt: skip
    assert res.reference == {"resolution": 16, "sr": "none", "mer": "a"}
    assert list(res.tests.columns) == ["factor", "df", "chi2", "p"]
    assert res.tests.set_index("factor")["df"].to_dict() == {"resolution": 1, "sr": 2, "mer": 1}
    assert (res.coefficients["ci_lo"] < res.coefficients["coef"]).all()
    text = res.summary_text()
    for s in ("sr[x]", "40 subject clusters", "reference levels: resolution=16, sr=none, mer=a"):
        assert s in text


def test_default_reference_rules():
    d = _simulate(seed=2, n_subjects=12, sr=("bicubic", "edsr"), mer=("m1", "m2"))
    # resolution as strings: the lowest numerically ("16" < "128" although "128" < "16" as text)
    d["resolution"] = d["resolution"].map({16: "128", 32: "16"})
    d = pd.concat([d, d[d["mer"] == "m2"]])  # m2 now the most frequent MER
    res = clip_model(d)
    # no "none" SR: most frequent, ties -> first in order
    assert res.reference == {"resolution": "16", "sr": "bicubic", "mer": "m2"}
    assert "mer[m1]" in res.coefficients["term"].tolist()


def test_reference_override_reparametrises(planted):
    d, res = planted
    alt = clip_model(d, reference={"sr": "x", "resolution": "32"})  # "32" matches 32
    assert alt.reference["sr"] == "x" and alt.reference["resolution"] == 32
    assert _coef(alt, "sr[none]").coef == pytest.approx(-_coef(res, "sr[x]").coef, abs=1e-6)
    assert _test(alt, "sr").chi2 == pytest.approx(_test(res, "sr").chi2, rel=1e-5)
    with pytest.raises(SrmerError, match="'zzz'.*'sr'"):
        clip_model(d, reference={"sr": "zzz"})
    with pytest.raises(SrmerError, match="not among the factors"):
        clip_model(d, reference={"dataset": "casme2"})


def test_single_level_factor_dropped_with_a_note():
    d = _simulate(seed=3, n_subjects=12, mer=("only",))
    res = clip_model(d)
    assert "mer" not in res.tests["factor"].tolist()
    assert not any(t.startswith("mer[") for t in res.coefficients["term"])
    assert any("'mer' dropped" in n for n in res.notes)
    assert any("only 12 clusters" in n for n in res.notes)  # few subjects: SEs optimistic
    only = clip_model(d, factors=("mer",))  # nothing left: overall accuracy
    assert only.coefficients["term"].tolist() == ["Intercept"] and only.tests.empty


def test_source_dataset_is_part_of_the_cluster():
    a = _simulate(seed=4, n_subjects=5, sr=("none", "x"), mer=("a",))
    b = _simulate(seed=5, n_subjects=5, sr=("none", "x"), mer=("a",))
    both = pd.concat([a.assign(source_dataset="casme2"), b.assign(source_dataset="samm")])
    assert set(a["subject"]) == set(b["subject"])  # same spelling "00".."04" in both
    assert clip_model(both).n_clusters == 10
    assert clip_model(both.drop(columns="source_dataset")).n_clusters == 5


def test_numeric_and_mixed_labels():
    d = _simulate(seed=6, n_subjects=10, mer=("a",))
    ref = clip_model(d)
    ints = d.assign(y_true=0, y_pred=np.where(d["y_pred"] == "negative", 0.0, 1.0))  # int vs float
    mixed = d.assign(y_true=0, y_pred=np.where(d["y_pred"] == "negative", "0", "1"))
    for other in (ints, mixed):
        got = clip_model(other)
        np.testing.assert_allclose(got.coefficients["coef"], ref.coefficients["coef"])


def test_missing_rows_dropped_with_a_note():
    d = _simulate(seed=7, n_subjects=10, mer=("a",))
    d.loc[d.index[:5], "y_pred"] = None
    res = clip_model(d)
    assert res.n_obs == len(d) - 5
    assert any(n.startswith("5 of") for n in res.notes)


def test_errors():
    d = _simulate(seed=8, n_subjects=6, mer=("a",))
    for col in ("subject", "y_true", "sr"):
        with pytest.raises(SrmerError, match=f"'{col}'"):
            clip_model(d.drop(columns=col))
    with pytest.raises(SrmerError, match="only 1 cluster"):
        clip_model(d[d["subject"] == "00"])
    with pytest.raises(SrmerError, match="every prediction is correct"):
        clip_model(d.assign(y_pred=d["y_true"]))
    with pytest.raises(SrmerError, match="every prediction is wrong"):
        clip_model(d.assign(y_pred="positive"))
    with pytest.raises(SrmerError, match="cov_type"):
        clip_model(d, cov_type="naive")


def test_confounded_factors_are_refused():
    d = _simulate(seed=9, n_subjects=8, mer=("a",))
    d["mer"] = np.where(d["sr"] == "x", "deep", "svm")  # MER determined by SR: not separable
    with pytest.raises(SrmerError, match=r"confounded.*mer\[deep\]"):
        clip_model(d)


def test_separation_is_named_when_the_fit_diverges():
    d = _simulate(seed=10, n_subjects=10, mer=("a",))
    d.loc[d["sr"] == "y", "y_pred"] = d.loc[d["sr"] == "y", "y_true"]  # "y" always right
    with pytest.raises(SrmerError, match=r"diverged.*sr='y'.*all \d+ predictions correct"):
        clip_model(d)


def test_bias_reduced_covariance_is_wider_with_few_clusters():
    d = _simulate(seed=11, n_subjects=8, mer=("a",))
    rob, br = clip_model(d), clip_model(d, cov_type="bias_reduced")
    np.testing.assert_allclose(br.coefficients["coef"], rob.coefficients["coef"])
    assert (br.coefficients["se"] > rob.coefficients["se"]).all()
    assert br.cov_type == "bias_reduced" and "bias_reduced SEs" in br.summary_text()
