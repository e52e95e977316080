"""Hyper-parameters keys cannot reveal (``load_checkpoint(path, **hparams)``) and pretrained SPyNet."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srmer.errors import ConfigError, SrmerError
from srmer.sr import create, load_checkpoint
from srmer.sr.archs.spynet import SpyNet
from srmer.train import seeded


def _edsr_file(tmp_path, res_scale: float):
    """A raw (EDSR-PyTorch style) checkpoint of a small EDSR trained with ``res_scale``."""
    with seeded(0):
        model = create("edsr", 2, num_feat=8, num_block=2, res_scale=res_scale).eval()
    # perturb the weights so the residual branches matter
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = tmp_path / "edsr_rs.pth"
    torch.save(model.state_dict(), path)
    return model, path


def _out(model, x):
    with torch.no_grad():
        return model(x)


def test_res_scale_override_restores_the_trained_model(tmp_path):
    ref, path = _edsr_file(tmp_path, 0.1)
    x = torch.rand(1, 3, 12, 10)
    guessed = load_checkpoint(path)  # res_scale cannot be read from the keys: 1.0 is assumed
    assert not torch.allclose(_out(guessed, x), _out(ref, x), atol=1e-4)
    fixed = load_checkpoint(path, res_scale=0.1)
    torch.testing.assert_close(_out(fixed, x), _out(ref, x))
    assert fixed.hparams["res_scale"] == 0.1


def test_a_bad_override_is_one_clear_error(tmp_path):
    _, path = _edsr_file(tmp_path, 1.0)
    with pytest.raises(SrmerError, match="res_scal") as err:
        load_checkpoint(path, res_scal=0.1)
    assert "did you mean 'res_scale'" in str(err.value)
    with pytest.raises(SrmerError, match="overrides .*num_feat.* change its shapes"):
        load_checkpoint(path, num_feat=16)


def test_config_checkpoint_options_reach_the_loader(tmp_path):
    from srmer.sr.methods import get_method

    ref, path = _edsr_file(tmp_path, 0.1)
    plain = get_method("edsr", checkpoint=str(path))
    tuned = get_method("edsr", checkpoint=str(path), checkpoint_options={"res_scale": 0.1})
    x = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(_out(tuned.load_user_checkpoint(path), x), _out(ref, x))
    # the SR outputs' cache key tells the two apart
    assert plain.model_fingerprint() != tuned.model_fingerprint()
    bad = get_method("edsr", checkpoint=str(path), checkpoint_options=[0.1])
    with pytest.raises(ConfigError, match="checkpoint_options"):
        bad.load_user_checkpoint(path)


def _mmagic_keys(sd: dict) -> dict:
    """BasicSR SPyNet keys -> mmagic's (ConvModule at index K with a `.conv` level)."""
    out = {}
    for k, v in sd.items():
        parts = k.split(".")
        if len(parts) == 5 and parts[2] == "basic_module":
            k = ".".join([*parts[:3], str(int(parts[3]) // 2), "conv", parts[4]])
        out[k] = v
    return out


@pytest.mark.parametrize("style", ["basicsr", "mmagic"])
def test_standalone_spynet_weights_load_as_the_flow_network(tmp_path, style):
    with seeded(1):
        ref = SpyNet().eval()
    sd = {k: v for k, v in ref.state_dict().items() if k not in ("mean", "std")}
    obj = {"params": sd} if style == "basicsr" else {"state_dict": _mmagic_keys(sd)}
    path = tmp_path / f"spynet_{style}.pth"
    torch.save(obj, path)
    flow = load_checkpoint(path)
    assert isinstance(flow, SpyNet) and flow.arch_name == "spynet"
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(flow(a, b), ref(a, b))


def _tiny_clips():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)]


def test_video_methods_start_from_a_pretrained_spynet_and_keep_it_frozen(tmp_path):
    from srmer.sr.methods import get_method

    with seeded(5):
        pre = SpyNet()
    path = tmp_path / "spynet_sintel_final.pth"
    torch.save({"params": pre.state_dict()}, path)
    opts = {
        "hparams": {"num_feat": 4, "num_block": 1},
        "steps": 3,
        "lr_patch": 4,
        "clip_len": 2,
        "batch_size": 1,
        "hr_size": 32,
        "train_inputs": [8],
        "device": "cpu",
    }
    frozen = get_method("basicvsr", spynet_checkpoint=str(path), fix_flow=3, **opts)
    plain = get_method("basicvsr", **opts)
    ctx = {"pool_clips": _tiny_clips(), "device": "cpu", "seed": 0}
    frozen.prepare(**ctx, cache_dir=str(tmp_path / "a"))
    plain.prepare(**ctx, cache_dir=str(tmp_path / "b"))
    for k, v in pre.state_dict().items():  # frozen for every step: the pretrained weights
        torch.testing.assert_close(frozen.model.spynet.state_dict()[k], v)
    assert frozen.training_key() != plain.training_key()
    # with fix_flow 0 the pretrained SPyNet is fine-tuned from the first step
    tuned = get_method("basicvsr", spynet_checkpoint=str(path), fix_flow=0, **opts)
    tuned.prepare(**ctx, cache_dir=str(tmp_path / "c"))
    w = "basic_module.0.basic_module.0.weight"
    assert not torch.equal(tuned.model.spynet.state_dict()[w], pre.state_dict()[w])
    # BasicSR's share of frozen steps by default (1/60 of the steps, at least 0)
    assert get_method("basicvsr", spynet_checkpoint=str(path), steps=600).fix_flow_steps() == 10


def test_spynet_checkpoint_is_refused_for_an_architecture_without_spynet(tmp_path):
    from srmer.sr.methods import get_method

    torch.save({"params": SpyNet().state_dict()}, tmp_path / "s.pth")
    m = get_method(
        "edvr",
        spynet_checkpoint=str(tmp_path / "s.pth"),
        hparams={"num_feat": 4, "num_extract_block": 1, "num_reconstruct_block": 1},
        steps=1,
        lr_patch=6,
        hr_size=32,
        train_inputs=[8],
        device="cpu",
    )
    rng = np.random.default_rng(3)
    with pytest.raises(ConfigError, match="has none"):
        m.prepare(
            pool_clips=[rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)],
            device="cpu",
            seed=0,
            cache_dir=str(tmp_path),
        )
