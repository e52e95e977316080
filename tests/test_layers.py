"""The import-layer contract of pyproject.toml ([tool.importlinter]) holds: `lint-imports` passes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> str:
    exe = Path(sys.executable).parent / "lint-imports"
    if not exe.exists():
        found = shutil.which("lint-imports")
        if found is None:
            pytest.fail(
                "lint-imports is not installed; install the dev extra: "
                ".venv/bin/python -m pip install -c constraints.txt -e '.[dev]'"
            )
        exe = Path(found)
    return str(exe)


def _run(cwd: Path, env_path: Path | None = None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ)
    if env_path is not None:  # analyse a copy of the package instead of the installed one
        env["PYTHONPATH"] = f"{env_path}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return subprocess.run(
        [_lint_imports(), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_import_layers_contract_is_kept():
    res = _run(ROOT)
    assert res.returncode == 0, f"lint-imports failed:\n{res.stdout}\n{res.stderr}"
    assert "1 kept, 0 broken" in res.stdout or "0 broken" in res.stdout


def test_contract_catches_an_upward_import(tmp_path):
    """The contract is live: a low layer importing a high one breaks it."""
    shutil.copytree(ROOT / "src" / "srmer", tmp_path / "src" / "srmer")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    sample = tmp_path / "src" / "srmer" / "data" / "sample.py"
    sample.write_text(sample.read_text() + "\n\nfrom srmer.mer import base as _upward  # noqa\n")
    res = _run(tmp_path, env_path=tmp_path / "src")
    assert res.returncode != 0, res.stdout
    assert "srmer.data.sample -> srmer.mer" in res.stdout, res.stdout
