"""Protocol figures of issue 14: the composite and cross-dataset demos, the SR-pool guard's cost.

Usage::

    .venv/bin/python benchmarks/bench_protocols.py demos   # composite demo cold, then cross-dataset
    .venv/bin/python benchmarks/bench_protocols.py guard   # SR-pool leakage guard on a CASME II-sized set

Each prints a Markdown table (median of ``--repeat`` runs where it says so). Data is generated under
``--data`` (default /tmp/srmer-bench) once and reused.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import time
from pathlib import Path

from srmer.bench.config import parse_config
from srmer.bench.demo import demo_config, ensure_demo_data
from srmer.bench.runner import run
from srmer.data import synthetic


def _machine() -> str:
    import os

    return f"{platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}"


def demos(data: Path, out: Path) -> None:
    """Cold composite demo (fresh cache, data generated first), then the cross-dataset demo."""
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    ensure_demo_data(data, which="composite")
    gen = time.perf_counter() - t
    rows = []
    for which in ("composite", "cross_dataset"):
        raw = demo_config(which, data)
        raw["output"] = str(out / which)
        raw["cache"] = str(out / "cache")  # shared, as in the packaged configs
        t = time.perf_counter()
        res = run(parse_config(raw), quiet=True)
        rows.append((which, time.perf_counter() - t, len(res.results)))
    print(f"machine: {_machine()}; data generation {gen:.1f} s (skipped when present)\n")
    print("| demo | wall s (run + report) | result rows |\n|---|---:|---:|")
    for which, s, n in rows:
        print(f"| {which} | {s:.1f} | {n} |")


def guard(data: Path, repeat: int) -> None:
    """check_sr_pool against a CASME II-sized dataset (26 subjects x 10 clips x 32 frames)."""
    from srmer.bench.pool_guard import check_sr_pool
    from srmer.data import load

    root = data / "casme2_26x10x32"
    if not root.exists():
        synthetic.generate(root, n_subjects=26, clips_per_subject=10, n_frames=32, seed=3)
    pool = data / "pool_guard"
    if not pool.exists():
        synthetic.generate_sr_pool(pool, n_identities=16, frames_per_identity=16, seed=3)
    pool = pool / "sr_pool"
    samples = load("casme2", root)
    n_frames = sum(len(s.frames) for s in samples)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        check = check_sr_pool(pool, [("casme2", root, samples.samples)])
        times.append(time.perf_counter() - t)
    print(f"machine: {_machine()}\n")
    print("| evaluation frames | pool images | status | median s |\n|---:|---:|---|---:|")
    print(
        f"| {n_frames} | {check.n_pool_images} | {check.status} | {statistics.median(times):.3f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["demos", "guard"])
    ap.add_argument("--data", type=Path, default=Path("/tmp/srmer-bench"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/srmer-bench/protocol_runs"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if a.what == "demos":
        demos(a.data, a.out)
    else:
        guard(a.data, a.repeat)


if __name__ == "__main__":
    main()
