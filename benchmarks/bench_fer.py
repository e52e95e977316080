"""Benchmark: the FSR-FER hot paths on the CPU (one thread by default).

Times (median of ``--repeats`` runs; wall and process CPU time, milliseconds; with one thread the CPU
time is the single-core cost even on a shared machine):

* ``degrade``: MATLAB-bicubic x8 down-sampling and up-sampling back of a batch of 100x100 faces;
* ``F``: the backbone's feature extractor on that batch (eval mode), for the demo backbone
  (stem stride 4, widths 16/32/64) and the seed-003 config's (stem stride 2, widths 64/128/256);
* ``G``: the 6-RRDB generator forward on the batch's features;
* ``iteration``: one FSR-FER training iteration (critic step with the WGAN-div penalty + generator
  step through the frozen classifier), features cached as in the demo.

Run: ``.venv/bin/python benchmarks/bench_fer.py [--threads 1] [--batch 32] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from srmer.fer.backbone import create_fer
from srmer.fer.config import FSRConfig
from srmer.fer.fsr import FeatureCritic, FeatureGenerator
from srmer.fer.train import degrade_up, to_tensor, train_fsr


def _median_time(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 255, (args.batch, 100, 100, 3), dtype=np.uint8)
    labels = np.arange(args.batch) % 7
    rows = {}
    rows["degrade x8 + up"] = _median_time(lambda: degrade_up(faces, 8), args.repeats)
    for name, kw in [
        ("demo", {"widths": (16, 32, 64), "stem_stride": 4}),
        ("seed003", {"widths": (64, 128, 256), "blocks": (2, 2, 2), "stem_stride": 2}),
    ]:
        torch.manual_seed(0)
        net = create_fer(7, **kw).eval().requires_grad_(False)
        x = to_tensor(faces)
        with torch.no_grad():
            f = net.features(x)
            rows[f"F ({name}, {tuple(f.shape[1:])})"] = _median_time(
                lambda net=net, x=x: net.features(x), args.repeats
            )
            g = FeatureGenerator(f.shape[1], 32 if name == "demo" else 64, 16, 6)
            rows[f"G forward ({name})"] = _median_time(lambda g=g, f=f: g(f), args.repeats)
        FeatureCritic(f.shape[1], f.shape[2])  # built once to check the shape logic
        n_it = 3
        cfg = FSRConfig(
            iterations=n_it,
            batch_size=args.batch,
            scales=[8],
            num_feat=32 if name == "demo" else 64,
            critic_feat=32 if name == "demo" else 64,
            checkpoint_every=10**6,
        )
        # train_fsr includes feature caching; time 3 iterations minus a 0-iteration run's setup
        setup = _median_time(
            lambda net=net, cfg=cfg: train_fsr(
                net, faces, labels, cfg.model_copy(update={"iterations": 1}), progress=False
            ),
            1,
        )
        total = _median_time(
            lambda net=net, cfg=cfg: train_fsr(net, faces, labels, cfg, progress=False), 1
        )
        rows[f"FSR iteration ({name})"] = (
            (total[0] - setup[0]) / (n_it - 1),
            (total[1] - setup[1]) / (n_it - 1),
        )
    print(f"threads={args.threads} batch={args.batch}")
    print(f"{'stage':40s} {'wall ms':>10s} {'cpu ms':>10s}")
    for k, (w, c) in rows.items():
        print(f"{k:40s} {w:10.1f} {c:10.1f}")
    print(json.dumps({k: {"wall_ms": w, "cpu_ms": c} for k, (w, c) in rows.items()}))


if __name__ == "__main__":
    main()
