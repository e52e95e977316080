"""Inference: run an SR model on numpy frames, batched and tiled, on CUDA when available.

Host memory: :func:`upscale` writes every output tile (or batch) straight into one preallocated
``(N,sH,sW,3)`` array, uint8 for uint8 input, so a tiled run holds the input, the output and one
tile's activations, never a float copy of the whole output. :func:`upscale_path` (``srmer sr
upscale``) checks its source and destination before loading the model, upscales a large tiled clip
one frame at a time and writes ``.npy`` outputs through ``np.lib.format.open_memmap``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from srmer.errors import SrmerError

# the one device rule lives in srmer.train; re-exported here for existing imports
from srmer.train.device import resolve_device


def _to_tensor(frames: np.ndarray) -> Tensor:
    a = np.ascontiguousarray(frames)
    # torch refuses to share read-only memory (a memmapped .npy) without a warning: copy that
    # batch or tile, a uint8 copy smaller than the float tensor made next anyway
    x = torch.from_numpy(a if a.flags.writeable else a.copy())
    x = x.float() / 255.0 if frames.dtype == np.uint8 else x.float()
    return x.permute(0, 3, 1, 2)


def _store(dst: np.ndarray, y: Tensor) -> None:
    """Clip a model output to [0,1] and write it into ``dst`` (uint8: rounded, else float).

    Parameters
    ----------
    dst : ndarray
        ``(n,h,w,3)`` uint8 or float32 view of the output, any strides (a BGR buffer seen as RGB).
    y : Tensor
        ``(n,3,h,w)`` model output, nominally float in [0,1], on any device.
    """
    y = y.float().clamp_(0, 1)
    if dst.dtype == np.uint8:
        # floor(x*255 + 0.5) in float32, as the whole-output conversion this replaces, so tiled and
        # batched results are bit for bit the earlier ones; done on the device so that only uint8
        # crosses to the host
        y = y.mul_(255.0).add_(0.5).floor_().to(torch.uint8)
    dst[...] = y.permute(0, 2, 3, 1).cpu().numpy()


def _run_tiled(
    model: nn.Module,
    frames: np.ndarray,
    scale: int,
    tile: int,
    overlap: int,
    memory_format: torch.memory_format,
    device: torch.device,
    out: np.ndarray,
) -> None:
    """Run ``model`` on overlapping LR tiles and paste the centre of each output tile into ``out``.

    Each tile is enlarged by ``overlap`` LR pixels on every side that is not an image border; only the
    output of the tile proper is kept. For models with a ``window_size`` (SwinIR, HAT) ``tile`` and
    ``overlap`` are rounded up to multiples of it, so every tile lies on the image's window grid. When ``overlap`` covers the model's receptive-field radius the
    result equals the untiled output (up to float rounding); models with global statistics (RCAN's
    channel attention) differ slightly. Input tiles are converted to float one at a time and output
    tiles are written into ``out`` as they come, so device memory is bounded by one tile and host
    memory by ``frames`` + ``out`` whatever the image size.

    Parameters
    ----------
    frames : ndarray
        ``(n,H,W,3)`` uint8 (0..255) or float (0..1) LR frames (a memmap is read tile by tile).
    out : ndarray
        ``(n,sH,sW,3)`` uint8 or float32, written in place (see :func:`_store`).
    """
    h, w = frames.shape[1:3]
    # Window-attention models (SwinIR, HAT) partition each input into windows from its origin:
    # tiles whose origins and context sit on the image's window grid see the same windows as the
    # whole image, so tile and overlap are rounded up to multiples of the window.
    win = int(getattr(model, "window_size", 1) or 1)
    tile = -(-tile // win) * win
    overlap = -(-overlap // win) * win
    for y0 in range(0, h, tile):
        y1 = min(h, y0 + tile)
        ys, ye = max(0, y0 - overlap), min(h, y1 + overlap)
        for x0 in range(0, w, tile):
            x1 = min(w, x0 + tile)
            xs, xe = max(0, x0 - overlap), min(w, x1 + overlap)
            patch = _to_tensor(frames[:, ys:ye, xs:xe]).to(device)
            y = model(patch.contiguous(memory_format=memory_format))
            oy, ox = (y0 - ys) * scale, (x0 - xs) * scale
            _store(
                out[:, y0 * scale : y1 * scale, x0 * scale : x1 * scale],
                y[:, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale],
            )


def _check_out(out: np.ndarray, shape: tuple[int, ...]) -> None:
    if not isinstance(out, np.ndarray):
        raise SrmerError(f"upscale: out must be a numpy array, got {type(out).__name__}")
    if out.dtype not in (np.uint8, np.float32):
        raise SrmerError(f"upscale: out must be uint8 or float32, got {out.dtype}")
    if out.shape != shape:
        raise SrmerError(f"upscale: out has shape {out.shape}, the output is {shape}")
    if not out.flags.writeable:
        raise SrmerError("upscale: out is read-only")


def upscale(
    model: nn.Module,
    images: np.ndarray,
    tile: int | None = None,
    overlap: int = 16,
    batch: int = 8,
    device: str | torch.device = "auto",
    channels_last: bool | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Super-resolve RGB frames with an image SR model.

    Parameters
    ----------
    model : torch.nn.Module
        An srmer image model (``srmer.sr.create`` / ``srmer.sr.load_checkpoint``): float RGB in [0,1],
        ``(N,3,H,W) -> (N,3,sH,sW)``, with a ``scale`` attribute.
    images : ndarray
        ``(N,H,W,3)`` or ``(H,W,3)``; uint8 (0..255) or float (0..1). May be a read-only memmap.
    tile : int, optional
        LR tile side; ``None`` runs whole frames. Tiling needs an integer scale and a fully
        convolutional model (not GLEAN, whose input size is fixed).
    overlap : int
        LR pixels of context added around each tile (discarded from the output).
    batch : int
        Frames per forward pass (with tiling: frames per tile forward).
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda:0"``...
    channels_last : bool, optional
        Use the channels-last (NHWC) memory format. Default on: oneDNN's CPU convolutions were
        faster in NHWC in 7 of 8 comparisons of benchmarks/bench_sr.py (0.94-1.5x), and cuDNN
        prefers it too.
    out : ndarray, optional
        Preallocated output, written in place and returned: shape ``(N,sH,sW,3)`` (or ``(sH,sW,3)``
        for a single frame; ``(sH,sW)`` as :func:`output_size`), dtype uint8 (rounded, 0..255,
        whatever the input dtype) or float32 (0..1), any strides (e.g. ``bgr[..., ::-1]`` to
        produce OpenCV's BGR order, or an ``np.lib.format.open_memmap`` array). Without it the
        output is allocated once, so no more than one copy of it is ever held.

    Returns
    -------
    ndarray
        ``out`` when given; else ``(N,sH,sW,3)`` (or ``(sH,sW,3)``), uint8 for uint8 input
        (rounded as ``floor(255 y + 0.5)`` of the clipped float output ``y``), else float32 in
        [0,1].
    """
    arr = images if isinstance(images, np.ndarray) else np.asarray(images)
    single = arr.ndim == 3
    if single:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise SrmerError(f"upscale expects (N,H,W,3) or (H,W,3) RGB frames, got shape {arr.shape}")
    if arr.dtype != np.uint8 and not np.issubdtype(arr.dtype, np.floating):
        raise SrmerError(f"upscale expects uint8 (0..255) or float (0..1) frames, got {arr.dtype}")
    n, h, w = arr.shape[:3]
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
    if fixed is not None and (h, w) != (fixed, fixed):
        raise SrmerError(
            f"{type(model).__name__} takes {fixed}x{fixed} frames, got {h}x{w} "
            "(resize the input or build the model with in_size matching your frames)"
        )
    tiled = tile is not None and (h > tile or w > tile)
    dst: np.ndarray | None = None
    if out is not None:
        oh, ow = output_size(model, h, w)
        _check_out(out, (oh, ow, 3) if single else (n, oh, ow, 3))
        dst = out[None] if single else out
    elif tiled:
        oh, ow = h * int(scale), w * int(scale)  # type: ignore[arg-type]
        dst = np.empty((n, oh, ow, 3), np.uint8 if arr.dtype == np.uint8 else np.float32)
    step = max(1, batch)
    with torch.inference_mode():
        for i in range(0, n, step):
            frames = arr[i : i + step]
            if tiled:
                assert dst is not None
                _run_tiled(model, frames, int(scale), tile, overlap, fmt, dev, dst[i : i + step])  # type: ignore[arg-type]
                continue
            y = model(_to_tensor(frames).to(dev).contiguous(memory_format=fmt))
            if dst is None:
                # the output size is the model's (fractional Meta-SR scales, fixed-input models)
                dt = np.uint8 if arr.dtype == np.uint8 else np.float32
                dst = np.empty((n, *y.shape[2:], 3), dt)
            if tuple(y.shape[2:]) != dst.shape[1:3]:
                raise SrmerError(
                    f"{type(model).__name__} returned {y.shape[2]}x{y.shape[3]} frames, "
                    f"out holds {dst.shape[1]}x{dst.shape[2]}"
                )
            _store(dst[i : i + step], y)
    if out is not None:
        return out
    assert dst is not None
    return dst[0] if single else dst


