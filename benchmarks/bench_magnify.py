"""Benchmark: linear Eulerian video magnification (:func:`srmer.video.magnify.magnify`) on one core.

Times ``magnify`` on a smooth random 64x256x256x3 uint8 clip (``--frames``, ``--side``) with a
4-level pyramid, for both pyramids and both temporal filters, and for the Laplacian pyramid also
with ``lambda_c`` (per-level alpha: the pyramid is built, filtered per level and collapsed;
without it equal gains let the band be filtered at full resolution directly). BLAS/FFT and OpenCV
are limited to ``--threads`` threads (1 = one core). Prints a Markdown table of the median of
``--repeats`` runs (after one warm-up) as frames per second, wall and process CPU time.

Run: ``.venv/bin/python benchmarks/bench_magnify.py [--threads 1] [--repeats 3] [--frames 64]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from srmer.video.magnify import magnify


def _smooth_clip(frames: int, side: int, seed: int = 0) -> np.ndarray:
    """Low-pass random frames drifting slowly in time: image-like, not white noise."""
    rng = np.random.default_rng(seed)
    base = rng.random((frames // 8 + 2, side, side, 3), dtype=np.float32)
    base = np.stack([cv2.GaussianBlur(f, (0, 0), 4.0) for f in base])
    pos = np.linspace(0, base.shape[0] - 1.001, frames)
    i0 = pos.astype(int)
    frac = (pos - i0)[:, None, None, None].astype(np.float32)
    clip = (1 - frac) * base[i0] + frac * base[i0 + 1]
    clip = (clip - clip.min()) / (clip.max() - clip.min())
    return np.round(clip * 255).astype(np.uint8)


def _median_time(fn, repeats: int) -> tuple[float, float]:
    """Median wall time and median process CPU time (seconds) after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--side", type=int, default=256)
    ap.add_argument("--levels", type=int, default=4)
    ap.add_argument("--alpha", type=float, default=10.0)
    args = ap.parse_args()

    clip = _smooth_clip(args.frames, args.side)
    cv2.setNumThreads(args.threads)
    cases = [
        ("laplacian", "ideal", None),
        ("laplacian", "iir", None),
        ("laplacian", "ideal", 16.0),
        ("laplacian", "iir", 16.0),
        ("gaussian", "ideal", None),
        ("gaussian", "iir", None),
    ]
    rows = []
    with threadpool_limits(args.threads):
        for pyramid, filt, lambda_c in cases:

            def run(pyramid=pyramid, filt=filt, lambda_c=lambda_c):
                return magnify(
                    clip,
                    args.alpha,
                    levels=args.levels,
                    pyramid=pyramid,
                    filter=filt,
                    lambda_c=lambda_c,
                )

            wall, cpu = _median_time(run, args.repeats)
            rows.append((pyramid, filt, lambda_c, wall, cpu))

    t, s = args.frames, args.side
    print(
        f"magnify on a {t}x{s}x{s}x3 uint8 clip, levels={args.levels}, alpha={args.alpha:g}, "
        f"{args.threads} thread(s), median of {args.repeats}\n"
    )
    print("| pyramid | filter | lambda_c | frames/s (wall) | wall ms | CPU ms |")
    print("|---|---|---|---:|---:|---:|")
    for pyramid, filt, lambda_c, wall, cpu in rows:
        lc = "-" if lambda_c is None else f"{lambda_c:g}"
        print(
            f"| {pyramid} | {filt} | {lc} | {t / wall:.0f} | {wall * 1e3:.0f} | {cpu * 1e3:.0f} |"
        )


if __name__ == "__main__":
    main()
