"""SR training: resumable checkpoints, GAN recipes, losses; slow: learning beats bicubic on faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import srmer.sr as sr
import srmer.sr.train as T
from srmer.sr.losses import (
    GANLoss,
    RandomFeaturePerceptualLoss,
    UNetDiscriminatorSN,
    VGGStyleDiscriminator,
)

torch.set_num_threads(1)


def _frames(n: int = 4, side: int = 32) -> np.ndarray:
    rng = np.random.default_rng(1)
    base = rng.random((n, side // 4, side // 4, 3))
    from srmer.degrade import imresize

    return np.clip(imresize(base, size=side) * 255, 0, 255).astype(np.uint8)


def _tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    return sr.create("edsr", 2, num_feat=4, num_block=1)


KW = {"batch_size": 2, "lr_patch": 8, "device": "cpu", "progress": False, "save_every": 2}


def test_interrupted_training_resumes_to_the_same_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hr = _frames()
    straight = _tiny()
    T.train_sr(straight, hr, steps=6, **KW)

    ck = tmp_path / "run.pth"
    calls = {"n": 0}
    real_batch = T._Sampler.batch

    def interrupt(self, n, augment=True):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real_batch(self, n, augment)

    monkeypatch.setattr(T._Sampler, "batch", interrupt)
    with pytest.raises(KeyboardInterrupt):
        T.train_sr(_tiny(), hr, steps=6, ckpt_path=ck, **KW)
    monkeypatch.setattr(T._Sampler, "batch", real_batch)
    obj = torch.load(ck, weights_only=True)
    assert obj["format"] == "srmer.train" and obj["step"] == 4
    assert {"model", "ema"} <= set(obj["modules"]) and obj["meta"]["srmer"]["arch"] == "edsr"
    resumed = _tiny()
    res = T.train_sr(resumed, hr, steps=6, ckpt_path=ck, **KW)
    assert res.resumed_from == 4 and len(res.history) == 6
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    assert sr.load_checkpoint(ck).arch_name == "edsr"
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("recipe", ["srgan", "esrgan", "realesrgan", "glean"])
def test_gan_recipes_run(recipe: str) -> None:
    hr = _frames(3, 32)
    model = _tiny()
    deg = "realesrgan" if recipe == "realesrgan" else "bicubic"
    res = T.train_sr(
        model, hr, steps=1, gan_steps=2, recipe=recipe, degradation=deg, degrade_copies=1, **KW
    )
    assert [h["phase"] for h in res.history] == [0.0, 1.0, 1.0]
    assert all(np.isfinite(h["loss"]) for h in res.history)
    # the adversarial total differs from the plain L1 in the GAN phase
    assert res.history[-1]["loss"] != res.history[-1]["l1"]


def test_cascade_trains_each_stage(tmp_path: Path) -> None:
    model = sr.create("rdn", 8, D=1, C=1, G=4, G0=4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    res = T.train_sr(model, _frames(3, 64), steps=2, ckpt_path=tmp_path / "c.pth", **KW)
    assert {h["stage"] for h in res.history} == {"x4", "x2"}
    changed = {
        k.split(".")[1] for k, v in model.state_dict().items() if not torch.equal(v, before[k])
    }
    assert changed == {"x4", "x2"}
    assert isinstance(sr.load_checkpoint(tmp_path / "c.pth"), sr.Cascade)


def test_make_pairs_bicubic_and_realesrgan() -> None:
    from srmer.degrade import imresize

    hr = _frames(2, 34)
    lr, hr2 = T.make_pairs(hr, 4)
    assert lr.shape == (2, 8, 8, 3) and hr2.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(lr, imresize(hr[:, :32, :32], size=8))
    lr, hr2 = T.make_pairs(hr[:, :32, :32], 4, "realesrgan", copies=2)
    assert lr.shape == (4, 8, 8, 3) and hr2.shape == (4, 32, 32, 3)
    assert not np.array_equal(lr[0], lr[2])  # independent random degradations per copy


def test_unknown_recipe() -> None:
    from srmer.errors import ConfigError

    with pytest.raises(ConfigError, match="recipe"):
        T.train_sr(_tiny(), _frames(), steps=1, recipe="vgg", **KW)


def test_random_feature_perceptual_loss() -> None:
    a, b = torch.rand(2, 3, 24, 24), torch.rand(2, 3, 24, 24)
    loss1, loss2 = RandomFeaturePerceptualLoss(), RandomFeaturePerceptualLoss()
    assert loss1(a, a).item() == 0.0
    assert loss1(a, b).item() > 0
    assert loss1(a, b).item() == pytest.approx(loss2(a, b).item())  # fixed seed: same function
    assert not any(p.requires_grad for p in loss1.parameters())
    # gradients flow to the SR image
    x = a.clone().requires_grad_(True)
    loss1(x, b).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_gan_losses_and_discriminators() -> None:
    g = GANLoss("ragan")
    real, fake = torch.tensor([[3.0], [2.0]]), torch.tensor([[-3.0], [-2.0]])
    assert g.discriminator(real, fake) < g.discriminator(fake, real)
    assert g.generator(fake, real) > g.generator(real, fake)
    v = GANLoss("vanilla")
    assert v.discriminator(real, fake) < 0.1
    assert VGGStyleDiscriminator(num_feat=4)(torch.rand(2, 3, 20, 28)).shape == (2, 1)
    assert UNetDiscriminatorSN(num_feat=4)(torch.rand(2, 3, 20, 28)).shape == (2, 1, 20, 28)


@pytest.mark.slow
def test_short_training_on_synthetic_faces_beats_bicubic(tmp_path: Path) -> None:
    """A small SRResNet trained briefly on the synthetic SR pool lowers L1 and beats bicubic on
    held-out identities (x4, 32 -> 128)."""
    from srmer.data.synthetic import generate_sr_pool
    from srmer.degrade import imresize
    from srmer.quality import psnr

    torch.set_num_threads(2)
    pool = T.load_hr_images(
        generate_sr_pool(tmp_path, n_identities=5, frames_per_identity=4, size=128, seed=0)
    )
    train, held_out = pool[:16], pool[16:]  # the last identity is never seen in training
    torch.manual_seed(0)
    model = sr.create("msrresnet", 4, num_feat=32, num_block=2)
    res = T.train_sr(
        model, train, steps=200, batch_size=8, lr_patch=16, lr=5e-4, device="cpu", progress=False
    )
    first = np.mean([h["l1"] for h in res.history[:10]])
    last = np.mean([h["l1"] for h in res.history[-10:]])
    assert last < first
    lr = imresize(held_out, scale=0.25)
    out = sr.upscale(model, lr, device="cpu")
    bic = imresize(lr, scale=4)
    p_sr = np.mean([psnr(a, b, crop_border=4) for a, b in zip(out, held_out, strict=True)])
    p_bic = np.mean([psnr(a, b, crop_border=4) for a, b in zip(bic, held_out, strict=True)])
    assert p_sr > p_bic, (p_sr, p_bic)


def test_cascade_stage_sizes_and_training_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert T.cascade_stage_sizes([4, 2], 4) == [2] and T.cascade_stage_sizes([4, 2], 2) == [1]
    assert T.cascade_stage_sizes([4, 4], 4) == [1, 4]
    seen: dict[int, set] = {}
    real = T.make_pairs

    def spy(hr, scale, *a, **k):
        seen.setdefault(scale, set()).add(hr.shape[1])
        return real(hr, scale, *a, **k)

    monkeypatch.setattr(T, "make_pairs", spy)
    T.train_sr(sr.create("rdn", 16, D=1, C=1, G=4, G0=4), _frames(2, 64), steps=1, **KW)
    # the shared x4 stage of x16 learns 4 -> 16 and 16 -> 64 (outputs at 1/4 and full size)
    assert seen == {4: {16, 64}}
    seen.clear()
    T.train_sr(sr.create("rdn", 8, D=1, C=1, G=4, G0=4), _frames(2, 64), steps=1, **KW)
    assert seen == {4: {32}, 2: {64}}


def test_missing_training_data_names_the_path(tmp_path: Path) -> None:
    from srmer.errors import SrmerError
    from srmer.sr.train import load_hr_images

    with pytest.raises(SrmerError, match="sr_pool does not exist"):
        load_hr_images(tmp_path / "sr_pool")
