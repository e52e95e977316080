"""Top-level API: ``import srmer`` is cheap and every sub-package resolves lazily."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PACKAGES = (
    "data",
    "degrade",
    "quality",
    "sr",
    "features",
    "mer",
    "eval",
    "video",
    "bench",
    "fer",
    "train",
    "errors",
    "registry",
)
HEAVY = ("torch", "numpy", "pandas", "sklearn", "scipy", "cv2", "matplotlib")


def _run(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_srmer_loads_nothing_heavy():
    res = _run(
        "import json, sys, srmer; "
        f"print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules], "
        "'sub': sorted(m for m in sys.modules if m.startswith('srmer.')), "
        "'version': srmer.__version__}))"
    )
    assert res["heavy"] == [] and res["sub"] == [] and res["version"]


def test_dir_lists_every_sub_package():
    import srmer

    assert set(PACKAGES) <= set(dir(srmer))
    assert "__version__" in dir(srmer)


@pytest.mark.parametrize("name", PACKAGES)
def test_sub_package_resolves_in_a_fresh_interpreter(name):
    res = _run(
        "import json, srmer, types; "
        f"m = srmer.{name}; "
        f"print(json.dumps({{'module': m.__name__, 'is_module': isinstance(m, types.ModuleType)}}))"
    )
    assert res == {"module": f"srmer.{name}", "is_module": True}


def test_data_load_and_registry_through_the_top_level():
    import srmer

    assert callable(srmer.data.load)
    assert "casme2" in srmer.data.DATASETS
    assert callable(srmer.registry.describe_all)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        srmer.nothing_here  # noqa: B018
