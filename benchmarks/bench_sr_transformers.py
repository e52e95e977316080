"""Speed of the transformer SR and face-restoration models on CPU threads (issue 17).

SwinIR-lightweight, SwinIR-classical (SwinIR-M) and HAT-S at x4 on 64x64 -> 256x256 frames, and
GFPGAN v1.3/v1.4 and CodeFormer at their native 512x512, in their published configurations with
random weights (speed does not depend on the weights): frames/s of inference
(``torch.inference_mode``), the FLOPs per frame of every convolution, linear layer, matrix product
and attention (counted from the tensor shapes of each call with a ``TorchFunctionMode``), the
achieved GFLOP/s and its fraction of the fp32 matrix-multiply peak measured in the same process
just before each timing, and where the time goes: the share of the profiler's self CPU time of
the five most expensive operators.

Usage::

    .venv/bin/python benchmarks/bench_sr_transformers.py --threads 2 [--models swinir_light,hat_s]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sr import matmul_peak, time_model

import srmer.sr as sr

#: name -> (arch, scale, LR side)
MODELS = {
    "swinir_light": ("swinir_light", 4, 64),
    "swinir": ("swinir", 4, 64),
    "hat_s": ("hat_s", 4, 64),
    "gfpgan": ("gfpgan", 1, 512),
    "codeformer": ("codeformer", 1, 512),
}


class FlopCounter(TorchFunctionMode):
    """FLOPs (2 x multiply-accumulates) of conv, linear, matmul-like and attention calls."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0.0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        try:
            self.flops += self._count(func, args, kwargs, out)
        except Exception:  # an unusual call signature: not counted
            pass
        return out

    @staticmethod
    def _count(func, args, kwargs, out) -> float:
        if func in (F.conv2d, torch.conv2d):
            w = args[1] if len(args) > 1 else kwargs["weight"]
            return 2.0 * out.numel() * w.shape[1] * w.shape[2] * w.shape[3]
        if func in (F.linear,):
            w = args[1] if len(args) > 1 else kwargs["weight"]
            return 2.0 * out.numel() * w.shape[1]
        if func in (torch.matmul, torch.bmm, torch.Tensor.__matmul__, torch.Tensor.matmul):
            return 2.0 * out.numel() * args[0].shape[-1]
        if func in (torch.baddbmm, torch.addmm):
            return 2.0 * out.numel() * args[1].shape[-1]
        if func is F.scaled_dot_product_attention:
            q, k = args[0], args[1]
            lq, lk, d = q.shape[-2], k.shape[-2], q.shape[-1]
            batch = math.prod(q.shape[:-2])
            return 2.0 * 2.0 * batch * lq * lk * d  # QK^T and AV
        return 0.0


def count_flops(model: torch.nn.Module, x: torch.Tensor) -> float:
    counter = FlopCounter()
    with torch.inference_mode(), counter:
        model(x)
    return counter.flops / x.shape[0]


def top_ops(model: torch.nn.Module, x: torch.Tensor, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` operators with most self CPU time, as shares of the total."""
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as prof:
        model(x)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    ranked = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:k]
    return [(e.key, round(e.self_cpu_time_total / total, 3)) for e in ranked]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    peak = matmul_peak()
    for name in args.models.split(","):
        arch, scale, side = MODELS[name]
        torch.manual_seed(0)
        model = sr.create(arch, scale).eval()
        x = torch.rand(1, 3, side, side)
        flops = count_flops(model, x)
        local_peak = matmul_peak(repeats=3)
        peak = max(peak, local_peak)
        sec = time_model(model, x, 1 if side >= 512 else args.repeats, channels_last=False)
        gflops = flops / sec / 1e9
        rows.append(
            {
                "model": name,
                "input": f"{side}x{side}",
                "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
                "GFLOP_per_frame": round(flops / 1e9, 1),
                "frames_per_s": round(1.0 / sec, 3),
                "GFLOP_per_s": round(gflops, 1),
                "local_matmul_peak": round(local_peak, 1),
                "fraction_of_matmul_peak": round(gflops / local_peak, 3),
                "top_ops": top_ops(model, x),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    info = {
        "threads": args.threads,
        "machine": f"{platform.machine()} {platform.processor()} python {platform.python_version()}",
        "torch": torch.__version__,
        "matmul_peak_GFLOP_per_s": round(peak, 1),
        "load_average": os.getloadavg(),
        "rows": rows,
    }
    print(f"\nbest fp32 matmul peak ({args.threads} threads): {peak:.1f} GFLOP/s")
    print(
        "| model | input | params (M) | GFLOP/frame | frames/s | GFLOP/s | fraction of peak | top ops |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        ops = ", ".join(f"{k} {v:.0%}" for k, v in r["top_ops"][:3])
        print(
            f"| {r['model']} | {r['input']} | {r['params_M']} | {r['GFLOP_per_frame']} | "
            f"{r['frames_per_s']} | {r['GFLOP_per_s']} | {r['fraction_of_matmul_peak']} | {ops} |"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
