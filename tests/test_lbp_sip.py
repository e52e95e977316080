"""LBP-SIP against a loop-based reference of Zhao's LBPTOP.m behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from srmer.features import DescriptorInputError, lbp_sip, lbp_top


def ref_lbp_sip(vol, r, rt, blocks):
    vol = np.asarray(vol, dtype=np.float64)
    t_len, h, w = vol.shape
    row_of = np.empty(h, int)
    for i, part in enumerate(np.array_split(np.arange(h), blocks[0])):
        row_of[part] = i
    col_of = np.empty(w, int)
    for j, part in enumerate(np.array_split(np.arange(w), blocks[1])):
        col_of[part] = j
    spatial = np.zeros((blocks[0] * blocks[1], 16))
    temporal = np.zeros((blocks[0] * blocks[1], 4))
    for t in range(rt, t_len - rt):
        for y in range(r, h - r):
            for x in range(r, w - r):
                c = vol[t, y, x]
                blk = row_of[y] * blocks[1] + col_of[x]
                s = (
                    (vol[t, y, x + r] >= c) * 1
                    + (vol[t, y - r, x] >= c) * 2
                    + (vol[t, y, x - r] >= c) * 4
                    + (vol[t, y + r, x] >= c) * 8
                )
                tc = (vol[t - rt, y, x] >= c) * 1 + (vol[t + rt, y, x] >= c) * 2
                spatial[blk, s] += 1
                temporal[blk, tc] += 1
    out = []
    for sp, tp in zip(spatial, temporal, strict=True):
        out += [sp / sp.sum() if sp.sum() else sp, tp / tp.sum() if tp.sum() else tp]
    return np.concatenate(out)


def _vol(shape, seed=0, levels=256):
    return np.random.default_rng(seed).integers(0, levels, shape, dtype=np.uint8)


@pytest.mark.parametrize(
    ("shape", "r", "rt", "blocks"),
    [((5, 12, 13), 1, 1, (2, 3)), ((9, 15, 14), 3, 2, (3, 2)), ((4, 9, 9), 2, 1, (5, 4))],
)
def test_matches_loop_reference(shape, r, rt, blocks):
    vol = _vol(shape, seed=r + rt, levels=12)  # ties exercise >=
    got = lbp_sip(vol, radius=r, rt=rt, blocks=blocks)
    assert got.dtype == np.float32 and got.shape == (blocks[0] * blocks[1] * 20,)
    np.testing.assert_allclose(got, ref_lbp_sip(vol, r, rt, blocks), atol=1e-6)


def test_several_radii_concatenate_in_order():
    vol = _vol((5, 16, 16), seed=1)
    got = lbp_sip(vol, radius=(1, 3), blocks=(2, 2))
    want = np.concatenate([ref_lbp_sip(vol, 1, 1, (2, 2)), ref_lbp_sip(vol, 3, 1, (2, 2))])
    np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize(
    ("where", "spatial", "temporal"),
    [
        ((1, 1, 2), 1, 0),  # x + R: spatial bit 0
        ((1, 0, 1), 2, 0),  # y - R: spatial bit 1
        ((1, 1, 0), 4, 0),  # x - R: spatial bit 2
        ((1, 2, 1), 8, 0),  # y + R: spatial bit 3
        ((0, 1, 1), 0, 1),  # t - Rt: temporal bit 0
        ((2, 1, 1), 0, 2),  # t + Rt: temporal bit 1
    ],
)
def test_bit_order(where, spatial, temporal):
    vol = np.zeros((3, 3, 3), np.uint8)
    vol[1, 1, 1] = 50
    vol[where] = 90
    got = lbp_sip(vol, radius=1, rt=1, blocks=1)
    np.testing.assert_array_equal(np.flatnonzero(got[:16]), [spatial])
    np.testing.assert_array_equal(np.flatnonzero(got[16:]), [temporal])


def test_spatial_part_equals_lbp_top_xy():
    vol = _vol((7, 20, 18), seed=4)
    sip = lbp_sip(vol, radius=2, rt=1, blocks=(2, 2)).reshape(4, 20)
    top = lbp_top(vol, radii=(2, 2, 1), points=4, blocks=(2, 2)).reshape(4, 3, 16)
    np.testing.assert_allclose(sip[:, :16], top[:, 0], atol=1e-7)


def test_normalisation_and_empty_blocks():
    vol = _vol((3, 5, 5), seed=2)
    got = lbp_sip(vol, radius=1, blocks=(5, 5)).reshape(5, 5, 20)
    sums = np.stack([got[..., :16].sum(-1), got[..., 16:].sum(-1)], axis=-1)
    inner = np.zeros((5, 5), bool)
    inner[1:4, 1:4] = True
    np.testing.assert_allclose(sums[inner], 1.0, atol=1e-6)
    np.testing.assert_array_equal(sums[~inner], 0.0)


def test_monotonic_grey_change_leaves_descriptor_unchanged():
    vol = _vol((6, 17, 15), seed=9)
    base = lbp_sip(vol, radius=(1, 3))
    np.testing.assert_array_equal(base, lbp_sip(np.exp(vol / 40.0), radius=(1, 3)))
    assert not np.allclose(base, lbp_sip(255 - vol, radius=(1, 3)))


def test_errors_name_the_parameter():
    with pytest.raises(DescriptorInputError, match="rt=2"):
        lbp_sip(_vol((4, 10, 10)), rt=2)
    with pytest.raises(DescriptorInputError, match="radius"):
        lbp_sip(_vol((4, 10, 10)), radius=5)
    with pytest.raises(DescriptorInputError, match="radius"):
        lbp_sip(_vol((4, 10, 10)), radius=0)
