"""A researcher's first hour: the CLI's conventions, honest output, provenance history, messages.

Each test fails on the code before this was fixed (no --version, progress on stdout, provenance
overwritten by a re-run, files 0600, messages under "(top level)"...).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from srmer.cli import app


def _srmer(*args: str, cwd: Path | None = None, env: dict | None = None, umask: int | None = None):
    def pre() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [sys.executable, "-c", "from srmer.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        preexec_fn=pre,
        timeout=600,
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny synthetic CASME II copy and a one-descriptor config (a run takes seconds)."""
    from srmer.data import synthetic

    root = tmp_path_factory.mktemp("first_hour")
    data = synthetic.generate(
        root / "c2", n_subjects=3, clips_per_subject=4, n_frames=10, size=48, seed=0
    )
    cfg = {
        "name": "tiny",
        "datasets": [{"name": "casme2", "root": str(data)}],
        "preprocess": {"size": 48},
        "resolutions": [16],
        "sr": ["none", "bicubic"],
        "mer": [{"name": "lbptop", "blocks": [2, 2]}],
        "executor": {"workers": 1},
    }
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return root, path, cfg


@pytest.fixture(scope="module")
def two_runs(tiny):
    """The same config run twice (cold, then warm) through a pipe, under umask 022."""
    root, path, _ = tiny
    out = root / "runs" / "twice"
    env = {"SRMER_HEARTBEAT": "0.05"}
    cold = _srmer("run", str(path), "-o", str(out), cwd=root, env=env, umask=0o022)
    warm = _srmer("run", str(path), "-o", str(out), cwd=root, env=env, umask=0o022)
    assert cold.returncode == 0, cold.stderr
    assert warm.returncode == 0, warm.stderr
    return out, cold, warm


# ------------------------------------------------------------------------------------- the CLI
def test_version_and_short_help():
    from srmer import __version__

    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"srmer {__version__}"
    for cmd in ([], ["run"], ["data", "generate"], ["sr", "upscale"]):
        res = CliRunner().invoke(app, [*cmd, "-h"], env={"COLUMNS": "120"})
        assert res.exit_code == 0 and "Usage" in res.output, cmd


@pytest.mark.parametrize(
    ("cmd", "metavar"),
    [
        (["run"], "CONFIG"),
        (["report"], "RUN_DIR"),
        (["data", "check"], "DATASET"),
        (["data", "generate"], "LAYOUT"),
        (["sr", "train"], "ARCH"),
        (["sr", "upscale"], "CHECKPOINT"),
        (["cache", "info"], "CACHE"),
    ],
)
def test_every_command_has_metavars_and_an_example(cmd, metavar):
    res = CliRunner().invoke(app, [*cmd, "--help"], env={"COLUMNS": "160"})
    assert res.exit_code == 0
    assert metavar in res.output and "{config}" not in res.output
    assert "Examples" in res.output and "srmer " + cmd[0] in res.output.split("Examples")[1]


def test_misspelt_command_gets_a_suggestion():
    res = CliRunner().invoke(app, ["rn"])
    assert res.exit_code != 0 and "Did you mean 'run'" in res.output


