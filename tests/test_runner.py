"""End-to-end runs of the benchmark on a tiny synthetic dataset."""

import numpy as np
import pandas as pd
import pytest

from srmer.bench import runner
from srmer.bench.cache import Cache
from srmer.bench.config import parse_config
from srmer.bench.stages import clip as clip_stage
from srmer.data import synthetic


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny") / "casme2"
    synthetic.generate(root, n_subjects=3, clips_per_subject=4, n_frames=10, size=64, seed=1)
    return root


def _config(root, out, **over):
    raw = {
        "name": "tiny",
        "datasets": [{"name": "casme2", "root": str(root)}],
        "preprocess": {"size": 64},
        "resolutions": [16, 32],
        "sr": ["none", "bicubic"],
        "mer": [{"name": "lbptop", "blocks": [2, 2]}],
        "output": str(out),
        "executor": {"kind": "local", "workers": 1},
    }
    raw.update(over)
    return parse_config(raw)


def test_run_writes_the_table_shaped_results(tiny_root, tmp_path):
    res = runner.run(_config(tiny_root, tmp_path / "run"), quiet=True, write_report=False)
    df = pd.read_csv(tmp_path / "run" / "results.csv")
    assert len(df) == 1 + 2 * 2  # reference + 2 resolutions x 2 SR
    assert df.setting.tolist() == ["64x64", "16x16", "16to64", "32x32", "32to64"]
    assert df.n_clips.unique().tolist() == [12]
    assert ((df.war >= 0) & (df.war <= 1)).all()
    # PSNR/SSIM only where an SR output exists
    assert (
        df.loc[df.sr == "bicubic", "psnr"].notna().all()
        and df.loc[df.sr == "none", "psnr"].isna().all()
    )
    assert (
        df.loc[df.setting == "32to64", "psnr"].item()
        > df.loc[df.setting == "16to64", "psnr"].item()
    )
    preds = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert len(preds) == 5 * 12 and set(preds.y_true) <= {
        "negative",
        "positive",
        "surprise",
        "others",
    }
    assert (tmp_path / "run" / "provenance.json").is_file() and (
        tmp_path / "run" / "config.yaml"
    ).is_file()
    assert res.skipped == []


def test_warm_rerun_reads_no_frames_and_gives_the_same_results(tiny_root, tmp_path, monkeypatch):
    cfg = _config(tiny_root, tmp_path / "run")
    first = runner.run(cfg, quiet=True, write_report=False).results

    def fail(*a, **k):
        raise AssertionError("a warm re-run must not read frames again")

    monkeypatch.setattr(clip_stage, "read_hr_clip", fail)
    second = runner.run(cfg, quiet=True, write_report=False).results
    pd.testing.assert_frame_equal(first, second)


def test_changing_only_svm_options_keeps_cached_descriptors(tiny_root, tmp_path, monkeypatch):
    runner.run(_config(tiny_root, tmp_path / "run"), quiet=True, write_report=False)
    monkeypatch.setattr(
        clip_stage,
        "read_hr_clip",
        lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")),
    )
    cfg = _config(
        tiny_root, tmp_path / "run", mer=[{"name": "lbptop", "blocks": [2, 2], "C": 10.0}]
    )
    df = runner.run(cfg, quiet=True, write_report=False).results
    assert len(df) == 5


def test_bad_clip_is_skipped_and_reported(tmp_path):
    root = tmp_path / "casme2"
    synthetic.generate(root, n_subjects=3, clips_per_subject=4, n_frames=10, size=64, seed=2)
    frames = sorted((root / "CASME2_RAW_selected").rglob("*.jpg"))
    frames[3].write_bytes(b"not a jpeg")  # corrupt frame in the first clip
    res = runner.run(
        _config(root, tmp_path / "run", resolutions=[16]), quiet=True, write_report=False
    )
    assert len(res.skipped) == 1 and "cannot be decoded" in res.skipped[0]["problem"]
    assert res.results.n_clips.unique().tolist() == [11]


def test_same_config_gives_the_same_table(tiny_root, tmp_path):
    a = runner.run(_config(tiny_root, tmp_path / "a"), quiet=True, write_report=False).results
    b = runner.run(_config(tiny_root, tmp_path / "b"), quiet=True, write_report=False).results
    assert np.allclose(a.war, b.war) and np.allclose(a.psnr.fillna(0), b.psnr.fillna(0))


