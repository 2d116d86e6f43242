"""The README's library example runs as written."""

import re
import subprocess
import sys

from conftest import ROOT


def test_the_probe_example_in_the_readme_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    (example,) = re.findall(r"```python\n(.*?)```", readme, re.S)
    # From an unrelated folder: the installed package, no path set up.
    result = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    assert "(" in first and second.startswith("[(2, ")