def test_list_one_method_shows_every_option_with_its_default():
    res = CliRunner().invoke(app, ["list", "lbptop"], env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.output
    assert "radii" in res.output and "(1, 1, 4)" in res.output and "1000.0" in res.output
    res = _srmer("list", "lbtop")
    assert res.returncode == 2 and "did you mean 'lbptop'" in res.stderr
    assert "Traceback" not in res.stderr


def test_missing_paths_exit_non_zero_with_a_message(tmp_path):
    for args in (
        ["cache", "info", str(tmp_path / "nope")],
        ["report", str(tmp_path / "nope")],
        ["run", str(tmp_path / "nope.yaml")],
    ):
        res = _srmer(*args)
        assert res.returncode == 2, args
        assert "does not exist" in res.stderr and "Traceback" not in res.stderr, res.stderr


def test_data_generate_writes_a_loadable_layout(tmp_path):
    import srmer

    out = tmp_path / "samm"
    args = ["--subjects", "2", "--clips", "2", "--frames", "6", "--size", "32"]
    res = CliRunner().invoke(app, ["data", "generate", "samm", str(out), *args])
    assert res.exit_code == 0, res.output
    ss = srmer.data.load("samm", out)
    assert len(ss) == 4 and len(ss.subjects) == 2
    assert ss[0].read().shape == (6, 32, 32, 3)
    res = _srmer("data", "generate", "rafbd", str(tmp_path / "x"))
    assert res.returncode == 2 and "did you mean 'rafdb'" in res.stderr


# --------------------------------------------------------------------- run: dry run, overrides
def test_dry_run_validates_and_writes_nothing(tiny, tmp_path):
    _, path, _ = tiny
    out = tmp_path / "dry"
    res = _srmer("run", str(path), "--dry-run", "-o", str(out), "--set", "seed=4", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "12 clips of 3 subjects" in res.stdout and "nothing was written" in res.stdout
    assert "16to48|bicubic" in res.stdout
    assert not out.exists() and not (tmp_path / "runs").exists()
    # a bad override is caught by the dry run, naming the field
    res = _srmer("run", str(path), "--dry-run", "--set", "resolutions=[-16]", cwd=tmp_path)
    assert res.returncode == 2 and "resolutions[0]" in res.stderr


def test_set_overrides_apply_to_nested_fields_and_method_options(tiny):
    from srmer.bench.config import load_config, parse_overrides

    _, path, _ = tiny
    over = parse_overrides(
        ["seed=7", "executor.workers=2", "mer.0.radii=[1, 1, 2]", "sr.1.label=up"]
    )
    cfg = load_config(path, over)
    assert cfg.seed == 7 and cfg.executor.workers == 2
    assert cfg.mer[0].options["radii"] == [1, 1, 2] and cfg.mer[0].options["blocks"] == [2, 2]
    assert cfg.sr[1].name == "bicubic" and cfg.sr[1].label == "up"  # `bicubic` became a mapping
    over = parse_overrides(["protocol.name=kfold", "protocol.k=2"])
    assert load_config(path, over).protocol.k == 2
    from srmer.errors import ConfigError

    with pytest.raises(ConfigError, match=r"resolutons.*did you mean 'resolutions'"):
        load_config(path, {"resolutons": [16]})
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(["seed"])


# ----------------------------------------------------------------- output, log, provenance
def test_progress_goes_to_stderr_and_the_table_to_stdout_as_plain_text(two_runs):
    _, cold, _ = two_runs
    assert "Bicubic_restore" in cold.stdout and "LBP-TOP" in cold.stdout
    assert "<u>" not in cold.stdout and "|:---" not in cold.stdout  # not Markdown
    assert "clips" not in cold.stdout.split("WAR")[0]  # no progress line before the table
    assert "casme2: clips" in cold.stderr and "casme2: folds" in cold.stderr
    assert "Bicubic_restore" not in cold.stderr
    assert ".py:" not in cold.stderr  # no source positions in log lines


def test_heartbeat_lines_without_a_terminal(two_runs):
    _, cold, _ = two_runs
    lines = [ln for ln in cold.stderr.splitlines() if "casme2: clips" in ln]
    # a start line, periodic heartbeats (every 0.05 s here) and an end line, each one plain line
    assert len(lines) >= 3, cold.stderr
    assert lines[0].startswith("[") and "elapsed" in lines[0]
    assert lines[-1].endswith("done") and "12/12 (100%)" in lines[-1]
    assert "\x1b[" not in cold.stderr  # no terminal control codes in a pipe


def test_provenance_keeps_every_invocation(two_runs):
    out, _, _ = two_runs
    prov = json.loads((out / "provenance.json").read_text())
    hist = prov["history"]
    assert len(hist) == 2 and all(h["status"] == "finished" for h in hist)
    assert hist[0]["wall_s"] > 0 and hist[1]["wall_s"] > 0
    assert hist[0]["config_sha256"] == hist[1]["config_sha256"]
    assert prov["wall_s"] == hist[-1]["wall_s"]
    html = (out / "report" / "report.html").read_text()
    assert "Invocations (2)" in html


def test_run_log_is_appended_run_after_run(two_runs):
    out, _, _ = two_runs
    log = (out / "run.log").read_text()
    assert log.count("---- ") == 2 and "DEBUG" in log and "finished: experiment" in log
    assert "[yellow]" not in log


def test_run_files_follow_the_umask(two_runs):
    out, _, _ = two_runs
    files = [
        out / "results.csv",
        out / "config.yaml",
        out / "provenance.json",
        next((out / "cache").rglob("*.npz")),
    ]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f


def test_quiet_and_verbose(tiny, tmp_path):
    _, path, _ = tiny
    q = _srmer("run", str(path), "-q", "-o", str(tmp_path / "q"), cwd=tmp_path)
    assert q.returncode == 0 and "clips" not in q.stderr and "Bicubic_restore" in q.stdout
    v = _srmer("run", str(path), "-v", "-o", str(tmp_path / "q"), cwd=tmp_path)
    assert v.returncode == 0 and "---- " in v.stderr  # the debug header of the invocation
    assert "---- " not in q.stderr
    both = _srmer("run", str(path), "-q", "-v", cwd=tmp_path)
    assert both.returncode == 2 and "exclude each other" in both.stderr


# ------------------------------------------------------------------------------ the Python API
def test_srmer_run_in_memory_leaves_nothing_and_applies_overrides(tiny, tmp_path, monkeypatch):
    import srmer

    _, _, cfg = tiny
    monkeypatch.chdir(tmp_path)
    res = srmer.run(cfg, output=None, quiet=True, seed=3, executor__workers=1)
    assert res.run_dir is None and res.report is None
    assert list(tmp_path.iterdir()) == []
    assert set(res.results["sr"]) == {"none", "bicubic"} and len(res.results) == 3
    assert len(res.predictions) == 3 * 12 and res.provenance["seed"] == 3
    assert "in memory" in repr(res)


def test_srmer_run_is_spawn_safe_in_an_unguarded_script(tiny, tmp_path):
    _, _, cfg = tiny
    script = tmp_path / "plain.py"
    cfg = {**cfg, "executor": {"workers": 2}}
    script.write_text(
        "import srmer\n"
        f"res = srmer.run({cfg!r}, output={str(tmp_path / 'r')!r}, quiet=True)\n"
        "print('ROWS', len(res.results), res.provenance['executor']['workers'])\n"
    )
    res = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=600
    )
    assert res.returncode == 0, res.stderr
    assert "ROWS 3 2" in res.stdout and res.stdout.count("ROWS") == 1
    assert (tmp_path / "r" / "report" / "report.html").is_file()


def test_srmer_bench_exports_the_engine():
    import srmer.bench as bench

    for name in ("run", "Result", "load_config", "write_report", "compare_runs", "Cache"):
        assert name in bench.__all__ and callable(getattr(bench, name))
    import srmer

    assert srmer.run is bench.run


def test_sample_read_repr_and_dataset_frame(tiny):
    import numpy as np

    import srmer

    _, _, cfg = tiny
    ss = srmer.data.load("casme2", cfg["datasets"][0]["root"])
    s = ss[0]
    assert len(repr(s)) < 200 and s.key in repr(s) and ".jpg" not in repr(s)
    clip = s.read()
    assert clip.shape == (len(s.frames), 48, 48, 3) and clip.dtype == np.uint8
    assert s.read(grey=True).shape == (len(s.frames), 48, 48)
    df = ss.to_frame()
    assert len(df) == len(ss) and list(df.columns[:4]) == ["dataset", "subject", "clip", "key"]
    assert (df["n_frames"] == [len(x.frames) for x in ss]).all()
    assert str(df["onset"].dtype) == "Int64"
    assert "12 clips" in repr(ss)


# ------------------------------------------------------------------------------------ messages
@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"resolutions": [-16]}, "resolutions[0]", "greater than or equal to 4"),
        ({"resolutions": [300]}, "resolutions", "not below preprocess.size"),
        ({"preprocess": {"frames": 0}}, "preprocess.frames", "at least 2"),
        ({"preprocess": {"frmes": 8}}, "preprocess.frmes", "did you mean 'frames'"),
        ({"mer": ["lbtop"]}, "mer[0]", "did you mean 'lbptop'"),
        ({"sr": ["none", {"name": "bicubic", "scale": 2}]}, "sr[1]", "unknown option(s) scale"),
        ({"degradation": {"name": "blur_noise", "sigmaa": 1}}, "degradation", "did you mean"),
    ],
)
def test_config_messages_name_the_field(tiny, change, field, text):
    from srmer.bench.config import parse_config
    from srmer.errors import ConfigError

    _, _, cfg = tiny
    with pytest.raises(ConfigError) as err:
        parse_config({**cfg, **change}, "c.yaml")
    msg = str(err.value)
    assert f"field `{field}`" in msg and text in msg and "(top level)" not in msg, msg


