"""HOG-TOP, HIGO-TOP and 3DHOG against loop-based references of their documented definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from srmer.features import DescriptorInputError, higo_top, hog3d, hog_top


def _block_of(n, parts):
    of = np.empty(n, int)
    for i, part in enumerate(np.array_split(np.arange(n), parts)):
        of[part] = i
    return of


def _norm(h):
    s = h.sum(axis=-1, keepdims=True)
    return np.divide(h, s, out=np.zeros_like(h), where=s > 0)


def ref_plane_hists(vol, bins, blocks, signed, weighted):
    vol = np.asarray(vol, dtype=np.float64)
    t_len, h, w = vol.shape
    rows, cols = _block_of(h, blocks[0]), _block_of(w, blocks[1])
    hist = np.zeros((blocks[0] * blocks[1], 3, bins))
    period = 2 * math.pi if signed else math.pi
    for t in range(1, t_len - 1):
        for y in range(1, h - 1):
            for x in range(1, w - 1):
                gx = vol[t, y, x + 1] - vol[t, y, x - 1]
                gy = vol[t, y + 1, x] - vol[t, y - 1, x]
                gt = vol[t + 1, y, x] - vol[t - 1, y, x]
                blk = rows[y] * blocks[1] + cols[x]
                for k, (a, b) in enumerate(((gx, gy), (gx, gt), (gy, gt))):
                    mag = math.hypot(a, b)
                    if mag == 0:
                        continue
                    ang = math.atan2(b, a) % period
                    # a boundary orientation belongs to the sector starting there
                    sector = math.floor(ang / (period / bins) + 1e-6) % bins
                    hist[blk, k, sector] += mag if weighted else 1
    return _norm(hist).ravel()


def ref_hog3d(vol, blocks, t_div, n_az, n_el):
    vol = np.asarray(vol, dtype=np.float64)
    t_len, h, w = vol.shape
    rows, cols = _block_of(h, blocks[0]), _block_of(w, blocks[1])
    tdiv = _block_of(t_len - 2, t_div)
    nb = blocks[0] * blocks[1]
    hist = np.zeros((t_div * nb, n_el * n_az))
    for t in range(1, t_len - 1):
        for y in range(1, h - 1):
            for x in range(1, w - 1):
                gx = vol[t, y, x + 1] - vol[t, y, x - 1]
                gy = vol[t, y + 1, x] - vol[t, y - 1, x]
                gt = vol[t + 1, y, x] - vol[t - 1, y, x]
                mag = math.sqrt(gx * gx + gy * gy + gt * gt)
                if mag == 0:
                    continue
                az = math.atan2(gy, gx) % (2 * math.pi)
                az = math.floor(az / (2 * math.pi / n_az) + 1e-6) % n_az
                el = math.atan2(gt, math.hypot(gx, gy))  # [-pi/2, pi/2]
                el = min(math.floor((el + math.pi / 2) / (math.pi / n_el) + 1e-6), n_el - 1)
                cell = tdiv[t - 1] * nb + rows[y] * blocks[1] + cols[x]
                hist[cell, el * n_az + az] += mag
    return _norm(hist).ravel()


def _vol(shape, seed=0, levels=256):
    return np.random.default_rng(seed).integers(0, levels, shape, dtype=np.uint8)


@pytest.mark.parametrize(
    ("shape", "bins", "blocks", "signed"),
    [((5, 9, 10), 8, (2, 3), False), ((4, 11, 8), 6, (3, 2), True), ((3, 7, 7), 9, (1, 1), False)],
)
@pytest.mark.parametrize(("fn", "weighted"), [(hog_top, True), (higo_top, False)])
def test_plane_descriptors_match_reference(fn, weighted, shape, bins, blocks, signed):
    vol = _vol(shape, seed=bins, levels=6)  # few levels: zero gradients occur
    got = fn(vol, bins=bins, blocks=blocks, signed=signed)
    want = ref_plane_hists(vol, bins, blocks, signed, weighted)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize(
    ("shape", "blocks", "t_div", "n_az", "n_el"),
    [((5, 9, 10), (2, 3), 1, 8, 4), ((8, 8, 9), (2, 2), 3, 6, 3)],
)
def test_hog3d_matches_reference(shape, blocks, t_div, n_az, n_el):
    vol = _vol(shape, seed=t_div, levels=7)
    got = hog3d(vol, blocks=blocks, t_divisions=t_div, azimuth_bins=n_az, elevation_bins=n_el)
    want = ref_hog3d(vol, blocks, t_div, n_az, n_el)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_sizes_and_normalisation():
    vol = _vol((10, 32, 32))
    for f, n in ((hog_top(vol), 600), (higo_top(vol), 600), (hog3d(vol), 800)):
        assert f.shape == (n,)
    np.testing.assert_allclose(hog_top(vol).reshape(25, 3, 8).sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(hog3d(vol).reshape(25, 32).sum(-1), 1.0, atol=1e-5)


def test_orientation_conventions():
    t, _, x = np.meshgrid(np.arange(5), np.arange(8), np.arange(8), indexing="ij")
    ramp_x = (10 * x).astype(np.float64)  # gradient +x: XY and XT angle 0 -> bin 0; YT no vote
    h = hog_top(ramp_x, blocks=1).reshape(3, 8)
    np.testing.assert_array_equal(h[0], np.eye(8)[0])
    np.testing.assert_array_equal(h[1], np.eye(8)[0])
    np.testing.assert_array_equal(h[2], 0)
    brighten = (20 * t).astype(np.float64)  # temporal change only: XT/YT angle pi/2 -> bin 4
    h = higo_top(brighten, blocks=1).reshape(3, 8)
    np.testing.assert_array_equal(h[0], 0)
    np.testing.assert_array_equal(h[1], np.eye(8)[4])
    np.testing.assert_array_equal(h[2], np.eye(8)[4])
    # 3DHOG: pure +t gradient has elevation +pi/2 -> last elevation bin, azimuth 0
    h3 = hog3d(brighten, blocks=1).reshape(4, 8)
    assert h3[3, 0] == 1.0 and h3.sum() == 1.0


def test_contrast_and_offset_invariance():
    vol = _vol((6, 20, 20), seed=3)
    for fn in (hog_top, higo_top, hog3d):
        base = fn(vol)
        np.testing.assert_allclose(fn(vol.astype(np.float64) * 2.5 + 7), base, atol=1e-5)


def test_errors():
    with pytest.raises(DescriptorInputError, match="3 frames"):
        hog_top(_vol((2, 10, 10)))
    with pytest.raises(DescriptorInputError, match="t_divisions"):
        hog3d(_vol((4, 10, 10)), t_divisions=3)
    with pytest.raises(DescriptorInputError, match="bins"):
        higo_top(_vol((4, 10, 10)), bins=0)
