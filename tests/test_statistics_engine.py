"""Statistics in the engine and the report: intervals on every row, "Does SR help?", power, the
per-clip model, interval tables and `srmer compare`."""

import pandas as pd
import pytest

from srmer.bench import runner
from srmer.bench.compare import compare_runs
from srmer.bench.config import parse_config
from srmer.data import synthetic
from srmer.errors import SrmerError
from srmer.eval.metrics import all_metrics


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("stats") / "casme2"
    synthetic.generate(r, n_subjects=6, clips_per_subject=4, n_frames=10, size=64, seed=5)
    return r


def _raw(root, out, **over):
    raw = {
        "name": "stats",
        "datasets": [{"name": "casme2", "root": str(root)}],
        "preprocess": {"size": 64},
        "resolutions": [16, 32],
        "sr": ["none", "bicubic", "fsr"],
        "mer": [{"name": "lbptop", "blocks": [2, 2]}],
        "report": {"n_boot": 300, "intervals": True},
        "output": str(out),
        "executor": {"kind": "local", "workers": 1},
    }
    raw.update(over)
    return raw


@pytest.fixture(scope="module")
def run_a(root, tmp_path_factory):
    return runner.run(parse_config(_raw(root, tmp_path_factory.mktemp("a") / "a")), quiet=True)


def test_every_row_has_intervals_around_its_value(run_a):
    df = run_a.results
    for m in ("war", "uar", "uf1"):
        assert df[f"{m}_lo"].notna().all()
        assert (df[f"{m}_lo"] <= df[m] + 1e-12).all() and (df[m] <= df[f"{m}_hi"] + 1e-12).all()
    assert (df["war_hi"] - df["war_lo"]).gt(0).any()
    pred = pd.read_csv(run_a.run_dir / "predictions.csv")
    row = df.iloc[1]
    p = pred[(pred["setting"] == row["setting"]) & (pred["sr"] == row["sr"])]
    assert row["war"] == pytest.approx(all_metrics(p["y_true"], p["y_pred"])["war"])


def test_report_answers_does_sr_help_with_power_and_the_clip_model(run_a):
    rep = run_a.run_dir / "report"
    html = (rep / "report.html").read_text()
    assert "Does SR help?" in html and "Power: with" in html
    assert "Per-clip model of correctness" in html and "Wald tests" in html
    assert " [" in html  # `report: {intervals: true}` shows value [lo, hi]
    comps = pd.read_csv(rep / "comparisons.csv")
    pairs = set(zip(comps["sr"], comps["baseline"], strict=True))
    assert {("fsr", "none"), ("fsr", "bicubic"), ("bicubic", "none")} <= pairs
    assert comps["p_holm"].ge(comps["p"] - 1e-12).all() and comps["p_holm"].le(1).all()
    assert (comps["lo"] <= comps["diff"] + 1e-12).all() and (
        comps["diff"] <= comps["hi"] + 1e-12
    ).all()
    assert comps["verdict"].str.match(r"^(helps|hurts|no detectable difference)").all()


def test_compare_merges_two_runs_and_refuses_other_clips(run_a, root, tmp_path):
    b = runner.run(
        parse_config(
            _raw(root, tmp_path / "b", mer=[{"name": "lbptop", "blocks": [2, 2], "C": 0.001}])
        ),
        quiet=True,
        write_report=False,
    )
    html = compare_runs([run_a.run_dir, b.run_dir], tmp_path / "ab")
    merged = pd.read_csv(tmp_path / "ab" / "results.csv")
    assert {"lbptop", "lbptop@b"} <= set(merged["mer"])
    assert "Does SR help?" in html.read_text()
    other = tmp_path / "casme2_other"
    synthetic.generate(other, n_subjects=5, clips_per_subject=4, n_frames=10, size=64, seed=5)
    c = runner.run(parse_config(_raw(other, tmp_path / "c")), quiet=True, write_report=False)
    with pytest.raises(SrmerError, match="different clips"):
        compare_runs([run_a.run_dir, c.run_dir], tmp_path / "ac")
    with pytest.raises(SrmerError, match="at least two"):
        compare_runs([run_a.run_dir], tmp_path / "x")


def test_any_two_cells_can_be_compared_and_match_the_report(run_a):
    from srmer.bench.statistics import StatsOptions, compare_cells

    pred = pd.read_csv(run_a.run_dir / "predictions.csv")
    opts = StatsOptions(n_boot=300)
    out = compare_cells(
        pred, {"resolution": 32, "sr": "fsr", "mer": "lbptop"},
        {"resolution": 32, "sr": "none", "mer": "lbptop"}, "war", opts,
    )  # fmt: skip
    comps = pd.read_csv(run_a.run_dir / "report" / "comparisons.csv")
    row = comps[
        (comps["resolution"] == 32) & (comps["sr"] == "fsr") & (comps["baseline"] == "none")
    ]
    assert out["diff"] == pytest.approx(float(row["diff"].iloc[0]))
    assert out["p_mcnemar"] == pytest.approx(float(row["p_mcnemar"].iloc[0]))
    # two resolutions of one method: a comparison the report does not make
    out = compare_cells(
        pred, {"resolution": 32, "sr": "none", "mer": "lbptop"},
        {"resolution": 16, "sr": "none", "mer": "lbptop"}, "uar", opts,
    )  # fmt: skip
    assert out["lo"] <= out["diff"] <= out["hi"] and 0 < out["p_perm"] <= 1
    with pytest.raises(SrmerError, match="no panel"):
        compare_cells(
            pred,
            {"resolution": 8, "sr": "none", "mer": "x"},
            {"resolution": 16, "sr": "none", "mer": "lbptop"},
        )
