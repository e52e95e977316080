"""The built-in demo: synthetic data generated on first use, then ``configs/demo.yaml``."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

#: the demo dataset's size (kept small so `make demo` stays within minutes on 2 cores)
DEMO_DATASET = {"n_subjects": 8, "clips_per_subject": 8, "n_frames": 16, "seed": 0}
DEMO_POOL = {"n_identities": 12, "frames_per_identity": 12, "seed": 0}


def _atomic_generate(target: Path, make) -> None:
    # Generate beside the target and rename: a killed generation never leaves a half tree that
    # would later be mistaken for a complete dataset.
    tmp = target.with_name(f".{target.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    made = make(tmp)
    (made if made == tmp else tmp / made.name).rename(target)
    shutil.rmtree(tmp, ignore_errors=True)


def ensure_demo_data(data: Path, console=None) -> tuple[Path, Path]:
    """Generate the demo's synthetic CASME II-layout dataset and SR training pool under ``data`` if absent.

    Returns
    -------
    (dataset_root, sr_pool) : Path
    """
    from srmer.data import synthetic

    data = Path(data)
    data.mkdir(parents=True, exist_ok=True)
    root, pool = data / "casme2", data / "sr_pool"
    if not root.exists():
        t = time.perf_counter()
        _atomic_generate(root, lambda tmp: synthetic.generate(tmp, **DEMO_DATASET))
        if console is not None:
            console.log(
                f"generated the synthetic dataset in {root} ({time.perf_counter() - t:.1f} s)"
            )
    if not pool.exists():
        t = time.perf_counter()
        _atomic_generate(pool, lambda tmp: synthetic.generate_sr_pool(tmp, **DEMO_POOL))
        if console is not None:
            console.log(
                f"generated the SR training pool in {pool} ({time.perf_counter() - t:.1f} s)"
            )
    return root, pool