def output_size(model: nn.Module, h: int, w: int) -> tuple[int, int]:
    """Output ``(H, W)`` of ``model`` for an ``h x w`` input (``int(s*h)`` for fractional Meta-SR scales)."""
    s = float(getattr(model, "scale", 1))
    return (int(s * h), int(s * w)) if s != int(s) else (h * int(s), w * int(s))


# ---------------------------------------------------------------------------- srmer sr upscale

#: frame files read from a folder (what OpenCV decodes)
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: output image files (what OpenCV encodes; the same list)
_WRITE_EXT = _IMAGE_EXT
#: names that look like a file, refused as an output folder for a clip
_FILE_LIKE_EXT = (*_IMAGE_EXT, ".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif", ".npz")
_EXPECTED_NPY = "a (T,H,W,3) or (H,W,3) uint8 RGB array saved without pickling (np.save(path, a))"


def _read_rgb(path: Path) -> np.ndarray:
    """Decode one image file to ``(H,W,3)`` uint8 RGB (a view of OpenCV's BGR array, not a copy)."""
    import cv2

    try:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        bgr, detail = None, f": {str(exc).strip().splitlines()[-1]}"
    else:
        detail = ""
    if bgr is None:
        raise SrmerError(
            f"image {path} cannot be read (corrupt, truncated or not an image OpenCV decodes{detail}); "
            f"replace it with a readable {', '.join(_IMAGE_EXT)} file"
        )
    return bgr[..., ::-1]


