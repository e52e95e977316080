"""SwinIR, HAT, GFPGAN and CodeFormer as benchmark SR methods: checkpoints, training, tiling, grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from srmer.errors import ConfigError, SrmerError
from srmer.sr import create, load_checkpoint, upscale
from srmer.sr.methods import get_method
from srmer.train import seeded

TINY_SWINIR = {"embed_dim": 16, "depths": [2], "num_heads": [2], "window_size": 4}
TINY_HAT = {
    "embed_dim": 16,
    "depths": [2],
    "num_heads": [2],
    "window_size": 4,
    "compress_ratio": 2,
    "squeeze_factor": 4,
    "num_feat": 16,
}
GFP_TINY = {"out_size": 64, "num_style_feat": 32, "channel_multiplier": 1, "narrow": 0.0625}
GFP_TINY["num_mlp"] = 2
CF_TINY = {
    "img_size": 64,
    "nf": 32,
    "ch_mult": (1, 1, 2),
    "res_blocks": 1,
    "attn_resolutions": (16,),
    "emb_dim": 32,
    "dim_embd": 32,
    "n_head": 8,
    "n_layers": 2,
    "codebook_size": 64,
    "latent_size": 256,
    "connect_list": ("32", "64"),
}


def _save(model, path, container="params"):
    torch.save({container: model.state_dict()}, path)
    return path


def _clip(t=2, side=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (t, side, side, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("arch", "hp", "container"),
    [
        ("swinir", TINY_SWINIR, "params"),
        ("swinir_light", {**TINY_SWINIR, "upsampler": "pixelshuffledirect"}, "params"),
        ("hat", TINY_HAT, "params_ema"),
    ],
)
def test_a_loaded_checkpoint_runs_like_the_model_built_with_create(tmp_path, arch, hp, container):
    with seeded(0):
        ref = create(arch, 4, **hp).eval()
    path = _save(ref, tmp_path / f"{arch}.pth", container)
    loaded = load_checkpoint(path)
    x = torch.rand(1, 3, 13, 19)  # not a multiple of the window
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), ref(x), rtol=0, atol=1e-6)
    assert loaded(x).shape == (1, 3, 52, 76)
    method = get_method(arch.split("_")[0], checkpoint=str(path), device="cpu")
    frames = _clip(side=13)
    np.testing.assert_array_equal(method.upscale(frames, 52), upscale(ref, frames, device="cpu"))


def test_swinir_tiles_equal_the_whole_image_off_the_window_grid():
    with seeded(1):
        model = create("swinir", 2, **TINY_SWINIR).eval()
    x = np.random.default_rng(2).random((1, 37, 42, 3)).astype(np.float32)
    whole = upscale(model, x, device="cpu")
    # tile 10 and overlap 14 are rounded up to the 4-pixel window grid (12 and 16)
    tiled = upscale(model, x, tile=10, overlap=14, device="cpu")
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    # off the grid the windows differ and so do the outputs: the rounding is what makes it exact
    from srmer.sr import infer

    class Unaligned(torch.nn.Module):  # the same network, its window size hidden from tiling
        def __init__(self, m):
            super().__init__()
            self.m, self.scale = m, m.scale

        def forward(self, t):
            return self.m(t)

    out = np.empty_like(whole)
    with torch.no_grad():
        infer._run_tiled(
            Unaligned(model), x, 2, 10, 14, torch.contiguous_format, torch.device("cpu"), out
        )
    assert np.abs(out - whole).max() > 1e-4


def test_hat_tiles_are_close_to_the_whole_image():
    # HAT's channel attention averages over the whole input, so tiles approximate (as RCAN)
    with seeded(1):
        model = create("hat", 2, **TINY_HAT).eval()
    x = np.random.default_rng(2).random((1, 37, 42, 3)).astype(np.float32)
    whole = upscale(model, x, device="cpu")
    tiled = upscale(model, x, tile=12, overlap=16, device="cpu")
    assert np.abs(tiled - whole).max() < 0.05


@pytest.mark.parametrize(("name", "hp"), [("swinir", TINY_SWINIR), ("hat", TINY_HAT)])
def test_transformers_train_on_the_pool(tmp_path, name, hp):
    pool = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    m = get_method(name, hparams=hp, steps=2, batch_size=2, lr_patch=8, device="cpu")
    assert m.needs_preparation
    m.prepare(pool_images=pool, cache_dir=str(tmp_path), device="cpu", seed=0, scales=[2])
    assert m.upscale(_clip(side=16), 32).shape == (2, 32, 32, 3)
    assert list((tmp_path).rglob("*.pth")), "the trained weights are cached"


@pytest.mark.parametrize(
    ("name", "arch", "hp"), [("gfpgan", "gfpgan", GFP_TINY), ("codeformer", "codeformer", CF_TINY)]
)
def test_face_restoration_resizes_in_restores_and_resizes_out(tmp_path, name, arch, hp):
    with seeded(0):
        ref = create(arch, 1, **hp).eval()
    path = _save(ref, tmp_path / f"{name}.pth", "params_ema")
    m = get_method(name, checkpoint=str(path), device="cpu")
    assert not m.needs_preparation
    lr = _clip(side=16)
    out = m.upscale(lr, 32)
    assert out.shape == (2, 32, 32, 3) and out.dtype == np.uint8
    # the same as: MATLAB bicubic to the model's side, restore, bicubic to the benchmark size
    from srmer.degrade import imresize

    expect = imresize(upscale(ref, imresize(lr, size=64), device="cpu"), size=32)
    # float rounding of another batch size may move a value across .5: one grey level at most
    assert np.abs(out.astype(int) - expect).max() <= 1 and (out != expect).mean() < 1e-3
    grey = m.upscale(lr[..., 0], 32)
    assert grey.shape == (2, 32, 32)


def test_codeformer_fidelity_weight_is_an_option(tmp_path):
    with seeded(0):
        ref = create("codeformer", 1, **CF_TINY).eval()
    path = _save(ref, tmp_path / "cf.pth", "params_ema")
    lr = _clip(side=16)
    a = get_method("codeformer", checkpoint=str(path), fidelity_weight=0.0).upscale(lr, 32)
    b = get_method("codeformer", checkpoint=str(path), fidelity_weight=1.0).upscale(lr, 32)
    assert not np.array_equal(a, b)
    with pytest.raises(ConfigError, match=r"fidelity_weight must be a number in \[0, 1\]"):
        get_method("codeformer", checkpoint=str(path), fidelity_weight=2)


def test_face_restoration_needs_a_checkpoint_and_says_why(tmp_path):
    from srmer.bench.config import parse_config

    cfg = {
        "name": "x",
        "datasets": [{"name": "casme2", "root": str(tmp_path)}],
        "sr": ["none", "gfpgan"],
        "mer": ["lbptop"],
    }
    with pytest.raises(ConfigError) as err:
        parse_config(cfg)
    msg = str(err.value)
    assert "field `sr[1]`" in msg and "needs `checkpoint:`" in msg and "FFHQ" in msg
    with pytest.raises(ConfigError, match="needs `checkpoint:`"):
        get_method("codeformer").upscale(_clip(), 32)
    # training options would be silently ignored: refused, and not listed
    with pytest.raises(ConfigError, match=r"unknown option\(s\) steps"):
        get_method("gfpgan", checkpoint="x.pth", steps=10)
    from srmer.sr.face_restoration import GFPGANMethod

    assert "steps" not in GFPGANMethod.defaults and "checkpoint_options" in GFPGANMethod.defaults


def test_a_face_checkpoint_of_another_family_is_refused(tmp_path):
    with seeded(0):
        ref = create("gfpgan", 1, **GFP_TINY).eval()
    path = _save(ref, tmp_path / "g.pth", "params_ema")
    with pytest.raises(SrmerError, match="holds a 'gfpgan' model"):
        get_method("codeformer", checkpoint=str(path)).upscale(_clip(), 32)


def test_the_synthetic_benchmark_runs_with_a_small_self_trained_swinir(tmp_path):
    import srmer
    from srmer.data import synthetic

    data = synthetic.generate(
        tmp_path / "c2", n_subjects=3, clips_per_subject=4, n_frames=10, size=32, seed=0
    )
    pool = synthetic.generate_sr_pool(
        tmp_path / "pool", n_identities=3, frames_per_identity=3, size=32, seed=1
    )
    cfg = {
        "name": "swinir_grid",
        "datasets": [{"name": "casme2", "root": str(data)}],
        "preprocess": {"size": 32},
        "resolutions": [16],
        "reference": False,
        "sr": [
            "none",
            {"name": "swinir", "hparams": TINY_SWINIR, "steps": 2, "lr_patch": 8, "batch_size": 2},
        ],
        "mer": [{"name": "lbptop", "blocks": [2, 2]}],
        "sr_pool": str(pool),
        "executor": {"workers": 1},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    res = srmer.run(tmp_path / "c.yaml", output=None, quiet=True)
    rows = res.results.set_index("sr")
    assert set(rows.index) == {"none", "swinir"}
    assert rows.loc["swinir", "setting"] == "16to32" and 0 <= rows.loc["swinir", "war"] <= 1
    assert rows.loc["swinir", "sr_display"] == "SwinIR"
