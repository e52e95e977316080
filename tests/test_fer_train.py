"""FSR-FER training: resumable checkpoints, the test split never reaches the generator, outputs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from srmer.fer import train as fer_train
from srmer.fer.backbone import create_fer
from srmer.fer.config import BackboneConfig, FSRConfig
from srmer.fer.fsr import FeatureGenerator
from srmer.fer.train import (
    degrade_up,
    extract_features,
    load_backbone,
    load_generator,
    nn_params_equal,
    train_backbone,
    train_fsr,
)

torch.set_num_threads(1)

TINY_FSR = {
    "num_feat": 4,
    "num_grow_ch": 2,
    "num_block": 1,
    "critic_feat": 4,
    "batch_size": 4,
    "scales": [2, 4],
}


def _faces(n: int, seed: int, size: int = 24) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 7
    x = rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8)
    return x, y


def _tiny_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_fer(7, widths=(4, 4, 8), embed_dim=8).eval().requires_grad_(False)


def test_degrade_up_shape_and_blur():
    x, _ = _faces(2, 0, 40)
    y = degrade_up(x, 4)
    assert y.shape == x.shape and y.dtype == np.uint8
    # stronger down-sampling loses more detail
    err = [np.abs(degrade_up(x, s).astype(float) - x).mean() for s in (2, 4, 8)]
    assert err[0] < err[1] < err[2]


def test_fsr_resume_equals_uninterrupted(tmp_path):
    net = _tiny_net()
    x, y = _faces(14, 1)
    cfg = FSRConfig(**TINY_FSR, iterations=6, checkpoint_every=2, schedule_reference=100_000)
    full = train_fsr(net, x, y, cfg, tmp_path / "a.pt", seed=3, progress=False)
    part = train_fsr(net, x, y, cfg, tmp_path / "b.pt", seed=3, progress=False, stop_after=3)
    assert not part.finished and part.step == 3
    assert not nn_params_equal(part.generator, full.generator)
    resumed = train_fsr(net, x, y, cfg, tmp_path / "b.pt", seed=3, progress=False)
    assert resumed.finished and resumed.step == 6
    assert nn_params_equal(resumed.generator, full.generator)
    assert nn_params_equal(resumed.critic, full.critic)
    assert resumed.history == full.history
    # the paper's milestones scaled by 6/100k: halved after iterations 1, 3 and 6 (12 is past the end)
    assert [r["lr"] for r in full.history] == pytest.approx([2e-4, 1e-4, 1e-4, 5e-5, 5e-5, 5e-5])
    assert not list(tmp_path.glob("*.tmp"))
    g = load_generator(tmp_path / "a.pt")
    f = torch.randn(2, 8, 3, 3)
    assert torch.equal(g(f), full.generator(f))


def test_fsr_changes_features_and_records_losses():
    net = _tiny_net()
    x, y = _faces(14, 2)
    cfg = FSRConfig(**TINY_FSR, iterations=3, cache_features="no")
    res = train_fsr(net, x, y, cfg, None, seed=0, progress=False)
    keys = {"step", "lr", "loss_d", "penalty", "d_real", "d_fake", "loss_g", "l_gan", "l_p", "l_2"}
    assert keys <= set(res.history[0]) and len(res.history) == 3
    assert all(np.isfinite(v) for r in res.history for v in r.values())
    f = extract_features(net, x[:2])
    assert not torch.equal(res.generator(f), f)
    # re-weighting off: weights are 1
    off = train_fsr(net, x, y, cfg.model_copy(update={"reweight": False}), None, progress=False)
    assert all(r["weight"] == 1.0 for r in off.history)
    assert all(0.5 <= r["weight"] <= 1.5 for r in res.history)


def test_fsr_cached_and_uncached_agree():
    net = _tiny_net()
    x, y = _faces(14, 4)
    a = train_fsr(
        net, x, y, FSRConfig(**TINY_FSR, iterations=2, cache_features="yes"), progress=False
    )
    b = train_fsr(
        net, x, y, FSRConfig(**TINY_FSR, iterations=2, cache_features="no"), progress=False
    )
    for k in a.generator.state_dict():
        assert torch.allclose(a.generator.state_dict()[k], b.generator.state_dict()[k], atol=1e-5)


def test_backbone_resume_and_load(tmp_path):
    x, y = _faces(14, 5, 32)
    cfg = BackboneConfig(widths=(4, 4, 8), embed_dim=8, epochs=2, batch_size=7)
    one = train_backbone(x, y, cfg.model_copy(update={"epochs": 1}), 7, None, 0, "cpu", False)
    assert len(one.history) == 1
    ck = tmp_path / "bb.pt"
    # run one epoch of a two-epoch schedule, stop (simulated by a 1-epoch state), then resume
    full = train_backbone(x, y, cfg, 7, tmp_path / "full.pt", 0, "cpu", False)
    obj = torch.load(tmp_path / "full.pt", weights_only=True)
    assert obj["format"] == "srmer.train" and obj["step"] == obj["total"] == 2
    train_backbone(x, y, cfg, 7, ck, 0, "cpu", False)
    again = train_backbone(x, y, cfg, 7, ck, 0, "cpu", False)  # finished: loaded, not retrained
    assert nn_params_equal(again.model, full.model)
    net = load_backbone(ck)
    assert nn_params_equal(net, full.model)
    assert all(not p.requires_grad for p in net.parameters())
    with pytest.raises(Exception, match="labels"):
        train_backbone(x, y + 7, cfg, 7, None, 0, "cpu", False)


def _write_rafdb(root: Path, n_train: int, n_test: int, size: int = 32, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    img_dir = root / "basic" / "Image" / "aligned"
    img_dir.mkdir(parents=True)
    (root / "basic" / "EmoLabel").mkdir(parents=True)
    lines = []
    for split, n in (("train", n_train), ("test", n_test)):
        for k in range(1, n + 1):
            lab = (k - 1) % 7
            img = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
            img[:, lab * 4 : lab * 4 + 4] = 255  # class-dependent stripe
            if split == "test":
                img[0, 0] = (200, 10, 10)  # marks test faces (probe)
            cv2.imwrite(str(img_dir / f"{split}_{k:05d}_aligned.png"), img)
            lines.append(f"{split}_{k:05d}.png {lab + 1}")
    (root / "basic" / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")


TINY_RUN = {
    "data": {"kind": "rafdb", "size": 32},
    "backbone": {"widths": [4, 4, 8], "embed_dim": 8, "epochs": 1, "batch_size": 7},
    "fsr": {**TINY_FSR, "iterations": 2, "checkpoint_every": 1, "scales": [2, 3, 8]},
    "progress": False,
}


def test_generator_never_sees_test_faces(tmp_path, monkeypatch):
    from srmer.fer import evaluate

    _write_rafdb(tmp_path / "raf", 14, 7)
    seen: list[torch.Tensor] = []
    images_seen: list[np.ndarray] = []
    orig_forward = FeatureGenerator.forward
    orig_extract = fer_train.extract_features

    def spy_forward(self, x):
        if torch.is_grad_enabled() or self.training:
            seen.append(x.detach().clone())
        return orig_forward(self, x)

    def spy_extract(net, images, *a, **k):
        images_seen.append(np.asarray(images).copy())
        return orig_extract(net, images, *a, **k)

    monkeypatch.setattr(FeatureGenerator, "forward", spy_forward)
    monkeypatch.setattr(fer_train, "extract_features", spy_extract)
    cfg = {**TINY_RUN, "data": {**TINY_RUN["data"], "root": str(tmp_path / "raf")}}
    from srmer.bench.experiments.fsr_fer import run_fsr_fer

    tables = run_fsr_fer(cfg, tmp_path / "out")
    assert seen, "the probe recorded nothing: it cannot fail"
    # every image F saw during FSR training is unmarked (a training face or its degraded copy)
    assert images_seen
    for batch in images_seen:
        assert not np.any(np.all(batch[:, 0, 0] == (200, 10, 10), axis=-1))
    # and every feature G trained on is a training feature, never a test one
    from srmer.fer.config import parse_fer_config

    data = evaluate.load_fer_data(parse_fer_config(cfg), tmp_path / "out")
    (backbone_file,) = (tmp_path / "out").rglob("backbone.pt")
    net = load_backbone(backbone_file)
    test_feats = torch.cat(
        [extract_features(net, degrade_up(data.test_images, s)) for s in (2, 3, 8)]
    )
    train_feats = torch.cat(
        [extract_features(net, degrade_up(data.train_images, s)) for s in (2, 3, 8)]
    )
    rows = torch.cat(seen).flatten(1)
    mode = "donot_use_mm_for_euclid_dist"
    d_test = torch.cdist(rows, test_feats.flatten(1), compute_mode=mode).min(1).values
    d_train = torch.cdist(rows, train_feats.flatten(1), compute_mode=mode).min(1).values
    scale = train_feats.flatten(1).norm(dim=1).mean()
    # positive control: the probe finds what G saw among the training features (batch-size rounding
    # only), so it could find a test feature too
    assert torch.all(d_train < 1e-4 * scale)
    assert torch.all(d_test > 1e-2 * scale)
    assert set(tables) == {"table1", "table2"}


def test_run_outputs(tmp_path):
    _write_rafdb(tmp_path / "raf", 14, 7, seed=1)
    cfg = {**TINY_RUN, "data": {**TINY_RUN["data"], "root": str(tmp_path / "raf")}}
    out = tmp_path / "out"
    tables = fer_train  # keep the module import used
    from srmer.bench.experiments.fsr_fer import run_fsr_fer

    tables = run_fsr_fer(cfg, out)
    t1, t2 = tables["table1"], tables["table2"]
    assert list(t1.columns) == ["x2", "x3", "x8", "avg"]
    assert list(t1.index) == ["HR", "Bicubic", "FSR-FER"]
    assert list(t2.index) == ["w/o re-weighting", "w/ re-weighting"]
    assert ((t1.to_numpy() >= 0) & (t1.to_numpy() <= 100)).all()
    assert t1.loc["FSR-FER"].tolist() == t2.loc["w/ re-weighting"].tolist()
    for f in (
        "table1.csv",
        "table1.md",
        "table2.csv",
        "table2.md",
        "loss_curves.png",
        "loss_fsr.csv",
        "loss_fsr_noreweight.csv",
        "results.json",
        "backbone_history.csv",
    ):
        assert (out / f).is_file(), f
    back = pd.read_csv(out / "table1.csv", index_col=0)
    assert np.allclose(back.to_numpy(), t1.to_numpy())
    assert "| FSR-FER |" in (out / "table1.md").read_text()
    assert len(pd.read_csv(out / "loss_fsr.csv")) == 2
    # a re-run resumes from the finished checkpoints and reproduces the tables
    again = run_fsr_fer(cfg, out)
    assert np.allclose(again["table1"].to_numpy(), t1.to_numpy())


TINY_RCAN = {"num_feat": 4, "num_group": 1, "num_block": 1, "squeeze_factor": 2}
TINY_META = {"D": 1, "C": 1, "G": 4, "G0": 4}


def _spy_train_sr(monkeypatch) -> list[dict]:
    """Record every SR training call of the SR-method contract (model, factor, HR faces)."""
    import srmer.sr.train as sr_train

    calls: list[dict] = []
    orig = sr_train.train_sr

    def spy(model, hr, scale=None, **kw):
        calls.append({"model": id(model), "scale": int(scale), "hr": np.asarray(hr).copy()})
        return orig(model, hr, scale, **kw)

    monkeypatch.setattr(sr_train, "train_sr", spy)
    return calls


def test_image_sr_rows_go_through_the_sr_method_contract(tmp_path, monkeypatch):
    """RCAN: one model per factor; Meta-SR: one model for every factor; trained on training faces."""
    from srmer.fer.config import ImageSRConfig
    from srmer.fer.evaluate import image_sr_accuracy

    calls = _spy_train_sr(monkeypatch)
    net = _tiny_net()
    x, y = _faces(14, 6, 24)
    xt, yt = _faces(7, 60, 24)  # test faces: other images than the training ones
    common = {"batch_size": 2, "lr_patch": 4}
    rcan = ImageSRConfig(name="rcan", scales=[2, 3], train_steps=2, hparams=TINY_RCAN, **common)
    acc = image_sr_accuracy(rcan, net, x, xt, yt, [2, 3, 4], tmp_path, seed=0)
    assert set(acc) == {2, 3, 4} and np.isnan(acc[4])  # x4 not asked for: "-" like the paper
    assert 0 <= acc[2] <= 100 and 0 <= acc[3] <= 100
    assert [c["scale"] for c in calls] == [2, 3] and len({c["model"] for c in calls}) == 2
    assert len(list(tmp_path.glob("rcan-x2-*.pth"))) == len(list(tmp_path.glob("rcan-x3-*.pth")))
    assert len(list(tmp_path.glob("rcan-x*.pth"))) == 2
    meta = ImageSRConfig(name="metasr", train_steps=3, hparams=TINY_META, **common)
    acc = image_sr_accuracy(meta, net, x, xt, yt, [2, 3, 5], tmp_path, seed=0)
    assert set(acc) == {2, 3, 5} and all(0 <= v <= 100 for v in acc.values())
    meta_calls = calls[2:]
    # the paper's one Meta-SR model for every factor, trained at each of them
    assert [c["scale"] for c in meta_calls] == [2, 3, 5]
    assert len({c["model"] for c in meta_calls}) == 1
    assert [f.name[:12] for f in tmp_path.glob("metasr-*.pth")] == ["metasr-xany-"]
    # no leakage: SR training saw exactly the training faces, never a test face
    assert calls
    test_rows = {xt[i].tobytes() for i in range(len(xt))}
    for c in calls:
        assert np.array_equal(c["hr"], x)
        assert not test_rows & {c["hr"][i].tobytes() for i in range(len(c["hr"]))}
    # a re-run loads the cached weights (no training) and gives the same numbers
    n = len(calls)
    assert image_sr_accuracy(meta, net, x, xt, yt, [2, 3, 5], tmp_path, seed=0) == acc
    assert len(calls) == n
    skip = ImageSRConfig(name="rcan", train_steps=0)
    assert all(np.isnan(v) for v in image_sr_accuracy(skip, net, x, x, y, [2], tmp_path).values())
    assert len(calls) == n


def test_image_sr_checkpoints_run_through_the_contract(tmp_path, monkeypatch):
    """``image_sr.checkpoints``: run without training; another architecture is refused."""
    import srmer.sr as sr
    from srmer.errors import CheckpointError, ConfigError
    from srmer.fer.config import ImageSRConfig
    from srmer.fer.evaluate import image_sr_accuracy

    calls = _spy_train_sr(monkeypatch)
    net = _tiny_net()
    x, y = _faces(7, 8, 24)
    rcan_x2 = tmp_path / "rcan_x2.pth"
    sr.save_checkpoint(sr.create("rcan", 2, **TINY_RCAN), rcan_x2)
    meta_file = tmp_path / "metasr.pth"
    sr.save_checkpoint(sr.create("metasr", 4, **TINY_META), meta_file)
    edsr = tmp_path / "edsr_x3.pth"
    sr.save_checkpoint(sr.create("edsr", 3, num_feat=4, num_block=1), edsr)

    rcan = ImageSRConfig(name="rcan", checkpoints={"2": rcan_x2})
    acc = image_sr_accuracy(rcan, net, x, x, y, [2, 3], tmp_path / "cache")
    assert 0 <= acc[2] <= 100 and np.isnan(acc[3])  # x3: no checkpoint, no training
    meta = ImageSRConfig(name="metasr", checkpoints={"any": meta_file})
    acc = image_sr_accuracy(meta, net, x, x, y, [2, 3, 7], tmp_path / "cache")
    assert all(0 <= v <= 100 for v in acc.values())
    assert not calls and not (tmp_path / "cache").exists()  # nothing trained, nothing cached

    wrong = ImageSRConfig(name="rcan", checkpoints={"3": edsr}, train_steps=2)
    with pytest.raises(CheckpointError, match=r"edsr_x3\.pth.*'edsr'.*rcan"):
        image_sr_accuracy(wrong, net, x, x, y, [2, 3], tmp_path / "cache")
    wrong_meta = ImageSRConfig(name="metasr", checkpoints={"any": rcan_x2})
    with pytest.raises(CheckpointError, match=r"rcan_x2\.pth.*'rcan'.*metasr"):
        image_sr_accuracy(wrong_meta, net, x, x, y, [2], tmp_path / "cache")
    assert not calls  # refused before any training
    missing = ImageSRConfig(name="rcan", checkpoints={"2": tmp_path / "nope.pth"})
    with pytest.raises(ConfigError, match=r"checkpoints\[2\].*nope\.pth does not exist"):
        image_sr_accuracy(missing, net, x, x, y, [2], tmp_path / "cache")
    with pytest.raises(ConfigError, match="checkpoints.any is for any-scale"):
        image_sr_accuracy(
            ImageSRConfig(name="rcan", checkpoints={"any": rcan_x2}), net, x, x, y, [2], tmp_path
        )
    with pytest.raises(ValueError, match="down-sampling factors >= 2 or `any`"):
        ImageSRConfig(name="rcan", checkpoints={"x2": rcan_x2})


@pytest.mark.slow
def test_image_sr_rows_with_tiny_models(tmp_path):
    """RCAN (per factor) and Meta-SR (one model, every factor) rows with small trained models."""
    from srmer.fer.config import ImageSRConfig
    from srmer.fer.evaluate import image_sr_accuracy

    net = _tiny_net()
    x, y = _faces(14, 6, 24)
    rcan = ImageSRConfig(
        name="rcan",
        scales=[2, 3],
        train_steps=20,
        batch_size=4,
        lr_patch=6,
        hparams={"num_feat": 8, "num_group": 1, "num_block": 1, "squeeze_factor": 4},
    )
    acc = image_sr_accuracy(rcan, net, x, x[:7], y[:7], [2, 3, 4], tmp_path, seed=0)
    assert set(acc) == {2, 3, 4} and np.isnan(acc[4])  # x4 not asked for: "-" like the paper
    assert 0 <= acc[2] <= 100 and 0 <= acc[3] <= 100
    meta = ImageSRConfig(
        name="metasr",
        train_steps=20,
        batch_size=4,
        lr_patch=6,
        hparams={"D": 1, "C": 1, "G": 8, "G0": 8},
    )
    acc = image_sr_accuracy(meta, net, x, x[:7], y[:7], [2, 5, 8], tmp_path, seed=0)
    assert all(0 <= v <= 100 for v in acc.values())
    assert len(list(tmp_path.glob("metasr-*.pth"))) == 1
    skip = ImageSRConfig(name="rcan", train_steps=0)
    assert all(np.isnan(v) for v in image_sr_accuracy(skip, net, x, x, y, [2], tmp_path).values())


def test_checkpoint_from_other_settings_is_retrained_with_a_warning(tmp_path):
    from srmer.errors import SrmerError
    from srmer.train import CheckpointWarning

    net = _tiny_net()
    x, y = _faces(14, 7)
    cfg = FSRConfig(**TINY_FSR, iterations=1)
    train_fsr(net, x, y, cfg, tmp_path / "g.pt", progress=False)
    wider = cfg.model_copy(update={"num_feat": 6, "iterations": 2})
    with pytest.warns(CheckpointWarning, match="g.pt.*another training"):
        res = train_fsr(net, x, y, wider, tmp_path / "g.pt", progress=False)
    assert res.step == 2 and len(res.history) == 2  # trained from scratch, not resumed
    assert torch.load(tmp_path / "g.pt", weights_only=True)["step"] == 2
    for bad in (b"not a checkpoint", b""):
        (tmp_path / "bad.pt").write_bytes(bad)
        with pytest.warns(CheckpointWarning, match="bad.pt is unreadable"):
            res = train_fsr(net, x, y, cfg, tmp_path / "bad.pt", progress=False)
        assert res.step == 1 and res.finished
    with pytest.raises(SrmerError, match="cannot read checkpoint"):
        (tmp_path / "bad.pt").write_bytes(b"")
        load_generator(tmp_path / "bad.pt")


def test_augmented_batches_are_contiguous():
    # a strided crop view made oneDNN's convolution corrupt the heap (an abort, not an error)
    from srmer.fer.train import _augment, to_tensor

    x = to_tensor(_faces(4, 9, 32)[0])
    out = _augment(x, torch.Generator().manual_seed(0), True, 4)
    assert out.shape == x.shape and out.is_contiguous()