def _header_size(path: Path) -> tuple[int, int] | None:
    """``(H, W)`` from an image's header (Pillow, no decoding), or None when Pillow cannot tell."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib / scikit-image
        return None
    try:
        with Image.open(path) as im:
            w, h = im.size
            # OpenCV applies the EXIF orientation when decoding: a transposed frame is h x w
            if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):
                w, h = h, w
    except Exception:  # an unreadable file is reported by the decoder, with its own message
        return None
    return h, w


def _size_error(
    path: Path, size: tuple[int, int], first: Path, first_size: tuple[int, int]
) -> SrmerError:
    return SrmerError(
        f"frame {path} is {size[1]}x{size[0]} (WxH) but the first frame {first.name} is "
        f"{first_size[1]}x{first_size[0]}: a clip's frames must all have one size; upscale images "
        "of different sizes one by one (srmer sr upscale CHECKPOINT IMAGE OUT) or put them in "
        "separate folders"
    )


def _list_frames(folder: Path) -> list[Path]:
    """The image files of ``folder`` in name order, checked to share one size (from their headers)."""
    entries = sorted(folder.iterdir())
    files = [p for p in entries if p.is_file() and p.suffix.lower() in _IMAGE_EXT]
    if not entries:
        raise SrmerError(f"input folder {folder} is empty (put the clip's frames in it)")
    if not files:
        seen = ", ".join(p.name for p in entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise SrmerError(
            f"input folder {folder} holds no image files ({', '.join(_IMAGE_EXT)}); found: {seen}"
        )
    # headers only, so that a clip of mixed sizes fails before the model is loaded; the decoded
    # sizes are checked again while upscaling
    first = _header_size(files[0])
    if first is not None:
        for p in files[1:]:
            size = _header_size(p)
            if size is not None and size != first:
                raise _size_error(p, size, files[0], first)
    return files


def _open_npy(path: Path) -> np.ndarray:
    """Memory-map a ``.npy`` clip or image, never unpickling; checks dtype and shape."""
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic != b"\x93NUMPY":
        raise SrmerError(
            f"{path} is not a .npy array file (no NumPy header: a pickle, an .npz or another "
            f"format); expected {_EXPECTED_NPY}"
        )
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "Python objects" in str(exc) or "pickle" in str(exc):
            raise SrmerError(
                f"{path} holds pickled Python objects (an object array), which srmer never loads "
                f"because unpickling can run code; expected {_EXPECTED_NPY}"
            ) from exc
        raise SrmerError(
            f"{path} is corrupt or truncated ({exc}); expected {_EXPECTED_NPY}"
        ) from exc
    except (OSError, EOFError) as exc:
        raise SrmerError(f"{path} cannot be read ({exc}); expected {_EXPECTED_NPY}") from exc
    if arr.dtype != np.uint8 or arr.ndim not in (3, 4) or arr.shape[-1] != 3:
        raise SrmerError(
            f"{path} holds a {arr.dtype} array of shape {arr.shape}; expected {_EXPECTED_NPY}"
            + (" (scale floats in 0..1 by 255 and round)" if arr.dtype.kind == "f" else "")
        )
    if 0 in arr.shape:
        raise SrmerError(
            f"{path} holds an empty array of shape {arr.shape}; expected {_EXPECTED_NPY}"
        )
    return arr


def _check_dst(dst: Path, image: bool, src: Path) -> tuple[Path, str]:
    """Resolve the output path and its kind (``"image"``, ``"npy"`` or ``"folder"``) before any work."""
    if image:
        target = dst / src.name if dst.is_dir() else dst
        ext = target.suffix.lower()
        if ext == ".npy":
            return target, "npy"
        if ext in _WRITE_EXT:
            import cv2

            if cv2.haveImageWriter(str(target)):
                return target, "image"
        raise SrmerError(
            f"output {target}: cannot write {ext or 'a file without extension'} images; for an "
            f"image input give an image file ({', '.join(_WRITE_EXT)}), a .npy file or an "
            "existing folder (the output keeps the input's name)"
        )
    accepted = "a folder (frames keep their names) or a .npy file (T,sH,sW,3) uint8"
    if dst.suffix.lower() == ".npy":
        return dst, "npy"
    if dst.is_dir():
        return dst, "folder"
    if dst.exists():
        raise SrmerError(f"output {dst} is an existing file; for a clip input give {accepted}")
    if dst.suffix.lower() in _FILE_LIKE_EXT:
        raise SrmerError(
            f"output {dst} looks like a {dst.suffix} file; for a clip input (folder of frames or "
            f"(T,H,W,3) .npy) give {accepted}"
        )
    return dst, "folder"


def _write_bgr(path: Path, bgr: np.ndarray) -> None:
    """Write a ``(H,W,3)`` uint8 BGR array (no colour conversion copy); JPEG quality 95."""
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if path.suffix.lower() in (".jpg", ".jpeg") else []
    try:
        ok = cv2.imwrite(str(path), bgr, params)
    except cv2.error as exc:
        raise SrmerError(f"could not write image {path}: {exc}") from exc
    if not ok:
        raise SrmerError(f"could not write image {path} (disk full or no permission?)")


@contextlib.contextmanager
def _npy_sink(path: Path, shape: tuple[int, ...]) -> Iterator[np.ndarray]:
    """A uint8 ``.npy`` memmap of ``shape``, written under a temporary name and renamed when done.

    The output is never held in memory as a whole, an interrupted run leaves no truncated file, and
    a source memmap of the same name stays valid until the rename.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        yield mm
        mm.flush()
        del mm
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def upscale_path(
    model: nn.Module | str,
    src: str,
    dst: str,
    tile: int | None = None,
    overlap: int = 16,
    batch: int = 8,
    device: str | torch.device = "auto",
) -> list[str]:
    """Body of ``srmer sr upscale``: super-resolve an image, a folder of frames (a clip) or a ``.npy``.

    The checkpoint, the source and the destination are all checked before the model is loaded, so a
    bad argument fails at once with a :class:`~srmer.errors.SrmerError` naming it.

    Parameters
    ----------
    model : nn.Module or str
        A model, or a checkpoint path for :func:`srmer.sr.load_checkpoint`.
    src : str
        Image file; folder of images of one size (processed in name order, ``batch`` at a time, or
        one at a time when tiling frames larger than ``tile``, so any clip length fits in memory);
        or ``.npy`` array ``(T,H,W,3)`` (a clip) or ``(H,W,3)`` (an image), uint8, saved without
        pickling (it is memory-mapped, never unpickled).
    dst : str
        For an image: an image file (.png, .jpg, .jpeg, .bmp, .tif, .tiff, .webp), a ``.npy`` or an
        existing folder (receives the input's name). For a clip: a folder (frames keep their names;
        frames of a ``.npy`` clip are written as ``000000.png``...) or a ``.npy`` ``(T,sH,sW,3)``
        uint8, written through a memmap.
    tile, overlap, batch, device
        As :func:`upscale`.

    Returns
    -------
    list of str
        The files written.
    """
    s, d = Path(src), Path(dst)
    ckpt = None if isinstance(model, nn.Module) else Path(model)
    if ckpt is not None and not ckpt.is_file():
        what = "is a folder, not a checkpoint file" if ckpt.is_dir() else "does not exist"
        raise SrmerError(f"checkpoint {ckpt} {what} (give the .pth/.pt model file)")
    if not s.exists():
        raise SrmerError(
            f"input {s} does not exist (give an image, a folder of frames or a .npy clip)"
        )
    files: list[Path] = []
    if s.is_dir():
        files = _list_frames(s)
        arr = _read_rgb(files[0])[None]  # the first frame fixes the clip's size
        image = False
    elif s.suffix.lower() == ".npy":
        arr = _open_npy(s)
        image = arr.ndim == 3
        arr = arr[None] if image else arr
    else:
        arr = _read_rgb(s)[None]
        image = True
    target, kind = _check_dst(d, image, s)
    try:
        (target if kind == "folder" else target.parent).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SrmerError(f"cannot create the output folder for {target}: {exc}") from exc

    if ckpt is not None:
        from srmer.sr.checkpoint import load_checkpoint

        model = load_checkpoint(ckpt)
    assert isinstance(model, nn.Module)
    kw = {"tile": tile, "overlap": overlap, "batch": batch, "device": device}
    h, w = arr.shape[1:3]
    oh, ow = output_size(model, h, w)
    n = len(files) if files else len(arr)
    # one frame at a time when tiling large frames: a batch of 8 4000x4000 x4 outputs would be 6 GB
    step = 1 if tile is not None and (h > tile or w > tile) else max(1, batch)

    def chunks() -> Iterator[tuple[int, np.ndarray]]:
        for i in range(0, n, step):
            if not files:
                yield i, arr[i : i + step]
                continue
            frames = [arr[0]] if i == 0 else []
            for p in files[i + len(frames) : i + step]:
                f = _read_rgb(p)
                if f.shape[:2] != (h, w):
                    raise _size_error(p, f.shape[:2], files[0], (h, w))
                frames.append(f)
            yield i, np.stack(frames) if len(frames) > 1 else frames[0][None]

    if kind == "npy":
        with _npy_sink(target, (oh, ow, 3) if image else (n, oh, ow, 3)) as mm:
            out4 = mm[None] if image else mm
            for i, frames in chunks():
                upscale(model, frames, out=out4[i : i + len(frames)], **kw)  # type: ignore[arg-type]
        return [str(target)]
    # OpenCV writes BGR: the model writes RGB into a BGR buffer through a reversed-channel view, so
    # no colour-converted copy of a (possibly 768 MB) output is made
    bgr = np.empty((min(step, n), oh, ow, 3), np.uint8)
    written = []
    for i, frames in chunks():
        k = len(frames)
        upscale(model, frames, out=bgr[:k, ..., ::-1], **kw)  # type: ignore[arg-type]
        for j in range(k):
            if kind == "image":
                path = target
            elif files:
                path = target / files[i + j].name
            else:
                path = target / f"{i + j:06d}.png"
            _write_bgr(path, bgr[j])
            written.append(str(path))
    return written


__all__ = ["output_size", "resolve_device", "upscale", "upscale_path"]