def test_report_reads_alone_and_names_methods_consistently(two_runs):
    out, _, _ = two_runs
    html = (out / "report" / "report.html").read_text()
    assert "docs/report.md" not in html  # a mailed copy has no docs folder
    assert "LBP-TOP" in html and "LBPTOP" not in html
    from srmer.mer.registry import MER_METHODS

    names = [MER_METHODS.get(n).display_name for n in ("lbptop", "lbpsip", "lpqtop", "hogtop")]
    assert names == ["LBP-TOP", "LBP-SIP", "LPQ-TOP", "HOG-TOP"]


def test_fig4_draws_each_methods_own_hr_reference():
    import pandas as pd

    from srmer.bench import figures

    rows = []
    for mer, hr in (("lbptop", 0.8), ("ststnet", 0.4)):
        rows.append({"resolution": 256, "sr": "none", "mer": mer, "war": hr})
        for sr in ("none", "bicubic"):
            rows.append({"resolution": 16, "sr": sr, "mer": mer, "war": hr - 0.1})
    calls = []

    import matplotlib.axes

    orig = matplotlib.axes.Axes.hlines

    def spy(self, y, *a, **k):
        calls.append(list(y))
        return orig(self, y, *a, **k)

    matplotlib.axes.Axes.hlines = spy
    try:
        assert figures.avg_per_mer_sr(pd.DataFrame(rows)) is not None
    finally:
        matplotlib.axes.Axes.hlines = orig
    # one reference per MER method at its own HR score, not one line at their mean (0.6)
    assert sorted(c[0] for c in calls) == [0.4, 0.8]


def test_the_table_is_never_truncated_in_a_pipe(two_runs, tmp_path, monkeypatch):
    import io
    import shutil

    import pandas as pd
    from rich.console import Console

    import srmer.cli as cli

    out, _, _ = two_runs
    run = tmp_path / "wide"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns("cache", "report"))
    res = pd.read_csv(run / "results.csv")
    names = ["lbptop", "lbpsip", "lpqtop", "hog3d", "hogtop", "higotop", "ststnet", "dualinception"]
    wide = pd.concat([res.assign(mer=m) for m in names], ignore_index=True)
    wide.to_csv(run / "results.csv", index=False)
    buf = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=buf, width=80, soft_wrap=True))
    cli._print_table(run)
    text = buf.getvalue()
    assert "Dual-Inception" in text and "Bicubic_restore" in text and "…" not in text
