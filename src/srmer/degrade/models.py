"""Seeded clip degradations (HR clip -> LR clip) and their registry.

Each degradation is a class with ``degrade(clip, size, seed) -> clip`` taking a uint8 clip
``(T, H, W[, 3])`` and returning ``(T, size, size[, 3])`` uint8. Random parameters are drawn
ONCE per clip from ``numpy.random.default_rng(seed)`` and applied to every frame (a camera does
not change its blur or compression from frame to frame, and a per-frame draw would add a
temporal flicker that micro-expression features would pick up); per-pixel noise is drawn
independently for every frame, like sensor noise. The same seed gives the same output.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import cv2
import numpy as np

from srmer.degrade.imresize import imresize, resize_clip
from srmer.degrade.kernels import gaussian_kernel
from srmer.errors import ConfigError

__all__ = [
    "BicubicDegradation",
    "BlurNoiseDegradation",
    "Degradation",
    "JpegDegradation",
    "bicubic_degrade",
]


def _check_clip(clip: np.ndarray, name: str) -> np.ndarray:
    clip = np.asarray(clip)
    if clip.dtype != np.uint8 or clip.ndim not in (3, 4) or (clip.ndim == 4 and clip.shape[3] != 3):
        raise ConfigError(
            f"degradation {name!r}: expected a uint8 clip (T, H, W) or (T, H, W, 3), "
            f"got {clip.dtype} {clip.shape}"
        )
    return clip


class Degradation(ABC):
    """Base class: a seeded HR -> LR clip degradation.

    Subclasses declare ``name`` and ``description``, take their parameters as keyword
    arguments (validated in ``__init__``) and implement :meth:`_degrade`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: bump when outputs change, so cached LR clips are recomputed
    version: ClassVar[int] = 1

    def __init__(self, **params: Any) -> None:
        if params:
            raise ConfigError(
                f"degradation {self.name!r} takes no parameter(s) {sorted(params)}; "
                "remove them from the config's degradation entry"
            )
        self.params: dict[str, Any] = {}

    def degrade(self, clip: np.ndarray, size: int, seed: int | None = 0) -> np.ndarray:
        """Degrade a clip.

        Parameters
        ----------
        clip : ndarray
            ``(T, H, W, 3)`` RGB or ``(T, H, W)`` grey, uint8.
        size : int
            Output side (e.g. 16, 32, 64, 128).
        seed : int or None
            Seed of the clip's random draws (the benchmark derives it from the config seed and
            the clip id); ignored by deterministic degradations.

        Returns
        -------
        ndarray
            ``(T, size, size[, 3])`` uint8.
        """
        clip = _check_clip(clip, self.name)
        if int(size) < 1:
            raise ConfigError(f"degradation {self.name!r}: size must be positive, got {size}")
        out = self._degrade(clip, int(size), np.random.default_rng(seed))
        assert out.dtype == np.uint8 and out.shape == (clip.shape[0], size, size, *clip.shape[3:])
        return out

    __call__ = degrade

    @abstractmethod
    def _degrade(self, clip: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray: ...

    def cache_params(self) -> dict[str, Any]:
        """Everything that determines the output (for cache keys)."""
        return {"name": self.name, "version": self.version, **self.params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


class BicubicDegradation(Degradation):
    """Zhou et al.'s degradation: MATLAB bicubic downsampling (antialiased) of every frame.

    Deterministic; the seed is ignored.
    """

    name = "bicubic"
    description = "MATLAB-compatible bicubic downsampling (Zhou et al.)"

    def _degrade(self, clip: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        return resize_clip(clip, size)


def bicubic_degrade(clip: np.ndarray, size: int) -> np.ndarray:
    """Zhou et al.'s LR clip: MATLAB bicubic (antialiased) down to ``size`` x ``size``.

    Parameters
    ----------
    clip : ndarray
        ``(T, H, W, 3)`` or ``(T, H, W)`` uint8.
    size : int
        Output side.

    Returns
    -------
    ndarray
        ``(T, size, size[, 3])`` uint8.
    """
    return BicubicDegradation().degrade(clip, size)


# --------------------------------------------------------------------------------------------
# helpers shared by the stochastic degradations


def _range(value: Any, name: str, deg: str, lo: float = 0.0, hi: float = float("inf")) -> tuple:
    """Validate a parameter given as a number or a ``[low, high]`` range; returns (low, high)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        pair = (float(value), float(value))
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        pair = (float(value[0]), float(value[1]))
    else:
        raise ConfigError(
            f"degradation {deg!r}: {name} must be a number or [low, high], got {value!r}"
        )
    if not (lo <= pair[0] <= pair[1] <= hi):
        raise ConfigError(
            f"degradation {deg!r}: {name}={value!r} must satisfy {lo} <= low <= high <= {hi}"
        )
    return pair


def _draw(rng: np.random.Generator, pair: tuple[float, float]) -> float:
    # A fixed value consumes no random number, so fixing one parameter does not shift the others.
    return pair[0] if pair[0] == pair[1] else float(rng.uniform(*pair))


def _as_float4(clip: np.ndarray) -> np.ndarray:
    # (T, H, W[, 3]) uint8 -> (T, H, W, C) float32 in 0..1; grey clips get a channel axis.
    x = clip.astype(np.float32) / 255.0
    return x if x.ndim == 4 else x[..., None]


def _to_uint8(x: np.ndarray, grey: bool) -> np.ndarray:
    out = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
    return out[..., 0] if grey else out


def _filter_frames(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    # Correlation with reflect-101 padding (torch's F.pad 'reflect' + conv2d, as Real-ESRGAN).
    k = kernel.astype(np.float32)
    out = np.empty_like(x)
    for t in range(x.shape[0]):
        f = cv2.filter2D(x[t], -1, k, borderType=cv2.BORDER_REFLECT_101)
        out[t] = f.reshape(x.shape[1:])
    return out


_CV_MODES = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}


def _resize_frames(x: np.ndarray, h: int, w: int, mode: str) -> np.ndarray:
    h, w = max(1, int(h)), max(1, int(w))
    if (h, w) == x.shape[1:3]:
        return x
    out = np.empty((x.shape[0], h, w, x.shape[3]), np.float32)
    for t in range(x.shape[0]):
        out[t] = cv2.resize(x[t], (w, h), interpolation=_CV_MODES[mode]).reshape(h, w, -1)
    return out


def _jpeg_frames(x: np.ndarray, quality: int) -> np.ndarray:
    # Round-trip every frame through OpenCV's libjpeg encoder (4:2:0 chroma for colour frames).
    q = int(quality)
    out = np.empty_like(x)
    for t in range(x.shape[0]):
        f8 = np.clip(np.rint(x[t] * 255.0), 0, 255).astype(np.uint8)
        if f8.shape[2] == 3:
            f8 = cv2.cvtColor(f8, cv2.COLOR_RGB2BGR)
        else:
            f8 = f8[..., 0]
        ok, buf = cv2.imencode(".jpg", f8, [cv2.IMWRITE_JPEG_QUALITY, q])
        if not ok:  # pragma: no cover - libjpeg failure
            raise RuntimeError("OpenCV could not JPEG-encode a frame")
        dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        if dec.ndim == 3:
            dec = cv2.cvtColor(dec, cv2.COLOR_BGR2RGB)
        out[t] = dec.reshape(x.shape[1:]).astype(np.float32) / 255.0
    return out


def _grey(x: np.ndarray) -> np.ndarray:
    # Luma with torchvision's rgb_to_grayscale weights (as Real-ESRGAN), keeps a channel axis.
    if x.shape[-1] == 1:
        return x
    return (0.2989 * x[..., 0:1] + 0.587 * x[..., 1:2] + 0.114 * x[..., 2:3]).astype(np.float32)


def _gaussian_noise(
    x: np.ndarray, sigma255: float, grey: bool, rng: np.random.Generator
) -> np.ndarray:
    # Independent noise per pixel and frame; grey noise is one field shared by all channels.
    shape = (*x.shape[:3], 1) if grey else x.shape
    noise = rng.standard_normal(shape, dtype=np.float32) * np.float32(sigma255 / 255.0)
    return np.clip(x + noise, 0.0, 1.0)


def _poisson_noise(x: np.ndarray, scale: float, grey: bool, rng: np.random.Generator) -> np.ndarray:
    # Real-ESRGAN: quantise to 8 bit, count the distinct values v, vals = 2^ceil(log2 v), draw
    # Poisson(img * vals) / vals; the noise (draw - img) is scaled and added to the unquantised
    # frame. Grey noise is computed on the luma (converted, then quantised) and shared by the
    # channels. Per frame.
    out = np.empty_like(x)
    for t in range(x.shape[0]):
        src = _grey(x[t][None])[0] if grey else x[t]
        img = np.clip(np.rint(src * 255.0), 0, 255) / 255.0
        vals = 2.0 ** np.ceil(np.log2(len(np.unique(img))))
        noise = rng.poisson(img * vals).astype(np.float64) / vals - img
        out[t] = np.clip(x[t] + scale * noise, 0.0, 1.0)
    return out


# --------------------------------------------------------------------------------------------


class BlurNoiseDegradation(Degradation):
    """Sharma et al.'s degradation ``L = S Y Z + x``: Gaussian blur, downsampling, additive noise.

    Parameters
    ----------
    blur_sigma : float or [low, high]
        Standard deviation of the isotropic Gaussian blur ``Y`` in HR pixels (a range is drawn
        uniformly once per clip). Default 1.6, the "BD" setting of the SR literature (Zhang et
        al., RDN, CVPR 2018); Sharma et al. gives no value. 0 disables the blur.
    blur_size : int, optional
        Odd kernel side; default ``2 ceil(3 sigma) + 1``.
    downsample : {"bicubic", "decimate"}
        ``S``: MATLAB bicubic ``imresize`` (antialiased; default, so the blur adds to the
        bicubic low-pass) or direct decimation (the nearest HR pixel to each LR pixel centre,
        i.e. every s-th pixel for integer factors; only the blur prevents aliasing).
    noise_sigma : float or [low, high]
        Standard deviation of the additive white Gaussian noise ``x`` in grey levels (0..255),
        added at the LR resolution, drawn independently per pixel and frame. Default 0: seed
        001 applies only blur and down-sampling (sec. 2.1) and names the noise term without a
        level.

    Notes
    -----
    Order: blur (reflect-101 borders) -> downsample -> noise -> round and clip to uint8.
    References: Sharma et al. (Sharma et al.) eq. (1); Li et al. 2019 for the model.
    """

    name = "blur_noise"
    description = (
        "Sharma et al.: Gaussian blur -> downsample -> additive Gaussian noise (L = S Y Z + x)"
    )

    def __init__(
        self,
        blur_sigma: float | list[float] = 1.6,
        blur_size: int | None = None,
        downsample: str = "bicubic",
        noise_sigma: float | list[float] = 0.0,
    ) -> None:
        self._sigma = _range(blur_sigma, "blur_sigma", self.name, 0.0, 50.0)
        self._noise = _range(noise_sigma, "noise_sigma", self.name, 0.0, 255.0)
        if blur_size is not None and (
            int(blur_size) != blur_size or blur_size < 1 or blur_size % 2 == 0
        ):
            raise ConfigError(
                f"degradation {self.name!r}: blur_size must be an odd positive int, got {blur_size!r}"
            )
        if downsample not in ("bicubic", "decimate"):
            raise ConfigError(
                f"degradation {self.name!r}: downsample must be 'bicubic' or 'decimate', got {downsample!r}"
            )
        self.params = {
            "blur_sigma": blur_sigma,
            "blur_size": blur_size,
            "downsample": downsample,
            "noise_sigma": noise_sigma,
        }

    def _degrade(self, clip: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        grey = clip.ndim == 3
        sigma = _draw(rng, self._sigma)
        nsig = _draw(rng, self._noise)
        x = clip.astype(np.float32)
        x = x if x.ndim == 4 else x[..., None]
        if sigma > 0:
            x = _filter_frames(x, gaussian_kernel(sigma, self.params["blur_size"]))
        if self.params["downsample"] == "bicubic":
            x = imresize(x.astype(np.float64), size=size, axes=(1, 2))
        else:
            h, w = x.shape[1:3]
            # nearest HR sample to each LR pixel centre (0-based continuous coordinates)
            ri = np.clip(np.floor((np.arange(size) + 0.5) * h / size), 0, h - 1).astype(int)
            ci = np.clip(np.floor((np.arange(size) + 0.5) * w / size), 0, w - 1).astype(int)
            x = x[:, ri][:, :, ci]
        if nsig > 0:
            x = x + rng.standard_normal(x.shape) * nsig
        out = np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)
        return out[..., 0] if grey else out


class JpegDegradation(Degradation):
    """MATLAB bicubic downsampling followed by JPEG compression of every frame.

    Parameters
    ----------
    quality : int or [low, high]
        libjpeg quality 1..100 (OpenCV ``IMWRITE_JPEG_QUALITY``); a range is drawn uniformly
        once per clip. Default 50.
    resize_first : bool
        Compress the LR frames (default: a compressed low-resolution stream) or compress at HR
        and then downsample.
    """

    name = "jpeg"
    description = "bicubic downsampling + JPEG compression (quality fixed or drawn per clip)"

    def __init__(self, quality: int | list[int] = 50, resize_first: bool = True) -> None:
        self._q = _range(quality, "quality", self.name, 1, 100)
        self.params = {"quality": quality, "resize_first": bool(resize_first)}

    def _degrade(self, clip: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        grey = clip.ndim == 3
        q = round(_draw(rng, self._q))
        if self.params["resize_first"]:
            return _to_uint8(_jpeg_frames(_as_float4(resize_clip(clip, size)), q), grey)
        jp = _to_uint8(_jpeg_frames(_as_float4(clip), q), grey)
        return resize_clip(jp, size)
