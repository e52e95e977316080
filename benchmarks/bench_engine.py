"""Benchmark-engine figures of issue 5: warm-cache re-run, memory on a CASME II-sized set, worker scaling.

Usage::

    .venv/bin/python benchmarks/bench_engine.py warm      # demo config cold vs warm (fresh cache)
    .venv/bin/python benchmarks/bench_engine.py memory    # 26 subjects / 256 clips, bicubic x LBP-TOP, 4 resolutions
    .venv/bin/python benchmarks/bench_engine.py scaling   # clip (feature) stage with 1 and 2 workers
    .venv/bin/python benchmarks/bench_engine.py overhead  # cold 1-worker run vs the same calls in a loop

Each prints a Markdown table (median of ``--repeat`` runs where it says so). Data is generated under
``--data`` (default /tmp/srmer-bench) once and reused.
"""

from __future__ import annotations

import argparse
import platform
import resource
import shutil
import statistics
import time
from pathlib import Path

import yaml

from srmer.bench.config import parse_config
from srmer.bench.runner import run
from srmer.data import synthetic

CONFIGS = Path(__file__).resolve().parents[1] / "src" / "srmer" / "configs"


def _machine() -> str:
    import os

    return f"{platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}"


def _demo_config(data: Path, out: Path, **over):
    from srmer.bench.demo import ensure_demo_data

    root, pool = ensure_demo_data(data)
    raw = yaml.safe_load((CONFIGS / "demo.yaml").read_text())
    raw["datasets"][0]["root"] = str(root)
    raw["sr_pool"] = str(pool)
    raw["output"] = str(out)
    raw.update(over)
    return parse_config(raw)


def bench_warm(args) -> None:
    cold, warm = [], []
    for i in range(args.repeat):
        out = args.data / f"run-warm-{i}"
        shutil.rmtree(out, ignore_errors=True)
        cfg = _demo_config(args.data, out)
        t = time.perf_counter()
        run(cfg, quiet=True, write_report=False)
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        run(cfg, quiet=True, write_report=False)
        warm.append(time.perf_counter() - t)
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"| demo config ({_machine()}) | cold s | warm s | warm/cold |\n|---|---:|---:|---:|")
    print(f"| median of {args.repeat} | {c:.1f} | {w:.1f} | {100 * w / c:.1f}% |")


def bench_memory(args) -> None:
    root = args.data / "casme2-sized"
    if not root.exists():
        t = time.perf_counter()
        synthetic.generate(root, n_subjects=26, clips_per_subject=10, n_frames=args.frames, seed=3)
        print(
            f"generated 26 subjects x 10 clips x {args.frames} frames in {time.perf_counter() - t:.0f} s"
        )
    out = args.data / "run-memory"
    shutil.rmtree(out, ignore_errors=True)
    cfg = parse_config(
        {
            "name": "memory",
            "datasets": [{"name": "casme2", "root": str(root)}],
            "resolutions": [16, 32, 64, 128],
            "sr": ["bicubic"],
            "mer": ["lbptop"],
            "reference": False,
            "output": str(out),
            "executor": {"kind": "local", "workers": args.workers},
        }
    )
    t = time.perf_counter()
    res = run(cfg, quiet=True, write_report=False)
    wall = time.perf_counter() - t
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    n = int(res.results.n_clips.iloc[0])
    print(
        f"| CASME II-sized ({n} clips x {args.frames} frames), bicubic x LBP-TOP, 4 resolutions, "
        f"{args.workers} workers ({_machine()}) | value |\n|---|---:|"
    )
    print(f"| wall time | {wall:.0f} s |\n| peak RSS, main process | {self_kb / 2**20:.2f} GiB |")
    print(f"| peak RSS, largest worker | {child_kb / 2**20:.2f} GiB |")
    print(
        f"| peak RSS, main + workers (upper bound) | {(self_kb + args.workers * child_kb) / 2**20:.2f} GiB |"
    )


