"""Three-factor ANOVA and letter groups against hand computations and the paper of Zhou et al.."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from srmer.errors import SrmerError
from srmer.eval.stats import (
    compact_letter_display,
    lsd_pvalues,
    three_factor_anova,
    tukey_hsd_pvalues,
)


def _tiny_table() -> pd.DataFrame:
    """Balanced 3 (res) x 2 (sr) x 2 (mer) grid: res effects far apart, sr effects equal."""
    res_eff = {16: 0.10, 32: 0.30, 64: 0.50}
    sr_eff = {"bicubic": 0.0, "edsr": 0.0}
    mer_eff = {"lbptop": 0.0, "ststnet": 0.04}
    # Fixed "noise" so the residual error is non-zero and known.
    noise = np.array(
        [0.01, -0.02, 0.015, -0.005, 0.0, 0.012, -0.011, 0.004, -0.007, 0.02, -0.013, 0.003]
    )
    rows = []
    for e, (r, s, m) in zip(noise, itertools.product(res_eff, sr_eff, mer_eff), strict=True):
        rows.append(
            dict(resolution=r, sr=s, mer=m, war=0.2 + res_eff[r] + sr_eff[s] + mer_eff[m] + e)
        )
    return pd.DataFrame(rows)


def test_anova_matches_hand_computation():
    df = _tiny_table()
    y = df["war"].to_numpy()
    grand = y.mean()
    n = len(y)
    # Balanced additive model: fitted = grand + sum of main-effect deviations.
    fitted = np.full(n, grand)
    ss = {}
    for f in ("resolution", "sr", "mer"):
        lvl_mean = df.groupby(f)["war"].transform("mean").to_numpy()
        fitted += lvl_mean - grand
        ss[f] = np.sum((lvl_mean - grand) ** 2)  # sum over observations = n_per_level * sum dev^2
    sse = np.sum((y - fitted) ** 2)
    df_resid = n - 1 - (3 - 1) - (2 - 1) - (2 - 1)
    mse = sse / df_resid

    res = three_factor_anova(df)
    assert res.df_resid == df_resid == 7
    assert res.mse == pytest.approx(mse, rel=1e-10)
    assert res.n == 12
    for f, dff in (("resolution", 2), ("sr", 1), ("mer", 1)):
        F = ss[f] / dff / mse
        assert res.factors[f].sum_sq == pytest.approx(ss[f], rel=1e-9)
        assert res.factors[f].F == pytest.approx(F, rel=1e-9)
        assert res.factors[f].p == pytest.approx(sps.f.sf(F, dff, df_resid), rel=1e-9)

    # Tukey p-values of the resolution factor, step by step.
    lv = res.factors["resolution"].levels
    assert lv["level"].tolist() == [16, 32, 64]
    means = df.groupby("resolution")["war"].mean().loc[[16, 32, 64]].to_numpy()
    np.testing.assert_allclose(lv["mean"], means)
    assert lv["n"].tolist() == [4, 4, 4]
    pm = res.factors["resolution"].pvalues.to_numpy()
    for i, j in itertools.combinations(range(3), 2):
        q = abs(means[i] - means[j]) / np.sqrt(mse / 2 * (1 / 4 + 1 / 4))
        assert pm[i, j] == pytest.approx(sps.studentized_range.sf(q, 3, df_resid), rel=1e-6)
        assert pm[i, j] == pm[j, i]

    # Means 0.2 apart with an error SD ~0.015: all different, highest = "a".
    assert lv["letters"].tolist() == ["c", "b", "a"]
    # Identical SR effects: one group.
    assert res.factors["sr"].levels["letters"].tolist() == ["a", "a"]
    assert res.factors["sr"].p > 0.05
    # The table carries the original factor names.
    assert list(res.table.index) == ["resolution", "sr", "mer", "Residual"]


def test_tukey_pvalues_formula_unequal_counts():
    means, counts, mse, dfr = [0.5, 0.4, 0.42], [3, 5, 4], 0.002, 20.0
    p = tukey_hsd_pvalues(means, counts, mse, dfr)
    q01 = 0.1 / np.sqrt(mse / 2 * (1 / 3 + 1 / 5))
    assert p[0, 1] == pytest.approx(sps.studentized_range.sf(q01, 3, dfr), rel=1e-6)
    assert np.allclose(np.diag(p), 1.0)
    # LSD is never more conservative than Tukey.
    assert np.all(lsd_pvalues(means, counts, mse, dfr) <= p + 1e-12)
    t01 = 0.1 / np.sqrt(mse * (1 / 3 + 1 / 5))
    assert lsd_pvalues(means, counts, mse, dfr)[0, 1] == pytest.approx(2 * sps.t.sf(t01, dfr))


def test_letters_order_and_overlap():
    # Input order scrambled: "a" still goes to the highest mean.
    means = [0.2, 0.9, 0.5]
    sig = np.ones((3, 3), bool)
    assert compact_letter_display(means, sig) == ["c", "a", "b"]
    # Non-transitive: 0 ~ 1, 1 ~ 2, 0 != 2  ->  a, ab, b.
    sig = np.zeros((3, 3), bool)
    sig[0, 2] = sig[2, 0] = True
    assert compact_letter_display([0.9, 0.6, 0.3], sig) == ["a", "ab", "b"]
    assert compact_letter_display([0.1, 0.1], np.zeros((2, 2), bool)) == ["a", "a"]


def test_letters_represent_every_comparison():
    # Property of a compact letter display: two levels share a letter iff they do not differ.
    rng = np.random.default_rng(0)
    for _ in range(200):
        k = int(rng.integers(2, 8))
        means = np.sort(rng.random(k))[::-1]
        # Significance driven by distance, plus random flips to create awkward patterns.
        sig = np.abs(means[:, None] - means[None, :]) > rng.uniform(0.1, 0.5)
        flip = np.triu(rng.random((k, k)) < 0.15, 1)
        sig = np.triu(sig ^ flip, 1)
        sig = sig | sig.T
        letters = compact_letter_display(means, sig)
        for i, j in itertools.combinations(range(k), 2):
            share = bool(set(letters[i]) & set(letters[j]))
            assert share == (not sig[i, j]), (letters, sig)
        assert all(letters)


# Seed 000 Table II (CASME II): rows Bicubic (LR) / Bicubic_restore / EDSR / RDN / GLEAN at each
# resolution, columns LBPTOP LBPSIP 3DHOG RCNA STSTNet FeatRef 3DResNet.
_MERS = ["lbptop", "lbpsip", "hog3d", "rcna", "ststnet", "featref", "resnet3d"]
_SRS = ["none", "bicubic", "edsr", "rdn", "glean"]
_TABLE2 = {
    16: [
        [0.435, 0.357, 0.271, 0.365, 0.411, 0.397, 0.419],
        [0.396, 0.420, 0.333, 0.461, 0.445, 0.430, 0.416],
        [0.447, 0.447, 0.380, 0.373, 0.432, 0.406, 0.408],
        [0.431, 0.431, 0.396, 0.396, 0.450, 0.412, 0.385],
        [0.494, 0.494, 0.298, 0.400, 0.463, 0.414, 0.382],
    ],
    32: [
        [0.369, 0.420, 0.333, 0.473, 0.468, 0.475, 0.373],
        [0.400, 0.443, 0.337, 0.547, 0.501, 0.541, 0.406],
        [0.416, 0.451, 0.337, 0.513, 0.479, 0.488, 0.433],
        [0.408, 0.471, 0.314, 0.533, 0.484, 0.489, 0.423],
        [0.412, 0.435, 0.345, 0.560, 0.508, 0.539, 0.444],
    ],
    64: [
        [0.396, 0.467, 0.365, 0.586, 0.554, 0.588, 0.411],
        [0.435, 0.471, 0.427, 0.580, 0.519, 0.583, 0.413],
        [0.451, 0.478, 0.388, 0.570, 0.525, 0.583, 0.412],
        [0.451, 0.478, 0.365, 0.582, 0.522, 0.586, 0.426],
        [0.494, 0.494, 0.337, 0.562, 0.507, 0.552, 0.387],
    ],
    128: [
        [0.459, 0.478, 0.341, 0.632, 0.531, 0.627, 0.404],
        [0.478, 0.482, 0.353, 0.646, 0.513, 0.618, 0.371],
        [0.482, 0.490, 0.345, 0.619, 0.514, 0.616, 0.398],
        [0.482, 0.486, 0.349, 0.615, 0.514, 0.624, 0.378],
        [0.490, 0.494, 0.412, 0.569, 0.518, 0.561, 0.398],
    ],
}


def _paper_frame() -> pd.DataFrame:
    rows = []
    for r, block in _TABLE2.items():
        for sr, vals in zip(_SRS, block, strict=True):
            for mer, v in zip(_MERS, vals, strict=True):
                rows.append({"resolution": r, "sr": sr, "mer": mer, "war": v})
    return pd.DataFrame(rows)


def test_reproduces_seed000_table6_casme2():
    """Table VI (CASME II column) from the Table II numbers it was computed from."""
    res = three_factor_anova(_paper_frame(), posthoc="lsd")
    assert res.n == 140
    # Paper: SR factor p = 0.3267.
    assert res.factors["sr"].p == pytest.approx(0.3267, abs=5e-5)
    rl = res.factors["resolution"].levels.set_index("level")
    np.testing.assert_allclose(
        rl["mean"].loc[[16, 32, 64, 128]], [0.4084, 0.4448, 0.4841, 0.4939], atol=6e-5
    )
    assert rl["letters"].loc[[16, 32, 64, 128]].tolist() == ["c", "b", "a", "a"]
    ml = res.factors["mer"].levels.set_index("level")
    np.testing.assert_allclose(
        ml["mean"].loc[_MERS], [0.4413, 0.4593, 0.3513, 0.5291, 0.4929, 0.5264, 0.4043], atol=6e-5
    )
    assert ml["letters"].loc[_MERS].tolist() == ["c", "c", "e", "a", "b", "a", "d"]
    sl = res.factors["sr"].levels.set_index("level")
    np.testing.assert_allclose(
        sl["mean"].loc[["bicubic", "edsr", "rdn", "glean"]],
        [0.4630, 0.4600, 0.4600, 0.4630],
        atol=6e-5,
    )

    # Tukey (the default) is more conservative: every pair LSD leaves together stays together.
    tk = three_factor_anova(_paper_frame())
    for f in ("resolution", "sr", "mer"):
        lsd_l = res.factors[f].levels.set_index("level")["letters"]
        tk_l = tk.factors[f].levels.set_index("level")["letters"]
        for a, b in itertools.combinations(lsd_l.index, 2):
            if set(lsd_l[a]) & set(lsd_l[b]):
                assert set(tk_l[a]) & set(tk_l[b]), (f, a, b)
    assert tk.factors["mer"].levels.set_index("level")["letters"]["rcna"].startswith("a")


def test_sanitised_names_and_errors():
    df = _tiny_table().rename(columns={"sr": "SR method", "war": "war.score"})
    res = three_factor_anova(df, response="war.score", factors=("resolution", "SR method", "mer"))
    assert "SR method" in res.factors
    with pytest.raises(SrmerError, match="mer"):
        three_factor_anova(_tiny_table().query("mer == 'lbptop'"))
    with pytest.raises(SrmerError, match="uf1"):
        three_factor_anova(_tiny_table(), response="uf1")
    with pytest.raises(SrmerError, match="posthoc"):
        three_factor_anova(_tiny_table(), posthoc="scheffe")
    # NaN responses are dropped, not propagated.
    df = _tiny_table()
    df.loc[0, "war"] = np.nan
    assert three_factor_anova(df).n == 11
