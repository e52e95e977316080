"""Action-unit displacement fields, time courses, nuisances and clip rendering.

A micro-expression is a smooth displacement field ``D(x, y)`` (a sum of Gaussian bumps at the landmarks an
action unit moves, in the direction the muscle pulls the skin), normalised so that its largest
displacement is exactly 1 px, scaled by the clip's apex amplitude ``A`` and by a time course ``a(t)`` that
rises from 0 at the onset to 1 at the apex and falls back to 0 at the offset (``sin^2`` rise, ``cos^2``
fall). Frame ``t`` is the identity image warped by ``A a(t) D`` (``cv2.remap``, bilinear, sub-pixel) plus
the nuisances: rigid head motion (drift + jitter, sub-pixel), an optional blink (a lid sweeping over
the eyes), a slow change of lighting and sensor noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from srmer.data.synthetic.face import Identity

# Action unit -> bumps (landmark, direction (dx, dy) in image axes, width as a fraction of the face
# half-width). Directions follow FACS descriptions of how each muscle pulls the skin (y grows down).
AU_BUMPS: dict[int, tuple[tuple[str, tuple[float, float], float], ...]] = {
    1: (
        ("brow_inner_l", (0.0, -1.0), 0.10),
        ("brow_inner_r", (0.0, -1.0), 0.10),
    ),  # inner brow raiser
    2: (
        ("brow_outer_l", (0.0, -1.0), 0.10),
        ("brow_outer_r", (0.0, -1.0), 0.10),
    ),  # outer brow raiser
    4: (("brow_inner_l", (0.45, 0.9), 0.11), ("brow_inner_r", (-0.45, 0.9), 0.11)),  # brow lowerer
    6: (("cheek_l", (0.0, -1.0), 0.14), ("cheek_r", (0.0, -1.0), 0.14)),  # cheek raiser
    7: (("lower_lid_l", (0.0, -1.0), 0.06), ("lower_lid_r", (0.0, -1.0), 0.06)),  # lid tightener
    9: (
        ("nose_side_l", (0.1, -1.0), 0.08),
        ("nose_side_r", (-0.1, -1.0), 0.08),
        ("upper_lip", (0.0, -0.6), 0.08),
    ),  # nose wrinkler
    10: (
        ("upper_lip_l", (0.0, -1.0), 0.08),
        ("upper_lip_r", (0.0, -1.0), 0.08),
    ),  # upper lip raiser
    12: (
        ("lip_corner_l", (-0.6, -0.8), 0.10),
        ("lip_corner_r", (0.6, -0.8), 0.10),
    ),  # lip corner puller
    14: (("lip_corner_l", (-1.0, 0.0), 0.07), ("lip_corner_r", (1.0, 0.0), 0.07)),  # dimpler
    15: (
        ("lip_corner_l", (-0.2, 1.0), 0.10),
        ("lip_corner_r", (0.2, 1.0), 0.10),
    ),  # lip corner depressor
    17: (("chin", (0.0, -1.0), 0.13),),  # chin raiser
    24: (("upper_lip", (0.0, 0.8), 0.07), ("lower_lip", (0.0, -1.0), 0.07)),  # lip pressor
    26: (("lower_lip", (0.0, 1.0), 0.12), ("chin", (0.0, 1.0), 0.16)),  # jaw drop
}

# Raw emotion (any dataset's spelling, lower case) -> the AU combinations a clip of it may show.
# Several combinations per emotion give within-class variation, as in the real data.
EMOTION_AUS: dict[str, tuple[tuple[int, ...], ...]] = {
    "happiness": ((12,), (6, 12)),
    "positive": ((12,), (6, 12)),
    "surprise": ((1, 2), (1, 2, 26)),
    "disgust": ((9,), (4, 9), (10,)),
    "sadness": ((15,), (4, 15)),
    "sad": ((15,), (4, 15)),
    "happy": ((12,), (6, 12)),
    "fear": ((4,), (4, 15)),
    "anger": ((4,), (4, 9)),
    "contempt": ((15,), (4,)),
    "negative": ((4,), (9,), (15,), (4, 9)),
    "repression": ((14,), (24,), (17,)),
    "others": ((7,), (14,), (7, 14)),
    "other": ((7,), (14,), (7, 14)),
    "neutral": ((),),
}


def au_field(identity: Identity, aus: tuple[int, ...]) -> np.ndarray:
    """Displacement field of a set of action units, normalised to a largest displacement of 1 px.

    Parameters
    ----------
    identity : Identity
        Supplies landmark positions and the face scale.
    aus : tuple of int
        Action units (keys of :data:`AU_BUMPS`); empty gives a zero field.

    Returns
    -------
    ndarray
        ``(H, W, 2)`` float32 displacement ``(dx, dy)`` in pixels; ``max |D| == 1`` unless empty.
    """
    S = identity.size
    field_ = np.zeros((S, S, 2), np.float32)
    if not aus:
        return field_
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32) + 0.5
    for au in aus:
        for name, (dx, dy), width in AU_BUMPS[au]:
            px, py = identity.points[name]
            sigma = width * identity.scale
            # only evaluate near the bump: the Gaussian is negligible beyond 4 sigma
            r = int(np.ceil(4 * sigma))
            x0, x1 = max(int(px) - r, 0), min(int(px) + r + 1, S)
            y0, y1 = max(int(py) - r, 0), min(int(py) + r + 1, S)
            g = np.exp(
                -((xx[y0:y1, x0:x1] - px) ** 2 + (yy[y0:y1, x0:x1] - py) ** 2) / (2 * sigma**2)
            )
            n = np.hypot(dx, dy)
            field_[y0:y1, x0:x1, 0] += g * (dx / n)
            field_[y0:y1, x0:x1, 1] += g * (dy / n)
    peak = np.sqrt((field_**2).sum(-1)).max()
    return field_ / max(float(peak), 1e-8)


def time_course(n_frames: int, apex_index: int) -> np.ndarray:
    """Expression intensity per frame: 0 at the first and last frame, 1 at ``apex_index``.

    ``sin^2`` rise over ``[0, apex]`` and ``cos^2`` fall over ``[apex, T-1]`` (smooth, zero velocity at
    onset, apex and offset).

    Returns
    -------
    ndarray
        ``(n_frames,)`` float64 in [0, 1].
    """
    t = np.arange(n_frames, dtype=np.float64)
    rise = np.sin(0.5 * np.pi * t / max(apex_index, 1)) ** 2
    fall = np.cos(0.5 * np.pi * (t - apex_index) / max(n_frames - 1 - apex_index, 1)) ** 2
    return np.where(t <= apex_index, rise, fall)


@dataclass
class ClipSpec:
    """Everything random about one clip, drawn once from the clip's seed (see :func:`draw_clip_spec`).

    Attributes
    ----------
    emotion : str
        Raw emotion string (lower case).
    aus : tuple of int
        Action units shown.
    amplitude : float
        Apex displacement in pixels at the rendered size (largest displacement of the field).
    n_frames, apex_index : int
        Clip length and the apex position (0-based index; onset is index 0, offset index ``n-1``).
    head_shift : ndarray
        ``(n_frames, 2)`` rigid translation ``(dx, dy)`` in pixels per frame.
    head_rot : ndarray
        ``(n_frames,)`` in-plane rotation in radians per frame.
    blink : tuple or None
        ``(start, length, depth)``: frames of the blink and the largest lid closure in [0, 1].
    light : tuple of float
        ``(gain_change, gradient_change, gradient_angle)`` over the clip.
    noise_sigma : float
        Sensor noise standard deviation in grey levels (0..255).
    """

    emotion: str
    aus: tuple[int, ...]
    amplitude: float
    n_frames: int
    apex_index: int
    head_shift: np.ndarray
    head_rot: np.ndarray
    blink: tuple[int, int, float] | None
    light: tuple[float, float, float]
    noise_sigma: float
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Nuisance:
    """Strength of the nuisances (defaults: realistic small values; all zero gives a clean clip).

    Attributes
    ----------
    head_jitter : float
        Per-frame random head translation, std in px at 256.
    head_drift : float
        Largest slow head drift over the clip in px at 256.
    head_rotation : float
        Largest in-plane rotation drift over the clip in degrees.
    blink_prob : float
        Probability that a clip contains a blink (independent of the class).
    light_change : float
        Largest relative change of brightness (and of a lighting gradient) over the clip.
    noise_sigma : float
        Sensor noise std in grey levels.
    """

    head_jitter: float = 0.15
    head_drift: float = 0.6
    head_rotation: float = 0.15
    blink_prob: float = 0.5
    light_change: float = 0.03
    noise_sigma: float = 2.0

    @classmethod
    def none(cls) -> Nuisance:
        """No nuisance at all: frames differ only by the expression (used by tests)."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def draw_clip_spec(
    rng: np.random.Generator,
    emotion: str,
    n_frames: int,
    amplitude: float,
    size: int,
    nuisance: Nuisance,
    amplitude_jitter: float = 0.2,
) -> ClipSpec:
    """Draw the random parts of one clip.

    Parameters
    ----------
    rng : numpy.random.Generator
        The clip's own stream.
    emotion : str
        Raw emotion (a key of :data:`EMOTION_AUS`).
    n_frames : int
        Frames from onset to offset inclusive (>= 3).
    amplitude : float
        Nominal apex displacement in px at 256; the clip's is ``amplitude * U(1-j, 1+j)`` scaled to
        ``size``.
    size : int
        Rendered image side.
    nuisance : Nuisance
        Nuisance strengths.
    amplitude_jitter : float
        Relative spread ``j`` of the per-clip amplitude.
    """
    emotion = emotion.strip().lower()
    options = EMOTION_AUS[emotion]
    aus = options[int(rng.integers(len(options)))]
    k = size / 256.0
    amp = amplitude * k * rng.uniform(1 - amplitude_jitter, 1 + amplitude_jitter)
    apex = round(rng.uniform(0.35, 0.6) * (n_frames - 1))
    apex = min(max(apex, 1), n_frames - 2)
    drift_end = rng.normal(0, nuisance.head_drift / 2, 2) * k
    ramp = np.linspace(0, 1, n_frames)[:, None]
    shift = ramp * drift_end + rng.normal(0, nuisance.head_jitter, (n_frames, 2)) * k
    rot = np.deg2rad(rng.uniform(-1, 1) * nuisance.head_rotation) * ramp[:, 0]
    blink = None
    if rng.random() < nuisance.blink_prob:
        length = int(rng.integers(4, 9))
        start = int(rng.integers(0, max(n_frames - length, 1)))
        blink = (start, length, float(rng.uniform(0.6, 1.0)))
    light = (
        float(rng.uniform(-1, 1) * nuisance.light_change),
        float(rng.uniform(-1, 1) * nuisance.light_change),
        float(rng.uniform(0, 2 * np.pi)),
    )
    return ClipSpec(
        emotion,
        tuple(aus),
        float(amp),
        n_frames,
        apex,
        shift,
        rot,
        blink,
        light,
        float(nuisance.noise_sigma),
    )


