"""Temporal consistency of super-resolved clips: flow-based warping error against the HR clip.

PSNR/SSIM (what the papers report) score frames one by one and miss flicker: an SR method may
hallucinate different texture in consecutive frames, which hurts sequence-based MER (Zhou et al., Q2,
discussing GLEAN 16to256). This metric compares the motion-compensated frame-to-frame change of the SR
clip with that of the HR clip.

Definition
----------
For each consecutive pair (t, t+1), optical flow ``f`` from HR frame t+1 to HR frame t is computed on
the HR clip (OpenCV DIS, medium preset, on the grey frames; Farneback optional), so that
``W(I_t)(x) = I_t(x + f(x))`` (bilinear) predicts frame t+1. The temporal residual of a clip is
``R_t = I_{t+1} - W(I_t)``. The score is

    TWE = mean over pairs and valid pixels of |R_t(SR) - R_t(HR)|   (grey levels, 0..255; lower is better)

averaged over RGB channels. Valid pixels are those whose flow passes a forward-backward consistency
check (Sundaram et al. 2010: ``|f_b + f_f(x + f_b)|^2 <= 0.01 (|f_b|^2 + |f_f(x + f_b)|^2) + 0.5``)
and whose source position lies inside the frame, so occlusions and borders do not count.

A perfect SR clip scores 0, as does any SR clip differing from HR by a temporally constant error
(a uniform colour shift, a fixed pattern that moves with the content); per-frame flicker does not.
Because the flow comes from the HR clip, the same motion is used for every SR method compared.

Differences from the literature: Lai et al. (ECCV 2018) report the warping error of the output alone
(``|R_t(SR)|`` with flow from the output); subtracting the HR residual makes the score 0 for the
ground truth and insensitive to illumination changes and motion the flow cannot explain.

References
----------
Lai, Huang, Wang, Shechtman, Yumer & Yang, "Learning Blind Video Temporal Consistency", ECCV 2018.
Sundaram, Brox & Keutzer, "Dense Point Trajectories by GPU-accelerated Large Displacement Optical
Flow", ECCV 2010. Kroeger et al., "Fast Optical Flow using Dense Inverse Search", ECCV 2016.
"""

from __future__ import annotations

import cv2
import numpy as np

from srmer.errors import SrmerError

__all__ = ["hr_flows", "temporal_consistency", "temporal_residuals", "warping_errors"]


def _grey(frame: np.ndarray) -> np.ndarray:
    if frame.dtype != np.uint8:  # float frames in grey levels: the flow estimators take 8-bit
        frame = np.clip(np.round(frame), 0, 255).astype(np.uint8)
    if frame.ndim == 3:
        frame = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(frame)


def _flow(a: np.ndarray, b: np.ndarray, method: str, dis=None) -> np.ndarray:
    """Flow f with a(x) ~ b(x + f(x)); (H, W, 2) float32, channel 0 horizontal."""
    if method == "dis":
        if dis is None:
            dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return dis.calc(a, b, None)
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    raise SrmerError(f"temporal_consistency: flow must be 'dis' or 'farneback', got {method!r}")


