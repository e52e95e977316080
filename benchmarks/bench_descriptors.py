"""Speed of the hand-crafted descriptors on one 64x256x256 uint8 clip, on ONE core.

Run::

    .venv/bin/python benchmarks/bench_descriptors.py [--repeat 9] [--quick]

Threads are pinned to one (OpenMP/BLAS environment variables set before numpy is imported, OpenCV
``setNumThreads(1)``); torch is not involved. Each row is the median wall and process-CPU time of
``--repeat`` calls after one warm-up call (on a shared machine the wall time includes waiting for a
core). The table is printed as Markdown together with the machine it ran on, for ``BENCHMARKS.md``.
A naive vectorised numpy LBP-TOP (three int64 codes per voxel, one ``np.bincount`` per block and
plane) is timed as the baseline, and checked equal to the fast one first.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import gaussian_filter  # noqa: E402

from srmer.features import higo_top, hog3d, hog_top, lbp_sip, lbp_top, lpq_top  # noqa: E402


def plain_numpy_lbp_top(vol: np.ndarray, rt: int = 4, blocks: int = 5) -> np.ndarray:
    """Baseline: seed-000 LBP-TOP the straightforward vectorised way (int64 codes, bincount)."""
    v = vol.astype(np.int16)
    t_len, h, w = v.shape
    c = v[rt : t_len - rt, 1 : h - 1, 1 : w - 1]

    def nb(dt: int, dy: int, dx: int) -> np.ndarray:
        return v[rt + dt : t_len - rt + dt, 1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx]

    planes = [
        [(0, 0, 1), (0, -1, 0), (0, 0, -1), (0, 1, 0)],  # XY
        [(0, 0, 1), (rt, 0, 0), (0, 0, -1), (-rt, 0, 0)],  # XT
        [(rt, 0, 0), (0, -1, 0), (-rt, 0, 0), (0, 1, 0)],  # YT
    ]
    rows = np.array_split(np.arange(h), blocks)
    cols = np.array_split(np.arange(w), blocks)
    out = []
    codes = []
    for offs in planes:
        code = np.zeros(c.shape, np.int64)
        for p, d in enumerate(offs):
            code += (nb(*d) >= c).astype(np.int64) << p
        codes.append(code)
    for r in rows:
        r0, r1 = max(r[0], 1) - 1, min(r[-1] + 1, h - 1) - 1
        for cc in cols:
            c0, c1 = max(cc[0], 1) - 1, min(cc[-1] + 1, w - 1) - 1
            for code in codes:
                hist = np.bincount(code[:, r0:r1, c0:c1].ravel(), minlength=16).astype(np.float64)
                out.append(hist / max(hist.sum(), 1))
    return np.concatenate(out).astype(np.float32)


def clip(seed: int = 0) -> np.ndarray:
    """A textured 64x256x256 uint8 clip (smoothed noise, so flat and busy regions both occur)."""
    rng = np.random.default_rng(seed)
    vol = gaussian_filter(rng.normal(0, 1, (64, 256, 256)).astype(np.float32), (1.0, 1.5, 1.5))
    vol = vol / vol.std() * 40 + 128
    return np.clip(np.rint(vol), 0, 255).astype(np.uint8)


def median_ms(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Median wall, minimum wall and median process-CPU ms of ``repeat`` calls (after a warm-up).

    On a shared machine the wall time includes waiting for a core; the CPU time and the fastest
    call mostly do not.
    """
    fn()  # warm-up (caches, lazily built tables)
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall) * 1e3, min(wall) * 1e3, statistics.median(cpu) * 1e3


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} logical cores (1 used), load average {load:.1f} at start; "
        f"Python {platform.python_version()}, numpy {np.__version__}, OpenCV {cv2.__version__}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=9, help="timed calls per row (median)")
    ap.add_argument("--quick", action="store_true", help="3 calls for the slow rows")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    vol = clip()
    slow = 3 if args.quick else max(3, args.repeat // 2)
    rows = [
        (
            "LBP-TOP seed 000: R (1,1,4), P 4, 5x5 blocks, basic (1200)",
            lambda: lbp_top(vol),
            args.repeat,
        ),
        (
            "  baseline: naive vectorised numpy, same setting",
            lambda: plain_numpy_lbp_top(vol),
            args.repeat,
        ),
        (
            "LBP-TOP R (1,1,1), P 8 interpolated, 5x5, u2 (4425)",
            lambda: lbp_top(vol, radii=(1, 1, 1), points=8, mapping="u2"),
            slow,
        ),
        (
            "LBP-TOP R (1,1,1), P 8 interpolated, 5x5, basic (19200)",
            lambda: lbp_top(vol, radii=(1, 1, 1), points=8),
            slow,
        ),
        ("LBP-SIP R 1 and 3, Rt 1, 5x5 (1000)", lambda: lbp_sip(vol, radius=(1, 3)), args.repeat),
        ("LBP-SIP R 1, Rt 1, 5x5 (500)", lambda: lbp_sip(vol), args.repeat),
        ("LPQ-TOP window 5, rho 0.1, decorrelated, 1x1 (768)", lambda: lpq_top(vol), slow),
        ("HOG-TOP 8 bins, 5x5 (600)", lambda: hog_top(vol), slow),
        ("HIGO-TOP 8 bins, 5x5 (600)", lambda: higo_top(vol), slow),
        ("3DHOG 8x4 bins, 5x5, 1 T division (800)", lambda: hog3d(vol), slow),
    ]
    # the fast path must agree with the baseline before its time means anything
    np.testing.assert_allclose(lbp_top(vol), plain_numpy_lbp_top(vol), atol=1e-6)
    print(f"Clip: 64x256x256 uint8 (textured). Machine: {machine()}\n")
    print("| descriptor (feature length) | median wall ms | min wall ms | median CPU ms | runs |")
    print("|---|---:|---:|---:|---:|")
    for name, fn, rep in rows:
        wall, fastest, cpu = median_ms(fn, rep)
        print(f"| {name} | {wall:.1f} | {fastest:.1f} | {cpu:.1f} | {rep} |", flush=True)


if __name__ == "__main__":
    main()
