"""Benchmark: CPU training throughput of each MER network (samples per second).

One optimiser step = forward + loss + backward + step on a random batch of the network's input shape
(flow nets and HTNet: 28x28, RCN-A: 60x60, MMNet: 6xSxS onset + apex frames at 224 and
``--mmnet-small``, 3D-ResNet-18: 3x16xSxS), with the paper's optimiser (MMNet: AdamW). Reports the
median over timed steps after warm-up. ``--loso`` also times a full LOSO run of STSTNet (the demo
budget: 10 subjects x 8 clips, 20 epochs) through :class:`srmer.mer.train.NetClassifier`.

Run: ``.venv/bin/python benchmarks/bench_nets.py [--threads 1] [--steps 10] [--resnet-size 64]
[--mmnet-small 112] [--only htnet mmnet] [--loso]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch.nn import functional as F

from srmer.mer import registry
from srmer.mer.nets import create_net

SHAPES = {
    "ststnet": (3, 28, 28),
    "offapexnet": (2, 28, 28),
    "dualinception": (2, 28, 28),
    "rcna": (3, 60, 60),
    "featref": (2, 28, 28),
}


def _step_time(
    name: str, shape: tuple[int, ...], batch: int, steps: int, **params: object
) -> tuple[float, float]:
    """Median wall and process-CPU seconds of one training step (``params``: method options)."""
    torch.manual_seed(0)
    est = registry.create(name, **params).estimator(3)
    net = (
        create_net(name, 3, **(est.net_params or {})) if name != "resnet3d" else create_net(name, 3)
    )
    opt = est._make_optimizer(net)
    net.train()
    x, y = torch.randn(batch, *shape), torch.randint(0, 3, (batch,))
    times, cpu = [], []
    for i in range(steps + 2):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        loss = (
            net.training_loss(x, y) if hasattr(net, "training_loss") else F.cross_entropy(net(x), y)
        )
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return statistics.median(times), statistics.median(cpu)


def _loso_ststnet() -> float:
    from srmer.eval.protocol import loso_predict
    from srmer.mer.train import NetClassifier

    rng = np.random.default_rng(0)
    X = rng.random((80, 3, 28, 28), dtype=np.float32)
    y = np.tile(np.arange(4), 20)
    groups = np.repeat(np.arange(10), 8)
    t0 = time.perf_counter()
    loso_predict(
        lambda: NetClassifier("ststnet", n_classes=4, epochs=20, lr=5e-5, batch_size=256, device="cpu"),
        X, y, groups,
    )  # fmt: skip
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--resnet-size", type=int, default=64)
    parser.add_argument("--resnet-batch", type=int, default=8)
    parser.add_argument("--mmnet-small", type=int, default=112, help="second MMNet input side")
    parser.add_argument("--mmnet-batch", type=int, default=32, help="MMNet's batch (the paper's)")
    parser.add_argument("--only", nargs="+", default=None, help="networks to time (default: all)")
    parser.add_argument("--loso", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    print("training samples/s by wall time (and by process CPU time / threads)")
    print(f"{'network':>14} {'input':>14} {'batch':>6} {'samples/s':>18}")
    runs = [(n, s, args.batch, args.steps, {}) for n, s in SHAPES.items()]
    r = args.resnet_size
    runs.append(("resnet3d", (3, 16, r, r), args.resnet_batch, max(3, args.steps // 3), {}))
    runs.append(("htnet", (3, 28, 28), args.batch, args.steps, {}))
    for side in dict.fromkeys((224, args.mmnet_small)):
        steps = max(3, args.steps // 3)
        runs.append(("mmnet", (6, side, side), args.mmnet_batch, steps, {"size": side}))
    for name, shape, batch, steps, params in runs:
        if args.only and name not in args.only:
            continue
        wall, cpu = _step_time(name, shape, batch, steps, **params)
        rate = f"{batch / wall:.1f} ({batch * args.threads / max(cpu, 1e-9):.1f})"
        print(f"{name:>14} {'x'.join(map(str, shape)):>14} {batch:>6} {rate:>18}")
    if args.loso and (not args.only or "ststnet" in args.only):
        print(f"STSTNet LOSO (10 subjects x 8 clips, 20 epochs): {_loso_ststnet():.1f} s")


if __name__ == "__main__":
    main()
