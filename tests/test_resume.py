"""A run that is really killed (SIGKILL) mid-way resumes and gives the same results as an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from srmer.data import synthetic


def _write_config(path, root, out, cache):
    path.write_text(
        yaml.safe_dump(
            {
                "name": "resume",
                "datasets": [{"name": "casme2", "root": str(root)}],
                "preprocess": {"size": 96},
                "resolutions": [16, 32],
                "sr": ["none", "bicubic"],
                "mer": [{"name": "lbptop", "blocks": [3, 3]}],
                "output": str(out),
                "cache": str(cache),
                "executor": {"kind": "local", "workers": 1},
            }
        )
    )


def _cmd(config):
    return [
        sys.executable,
        "-c",
        "from srmer.cli import main; main()",
        "run",
        str(config),
        "--quiet",
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_run_resumes_to_identical_results(tmp_path):
    root = tmp_path / "casme2"
    synthetic.generate(root, n_subjects=3, clips_per_subject=4, n_frames=16, size=96, seed=5)
    cfg_a, cfg_b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    _write_config(cfg_a, root, tmp_path / "run-a", tmp_path / "cache-a")
    _write_config(cfg_b, root, tmp_path / "run-b", tmp_path / "cache-b")

    proc = subprocess.Popen(_cmd(cfg_a), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    repr_dir = tmp_path / "cache-a" / "repr"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (
            repr_dir.exists() and sum(1 for _ in repr_dir.rglob("*.npz")) >= 10
        ):  # two clips done (5 settings each)
            break
        time.sleep(0.02)
    assert proc.poll() is None, (
        "the run finished before it could be killed; make the test data larger"
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "run-a" / "results.csv").exists()
    done = {p: p.stat().st_mtime_ns for p in (tmp_path / "cache-a").rglob("*.npz")}
    assert done
    for p in done:  # every entry that exists is whole (temp file + rename)
        with np.load(p) as z:
            assert z.files

    subprocess.run(_cmd(cfg_a), check=True, capture_output=True)  # resume
    subprocess.run(_cmd(cfg_b), check=True, capture_output=True)  # uninterrupted
    # nothing that finished before the kill was computed again
    assert all(p.stat().st_mtime_ns == m for p, m in done.items())
    a = pd.read_csv(tmp_path / "run-a" / "results.csv")
    b = pd.read_csv(tmp_path / "run-b" / "results.csv")
    pd.testing.assert_frame_equal(a, b)