def _lid_closure(spec: ClipSpec) -> np.ndarray:
    """Lid closure per frame in [0, 1] (0 = open): a ``sin^2`` bump over the blink's frames."""
    c = np.zeros(spec.n_frames)
    if spec.blink is None:
        return c
    start, length, depth = spec.blink
    t = np.arange(spec.n_frames) - start
    inside = (t >= 0) & (t <= length)
    c[inside] = depth * np.sin(np.pi * t[inside] / length) ** 2
    return c


def render_clip(identity: Identity, spec: ClipSpec, rng: np.random.Generator) -> np.ndarray:
    """Render one clip.

    Parameters
    ----------
    identity : Identity
        The face.
    spec : ClipSpec
        The clip's expression and nuisances.
    rng : numpy.random.Generator
        Stream for the sensor noise.

    Returns
    -------
    ndarray
        ``(T, H, W, 3)`` uint8 RGB frames, onset first.
    """
    S = identity.size
    T = spec.n_frames
    D = au_field(identity, spec.aus)
    a = time_course(T, spec.apex_index) * spec.amplitude
    closure = _lid_closure(spec)
    grids = _grids(S)
    out = np.empty((T, S, S, 3), np.uint8)
    for t in range(T):
        frac = t / max(T - 1, 1)
        out[t] = render_frame(
            identity,
            D,
            a[t],
            spec.head_shift[t],
            spec.head_rot[t],
            closure[t],
            (spec.light[0] * frac, spec.light[1] * frac, spec.light[2]),
            spec.noise_sigma,
            rng,
            grids,
        )
    return out