def _warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        img.astype(np.float32),
        gx + flow[..., 0],
        gy + flow[..., 1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def hr_flows(hr_clip: np.ndarray, method: str = "dis") -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Backward flows of an HR clip and their validity masks.

    Parameters
    ----------
    hr_clip : ndarray
        ``(T, H, W, 3)`` RGB or ``(T, H, W)`` grey, uint8.
    method : {"dis", "farneback"}

    Returns
    -------
    flows : list of ndarray
        ``T-1`` arrays ``(H, W, 2)`` float32: ``flows[t]`` maps frame t+1 onto frame t.
    masks : list of ndarray
        ``T-1`` boolean ``(H, W)``: forward-backward consistent and inside the frame.
    """
    grey = [_grey(f) for f in np.asarray(hr_clip)]
    h, w = grey[0].shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) if method == "dis" else None
    flows, masks = [], []
    for t in range(len(grey) - 1):
        fb = _flow(grey[t + 1], grey[t], method, dis)  # frame t+1 -> frame t
        ff = _flow(grey[t], grey[t + 1], method, dis)  # frame t -> frame t+1
        ff_at = np.stack([_warp(ff[..., 0], fb), _warp(ff[..., 1], fb)], axis=-1)
        err = np.sum((fb + ff_at) ** 2, axis=-1)
        bound = 0.01 * (np.sum(fb**2, -1) + np.sum(ff_at**2, -1)) + 0.5
        sx, sy = gx + fb[..., 0], gy + fb[..., 1]
        inside = (sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)
        flows.append(fb)
        masks.append((err <= bound) & inside)
    return flows, masks


def temporal_residuals(clip: np.ndarray, flows: list[np.ndarray]) -> np.ndarray:
    """``R_t = I_{t+1} - W(I_t)`` for every pair: ``(T-1, H, W[, C])`` float32 in grey levels."""
    arr = np.asarray(clip).astype(np.float32)
    return np.stack([arr[t + 1] - _warp(arr[t], flows[t]) for t in range(len(arr) - 1)])


def _check(sr: np.ndarray, hr: np.ndarray) -> None:
    if sr.shape != hr.shape:
        raise SrmerError(
            f"temporal_consistency: SR clip {sr.shape} and HR clip {hr.shape} differ in shape "
            "(upscale the SR clip to the HR size first)"
        )
    if sr.ndim not in (3, 4) or sr.shape[0] < 2:
        raise SrmerError(
            f"temporal_consistency needs clips (T, H, W[, 3]) with T >= 2, got shape {sr.shape}"
        )


def warping_errors(
    sr_clip: np.ndarray, hr_clip: np.ndarray, method: str = "dis"
) -> dict[str, np.ndarray]:
    """Per-pair warping errors (grey levels) of the SR and HR clips and of their difference.

    Returns
    -------
    dict
        ``"sr"``: mean ``|R_t(SR)|``, ``"hr"``: mean ``|R_t(HR)|``, ``"diff"``: mean
        ``|R_t(SR) - R_t(HR)|``, each a ``(T-1,)`` float64 array over the valid pixels of each pair
        (NaN for a pair without valid pixels); ``"valid"``: fraction of valid pixels per pair.
    """
    sr, hr = np.asarray(sr_clip), np.asarray(hr_clip)
    _check(sr, hr)
    flows, masks = hr_flows(hr, method)
    r_sr = temporal_residuals(sr, flows)
    r_hr = temporal_residuals(hr, flows)
    out: dict[str, list[float]] = {"sr": [], "hr": [], "diff": [], "valid": []}
    for t, m in enumerate(masks):
        out["valid"].append(float(m.mean()))
        if not m.any():
            for k in ("sr", "hr", "diff"):
                out[k].append(float("nan"))
            continue
        out["sr"].append(float(np.abs(r_sr[t][m]).mean()))
        out["hr"].append(float(np.abs(r_hr[t][m]).mean()))
        out["diff"].append(float(np.abs(r_sr[t][m] - r_hr[t][m]).mean()))
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def temporal_consistency(sr_clip: np.ndarray, hr_clip: np.ndarray, method: str = "dis") -> float:
    """Temporal warping error of an SR clip relative to its HR clip (module docstring; lower is better).

    Parameters
    ----------
    sr_clip, hr_clip : ndarray
        ``(T, H, W, 3)`` RGB or ``(T, H, W)`` grey, uint8 (or float in grey levels 0..255), same
        shape, ``T >= 2``.
    method : {"dis", "farneback"}
        Optical flow computed on the HR clip.

    Returns
    -------
    float
        Mean over frame pairs of the mean ``|R_t(SR) - R_t(HR)|`` over valid pixels, in grey levels
        (0..255); NaN when no pair has a valid pixel.

    Examples
    --------
    >>> import numpy as np
    >>> hr = np.tile((np.arange(32) * 8).astype(np.uint8), (3, 32, 1))  # 3 grey 32x32 frames
    >>> temporal_consistency(hr, hr)
    0.0
    >>> flicker = hr.copy()
    >>> flicker[1] += 4
    >>> round(temporal_consistency(flicker, hr), 1)
    4.0
    """
    diff = warping_errors(sr_clip, hr_clip, method)["diff"]
    if np.all(np.isnan(diff)):
        return float("nan")
    return float(np.nanmean(diff))
