"""Temporal normalisation: the temporal interpolation model (TIM) and linear interpolation.

TIM (Zhou, Zhao, Pietikainen, "Towards a practical lipreading system", CVPR 2011; used for
micro-expressions by Pfister et al. ICCV 2011 and by Zhou et al. to bring clips to 16 frames)
embeds the N frames of a clip on a path graph, maps the graph's Laplacian eigenvectors (sampled
sinusoids) linearly onto the frames, and reads the continuous curve at new positions.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from srmer.errors import SrmerError

__all__ = ["TIMRankWarning", "linear_interpolate", "tim_interpolate"]


_RANK_RTOL = 1e-6


class TIMRankWarning(UserWarning):
    """TIM's rank condition failed (e.g. duplicated frames); linear interpolation was used."""


def _check(clip: np.ndarray, n_out: int, what: str) -> np.ndarray:
    clip = np.asarray(clip)
    if clip.ndim < 2 or clip.shape[0] < 1:
        raise SrmerError(f"{what}: expected a clip (T, ...) with T >= 1, got shape {clip.shape}")
    if int(n_out) != n_out or n_out < 1:
        raise SrmerError(f"{what}: n_out must be a positive integer, got {n_out!r}")
    return clip


def _finish(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    if like.dtype == np.uint8:
        return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)
    return out


def linear_interpolate(clip: np.ndarray, n_out: int) -> np.ndarray:
    """Resample a clip to ``n_out`` frames by linear interpolation in time.

    Parameters
    ----------
    clip : ndarray
        ``(T, ...)`` frames (uint8 or float).
    n_out : int
        Number of output frames; they sit at ``linspace(0, T-1, n_out)`` (first and last
        frames kept).

    Returns
    -------
    ndarray
        ``(n_out, ...)``; uint8 in -> rounded uint8 out, float in -> float64 out.
    """
    clip = _check(clip, n_out, "linear_interpolate")
    t_n = clip.shape[0]
    x = clip.astype(np.float64)
    if t_n == 1:
        return _finish(np.repeat(x, n_out, axis=0), clip)
    pos = np.linspace(0.0, t_n - 1, int(n_out))
    i0 = np.clip(np.floor(pos).astype(int), 0, t_n - 2)
    frac = (pos - i0).reshape(-1, *([1] * (clip.ndim - 1)))
    out = (1.0 - frac) * x[i0] + frac * x[i0 + 1]
    return _finish(out, clip)


def _path_laplacian_eigvecs(n: int) -> np.ndarray:
    # Laplacian L = D - A of the path graph on n nodes; eigenvectors by ascending eigenvalue.
    a = np.zeros((n, n))
    idx = np.arange(n - 1)
    a[idx, idx + 1] = a[idx + 1, idx] = 1.0
    lap = np.diag(a.sum(axis=1)) - a
    _, vecs = np.linalg.eigh(lap)
    return vecs


