"""SR trained for recognition on the embedded default: the joint demo over several seeds.

Runs ``configs/joint_demo.yaml`` (bicubic, EDSR with the pixel loss, + motion loss, + task loss
frozen / joint; LBP-TOP and STSTNet; 16, 32, 64 px; LOSO on the synthetic CASME II-layout data)
once per seed, then prints, in Markdown:

1. WAR and UF1 per (resolution, SR, MER): the mean over seeds with the range over seeds, and the
   subject-bootstrap 95% interval of the first seed's run;
2. the paired comparisons of each seed's report (each recognition-trained variant against its
   pixel-loss twin and against bicubic): the difference, its paired interval and Holm-corrected p
   per seed, and how many seeds give a reliable gain or loss;
3. the wall time of each run.

Usage::

    .venv/bin/python benchmarks/joint_seeds.py --seeds 0 1 2 [--data /tmp/srmer-joint] [--out runs/joint_seeds]

The synthetic data is generated once under ``--data``; each seed's run directory is
``--out/seed<k>`` (its report is there). Every run shares one stage cache (the SR pool models of
one seed are not reused by another: the training seed is part of their key).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import pandas as pd

from srmer.bench.config import parse_config
from srmer.bench.demo import demo_config, ensure_demo_data
from srmer.bench.runner import run

VARIANTS = ("bicubic", "edsr_pixel", "edsr_motion", "edsr_task_frozen", "edsr_task_joint")


def _machine() -> str:
    import os

    return f"{platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}"


def _md(df: pd.DataFrame) -> str:
    """A pipe table of string-valued cells (tabulate is not a dependency)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.to_numpy()]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--data", type=Path, default=Path("/tmp/srmer-joint"))
    ap.add_argument("--out", type=Path, default=Path("runs/joint_seeds"))
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()

    ensure_demo_data(args.data, which="joint")
    results, comps, times = [], [], {}
    for seed in args.seeds:
        raw = demo_config("joint", args.data)
        raw.update(seed=seed, output=str(args.out / f"seed{seed}"), cache=str(args.out / "cache"))
        cfg = parse_config(raw, "joint_demo.yaml")
        t = time.perf_counter()
        res = run(cfg, workers=args.workers, quiet=True)
        times[seed] = time.perf_counter() - t
        r = pd.read_csv(res.run_dir / "results.csv").assign(seed=seed)
        results.append(r)
        c = res.run_dir / "report" / "comparisons.csv"
        if c.is_file():
            comps.append(pd.read_csv(c).assign(seed=seed))
    res_all = pd.concat(results)
    res_all = res_all[res_all["sr"].isin(VARIANTS) | (res_all["sr"] == "none")]

    print(f"Machine: {_machine()}; seeds {args.seeds}\n")
    print("### WAR and UF1: mean over seeds [min, max], and seed", args.seeds[0], "95% CI\n")
    first = res_all[res_all["seed"] == args.seeds[0]].set_index(["resolution", "sr", "mer"])
    rows = []
    for (res_, sr, mer), g in res_all.groupby(["resolution", "sr", "mer"], sort=True):
        f = first.loc[(res_, sr, mer)] if (res_, sr, mer) in first.index else None
        row = {"resolution": res_, "sr": sr, "mer": mer}
        for m in ("war", "uf1"):
            row[m] = f"{g[m].mean():.3f} [{g[m].min():.3f}, {g[m].max():.3f}]"
            if f is not None and f"{m}_lo" in f:
                row[f"{m} CI (seed {args.seeds[0]})"] = f"[{f[f'{m}_lo']:.2f}, {f[f'{m}_hi']:.2f}]"
        rows.append(row)
    print(_md(pd.DataFrame(rows)))

    if comps:
        c = pd.concat(comps)
        c = c[c["sr"].isin(VARIANTS[2:]) | (c["sr"] == "edsr_pixel")]
        print(
            "\n### Paired comparisons (WAR difference, paired subject-bootstrap 95% CI, Holm p)\n"
        )
        out = []
        for (res_, mer, sr, base), g in c.groupby(["resolution", "mer", "sr", "baseline"]):
            cells = "; ".join(
                f"{d:+.3f} [{lo:+.2f}, {hi:+.2f}] p={p:.2f}"
                for d, lo, hi, p in zip(g["diff"], g["lo"], g["hi"], g["p_holm"], strict=True)
            )
            reliable = int(((g["lo"] > 0) & (g["p_holm"] < 0.05)).sum())
            worse = int(((g["hi"] < 0) & (g["p_holm"] < 0.05)).sum())
            out.append(
                {
                    "resolution": res_,
                    "mer": mer,
                    "sr": sr,
                    "vs": base,
                    "mean diff": f"{g['diff'].mean():+.3f}",
                    "per seed": cells,
                    "reliable gain / loss (seeds)": f"{reliable} / {worse}",
                }
            )
        print(_md(pd.DataFrame(out)))
    print("\nWall time per run: " + ", ".join(f"seed {k}: {v:.0f} s" for k, v in times.items()))


if __name__ == "__main__":
    main()
