"""Optical flow (TV-L1), optical strain and the flow images fed to the flow-based MER networks.

The flow-based micro-expression networks (STSTNet, Off-ApexNet, Dual-Inception, RCN-A, FeatRef) all take
the TV-L1 optical flow between the onset and the apex frame, plus (for some) the optical strain derived
from it, resized to a small square image. This module computes the three maps and stacks them into the
``(C, h, w)`` float32 input of each network.

References
----------
.. [1] C. Zach, T. Pock and H. Bischof, "A duality based approach for realtime TV-L1 optical flow",
   DAGM 2007; J. Sanchez, E. Meinhardt-Llopis and G. Facciolo, "TV-L1 optical flow estimation",
   IPOL 2013 (the algorithm behind ``cv2.optflow.DualTVL1OpticalFlow``).
.. [2] S.-T. Liong, Y. S. Gan, J. See, H.-Q. Khor and Y.-C. Huang, "Shallow triple stream
   three-dimensional CNN (STSTNet) for micro-expression recognition", FG 2019 (u, v and strain inputs).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

__all__ = ["FLOW_CHANNELS", "flow_images", "optical_strain", "tvl1_flow"]

#: channel names accepted by :func:`flow_images`
FLOW_CHANNELS = ("u", "v", "strain", "magnitude")


def _to_grey_uint8(frame: np.ndarray, name: str) -> np.ndarray:
    """``(H, W)`` uint8 grey version of an RGB / grey, uint8 / float frame."""
    a = np.asarray(frame)
    if a.ndim == 3 and a.shape[2] == 3:
        if a.dtype != np.uint8:
            a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        return cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim != 2:
        raise ValueError(f"{name}: expected (H, W) grey or (H, W, 3) RGB, got shape {a.shape}")
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


def tvl1_flow(
    frame_a: np.ndarray,
    frame_b: np.ndarray,
    *,
    tau: float = 0.25,
    lambda_: float = 0.15,
    theta: float = 0.3,
    nscales: int = 5,
    warps: int = 5,
    epsilon: float = 0.01,
    inner_iterations: int = 30,
    outer_iterations: int = 10,
    scale_step: float = 0.8,
    gamma: float = 0.0,
    median_filtering: int = 5,
) -> np.ndarray:
    """Dense TV-L1 optical flow from ``frame_a`` to ``frame_b`` (OpenCV contrib).

    Parameters
    ----------
    frame_a, frame_b : ndarray
        ``(H, W)`` grey or ``(H, W, 3)`` RGB frames of the same size; uint8 in 0..255 (float input is
        rounded and clipped to 0..255). RGB is converted to grey with ``cv2.COLOR_RGB2GRAY``.
    tau, lambda_, theta, nscales, warps, epsilon, inner_iterations, outer_iterations, scale_step, gamma, \
