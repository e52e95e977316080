"""MDMO feature (Liu et al. 2016), its landmark-free regions, HTNet's regions and the MER method."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from srmer.errors import ClipError, ConfigError
from srmer.features import DescriptorInputError, htnet_regions, mdmo, mdmo_regions
from srmer.features.mdmo import mdmo_frame_features
from srmer.features.regions import HTNET_REGION_TABLE, MDMO_ROI_TABLE, region_names
from srmer.mer import MER_METHODS, create
from srmer.video.io import to_grey

TWO_PI = 2 * np.pi


def _texture(size: int, seed: int, pad: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = cv2.GaussianBlur(rng.random((size + 2 * pad,) * 2).astype(np.float32) * 255, (0, 0), 1.5)
    return cv2.normalize(a, None, 30, 200, cv2.NORM_MINMAX)  # grey levels 30..200: no clipping


def _translating(size=64, frames=8, dx=1.5, dy=0.0, seed=0, pad=16) -> np.ndarray:
    """A textured face-sized image moving by ``(dx, dy) * t / (T-1)`` px; cut from a larger image
    so no new content enters at the borders."""
    big = _texture(size, seed, pad)
    out = []
    for t in range(frames):
        s = t / (frames - 1)
        m = np.float32([[1, 0, dx * s], [0, 1, dy * s]])
        w = cv2.warpAffine(big, m, big.shape[::-1], flags=cv2.INTER_LINEAR)
        out.append(w[pad : pad + size, pad : pad + size])
    return np.clip(np.rint(np.stack(out)), 0, 255).astype(np.uint8)


def _angle_error(theta: np.ndarray, want: float) -> np.ndarray:
    return np.abs((theta - want + np.pi) % TWO_PI - np.pi)


# --- regions -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [16, 28, 48, 64, 256, 231])
def test_mdmo_regions_36_boxes_inside_and_mirror_symmetric(size):
    boxes = mdmo_regions(size)
    assert len(boxes) == 36 == len(region_names("mdmo"))
    b = np.array(boxes)
    assert b.dtype.kind == "i"
    y0, y1, x0, x1 = b.T
    assert (y0 >= 0).all() and (y1 <= size).all() and (x0 >= 0).all() and (x1 <= size).all()
    assert (y1 > y0).all() and (x1 > x0).all()
    mirrored = {(a, c, size - e, size - d) for a, c, d, e in boxes}
    assert mirrored == set(boxes)
    names = region_names("mdmo")
    for i, name in enumerate(names):  # the named partner is the mirror
        if name.endswith("_left"):
            j = names.index(name.removesuffix("_left") + "_right")
            a, c, d, e = boxes[i]
            assert boxes[j] == (a, c, size - e, size - d)


def test_mdmo_regions_follow_the_table_and_scale():
    assert sum(1 if k == "mid" else 2 for _, k, *_ in MDMO_ROI_TABLE) == 36
    for _, _, fy0, fy1, fx0, fx1 in MDMO_ROI_TABLE:
        assert 0 <= fy0 < fy1 <= 1 and 0 <= fx0 < fx1 <= 1
    names = region_names("mdmo")
    for size in (64, 256):
        boxes = dict(zip(names, mdmo_regions(size), strict=True))
        y0, _, _, x1 = boxes["lip_corner_left"]
        assert abs(y0 - 0.66 * size) <= 1 and abs(x1 - 0.41 * size) <= 1
        assert boxes["chin"][2] + boxes["chin"][3] == size  # centred
    # eyes above the mouth, left boxes on the left half
    b = dict(zip(names, mdmo_regions(256), strict=True))
    assert b["upper_eyelid_left"][1] <= b["lip_corner_left"][0]
    assert all(v[3] <= 128 for k, v in b.items() if k.endswith("_left"))
    # non-square frames scale y with the height and x with the width
    rect = mdmo_regions((128, 256))
    sq = mdmo_regions(256)
    for (a, c, d, e), (a2, c2, d2, e2) in zip(rect, sq, strict=True):
        assert (d, e) == (d2, e2) and abs(a - a2 / 2) <= 1 and abs(c - c2 / 2) <= 1


@pytest.mark.parametrize("size", [28, 64, 256])
def test_htnet_regions_four_boxes_scaled(size):
    boxes = htnet_regions(size)
    assert len(boxes) == 4
    assert region_names("htnet") == [
        "eye_left",
        "eye_right",
        "lip_corner_left",
        "lip_corner_right",
    ]
    half = int(np.floor(size / 2 + 0.5))
    for (y0, y1, x0, x1), (_, _, fy0, _, fx0, _) in zip(
        boxes[::2], HTNET_REGION_TABLE, strict=True
    ):
        assert y1 - y0 == half and x1 - x0 == half  # 14x14 at 28, as HTNet's patches
        assert abs(y0 - fy0 * size) <= 0.5 + 1e-9 and abs(x0 - fx0 * size) <= 0.5 + 1e-9
    (ly0, ly1, lx0, lx1), (ry0, ry1, rx0, rx1) = boxes[0], boxes[1]
    assert (ly0, ly1) == (ry0, ry1) and (rx0, rx1) == (size - lx1, size - lx0)
    assert boxes[3] == (*boxes[2][:2], size - boxes[2][3], size - boxes[2][2])
    assert all(0 <= v <= size for b in boxes for v in b)
    assert boxes[0][0] < boxes[2][0]  # eyes above the lip corners


def test_htnet_regions_at_28_are_htnets_patches():
    # HTNet: 14x14 patches of 28x28 flow images around its fallback eye / mouth-corner points
    assert htnet_regions(28) == [(4, 18, 1, 15), (4, 18, 13, 27), (14, 28, 2, 16), (14, 28, 12, 26)]


def test_region_size_errors():
    from srmer.errors import SrmerError

    for bad in (2, 0, "64", (64,), True):
        with pytest.raises(SrmerError, match="size"):
            mdmo_regions(bad)
    with pytest.raises(SrmerError, match="kind"):
        region_names("lbp")


# --- the feature -----------------------------------------------------------------------------


def test_shape_dtype_finite_and_rgb():
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (6, 64, 64, 3), dtype=np.uint8)
    f = mdmo(clip)
    assert f.shape == (72,) and f.dtype == np.float32 and np.isfinite(f).all()
    rho, theta = f[0::2], f[1::2]
    assert rho.max() == pytest.approx(1.0) and (rho >= 0).all()  # normalised by the largest ROI
    assert ((theta >= 0) & (theta < TWO_PI)).all()
    np.testing.assert_array_equal(f, mdmo(to_grey(clip)))  # RGB -> BT.601 grey
    assert mdmo(clip[:, :48, :56], regions=[(0, 10, 0, 10), (5, 20, 30, 56)]).shape == (4,)


@pytest.mark.parametrize(
    ("dx", "dy", "angle"),
    [(1.5, 0.0, 0.0), (0.0, 1.5, np.pi / 2), (-1.2, 0.0, np.pi), (0.0, -1.2, 3 * np.pi / 2)],
)
def test_planted_translation_gives_its_direction_and_magnitude(dx, dy, angle):
    clip = _translating(dx=dx, dy=dy)
    f = mdmo(clip, normalise=False).reshape(36, 2)
    # flow onset -> frame t is (dx, dy) * t / 7; the clip feature averages it over t = 1..7
    want = np.hypot(dx, dy) * np.mean(np.arange(1, 8) / 7)
    np.testing.assert_allclose(f[:, 0], want, rtol=0.05)
    assert _angle_error(f[:, 1], angle).max() < 0.05  # image coordinates: y down, pi/2 = down
    g = mdmo(clip).reshape(36, 2)  # uniform motion: every ROI near the largest
    assert g[:, 0].min() > 0.95
    np.testing.assert_array_equal(g[:, 1], f[:, 1])


def test_translation_with_tvl1():
    f = mdmo(_translating(dx=1.5, frames=6), flow="tvl1", normalise=False).reshape(36, 2)
    np.testing.assert_allclose(f[:, 0], 1.5 * np.mean(np.arange(1, 6) / 5), rtol=0.05)
    assert _angle_error(f[:, 1], 0.0).max() < 0.05


def test_brightness_shift_invariance():
    clip = _translating(dx=1.2, dy=0.7, seed=1)
    brighter = clip + np.uint8(20)  # 30..200 -> 50..220: nothing clips
    a, b = mdmo(clip), mdmo(brighter)
    # Farneback drops the constant term of its polynomial expansion: equal up to float rounding
    assert np.abs(a - b).max() <= 1e-3 * np.abs(a).max()
    # OpenCV's TV-L1 is only nearly invariant (its flow changes near the frame border; ~3e-3
    # relative on this clip)
    a, b = mdmo(clip[:6], flow="tvl1"), mdmo(brighter[:6], flow="tvl1")
    assert np.abs(a - b).max() <= 1e-2 * np.abs(a).max()


def test_main_direction_is_the_mode_and_its_mean():
    # one region of 10 vectors: 6 pointing right-down (bin 0 of 8), 4 pointing up (bin 6)
    flows = np.zeros((1, 2, 5, 2), np.float32)
    vecs = [(1.0, 0.1), (2.0, 0.2), (1.0, 0.3), (3.0, 0.0), (1.0, 0.5), (2.0, 0.1)]
    vecs += [(0.0, -5.0)] * 4
    flows[0].reshape(-1, 2)[:] = vecs
    rho, theta = mdmo_frame_features(flows, [(0, 2, 0, 5)], bins=8)
    v = np.array(vecs[:6])
    assert rho[0, 0] == pytest.approx(np.hypot(v[:, 0], v[:, 1]).mean())
    assert theta[0, 0] == pytest.approx(np.arctan2(v[:, 1], v[:, 0]).mean())


def test_frames_average_as_vectors(monkeypatch):
    # frame 1 moves at +0.1 rad, frame 2 at -0.1 rad (= 2 pi - 0.1): the vector mean points right;
    # averaging the angles as numbers would give pi (left)
    import importlib

    mod = importlib.import_module("srmer.features.mdmo")

    def fake(a, b):
        ang = 0.1 if b[0, 0] == 1 else -0.1
        out = np.empty((*a.shape, 2), np.float32)
        out[..., 0], out[..., 1] = np.cos(ang), np.sin(ang)
        return out

    monkeypatch.setitem(mod._FLOWS, "farneback", fake)
    clip = np.zeros((3, 32, 32), np.uint8)
    clip[1], clip[2] = 1, 2
    f = mdmo(clip, normalise=False).reshape(-1, 2)
    np.testing.assert_allclose(f[:, 0], np.cos(0.1), rtol=1e-5)
    assert _angle_error(f[:, 1], 0.0).max() < 1e-5


def test_still_clip_is_zero_and_errors():
    still = np.repeat(_translating()[:1], 4, axis=0)
    f = mdmo(still)
    assert np.isfinite(f).all() and np.abs(f[0::2]).max() < 0.05  # noise is not scaled up to 1
    with pytest.raises(DescriptorInputError, match="at least 2 frames"):
        mdmo(still[:1])
    with pytest.raises(DescriptorInputError, match="flow"):
        mdmo(still, flow="rlof")
    with pytest.raises(DescriptorInputError, match="bins"):
        mdmo(still, bins=0)
    with pytest.raises(DescriptorInputError, match="region 1"):
        mdmo(still, regions=[(0, 4, 0, 4), (60, 70, 0, 4)])
    with pytest.raises(DescriptorInputError, match="regions"):
        mdmo(still, regions=[])
    with pytest.raises(DescriptorInputError, match="shape"):
        mdmo(still[0])


# --- MER method ------------------------------------------------------------------------------


def test_mer_method_registered_and_builds():
    assert "mdmo" in MER_METHODS
    m = create("mdmo")
    assert m.kind == "descriptor" and m.display_name == "MDMO"
    assert m.cache_params() == {"flow": "farneback", "bins": 8, "normalise": True}
    assert create("mdmo", C=1.0).cache_params() == m.cache_params()
    clip = _translating(frames=6)
    np.testing.assert_array_equal(m.represent(clip), mdmo(clip))
    with pytest.raises(ClipError, match="2 frames"):
        m.represent(clip[:1])
    for opts, field in (
        ({"flow": "rlof"}, "flow"),
        ({"bins": 0}, "bins"),
        ({"normalise": 1}, "normalise"),
    ):
        with pytest.raises(ConfigError, match=field):
            create("mdmo", **opts)


def test_mer_method_fits_and_predicts_on_synthetic_data(tmp_path):
    from srmer.data import load
    from srmer.data.synthetic import generate

    root = generate(tmp_path, n_subjects=3, clips_per_subject=4, n_frames=8, size=64, seed=0)
    samples = load("casme2", root)
    m = create("mdmo")
    X = np.stack([m.represent(s.read()) for s in samples])
    y = np.array([s.label for s in samples])
    groups = np.array([s.subject for s in samples])
    assert X.shape == (len(samples), 72) and np.isfinite(X).all()
    test = groups == groups[0]
    est = m.estimator(n_classes=len(set(y)), seed=0).fit(X[~test], y[~test], groups=groups[~test])
    pred = est.predict(X[test])
    assert pred.shape == (int(test.sum()),) and set(pred) <= set(y)
