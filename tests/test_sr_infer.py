"""srmer.sr.upscale: tiling equals whole-frame inference, batching, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import srmer.sr as sr
from srmer.errors import SrmerError

torch.set_num_threads(1)


def _model(scale: int = 2) -> torch.nn.Module:
    torch.manual_seed(0)
    # receptive field radius: conv_first + 2 block convs + conv_after_body + upsample conv + HR conv
    # = about 6 LR pixels, well inside the 8-pixel overlap used below
    return sr.create("edsr", scale, num_feat=8, num_block=1).eval()


def test_tiled_equals_untiled_on_image_larger_than_tile() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((2, 41, 37, 3), dtype=np.float32)
    m = _model(2)
    whole = sr.upscale(m, img, tile=None, device="cpu")
    tiled = sr.upscale(m, img, tile=16, overlap=8, device="cpu")
    assert whole.shape == tiled.shape == (2, 82, 74, 3)
    assert np.abs(whole - tiled).max() < 1e-4
    # without overlap the seams show: the check above is not vacuous
    seams = sr.upscale(m, img, tile=16, overlap=0, device="cpu")
    assert np.abs(whole - seams).max() > 1e-3


def test_tiled_equals_untiled_for_cascade() -> None:
    m = sr.create("rdn", 8, D=1, C=1, G=4, G0=4).eval()
    img = np.random.default_rng(1).random((20, 18, 3), dtype=np.float32)
    whole = sr.upscale(m, img, device="cpu")
    tiled = sr.upscale(m, img, tile=8, overlap=8, device="cpu")
    assert whole.shape == (160, 144, 3)
    assert np.abs(whole - tiled).max() < 1e-4


def test_uint8_single_frame_and_batching() -> None:
    m = _model(2)
    rng = np.random.default_rng(2)
    clip = rng.integers(0, 256, (5, 12, 10, 3), dtype=np.uint8)
    a = sr.upscale(m, clip, batch=1, device="cpu")
    b = sr.upscale(m, clip, batch=3, device="cpu")
    assert a.dtype == np.uint8 and a.shape == (5, 24, 20, 3)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    one = sr.upscale(m, clip[2], device="cpu")
    assert one.shape == (24, 20, 3) and np.abs(one.astype(int) - a[2].astype(int)).max() <= 1
    # the uint8 path is the float path rounded
    f = sr.upscale(m, clip.astype(np.float32) / 255, device="cpu")
    assert np.abs(np.round(f * 255) - a).max() <= 1


def test_output_is_clipped_and_matches_model() -> None:
    m = _model(4)
    img = np.random.default_rng(3).random((1, 6, 6, 3), dtype=np.float32)
    out = sr.upscale(m, img, device="cpu")
    with torch.no_grad():
        ref = m(torch.from_numpy(img).permute(0, 3, 1, 2)).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_channels_last_same_result() -> None:
    m = _model(2)
    img = np.random.default_rng(4).random((2, 10, 9, 3), dtype=np.float32)
    a = sr.upscale(m, img, device="cpu", channels_last=False)
    b = sr.upscale(_model(2), img, device="cpu", channels_last=True)
    assert np.abs(a - b).max() < 1e-5


def test_bad_inputs() -> None:
    m = _model(2)
    with pytest.raises(SrmerError, match="shape"):
        sr.upscale(m, np.zeros((4, 4)), device="cpu")
    with pytest.raises(SrmerError, match="uint8"):
        sr.upscale(m, np.zeros((4, 4, 3), dtype=np.int32), device="cpu")
    meta = sr.create("metasr", 4, D=1, C=1, G=4, G0=4)
    meta.scale = 2.5
    with pytest.raises(SrmerError, match="integer"):
        sr.upscale(meta, np.zeros((4, 4, 3), np.float32), tile=2, device="cpu")
    assert sr.upscale(meta, np.zeros((4, 4, 3), np.float32), device="cpu").shape == (10, 10, 3)


def test_device_auto_resolves() -> None:
    from srmer.sr.infer import resolve_device

    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_upscale_path_image_folder_and_npy(tmp_path) -> None:
    from srmer.sr.checkpoint import save_checkpoint
    from srmer.sr.infer import upscale_path
    from srmer.video.io import read_image, write_image

    m = _model(2)
    ck = save_checkpoint(m, tmp_path / "m.pth")
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 256, (3, 8, 6, 3), dtype=np.uint8)
    clip_dir = tmp_path / "clip"
    for i, f in enumerate(frames):
        write_image(clip_dir / f"img{i:03d}.png", f)
    out = upscale_path(str(ck), str(clip_dir), str(tmp_path / "out"), batch=2, device="cpu")
    assert len(out) == 3
    ref = sr.upscale(m, frames, device="cpu")
    np.testing.assert_array_equal(read_image(tmp_path / "out" / "img001.png"), ref[1])
    np.save(tmp_path / "c.npy", frames)
    upscale_path(m, str(tmp_path / "c.npy"), str(tmp_path / "o.npy"), device="cpu")
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), ref)
    one = upscale_path(m, str(clip_dir / "img000.png"), str(tmp_path / "one.png"), device="cpu")
    assert read_image(one[0]).shape == (16, 12, 3)
    with pytest.raises(SrmerError, match="does not exist"):
        upscale_path(m, str(tmp_path / "nope"), str(tmp_path / "x"), device="cpu")
