"""The SR-method contract shared by the image and the video methods (srmer.sr.trained.TrainedSR):
one set of option names, the pool in the weight-cache key, architecture capabilities, the
checkpoint architecture check, the corrupt cached-model policy, one prepare contract and the model
fingerprint."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import srmer.sr as sr
from srmer.errors import CheckpointError, ConfigError
from srmer.sr.methods import get_method
from srmer.sr.registry import get_spec, specs
from srmer.sr.trained import COMMON_OPTIONS, TrainedSR
from srmer.train import CheckpointWarning

torch.set_num_threads(1)

SRC = Path(__file__).resolve().parents[1] / "src" / "srmer"

IMAGE = {"hparams": {"num_feat": 4, "num_block": 1}, "steps": 2, "batch_size": 2, "lr_patch": 4}
VIDEO = {
    "hparams": {"num_feat": 4, "num_block": 1},
    "steps": 1,
    "lr_patch": 4,
    "hr_size": 32,
    "train_inputs": [8],
    "device": "cpu",
}


def _frames(seed: int, n: int = 4, side: int = 32) -> np.ndarray:
    yy, xx = np.mgrid[0:side, 0:side] / side
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a, b, c = rng.random(3) * 4 + 1
        img = np.stack([np.sin(a * xx + yy), np.cos(b * yy + xx), np.sin(c * (xx + yy))], -1)
        out.append(((img * 0.5 + 0.5) * 255).astype(np.uint8))
    return np.stack(out)


def _ctx(tmp: Path, pool, kind: str = "image") -> dict:
    key = "pool_images" if kind == "image" else "pool_clips"
    return {key: pool, "cache_dir": str(tmp), "device": "cpu", "seed": 0, "progress": False}


def _weights(m) -> torch.Tensor:
    model = m.model if m.kind == "video" else m._models[4.0]
    return torch.cat([p.detach().flatten() for p in model.parameters()])


# ------------------------------------------------------------------ one set of option names
def test_image_and_video_methods_share_one_base_and_option_names() -> None:
    img, vid = get_method("edsr"), get_method("basicvsr")
    assert isinstance(img, TrainedSR) and isinstance(vid, TrainedSR)
    values = {
        "checkpoint": None,
        "checkpoint_options": None,
        "arch": None,
        "hparams": {},
        "full": False,
        "steps": 3,
        "batch_size": 2,
        "lr_patch": 8,
        "lr": 1e-4,
        "seed": 1,
        "device": "cpu",
        "loss": {"pixel": 1.0, "motion": 0.1},
    }
    assert set(values) == COMMON_OPTIONS
    for name in ("edsr", "basicvsr"):
        m = get_method(name, **values)
        assert m.train_options()["steps"] == 3 and m.train_options()["seed"] == 1


def test_old_video_option_names_are_aliases() -> None:
    old = get_method(
        "basicvsr", train_steps=7, train_batch=3, train_patch=8, train_lr=1e-3, train_clip_len=4
    )
    new = get_method("basicvsr", steps=7, batch_size=3, lr_patch=8, lr=1e-3, clip_len=4)
    assert old.options == new.options
    assert old.train_options() == new.train_options()
    assert get_method("edsr", train_steps=5).train_options()["steps"] == 5
    with pytest.raises(ConfigError, match="'train_steps' and 'steps'"):
        get_method("basicvsr", train_steps=1, steps=2)
    with pytest.raises(ConfigError, match="unknown option"):
        get_method("edsr", clip_len=3)  # a video-only option


# ------------------------------------------------------------------ the pool in the cache key
def test_image_method_retrains_when_the_pool_changes(tmp_path: Path) -> None:
    a, b = _frames(0), _frames(1)
    m1 = get_method("edsr", **IMAGE)
    m1.prepare(**_ctx(tmp_path, a), scales=[4])
    m2 = get_method("edsr", **IMAGE)
    m2.prepare(**_ctx(tmp_path, b), scales=[4])
    files = sorted(tmp_path.glob("edsr-x4-*.pth"))
    assert len(files) == 2
    assert not torch.equal(_weights(m1), _weights(m2))
    m3 = get_method("edsr", **IMAGE)  # the first pool again: its cache file is reused
    m3.prepare(**_ctx(tmp_path, a.copy()), scales=[4])
    assert torch.equal(_weights(m1), _weights(m3)) and len(list(tmp_path.glob("*.pth"))) == 2


def test_video_method_retrains_when_the_pool_changes(tmp_path: Path) -> None:
    a = [_frames(0, n=3)]
    b = [_frames(1, n=3)]
    m1 = get_method("basicvsr", **VIDEO)
    m1.prepare(**_ctx(tmp_path, a, "video"))
    m2 = get_method("basicvsr", **VIDEO)
    m2.prepare(**_ctx(tmp_path, b, "video"))
    assert len(list(tmp_path.glob("basicvsr-*.pth"))) == 2
    assert not torch.equal(_weights(m1), _weights(m2))
    m3 = get_method("basicvsr", **VIDEO)
    m3.prepare(**_ctx(tmp_path, [a[0].copy()], "video"))
    assert torch.equal(_weights(m1), _weights(m3))


def test_model_fingerprint(tmp_path: Path) -> None:
    a, b = _frames(0), _frames(1)
    for name, opts, kind in (("edsr", IMAGE, "image"), ("basicvsr", VIDEO, "video")):
        pa = a if kind == "image" else [a]
        pb = b if kind == "image" else [b]
        fa = get_method(name, **opts).model_fingerprint(_ctx(tmp_path, pa, kind))
        assert fa == get_method(name, **opts).model_fingerprint(_ctx(tmp_path, pa, kind))
        assert fa != get_method(name, **opts).model_fingerprint(_ctx(tmp_path, pb, kind))
        other_seed = {**_ctx(tmp_path, pa, kind), "seed": 3}
        assert fa != get_method(name, **opts).model_fingerprint(other_seed)
        assert not list(tmp_path.glob("*.pth"))  # fingerprinting trains nothing
    ck = tmp_path / "w.pth"
    sr.save_checkpoint(sr.create("edsr", 4, num_feat=4, num_block=1), ck)
    f1 = get_method("edsr", checkpoint=str(ck)).model_fingerprint({})
    assert f1.startswith("checkpoint:")
    sr.save_checkpoint(sr.create("edsr", 4, num_feat=8, num_block=1), ck)
    import os

    os.utime(ck, ns=(1, 1))  # rewritten file: new size/mtime
    assert get_method("edsr", checkpoint=str(ck)).model_fingerprint({}) != f1


# ------------------------------------------------------------------ capabilities
def test_capabilities_are_declared_on_the_specs() -> None:
    assert get_spec("metasr").any_scale and not get_spec("metasr").fixed_input
    assert get_spec("glean").fixed_input and not get_spec("glean").any_scale
    others = [s for n, s in specs().items() if n not in ("metasr", "glean")]
    assert all(not s.any_scale and not s.fixed_input for s in others)
    faces = {n for n, s in specs().items() if s.restoration_size}
    assert faces == {"gfpgan", "codeformer"}
    assert all(specs()[n].restoration_size == 512 and specs()[n].scales == (1,) for n in faces)
    assert all(s.window_multiple >= 1 for s in specs().values())
    assert get_method("glean").fixed_input and not get_method("edsr").fixed_input
    assert get_method("metasr").any_scale and not get_method("rdn").any_scale


def test_methods_read_capabilities_not_architecture_names() -> None:
    for rel in ("sr/learned.py", "sr/video.py", "sr/checkpoint.py", "sr/infer.py"):
        text = (SRC / rel).read_text()
        for arch in ("glean", "metasr", "edvr"):
            assert f'== "{arch}"' not in text and f'"{arch}" ==' not in text, (rel, arch)


# ------------------------------------------------------------------ checkpoint architecture check
def test_a_checkpoint_of_another_architecture_is_refused(tmp_path: Path) -> None:
    rrdb = tmp_path / "rrdbnet.pth"
    torch.save({"params": sr.create("rrdbnet", 4, num_feat=4, num_block=1).state_dict()}, rrdb)
    m = get_method("edsr", checkpoint=str(rrdb), device="cpu")
    with pytest.raises(CheckpointError, match=r"rrdbnet\.pth.*'rrdbnet'.*edsr\*"):
        m.prepare(scales=[4])
    # the RRDBNet family runs as ESRGAN and Real-ESRGAN, as in the papers
    for name in ("esrgan", "realesrgan", "nesrganplus"):
        get_method(name, checkpoint=str(rrdb), device="cpu").prepare(scales=[4])
    large = tmp_path / "edsr_large.pth"
    sr.save_checkpoint(sr.create("edsr_large", 2, num_feat=4, num_block=1), large)
    get_method("edsr", checkpoint=str(large), device="cpu").prepare(scales=[2])  # edsr* variant
    cascade = tmp_path / "rdn_x8.pth"  # a cascade file is checked stage by stage
    sr.save_checkpoint(sr.create("rdn", 8, D=1, C=1, G=4, G0=4), cascade)
    get_method("rdn", checkpoint=str(cascade), device="cpu").prepare(scales=[8])
    with pytest.raises(CheckpointError, match="'rdn'"):
        get_method("rcan", checkpoint=str(cascade), device="cpu").prepare(scales=[8])
    edvr = tmp_path / "edvr.pth"
    sr.save_checkpoint(
        sr.create(
            "edvr",
            4,
            num_feat=4,
            num_extract_block=1,
            num_reconstruct_block=1,
            deformable_groups=1,
        ),
        edvr,
    )
    with pytest.raises(CheckpointError, match=r"edvr\.pth.*'edvr'.*basicvsr"):
        get_method("basicvsr", checkpoint=str(edvr)).prepare()
    get_method("edvr", checkpoint=str(edvr)).prepare()


# ------------------------------------------------------------------ corrupt cached trained models
@pytest.mark.parametrize("damage", ["truncated", "empty"])
@pytest.mark.parametrize("kind", ["image", "video"])
def test_a_corrupt_cached_model_is_removed_and_retrained(
    tmp_path: Path, kind: str, damage: str
) -> None:
    name, opts = ("edsr", IMAGE) if kind == "image" else ("basicvsr", VIDEO)
    pool = _frames(0) if kind == "image" else [_frames(0, n=3)]
    first = get_method(name, **opts)
    first.prepare(**_ctx(tmp_path, pool, kind), scales=[4])
    (cached,) = tmp_path.glob(f"{name}-x4-*.pth")
    data = cached.read_bytes()
    cached.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    again = get_method(name, **opts)
    with pytest.warns(CheckpointWarning, match=cached.name) as rec:
        again.prepare(**_ctx(tmp_path, pool, kind), scales=[4])
    assert all("download" not in str(w.message) for w in rec)
    assert torch.equal(_weights(first), _weights(again))  # retrained, same seed: same weights
    assert sr.load_checkpoint(cached) is not None  # rewritten whole
    assert not list(tmp_path.glob("*partial*"))


# ------------------------------------------------------------------ one prepare contract
def test_prepare_takes_the_same_context_for_image_and_video(tmp_path: Path) -> None:
    import cv2

    paths = []
    for ident in range(2):
        for f, frame in enumerate(_frames(ident, n=3)):
            p = tmp_path / "pool" / f"id{ident}" / f"{f:03d}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(p), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            paths.append(str(p))
    # what the benchmark passes: image paths, device, cache_dir, seed, scales, models
    context = {
        "pool_images": paths,
        "device": "cpu",
        "cache_dir": str(tmp_path / "cache"),
        "seed": 0,
        "models": {},
        "progress": False,
    }
    lr = _frames(5, n=3)[:, ::4, ::4]
    for name, opts in (("edsr", IMAGE), ("basicvsr", VIDEO)):
        m = get_method(name, **opts)
        assert m.needs_preparation
        m.prepare(**context, scales=[4])
        assert m.upscale(lr, 32).shape == (3, 32, 32, 3)
    assert len(list((tmp_path / "cache").glob("*.pth"))) == 2


# ------------------------------------------------------------------ any-scale: one model, factors
META = {"hparams": {"D": 1, "C": 1, "G": 4, "G0": 4}, "steps": 3, "batch_size": 2, "lr_patch": 4}


def test_train_scales_trains_one_any_scale_model_for_every_factor(tmp_path: Path, monkeypatch):
    import srmer.sr.train as sr_train

    calls: list[tuple[int, int, int]] = []
    orig = sr_train.train_sr

    def spy(model, hr, scale=None, **kw):
        calls.append((id(model), int(scale), kw["steps"]))
        return orig(model, hr, scale, **kw)

    monkeypatch.setattr(sr_train, "train_sr", spy)
    pool = _frames(0)
    m = get_method("metasr", **META, train_scales=[5, 2, 3, 3])
    assert m.options["train_scales"] == [2, 3, 5]  # sorted, de-duplicated: the training order
    m.prepare(**_ctx(tmp_path, pool), scales=[2, 3, 5])
    # one model, trained at each factor in ascending order, the steps split over them (3 = 1+1+1);
    # x5 is no product of Meta-SR's native factors: the model is built at one and run at x5
    assert [c[1:] for c in calls] == [(2, 1), (3, 1), (5, 1)]
    assert len({c[0] for c in calls}) == 1
    (cached,) = tmp_path.glob("*.pth")
    assert cached.name.startswith("metasr-xany-")
    assert not list(tmp_path.glob("*partial*"))
    lr = _frames(5, n=2, side=8)
    for size in (16, 24, 40, 20):  # x2, x3, x5 and a fractional x2.5: the same model
        assert m.upscale(lr, size).shape == (2, size, size, 3)
    assert len(calls) == 3 and len(list(tmp_path.glob("*.pth"))) == 1
    again = get_method("metasr", **META, train_scales=[2, 3, 5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cached file rebuilds: no "unreadable, retrained"
        again.prepare(**_ctx(tmp_path, pool), scales=[2, 3, 5])  # cached: nothing is trained
    assert len(calls) == 3
    assert torch.equal(
        torch.cat([p.flatten() for p in m._models[("any", None)].parameters()]),
        torch.cat([p.flatten() for p in again._models[("any", None)].parameters()]),
    )
    # the factors, and the pool, are part of the key
    fp = m.model_fingerprint()
    other = get_method("metasr", **META, train_scales=[2, 4])
    assert other.model_fingerprint(_ctx(tmp_path, pool)) != fp
    assert (
        get_method("metasr", **META, train_scales=[2, 3, 4]).model_fingerprint(
            _ctx(tmp_path, _frames(1))
        )
        != fp
    )


def test_any_scale_model_per_factor_at_a_non_native_factor_is_cached(tmp_path: Path) -> None:
    # without train_scales: one model per integer factor, also x5 (no product of native factors)
    get_method("metasr", **META).prepare(**_ctx(tmp_path, _frames(0)), scales=[5])
    (cached,) = tmp_path.glob("metasr-x5-*.pth")
    m = get_method("metasr", **META)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.prepare(**_ctx(tmp_path, _frames(0)), scales=[5])
    assert m.upscale(_frames(5, n=1, side=8), 40).shape == (1, 40, 40, 3)
    assert list(tmp_path.glob("*.pth")) == [cached]


def test_train_scales_is_checked_and_leaves_other_keys_alone() -> None:
    with pytest.raises(ConfigError, match="train_scales.*any-scale"):
        get_method("rcan", train_scales=[2, 3])
    for bad in ([], [1, 2], [2.5], "x2"):
        with pytest.raises(ConfigError, match="train_scales must be"):
            get_method("metasr", train_scales=bad)
    # without the option, a method's training key (and so its cached weights) is what it was
    plain = get_method("metasr", **META)
    plain._context.update(_ctx(Path("."), _frames(0)))
    assert "train_scales" not in plain.training_key(scale=2)["extras"]
    assert plain.weights_path(2).name.startswith("metasr-x2-")


def test_srmer_list_shows_every_trained_sr_option_with_its_default():
    from srmer.sr.methods import SR_METHODS, get_method

    edsr = SR_METHODS.describe("edsr")["options"]
    assert edsr["steps"] == 1000 and edsr["batch"] == 8 and edsr["device"] == "auto"
    assert SR_METHODS.describe("esrgan")["options"]["gan_steps"] == 500
    vsr = SR_METHODS.describe("basicvsr")["options"]
    assert vsr["window"] == 32 and vsr["steps"] == 300 and vsr["train_steps"] == "alias of steps"
    # the listed defaults are the ones the methods run with
    m = get_method("basicvsr")
    assert m.run_defaults["window"] == vsr["window"] and "window" not in m.options
