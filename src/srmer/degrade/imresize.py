"""MATLAB-compatible bicubic resizing (``imresize(A, scale)`` / ``imresize(A, [rows cols])``).

Every SR paper's "Bicubic" (the LR inputs and the Bicubic_restore baseline) is MATLAB's
``imresize`` with its default method: the Keys cubic kernel with ``a = -0.5`` and antialiasing
when shrinking. OpenCV, PIL and torch resize differently, so the
algorithm is written out here: a per-dimension weight matrix built exactly as MATLAB's
``contributions`` does, applied with one dense matrix product per resized axis.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from srmer.errors import SrmerError

__all__ = ["cubic", "imresize", "resize_clip", "resize_weights", "triangle"]


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys cubic convolution kernel with ``a = -0.5`` (MATLAB's ``cubic``).

    Parameters
    ----------
    x : ndarray
        Distances (any shape, float).

    Returns
    -------
    ndarray
        Kernel values, same shape as ``x``; zero for ``|x| > 2``.
    """
    ax = np.abs(np.asarray(x, dtype=np.float64))
    ax2 = ax * ax
    ax3 = ax2 * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * (
        (ax > 1) & (ax <= 2)
    )


def triangle(x: np.ndarray) -> np.ndarray:
    """Linear interpolation kernel (MATLAB's ``triangle``, method ``'bilinear'``)."""
    ax = np.abs(np.asarray(x, dtype=np.float64))
    return (1.0 - ax) * (ax <= 1)


_KERNELS = {"bicubic": (cubic, 4.0), "bilinear": (triangle, 2.0)}
_EDGES = ("symmetric", "replicate")


