"""The command line: help, listing, and one clear message (no traceback) for bad input."""

import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from srmer.cli import app


def _srmer(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-c", "from srmer.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


@pytest.mark.parametrize(
    "cmd",
    [
        [],
        ["run"],
        ["demo"],
        ["report"],
        ["list"],
        ["datasets", "check"],
        ["cache", "info"],
        ["sr", "train"],
        ["sr", "upscale"],
        ["fer", "run"],
    ],
)
def test_every_command_has_help(cmd):
    res = CliRunner().invoke(app, [*cmd, "--help"])
    assert res.exit_code == 0 and "Usage" in res.output


def test_list_names_every_registered_method():
    from srmer.mer.registry import MER_METHODS
    from srmer.sr.methods import SR_METHODS

    res = CliRunner().invoke(app, ["list"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for name in [*SR_METHODS, *MER_METHODS, "casme2", "bicubic", "realesrgan"]:
        assert name in res.output


def _config(tmp_path, **over):
    raw = {
        "name": "x",
        "datasets": [{"name": "casme2", "root": str(tmp_path / "nowhere")}],
        "mer": ["lbptop"],
        "output": str(tmp_path / "run"),
    }
    raw.update(over)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_missing_dataset_root_is_one_clear_error(tmp_path):
    res = _srmer("run", str(_config(tmp_path)))
    assert res.returncode == 2
    assert "nowhere does not exist" in res.stderr and "Traceback" not in res.stderr


def test_unknown_method_in_config_is_one_clear_error(tmp_path):
    res = _srmer("run", str(_config(tmp_path, sr=["none", "super-bicubic"])))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "sr[1]" in res.stderr and "super-bicubic" in res.stderr and "edsr" in res.stderr


def test_report_on_a_folder_that_is_not_a_run(tmp_path):
    res = _srmer("report", str(tmp_path))
    assert res.returncode == 2 and "not a run directory" in res.stderr


def test_datasets_check_prints_counts_and_problems(tmp_path):
    from srmer.data import synthetic

    root = synthetic.generate(
        tmp_path / "c2", n_subjects=2, clips_per_subject=4, n_frames=10, size=48, seed=0
    )
    frames = sorted((root / "CASME2_RAW_selected").rglob("*.jpg"))
    frames[2].unlink()  # a missing frame inside the first clip
    res = CliRunner().invoke(
        app, ["datasets", "check", "casme2", str(root)], env={"COLUMNS": "200"}
    )
    assert res.exit_code == 0
    assert "4class" in res.output and "missing" in res.output.lower()
