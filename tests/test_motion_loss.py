"""Micro-motion-preserving SR: the differentiable flow, the motion/strain loss and its training."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from srmer.errors import ConfigError
from srmer.sr.motion import LOSS_TERMS, MotionLoss, hs_flow, parse_loss, strain_map


def _blob_frames(shift: float, size: int = 48, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth textured frame and the same frame translated right by ``shift`` px."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img_a = np.zeros((size, size), np.float32)
    img_b = np.zeros((size, size), np.float32)
    for _ in range(12):
        cy, cx = rng.uniform(8, size - 8, 2)
        s = rng.uniform(3, 6)
        amp = rng.uniform(0.2, 0.5)
        img_a += amp * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
        img_b += amp * np.exp(-((yy - cy) ** 2 + (xx - cx - shift) ** 2) / (2 * s * s))
    a = torch.from_numpy(np.clip(img_a, 0, 1))[None, None].expand(1, 3, -1, -1).contiguous()
    b = torch.from_numpy(np.clip(img_b, 0, 1))[None, None].expand(1, 3, -1, -1).contiguous()
    return a, b


def test_hs_flow_recovers_a_small_translation():
    a, b = _blob_frames(1.5)
    flow = hs_flow(a, b, iterations=60)
    # the centre, away from the replicated border; content moves right by 1.5 px
    u = flow[0, 0, 12:-12, 12:-12].mean().item()
    v = flow[0, 1, 12:-12, 12:-12].mean().item()
    assert 1.0 < u < 2.0
    assert abs(v) < 0.3


def test_strain_of_a_translation_is_near_zero_and_of_a_stretch_is_not():
    h = w = 32
    shift = torch.ones(1, 2, h, w)
    assert strain_map(shift).max().item() < 1e-5
    xs = torch.linspace(0, 3, w).view(1, 1, 1, w).expand(1, 1, h, w)
    stretch = torch.cat((xs, torch.zeros_like(xs)), 1)
    assert strain_map(stretch)[..., 2:-2, 2:-2].mean().item() == pytest.approx(3 / (w - 1), 1e-3)


def test_motion_loss_is_zero_for_identical_clips():
    a, b = _blob_frames(1.0)
    loss = MotionLoss(motion=1.0, strain=1.0)
    assert loss(a, b, a, b).item() == pytest.approx(0.0, abs=1e-7)
    assert loss.terms["motion"] == pytest.approx(0.0, abs=1e-7)


def test_motion_loss_grows_with_a_planted_motion_error():
    a, b = _blob_frames(1.0)
    loss = MotionLoss(motion=1.0)
    values = []
    for err in (0.0, 0.5, 1.0, 2.0):
        _, b_err = _blob_frames(1.0 + err)
        values.append(loss(a, b_err, a, b).item())
    assert values[0] == pytest.approx(0.0, abs=1e-7)
    assert all(x < y for x, y in itertools.pairwise(values))


def test_motion_loss_ignores_a_brightness_offset_less_than_a_motion_error():
    # the same motion with a brighter SR pair costs far less than a wrong motion
    a, b = _blob_frames(1.0)
    _, wrong = _blob_frames(2.0)
    loss = MotionLoss(motion=1.0)
    bright = loss((a + 0.05).clamp(0, 1), (b + 0.05).clamp(0, 1), a, b).item()
    moved = loss(a, wrong, a, b).item()
    assert bright < 0.2 * moved


def test_gradients_reach_the_sr_network_through_the_flow():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(3, 3, 3, padding=1))
    a, b = _blob_frames(1.0, size=48)
    la = torch.nn.functional.avg_pool2d(a, 2)
    lb = torch.nn.functional.avg_pool2d(b, 2)
    loss = MotionLoss(motion=1.0, strain=0.5)
    out = loss(net(la), net(lb), a, b)
    out.backward()
    g = net[1].weight.grad
    assert g is not None and torch.isfinite(g).all() and g.abs().sum().item() > 0


def test_a_flow_module_is_frozen():
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, a, b):
            return (b - a)[:, :2] * self.w

    f = Tiny()
    loss = MotionLoss(motion=1.0, flow=f)
    assert not f.w.requires_grad
    a, b = _blob_frames(1.0)
    x = a.clone().requires_grad_(True)
    loss(x, b, a, b + 0.1).backward()
    assert x.grad is not None and f.w.grad is None


@pytest.mark.parametrize(
    ("value", "msg"),
    [
        ("pixel", "mapping"),
        ({"pixels": 1.0}, "unknown loss term"),
        ({"motion": -1}, "loss.motion"),
        ({"motion": True}, "loss.motion"),
        ({"pixel": 0}, "every loss weight is 0"),
    ],
)
def test_parse_loss_errors_name_the_term(value, msg):
    with pytest.raises(ConfigError, match=msg):
        parse_loss(value, "srcnn")


def test_parse_loss_fills_defaults():
    assert parse_loss(None) == LOSS_TERMS
    assert parse_loss({"motion": 0.1}) == {**LOSS_TERMS, "motion": 0.1}


def _moving_clips(n: int = 3, t: int = 4, size: int = 32) -> list[np.ndarray]:
    import tempfile
    from pathlib import Path

    from srmer.data.synthetic import generate_sr_pool
    from srmer.sr.trained import clips_from_images

    d = Path(tempfile.mkdtemp())
    pool = generate_sr_pool(d, n_identities=n, frames_per_identity=t, size=size, moving=True)
    return clips_from_images(sorted(pool.rglob("*.png")))


def test_moving_pool_clips_move_smoothly_and_default_pool_is_unchanged(tmp_path):
    import cv2

    from srmer.data.synthetic import generate_sr_pool

    clips = _moving_clips(n=2, t=7, size=128)
    assert [c.shape for c in clips] == [(7, 128, 128, 3)] * 2
    for c in clips:
        # blurred, so the frame noise does not hide the motion
        s = np.stack([cv2.GaussianBlur(f.astype(np.float32), (0, 0), 2) for f in c])
        d = [np.abs(s[i] - s[0]).max() for i in range(1, 7)]
        # onset -> apex -> offset: the apex (middle) differs most from the onset
        assert max(d) == max(d[1], d[2], d[3])
        assert d[-1] < max(d)
    a = generate_sr_pool(tmp_path / "a", n_identities=1, frames_per_identity=2, size=32)
    b = generate_sr_pool(
        tmp_path / "b", n_identities=1, frames_per_identity=2, size=32, moving=False
    )
    fa = sorted(a.rglob("*.png"))
    assert [p.read_bytes() for p in fa] == [p.read_bytes() for p in sorted(b.rglob("*.png"))]


def test_train_sr_with_the_motion_loss_logs_it_and_keys_apart(tmp_path):
    from srmer.sr.registry import create
    from srmer.sr.train import train_sr

    clips = _moving_clips()
    frames = np.concatenate(clips)

    def run(loss, name):
        model = create("srcnn", 2, seed=0, channels=(1, 8, 4, 1))
        r = train_sr(
            model, frames, 2, steps=3, batch_size=4, lr_patch=8, seed=0, progress=False,
            loss=loss, motion_clips=clips if loss else None, ckpt_path=tmp_path / name,
        )  # fmt: skip
        return model, r

    m1, r1 = run({"pixel": 1.0, "motion": 0.5, "strain": 0.1}, "a")
    assert {"motion", "strain"} <= set(r1.history[-1])
    m2, _ = run(None, "b")
    w1 = next(iter(m1.state_dict().values()))
    w2 = next(iter(m2.state_dict().values()))
    assert not torch.equal(w1, w2)
    # reproducible from the seed
    m3, _ = run({"pixel": 1.0, "motion": 0.5, "strain": 0.1}, "c")
    assert torch.equal(next(iter(m3.state_dict().values())), w1)


def test_train_sr_refuses_motion_without_clips_and_task_terms():
    from srmer.sr.registry import create
    from srmer.sr.train import train_sr

    frames = np.zeros((2, 16, 16, 3), np.uint8)
    model = create("srcnn", 2, seed=0, channels=(1, 8, 4, 1))
    with pytest.raises(ConfigError, match="motion_clips"):
        train_sr(model, frames, 2, steps=1, loss={"motion": 0.1}, progress=False)
    with pytest.raises(ConfigError, match="inside each fold"):
        train_sr(model, frames, 2, steps=1, loss={"task": 0.1}, progress=False)


def test_learned_method_takes_the_loss_option_and_keys_it():
    from srmer.sr.methods import get_method

    plain = get_method("srcnn", steps=2)
    moving = get_method("srcnn", steps=2, loss={"pixel": 1.0, "motion": 0.1})
    assert plain.pool_loss() is None
    assert moving.pool_loss()["motion"] == 0.1
    assert not moving.fold_dependent
    assert get_method("srcnn", loss={"task": 0.1}).fold_dependent
    with pytest.raises(ConfigError, match="unknown loss term"):
        get_method("srcnn", loss={"motions": 0.1})