def test_cache_clips_all_stores_every_clip_stage_and_reuses_them(tiny_root, tmp_path, monkeypatch):
    cfg = _config(tiny_root, tmp_path / "run", cache_clips="all")
    first = runner.run(cfg, quiet=True, write_report=False).results
    info = Cache(cfg.cache_dir).info()
    assert (
        info["hr"]["entries"] == 12
        and info["lr"]["entries"] == 12 * 2
        # SR clips of `bicubic` only: the `none` setting's clip is its LR clip, stored once
        and info["sr"]["entries"] == 12 * 2
    )
    # a new MER method needs representations but no clip is read or degraded again
    monkeypatch.setattr(
        clip_stage, "read_hr_clip", lambda *a, **k: (_ for _ in ()).throw(AssertionError("re-read"))
    )
    cfg2 = _config(
        tiny_root,
        tmp_path / "run",
        cache_clips="all",
        mer=[
            {"name": "lbptop", "blocks": [2, 2]},
            {"name": "lbptop", "blocks": [1, 1], "label": "lbp1"},
        ],
    )
    second = runner.run(cfg2, quiet=True, write_report=False).results
    assert len(second) == 2 * len(first)


def test_auto_policy_skips_cheap_bicubic_clips(tiny_root, tmp_path):
    cfg = _config(tiny_root, tmp_path / "run")
    runner.run(cfg, quiet=True, write_report=False)
    info = Cache(cfg.cache_dir).info()
    assert (
        "hr" not in info
        and "lr" not in info
        and "sr" not in info
        and info["repr"]["entries"] == 12 * 5
    )


def test_network_mer_runs_and_checkpoints_every_fold(tiny_root, tmp_path):
    cfg = _config(
        tiny_root,
        tmp_path / "run",
        resolutions=[16],
        sr=["bicubic"],
        mer=[{"name": "ststnet", "epochs": 2, "batch_size": 8}],
    )
    df = runner.run(cfg, quiet=True, write_report=False).results
    assert df.setting.tolist() == ["64x64", "16to64"] and df.war.between(0, 1).all()
    ckpts = list((cfg.cache_dir / "net_checkpoints").glob("*.pt"))
    assert len(ckpts) == 2 * 3  # 2 settings x 3 LOSO folds


def test_sr_keys_follow_the_model_fingerprint(tiny_root):
    from srmer.bench.plan import expand
    from srmer.data import load

    cfg = _config(tiny_root, "unused")
    sample = load("casme2", tiny_root)[0]
    plan = clip_stage.ClipPlan(
        "c",
        cfg.preprocess.model_dump(mode="json"),
        cfg.degradation.model_dump(mode="json"),
        expand(cfg),
        cfg.mer,
        0,
        {"models": {"bicubic": "pool-a"}},
    )
    a = clip_stage.setting_keys(plan, sample)["settings"]
    plan.sr_context = {"models": {"bicubic": "pool-b"}}
    b = clip_stage.setting_keys(plan, sample)["settings"]
    for sid in a:
        same = a[sid]["sr"] == b[sid]["sr"]
        assert same == (not sid.endswith("|bicubic")), (
            sid
        )  # only the fingerprinted method's outputs change


def test_temporal_consistency_is_reported_when_asked(tiny_root, tmp_path):
    cfg = _config(tiny_root, tmp_path / "run", resolutions=[16], quality=["psnr", "tcons"])
    df = runner.run(cfg, quiet=True, write_report=False).results
    row = df[df.sr == "bicubic"].iloc[0]
    assert row.tcons >= 0 and row.psnr > 0 and "ssim" not in df.columns
    q = pd.read_csv(tmp_path / "run" / "quality.csv")
    assert {"psnr", "tcons"} <= set(q.columns)


def test_feature_sr_wraps_descriptors_and_skips_networks(tiny_root, tmp_path):
    cfg = _config(
        tiny_root,
        tmp_path / "run",
        resolutions=[16],
        sr=["bicubic", "fsr"],
        reference=False,
        mer=[
            {"name": "lbptop", "blocks": [2, 2]},
            {"name": "ststnet", "epochs": 1, "batch_size": 8},
        ],
    )
    df = runner.run(cfg, quiet=True, write_report=False).results
    cells = set(zip(df.sr, df.mer, strict=True))
    assert cells == {("bicubic", "lbptop"), ("bicubic", "ststnet"), ("fsr", "lbptop")}
    # every clip of the fsr cell is predicted (by a per-fold LR->HR mapping and classifier)
    preds = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert len(preds[(preds.sr == "fsr")]) == 12


def test_ray_executor_runs_a_grid_like_the_local_one(tiny_root, tmp_path):
    pytest.importorskip("ray")
    local = runner.run(
        _config(tiny_root, tmp_path / "local", resolutions=[16]), quiet=True, write_report=False
    )
    cfg = _config(
        tiny_root, tmp_path / "ray", resolutions=[16], executor={"kind": "ray", "workers": 2}
    )
    remote = runner.run(cfg, quiet=True, write_report=False)
    pd.testing.assert_frame_equal(local.results, remote.results)
