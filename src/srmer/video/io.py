"""Frame I/O: read a clip's frames into one uint8 array, with clear errors for bad files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from srmer.errors import ClipError


def read_image(path: str | Path, grey: bool = False) -> np.ndarray:
    """Read one image file.

    Parameters
    ----------
    path : str or Path
        Image file (jpg, png, bmp, ...).
    grey : bool
        Return a single channel.

    Returns
    -------
    ndarray
        ``(H, W, 3)`` RGB or ``(H, W)`` grey, uint8 in 0..255.

    Raises
    ------
    ClipError
        The file is missing or cannot be decoded.
    """
    path = Path(path)
    if not path.is_file():
        raise ClipError(str(path), "frame file is missing", "restore the file or drop the clip")
    flag = cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR
    img = cv2.imread(str(path), flag)
    if img is None:
        raise ClipError(
            str(path),
            "frame file cannot be decoded (corrupt or not an image)",
            "replace the file with a readable image",
        )
    if not grey:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


def read_frames(paths: Sequence[str | Path], grey: bool = False) -> np.ndarray:
    """Read frames into one array.

    Returns
    -------
    ndarray
        ``(T, H, W, 3)`` RGB or ``(T, H, W)`` grey, uint8.

    Raises
    ------
    ClipError
        A frame is missing or unreadable, or frames differ in size.
    """
    frames = [read_image(p, grey=grey) for p in paths]
    if not frames:
        raise ClipError("(empty)", "clip has no frames")
    shape = frames[0].shape
    for p, f in zip(paths, frames, strict=True):
        if f.shape != shape:
            raise ClipError(str(p), f"frame size {f.shape} differs from the first frame's {shape}")
    return np.stack(frames)


def write_image(path: str | Path, img: np.ndarray, quality: int = 95) -> None:
    """Write an RGB ``(H, W, 3)`` or grey ``(H, W)`` uint8 image; JPEG quality for ``.jpg``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    params = (
        [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if path.suffix.lower() in (".jpg", ".jpeg") else []
    )
    if not cv2.imwrite(str(path), img, params):
        raise OSError(f"could not write image {path}")


def to_grey(clip: np.ndarray) -> np.ndarray:
    """RGB ``(..., H, W, 3)`` uint8 -> grey ``(..., H, W)`` uint8 (ITU-R BT.601 luma, as OpenCV); grey passes through."""
    if clip.ndim >= 3 and clip.shape[-1] == 3:
        flat = clip.reshape(-1, *clip.shape[-3:]) if clip.ndim == 4 else clip[None]
        out = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in flat])
        return out.reshape(clip.shape[:-1])
    return clip
