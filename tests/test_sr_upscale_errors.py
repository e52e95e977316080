"""`srmer sr upscale` / upscale_path: clear errors before any work, streamed uint8 and memmap outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import srmer.sr as sr
from srmer.errors import SrmerError
from srmer.sr import infer
from srmer.sr.checkpoint import save_checkpoint
from srmer.sr.infer import upscale_path
from srmer.video.io import read_image, write_image

torch.set_num_threads(1)


def _model(scale: int = 2) -> torch.nn.Module:
    torch.manual_seed(0)
    # receptive-field radius about 6 LR pixels, inside the 8-pixel overlaps used below
    return sr.create("edsr", scale, num_feat=8, num_block=1).eval()


def _frames(n: int = 3, h: int = 24, w: int = 20, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


@pytest.fixture
def ckpt(tmp_path: Path) -> str:
    return str(save_checkpoint(_model(2), tmp_path / "m.pth"))


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a model is loaded or run: errors must come before any work."""

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded or run before the arguments were checked")

    monkeypatch.setattr("srmer.sr.checkpoint.load_checkpoint", boom)
    monkeypatch.setattr(infer, "upscale", boom)


# ------------------------------------------------------------------------------------ .npy input


def test_pickled_npy_is_refused_without_unpickling(tmp_path: Path, ckpt: str, no_model) -> None:
    p = tmp_path / "obj.npy"
    np.save(p, np.array([{"frames": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(SrmerError) as err:
        upscale_path(ckpt, str(p), str(tmp_path / "o.npy"), device="cpu")
    msg = str(err.value)
    assert str(p) in msg and "pickl" in msg and "(T,H,W,3)" in msg and "uint8" in msg


def test_non_npy_content_is_refused(tmp_path: Path, ckpt: str, no_model) -> None:
    p = tmp_path / "fake.npy"
    p.write_bytes(b"not numpy at all")
    with pytest.raises(SrmerError, match=r"not a \.npy array file") as err:
        upscale_path(ckpt, str(p), str(tmp_path / "o.npy"), device="cpu")
    assert str(p) in str(err.value)
    trunc = tmp_path / "trunc.npy"
    np.save(trunc, _frames())
    trunc.write_bytes(trunc.read_bytes()[:300])
    with pytest.raises(SrmerError, match="corrupt or truncated"):
        upscale_path(ckpt, str(trunc), str(tmp_path / "o.npy"), device="cpu")


@pytest.mark.parametrize(
    ("array", "found"),
    [
        (np.zeros((2, 8, 8, 3), np.float32), "float32 array of shape (2, 8, 8, 3)"),
        (np.zeros((2, 8, 8), np.uint8), "uint8 array of shape (2, 8, 8)"),
        (np.zeros((2, 8, 8, 4), np.uint8), "uint8 array of shape (2, 8, 8, 4)"),
        (np.zeros((0, 8, 8, 3), np.uint8), "empty array of shape (0, 8, 8, 3)"),
    ],
)
def test_npy_of_wrong_dtype_or_shape(tmp_path: Path, ckpt: str, no_model, array, found) -> None:
    p = tmp_path / "bad.npy"
    np.save(p, array)
    with pytest.raises(SrmerError) as err:
        upscale_path(ckpt, str(p), str(tmp_path / "o.npy"), device="cpu")
    msg = str(err.value)
    assert str(p) in msg and found in msg and "expected a (T,H,W,3) or (H,W,3) uint8" in msg


# ---------------------------------------------------------------------------------- folder input


def _clip_dir(tmp_path: Path, sizes: list[tuple[int, int]]) -> Path:
    d = tmp_path / "clip"
    for i, (h, w) in enumerate(sizes):
        write_image(d / f"f{i:03d}.png", _frames(1, h, w, seed=i)[0])
    return d


def test_mixed_size_folder_fails_before_the_model(tmp_path: Path, ckpt: str, no_model) -> None:
    d = _clip_dir(tmp_path, [(24, 20), (24, 20), (30, 20), (12, 12)])
    with pytest.raises(SrmerError) as err:
        upscale_path(ckpt, str(d), str(tmp_path / "out"), device="cpu")
    msg = str(err.value)
    assert str(d / "f002.png") in msg and "20x30" in msg and "f000.png is 20x24" in msg
    assert "one size" in msg and "separate folders" in msg


def test_mixed_size_found_when_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # headers unreadable (no Pillow, exotic format): the decoded sizes are still checked
    monkeypatch.setattr(infer, "_header_size", lambda p: None)
    d = _clip_dir(tmp_path, [(24, 20), (24, 20), (24, 16)])
    with pytest.raises(SrmerError, match=r"f002\.png is 16x24 .* f000\.png is 20x24"):
        upscale_path(_model(2), str(d), str(tmp_path / "o.npy"), batch=2, device="cpu")
    # the partial .npy is removed, not left truncated
    assert list(tmp_path.glob("o.npy*")) == []


def test_empty_folder_and_folder_without_images(tmp_path: Path, ckpt: str, no_model) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SrmerError, match="is empty") as err:
        upscale_path(ckpt, str(empty), str(tmp_path / "out"), device="cpu")
    assert str(empty) in str(err.value)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("x")
    with pytest.raises(SrmerError, match=r"no image files .* found: notes\.txt"):
        upscale_path(ckpt, str(docs), str(tmp_path / "out"), device="cpu")


def test_corrupt_image_is_named(tmp_path: Path, ckpt: str, no_model) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(SrmerError, match="cannot be read") as err:
        upscale_path(ckpt, str(bad), str(tmp_path / "o.png"), device="cpu")
    assert str(bad) in str(err.value)
    d = _clip_dir(tmp_path, [(24, 20), (24, 20)])
    (d / "f001.png").write_bytes(b"broken")
    with pytest.raises(SrmerError, match="cannot be read") as err:
        upscale_path(_model(2), str(d), str(tmp_path / "out"), device="cpu")
    assert str(d / "f001.png") in str(err.value)


# ---------------------------------------------------------------------------- output / arguments


@pytest.mark.parametrize("dst", ["out.xyz", "out"])
def test_unknown_image_extension_fails_before_the_model(
    tmp_path: Path, ckpt: str, no_model, dst: str
) -> None:
    src = tmp_path / "in.png"
    write_image(src, _frames(1)[0])
    with pytest.raises(SrmerError) as err:
        upscale_path(ckpt, str(src), str(tmp_path / dst), device="cpu")
    msg = str(err.value)
    assert str(tmp_path / dst) in msg and ".png" in msg and ".webp" in msg and ".npy" in msg
    assert not (tmp_path / dst).exists()


def test_clip_output_must_be_a_folder_or_npy(tmp_path: Path, ckpt: str, no_model) -> None:
    d = _clip_dir(tmp_path, [(24, 20), (24, 20)])
    with pytest.raises(SrmerError, match=r"looks like a \.png file.*a folder.*\.npy"):
        upscale_path(ckpt, str(d), str(tmp_path / "out.png"), device="cpu")
    (tmp_path / "taken").write_text("x")
    with pytest.raises(SrmerError, match="is an existing file"):
        upscale_path(ckpt, str(d), str(tmp_path / "taken"), device="cpu")


def test_missing_checkpoint_and_source(tmp_path: Path, ckpt: str) -> None:
    src = tmp_path / "in.png"
    write_image(src, _frames(1)[0])
    with pytest.raises(SrmerError, match="checkpoint .*nope.pth does not exist"):
        upscale_path(str(tmp_path / "nope.pth"), str(src), str(tmp_path / "o.png"))
    with pytest.raises(SrmerError, match="is a folder"):
        upscale_path(str(tmp_path), str(src), str(tmp_path / "o.png"))
    with pytest.raises(SrmerError, match=r"input .*missing\.png does not exist"):
        upscale_path(ckpt, str(tmp_path / "missing.png"), str(tmp_path / "o.png"))


def test_cli_user_errors_exit_2_without_traceback(tmp_path: Path, ckpt: str, capsys) -> None:
    from srmer.cli import main_with

    src = tmp_path / "in.png"
    write_image(src, _frames(1)[0])
    assert main_with(["sr", "upscale", ckpt, str(src), str(tmp_path / "out.xyz")]) == 2
    err = capsys.readouterr().err
    assert "out.xyz" in err and "Traceback" not in err
    pk = tmp_path / "obj.npy"
    np.save(pk, np.array([1, "a"], dtype=object), allow_pickle=True)
    assert main_with(["sr", "upscale", ckpt, str(pk), str(tmp_path / "o.npy")]) == 2
    err = capsys.readouterr().err
    assert "obj.npy" in err and "pickl" in err and "Traceback" not in err


# ------------------------------------------------------------------------ streamed, exact outputs


def test_tiled_uint8_output_is_the_rounded_float_output() -> None:
    m = _model(2)
    img = _frames(2, 24, 20, seed=7)
    tiled = sr.upscale(m, img, tile=8, overlap=8, device="cpu")
    # the uint8 tiles are rounded as the float output always was: floor(255 y + 0.5), exactly
    f = sr.upscale(m, img.astype(np.float32) / 255, tile=8, overlap=8, device="cpu")
    np.testing.assert_array_equal(tiled, np.floor(f * 255.0 + 0.5).astype(np.uint8))
    # versus whole-frame inference: float rounding of the convolutions can flip a value at a .5
    # boundary, so allow 1 level (and check it is rare)
    whole = sr.upscale(m, img, device="cpu")
    diff = np.abs(whole.astype(int) - tiled.astype(int))
    assert tiled.dtype == np.uint8 and tiled.shape == (2, 48, 40, 3)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_out_buffer_is_written_in_place_with_any_strides() -> None:
    m = _model(2)
    img = _frames(1, 24, 20, seed=8)[0]
    ref = sr.upscale(m, img, device="cpu")
    bgr = np.zeros((48, 40, 3), np.uint8)
    got = sr.upscale(m, img, tile=8, overlap=8, out=bgr[..., ::-1], device="cpu")
    assert np.shares_memory(got, bgr)
    assert np.abs(bgr[..., ::-1].astype(int) - ref).max() <= 1
    with pytest.raises(SrmerError, match="shape"):
        sr.upscale(m, img, out=np.zeros((40, 48, 3), np.uint8), device="cpu")


def test_npy_outputs_written_through_memmap_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = _model(2)
    frames = _frames(3, 24, 20, seed=9)
    opened: list[tuple[int, ...]] = []
    real = np.lib.format.open_memmap

    def spy(*args, **kwargs):
        arr = real(*args, **kwargs)
        if kwargs.get("mode") == "w+":  # np.load(mmap_mode="r") of the source opens one too
            opened.append(arr.shape)
        return arr

    monkeypatch.setattr(np.lib.format, "open_memmap", spy)
    ref = sr.upscale(m, frames, tile=8, overlap=8, device="cpu")
    np.save(tmp_path / "c.npy", frames)
    # clip .npy -> .npy, tiled (one frame at a time)
    out = upscale_path(
        m, str(tmp_path / "c.npy"), str(tmp_path / "o.npy"), tile=8, overlap=8, device="cpu"
    )
    assert out == [str(tmp_path / "o.npy")]
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), ref)
    # folder -> .npy, untiled and batched
    d = tmp_path / "clip"
    for i, f in enumerate(frames):
        write_image(d / f"{i}.png", f)
    upscale_path(m, str(d), str(tmp_path / "f.npy"), batch=2, device="cpu")
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), sr.upscale(m, frames, device="cpu"))
    # image -> .npy
    upscale_path(m, str(d / "1.png"), str(tmp_path / "one.npy"), tile=8, overlap=8, device="cpu")
    np.testing.assert_array_equal(np.load(tmp_path / "one.npy"), ref[1])
    assert opened == [(3, 48, 40, 3), (3, 48, 40, 3), (48, 40, 3)]
    # no temporary files left behind
    assert sorted(p.name for p in tmp_path.glob("*.npy*")) == ["c.npy", "f.npy", "o.npy", "one.npy"]