def tim_interpolate(
    clip: np.ndarray, n_out: int, return_info: bool = False
) -> np.ndarray | tuple[np.ndarray, dict[str, Any]]:
    """Resample a clip to ``n_out`` frames with the temporal interpolation model (TIM).

    Parameters
    ----------
    clip : ndarray
        ``(N, ...)`` frames (e.g. ``(N, H, W, 3)`` uint8); each frame is one column of the
        ``d x N`` data matrix.
    n_out : int
        Output frames, read at positions ``linspace(0, 1, n_out)`` of the curve; position
        ``i / (N-1)`` is input frame ``i``.
    return_info : bool
        Also return ``{"method": "tim" | "linear", "reason": str}``.

    Returns
    -------
    ndarray or (ndarray, dict)
        ``(n_out, ...)``; uint8 in -> rounded, clipped uint8 out; float in -> float64 out.

    Warns
    -----
    TIMRankWarning
        The frames are not linearly independent (rank < N, e.g. duplicated frames) or N < 2:
        TIM is undefined, and :func:`linear_interpolate` is used instead (``info["method"]``
        says so, for the report).

    Notes
    -----
    As in Zhou et al.'s reference code: subtract the mean frame; economy SVD
    ``X = U S V^T``, keep N-1 components, ``Q = S V^T``; take the path-graph Laplacian's
    eigenvectors without the constant one (``V0``, N x N-1); ``W = (Q Q^T)^-1 Q V0``;
    ``m_j = Q[:,0]^T W[:,j] / sin(j pi/N + pi (N-j)/(2N))``. A position ``p`` in [0, 1] maps to
    ``p' = p (1 - 1/N) + 1/N``, ``v_j = sin(p' j pi + pi (N-j)/(2N))``, and the frame is
    ``U (W^T \\ (v * m)) + mean``. The SVD is computed from the N x N Gram matrix, and frames
    whose singular values fall below 1e-6 of the largest count as linearly dependent. The curve
    passes through every input frame, so
    ``n_out == N`` (or any ``n_out`` with ``(n_out-1)`` a multiple of ``(N-1)``) reproduces
    the input frames, and between them it is a sum of smooth sinusoids. Computed in float64.

    References
    ----------
    Z. Zhou, G. Zhao, M. Pietikainen, "Towards a practical lipreading system", CVPR 2011.
    T. Pfister, X. Li, G. Zhao, M. Pietikainen, "Recognising spontaneous facial
    micro-expressions", ICCV 2011.
    """
    clip = _check(clip, n_out, "tim_interpolate")
    n = clip.shape[0]

    def fallback(reason: str):
        warnings.warn(
            f"TIM not applicable ({reason}); using linear interpolation in time instead",
            TIMRankWarning,
            stacklevel=3,
        )
        out = linear_interpolate(clip, n_out)
        return (out, {"method": "linear", "reason": reason}) if return_info else out

    if n < 2:
        return fallback(f"only {n} frame")
    x = clip.reshape(n, -1).astype(np.float64).T  # d x N, one column per frame
    if x.shape[0] < n:
        return fallback(f"{n} frames of only {x.shape[0]} values cannot have rank {n}")
    # The SVD of the tall d x N matrix is taken through its N x N Gram matrix (method of
    # snapshots): LAPACK's tall SVD/QR take seconds per 256x256x3 clip, the Gram product
    # ~0.1 s. Rank condition (rank X = N): singular values from the Gram matrix are accurate to
    # about sqrt(N eps) of the largest, so a ratio below 1e-6 counts as rank deficient.
    gram = x.T @ x
    ev = np.linalg.eigvalsh(gram)
    sv = np.sqrt(np.clip(ev, 0.0, None))
    if sv[0] <= _RANK_RTOL * sv[-1]:
        rank = int((sv > _RANK_RTOL * sv[-1]).sum())
        return fallback(f"rank of the {n} frames is {rank} < {n} (duplicated or dependent frames)")
    mu = x.mean(axis=1, keepdims=True)
    # Centring X = X H with H = I - 11^T/N; the centred Gram matrix is H G H (no d x N copy).
    h = np.eye(n) - 1.0 / n
    lam, vec = np.linalg.eigh(h @ gram @ h)
    keep = np.argsort(lam)[::-1][: n - 1]  # the N-1 largest; the centred data has rank N-1
    s = np.sqrt(np.clip(lam[keep], 0.0, None))
    vt = vec[:, keep].T
    q = s[:, None] * vt  # Q = S V^T, (N-1) x N
    v0 = _path_laplacian_eigvecs(n)[:, 1:]  # N x (N-1)
    w = np.linalg.solve(q @ q.T, q @ v0)  # (N-1) x (N-1)
    j = np.arange(1, n)
    m = (q[:, 0] @ w) / np.sin(j * np.pi / n + np.pi * (n - j) / (2 * n))
    pos = np.linspace(0.0, 1.0, int(n_out))
    pos = pos * (1 - 1 / n) + 1 / n
    vmat = np.sin(np.outer(pos, j) * np.pi + np.pi * (n - j) / (2 * n))  # n_out x (N-1)
    coeff = np.linalg.solve(w.T, (vmat * m).T)  # (N-1) x n_out
    # U = X H V S^-1, so U coeff = X (H V S^-1 coeff) without forming the d x (N-1) matrix U.
    frames = (x @ (h @ vt.T @ (coeff / s[:, None])) + mu).T.reshape(int(n_out), *clip.shape[1:])
    out = _finish(frames, clip)
    return (out, {"method": "tim", "reason": ""}) if return_info else out