median_filtering
        The parameters of ``cv2.optflow.DualTVL1OpticalFlow_create``, with OpenCV's defaults (time step
        tau .25, data-term weight lambda .15, tightness theta .3, 5 pyramid scales, 5 warps, stopping
        epsilon .01, 30 inner / 10 outer iterations, scale step .8, no illumination term, median
        filter 5).

    Returns
    -------
    ndarray
        ``(H, W, 2)`` float32 flow ``(u, v)`` in pixels: ``frame_a[y, x] ~ frame_b[y + v, x + u]``,
        so content moving right between the frames gives ``u > 0`` and moving down ``v > 0``.

    Notes
    -----
    TV-L1 is deterministic for a given OpenCV build but builds differ in the last digits; pin OpenCV when
    comparing runs. Very small frames (16x16) are fine: OpenCV stops the pyramid when a level would be
    too small.

    Examples
    --------
    >>> import numpy as np
    >>> a = (np.random.default_rng(0).random((32, 32)) * 255).astype(np.uint8)
    >>> tvl1_flow(a, a).shape
    (32, 32, 2)
    """
    a = _to_grey_uint8(frame_a, "frame_a")
    b = _to_grey_uint8(frame_b, "frame_b")
    if a.shape != b.shape:
        raise ValueError(f"frame_a {a.shape} and frame_b {b.shape} must have the same size")
    # Positional arguments: the keyword for inner iterations is misspelt ('innnerIterations') in the
    # Python binding, so keywords would break across OpenCV versions.
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create(
        float(tau),
        float(lambda_),
        float(theta),
        int(nscales),
        int(warps),
        float(epsilon),
        int(inner_iterations),
        int(outer_iterations),
        float(scale_step),
        float(gamma),
        int(median_filtering),
        False,
    )
    flow = tvl1.calc(a, b, None)
    return np.asarray(flow, dtype=np.float32)


def optical_strain(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Optical strain magnitude of a flow field.

    Parameters
    ----------
    u, v : ndarray
        ``(H, W)`` horizontal and vertical flow components (pixels).

    Returns
    -------
    ndarray
        ``(H, W)`` float32, ``sqrt(u_x^2 + v_y^2 + 0.5 (u_y + v_x)^2)`` >= 0, with derivatives by
        central differences (``np.gradient``, one-sided at the border).

    Notes
    -----
    The infinitesimal strain tensor of the displacement ``(u, v)`` has normal components ``u_x``,
    ``v_y`` and shear ``(u_y + v_x) / 2``; its magnitude as used by STSTNet [2]_ is
    ``sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2)``, which is the formula above.

    References
    ----------
    .. [2] Liong et al., STSTNet, FG 2019.
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if u.shape != v.shape or u.ndim != 2:
        raise ValueError(f"u {u.shape} and v {v.shape} must be (H, W) arrays of the same shape")
    u_y, u_x = np.gradient(u)
    v_y, v_x = np.gradient(v)
    return np.sqrt(u_x**2 + v_y**2 + 0.5 * (u_y + v_x) ** 2).astype(np.float32)


def _resize(channel: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = channel.shape
    th, tw = size
    if (h, w) == (th, tw):
        return channel
    # Area averaging when shrinking (no aliasing of the noisy flow); bilinear when enlarging (LR clips
    # of 16x16 feed 28x28 networks), where INTER_AREA degenerates to nearest neighbour.
    interp = cv2.INTER_AREA if th <= h and tw <= w else cv2.INTER_LINEAR
    return cv2.resize(channel, (tw, th), interpolation=interp)


def _normalise(ch: np.ndarray, how: str) -> np.ndarray:
    if how == "none":
        return ch
    if how == "per_channel":
        lo, hi = float(ch.min()), float(ch.max())
        if hi - lo < 1e-12:
            return np.zeros_like(ch)
        return (ch - lo) / (hi - lo)
    if how == "max_abs":
        m = float(np.abs(ch).max())
        return ch / m if m > 1e-12 else np.zeros_like(ch)
    raise ValueError(f"normalise must be 'per_channel', 'max_abs' or 'none', got {how!r}")


def flow_images(
    onset_frame: np.ndarray,
    apex_frame: np.ndarray,
    size: int | tuple[int, int] = 28,
    channels: Sequence[str] = ("u", "v", "strain"),
    normalise: str = "per_channel",
    **flow_params: float,
) -> np.ndarray:
    """Network input images from the onset and apex frames.

    Parameters
    ----------
    onset_frame, apex_frame : ndarray
        ``(H, W)`` grey or ``(H, W, 3)`` RGB uint8 frames of the same size (any resolution).
    size : int or (int, int)
        Output size ``h`` (square) or ``(h, w)``; 28 for STSTNet / Off-ApexNet / Dual-Inception /
        FeatRef, 60 for RCN-A.
    channels : sequence of str
        Which maps to stack, in order, from ``"u"``, ``"v"``, ``"strain"``, ``"magnitude"``.
    normalise : {"per_channel", "max_abs", "none"}
        ``"per_channel"``: each channel of each clip min-max scaled to [0, 1] (the references store the
        flow maps as 8-bit images, which is this scaling); ``"max_abs"``: divided by the channel's
        largest absolute value (keeps zero motion at 0 and the sign, range [-1, 1]); ``"none"``: raw
        values in pixels of the *input* resolution.
    **flow_params
        Passed to :func:`tvl1_flow`.

    Returns
    -------
    ndarray
        ``(C, h, w)`` float32, ``C = len(channels)``.

    Notes
    -----
    The flow and the strain are computed at the frames' own resolution and the maps are resized
    afterwards (area averaging when shrinking, bilinear when enlarging), as in the references: resizing
    the frames first would erase the sub-pixel motion TV-L1 has to find. Flow values are not rescaled
    by the resize factor; with per-clip normalisation that scale cancels out.
    """
    bad = [c for c in channels if c not in FLOW_CHANNELS]
    if bad or not channels:
        raise ValueError(
            f"channels must be a non-empty subset of {FLOW_CHANNELS}, got {channels!r}"
        )
    hw = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    flow = tvl1_flow(onset_frame, apex_frame, **flow_params)
    u, v = flow[..., 0], flow[..., 1]
    maps = {"u": u, "v": v}
    if "strain" in channels:
        maps["strain"] = optical_strain(u, v)
    if "magnitude" in channels:
        maps["magnitude"] = np.hypot(u, v)
    out = np.empty((len(channels), *hw), dtype=np.float32)
    for i, name in enumerate(channels):
        out[i] = _normalise(_resize(maps[name].astype(np.float32), hw), normalise)
    return out
