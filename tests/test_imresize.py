"""MATLAB-compatible imresize: shape rules, antialiasing, uint8 handling, the definition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from srmer.degrade import imresize, resize_clip
from srmer.errors import SrmerError

# --------------------------------------------------------------------------------------------
# A slow, literal implementation of MATLAB's contributions() + resizeAlongDim, one output pixel
# at a time, written independently of the library's weight matrices.


def _keys(x: float) -> float:
    ax = abs(x)
    if ax <= 1:
        return 1.5 * ax**3 - 2.5 * ax**2 + 1
    if ax <= 2:
        return -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2
    return 0.0


def _mirror(i: int, n: int) -> int:
    # 1-based index i mapped into 1..n by symmetric reflection with the edge repeated.
    m = (i - 1) % (2 * n)
    return m + 1 if m < n else 2 * n - m


def _ref_1d(v: list[float], out_len: int, scale: float, edge: str = "symmetric") -> list[float]:
    n = len(v)
    aa = scale < 1
    width = 4 / scale if aa else 4.0
    out = []
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = range(left, left + math.ceil(width) + 2)
        ws = [scale * _keys(scale * (u - j)) if aa else _keys(u - j) for j in taps]
        tot = sum(ws)
        acc = 0.0
        for j, w in zip(taps, ws, strict=True):
            k = _mirror(j, n) if edge == "symmetric" else min(max(j, 1), n)
            acc += w / tot * v[k - 1]
        out.append(acc)
    return out


def _ref_resize(
    img: np.ndarray, out_hw: tuple[int, int], scales: tuple[float, float], uint8: bool
) -> np.ndarray:
    cur = img.astype(np.float64)
    order = [0, 1] if scales[0] <= scales[1] else [1, 0]
    for d in order:
        cur = np.moveaxis(cur, d, 0)
        new = np.empty((out_hw[d], *cur.shape[1:]))
        for idx in np.ndindex(*cur.shape[1:]):
            col = [float(cur[(k, *idx)]) for k in range(cur.shape[0])]
            new[(slice(None), *idx)] = _ref_1d(col, out_hw[d], scales[d])
        cur = np.moveaxis(new, 0, d)
        if uint8:  # MATLAB's imresizemex returns the input class after each dimension
            cur = np.floor(np.clip(cur, 0, 255) + 0.5)
    return cur


# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [0.5, 0.25, 1 / 3, 0.7, 1.5, 2.0, 3.0, 2.7])
def test_matches_literal_definition_float(scale):
    rng = np.random.default_rng(1)
    img = rng.random((9, 11)) * 255
    out = imresize(img, scale=scale)
    exp_hw = (math.ceil(9 * scale), math.ceil(11 * scale))
    ref = _ref_resize(img, exp_hw, (scale, scale), uint8=False)
    assert out.shape == exp_hw
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("size", "shape"), [((5, 13), (10, 7)), ((20, 3), (10, 7)), (4, (9, 9))])
def test_matches_literal_definition_size_and_order(size, shape):
    # Different scales per dimension: the smaller scale is resized first (matters for uint8).
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    out = imresize(img, size=size)
    hw = (size, size) if isinstance(size, int) else size
    scales = (hw[0] / shape[0], hw[1] / shape[1])
    ref = _ref_resize(img, hw, scales, uint8=True)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, ref.astype(np.uint8))


def test_uint8_rounding_and_clipping():
    # A bright step next to black overshoots (negative lobes): the uint8 result must be the
    # saturated, rounded float result, never wrapped around.
    img = np.zeros((8, 8), np.uint8)
    img[:, 4:] = 255
    f = imresize(img.astype(np.float64), scale=2.0)
    u = imresize(img, scale=2.0)
    assert f.max() > 255 and f.min() < 0
    assert u.dtype == np.uint8
    np.testing.assert_array_equal(u, np.floor(np.clip(f, 0, 255) + 0.5).astype(np.uint8))
    # half-way values round away from zero (MATLAB), not to even
    half = imresize(np.array([[1, 2]], np.uint8), size=(1, 1))  # mean of 1 and 2 = 1.5
    assert half[0, 0] == 2


def test_shape_rules_ceil():
    img = np.zeros((7, 10, 3), np.uint8)
    assert imresize(img, scale=0.5).shape == (4, 5, 3)
    assert imresize(img, scale=1 / 3).shape == (3, 4, 3)
    assert imresize(img, scale=1.5).shape == (11, 15, 3)
    assert imresize(img, size=(3, 8)).shape == (3, 8, 3)
    assert imresize(img, size=6).shape == (6, 6, 3)
    assert imresize(img, scale=(0.5, 2)).shape == (4, 20, 3)


def test_identity_at_scale_one():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(imresize(img, scale=1), img)
    fimg = rng.random((6, 7))
    np.testing.assert_array_equal(imresize(fimg, size=(6, 7)), fimg)


def test_antialiasing_checkerboard():
    # A 1-px checkerboard has all its energy at Nyquist: antialiased shrinking gives ~0.5
    # everywhere (away from the borders); without antialiasing, at 1/3 the samples land on
    # pixel centres and the full 0/1 pattern survives (aliasing).
    cb = (np.indices((36, 36)).sum(axis=0) % 2).astype(np.float64)
    np.testing.assert_allclose(imresize(cb, scale=0.5)[2:-2, 2:-2], 0.5, atol=1e-9)
    aa = imresize(cb, scale=1 / 3)[2:-2, 2:-2]
    np.testing.assert_allclose(aa, 0.5, atol=1e-3)
    no_aa = imresize(cb, scale=1 / 3, antialias=False)[2:-2, 2:-2]
    assert np.ptp(no_aa) > 0.99


def test_constant_preserved_and_weights_normalised():
    img = np.full((13, 17), 77.0)
    for s in (0.3, 0.5, 1.7, 4):
        np.testing.assert_allclose(imresize(img, scale=s), 77.0, atol=1e-9)


def test_symmetric_edge_handling():
    # Upscaling a ramp: the first output pixel sits left of sample 1 (u = 0.75 for scale 2),
    # so it reads mirrored samples [.., x2, x1, x1, x2, ..]. Compare with explicit symmetric
    # padding followed by interior-only interpolation.
    v = np.array([[10.0, 20.0, 40.0, 80.0, 160.0]])
    out = imresize(v, size=(1, 10))
    padded = np.concatenate([v[:, 2::-1], v, v[:, :-4:-1]], axis=1)  # 3 mirrored each side
    # interior interpolation on the padded signal: output x sits at u + 3 in padded coords
    row = []
    for x in range(1, 11):
        u = x / 2 + 0.25 + 3
        left = math.floor(u - 2)
        row.append(sum(_keys(u - j) * padded[0, j - 1] for j in range(left, left + 6)))
    np.testing.assert_allclose(out[0], row, atol=1e-9)


def test_published_matlab_values():
    # Stack Overflow question 17380407 (2013) prints MATLAB's
    # imresize([0 0 1 1 0], [1, 10]) as
    # 0 -0.0234 -0.0703 0.2031 0.7969 1.0938 1.0938 0.7969 0.2031 -0.0703.
    # That release clamps out-of-range taps ("replicating end-points"); current MATLAB mirrors
    # them, which changes only the last pixel (reads x4 = 1 instead of x5 = 0 at distance 1.75).
    published = [0, -0.0234, -0.0703, 0.2031, 0.7969, 1.0938, 1.0938, 0.7969, 0.2031, -0.0703]
    m = np.array([[0, 0, 1, 1, 0]], dtype=np.float64)
    old = imresize(m, size=(1, 10), edge="replicate")
    np.testing.assert_allclose(old[0], published, atol=5e-5)
    new = imresize(m, size=(1, 10))
    np.testing.assert_allclose(new[0, :9], published[:9], atol=5e-5)
    assert new[0, 9] == pytest.approx(-0.0703125 - 0.0234375)
    # MATLAB imresize([0 1 2], [1 5], 'bilinear') = [0 0.4 1 1.6 2] (same source thread family:
    # stackoverflow.com/questions/42020435).
    lin = imresize(np.array([[0.0, 1.0, 2.0]]), size=(1, 5), method="bilinear")
    np.testing.assert_allclose(lin[0], [0, 0.4, 1, 1.6, 2], atol=1e-12)


def test_batches_and_clips_equal_per_frame():
    rng = np.random.default_rng(3)
    clip = rng.integers(0, 256, (3, 20, 24, 3), dtype=np.uint8)
    out = resize_clip(clip, 8)
    assert out.shape == (3, 8, 8, 3) and out.dtype == np.uint8
    for t in range(3):
        np.testing.assert_array_equal(out[t], imresize(clip[t], size=8))
    grey = clip[..., 0]
    og = resize_clip(grey, (10, 12))
    assert og.shape == (3, 10, 12)
    for t in range(3):
        np.testing.assert_array_equal(og[t], imresize(grey[t], size=(10, 12)))
    # (..., H, W) batches name their axes; 5-D works too
    np.testing.assert_array_equal(imresize(grey, size=(10, 12), axes=(-2, -1)), og)
    five = np.stack([clip, clip[::-1]])  # (2, T, H, W, 3)
    out5 = imresize(five, size=8, axes=(2, 3))
    np.testing.assert_array_equal(out5[0], out)
    np.testing.assert_array_equal(out5[1], out[::-1])
    # explicit axes on an (H, W, T) stack
    stack = np.moveaxis(grey, 0, -1)
    np.testing.assert_array_equal(
        np.moveaxis(imresize(stack, size=(10, 12), axes=(0, 1)), -1, 0), og
    )


def test_round_trip_upscale_is_close():
    # Down then up: smooth images come back close (sanity check of the coordinate map: a
    # half-pixel shift would leave a large error on a ramp).
    y, x = np.mgrid[0:64, 0:64]
    img = 100 + 50 * np.sin(x / 9.0) * np.cos(y / 11.0)
    back = imresize(imresize(img, scale=0.5), scale=2)
    assert np.abs(back - img)[4:-4, 4:-4].max() < 1.0


def test_errors():
    img = np.zeros((4, 4))
    with pytest.raises(SrmerError):
        imresize(img)
    with pytest.raises(SrmerError):
        imresize(img, scale=2, size=3)
    with pytest.raises(SrmerError):
        imresize(img, scale=-1)
    with pytest.raises(SrmerError):
        imresize(np.zeros((2, 2, 2, 2, 2)), scale=2)
    with pytest.raises(SrmerError):
        resize_clip(img, 2)
    with pytest.raises(SrmerError):
        imresize(img, scale=2, method="lanczos9")


def test_bicubic_degrade_is_resize_clip():
    from srmer.degrade import bicubic_degrade, get_degradation

    rng = np.random.default_rng(4)
    clip = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    lr = bicubic_degrade(clip, 8)
    np.testing.assert_array_equal(lr, resize_clip(clip, 8))
    np.testing.assert_array_equal(get_degradation("bicubic").degrade(clip, 8, seed=5), lr)


@pytest.mark.parametrize(("n", "out"), [(40, 20), (40, 10), (40, 15), (20, 40), (16, 64), (20, 30)])
def test_interior_matches_torch_antialiased_bicubic(n, out):
    # torch's interpolate(mode="bicubic", antialias=True) uses the same a = -0.5 kernel, pixel
    # centre mapping and stretched kernel when shrinking, but handles the borders differently:
    # away from the borders the two must agree to rounding error.
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    import torch.nn.functional as F

    rng = np.random.default_rng(5)
    x = rng.random((n, n)) * 255
    ours = imresize(x, size=out)
    ref = F.interpolate(
        torch.from_numpy(x)[None, None],
        size=(out, out),
        mode="bicubic",
        antialias=True,
        align_corners=False,
    )[0, 0].numpy()
    s = out / n
    support = 4.0 / s if s < 1 else 4.0
    u = np.arange(1, out + 1) / s + 0.5 * (1 - 1 / s)
    inner = np.flatnonzero((u - support / 2 >= 1) & (u + support / 2 <= n))
    assert inner.size > 0
    np.testing.assert_allclose(ours[np.ix_(inner, inner)], ref[np.ix_(inner, inner)], atol=1e-9)
    assert np.abs(ours - ref).max() > 1e-3  # the borders do differ
