"""The protocols in the engine: the composite, cross-dataset, leave-one-dataset-out, k-fold and
hold-out runs end to end on small synthetic data, their tables and reports, shared caches, and the
errors these protocols add."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from srmer.bench import runner
from srmer.bench.config import parse_config, preflight
from srmer.bench.report import write_report
from srmer.data import synthetic
from srmer.data.synthetic.composite import LIST_FILE
from srmer.errors import ConfigError, DatasetError

CONFIGS = Path(__file__).resolve().parents[1] / "src" / "srmer" / "configs"


@pytest.fixture(scope="module")
def comp_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("protocols") / "composite"
    synthetic.generate_composite(root, n_subjects=3, clips_per_subject=4, n_frames=10, size=64)
    return root


def _raw(out, datasets, protocol, **over):
    raw = {
        "name": "proto",
        "datasets": datasets,
        "preprocess": {"size": 64},
        "resolutions": [16],
        "sr": ["none", "bicubic"],
        "mer": [{"name": "lbptop", "blocks": [2, 2]}],
        "protocol": protocol,
        "output": str(out),
        "executor": {"kind": "local", "workers": 1},
    }
    raw.update(over)
    return raw


def _composite(root):
    return [{"name": "composite", "root": str(root), "options": {"list": str(root / LIST_FILE)}}]


def _three(root):
    return [{"name": d, "root": str(root / d)} for d in ("casme2", "samm", "smic")]


def _demo_config(name: str, root: Path, out: Path, cache: Path) -> dict:
    """A packaged demo config in `make test` size: its protocol and datasets, a tiny grid."""
    raw = yaml.safe_load((CONFIGS / name).read_text())
    datasets = _composite(root) if raw["datasets"][0]["name"] == "composite" else _three(root)
    small = _raw(out, datasets, raw["protocol"], report=raw["report"], cache=str(cache))
    small["name"] = raw["name"]
    return small


@pytest.fixture(scope="module")
def composite_run(comp_root, tmp_path_factory):
    base = tmp_path_factory.mktemp("comp_run")
    raw = _demo_config("composite_demo.yaml", comp_root, base / "run", base / "cache")
    res = runner.run(parse_config(raw), quiet=True)
    return res, raw


# ---------------------------------------------------------------------------------- composite
def test_composite_demo_runs_loso_over_every_subject_of_the_three_databases(composite_run):
    res, _ = composite_run
    df = res.results
    assert set(df["protocol"]) == {"loso"}
    assert set(df["test_dataset"]) == {"composite"}
    assert set(df["train_datasets"]) == {"casme2+samm+smic"}
    pred = pd.read_csv(res.run_dir / "predictions.csv")
    one = pred[(pred["setting"] == "64x64") & (pred["mer"] == "lbptop")]
    assert set(one["source_dataset"]) == {"casme2", "samm", "smic"}
    assert one["subject"].nunique() == 9  # 3 subjects per database, kept apart
    assert len(one) == int(df["n_clips"].iloc[0])


def test_composite_rows_have_per_database_scores_from_the_same_predictions(composite_run):
    res, _ = composite_run
    by = pd.read_csv(res.run_dir / "results_by_dataset.csv")
    pred = pd.read_csv(res.run_dir / "predictions.csv")
    row = res.results.iloc[0]
    part = by[(by["setting"] == row["setting"]) & (by["sr"] == row["sr"])]
    assert set(part["source_dataset"]) == {"casme2", "samm", "smic"}
    assert part["n_clips"].sum() == row["n_clips"]
    p = pred[(pred["setting"] == row["setting"]) & (pred["sr"] == row["sr"])]
    for _, r in part.iterrows():
        sub = p[p["source_dataset"] == r["source_dataset"]]
        assert r["war"] == pytest.approx(float(np.mean(sub["y_true"] == sub["y_pred"])))


def test_composite_report_shows_the_megc_table_with_uf1_first(composite_run):
    res, _ = composite_run
    html = (res.run_dir / "report" / "report.html").read_text()
    assert "layout of the MEGC 2019 summary" in html
    for name in ("SMIC-HS", "CASME II", "SAMM", "UF1", "UAR"):
        assert name in html
    plan = json.loads((res.run_dir / "plan.json").read_text())
    assert plan["metric"] == "uf1"
    md = (res.run_dir / "report" / "report.md").read_text()
    assert "UF1 and UAR and WAR" not in md  # caption lists metrics properly
    assert md.index("UF1") < md.index("WAR")


def test_cross_dataset_demo_shares_the_clip_cache_and_tests_each_pair_on_its_target(
    composite_run, comp_root, tmp_path
):
    _, comp_raw = composite_run
    cache = Path(comp_raw["cache"])
    before = {p.name for p in (cache / "repr").rglob("*.npz")}
    raw = _demo_config("cross_dataset_demo.yaml", comp_root, tmp_path / "x", cache)
    res = runner.run(parse_config(raw), quiet=True)
    after = {p.name for p in (cache / "repr").rglob("*.npz")}
    assert before and after == before  # every descriptor came from the composite run's cache
    df = res.results
    pairs = set(zip(df["train_datasets"], df["test_dataset"], strict=True))
    assert pairs == {
        (a, b) for a in ("casme2", "samm", "smic") for b in ("casme2", "samm", "smic") if a != b
    }
    pred = pd.read_csv(res.run_dir / "predictions.csv")
    for (train, test), part in pred.groupby(["train_datasets", "test_dataset"]):
        assert set(part["source_dataset"]) == {test}
        assert train != test
    html = (res.run_dir / "report" / "report.html").read_text()
    assert "Cross-dataset matrices" in html and "trained on the source database" in html
    assert "rows train (source), columns test (target)" in html


def test_leave_one_dataset_out_pools_the_three_folds(comp_root, tmp_path):
    raw = _raw(tmp_path / "l", _composite(comp_root), "leave_one_dataset_out")
    res = runner.run(parse_config(raw), quiet=True, write_report=False)
    df = res.results
    assert set(df["protocol"]) == {"leave_one_dataset_out"}
    pred = pd.read_csv(res.run_dir / "predictions.csv")
    one = pred[(pred["setting"] == "16x16")]
    assert len(one) == int(df["n_clips"].iloc[0])  # every clip tested once
    by = pd.read_csv(res.run_dir / "results_by_dataset.csv")
    assert set(by["source_dataset"]) == {"casme2", "samm", "smic"}


def test_kfold_and_holdout_on_one_dataset(comp_root, tmp_path):
    ds = [{"name": "casme2", "root": str(comp_root / "casme2")}]
    res = runner.run(
        parse_config(_raw(tmp_path / "k", ds, {"name": "kfold", "k": 3, "seed": 1})),
        quiet=True,
        write_report=False,
    )
    assert set(res.results["protocol"]) == {"kfold"}
    pred = pd.read_csv(res.run_dir / "predictions.csv")
    assert pred.groupby(["setting", "sr"]).size().iloc[0] == res.results["n_clips"].iloc[0]
    res = runner.run(
        parse_config(_raw(tmp_path / "h", ds, {"name": "holdout", "test_subjects": ["02"]})),
        quiet=True,
        write_report=False,
    )
    pred = pd.read_csv(res.run_dir / "predictions.csv")
    assert set(pred["subject"].astype(str).str.zfill(2)) == {"02"}
    write_report(res.run_dir)  # a hold-out run has a report like any other


# ------------------------------------------------------------------------------------ errors
def test_composite_roots_mapping_in_a_config_and_a_missing_root(comp_root, tmp_path):
    roots = {d: str(comp_root / d) for d in ("casme2", "samm", "smic")}
    cfg = parse_config(
        _raw(
            tmp_path / "r",
            [
                {
                    "name": "composite",
                    "roots": roots,
                    "options": {"list": str(comp_root / LIST_FILE)},
                }
            ],
            "loso",
        )
    )
    assert cfg.datasets[0].source == {d: Path(p) for d, p in roots.items()}
    assert cfg.datasets[0].sources == ("casme2", "samm", "smic")
    with pytest.raises(ConfigError, match="smic"):
        parse_config(
            _raw(
                tmp_path / "r",
                [{"name": "composite", "roots": {"casme2": "a", "samm": "b"}}],
                "loso",
            )
        )
    bad = dict(roots, samm=str(tmp_path / "nowhere"))
    cfg = parse_config(_raw(tmp_path / "r", [{"name": "composite", "roots": bad}], "loso"))
    with pytest.raises(ConfigError, match=r"datasets\[0\]\.roots\.samm"):
        preflight(cfg)


def test_one_subject_is_a_clear_error_before_any_work(tmp_path):
    root = tmp_path / "casme2"
    synthetic.generate(root, n_subjects=1, clips_per_subject=4, n_frames=10, size=64)
    raw = _raw(tmp_path / "o", [{"name": "casme2", "root": str(root)}], "loso")
    with pytest.raises(DatasetError, match="at least two subjects"):
        runner.run(parse_config(raw), quiet=True, write_report=False)
    assert not (tmp_path / "o" / "cache" / "repr").exists()  # refused before the clip stage


def test_unknown_holdout_subject_is_named(comp_root, tmp_path):
    ds = [{"name": "casme2", "root": str(comp_root / "casme2")}]
    raw = _raw(tmp_path / "u", ds, {"name": "holdout", "test_subjects": ["99"]})
    with pytest.raises(DatasetError, match="'99'"):
        runner.run(parse_config(raw), quiet=True, write_report=False)


def test_sr_pool_inside_the_evaluation_data_is_refused_and_a_checked_pool_is_recorded(
    comp_root, tmp_path
):
    ds = [{"name": "casme2", "root": str(comp_root / "casme2")}]
    raw = _raw(tmp_path / "p", ds, "loso", sr_pool=str(comp_root / "casme2"))
    with pytest.raises(ConfigError, match="sr_pool"):
        runner.run(parse_config(raw), quiet=True, write_report=False)
    pool = synthetic.generate_sr_pool(
        tmp_path / "pool", n_identities=2, frames_per_identity=2, size=64
    )
    raw = _raw(tmp_path / "q", ds, "loso", sr_pool=str(pool))
    res = runner.run(parse_config(raw), quiet=True, write_report=False)
    prov = json.loads((res.run_dir / "provenance.json").read_text())
    assert prov["sr_pool_check"]["status"] == "checked"
    html = write_report(res.run_dir).read_text()
    assert "SR training pool" in html and "identities checked" in html


def test_cli_report_metric_option_and_table_print(composite_run):
    from typer.testing import CliRunner

    from srmer.cli import _print_table, app

    res, _ = composite_run
    out = CliRunner().invoke(app, ["report", str(res.run_dir), "--metric", "uar"])
    assert out.exit_code == 0, out.output
    md = (res.run_dir / "report" / "report.md").read_text()
    assert "**Table 1.** UAR of each SR method" in md
    out = CliRunner().invoke(app, ["report", str(res.run_dir), "--metric", "f1"])
    assert out.exit_code != 0 and "choose war, uar or uf1" in str(out.exception)
    _print_table(res.run_dir)  # one panel per pool and task, the config's metric


def test_cli_checks_a_composite_copy_against_its_own_list(comp_root):
    from typer.testing import CliRunner

    from srmer.cli import app

    out = CliRunner().invoke(
        app,
        ["datasets", "check", "composite", str(comp_root), "--list", str(comp_root / LIST_FILE)],
    )
    assert out.exit_code == 0, out.output
    assert "every listed clip was found" in out.output
    out = CliRunner().invoke(
        app, ["datasets", "check", "casme2", str(comp_root / "casme2"), "--list", "x"]
    )
    assert out.exit_code != 0 and "composite dataset only" in str(out.exception)
