"""Face detection and per-clip cropping (no network: scikit-image's astronaut + synthetic faces)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from srmer.errors import ClipError
from srmer.video import Box, NoFaceError, crop_box, crop_faces, detect_face, face_box


def _inside(box: Box, x: float, y: float) -> bool:
    return box.left <= x < box.left + box.width and box.top <= y < box.top + box.height


@pytest.fixture(scope="module")
def astronaut_det():
    return detect_face(data.astronaut())


def test_astronaut_face_found(astronaut_det):
    # 512x512; Eileen Collins' face spans about rows 60-180, cols 160-280
    det = astronaut_det
    assert det is not None
    cy, cx = det.top + det.height / 2, det.left + det.width / 2
    assert 90 < cy < 150 and 190 < cx < 250
    assert 60 < det.width < 180
    # grey input finds the same face
    g = detect_face(data.astronaut().mean(axis=2).astype(np.uint8))
    assert g is not None and abs(g.top - det.top) < 15 and abs(g.left - det.left) < 15


def test_crop_faces_on_astronaut_clip(astronaut_det):
    img = data.astronaut()
    clip = np.stack([img, np.roll(img, 4, axis=1)])  # the head moves 4 px in frame 1
    out = crop_faces(clip, size=64)
    assert out.shape == (2, 64, 64, 3) and out.dtype == np.uint8
    # one box for the clip: frame 1's crop is frame 0's box applied to frame 1
    box = face_box(astronaut_det)
    from srmer.degrade import resize_clip

    np.testing.assert_array_equal(out, resize_clip(crop_box(clip, box), 64))


def _synthetic_canvas(index: int, top: int, left: int, size: int = 256):
    from srmer.data.synthetic import make_identity

    ident = make_identity(0, 0, index, size=size)
    face = np.clip(ident.image * 255, 0, 255).astype(np.uint8)
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[top : top + size, left : left + size] = face
    pts = {k: (x + left, y + top) for k, (x, y) in ident.points.items()}
    return canvas, pts


@pytest.mark.parametrize(("index", "top", "left"), [(0, 100, 200), (1, 30, 350), (2, 200, 40)])
def test_synthetic_face_found_and_cropped(index, top, left):
    canvas, pts = _synthetic_canvas(index, top, left)
    det = detect_face(canvas)
    assert det is not None
    box = face_box(det)
    for name in ("eye_l", "eye_r", "nose_tip", "mouth"):
        assert _inside(box, *pts[name]), name
    out = crop_faces(np.stack([canvas, canvas]), size=128, box=box)
    assert out.shape == (2, 128, 128, 3)


def test_no_face_is_a_clear_clip_error():
    rng = np.random.default_rng(0)
    clip = np.full((2, 96, 128), 128, np.uint8) + rng.integers(0, 3, (2, 96, 128), dtype=np.uint8)
    with pytest.raises(NoFaceError, match="sub01/EP02") as exc:
        crop_faces(clip, clip_id="sub01/EP02")
    assert isinstance(exc.value, ClipError)


def test_crop_box_shifts_inside_and_pads_when_too_big():
    clip = np.arange(2 * 10 * 12, dtype=np.uint8).reshape(2, 10, 12)
    # sticks out on the left/top: shifted inside, same content as the corner crop
    np.testing.assert_array_equal(crop_box(clip, Box(-3, -2, 5, 5)), clip[:, :5, :5])
    np.testing.assert_array_equal(crop_box(clip, Box(8, 9, 4, 4)), clip[:, 6:10, 8:12])
    # larger than the frame: edge padding
    big = crop_box(clip, Box(-2, 0, 14, 12))
    assert big.shape == (2, 14, 12)
    np.testing.assert_array_equal(big[:, 2:12], clip)
    np.testing.assert_array_equal(big[:, 0], clip[:, 0])
    np.testing.assert_array_equal(big[:, -1], clip[:, -1])


def test_face_box_margin():
    b = face_box(Box(100, 200, 80, 80), margin=0.25)
    assert (b.height, b.width) == (120, 120)
    assert b.top + b.height / 2 == pytest.approx(140) and b.left + b.width / 2 == pytest.approx(240)


@pytest.mark.parametrize("index", [0, 2])
def test_face_found_on_generator_frames(index):
    # The generator's own frames (already face crops, the face filling most of the frame, with
    # head motion, blink and noise nuisances): the box from the onset frame must hold the eyes
    # and the mouth.
    from srmer.data.synthetic import Nuisance, draw_clip_spec, make_identity, render_clip

    ident = make_identity(0, 0, index, size=256)
    rng = np.random.default_rng(index)
    spec = draw_clip_spec(rng, "happiness", 3, 2.0, 256, Nuisance())
    clip = render_clip(ident, spec, rng)
    det = detect_face(clip[0])
    assert det is not None
    box = face_box(det)
    for name in ("eye_l", "eye_r", "mouth"):
        assert _inside(box, *ident.points[name]), name
    assert crop_faces(clip, size=64, box=box).shape == (3, 64, 64, 3)