def test_tiled_clip_runs_one_frame_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = _model(2)
    frames = _frames(3, 24, 20, seed=10)
    np.save(tmp_path / "c.npy", frames)
    seen: list[int] = []
    real = infer.upscale

    def spy(model, images, **kw):
        seen.append(len(images))
        return real(model, images, **kw)

    monkeypatch.setattr(infer, "upscale", spy)
    written = upscale_path(
        m, str(tmp_path / "c.npy"), str(tmp_path / "out"), tile=8, overlap=8, batch=8, device="cpu"
    )
    assert seen == [1, 1, 1]
    assert [Path(p).name for p in written] == ["000000.png", "000001.png", "000002.png"]
    ref = real(m, frames, tile=8, overlap=8, device="cpu")
    np.testing.assert_array_equal(read_image(written[2]), ref[2])
    # frames no larger than the tile keep their batches
    seen.clear()
    upscale_path(m, str(tmp_path / "c.npy"), str(tmp_path / "o2"), tile=64, batch=2, device="cpu")
    assert seen == [2, 1]


def test_image_into_existing_folder_and_jpeg(tmp_path: Path) -> None:
    m = _model(2)
    src = tmp_path / "in.png"
    write_image(src, _frames(1, 24, 20, seed=11)[0])
    (tmp_path / "dir").mkdir()
    out = upscale_path(m, str(src), str(tmp_path / "dir"), device="cpu")
    assert out == [str(tmp_path / "dir" / "in.png")]
    np.testing.assert_array_equal(read_image(out[0]), sr.upscale(m, read_image(src), device="cpu"))
    jpg = upscale_path(m, str(src), str(tmp_path / "sub" / "o.jpg"), device="cpu")
    assert read_image(jpg[0]).shape == (48, 40, 3)