def bench_scaling(args) -> None:
    times = {}
    for workers in (1, 2):
        runs = []
        for i in range(args.repeat):
            out = args.data / f"run-scaling-{workers}-{i}"
            shutil.rmtree(out, ignore_errors=True)
            # the feature stage of the demo data: descriptors only, so the stage is what is timed
            cfg = _demo_config(
                args.data,
                out,
                executor={"kind": "local", "workers": workers},
                sr=["none", "bicubic"],
                mer=["lbptop", "lbpsip", "hog3d"],
            )
            import cv2
            from threadpoolctl import threadpool_limits

            # one worker runs inline in this process: limit it to one thread like a pool worker
            cv2.setNumThreads(1 if workers == 1 else -1)
            with threadpool_limits(1 if workers == 1 else None):
                res = run(cfg, quiet=True, write_report=False)
            import json

            timings = json.loads((res.run_dir / "provenance.json").read_text())["timings"]
            runs.append(timings["clips:casme2"])
        times[workers] = statistics.median(runs)
    print(
        f"| clip (feature) stage, demo config ({_machine()}) | 1 worker s | 2 workers s | speed-up |"
    )
    print(
        f"|---|---:|---:|---:|\n| median of {args.repeat} | {times[1]:.1f} | {times[2]:.1f} | {times[1] / times[2]:.2f}x |"
    )


def _overhead_data(args) -> Path:
    root = args.data / "overhead-8x8x32"
    if not root.exists():
        synthetic.generate(root, n_subjects=8, clips_per_subject=8, n_frames=32, seed=5)
    return root


def _direct_loop(root: Path) -> float:
    """The engine's work without the engine: load, degrade, restore, quality, LBP-TOP, LOSO SVMs."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from srmer.data import load
    from srmer.degrade import resize_clip
    from srmer.eval.metrics import all_metrics
    from srmer.eval.protocol import loso_predict
    from srmer.mer.registry import create
    from srmer.quality import psnr_clip, ssim_clip
    from srmer.video.io import read_frames

    t = time.perf_counter()
    with threadpool_limits(1):
        samples = load("casme2", root, classes="4class")
        mer = create("lbptop")
        feats: dict[str, list] = {}
        for s in samples:
            hr = read_frames(s.frames)
            if hr.shape[1:3] != (256, 256):
                hr = resize_clip(hr, 256)
            feats.setdefault("ref", []).append(mer.represent(hr, s.onset_index, s.apex_index))
            for r in (16, 32, 64, 128):
                lr = resize_clip(hr, r)
                feats.setdefault(f"{r}|none", []).append(
                    mer.represent(lr, s.onset_index, s.apex_index)
                )
                sr = resize_clip(lr, 256)
                psnr_clip(sr, hr), ssim_clip(sr, hr)
                feats.setdefault(f"{r}|bicubic", []).append(
                    mer.represent(sr, s.onset_index, s.apex_index)
                )
        y = np.array([s.label for s in samples])
        groups = np.array([s.subject for s in samples])
        for x in feats.values():
            all_metrics(
                y,
                loso_predict(
                    lambda: mer.estimator(len(samples.classes), 0), np.stack(x), y, groups
                ),
            )
    return time.perf_counter() - t


def _engine_run(root: Path, out: Path) -> float:
    from threadpoolctl import threadpool_limits

    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    cfg = parse_config(
        {
            "name": "overhead",
            "datasets": [{"name": "casme2", "root": str(root)}],
            "resolutions": [16, 32, 64, 128],
            "sr": ["none", "bicubic"],
            "mer": ["lbptop"],
            "quality": ["psnr", "ssim"],
            "output": str(out),
            "executor": {"kind": "local", "workers": 1},
        }
    )
    with threadpool_limits(1):
        run(cfg, quiet=True, write_report=False)
    return time.perf_counter() - t


def bench_overhead(args) -> None:
    import cv2

    root = _overhead_data(args)
    cv2.setNumThreads(1)  # a 1-worker run computes inline with one thread, like a pool worker
    _direct_loop(root)  # warm the imports and the page cache for both sides
    direct, engine = [], []
    for i in range(args.repeat):  # alternate, so a burst of load slows both sides
        direct.append(_direct_loop(root))
        engine.append(_engine_run(root, args.data / f"run-overhead-{i}"))
    d, e = statistics.median(direct), statistics.median(engine)
    print(
        f"| cold 1-worker run, none + bicubic x LBP-TOP, 4 resolutions + HR, PSNR/SSIM, 8x8x32 "
        f"({_machine()}) | direct loop s | engine s | engine / direct |\n|---|---:|---:|---:|"
    )
    print(f"| median of {args.repeat} | {d:.1f} | {e:.1f} | {e / d:.2f}x |")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("what", choices=["warm", "memory", "scaling", "overhead"])
    ap.add_argument("--data", type=Path, default=Path("/tmp/srmer-bench"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--frames", type=int, default=48)
    args = ap.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    {
        "warm": bench_warm,
        "memory": bench_memory,
        "scaling": bench_scaling,
        "overhead": bench_overhead,
    }[args.what](args)


if __name__ == "__main__":
    main()