@functools.lru_cache(maxsize=256)
def _weights_cached(
    in_len: int, out_len: int, scale: float, antialias: bool, method: str, edge: str
) -> np.ndarray:
    kernel, kernel_width = _KERNELS[method]
    if scale < 1 and antialias:
        # Antialiasing: stretch the kernel by 1/scale so it low-passes before decimation.
        def h(d: np.ndarray) -> np.ndarray:
            return scale * kernel(scale * d)

        kernel_width = kernel_width / scale
    else:
        h = kernel
    x = np.arange(1, out_len + 1, dtype=np.float64)  # 1-based output coordinates, as MATLAB
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    p = math.ceil(kernel_width) + 2
    idx = (left[:, None] + np.arange(p)[None, :]).astype(np.int64)  # 1-based taps
    w = h(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    if edge == "symmetric":
        # Current MATLAB: aux = [1..n, n..1] indexed modulo 2n (symmetric padding, edge repeated).
        aux = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
        idx0 = aux[np.mod(idx - 1, 2 * in_len)]
    else:
        # Older MATLAB releases clamp the taps ("replicating end-points").
        idx0 = np.clip(idx - 1, 0, in_len - 1)
    mat = np.zeros((out_len, in_len), dtype=np.float64)
    rows = np.broadcast_to(np.arange(out_len)[:, None], idx0.shape)
    # Taps that land on the same input sample add up, as MATLAB's sum over its index list does.
    np.add.at(mat, (rows, idx0), w)
    mat.setflags(write=False)
    return mat


def resize_weights(
    in_len: int,
    out_len: int,
    scale: float,
    antialias: bool = True,
    method: str = "bicubic",
    edge: str = "symmetric",
) -> np.ndarray:
    """Dense 1-D resampling matrix of MATLAB's ``imresize`` along one dimension.

    Parameters
    ----------
    in_len, out_len : int
        Input and output lengths.
    scale : float
        Scale factor of this dimension (``out_len / in_len`` when a size was given).
    antialias : bool
        Stretch the kernel when ``scale < 1`` (MATLAB's default for bicubic and bilinear).
    method : {"bicubic", "bilinear"}
        Kernel.
    edge : {"symmetric", "replicate"}
        Out-of-range taps: mirrored (current MATLAB) or clamped (older MATLAB releases).

    Returns
    -------
    ndarray
        ``(out_len, in_len)`` float64, read-only, rows summing to 1; cached per arguments.
    """
    if method not in _KERNELS:
        raise SrmerError(f"imresize: unknown method {method!r}; use one of {sorted(_KERNELS)}")
    if edge not in _EDGES:
        raise SrmerError(f"imresize: unknown edge mode {edge!r}; use one of {list(_EDGES)}")
    return _weights_cached(
        int(in_len), int(out_len), float(scale), bool(antialias), str(method), str(edge)
    )


def _resize_axis(x: np.ndarray, axis: int, mat: np.ndarray) -> np.ndarray:
    shape = x.shape
    lead = math.prod(shape[:axis])
    trail = math.prod(shape[axis + 1 :])
    out_shape = (*shape[:axis], mat.shape[0], *shape[axis + 1 :])
    if trail >= 16:
        # Batched GEMMs (out, in) @ (in, trail) need no transpose of the data: the fast path for
        # the row axis of (T, H, W, C) clips.
        out = np.matmul(mat, x.reshape(lead, shape[axis], trail))
        return out.reshape(out_shape)
    # Few trailing elements (the column axis of (H, W, C)): one GEMM over (lead * trail, in)
    # rows after moving the axis last; the copy is cheaper than thousands of tiny GEMMs.
    xt = np.moveaxis(x.reshape(lead, shape[axis], trail), 1, 2).reshape(-1, shape[axis])
    out = (xt @ mat.T).reshape(lead, trail, mat.shape[0])
    return np.moveaxis(out, 2, 1).reshape(out_shape)


def _half_up(x: np.ndarray, floor: bool) -> np.ndarray:
    # MATLAB's conversion to uint8 saturates and rounds half away from zero; after clipping to
    # [0, 255] that is floor(x + 0.5) (np.rint would round half to even). In place: x is ours.
    # Without ``floor`` the caller truncates with astype(uint8), which equals floor here.
    np.clip(x, 0.0, 255.0, out=x)
    x += 0.5
    return np.floor(x, out=x) if floor else x


def _pair(v: float | Sequence[float], name: str) -> tuple[float, float]:
    if np.ndim(v) == 0:
        return float(v), float(v)  # type: ignore[arg-type]
    vals = tuple(float(t) for t in v)  # type: ignore[union-attr]
    if len(vals) != 2:
        raise SrmerError(f"imresize: {name} must be a number or a pair (rows, cols), got {v!r}")
    return vals  # type: ignore[return-value]


def imresize(
    img: np.ndarray,
    scale: float | Sequence[float] | None = None,
    size: int | Sequence[int] | None = None,
    axes: tuple[int, int] | None = None,
    antialias: bool = True,
    method: str = "bicubic",
    edge: str = "symmetric",
) -> np.ndarray:
    """Resize like MATLAB's ``imresize`` (default: bicubic, antialiased).

    Parameters
    ----------
    img : ndarray
        Image or batch. ``(H, W)`` and ``(H, W, C)`` resize axes 0 and 1 (MATLAB's convention);
        ``(T, H, W, C)`` resizes axes 1 and 2. Other layouts (e.g. a grey clip ``(T, H, W)``)
        name the row and column axes with ``axes``. uint8 (0..255) or float (any range).
    scale : float or (float, float), optional
        Scale factor (rows, cols). The output length is ``ceil(in * scale)``.
    size : int or (int, int), optional
        Output size (rows, cols); an int gives a square. Exactly one of ``scale``/``size``.
    axes : (int, int), optional
        The (row, column) axes to resize.
    antialias : bool
        Antialias when shrinking (MATLAB's default ``true``).
    method : {"bicubic", "bilinear"}
        MATLAB's ``'bicubic'`` (default; every SR paper's "Bicubic") or ``'bilinear'``.
    edge : {"symmetric", "replicate"}
        Out-of-range taps mirrored with the edge sample repeated (current MATLAB, default) or
        clamped to the edge sample (older MATLAB releases' ``min(max(1, indices), in_length)``).
        They differ only in the outermost output pixels.

    Returns
    -------
    ndarray
        Resized array, same layout. uint8 in -> uint8 out (rounded, saturated); any other input
        -> float64 out (not clipped, since bicubic overshoots).

    Notes
    -----
    Follows MATLAB's ``imresize.m`` (``contributions``, ``dimensionOrder``): Keys cubic with
    ``a = -0.5``; when shrinking, kernel ``s*cubic(s*x)`` of support ``4/s``; output pixel ``x``
    (1-based) sits at input ``u = x/s + 0.5(1 - 1/s)``; weights normalised per output pixel;
    out-of-range taps mirrored symmetrically; the dimension with the smaller scale is resized
    first (rows first when equal). For uint8, MATLAB's ``imresizemex`` returns the input's class
    after each dimension, so the intermediate is rounded to uint8 too; this is reproduced.
    Sums are accumulated in float64 (MATLAB's weights are double); no float32 shortcut is taken
    because a single-precision sum can flip the rounding of values near ``k + 0.5``.

    References
    ----------
    R. Keys, "Cubic convolution interpolation for digital image processing", IEEE TASSP 1981.
    MathWorks, Image Processing Toolbox ``imresize``.

    Examples
    --------
    >>> import numpy as np
    >>> imresize(np.zeros((256, 256, 3), np.uint8), size=16).shape
    (16, 16, 3)
    """
    img = np.asarray(img)
    if (scale is None) == (size is None):
        raise SrmerError("imresize: give exactly one of scale= or size=")
    if axes is None:
        if img.ndim in (2, 3):
            axes = (0, 1)
        elif img.ndim == 4:
            axes = (1, 2)
        else:
            raise SrmerError(
                f"imresize: cannot guess the row/column axes of a {img.ndim}-d array "
                f"(shape {img.shape}); pass axes=(row_axis, col_axis)"
            )
    ax = tuple(int(a) % img.ndim for a in axes)
    if len(ax) != 2 or ax[0] == ax[1]:
        raise SrmerError(f"imresize: axes must be two different axes, got {axes!r}")
    in_size = (img.shape[ax[0]], img.shape[ax[1]])
    if min(in_size) < 1:
        raise SrmerError(f"imresize: empty image of shape {img.shape}")
    if scale is not None:
        scales = _pair(scale, "scale")
        if min(scales) <= 0:
            raise SrmerError(f"imresize: scale must be positive, got {scale!r}")
        out_size = tuple(math.ceil(n * s) for n, s in zip(in_size, scales, strict=True))
    else:
        sz = _pair(size, "size")  # type: ignore[arg-type]
        out_size = tuple(int(v) for v in sz)
        if min(out_size) < 1 or any(int(v) != v for v in sz):
            raise SrmerError(f"imresize: size must be positive integers, got {size!r}")
        scales = tuple(o / n for o, n in zip(out_size, in_size, strict=True))

    is_uint8 = img.dtype == np.uint8
    if img.dtype == np.bool_ or (not is_uint8 and not np.issubdtype(img.dtype, np.number)):
        raise SrmerError(f"imresize: unsupported dtype {img.dtype}; pass uint8 or float")
    out = img.astype(np.float64, copy=False)
    # Stable sort: the smaller scale first, rows first on ties (MATLAB's dimensionOrder).
    # Dimensions whose weights are the identity are skipped (MATLAB's pure nearest-neighbour path).
    passes = [
        k
        for k in sorted(range(2), key=lambda i: scales[i])
        if not (out_size[k] == in_size[k] and scales[k] == 1.0)
    ]
    for i, k in enumerate(passes):
        mat = resize_weights(in_size[k], out_size[k], scales[k], antialias, method, edge)
        out = _resize_axis(out, ax[k], mat)
        if is_uint8:
            out = _half_up(out, floor=i < len(passes) - 1)
    if is_uint8:
        return out.astype(np.uint8, order="C")
    return np.ascontiguousarray(out) if out is not img else out.copy()


def resize_clip(clip: np.ndarray, size: int | Sequence[int]) -> np.ndarray:
    """Resize every frame of a clip with MATLAB bicubic.

    Parameters
    ----------
    clip : ndarray
        ``(T, H, W, 3)`` RGB or ``(T, H, W)`` grey, uint8 (or float).
    size : int or (int, int)
        Output frame side (square) or (rows, cols).

    Returns
    -------
    ndarray
        ``(T, size, size[, 3])``, same dtype family as :func:`imresize` returns.
    """
    clip = np.asarray(clip)
    if clip.ndim not in (3, 4):
        raise SrmerError(
            f"resize_clip: expected a clip (T, H, W) or (T, H, W, 3), got shape {clip.shape}"
        )
    return imresize(clip, size=size, axes=(1, 2))
