"""Benchmark: frames per second of each video SR model at 64to256 (published configurations).

Random weights (speed does not depend on them), one clip of ``--frames`` 64x64 frames, batch 1,
``torch.inference_mode``; ``--warmup`` untimed runs, then the median of ``--repeats`` runs.

Run: ``.venv/bin/python benchmarks/bench_vsr.py [--threads 2] [--frames 5] [--repeats 2] [--warmup 1]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from srmer.sr.video import run_video_model

MODELS = ("edvr", "basicvsr", "iconvsr", "basicvsrpp", "realbasicvsr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from srmer.sr.registry import create

    dev = torch.device(args.device)
    x = torch.rand(1, args.frames, 3, args.size, args.size)
    print(
        f"device={dev} threads={args.threads} clip=1x{args.frames}x3x{args.size}x{args.size} -> x4"
    )
    print(f"{'model':<14}{'params (M)':>11}{'s/clip':>9}{'frames/s':>10}")
    for name in args.models:
        torch.manual_seed(0)
        model = create(name, 4).to(dev).eval()
        n_params = sum(p.numel() for p in model.parameters()) / 1e6

        def run(model=model):
            run_video_model(model, x, window=args.frames, overlap=0, device=dev)
            if dev.type == "cuda":
                torch.cuda.synchronize()

        for _ in range(args.warmup):
            run()
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        t = statistics.median(times)
        print(f"{name:<14}{n_params:>11.2f}{t:>9.2f}{args.frames / t:>10.2f}")


if __name__ == "__main__":
    main()
