"""Benchmark: MATLAB-compatible bicubic resizing of whole clips (the benchmark's hot path).

Every clip of a run is resized from 256x256 down to each resolution and, for Bicubic_restore, back
up: a 64-frame 256x256x3 uint8 clip to 16/32/64/128 and back to 256. This times
:func:`srmer.degrade.resize_clip` for both directions (median of ``--repeats`` runs, in milliseconds) with BLAS
limited to ``--threads`` threads (1 = one core per process; clips are parallelised across
processes by the executor). For scale, OpenCV's per-frame ``INTER_CUBIC`` (a = -0.75, no
antialiasing; NOT MATLAB-compatible) is timed on the same clip.

Run: ``.venv/bin/python benchmarks/bench_imresize.py [--threads 1] [--repeats 5] [--frames 64]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from srmer.degrade import resize_clip


def _median_time(fn, repeats: int) -> tuple[float, float]:
    """Median wall time and median process CPU time (seconds).

    With one thread the CPU time is the single-core cost even when other processes share the
    machine (wall time then also counts waiting for a core).
    """
    fn()  # warm-up: fills the weight cache
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def _cv2_clip(clip: np.ndarray, size: int) -> np.ndarray:
    return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_CUBIC) for f in clip])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--side", type=int, default=256)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (args.frames, args.side, args.side, 3), dtype=np.uint8)
    cv2.setNumThreads(args.threads)
    rows = []
    with threadpool_limits(args.threads):
        for r in (16, 32, 64, 128):
            lr = resize_clip(clip, r)
            down = _median_time(lambda r=r: resize_clip(clip, r), args.repeats)
            up = _median_time(lambda lr=lr: resize_clip(lr, args.side), args.repeats)
            cv_down = _median_time(lambda r=r: _cv2_clip(clip, r), args.repeats)
            cv_up = _median_time(lambda lr=lr: _cv2_clip(lr, args.side), args.repeats)
            rows.append((r, down, up, cv_down, cv_up))
    print(
        f"resize_clip on a {args.frames}x{args.side}x{args.side}x3 uint8 clip, "
        f"{args.threads} thread(s), median of {args.repeats} runs, ms per clip: "
        "wall time (process CPU time)"
    )
    print("| LR side | down | up | round trip | per frame | cv2 down | cv2 up |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r, down, up, cvd, cvu in rows:
        trip = (down[0] + up[0], down[1] + up[1])
        frame = (trip[0] / args.frames, trip[1] / args.frames)
        print(
            f"| {r} | {_ms(down)} | {_ms(up)} | {_ms(trip)} | {_ms(frame, 2)} "
            f"| {_ms(cvd, 1)} | {_ms(cvu, 1)} |"
        )


def _ms(t: tuple[float, float], digits: int = 0) -> str:
    return f"{1e3 * t[0]:.{digits}f} ({1e3 * t[1]:.{digits}f})"


if __name__ == "__main__":
    main()
