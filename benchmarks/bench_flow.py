"""Benchmark: TV-L1 optical flow throughput (onset-apex pairs per second, one process).

Measures :func:`srmer.features.flow.tvl1_flow` (OpenCV's DualTVL1 with its default parameters) on a
rendered synthetic face pair at 256x256 and at the LR sizes 16, 32, 64 and 128 (the 256x256 pair
resized with area averaging), plus the full :func:`flow_images` step (flow + strain + resize to 28).
OpenCV's own threading is set with ``--threads`` (1 = one core per process; clips are parallelised
across processes by the benchmark executor).

Run: ``.venv/bin/python benchmarks/bench_flow.py [--threads 1] [--seconds 3]``
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from srmer.features.flow import flow_images, tvl1_flow


def _pair(size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Onset and apex frames of a synthetic micro-expression (falls back to a moving texture)."""
    try:
        from srmer.data.synthetic import Nuisance, draw_clip_spec, make_identity, render_clip

        rng = np.random.default_rng(0)
        spec = draw_clip_spec(rng, "happiness", 9, 2.0, size, Nuisance())
        clip = render_clip(make_identity(0, 0, 0, size), spec, rng)
        return clip[0], clip[spec.apex_index]
    except ImportError:
        rng = np.random.default_rng(0)
        tex = cv2.GaussianBlur(rng.random((size, size)), (0, 0), 3)
        tex = cv2.normalize(tex, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
        return tex, np.roll(tex, 2, axis=1)


def _rate(fn, seconds: float) -> tuple[float, float]:
    """Calls per second of wall time and per second of this process's CPU time.

    With one thread the CPU-time rate is what an unloaded core would give; on a shared machine the
    wall-time rate is lower by the contention.
    """
    fn()
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds or n < 3:
        fn()
        n += 1
    return n / (time.perf_counter() - t0), n / max(time.process_time() - c0, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    a, b = _pair(256)
    print(f"OpenCV {cv2.__version__}, cv2 threads {args.threads}")
    print("pairs/s by wall time (and by process CPU time)")
    print(f"{'size':>6} {'tvl1_flow':>20} {'flow_images(size=28)':>22}")
    for size in (256, 128, 64, 32, 16):
        if size == 256:
            fa, fb = a, b
        else:
            fa = cv2.resize(a, (size, size), interpolation=cv2.INTER_AREA)
            fb = cv2.resize(b, (size, size), interpolation=cv2.INTER_AREA)
        r1 = _rate(lambda fa=fa, fb=fb: tvl1_flow(fa, fb), args.seconds)
        r2 = _rate(lambda fa=fa, fb=fb: flow_images(fa, fb, size=28), args.seconds)
        c1 = f"{r1[0]:.1f} ({r1[1]:.1f})"
        c2 = f"{r2[0]:.1f} ({r2[1]:.1f})"
        print(f"{size:>6} {c1:>20} {c2:>22}")


if __name__ == "__main__":
    main()
