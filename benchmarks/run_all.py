"""Run every speed/memory benchmark in turn (``make bench``); figures go to BENCHMARKS.md by hand.

Each script prints Markdown tables; see its docstring for options. The engine's memory benchmark
generates a CASME II-sized synthetic set first (a few minutes).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
RUNS = [
    ["bench_imresize.py"],
    ["bench_descriptors.py", "--repeat", "9"],
    ["bench_flow.py", "--threads", "1", "--seconds", "2"],
    ["bench_nets.py", "--threads", "1", "--steps", "8"],
    ["bench_sr.py", "--threads", "2", "--frames", "2", "--repeats", "3", "--channels-last"],
    ["bench_dcn.py", "--threads", "1", "--repeats", "30"],
    ["bench_vsr.py", "--threads", "2", "--frames", "3", "--repeats", "1"],
    ["bench_fer.py", "--repeats", "3"],
    ["bench_engine.py", "warm", "--repeat", "1"],
    ["bench_engine.py", "scaling", "--repeat", "1"],
    ["bench_engine.py", "memory", "--frames", "32"],
    ["bench_protocols.py", "demos"],
    ["bench_protocols.py", "guard", "--repeat", "3"],
]


def main() -> int:
    failed = []
    for args in RUNS:
        print(f"\n## {' '.join(args)}\n", flush=True)
        if subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]]).returncode:
            failed.append(args[0])
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
