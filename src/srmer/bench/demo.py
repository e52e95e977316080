"""The built-in demos: synthetic data generated on first use, then one of the packaged configs.

* ``grid`` (``configs/demo.yaml``): Zhou et al.'s grid on a synthetic CASME II-layout dataset;
* ``composite`` (``configs/composite_demo.yaml``): the MEGC 2019 composite protocol on synthetic
  CASME II, SAMM and SMIC-HS layouts;
* ``cross_dataset`` (``configs/cross_dataset_demo.yaml``): every ordered pair of those three;
* ``joint`` (``configs/joint_demo.yaml``): SR trained for recognition (micro-motion and task-driven
  losses) against its pixel-loss twin and bicubic, on the grid's dataset and a pool of moving clips.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

#: the demo dataset's size (kept small so `make demo` stays within minutes on 2 cores)
#: CASME II's class proportions and a per-subject spread of difficulty, as in the real databases
DEMO_DATASET = {
    "n_subjects": 8,
    "clips_per_subject": 8,
    "n_frames": 16,
    "seed": 0,
    "class_balance": "casme2",
    "subject_difficulty": 0.3,
}
DEMO_POOL = {"n_identities": 12, "frames_per_identity": 12, "seed": 0}
#: the joint demo's pool: each identity's frames are one onset -> apex -> offset clip, at the
#: demo's HR size (128)
DEMO_MOVING_POOL = {**DEMO_POOL, "moving": True, "size": 128}
#: the composite / cross-dataset demos' data: 4 subjects of each database layout
DEMO_COMPOSITE = {"n_subjects": 4, "clips_per_subject": 6, "n_frames": 16, "seed": 0}

#: demo name -> packaged config
DEMOS = {
    "grid": "demo.yaml",
    "composite": "composite_demo.yaml",
    "cross_dataset": "cross_dataset_demo.yaml",
    "joint": "joint_demo.yaml",
}
PACKAGE_CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def _atomic_generate(target: Path, make) -> None:
    # Generate beside the target and rename: a killed generation never leaves a half tree that
    # would later be mistaken for a complete dataset.
    tmp = target.with_name(f".{target.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    made = make(tmp)
    (made if made == tmp else tmp / made.name).rename(target)
    shutil.rmtree(tmp, ignore_errors=True)


def ensure_demo_data(data: Path, console=None, which: str = "grid") -> tuple[Path, Path]:
    """Generate a demo's synthetic data under ``data`` if absent.

    ``grid``: the CASME II-layout dataset ``data/casme2`` and the SR training pool
    ``data/sr_pool``; ``composite`` and ``cross_dataset``: ``data/composite`` (CASME II, SAMM and
    SMIC-HS layouts and their composite list).

    Returns
    -------
    (dataset_root, sr_pool) : Path
    """
    from srmer.data import synthetic

    data = Path(data)
    data.mkdir(parents=True, exist_ok=True)
    pool = data / ("sr_pool_moving" if which == "joint" else "sr_pool")
    if which in ("grid", "joint"):
        root = data / "casme2"
        make = lambda tmp: synthetic.generate(tmp, **DEMO_DATASET)  # noqa: E731
    else:
        root = data / "composite"
        make = lambda tmp: synthetic.generate_composite(tmp, **DEMO_COMPOSITE)  # noqa: E731
    todo = [(root, make, "the synthetic dataset")]
    if which in ("grid", "joint"):  # the other demos train no SR model
        opts = DEMO_MOVING_POOL if which == "joint" else DEMO_POOL
        todo.append(
            (pool, lambda tmp: synthetic.generate_sr_pool(tmp, **opts), "the SR training pool")
        )
    for target, build, what in todo:
        if target.exists():
            continue
        t = time.perf_counter()
        _atomic_generate(target, build)
        if console is not None:
            console.log(f"generated {what} in {target} ({time.perf_counter() - t:.1f} s)")
    return root, pool


def demo_config(which: str, data: Path) -> dict[str, Any]:
    """A demo's packaged config with its data paths moved under ``data`` (default ``data/synthetic``)."""
    import yaml

    from srmer.data.synthetic.composite import LIST_FILE
    from srmer.errors import ConfigError

    if which not in DEMOS:
        raise ConfigError(f"unknown demo {which!r}; choose one of: {', '.join(DEMOS)}")
    raw = yaml.safe_load((PACKAGE_CONFIGS / DEMOS[which]).read_text())
    data = Path(data)
    if which in ("grid", "joint"):
        raw["datasets"][0]["root"] = str(data / "casme2")
        raw["sr_pool"] = str(data / ("sr_pool_moving" if which == "joint" else "sr_pool"))
    elif which == "composite":
        raw["datasets"][0]["root"] = str(data / "composite")
        raw["datasets"][0]["options"]["list"] = str(data / "composite" / LIST_FILE)
    else:
        for ds in raw["datasets"]:
            ds["root"] = str(data / "composite" / ds["name"])
    return raw
