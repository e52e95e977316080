"""Benchmark: pure-PyTorch modulated deformable convolution vs a plain 3x3 convolution.

EDVR-M sizes: batch 1, 64 -> 64 channels, 64x64 feature map, 3x3 kernel, 8 deformable groups,
random fractional offsets (+-4 px) and masks. Prints median forward times and their ratio.

Run: ``.venv/bin/python benchmarks/bench_dcn.py [--threads 2] [--repeats 30]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from srmer.sr.archs.dcn import modulated_deform_conv2d


def _median_time(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--groups", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    c, s, g = args.channels, args.size, args.groups
    x = torch.randn(1, c, s, s)
    weight = torch.randn(c, c, 3, 3) * 0.05
    bias = torch.zeros(c)
    offset = (torch.rand(1, 2 * g * 9, s, s) - 0.5) * 8
    mask = torch.rand(1, g * 9, s, s)
    with torch.inference_mode():
        t_conv = _median_time(lambda: F.conv2d(x, weight, bias, padding=1), args.repeats)
        t_dcn = _median_time(
            lambda: modulated_deform_conv2d(x, offset, weight, bias, 1, 1, 1, mask), args.repeats
        )
    print(f"threads={args.threads} B=1 C={c} {s}x{s} G={g}")
    print(f"conv2d 3x3            : {t_conv * 1e3:8.2f} ms")
    print(f"modulated deform conv : {t_dcn * 1e3:8.2f} ms")
    print(f"ratio                 : {t_dcn / t_conv:8.2f} x")


if __name__ == "__main__":
    main()
