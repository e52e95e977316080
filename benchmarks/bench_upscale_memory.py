"""Peak host memory (RSS) and wall time of ``srmer sr upscale`` on a 4000x4000 RGB image at x4, tiled.

The acceptance of the memory issue: with ``--tile 256`` the peak RSS must stay under 2 GiB (the
16000x16000x3 uint8 output is 768 MB by itself; it used to peak at 12.7 GB because the output was
accumulated as float32 and converted again). The script builds a small x4 EDSR checkpoint, writes
a synthetic 4000x4000 PNG into a temporary folder and runs the CLI in a fresh subprocess per
destination (``.png``, encoded by OpenCV from the uint8 buffer, and ``.npy``, written through a
memmap), reading each child's own peak RSS from ``os.wait4`` (``ru_maxrss``, KiB on Linux;
``getrusage(RUSAGE_CHILDREN)`` would report the maximum over all children so far).

Usage::

    .venv/bin/python benchmarks/bench_upscale_memory.py [--size 4000] [--tile 256] [--threads 2]
        [--feat 16] [--blocks 2]

The model's width only changes the time (activations are per tile); use ``--feat 8 --blocks 1`` on
a slow machine rather than a smaller image. Memory mapped output pages count in RSS while they are
resident, so the ``.npy`` figure includes the output once, like the ``.png`` one.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# as in bench_sr.py: passive OpenMP waiting, so a shared machine does not distort the timing
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2
import numpy as np


def synthetic_image(size: int, seed: int = 0) -> np.ndarray:
    """A ``(size, size, 3)`` uint8 image with smooth gradients, edges and mild noise (PNG-like content)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    rng = np.random.default_rng(seed)
    img = np.stack(
        [
            128 + 100 * np.sin(12 * xx + 3 * yy),
            128 + 100 * np.cos(9 * yy - 5 * xx),
            255 * ((xx * 20).astype(int) % 2 ^ (yy * 20).astype(int) % 2),
        ],
        -1,
    )
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run ``cmd``; return (peak RSS MiB of that child, wall s, exit status)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, time.perf_counter() - t, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4000, help="input side (square RGB image)")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--overlap", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--feat", type=int, default=16, help="EDSR width (time only, not memory)")
    ap.add_argument("--blocks", type=int, default=2, help="EDSR residual blocks")
    ap.add_argument("--dests", nargs="*", default=["png", "npy"])
    args = ap.parse_args()

    import srmer.sr as sr

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_upscale_") as tmp:
        root = Path(tmp)
        ckpt = sr.save_checkpoint(
            sr.create("edsr", 4, seed=0, num_feat=args.feat, num_block=args.blocks),
            root / "edsr_x4.pth",
        )
        src = root / "in.png"
        cv2.imwrite(str(src), synthetic_image(args.size))
        for ext in args.dests:
            dst = root / f"out.{ext}"
            cmd = [
                sys.executable,
                "-m",
                "srmer.cli",
                "sr",
                "upscale",
                str(ckpt),
                str(src),
                str(dst),
            ]
            cmd += ["--tile", str(args.tile), "--overlap", str(args.overlap), "--device", "cpu"]
            print("$", " ".join(cmd), flush=True)
            rss, wall, rc = run_child(cmd, env)
            if rc != 0:
                raise SystemExit(f"{' '.join(cmd)} exited with {rc}")
            if ext == "npy":
                shape = np.load(dst, mmap_mode="r").shape
            else:
                shape = (args.size * 4, args.size * 4, 3)  # checked by the reader below
                hdr = cv2.imread(str(dst), cv2.IMREAD_REDUCED_COLOR_8)
                assert hdr is not None and hdr.shape[:2] == (args.size // 2, args.size // 2)
            rows.append((ext, shape, rss, wall, dst.stat().st_size / 2**20))
            dst.unlink()

    print()
    print(
        f"x4 EDSR (num_feat={args.feat}, num_block={args.blocks}), {args.size}x{args.size} RGB input, "
        f"--tile {args.tile} --overlap {args.overlap}, {args.threads} CPU threads, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    )
    print()
    print("| destination | output shape | peak RSS (MiB) | under 2 GiB | wall (s) | file (MiB) |")
    print("|---|---|---|---|---|---|")
    for ext, shape, rss, wall, mib in rows:
        ok = "yes" if rss < 2048 else "NO"
        print(f"| .{ext} | {shape} | {rss:.0f} | {ok} | {wall:.1f} | {mib:.0f} |")


if __name__ == "__main__":
    main()
