"""Task-driven SR: SR fine-tuned per fold with a recognition loss (srmer.mer.task_sr)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srmer.degrade import resize_clip
from srmer.errors import ConfigError
from srmer.mer.registry import create as create_mer
from srmer.mer.task_sr import TaskSREstimator, TaskSRMER, decode_rows, flow_inputs

TASK = {"pixel": 1.0, "task": 0.5}


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    from srmer.data.synthetic import generate_sr_pool

    d = tmp_path_factory.mktemp("pool")
    pool = generate_sr_pool(d, n_identities=3, frames_per_identity=3, size=32, moving=True)
    return {
        "pool_images": sorted(str(p) for p in pool.rglob("*.png")),
        "cache_dir": str(d / "models"),
        "device": "cpu",
        "seed": 0,
    }


def _rows(n: int = 12, t: int = 10, seed: int = 0):
    """``n`` random-texture clips whose class sets the direction of a moving square."""
    rng = np.random.default_rng(seed)
    m = TaskSRMER(create_mer("lbptop"), "srcnn", {"steps": 2, "loss": TASK})
    X, y = [], []
    for i in range(n):
        label = i % 3
        base = rng.integers(60, 200, (32, 32, 3)).astype(np.uint8)
        hr = np.repeat(base[None], t, 0)
        for f in range(t):
            d = min(f, t - 1 - f)
            dy, dx = [(d, 0), (0, d), (-d, 0)][label]
            hr[f, 10 + dy : 18 + dy, 10 + dx : 18 + dx] = 255
        X.append(m.represent_pair(resize_clip(hr, 16), hr, 0, t // 2))
        y.append(label)
    return np.stack(X), np.array(y)


def _estimator(context, mode="frozen", **extra):
    opts = {
        "steps": 2,
        "batch_size": 2,
        "lr_patch": 8,
        "loss": TASK,
        "task_mode": mode,
        "task_steps": 3,
        "task_epochs": 2,
        "task_batch": 4,
        **extra,
    }
    return TaskSREstimator("srcnn", opts, context, create_mer("lbptop"), 3, seed=0)


def test_flow_inputs_shape_range_and_gradient():
    a = torch.rand(2, 3, 40, 40, requires_grad=True)
    b = torch.roll(a.detach(), 1, -1)
    x = flow_inputs(a, b)
    assert x.shape == (2, 3, 28, 28)
    assert float(x.detach().min()) >= 0 and float(x.detach().max()) <= 1 + 1e-6
    x.sum().backward()
    assert a.grad is not None and a.grad.abs().sum() > 0
    # enlarging a small flow field
    assert flow_inputs(a.detach()[:, :, :16, :16], b[:, :, :16, :16]).shape == (2, 3, 28, 28)


def test_rows_round_trip():
    X, _ = _rows(n=2)
    rows = decode_rows(X)
    assert rows[0]["lr"].shape == (10, 16, 16, 3) and rows[0]["lr"].dtype == np.uint8
    assert rows[0]["hr"].shape == (2, 32, 32, 3)
    assert (rows[0]["onset"], rows[0]["apex"], rows[0]["size"]) == (0, 5, 32)


def test_the_hr_frames_of_test_rows_are_never_read(context):
    X, y = _rows()
    est = _estimator(context).fit(X[:9], y[:9], groups=np.arange(9))
    n_lr = 8 + 10 * 16 * 16 * 3
    blind = X[9:].copy()
    blind[:, n_lr:] = np.nan
    assert np.array_equal(est.predict(blind), est.predict(X[9:]))


def test_task_loss_gradients_reach_the_sr_weights(context):
    X, y = _rows()
    est = _estimator(context, loss={"pixel": 0.0, "task": 1.0})
    method = est._method()
    model = method.model_for(2.0)
    before = [p.detach().clone() for p in model.parameters()]
    import copy

    tuned = copy.deepcopy(model)
    rows = decode_rows(X)
    lr = np.stack([r["lr"][[r["onset"], r["apex"]]] for r in rows])
    hr = np.stack([r["hr"] for r in rows]).astype(np.uint8)
    hist = est.fine_tune(tuned, lr, hr, y)
    assert len(hist["task"]) == 3
    changed = [
        not torch.equal(a, b.detach()) for a, b in zip(before, tuned.parameters(), strict=True)
    ]
    assert any(changed)
    # the pool-trained model the method holds is untouched (fine-tuning works on a copy)
    assert all(torch.equal(a, b.detach()) for a, b in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize("mode", ["frozen", "joint"])
def test_fits_are_reproducible_from_the_seed(context, mode, tmp_path):
    X, y = _rows()
    a = _estimator(context, mode).fit(X[:9], y[:9])
    # the second fit trains again (another cache folder) and must give the same network
    b = _estimator({**context, "cache_dir": str(tmp_path)}, mode).fit(X[:9], y[:9])
    for p, q in zip(a.model_.parameters(), b.model_.parameters(), strict=True):
        assert torch.equal(p, q)
    assert np.array_equal(a.predict(X[9:]), b.predict(X[9:]))
    assert a.history_["task"] == b.history_["task"]


def test_task_sr_in_fold_k_never_sees_fold_k_test_subject(context, monkeypatch):
    from srmer.eval.protocol import loso_splits, predict_splits

    X, y = _rows(n=12)
    groups = np.repeat(np.array(["s1", "s2", "s3", "s4"]), 3)
    hr_of_row = [r["hr"].astype(np.uint8).tobytes() for r in decode_rows(X)]
    seen: list[set[bytes]] = []
    real = TaskSREstimator.fine_tune

    def probe(self, model, lr_pairs, hr_pairs, y_, cache_dir=None):
        seen.append({h.tobytes() for h in hr_pairs})
        return real(self, model, lr_pairs, hr_pairs, y_, cache_dir)

    monkeypatch.setattr(TaskSREstimator, "fine_tune", probe)
    splits = list(loso_splits(groups))
    predict_splits(lambda: _estimator(context), X, y, groups, splits)
    assert len(seen) == len(splits)
    for used, (train, test) in zip(seen, splits, strict=True):
        assert used == {hr_of_row[i] for i in train}
        assert not used & {hr_of_row[i] for i in test}


def test_a_finished_fine_tuning_is_loaded_not_repeated(context, monkeypatch, tmp_path):
    X, y = _rows()
    ctx = {**context, "cache_dir": str(tmp_path)}
    a = _estimator(ctx).fit(X[:9], y[:9])
    assert len(list((tmp_path / "task_sr").glob("*.pt"))) == 1
    calls = []
    monkeypatch.setattr(TaskSREstimator, "_train_recogniser", lambda *a, **k: calls.append(1))
    b = _estimator(ctx).fit(X[:9], y[:9])
    assert calls == []  # nothing trained again
    for p, q in zip(a.model_.parameters(), b.model_.parameters(), strict=True):
        assert torch.equal(p, q)
    assert b.history_["task"] == a.history_["task"]


def test_options_are_checked():
    from srmer.sr.methods import get_method

    with pytest.raises(ConfigError, match="only apply to task-driven SR"):
        get_method("srcnn", task_mode="joint")
    with pytest.raises(ConfigError, match="task_mode must be frozen or joint"):
        get_method("srcnn", loss=TASK, task_mode="both")
    with pytest.raises(ConfigError, match="task_steps"):
        get_method("srcnn", loss=TASK, task_steps=0)
    with pytest.raises(ConfigError, match="not available for this method"):
        get_method("basicvsr", loss=TASK)
    assert get_method("srcnn", loss=TASK, task_mode="joint").fold_dependent


def test_config_needs_a_fixed_frame_count(tmp_path):
    from srmer.bench.config import parse_config

    cfg = {
        "name": "t",
        "datasets": [{"name": "casme2", "root": str(tmp_path)}],
        "resolutions": [16],
        "sr": [{"name": "srcnn", "loss": TASK}],
        "mer": ["lbptop"],
        "sr_pool": str(tmp_path),
    }
    with pytest.raises(ConfigError, match="preprocess.frames"):
        parse_config(cfg)
    cfg["preprocess"] = {"size": 32, "frames": 10}
    assert parse_config(cfg).sr[0].options["loss"] == TASK


def test_twins_pair_each_recognition_variant_with_its_pixel_loss_twin():
    from srmer.bench.statistics import sr_twins

    budget = {"name": "srcnn", "steps": 5}
    twins = sr_twins(
        [
            "bicubic",
            {**budget, "label": "px"},
            {**budget, "loss": {"pixel": 1.0, "motion": 0.1}, "label": "mo"},
            {**budget, "loss": TASK, "task_mode": "joint", "label": "tj"},
            {"name": "srcnn", "steps": 9, "loss": TASK, "label": "other_budget"},
        ]
    )
    assert twins == {"mo": "px", "tj": "px"}


def test_the_grid_runs_task_driven_sr_per_fold_and_compares_it_with_its_twin(tmp_path):
    import pandas as pd

    import srmer
    from srmer.data.synthetic import generate, generate_sr_pool

    data = generate(tmp_path / "d", n_subjects=3, clips_per_subject=3, n_frames=10, size=32)
    pool = generate_sr_pool(tmp_path / "p", n_identities=2, frames_per_identity=3, size=32)
    budget = {"name": "srcnn", "steps": 2, "batch_size": 2, "lr_patch": 8}
    cfg = {
        "name": "task_grid",
        "datasets": [{"name": "casme2", "root": str(data)}],
        "preprocess": {"size": 32, "frames": 10},
        "resolutions": [16],
        "reference": False,
        "sr": [
            "bicubic",
            {**budget, "label": "px"},
            {**budget, "loss": TASK, "task_steps": 2, "task_epochs": 1, "label": "task"},
        ],
        "mer": [{"name": "lbptop", "radii": [1, 1, 2]}],
        "sr_pool": str(pool),
        "executor": {"kind": "local", "workers": 1},
        "device": "cpu",
        "cache": str(tmp_path / "cache"),
    }
    res = srmer.run(cfg, output=tmp_path / "run", quiet=True)
    rows = res.results.set_index("sr")
    assert {"bicubic", "px", "task"} <= set(rows.index)
    assert 0 <= rows.loc["task", "war"] <= 1
    # PSNR is not reported for rows whose SR clips exist only inside folds
    assert pd.isna(rows.loc["task"].get("psnr", float("nan")))
    comps = pd.read_csv(tmp_path / "run" / "report" / "comparisons.csv")
    assert {"bicubic", "px"} <= set(comps.loc[comps["sr"] == "task", "baseline"])
    # one fine-tuning per fold, checkpointed in the cache
    assert len(list((tmp_path / "cache").rglob("task_sr/*.pt"))) == 3
    # a warm re-run recomputes nothing: the same predictions
    again = srmer.run(cfg, output=tmp_path / "run2", quiet=True)
    pd.testing.assert_frame_equal(res.predictions, again.predictions)


def test_a_flow_network_gets_only_its_onset_and_apex_frames_restored(context, monkeypatch):
    from srmer.sr.trained import TrainedSR

    X, y = _rows()
    est = TaskSREstimator(
        "srcnn",
        {"steps": 2, "batch_size": 2, "lr_patch": 8, "loss": TASK, "task_steps": 1,
         "task_epochs": 1},
        context,
        create_mer("ststnet", epochs=1, batch_size=4),
        3,
    )  # fmt: skip
    lengths = []
    real = TrainedSR.run_frames

    def spy(self, model, clip, size, tile=None):
        lengths.append(len(clip))
        return real(self, model, clip, size, tile)

    monkeypatch.setattr(TrainedSR, "run_frames", spy)
    est.fit(X[:9], y[:9])
    assert set(lengths) == {2}
    assert est.predict(X[9:]).shape == (3,)
