"""Procedural face identities for the synthetic micro-expression data.

A face is drawn once per identity (a neutral RGB image in float32) and every frame of every clip of that
identity is a sub-pixel warp of it (see :mod:`srmer.data.synthetic.clip`). The drawing is deliberately
simple — soft ellipses for brows, eyes, nose and lips on a textured skin ellipse — but the skin carries
fine band-passed texture and pores, because that texture is what optical flow and LBP see move when the
face deforms by a pixel or two, and what a low resolution averages away.

All geometry is given in units of the image size, so an identity drawn at 64 or 256 pixels has the same
layout; texture scales are given in pixels at 256 and scaled likewise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

# Face coordinates (u, v) in [-1, 1] over the face ellipse (v grows downwards) of each landmark that
# action units and blinks refer to; identities jitter these a little.
_LANDMARKS: dict[str, tuple[float, float]] = {
    "brow_inner_l": (-0.20, -0.37),
    "brow_inner_r": (0.20, -0.37),
    "brow_mid_l": (-0.42, -0.40),
    "brow_mid_r": (0.42, -0.40),
    "brow_outer_l": (-0.63, -0.35),
    "brow_outer_r": (0.63, -0.35),
    "eye_l": (-0.42, -0.18),
    "eye_r": (0.42, -0.18),
    "lower_lid_l": (-0.42, -0.11),
    "lower_lid_r": (0.42, -0.11),
    "cheek_l": (-0.45, 0.12),
    "cheek_r": (0.45, 0.12),
    "nose_side_l": (-0.13, 0.05),
    "nose_side_r": (0.13, 0.05),
    "nose_tip": (0.0, 0.17),
    "upper_lip": (0.0, 0.42),
    "upper_lip_l": (-0.13, 0.42),
    "upper_lip_r": (0.13, 0.42),
    "mouth": (0.0, 0.49),
    "lip_corner_l": (-0.33, 0.49),
    "lip_corner_r": (0.33, 0.49),
    "lower_lip": (0.0, 0.57),
    "chin": (0.0, 0.80),
}


# Skin texture contrast multiplier used by default (see make_identity and docs/synthetic.md).
DEFAULT_TEXTURE = 1.4


@dataclass
class Identity:
    """One synthetic person.

    Attributes
    ----------
    key : tuple of int
        ``(seed, domain, index)`` that determined this identity (domain 0 = evaluation subjects,
        1 = SR training pool, 2 = static FER set); two identities with different keys are drawn from
        independent random streams.
    size : int
        Image side in pixels.
    image : ndarray
        ``(size, size, 3)`` float32 RGB in [0, 1], eyes open.
    closed : ndarray
        The same face with both eyes closed (used for blinks).
    points : dict of str -> (x, y)
        Landmark positions in pixels.
    scale : float
        Face half-width in pixels (action-unit bump widths are given relative to it).
    eyes : list of (x, y, half_w, half_h)
        Eye ellipses in pixels (blinks sweep a lid over them).
    """

    key: tuple[int, int, int]
    size: int
    image: np.ndarray
    closed: np.ndarray
    points: dict[str, tuple[float, float]]
    scale: float
    eyes: list[tuple[float, float, float, float]] = field(default_factory=list)


def identity_rng(seed: int, domain: int, index: int) -> np.random.Generator:
    """Random stream of one identity: independent for every distinct ``(seed, domain, index)``."""
    return np.random.default_rng(
        np.random.SeedSequence(entropy=int(seed), spawn_key=(domain, index))
    )


def _soft_ellipse(xx, yy, cx, cy, ax, ay, soft, angle=0.0):
    """Soft mask in [0, 1] of an ellipse (1 inside, falling to 0 over ``soft`` pixels at the rim)."""
    c, s = np.cos(angle), np.sin(angle)
    dx, dy = xx - cx, yy - cy
    u = (c * dx + s * dy) / ax
    v = (-s * dx + c * dy) / ay
    r = np.sqrt(u * u + v * v)
    # signed distance to the rim, approximately in pixels
    d = (1.0 - r) * min(ax, ay)
    return np.clip(0.5 + d / max(soft, 1e-3), 0.0, 1.0).astype(np.float32)


def _bandpass_noise(rng, size, fine, coarse):
    """Zero-mean unit-std noise keeping scales between ``fine`` and ``coarse`` pixels (difference of Gaussians)."""
    n = rng.standard_normal((size, size)).astype(np.float32)
    a = cv2.GaussianBlur(n, (0, 0), fine) if fine > 0 else n
    b = cv2.GaussianBlur(n, (0, 0), coarse)
    out = a - b
    return out / (out.std() + 1e-8)


def make_identity(
    seed: int, domain: int, index: int, size: int = 256, texture: float = DEFAULT_TEXTURE
) -> Identity:
    """Draw one identity's neutral face.

    Parameters
    ----------
    seed, domain, index : int
        Determine the identity (see :attr:`Identity.key`).
    size : int
        Image side in pixels (square face crop, as after the papers' face cropping).
    texture : float
        Contrast multiplier of the skin texture (grain 7 %, mottling 4 %, pores 25 % at 1.0; pores
        capped at 60 %). The random draws do not depend on it, so the same identity can be rendered
        with more or less texture.

    Returns
    -------
    Identity
    """
    rng = identity_rng(seed, domain, index)
    S = float(size)
    px = S / 256.0  # texture scales are specified in pixels at 256
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5

    # face shape and feature placement
    cx = S * (0.5 + rng.normal(0, 0.012))
    cy = S * (0.53 + rng.normal(0, 0.012))
    rx = S * rng.uniform(0.33, 0.38)
    ry = S * rng.uniform(0.42, 0.47)
    eye_sep = rng.uniform(0.92, 1.08)
    feat_dy = rng.normal(0, 0.025)
    mouth_w = rng.uniform(0.9, 1.12)
    points = {}
    for name, (u, v) in _LANDMARKS.items():
        uu = u * (eye_sep if ("eye" in name or "lid" in name or "brow" in name) else 1.0)
        if name.startswith("lip_corner"):
            uu = u * mouth_w
        vv = v + feat_dy + rng.normal(0, 0.01)
        points[name] = (cx + uu * rx, cy + vv * ry)

    # colours: skin tone between a light and a dark anchor, hair and lips derived from it
    t = rng.uniform(0, 1)
    skin = (1 - t) * np.array([0.92, 0.76, 0.66]) + t * np.array([0.50, 0.34, 0.25])
    skin = (skin * rng.uniform(0.95, 1.05, 3)).astype(np.float32)
    hair = np.array([0.10, 0.07, 0.05]) * rng.uniform(0.6, 2.5) + rng.uniform(0, 0.05)
    brow_col = hair * 1.1
    lip_col = skin * np.array([0.95, 0.62, 0.62])
    bg = rng.uniform(0.25, 0.75, 3)

    img = np.empty((size, size, 3), np.float32)
    img[:] = bg * (1.0 + 0.15 * (yy / S - 0.5))[..., None]

    face = _soft_ellipse(xx, yy, cx, cy, rx, ry, 2.0 * px)
    # hair cap: an ellipse above/behind the face top
    hair_m = _soft_ellipse(xx, yy, cx, cy - 0.18 * ry, rx * 1.12, ry * 0.95, 3 * px)
    hair_m = hair_m * np.clip((cy - 0.55 * ry - yy) / (6 * px) + 0.5, 0, 1)
    neck = _soft_ellipse(xx, yy, cx, cy + 1.05 * ry, 0.55 * rx, 0.5 * ry, 3 * px)
    body = np.maximum(face, neck)
    img = img * (1 - body[..., None]) + skin * body[..., None]
    hair_tex = 1.0 + 0.25 * _bandpass_noise(rng, size, 0.7 * px, 4 * px)
    img = img * (1 - hair_m[..., None]) + (hair * hair_tex[..., None]) * hair_m[..., None]

    def paint(mask, colour, strength=1.0):
        nonlocal img
        m = (mask * strength)[..., None]
        img = img * (1 - m) + np.asarray(colour, np.float32) * m

    # nose: darker sides and nostrils, lighter bridge
    nx, ny = points["nose_tip"]
    for sgn in (-1, 1):
        side = _soft_ellipse(
            xx, yy, nx + sgn * 0.11 * rx, ny - 0.18 * ry, 0.05 * rx, 0.22 * ry, 6 * px
        )
        paint(side, skin * 0.8, 0.45)
        nostril = _soft_ellipse(
            xx,
            yy,
            nx + sgn * 0.08 * rx,
            ny + 0.035 * ry,
            0.045 * rx,
            0.022 * ry,
            1.5 * px,
            angle=sgn * 0.3,
        )
        paint(nostril, skin * 0.35, 0.85)
    paint(_soft_ellipse(xx, yy, nx, ny - 0.2 * ry, 0.04 * rx, 0.2 * ry, 5 * px), skin * 1.12, 0.35)
    # nasolabial folds: faint dark arcs beside the mouth
    for sgn in (-1, 1):
        fold = _soft_ellipse(
            xx,
            yy,
            nx + sgn * 0.27 * rx,
            ny + 0.16 * ry,
            0.025 * rx,
            0.17 * ry,
            3 * px,
            angle=-sgn * 0.45,
        )
        paint(fold, skin * 0.75, 0.5)

    # lips
    mx, my = points["mouth"]
    hw = abs(points["lip_corner_r"][0] - points["lip_corner_l"][0]) / 2
    upper = _soft_ellipse(xx, yy, mx, my - 0.025 * ry, hw, 0.045 * ry, 2 * px)
    lower = _soft_ellipse(xx, yy, mx, my + 0.04 * ry, hw * 0.85, 0.06 * ry, 2 * px)
    paint(np.maximum(upper, lower), lip_col, 0.9)
    paint(
        _soft_ellipse(xx, yy, mx, my + 0.005 * ry, hw * 0.98, 0.008 * ry, 1.0 * px),
        lip_col * 0.45,
        0.9,
    )

    # eyes (sclera, iris, pupil, upper lid line) and brows
    eyes = []
    closed_masks = []
    for side in ("l", "r"):
        ex, ey = points[f"eye_{side}"]
        ax, ay = 0.15 * rx * rng.uniform(0.9, 1.1), 0.06 * ry * rng.uniform(0.85, 1.15)
        eyes.append((ex, ey, ax, ay))
        paint(
            _soft_ellipse(xx, yy, ex, ey - 0.4 * ay, ax * 1.25, ay * 1.7, 5 * px), skin * 0.85, 0.5
        )
        closed_masks.append(_soft_ellipse(xx, yy, ex, ey, ax * 1.05, ay * 1.15, 1.5 * px))
        paint(_soft_ellipse(xx, yy, ex, ey, ax, ay, 1.2 * px), (0.93, 0.92, 0.9))
        gaze = rng.normal(0, 0.1) * ax
        iris_c = np.array([0.25, 0.16, 0.08]) * rng.uniform(0.5, 2.0)
        paint(_soft_ellipse(xx, yy, ex + gaze, ey, ay * 0.95, ay * 0.95, 1.0 * px), iris_c)
        paint(
            _soft_ellipse(xx, yy, ex + gaze, ey, ay * 0.45, ay * 0.45, 0.8 * px), (0.03, 0.03, 0.03)
        )
        paint(
            _soft_ellipse(
                xx, yy, ex + gaze - 0.2 * ay, ey - 0.3 * ay, ay * 0.14, ay * 0.14, 0.6 * px
            ),
            (1.0, 1.0, 1.0),
            0.8,
        )
        paint(_soft_ellipse(xx, yy, ex, ey - ay, ax * 1.02, ay * 0.2, 1.0 * px), hair * 0.8, 0.9)
        bx, by = points[f"brow_mid_{side}"]
        tilt = (-1 if side == "l" else 1) * rng.uniform(-0.05, 0.2)
        brow = _soft_ellipse(xx, yy, bx, by, 0.27 * rx, 0.045 * ry, 2.0 * px, angle=tilt)
        brow_tex = 1.0 + 0.35 * _bandpass_noise(rng, size, 0.6 * px, 2.5 * px)
        m = brow[..., None] * 0.9
        img = img * (1 - m) + (brow_col * brow_tex[..., None]) * m

    # skin texture: fine band-passed grain, medium mottling and pores, only on skin
    skin_m = (body * (1 - hair_m))[..., None]
    grain = _bandpass_noise(rng, size, 0.6 * px, 2.5 * px)
    mottle = _bandpass_noise(rng, size, 3 * px, 12 * px)
    pores = (rng.random((size, size)) < 0.006 / (px * px)).astype(np.float32)
    pores = cv2.GaussianBlur(pores, (0, 0), 0.7 * px)
    pores /= pores.max() + 1e-8
    amp = rng.uniform(0.8, 1.2)
    k = float(texture)
    tex = 1.0 + amp * (0.07 * k * grain + 0.04 * k * mottle - min(0.25 * k, 0.6) * pores)
    img = img * (1 + skin_m * (tex[..., None] - 1))

    # lighting: a directional gradient plus darkening towards the face rim (roundness)
    ang = rng.uniform(0, 2 * np.pi)
    strength = rng.uniform(0.05, 0.25)
    grad = 1 + strength * (np.cos(ang) * (xx - cx) / rx + np.sin(ang) * (yy - cy) / ry) / 2
    rr = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    rim = 1 - 0.25 * np.clip(rr, 0, 1) ** 3
    light = grad * (1 + body * (rim - 1)) * rng.uniform(0.85, 1.1)
    img = img * light[..., None]

    # closed eyes: the lid is skin painted over the eye with a crease, textured like the rest
    closed = img.copy()
    lid_col = (skin * 0.92 * light[..., None]) * tex[..., None]
    for (ex, ey, ax, ay), m in zip(eyes, closed_masks, strict=True):
        m3 = m[..., None]
        closed = closed * (1 - m3) + lid_col * m3
        crease = _soft_ellipse(xx, yy, ex, ey + 0.6 * ay, ax * 0.95, ay * 0.15, 1.0 * px)
        closed = closed * (1 - 0.6 * crease[..., None]) + (hair * 0.8) * 0.6 * crease[..., None]

    return Identity(
        key=(int(seed), int(domain), int(index)),
        size=size,
        image=np.clip(img, 0, 1).astype(np.float32),
        closed=np.clip(closed, 0, 1).astype(np.float32),
        points=points,
        scale=float(rx),
        eyes=eyes,
    )
