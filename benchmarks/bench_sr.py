"""Speed of the image SR architectures at x4 on 64x64 -> 256x256 frames, on CPU threads.

For EDSR-baseline, RDN (config B), RRDBNet (ESRGAN) and RCAN in their published configurations:
frames/s of ``srmer.sr.upscale``-style inference (``torch.inference_mode``), the convolution FLOPs per
frame (multiply-accumulates of every Conv2d / Linear counted with forward hooks, x2), the achieved
GFLOP/s and its fraction of this machine's fp32 matrix-multiply peak, measured in the same process
with a large ``torch.matmul`` right before each timing (the development machine is shared, so the
peak drifts with the load; each row is compared with the peak available at that moment).

Usage::

    .venv/bin/python benchmarks/bench_sr.py --threads 2 [--frames 2] [--repeats 2] [--out results.json]

The achieved fraction is an upper bound on how much faster a better conv kernel could make a model;
pixel-shuffle, concatenations, activations and memory traffic are not FLOPs and are included in the
time, so convolution-light models (EDSR at small widths) score lower.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

# On a machine whose cores are shared (more runnable threads than cores), OpenMP's default active
# spin-wait makes every parallel region wait for a descheduled sibling thread: an elementwise add of
# 1 MB took 15 ms instead of 0.2 ms here, and RCAN ran 6-8x slower. Passive waiting removes that
# artefact of oversubscription; it must be set before torch starts its thread pool. Export
# OMP_WAIT_POLICY=ACTIVE to measure the default behaviour on a dedicated machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
from torch import nn

import srmer.sr as sr

MODELS = {
    "edsr_baseline": ("edsr_baseline", {}),
    "rdn": ("rdn", {}),
    "rrdbnet": ("rrdbnet", {}),
    "rcan": ("rcan", {}),
}


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
    """Best fp32 GFLOP/s of an ``n x n @ n x n`` matmul (2 n^3 FLOPs)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)  # warm-up (thread pool, caches)
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        torch.matmul(a, b)
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def count_flops(model: nn.Module, x: torch.Tensor) -> float:
    """FLOPs (2 x MACs) of every Conv2d and Linear for one forward of ``x``, per input frame."""
    macs = 0

    def conv_hook(m: nn.Conv2d, _inp, out) -> None:
        nonlocal macs
        kh, kw = m.kernel_size
        macs += out.numel() * (m.in_channels // m.groups) * kh * kw

    def lin_hook(m: nn.Linear, _inp, out) -> None:
        nonlocal macs
        macs += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    with torch.inference_mode():
        model(x)
    for h in hooks:
        h.remove()
    return 2.0 * macs / x.shape[0]


def time_model(model: nn.Module, x: torch.Tensor, repeats: int, channels_last: bool) -> float:
    """Best seconds per forward over ``repeats`` runs after one warm-up."""
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    best = float("inf")
    with torch.inference_mode():
        model(x)
        for _ in range(repeats):
            t = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=2, help="frames per forward (batch)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--channels-last", action="store_true", help="also time channels_last")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    peak = matmul_peak()
    rows = []
    for key in args.models:
        name, hp = MODELS[key]
        model = sr.create(name, 4, **hp).eval()
        x = torch.rand(args.frames, 3, args.size, args.size)
        flops = count_flops(model, x[:1])
        layouts = [False, True] if args.channels_last else [False]
        for cl in layouts:
            # the machine may be shared: measure the peak right before each timing, under the same load
            local_peak = matmul_peak(repeats=3)
            peak = max(peak, local_peak)
            sec = time_model(model, x, args.repeats, cl)
            fps = args.frames / sec
            gflops = flops * fps / 1e9
            row = {
                "model": key,
                "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 3),
                "GFLOP_per_frame": round(flops / 1e9, 2),
                "frames_per_s": round(fps, 3),
                "GFLOP_per_s": round(gflops, 1),
                "local_matmul_peak": round(local_peak, 1),
                "fraction_of_matmul_peak": round(gflops / local_peak, 3),
                "channels_last": cl,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    peak = max(peak, matmul_peak())
    for r in rows:
        # conservative figure: against the best peak seen in the whole run
        r["fraction_of_best_peak"] = round(r["GFLOP_per_s"] / peak, 3)
    summary = {
        "threads": args.threads,
        "frames_per_forward": args.frames,
        "input": f"{args.size}x{args.size} -> {4 * args.size}x{4 * args.size}",
        "matmul_peak_GFLOP_per_s": round(peak, 1),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "load_average_1min": os.getloadavg()[0],
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "rows": rows,
    }
    print(
        f"best fp32 matmul peak ({args.threads} threads): {peak:.1f} GFLOP/s; load average "
        f"{summary['load_average_1min']:.1f}; OMP_WAIT_POLICY={summary['omp_wait_policy']}; each row's "
        "fraction uses the peak measured just before it"
    )
    print(
        "| model | params (M) | GFLOP/frame | frames/s | GFLOP/s | matmul peak before | fraction of it "
        "| fraction of best peak | channels_last |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['params_M']} | {r['GFLOP_per_frame']} | {r['frames_per_s']} | "
            f"{r['GFLOP_per_s']} | {r['local_matmul_peak']} | {r['fraction_of_matmul_peak']} | "
            f"{r['fraction_of_best_peak']} | {r['channels_last']} |"
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