def _grids(size: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    return xx, yy


def render_frame(
    identity: Identity,
    field_: np.ndarray,
    amplitude: float,
    shift=(0.0, 0.0),
    rotation: float = 0.0,
    closure: float = 0.0,
    light=(0.0, 0.0, 0.0),
    noise_sigma: float = 0.0,
    rng: np.random.Generator | None = None,
    grids: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Render one frame: the identity deformed by ``amplitude * field_``, moved, blinked, lit, noised.

    Parameters
    ----------
    identity : Identity
    field_ : ndarray
        ``(H, W, 2)`` unit displacement field (:func:`au_field`).
    amplitude : float
        Displacement scale in pixels.
    shift : (float, float)
        Rigid head translation ``(dx, dy)`` in pixels.
    rotation : float
        In-plane head rotation about the image centre, radians.
    closure : float
        Lid closure in [0, 1].
    light : (float, float, float)
        Relative gain change, relative gradient change and the gradient's direction (radians).
    noise_sigma : float
        Gaussian sensor noise std in grey levels.
    rng : numpy.random.Generator, optional
        Needed when ``noise_sigma > 0``.

    Returns
    -------
    ndarray
        ``(H, W, 3)`` uint8 RGB.
    """
    S = identity.size
    xx, yy = grids if grids is not None else _grids(S)
    c = S / 2.0
    src = identity.image if closure <= 0 else _blink_frame(identity, closure, xx, yy)
    # inverse map: the output pixel x shows the source at x - d(x), so the content moves by +d; the
    # rigid head motion is a rotation about the image centre followed by a translation.
    # python floats keep the float32 arrays float32 (a numpy float64 scalar would promote them)
    ct, st = float(np.cos(rotation)), float(np.sin(rotation))
    amp = float(amplitude)
    rx = xx - float(c + shift[0])
    ry = yy - float(c + shift[1])
    mx = ct * rx + st * ry + c
    my = ct * ry - st * rx + c
    if amp != 0:
        mx -= amp * field_[..., 0]
        my -= amp * field_[..., 1]
    frame = cv2.remap(src, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    gain = 255.0 * (1 + float(light[0]))
    if light[1] != 0:
        grad = (float(np.cos(light[2])) * (xx - c) + float(np.sin(light[2])) * (yy - c)) / S
        frame = frame * (gain * (1 + float(light[1]) * grad))[..., None]
    else:
        frame = frame * gain
    if noise_sigma > 0:
        frame += float(noise_sigma) * rng.standard_normal(frame.shape, dtype=np.float32)
    np.clip(frame, 0, 255, out=frame)
    return np.rint(frame, out=frame).astype(np.uint8)


def _blink_frame(identity: Identity, closure: float, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """The identity with the lids lowered by ``closure`` (0 open .. 1 closed) over both eyes."""
    out = identity.image.copy()
    S = identity.size
    for ex, ey, ax, ay in identity.eyes:
        # only the eye's box changes (plus a margin for the soft lid edge)
        x0, x1 = max(int(ex - 1.3 * ax) - 3, 0), min(int(ex + 1.3 * ax) + 4, S)
        y0, y1 = max(int(ey - 1.4 * ay) - 3, 0), min(int(ey + 1.4 * ay) + 4, S)
        bx, by = xx[y0:y1, x0:x1], yy[y0:y1, x0:x1]
        lid = ey - 1.3 * ay + closure * 2.6 * ay  # lid edge sweeps from above the eye to below it
        inside = ((bx - ex) / (1.3 * ax)) ** 2 + ((by - ey) / (1.4 * ay)) ** 2 < 1
        alpha = (inside * np.clip(lid - by + 0.5, 0, 1)).astype(np.float32)
        a = cv2.GaussianBlur(alpha, (0, 0), 0.6)[..., None]
        box = (slice(y0, y1), slice(x0, x1))
        out[box] = identity.image[box] * (1 - a) + identity.closed[box] * a
    return out
