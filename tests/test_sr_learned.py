"""Benchmark SR methods wrapping learned models: checkpoints, cached training, scales, registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import srmer.sr as sr
from srmer.errors import ConfigError, SrmerError
from srmer.sr.methods import SR_METHODS, get_method

torch.set_num_threads(1)

LEARNED = [
    "srcnn",
    "srgan",
    "edsr",
    "esrgan",
    "nesrganplus",
    "rdn",
    "realesrgan",
    "rcan",
    "metasr",
    "glean",
    "swinir",
    "hat",
]


def _pool(n: int = 6, side: int = 32) -> np.ndarray:
    yy, xx = np.mgrid[0:side, 0:side] / side
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(n):
        a, b, c = rng.random(3)
        img = np.stack(
            [np.sin(6 * xx * a + yy), np.cos(5 * yy * b + xx), np.sin(4 * (xx + yy) * c)], -1
        )
        frames.append(((img * 0.5 + 0.5) * 255).astype(np.uint8))
    return np.stack(frames)


def test_all_learned_methods_registered() -> None:
    for name in LEARNED:
        m = get_method(name)
        assert m.name == name and m.kind == "image" and m.needs_preparation
        assert get_method(name, checkpoint="x.pth").needs_preparation is False
    with pytest.raises(ConfigError, match="unknown option"):
        get_method("edsr", chekpoint="typo.pth")
    support = sr.learned.method_scale_support()
    assert set(support) == set(LEARNED)
    assert "x16 cascade x4 -> x4" in support["rdn"] and "x16 native" in support["edsr"]
    assert set(LEARNED) <= set(SR_METHODS)


def test_checkpoint_method_native_repeat_and_grey(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = sr.create("edsr", 4, num_feat=8, num_block=1)
    torch.save({"params": model.state_dict()}, tmp_path / "edsr_x4.pth")
    meth = get_method("edsr", checkpoint=str(tmp_path / "edsr_x4.pth"), device="cpu")
    meth.prepare()
    clip = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    out = meth.upscale(clip, 64)
    assert out.shape == (3, 64, 64, 3) and out.dtype == np.uint8
    ref = sr.upscale(model, clip, device="cpu")
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1
    # x8 with an x4 checkpoint: applied twice (x16) then resized to the target
    assert meth.upscale(clip, 128).shape == (3, 128, 128, 3)
    grey = meth.upscale(clip[..., 0], 64)
    assert grey.shape == (3, 64, 64) and grey.dtype == np.uint8


def test_training_is_cached_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pool = _pool()
    opts = {"hparams": {"num_feat": 4, "num_block": 1}, "steps": 3, "batch_size": 2, "lr_patch": 8}
    meth = get_method("edsr", **opts)
    meth.prepare(pool_images=pool, cache_dir=str(tmp_path), device="cpu", seed=0, progress=False)
    clip = pool[:2, ::4, ::4]
    out = meth.upscale(clip, 32)
    assert out.shape == (2, 32, 32, 3)
    files = sorted(tmp_path.glob("edsr-x4-*.pth"))
    assert len(files) == 1 and not list(tmp_path.glob("*partial*"))
    assert sr.load_checkpoint(files[0]).hparams["num_feat"] == 4

    import srmer.sr.train as train_mod

    def boom(*a, **k):
        raise AssertionError("should load the cached weights, not train again")

    monkeypatch.setattr(train_mod, "train_sr", boom)
    again = get_method("edsr", **opts)
    again.prepare(pool_images=pool, cache_dir=str(tmp_path), device="cpu", seed=0, progress=False)
    np.testing.assert_array_equal(again.upscale(clip, 32), out)
    # a different budget is a different cache entry
    other = get_method("edsr", **{**opts, "steps": 4})
    other.prepare(pool_images=pool, cache_dir=str(tmp_path), device="cpu", seed=0, progress=False)
    with pytest.raises(AssertionError, match="cached"):
        other.upscale(clip, 32)


@pytest.mark.parametrize(
    ("name", "hp", "size", "lr_side"),
    [
        (
            "rdn",
            {"D": 1, "C": 1, "G": 4, "G0": 4},
            32,
            4,
        ),  # x8: cascade x4 -> x2, two stages trained
        ("metasr", {"D": 1, "C": 1, "G": 4, "G0": 4}, 32, 8),
        (
            "glean",
            {
                "rrdb_channels": 4,
                "num_rrdbs": 1,
                "style_channels": 4,
                "num_mlps": 1,
                "max_channels": 4,
            },
            32,
            8,
        ),
        ("esrgan", {"num_feat": 4, "num_block": 1, "num_grow_ch": 4}, 32, 16),
    ],
)
def test_untrained_methods_train_then_upscale(
    tmp_path: Path, name: str, hp: dict, size: int, lr_side: int
) -> None:
    pool = _pool(4)
    meth = get_method(name, hparams=hp, steps=2, gan_steps=1, batch_size=2, lr_patch=4)
    meth.prepare(pool_images=pool, cache_dir=str(tmp_path), device="cpu", progress=False)
    clip = pool[:2, :: 32 // lr_side, :: 32 // lr_side]
    out = meth.upscale(clip, size)
    assert out.shape == (2, size, size, 3) and out.dtype == np.uint8


def test_no_pool_no_checkpoint_is_a_clear_error() -> None:
    meth = get_method("rcan")
    meth.prepare(cache_dir=None)
    with pytest.raises(SrmerError, match="no checkpoint and no SR training pool"):
        meth.upscale(np.zeros((1, 8, 8, 3), np.uint8), 32)


def test_training_is_reproducible_whatever_the_global_rng(tmp_path: Path) -> None:
    # torch starts each process from a random seed: the config seed alone must fix the weights
    pool = _pool(4)
    hp = {"num_feat": 4, "num_block": 1}
    states = []
    for i, global_seed in enumerate((1, 2)):
        torch.manual_seed(global_seed)
        meth = get_method("edsr", hparams=hp, steps=2, batch_size=2, lr_patch=4)
        meth.prepare(
            pool_images=pool,
            cache_dir=str(tmp_path / str(i)),
            device="cpu",
            seed=5,
            progress=False,
            scales=[4],
        )
        (ckpt,) = (tmp_path / str(i)).glob("*.pth")
        states.append(sr.load_checkpoint(ckpt).state_dict())
    assert states[0].keys() == states[1].keys()
    for k in states[0]:
        torch.testing.assert_close(states[0][k], states[1][k], rtol=0, atol=0)
