"""Small synthetic clips shared by the deep-MER tests (not a test module)."""

from __future__ import annotations

import cv2
import numpy as np


def drifting_clip(n: int = 40, t: int = 5, seed: int = 0) -> np.ndarray:
    """(T, n, n, 3) uint8: a smooth texture drifting right by 1 px per frame."""
    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.random((n, n)), (0, 0), 1.5)
    tex = ((tex - tex.min()) / (tex.max() - tex.min()) * 255).astype(np.uint8)
    frames = np.stack([np.roll(tex, k, axis=1) for k in range(t)])
    return np.repeat(frames[..., None], 3, axis=3)
