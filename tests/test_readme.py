"""Every Python block of the README runs as written."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python block"
    for i, code in enumerate(blocks):
        # as a plain script file without a __main__ guard, as a newcomer would paste it (the
        # worker processes of an experiment must not re-run it)
        script = tmp_path / f"readme_block_{i}.py"
        script.write_text(code)
        res = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert res.returncode == 0, f"README Python block {i} failed:\n{code}\n{res.stderr}"
