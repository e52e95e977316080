"""LPQ / LPQ-TOP against a direct per-pixel implementation of the definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import convolve1d, gaussian_filter

from srmer.features import DescriptorInputError, lpq, lpq_top
from srmer.features.lpqtop import lpq_decorrelation

_ALMOST_UNIT = np.diag([1.000007, 1.000006, 1.000005, 1.000004, 1.000003, 1.000002, 1.000001, 1.0])


def _freqs(wr, wc):
    # lpq.m's filters in (row, col) frequency: w0 x w1, w1 x w0, w1 x w1, w1 x conj(w1)
    return [(0.0, 1 / wc), (1 / wr, 0.0), (1 / wr, 1 / wc), (1 / wr, -1 / wc)]


def _offsets(wr, wc):
    rr, rc = (wr - 1) // 2, (wc - 1) // 2
    return [(a, b) for a in range(-rr, rr + 1) for b in range(-rc, rc + 1)]


def ref_decorrelation(wr, wc, rho_r, rho_c, model):
    """V from the definition: C = model covariance of the window pixels, D = M C M^T, SVD."""
    offs = _offsets(wr, wc)
    rows = []
    for u in _freqs(wr, wc):
        coef = [np.exp(-2j * np.pi * (u[0] * a + u[1] * b)) for a, b in offs]  # weight of f(n - k)
        rows += [np.real(coef), np.imag(coef)]
    m = np.array(rows)
    n = len(offs)
    c = np.empty((n, n))
    for i, (a1, b1) in enumerate(offs):
        for j, (a2, b2) in enumerate(offs):
            if model == "euclid":
                c[i, j] = rho_r ** math.hypot(a1 - a2, b1 - b2)
            else:
                c[i, j] = rho_r ** abs(a1 - a2) * rho_c ** abs(b1 - b2)
    d = m @ c @ m.T
    _, _, vh = np.linalg.svd(_ALMOST_UNIT @ d @ _ALMOST_UNIT)
    v = vh.T
    for j in range(8):  # sign convention: largest-magnitude entry positive
        i = np.argmax(np.abs(v[:, j]))
        v[:, j] *= np.sign(v[i, j])
    return v


def ref_codes(img, wr, wc, v, strict, top=None):
    """LPQ code image ('valid') of one 2-D slice, pixel by pixel.

    The sign test is the documented one: a value within ``1e-10 * max|volume| * sum|kernel|`` of
    zero is zero (``top`` = max|volume|; the kernel of value j has coefficients ``(M^T V)[:, j]``).
    """
    img = np.asarray(img, dtype=np.float64)
    top = max(float(np.abs(img).max()) if top is None else top, 1.0)
    rr, rc = (wr - 1) // 2, (wc - 1) // 2
    offs = _offsets(wr, wc)
    basis = []
    for u in _freqs(wr, wc):
        coef = [np.exp(-2j * np.pi * (u[0] * a + u[1] * b)) for a, b in offs]
        basis += [np.real(coef), np.imag(coef)]
    kern = np.array(basis).T if v is None else np.array(basis).T @ v  # (pixels, 8)
    tol = 1e-10 * top * np.abs(kern).sum(axis=0)
    out = np.zeros((img.shape[0] - 2 * rr, img.shape[1] - 2 * rc), int)
    for y in range(rr, img.shape[0] - rr):
        for x in range(rc, img.shape[1] - rc):
            f = []
            for u in _freqs(wr, wc):
                val = sum(
                    img[y - a, x - b] * np.exp(-2j * np.pi * (u[0] * a + u[1] * b)) for a, b in offs
                )
                f += [val.real, val.imag]
            g = np.array(f) if v is None else np.array(f) @ v
            bits = g > tol if strict else g >= -tol
            out[y - rr, x - rc] = int(sum(int(bit) << j for j, bit in enumerate(bits)))
    return out


def ref_lpq_top(vol, window, rho, decorrelate, blocks, mode):
    wx, wy, wt = window
    rx, ry = (wx - 1) // 2, (wy - 1) // 2
    t_len, h, w = vol.shape
    strict = mode == "lpq_m"
    tmodel = "euclid" if strict else "separable"
    top = float(np.abs(vol).max())
    row_of = np.empty(h, int)
    for i, part in enumerate(np.array_split(np.arange(h), blocks[0])):
        row_of[part] = i
    col_of = np.empty(w, int)
    for j, part in enumerate(np.array_split(np.arange(w), blocks[1])):
        col_of[part] = j
    nb = blocks[0] * blocks[1]
    hist = np.zeros((nb, 3, 256))

    def v_of(wr, wc, rr_, rc_, model):
        return ref_decorrelation(wr, wc, rr_, rc_, model) if decorrelate else None

    v_xy = v_of(wy, wx, rho[0], rho[0], "euclid")
    for t in range(t_len):  # XY: every frame, rows y, cols x
        codes = ref_codes(vol[t], wy, wx, v_xy, strict, top)
        for (i, j), c in np.ndenumerate(codes):
            hist[row_of[i + ry] * blocks[1] + col_of[j + rx], 0, c] += 1
    rho_xt = (rho[1], rho[1]) if strict else (rho[0], rho[1])
    v_t = v_of(wx, wt, *rho_xt, tmodel)
    for y in range(h):  # XT: one slice per row y, rows x, cols t
        codes = ref_codes(vol[:, y, :].T, wx, wt, v_t, strict, top)
        for (i, _), c in np.ndenumerate(codes):
            hist[row_of[y] * blocks[1] + col_of[i + rx], 1, c] += 1
    v_t = v_of(wy, wt, *rho_xt, tmodel)
    for x in range(w):  # YT: one slice per column x, rows y, cols t
        codes = ref_codes(vol[:, :, x].T, wy, wt, v_t, strict, top)
        for (i, _), c in np.ndenumerate(codes):
            hist[row_of[i + ry] * blocks[1] + col_of[x], 2, c] += 1
    s = hist.sum(axis=2, keepdims=True)
    return np.divide(hist, s, out=np.zeros_like(hist), where=s > 0).ravel()


def _vol(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "rho", "model"),
    [
        ((5, 5), (0.9, 0.9), "euclid"),
        ((5, 3), (0.1, 0.1), "euclid"),
        ((3, 5), (0.1, 0.3), "separable"),
    ],
)
def test_decorrelation_matches_definition(window, rho, model):
    got = lpq_decorrelation(window, rho, model)
    want = ref_decorrelation(*window, *rho, model)
    # 1e-8: near-equal singular values make the SVD's vectors differ by ~1e-9 between LAPACK builds
    np.testing.assert_allclose(got, want, atol=1e-8)
    np.testing.assert_allclose(got.T @ got, np.eye(8), atol=1e-10)  # a rotation


def test_decorrelation_whitens_the_model_covariance():
    # under the model, the decorrelated values are uncorrelated: V^T (A D A) V is diagonal
    v = ref_decorrelation(5, 5, 0.9, 0.9, "euclid")
    got = lpq_decorrelation(5, 0.9)
    offs = _offsets(5, 5)
    rows = []
    for u in _freqs(5, 5):
        coef = [np.exp(-2j * np.pi * (u[0] * a + u[1] * b)) for a, b in offs]
        rows += [np.real(coef), np.imag(coef)]
    m = np.array(rows)
    c = np.array([[0.9 ** math.hypot(a1 - a2, b1 - b2) for a2, b2 in offs] for a1, b1 in offs])
    cov = got.T @ (_ALMOST_UNIT @ m @ c @ m.T @ _ALMOST_UNIT) @ got
    off_diag = cov - np.diag(np.diag(cov))
    assert np.abs(off_diag).max() < 1e-9 * np.abs(np.diag(cov)).max()
    np.testing.assert_allclose(got, v, atol=1e-8)  # see test_decorrelation_matches_definition
    # the two models differ for the temporal planes
    assert not np.allclose(lpq_decorrelation(5, 0.3, "separable"), lpq_decorrelation(5, 0.3))


@pytest.mark.parametrize(
    ("window", "rho", "decorrelate", "blocks", "mode"),
    [
        ((5, 3, 3), (0.1, 0.1), True, (1, 1), "lpqtop"),  # anisotropic window catches axis swaps
        ((3, 5, 3), (0.2, 0.4), True, (2, 2), "lpqtop"),
        ((3, 3, 5), (0.9, 0.9), True, (1, 2), "lpq_m"),
        ((3, 3, 3), (0.1, 0.1), False, (2, 1), "lpqtop"),
    ],
)
def test_lpq_top_matches_direct_implementation(window, rho, decorrelate, blocks, mode):
    vol = _vol((6, 8, 9), seed=sum(window))
    got = lpq_top(vol, window=window, rho=rho, decorrelate=decorrelate, blocks=blocks, mode=mode)
    want = ref_lpq_top(vol, window, rho, decorrelate, blocks, mode)
    assert got.dtype == np.float32 and got.shape == (blocks[0] * blocks[1] * 768,)
    np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("kind", ["flat_half", "ramp", "few_levels"])
def test_near_zero_values_match_direct_implementation(kind):
    # flat and linear patches give values that are exactly zero in exact arithmetic: they take the
    # float64 recomputation paths (whole chunk or single windows) and the exact-zero rule
    vol = _vol((6, 10, 11), seed=5).astype(np.float64)
    t, y, x = np.meshgrid(np.arange(6), np.arange(10), np.arange(11), indexing="ij")
    if kind == "flat_half":
        vol[:, :6, :] = 77
    elif kind == "ramp":
        vol = 3.0 * x + 2.0 * y + t
        vol[:, 7:, 8:] += _vol((6, 3, 3), seed=6)
    else:
        vol = np.round(vol / 128)
    for mode, decorrelate in (("lpqtop", True), ("lpq_m", False)):
        got = lpq_top(vol, window=(3, 3, 3), decorrelate=decorrelate, mode=mode)
        want = ref_lpq_top(
            vol,
            (3, 3, 3),
            (0.1, 0.1) if mode == "lpqtop" else (0.9, 0.9),
            decorrelate,
            (1, 1),
            mode,
        )
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_lpq_image_matches_direct_implementation():
    img = _vol((1, 12, 13), seed=4)[0]
    v = ref_decorrelation(7, 7, 0.9, 0.9, "euclid")
    codes = ref_codes(img, 7, 7, v, strict=True)
    want = np.bincount(codes.ravel(), minlength=256) / codes.size
    np.testing.assert_allclose(lpq(img, window=7), want, atol=1e-7)


def test_default_sizes_and_normalisation():
    vol = _vol((8, 24, 24))
    f = lpq_top(vol)
    assert f.shape == (768,)
    np.testing.assert_allclose(f.reshape(3, 256).sum(axis=1), 1.0, atol=1e-6)
    g = lpq_top(vol, blocks=(2, 3)).reshape(6, 3, 256)
    np.testing.assert_allclose(g.sum(axis=2), 1.0, atol=1e-6)


def test_linear_grey_change_leaves_codes_unchanged():
    vol = _vol((7, 20, 20), seed=2)
    base = lpq_top(vol)
    np.testing.assert_allclose(base, lpq_top(vol * 0.5 + 20.0), atol=2e-3)


def _texture(seed=0, shape=(9, 64, 64)):
    rng = np.random.default_rng(seed)
    vol = gaussian_filter(rng.normal(0, 1, shape), sigma=(1.0, 1.5, 1.5))
    return vol / vol.std() * 40 + 128


@pytest.mark.parametrize(
    ("window", "mode", "decorrelate"),
    [((7, 7, 5), "lpq_m", True), ((5, 5, 5), "lpqtop", False), ((7, 7, 5), "lpq_m", False)],
)
def test_insensitive_to_centrally_symmetric_blur(window, mode, decorrelate):
    vol = _texture()
    # a centrally symmetric PSF (Gaussian, positive spectrum at a = 1/M) applied to every frame
    sym = gaussian_filter(vol, sigma=(0, 0.7, 0.7))
    # a change of similar extent that is not centrally symmetric: a ghost 0.6 d(0) + 0.4 d(3)
    k = np.array([0, 0, 0, 0.6, 0, 0, 0.4])
    asym = convolve1d(convolve1d(vol, k, axis=2), k, axis=1)

    def f(v):
        return lpq_top(v, window=window, mode=mode, decorrelate=decorrelate)

    base = f(vol)
    d_sym = np.abs(base - f(sym)).sum()
    d_asym = np.abs(base - f(asym)).sum()
    assert d_sym < 0.5 * d_asym


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"window": (4, 5, 5)}, "window"),
        ({"window": 1}, "window"),
        ({"rho": 1.5}, "rho"),
        ({"mode": "vlpq"}, "mode"),
        ({"blocks": 0}, "blocks"),
        ({"window": (5, 5, 9)}, "smaller than the window"),
    ],
)
def test_bad_parameters(kwargs, word):
    with pytest.raises(DescriptorInputError, match=word):
        lpq_top(_vol((8, 12, 12)), **kwargs)
