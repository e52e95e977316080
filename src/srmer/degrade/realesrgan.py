"""Real-ESRGAN's second-order degradation, written with numpy / SciPy / OpenCV.

Wang, Xie, Dong, Shan, "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure
Synthetic Data", ICCVW 2021, section 3 and the published training options
(``train_realesrnet_x4plus.yml``): two rounds of blur -> random resize -> noise -> JPEG, then a
final resize to the target size combined with a sinc filter and JPEG in random order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from srmer.degrade.kernels import circular_lowpass_kernel, random_mixed_kernel
from srmer.degrade.models import (
    Degradation,
    _as_float4,
    _filter_frames,
    _gaussian_noise,
    _jpeg_frames,
    _poisson_noise,
    _resize_frames,
    _to_uint8,
)
from srmer.errors import ConfigError

__all__ = ["REALESRGAN_DEFAULTS", "RealESRGANDegradation"]

#: The published parameter ranges (Real-ESRGAN x4plus options).
REALESRGAN_DEFAULTS: dict[str, Any] = {
    # stage 1
    "kernel_sizes": [7, 9, 11, 13, 15, 17, 19, 21],
    "kernel_prob": [0.45, 0.25, 0.12, 0.03, 0.12, 0.03],
    "blur_sigma": [0.2, 3.0],
    "betag_range": [0.5, 4.0],
    "betap_range": [1.0, 2.0],
    "sinc_prob": 0.1,
    "resize_prob": [0.2, 0.7, 0.1],  # up, down, keep
    "resize_range": [0.15, 1.5],
    "gaussian_noise_prob": 0.5,
    "noise_range": [1.0, 30.0],
    "poisson_scale_range": [0.05, 3.0],
    "gray_noise_prob": 0.4,
    "jpeg_range": [30, 95],
    # stage 2
    "second_blur_prob": 0.8,
    "kernel_prob2": [0.45, 0.25, 0.12, 0.03, 0.12, 0.03],
    "blur_sigma2": [0.2, 1.5],
    "betag_range2": [0.5, 4.0],
    "betap_range2": [1.0, 2.0],
    "sinc_prob2": 0.1,
    "resize_prob2": [0.3, 0.4, 0.3],
    "resize_range2": [0.3, 1.2],
    "gaussian_noise_prob2": 0.5,
    "noise_range2": [1.0, 25.0],
    "poisson_scale_range2": [0.05, 2.5],
    "gray_noise_prob2": 0.4,
    "jpeg_range2": [30, 95],
    # final
    "final_sinc_prob": 0.8,
}

_MODES = ("area", "bilinear", "bicubic")


class RealESRGANDegradation(Degradation):
    """Real-ESRGAN's high-order degradation, one random draw per clip.

    Parameters
    ----------
    **overrides
        Any key of :data:`REALESRGAN_DEFAULTS` (e.g. ``noise_range: [1, 10]`` or
        ``second_blur_prob: 0``) replaces the published value.

    Notes
    -----
    Per clip, ONE set of random choices is drawn (kernel types, sizes and shapes, resize
    directions, scales and modes, noise kinds and levels, grey-noise flags, JPEG qualities, the
    order of the final steps) and applied to every frame; only the noise fields themselves are
    drawn per frame. The two stages then the final step:

    1. blur with kernel 1 (six Gaussian-family kernels with probabilities ``kernel_prob`` and
       odd size 7..21, or a sinc kernel with ``sinc_prob``); resize up / down / keep
       (``resize_prob``) by a factor from ``resize_range`` with area / bilinear / bicubic;
       Gaussian noise (sigma 1..30 of 255) or Poisson noise (scale 0.05..3), grey with
       probability 0.4; JPEG with quality 30..95.
    2. blur with kernel 2 with probability 0.8 (sigma 0.2..1.5); resize to ``size * s2`` with
       s2 from 0.3..1.2 (up/down/keep .3/.4/.3); noise (sigma 1..25, Poisson 0.05..2.5); then
    3. in random order (p = 0.5 each): [resize to ``size`` + sinc filter] then JPEG, or JPEG
       then [resize + sinc]; the sinc filter (size 7..21, cut-off pi/3..pi) is applied with
       probability 0.8 (identity otherwise); clip and round to 8 bit.

    Deviations from the reference code, all deliberate: JPEG is libjpeg through
    ``cv2.imencode`` (the training code uses a differentiable JPEG approximation, DiffJPEG);
    the random resizes use OpenCV's area / bilinear / bicubic (the reference uses torch
    ``interpolate``: OpenCV's bicubic has the same a = -0.75 kernel and neither antialiases,
    but OpenCV's ``INTER_AREA`` upsampling is bilinear-like where torch's is nearest); the
    reference keeps a square 400-px crop and a fixed x4 scale, here the stage-2 and final
    sizes are derived from the requested LR ``size`` (stage 2 targets ``size * s2`` as the
    reference targets ``H/scale * s2``).

    References
    ----------
    X. Wang, L. Xie, C. Dong, Y. Shan, "Real-ESRGAN: Training Real-World Blind Super-Resolution
    with Pure Synthetic Data", ICCV Workshops 2021.
    """

    name = "realesrgan"
    description = "Real-ESRGAN second-order blur/resize/noise/JPEG pipeline (published ranges)"

    def __init__(self, **overrides: Any) -> None:
        unknown = sorted(set(overrides) - set(REALESRGAN_DEFAULTS))
        if unknown:
            raise ConfigError(
                f"degradation 'realesrgan': unknown parameter(s) {unknown}; "
                f"known: {sorted(REALESRGAN_DEFAULTS)}"
            )
        cfg = {**REALESRGAN_DEFAULTS, **overrides}
        for key in ("kernel_prob", "kernel_prob2"):
            if len(cfg[key]) != 6 or min(cfg[key]) < 0 or sum(cfg[key]) <= 0:
                raise ConfigError(
                    f"degradation 'realesrgan': {key} needs 6 non-negative weights, got {cfg[key]!r}"
                )
        for key in ("resize_prob", "resize_prob2"):
            if len(cfg[key]) != 3 or min(cfg[key]) < 0 or sum(cfg[key]) <= 0:
                raise ConfigError(
                    f"degradation 'realesrgan': {key} needs 3 weights (up, down, keep), got {cfg[key]!r}"
                )
        if any(k % 2 == 0 or k < 3 for k in cfg["kernel_sizes"]):
            raise ConfigError("degradation 'realesrgan': kernel_sizes must be odd integers >= 3")
        self.cfg = cfg
        self.params = dict(overrides)

    # ---------------------------------------------------------------------------------------

    def _kernel(self, rng: np.random.Generator, stage: int) -> np.ndarray:
        c = self.cfg
        suf = "" if stage == 1 else "2"
        k = int(rng.choice(c["kernel_sizes"]))
        if rng.uniform() < c["sinc_prob" + suf]:
            # Larger kernels allow lower cut-offs (Real-ESRGAN: pi/3..pi below 13 px, else pi/5..pi).
            lo = np.pi / 3 if k < 13 else np.pi / 5
            return circular_lowpass_kernel(float(rng.uniform(lo, np.pi)), k)
        ker, _ = random_mixed_kernel(
            rng,
            k,
            tuple(c["kernel_prob" + suf]),
            tuple(c["blur_sigma" + suf]),
            tuple(c["betag_range" + suf]),
            tuple(c["betap_range" + suf]),
        )
        return ker

    @staticmethod
    def _resize_choice(rng: np.random.Generator, probs, rng_range) -> tuple[float, str]:
        p = np.asarray(probs, dtype=np.float64)
        kind = ("up", "down", "keep")[int(rng.choice(3, p=p / p.sum()))]
        if kind == "up":
            s = float(rng.uniform(1.0, rng_range[1]))
        elif kind == "down":
            s = float(rng.uniform(rng_range[0], 1.0))
        else:
            s = 1.0
        return s, _MODES[int(rng.integers(3))]

    def _noise_plan(self, rng: np.random.Generator, stage: int) -> tuple[str, float, bool]:
        c = self.cfg
        suf = "" if stage == 1 else "2"
        if rng.uniform() < c["gaussian_noise_prob" + suf]:
            kind, level = "gaussian", float(rng.uniform(*c["noise_range" + suf]))
        else:
            kind, level = "poisson", float(rng.uniform(*c["poisson_scale_range" + suf]))
        grey = bool(rng.uniform() < c["gray_noise_prob" + suf])
        return kind, level, grey

    def plan(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw the per-clip random choices (exposed for inspection and tests)."""
        c = self.cfg
        p: dict[str, Any] = {}
        p["kernel1"] = self._kernel(rng, 1)
        p["kernel2"] = self._kernel(rng, 2)
        p["final_sinc"] = None
        if rng.uniform() < c["final_sinc_prob"]:
            k = int(rng.choice(c["kernel_sizes"]))
            p["final_sinc"] = circular_lowpass_kernel(float(rng.uniform(np.pi / 3, np.pi)), k)
        p["resize1"] = self._resize_choice(rng, c["resize_prob"], c["resize_range"])
        p["noise1"] = self._noise_plan(rng, 1)
        p["jpeg1"] = round(float(rng.uniform(*c["jpeg_range"])))
        p["blur2"] = bool(rng.uniform() < c["second_blur_prob"])
        p["resize2"] = self._resize_choice(rng, c["resize_prob2"], c["resize_range2"])
        p["noise2"] = self._noise_plan(rng, 2)
        p["resize_first"] = bool(rng.uniform() < 0.5)
        p["final_mode"] = _MODES[int(rng.integers(3))]
        p["jpeg2"] = round(float(rng.uniform(*c["jpeg_range2"])))
        return p

    @staticmethod
    def _add_noise(x: np.ndarray, plan, rng: np.random.Generator) -> np.ndarray:
        kind, level, grey = plan
        if x.shape[-1] == 1:
            grey = False  # grey clips: the noise is single-channel anyway
        if kind == "gaussian":
            return _gaussian_noise(x, level, grey, rng)
        return _poisson_noise(x, level, grey, rng)

    def _degrade(self, clip: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        grey = clip.ndim == 3
        p = self.plan(rng)
        x = _as_float4(clip)
        h0, w0 = x.shape[1:3]
        # ---- stage 1
        x = _filter_frames(x, p["kernel1"])
        s1, mode1 = p["resize1"]
        x = _resize_frames(x, int(h0 * s1), int(w0 * s1), mode1)
        x = self._add_noise(x, p["noise1"], rng)
        x = _jpeg_frames(np.clip(x, 0, 1), p["jpeg1"])
        # ---- stage 2
        if p["blur2"]:
            x = _filter_frames(x, p["kernel2"])
        s2, mode2 = p["resize2"]
        x = _resize_frames(x, int(size * s2), int(size * s2), mode2)
        x = self._add_noise(x, p["noise2"], rng)
        # ---- final: resize + sinc and JPEG, in random order
        if p["resize_first"]:
            x = _resize_frames(x, size, size, p["final_mode"])
            if p["final_sinc"] is not None:
                x = _filter_frames(x, p["final_sinc"])
            x = _jpeg_frames(np.clip(x, 0, 1), p["jpeg2"])
        else:
            x = _jpeg_frames(np.clip(x, 0, 1), p["jpeg2"])
            x = _resize_frames(x, size, size, p["final_mode"])
            if p["final_sinc"] is not None:
                x = _filter_frames(x, p["final_sinc"])
        return _to_uint8(x, grey)
