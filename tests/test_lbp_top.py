"""LBP-TOP against a slow loop-based reference of Zhao's LBPTOP.m behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.feature import local_binary_pattern

from srmer.errors import SrmerError
from srmer.features import DescriptorInputError, lbp_top, mapping_table

# --------------------------------------------------------------------------------------------------
# slow reference, written from the contract text only


def _snap(v):
    r = round(v)
    return float(r) if abs(v - r) < 1e-6 else v


def _sample(get, r, c):
    """Grey level at in-plane position (r, c); ``get(i, j)`` reads whole positions."""
    r, c = _snap(r), _snap(c)
    if float(r).is_integer() and float(c).is_integer():
        return float(get(int(r), int(c)))
    fr, fc = math.floor(r), math.floor(c)
    tr, tc = r - fr, c - fc
    val = 0.0
    for w, i, j in (
        ((1 - tr) * (1 - tc), fr, fc),
        ((1 - tr) * tc, fr, fc + 1),
        (tr * (1 - tc), fr + 1, fc),
        (tr * tc, fr + 1, fc + 1),
    ):
        if w != 0:
            val += w * float(get(i, j))
    return math.floor(val + 1e-9)


def _u2_table(p):
    codes = range(2**p)

    def transitions(c):
        bits = [(c >> i) & 1 for i in range(p)]
        return sum(bits[i] != bits[(i + 1) % p] for i in range(p))

    uniform = [c for c in codes if transitions(c) <= 2]
    n = p * (p - 1) + 3
    table = {c: n - 1 for c in codes}
    for k, c in enumerate(sorted(uniform)):
        table[c] = k
    return table, n


def ref_lbp_top(vol, radii, points, blocks, mapping="basic"):
    vol = np.asarray(vol, dtype=np.float64)
    t_len, h, w = vol.shape
    rx, ry, rt = radii
    b = max(rx, ry)
    row_of = np.empty(h, int)
    for i, part in enumerate(np.array_split(np.arange(h), blocks[0])):
        row_of[part] = i
    col_of = np.empty(w, int)
    for j, part in enumerate(np.array_split(np.arange(w), blocks[1])):
        col_of[part] = j
    tables = []
    for p in points:
        if mapping == "basic":
            tables.append(({c: c for c in range(2**p)}, 2**p))
        else:
            tables.append(_u2_table(p))
    hists = [[np.zeros(tables[k][1]) for k in range(3)] for _ in range(blocks[0] * blocks[1])]
    for t in range(rt, t_len - rt):
        for y in range(b, h - b):
            for x in range(b, w - b):
                c = vol[t, y, x]
                blk = row_of[y] * blocks[1] + col_of[x]
                for k, p_count in enumerate(points):
                    code = 0
                    for p in range(p_count):
                        a = 2 * math.pi * p / p_count
                        if k == 0:  # XY: rows y, cols x
                            g = _sample(
                                lambda i, j, t=t: vol[t, i, j],
                                y - ry * math.sin(a),
                                x + rx * math.cos(a),
                            )
                        elif k == 1:  # XT: rows t, cols x
                            g = _sample(
                                lambda i, j, y=y: vol[i, y, j],
                                t + rt * math.sin(a),
                                x + rx * math.cos(a),
                            )
                        else:  # YT: rows t, cols y
                            g = _sample(
                                lambda i, j, x=x: vol[i, j, x],
                                t + rt * math.cos(a),
                                y - ry * math.sin(a),
                            )
                        code += (g >= c) << p
                    table, _ = tables[k]
                    hists[blk][k][table[code]] += 1
    out = []
    for blk in hists:
        for hh in blk:
            s = hh.sum()
            out.append(hh / s if s > 0 else hh)
    return np.concatenate(out)


# --------------------------------------------------------------------------------------------------


def _vol(shape, seed=0, levels=256):
    rng = np.random.default_rng(seed)
    return rng.integers(0, levels, shape, dtype=np.uint8)


@pytest.mark.parametrize(
    ("shape", "radii", "points", "blocks", "mapping"),
    [
        ((9, 17, 19), (1, 1, 4), (4, 4, 4), (3, 2), "basic"),  # Zhou et al.'s setting (joint path)
        ((7, 13, 12), (2, 1, 2), (4, 4, 4), (2, 3), "u2"),
        ((5, 12, 11), (1, 1, 1), (8, 8, 8), (2, 2), "basic"),  # diagonals interpolated
        ((5, 12, 11), (1, 1, 1), (8, 8, 8), (2, 2), "u2"),
        ((7, 11, 12), (2, 1, 2), (8, 8, 8), (1, 2), "u2"),  # Rt = 2, anisotropic
        ((7, 12, 12), (2, 2, 3), (3, 3, 3), (2, 2), "basic"),  # interpolated joint code (8 bits)
        ((5, 11, 11), (1, 2, 1), (8, 4, 6), (3, 1), "basic"),  # mixed P per plane
    ],
)
def test_matches_loop_reference(shape, radii, points, blocks, mapping):
    vol = _vol(shape, seed=sum(shape), levels=16)  # few levels: many ties exercise >=
    got = lbp_top(vol, radii=radii, points=points, blocks=blocks, mapping=mapping)
    want = ref_lbp_top(vol, radii, points, blocks, mapping)
    assert got.dtype == np.float32
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_float_volume_with_interpolation_matches_reference():
    rng = np.random.default_rng(3)
    vol = rng.uniform(0, 255, (5, 10, 11))
    got = lbp_top(vol, radii=(1, 1, 1), points=(8, 8, 8), blocks=(2, 1))
    want = ref_lbp_top(vol, (1, 1, 1), (8, 8, 8), (2, 1))
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_interpolated_whole_values_are_not_floored_down():
    # a linear ramp: interpolated values are whole numbers up to float rounding (e.g. 22.99999...),
    # which floor(v + 1e-9) must keep; with the neighbour equal to the centre the bit is 1
    t, y, x = np.meshgrid(np.arange(5), np.arange(9), np.arange(9), indexing="ij")
    vol = (7 * x + 3 * y + 0 * t).astype(np.float64)
    got = lbp_top(vol, radii=(1, 1, 1), points=8, blocks=1)
    want = ref_lbp_top(vol, (1, 1, 1), (8, 8, 8), (1, 1))
    np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("radius", [1, 2])
def test_xy_codes_equal_skimage(radius):
    vol = _vol((2 * 1 + 1, 15, 16), seed=radius)
    got = lbp_top(vol, radii=(radius, radius, 1), points=4, blocks=1)
    codes = local_binary_pattern(vol[1], 4, radius).astype(int)
    r = radius
    hist = np.bincount(codes[r:-r, r:-r].ravel(), minlength=16)
    np.testing.assert_allclose(got[:16], hist / hist.sum(), atol=1e-7)


@pytest.mark.parametrize(
    ("where", "xy", "xt", "yt"),
    [
        # neighbour raised above the centre (others below): which bit of which plane it sets
        ((1, 1, 2), 1, 1, None),  # x + 1: XY bit 0, XT bit 0
        ((1, 0, 1), 2, None, 2),  # y - 1: XY bit 1, YT bit 1
        ((1, 1, 0), 4, 4, None),  # x - 1: XY bit 2, XT bit 2
        ((1, 2, 1), 8, None, 8),  # y + 1: XY bit 3, YT bit 3
        ((2, 1, 1), None, 2, 1),  # t + 1: XT bit 1 (sin 90), YT bit 0 (cos 0)
        ((0, 1, 1), None, 8, 4),  # t - 1: XT bit 3, YT bit 2
    ],
)
def test_bit_order_per_plane(where, xy, xt, yt):
    vol = np.zeros((3, 3, 3), dtype=np.uint8)
    vol[1, 1, 1] = 100
    vol[where] = 200
    h = lbp_top(vol, radii=1, points=4, blocks=1).reshape(3, 16)
    for plane, code in enumerate((xy, xt, yt)):
        expected = np.zeros(16)
        expected[code or 0] = 1
        np.testing.assert_array_equal(h[plane], expected)


def test_centre_range_and_block_assignment():
    # one block per row/column of a 5x6x7 clip with R = 1: border blocks hold no centre (zeros),
    # and each inner block exactly one column of T - 2*Rt centres
    vol = _vol((5, 6, 7), seed=11)
    got = lbp_top(vol, radii=(1, 1, 1), points=4, blocks=(6, 7)).reshape(6, 7, 3, 16)
    for i in range(6):
        for j in range(7):
            inner = 1 <= i <= 4 and 1 <= j <= 5
            sums = got[i, j].sum(axis=1)
            np.testing.assert_allclose(sums, 1.0 if inner else 0.0, atol=1e-6)
            if inner:
                # counts are multiples of 1/3 (three centre frames t = 1, 2, 3)
                np.testing.assert_allclose(got[i, j] * 3, np.round(got[i, j] * 3), atol=1e-5)
    np.testing.assert_allclose(
        got, ref_lbp_top(vol, (1, 1, 1), (4, 4, 4), (6, 7)).reshape(got.shape), atol=1e-6
    )


def test_blocks_follow_array_split():
    # 11 rows in 3 blocks: array_split gives 4, 4, 3 rows -> centre rows 1-3 | 4-7 | 8-9 (R = 1)
    vol = _vol((3, 11, 5), seed=5)
    got = lbp_top(vol, radii=1, points=4, blocks=(3, 1)).reshape(3, 3, 16)
    for blk, rows in enumerate([(1, 4), (4, 8), (8, 10)]):
        codes = local_binary_pattern(vol[1], 4, 1).astype(int)[rows[0] : rows[1], 1:4]
        hist = np.bincount(codes.ravel(), minlength=16)
        np.testing.assert_allclose(got[blk, 0], hist / hist.sum(), atol=1e-7)


@pytest.mark.parametrize(("points", "nbins"), [(4, 15), (8, 59), (6, 33), (3, 9)])
def test_u2_bins(points, nbins):
    table, n = mapping_table(points, "u2")
    assert n == nbins == points * (points - 1) + 3
    ref, n_ref = _u2_table(points)
    assert n_ref == n
    assert [ref[c] for c in range(2**points)] == table.tolist()
    vol = _vol((3, 9, 9))
    assert lbp_top(vol, radii=1, points=points, blocks=(2, 2), mapping="u2").size == 4 * 3 * nbins


def test_sizes_and_normalisation():
    vol = _vol((16, 32, 32))
    f = lbp_top(vol)
    assert f.shape == (1200,)
    np.testing.assert_allclose(f.reshape(25, 3, 16).sum(axis=2), 1.0, atol=1e-5)
    assert (f >= 0).all()


def test_monotonic_grey_change_leaves_descriptor_unchanged():
    vol = _vol((9, 20, 21), seed=7)
    base = lbp_top(vol)
    changed_f = lbp_top(np.sqrt(vol.astype(np.float64)) * 3.0 + 5.0)  # strictly increasing
    changed_u16 = lbp_top((vol.astype(np.uint16) ** 2 + 100).astype(np.uint16))  # < 65536
    np.testing.assert_array_equal(base, changed_f)
    np.testing.assert_array_equal(base, changed_u16)
    # a decreasing map is a real change: the descriptor must notice
    assert not np.allclose(base, lbp_top(255 - vol))


def test_too_few_frames_is_a_clear_error():
    vol = _vol((8, 10, 10))
    with pytest.raises(DescriptorInputError, match=r"Rt=4") as info:
        lbp_top(vol, radii=(1, 1, 4))
    assert isinstance(info.value, SrmerError)
    assert isinstance(info.value, ValueError)
    assert lbp_top(_vol((9, 10, 10)), radii=(1, 1, 4)).size == 1200


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"radii": (1, 0, 1)}, "radii"),
        ({"radii": (1.5, 1, 1)}, "radii"),
        ({"points": (4, 4, 17)}, "points"),
        ({"blocks": (0, 5)}, "blocks"),
        ({"mapping": "riu2"}, "mapping"),
    ],
)
def test_bad_parameters_name_themselves(kwargs, word):
    with pytest.raises(DescriptorInputError, match=word):
        lbp_top(_vol((9, 10, 10)), **kwargs)


def test_bad_volume_shape():
    with pytest.raises(DescriptorInputError, match="to_grey"):
        lbp_top(np.zeros((9, 10, 10, 3), np.uint8))
