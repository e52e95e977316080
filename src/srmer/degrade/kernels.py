"""Blur kernels of the Real-ESRGAN degradation model (and the plain Gaussian of Sharma et al.).

Written from the kernel definitions of Wang et al. (Real-ESRGAN, ICCVW 2021, section 3.1 and the
published ``degradations.py`` of BasicSR): isotropic / anisotropic Gaussian, generalized
Gaussian and plateau kernels on a ``k x k`` grid centred on the middle pixel, and the 2-D sinc
(circular low-pass) kernel.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = [
    "bivariate_kernel",
    "circular_lowpass_kernel",
    "gaussian_kernel",
    "random_mixed_kernel",
]

KERNEL_TYPES = (
    "iso",
    "aniso",
    "generalized_iso",
    "generalized_aniso",
    "plateau_iso",
    "plateau_aniso",
)


def _grid(k: int) -> np.ndarray:
    # Integer offsets -(k-1)/2..(k-1)/2 for odd k; (k, k, 2) with (x, y) in the last axis.
    ax = np.arange(-(k // 2), k // 2 + 1, dtype=np.float64)
    xx, yy = np.meshgrid(ax, ax)
    return np.stack([xx, yy], axis=-1)


def _quad_form(k: int, sig_x: float, sig_y: float, theta: float) -> np.ndarray:
    # d^T Sigma^-1 d with Sigma = R diag(sig_x^2, sig_y^2) R^T, R the rotation by theta.
    c, s = np.cos(theta), np.sin(theta)
    rot = np.array([[c, -s], [s, c]])
    cov = rot @ np.diag([sig_x**2, sig_y**2]) @ rot.T
    inv = np.linalg.inv(cov)
    g = _grid(k)
    return np.einsum("...i,ij,...j->...", g, inv, g)


def bivariate_kernel(
    k: int, sig_x: float, sig_y: float, theta: float, kind: str = "gaussian", beta: float = 1.0
) -> np.ndarray:
    """One anisotropic kernel, normalised to sum 1.

    Parameters
    ----------
    k : int
        Odd kernel size.
    sig_x, sig_y : float
        Standard deviations along the kernel's principal axes (pixels).
    theta : float
        Rotation of the principal axes (radians).
    kind : {"gaussian", "generalized", "plateau"}
        Gaussian ``exp(-q/2)``, generalized ``exp(-0.5 q^beta)`` or plateau
        ``1 / (q^beta + 1)``, with ``q = d^T Sigma^-1 d`` (Real-ESRGAN's definitions).
    beta : float
        Shape parameter of the generalized and plateau kernels.

    Returns
    -------
    ndarray
        ``(k, k)`` float64.
    """
    q = _quad_form(k, sig_x, sig_y, theta)
    if kind == "gaussian":
        ker = np.exp(-0.5 * q)
    elif kind == "generalized":
        ker = np.exp(-0.5 * np.power(q, beta))
    elif kind == "plateau":
        ker = 1.0 / (np.power(q, beta) + 1.0)
    else:
        raise ValueError(f"unknown kernel kind {kind!r}")
    return ker / ker.sum()


def gaussian_kernel(sigma: float, k: int | None = None) -> np.ndarray:
    """Isotropic Gaussian kernel ``(k, k)``, sum 1; ``k`` defaults to ``2 ceil(3 sigma) + 1``."""
    if k is None:
        k = 2 * int(np.ceil(3 * sigma)) + 1
    return bivariate_kernel(k, sigma, sigma, 0.0, "gaussian")


def circular_lowpass_kernel(cutoff: float, k: int, pad_to: int = 0) -> np.ndarray:
    """2-D sinc (ideal circular low-pass) kernel, sum 1.

    ``h(r) = cutoff J1(cutoff r) / (2 pi r)`` with ``h(0) = cutoff^2 / (4 pi)``, sampled on the
    ``k x k`` grid and normalised; models ringing and overshoot artefacts (Real-ESRGAN sec. 3.2).

    Parameters
    ----------
    cutoff : float
        Angular cut-off frequency ``omega_c`` in radians per pixel (0..pi).
    k : int
        Odd kernel size.
    pad_to : int
        Zero-pad to this odd size (0: no padding).
    """
    g = _grid(k)
    r = np.hypot(g[..., 0], g[..., 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        ker = cutoff * special.j1(cutoff * r) / (2 * np.pi * r)
    ker[k // 2, k // 2] = cutoff**2 / (4 * np.pi)
    ker = ker / ker.sum()
    if pad_to > k:
        p = (pad_to - k) // 2
        ker = np.pad(ker, p)
    return ker


def _beta(rng: np.random.Generator, lo: float, hi: float) -> float:
    # Real-ESRGAN draws beta below or above 1 with equal probability.
    return float(rng.uniform(lo, 1.0) if rng.uniform() < 0.5 else rng.uniform(1.0, hi))


def random_mixed_kernel(
    rng: np.random.Generator,
    k: int,
    probs: tuple[float, ...],
    sigma_range: tuple[float, float],
    betag_range: tuple[float, float] = (0.5, 4.0),
    betap_range: tuple[float, float] = (1.0, 2.0),
) -> tuple[np.ndarray, dict]:
    """Draw one of the six Real-ESRGAN kernel types with the given probabilities.

    Parameters
    ----------
    rng : numpy.random.Generator
    k : int
        Odd kernel size.
    probs : tuple of 6 floats
        Probabilities of ``KERNEL_TYPES`` (iso, aniso, generalized_iso, generalized_aniso,
        plateau_iso, plateau_aniso).
    sigma_range, betag_range, betap_range : (float, float)
        Uniform ranges of sigma (both axes), generalized beta and plateau beta.

    Returns
    -------
    kernel : ndarray
        ``(k, k)`` float64, sum 1.
    info : dict
        The drawn type and parameters (for logging).
    """
    p = np.asarray(probs, dtype=np.float64)
    kind = KERNEL_TYPES[int(rng.choice(len(KERNEL_TYPES), p=p / p.sum()))]
    sx = float(rng.uniform(*sigma_range))
    if kind.endswith("iso") and not kind.endswith("aniso"):
        sy, theta = sx, 0.0
    else:
        sy = float(rng.uniform(*sigma_range))
        theta = float(rng.uniform(-np.pi, np.pi))
    beta = 1.0
    if kind.startswith("generalized"):
        base, beta = "generalized", _beta(rng, *betag_range)
    elif kind.startswith("plateau"):
        base, beta = "plateau", _beta(rng, *betap_range)
    else:
        base = "gaussian"
    ker = bivariate_kernel(k, sx, sy, theta, base, beta)
    return ker, {
        "type": kind,
        "size": k,
        "sigma_x": sx,
        "sigma_y": sy,
        "theta": theta,
        "beta": beta,
    }
