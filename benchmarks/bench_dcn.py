"""Benchmark: pure-PyTorch modulated deformable convolution vs a plain 3x3 convolution.

Default case: EDVR-M sizes (batch 1, 64 -> 64 channels, 64x64 feature map, 3x3 kernel, 8 deformable
groups) with random fractional offsets (+-4 px) and masks, forward only under
``torch.inference_mode``. ``--train`` also times forward + backward with gradients for every input
(the training case); ``--channels 128`` gives EDVR-L sizes.

The two operators are timed alternately, call by call, so a burst of load from another process slows
both and the ratio stays meaningful on a shared machine. Prints the medians and their ratio.

Run: ``.venv/bin/python benchmarks/bench_dcn.py [--threads 1] [--repeats 50] [--train]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from srmer.sr.archs.dcn import modulated_deform_conv2d


def _alternating_medians(
    fns: list[Callable[[], object]], repeats: int, warmup: int = 3
) -> list[float]:
    """Median wall time (s) of each function, timing them in turn ``repeats`` times."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--train", action="store_true", help="also time forward + backward")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    c, s, g = args.channels, args.size, args.groups
    x = torch.randn(1, c, s, s)
    weight = torch.randn(c, c, 3, 3) * 0.05
    bias = torch.zeros(c)
    offset = (torch.rand(1, 2 * g * 9, s, s) - 0.5) * 8
    mask = torch.rand(1, g * 9, s, s)
    print(f"threads={args.threads} B=1 C={c} {s}x{s} G={g} repeats={args.repeats}")
    with torch.inference_mode():
        t_conv, t_dcn = _alternating_medians(
            [
                lambda: F.conv2d(x, weight, bias, padding=1),
                lambda: modulated_deform_conv2d(x, offset, weight, bias, 1, 1, 1, mask),
            ],
            args.repeats,
        )
    print(f"forward  conv2d 3x3            : {t_conv * 1e3:8.2f} ms")
    print(f"forward  modulated deform conv : {t_dcn * 1e3:8.2f} ms")
    print(f"forward  ratio                 : {t_dcn / t_conv:8.2f} x")
    if not args.train:
        return
    leaves = [t.clone().requires_grad_(True) for t in (x, weight, bias, offset, mask)]
    xg, wg, bg, og, mg = leaves

    def conv_step() -> None:
        F.conv2d(xg, wg, bg, padding=1).sum().backward()

    def dcn_step() -> None:
        modulated_deform_conv2d(xg, og, wg, bg, 1, 1, 1, mg).sum().backward()

    t_conv, t_dcn = _alternating_medians([conv_step, dcn_step], max(5, args.repeats // 2))
    print(f"fwd+bwd  conv2d 3x3            : {t_conv * 1e3:8.2f} ms")
    print(f"fwd+bwd  modulated deform conv : {t_dcn * 1e3:8.2f} ms")
    print(f"fwd+bwd  ratio                 : {t_dcn / t_conv:8.2f} x")


if __name__ == "__main__":
    main()
