"""Inference: run an SR model on numpy frames, batched and tiled, on CUDA when available."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from srmer.errors import SrmerError

# the one device rule lives in srmer.train; re-exported here for existing imports
from srmer.train.device import resolve_device


def _to_tensor(frames: np.ndarray) -> Tensor:
    x = torch.from_numpy(np.ascontiguousarray(frames))
    x = x.float() / 255.0 if frames.dtype == np.uint8 else x.float()
    return x.permute(0, 3, 1, 2)


def _run_tiled(
    model: nn.Module, x: Tensor, scale: int, tile: int, overlap: int, memory_format
) -> Tensor:
    """Run ``model`` on overlapping LR tiles and paste the centre of each output tile.

    Each tile is enlarged by ``overlap`` LR pixels on every side that is not an image border; only the
    output of the tile proper is kept. When ``overlap`` covers the model's receptive-field radius the
    result equals the untiled output (up to float rounding); models with global statistics (RCAN's
    channel attention) differ slightly. The output is accumulated on the CPU, so device memory is
    bounded by one tile whatever the image size.
    """
    n, c, h, w = x.shape
    out = torch.empty(n, c, h * scale, w * scale, dtype=torch.float32)
    for y0 in range(0, h, tile):
        y1 = min(h, y0 + tile)
        ys, ye = max(0, y0 - overlap), min(h, y1 + overlap)
        for x0 in range(0, w, tile):
            x1 = min(w, x0 + tile)
            xs, xe = max(0, x0 - overlap), min(w, x1 + overlap)
            patch = x[:, :, ys:ye, xs:xe].contiguous(memory_format=memory_format)
            y = model(patch).float()
            oy, ox = (y0 - ys) * scale, (x0 - xs) * scale
            out[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = y[
                :, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
            ].cpu()
    return out


def upscale(
    model: nn.Module,
    images: np.ndarray,
    tile: int | None = None,
    overlap: int = 16,
    batch: int = 8,
    device: str | torch.device = "auto",
    channels_last: bool | None = None,
) -> np.ndarray:
    """Super-resolve RGB frames with an image SR model.

    Parameters
    ----------
    model : torch.nn.Module
        An srmer image model (``srmer.sr.create`` / ``srmer.sr.load_checkpoint``): float RGB in [0,1],
        ``(N,3,H,W) -> (N,3,sH,sW)``, with a ``scale`` attribute.
    images : ndarray
        ``(N,H,W,3)`` or ``(H,W,3)``; uint8 (0..255) or float (0..1).
    tile : int, optional
        LR tile side; ``None`` runs whole frames. Tiling needs an integer scale and a fully
        convolutional model (not GLEAN, whose input size is fixed).
    overlap : int
        LR pixels of context added around each tile (discarded from the output).
    batch : int
        Frames per forward pass.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda:0"``...
    channels_last : bool, optional
        Use the channels-last (NHWC) memory format. Default on: oneDNN's CPU convolutions were
        faster in NHWC in 7 of 8 comparisons of benchmarks/bench_sr.py (0.94-1.5x), and cuDNN
        prefers it too.

    Returns
    -------
    ndarray
        ``(N,sH,sW,3)`` (or ``(sH,sW,3)``), uint8 for uint8 input (rounded), else float32 in [0,1].
    """
    arr = np.asarray(images)
    single = arr.ndim == 3
    if single:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise SrmerError(f"upscale expects (N,H,W,3) or (H,W,3) RGB frames, got shape {arr.shape}")
    if arr.dtype != np.uint8 and not np.issubdtype(arr.dtype, np.floating):
        raise SrmerError(f"upscale expects uint8 (0..255) or float (0..1) frames, got {arr.dtype}")
    dev = resolve_device(device)
    if channels_last is None:
        channels_last = True
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(dev).eval()
    if channels_last:
        # only convolution weights: models with other >4-D parameters (GLEAN's modulated convs)
        # cannot be converted as a whole
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
                m.to(memory_format=torch.channels_last)
    scale = getattr(model, "scale", None)
    fixed = getattr(model, "input_size", None)
    if tile is not None:
        if scale is None or float(scale) != int(scale):
            raise SrmerError(
                f"tiled inference needs an integer model scale, this model has scale={scale}"
            )
        if fixed is not None:
            raise SrmerError(
                f"{type(model).__name__} takes a fixed {fixed}x{fixed} input and cannot be tiled"
            )
    if fixed is not None and arr.shape[1:3] != (fixed, fixed):
        raise SrmerError(
            f"{type(model).__name__} takes {fixed}x{fixed} frames, got {arr.shape[1]}x{arr.shape[2]} "
            "(resize the input or build the model with in_size matching your frames)"
        )
    outs = []
    with torch.inference_mode():
        for i in range(0, len(arr), max(1, batch)):
            x = _to_tensor(arr[i : i + batch]).to(dev)
            h, w = x.shape[-2:]
            if tile is None or (h <= tile and w <= tile):
                y = model(x.contiguous(memory_format=fmt)).float()
            else:
                y = _run_tiled(model, x, int(scale), tile, overlap, fmt)
            y = y.clamp_(0, 1).permute(0, 2, 3, 1).cpu().numpy()
            outs.append(y)
    out = np.concatenate(outs, 0)
    if arr.dtype == np.uint8:
        out = np.floor(out * 255.0 + 0.5).astype(np.uint8)
    else:
        out = out.astype(np.float32, copy=False)
    return out[0] if single else out


def output_size(model: nn.Module, h: int, w: int) -> tuple[int, int]:
    """Output ``(H, W)`` of ``model`` for an ``h x w`` input (``int(s*h)`` for fractional Meta-SR scales)."""
    s = float(getattr(model, "scale", 1))
    return (int(s * h), int(s * w)) if s != int(s) else (h * int(s), w * int(s))


_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def upscale_path(
    model: nn.Module | str,
    src: str,
    dst: str,
    tile: int | None = None,
    overlap: int = 16,
    batch: int = 8,
    device: str | torch.device = "auto",
) -> list[str]:
    """Body of ``srmer sr upscale``: super-resolve an image, a folder of frames (a clip) or a ``.npy`` clip.

    Parameters
    ----------
    model : nn.Module or str
        A model, or a checkpoint path for :func:`srmer.sr.load_checkpoint`.
    src : str
        Image file, folder of images (processed in name order, ``batch`` at a time, so any clip length
        fits in memory) or ``.npy`` array ``(T,H,W,3)`` uint8.
    dst : str
        Output image file / folder / ``.npy`` (for an image, an existing folder receives the same name).

    Returns
    -------
    list of str
        The files written.
    """
    from pathlib import Path

    from srmer.video.io import read_image, write_image

    if isinstance(model, str):
        from srmer.sr.checkpoint import load_checkpoint

        model = load_checkpoint(model)
    s, d = Path(src), Path(dst)
    kw = {"tile": tile, "overlap": overlap, "batch": batch, "device": device}
    if not s.exists():
        raise SrmerError(
            f"input {s} does not exist (give an image, a folder of frames or a .npy clip)"
        )
    if s.suffix == ".npy":
        out = upscale(model, np.load(s), **kw)
        d.parent.mkdir(parents=True, exist_ok=True)
        np.save(d, out)
        return [str(d)]
    if s.is_dir():
        files = sorted(p for p in s.iterdir() if p.suffix.lower() in _IMAGE_EXT)
        if not files:
            raise SrmerError(f"no images found in {s}")
        written = []
        for i in range(0, len(files), max(1, batch)):
            chunk = files[i : i + batch]
            frames = np.stack([read_image(p) for p in chunk])
            for p, img in zip(chunk, upscale(model, frames, **kw), strict=True):
                write_image(d / p.name, img)
                written.append(str(d / p.name))
        return written
    target = d / s.name if d.is_dir() else d
    write_image(target, upscale(model, read_image(s), **kw))
    return [str(target)]


__all__ = ["output_size", "resolve_device", "upscale", "upscale_path"]
