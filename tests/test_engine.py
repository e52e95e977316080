"""The engine's correctness guarantees: validation before work, the run lock, damaged caches,
per-run SR models, and the results schema."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from srmer.bench import runner
from srmer.bench.cache import Cache, CacheWarning
from srmer.bench.config import load_config, parse_any_config, parse_config
from srmer.bench.rundir import RunDirectoryBusy, RunLock, StaleLockWarning
from srmer.bench.stages import clip as clip_stage
from srmer.data import synthetic
from srmer.errors import ConfigError


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_engine") / "casme2"
    synthetic.generate(root, n_subjects=3, clips_per_subject=4, n_frames=10, size=64, seed=2)
    return root


def _raw(root, out, **over):
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
    return raw


def _run(raw):
    return runner.run(parse_config(raw), quiet=True, write_report=False)


# ------------------------------------------------------------------------------ validation
def test_misspelt_mer_option_is_refused_when_the_config_loads(tiny_root, tmp_path):
    raw = _raw(tiny_root, tmp_path / "r", mer=["lbptop", {"name": "lbptop", "radiii": [1, 1, 4]}])
    raw["mer"][1]["label"] = "x"
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert "mer[1]" in str(e.value) and "radiii" in str(e.value)


def test_misspelt_sr_option_is_refused_when_the_config_loads(tiny_root, tmp_path):
    with pytest.raises(ConfigError) as e:
        parse_config(_raw(tiny_root, tmp_path / "r", sr=["none", {"name": "edsr", "stepz": 3}]))
    assert "sr[1]" in str(e.value) and "stepz" in str(e.value)


def test_learned_sr_without_pool_or_checkpoint_is_refused_at_load(tiny_root, tmp_path):
    with pytest.raises(ConfigError) as e:
        parse_config(_raw(tiny_root, tmp_path / "r", sr=["none", "edsr"]))
    assert "sr_pool" in str(e.value) and "sr[1]" in str(e.value)


def test_rejected_config_leaves_a_finished_run_directory_untouched(tiny_root, tmp_path):
    out = tmp_path / "run"
    _run(_raw(tiny_root, out))
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    bad = _raw(tiny_root, out, mer=[{"name": "lbptop", "bloks": [2, 2]}])
    cfg_file = tmp_path / "bad.yaml"
    cfg_file.write_text(yaml.safe_dump(bad))
    res = subprocess.run(
        [sys.executable, "-c", "from srmer.cli import main; main()", "run", str(cfg_file)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "bloks" in res.stderr and "Traceback" not in res.stderr
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before


def test_missing_dataset_root_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ConfigError) as e:
        runner.run(parse_config(_raw(tmp_path / "nowhere", out)), quiet=True)
    assert "datasets[0].root" in str(e.value)
    assert not out.exists()


def test_fsr_fer_config_without_experiment_field_gets_a_hint(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"name": "x", "fsr": {"scales": [2]}}))
    with pytest.raises(ConfigError, match="experiment: fsr_fer"):
        load_config(p)


def test_unknown_experiment_kind_is_named(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"experiment": "gird", "name": "x"}))
    with pytest.raises(ConfigError, match="gird"):
        load_config(p)


# ------------------------------------------------------------------------------------ lock
def test_a_second_run_on_a_directory_in_use_is_refused(tiny_root, tmp_path):
    out = tmp_path / "run"
    # a live process on this host owns the directory
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out.mkdir()
        import socket

        (out / ".lock").write_text(
            json.dumps({"host": socket.gethostname(), "pid": owner.pid, "started": 0})
        )
        with pytest.raises(RunDirectoryBusy) as e:
            _run(_raw(tiny_root, out))
        assert str(owner.pid) in str(e.value) and ".lock" in str(e.value)
        assert not (out / "config.yaml").exists()
    finally:
        owner.kill()
        owner.wait()


def test_a_stale_lock_is_reported_and_taken_over(tiny_root, tmp_path):
    out = tmp_path / "run"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out.mkdir()
    import socket

    (out / ".lock").write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid}))
    with pytest.warns(StaleLockWarning):
        _run(_raw(tiny_root, out))
    assert (out / "results.csv").is_file() and not (out / ".lock").exists()


def test_lock_is_exclusive_within_a_process(tmp_path):
    with RunLock(tmp_path / "d"):
        with pytest.raises(RunDirectoryBusy):
            RunLock(tmp_path / "d").acquire()
    with RunLock(tmp_path / "d"):  # released on exit
        pass


def test_a_new_run_removes_the_previous_runs_outputs_first(tiny_root, tmp_path, monkeypatch):
    out = tmp_path / "run"
    _run(_raw(tiny_root, out))
    assert (out / "results.csv").is_file()

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(clip_stage, "read_hr_clip", killed)
    with pytest.raises(KeyboardInterrupt):
        _run(_raw(tiny_root, out, resolutions=[16], cache=str(tmp_path / "fresh")))
    # the killed run's config is there, the old run's results are not: no mixed directory
    assert yaml.safe_load((out / "config.yaml").read_text())["resolutions"] == [16]
    assert not (out / "results.csv").exists() and not (out / "provenance.json").exists()
    assert not (out / ".lock").exists()


# ---------------------------------------------------------------------------- damaged cache
# what must be recomputed from a stage's entry (removed so that the damaged entry is read)
DOWNSTREAM = {
    "hr": ("lr", "sr", "repr", "quality", "fold"),
    "lr": ("sr", "repr", "quality", "fold"),
    "sr": ("repr", "quality", "fold"),
    "repr": ("fold",),
    "quality": (),
    "fold": (),
}


@pytest.fixture(scope="module")
def warm_run(tiny_root, tmp_path_factory):
    base = tmp_path_factory.mktemp("warm")
    raw = _raw(tiny_root, base / "run", cache_clips="all")
    return raw, _run(raw).results


@pytest.mark.parametrize("damage", ["truncate", "empty", "foreign"])
@pytest.mark.parametrize("stage", list(DOWNSTREAM))
def test_damaged_entries_of_every_stage_are_recomputed_identically(
    warm_run, tmp_path, stage, damage
):
    import shutil

    raw, first = warm_run
    run_dir = tmp_path / "run"
    shutil.copytree(raw["output"], run_dir)
    raw = {**raw, "output": str(run_dir)}
    cache = Cache(run_dir / "cache")
    for later in DOWNSTREAM[stage]:
        shutil.rmtree(cache.root / later)
    entries = sorted((cache.root / stage).rglob("*.npz"))
    assert entries
    for p in entries:
        if damage == "truncate":
            p.write_bytes(p.read_bytes()[: max(1, p.stat().st_size // 2)])
        elif damage == "empty":
            p.write_bytes(b"")
        else:  # a valid .npz with another payload
            with open(p, "wb") as fh:
                np.savez(fh, other=np.zeros(2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        second = _run(raw).results
    named = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    assert len(named) >= len(entries) and all(".npz" in m for m in named)
    pd.testing.assert_frame_equal(first, second)
    # the damaged entries were replaced by good ones
    assert all(Cache(cache.root).load(stage, p.stem) is not None for p in entries)


# --------------------------------------------------------------------- per-run SR instances
def test_sr_method_memo_depends_on_the_weights_and_cache(tmp_path):
    from srmer.bench.config import MethodSpec

    spec = MethodSpec(name="bicubic")
    a = clip_stage.sr_method(spec, {"models": {"bicubic": "pool-A"}, "cache_dir": "x"})
    b = clip_stage.sr_method(spec, {"models": {"bicubic": "pool-B"}, "cache_dir": "x"})
    c = clip_stage.sr_method(spec, {"models": {"bicubic": "pool-A"}, "cache_dir": "y"})
    again = clip_stage.sr_method(spec, {"models": {"bicubic": "pool-A"}, "cache_dir": "x"})
    assert a is again and a is not b and a is not c


def _pool(folder, seed):
    synthetic.generate_sr_pool(folder, n_identities=3, frames_per_identity=2, size=64, seed=seed)
    return folder


def test_two_runs_in_one_process_with_different_pools_give_different_models(tiny_root, tmp_path):
    srspec = {"name": "srgan", "steps": 3, "gan_steps": 0, "batch_size": 2, "lr_patch": 8}
    common = {"sr": ["none", srspec], "resolutions": [32], "reference": False}
    a = _run(_raw(tiny_root, tmp_path / "a", sr_pool=str(_pool(tmp_path / "pa", 1)), **common))
    b = _run(_raw(tiny_root, tmp_path / "b", sr_pool=str(_pool(tmp_path / "pb", 2)), **common))
    models_a = sorted((tmp_path / "a" / "cache" / "sr_models").rglob("*.pth"))
    models_b = sorted((tmp_path / "b" / "cache" / "sr_models").rglob("*.pth"))
    assert models_a and models_b and [p.name for p in models_a] != [p.name for p in models_b]
    psnr_a = a.results.loc[a.results.sr == "srgan", "psnr"].iloc[0]
    psnr_b = b.results.loc[b.results.sr == "srgan", "psnr"].iloc[0]
    assert psnr_a != psnr_b


# ---------------------------------------------------------------------------- results schema
def test_results_rows_carry_hr_size_reference_flag_and_display_names(tiny_root, tmp_path):
    df = _run(_raw(tiny_root, tmp_path / "run", mer=["lbptop", "hog3d"])).results
    for col in ("hr_size", "is_reference", "sr_display", "mer_display"):
        assert col in df.columns, col
    assert (df.hr_size == 64).all()
    assert df.loc[df.is_reference, "setting"].unique().tolist() == ["64x64"]
    assert not df.loc[~df.is_reference, "setting"].eq("64x64").any()
    assert set(df.loc[df.mer == "hog3d", "mer_display"]) == {"3DHOG"}
    assert set(df.loc[(df.sr == "bicubic"), "sr_display"]) == {"Bicubic_restore"}
    back = pd.read_csv(tmp_path / "run" / "results.csv")
    assert back.is_reference.dtype == bool


def test_report_reads_hr_size_from_the_rows_not_the_setting_names(tiny_root, tmp_path):
    from srmer.bench import tables

    df = _run(_raw(tiny_root, tmp_path / "run")).results.copy()
    df["setting"] = "renamed"  # nothing downstream may parse these
    assert tables.hr_size(df) == 64
    assert tables.reference_mask(df).tolist() == df.is_reference.tolist()


def test_engine_payloads_pickle():
    import pickle

    from srmer.bench.stages.clip import ClipResult

    r = ClipResult(clip="s1/c", repr={"a": {"m": np.ones(3, np.float32)}}, skipped=None)
    assert pickle.loads(pickle.dumps(r)).repr["a"]["m"].sum() == 3


# ------------------------------------------------------------------------ FSR-FER experiment
def _tiny_fer(out):
    return {
        "experiment": "fsr_fer",
        "name": "tiny-fer",
        "data": {"kind": "synthetic", "size": 32, "n_train_per_class": 3, "n_test_per_class": 2},
        "backbone": {"widths": [4, 4, 8], "embed_dim": 8, "epochs": 1, "batch_size": 7},
        "fsr": {
            "num_feat": 4,
            "num_grow_ch": 2,
            "num_block": 1,
            "critic_feat": 4,
            "batch_size": 4,
            "scales": [2, 4],
            "iterations": 2,
            "checkpoint_every": 1,
        },
        "device": "cpu",
        "threads": 1,
        "progress": False,
        "output": str(out),
    }


def test_fsr_fer_runs_through_srmer_run_with_the_engines_run_directory(tmp_path):
    out = tmp_path / "fer"
    cfg_file = tmp_path / "fer.yaml"
    cfg_file.write_text(yaml.safe_dump(_tiny_fer(out)))
    res = subprocess.run(
        [sys.executable, "-c", "from srmer.cli import main; main()", "run", str(cfg_file)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert "FSR-FER" in res.stdout and "x2" in res.stdout
    t1 = pd.read_csv(out / "table1.csv", index_col=0)
    assert list(t1.index) == ["HR", "Bicubic", "FSR-FER"] and list(t1.columns) == [
        "x2",
        "x4",
        "avg",
    ]
    assert yaml.safe_load((out / "config.yaml").read_text())["experiment"] == "fsr_fer"
    assert json.loads((out / "plan.json").read_text())["experiment"] == "fsr_fer"
    assert json.loads((out / "provenance.json").read_text())["experiment"] == "fsr_fer"
    assert "Table 1" in (out / "report" / "report.html").read_text()
    assert (out / "cache" / "fer_models").is_dir() and not (out / ".lock").exists()
    # `srmer report` rewrites the same report from the run directory
    rep = subprocess.run(
        [sys.executable, "-c", "from srmer.cli import main; main()", "report", str(out)],
        capture_output=True,
        text=True,
    )
    assert rep.returncode == 0, rep.stderr
    assert "report.html" in rep.stdout


def test_a_misspelt_fsr_fer_field_leaves_the_run_directory_untouched(tmp_path):
    out = tmp_path / "fer"
    out.mkdir()
    (out / "config.yaml").write_text("finished: true\n")
    bad = _tiny_fer(out)
    bad["fsr"]["iteratons"] = 3
    with pytest.raises(ConfigError, match="iteratons"):
        runner.run(parse_any_config(bad), quiet=True)
    assert (out / "config.yaml").read_text() == "finished: true\n"


def test_a_clip_a_method_cannot_use_is_skipped_and_named_by_its_key(tmp_path):
    root = tmp_path / "casme2"
    synthetic.generate(root, n_subjects=3, clips_per_subject=2, n_frames=8, size=64, seed=3)
    from srmer.errors import DatasetError

    # LBP-TOP with Rt=4 needs 9 frames: every 8-frame clip is skipped, each named by its key
    with pytest.raises(DatasetError) as e:
        _run(_raw(root, tmp_path / "run"))
    msg = str(e.value)
    assert "fewer than 2 usable clips" in msg and "needs at least" in msg
    from srmer.data import load

    first = next(iter(load("casme2", root))).key
    assert f"clip {first}: " in msg and "8-frame" not in msg
