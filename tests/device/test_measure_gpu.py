"""The GPU measurement script, rehearsed on the CPU in an environment like the GPU machine's:
a Python with torch on whose path Snakemake cannot be imported, and Snakemake carried as
wheels that the script installs itself."""

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, workflow_copy

pytestmark = pytest.mark.device


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    """make wheels, for this Python (the GPU machine's is 3.12) and with what its image holds
    too, so that a Python without site-packages can import Snakemake from them alone."""
    folder = tmp_path_factory.mktemp("wheels") / ".whl"
    version = ".".join(platform.python_version_tuple()[:2])
    subprocess.run(
        [sys.executable, str(ROOT / "tests/device/wheels.py"), "--python-version", version,
         "--all", str(folder)],
        check=True, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    return folder


def test_the_wheels_alone_give_a_working_snakemake(wheels, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--target",
         str(site), *map(str, wheels.glob("*.whl"))],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    # -S: no site-packages at all, so nothing but the wheels can provide Snakemake
    probe = (
        f"import sys; sys.path.insert(0, {str(site)!r}); import snakemake, snakemake.cli; "
        "from snakemake.utils import validate; import jsonschema, docutils, yaml; "
        "print(snakemake.__file__)"
    )
    result = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().startswith(str(site))


@pytest.mark.slow
def test_the_gpu_script_rehearsed_on_the_cpu_writes_every_result(wheels, tmp_path):
    (tmp_path / "repo").mkdir()
    repo = workflow_copy(tmp_path / "repo")
    shutil.copytree(ROOT / "tests/device", repo / "tests/device")
    shutil.copytree(wheels, repo / ".whl")
    hidden = tmp_path / "hidden"  # as on the GPU machine: `import snakemake` fails
    (hidden / "snakemake").mkdir(parents=True)
    (hidden / "snakemake/__init__.py").write_text("raise ImportError('not on this machine')\n")
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable, "PYTHONPATH": str(hidden)}
    result = subprocess.run(
        ["bash", "tests/device/measure_gpu.sh", "--cpu"], cwd=repo, env=env,
        capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    summary = (out / "summary.txt").read_text()
    assert result.returncode == 0, summary + result.stderr[-2000:]
    assert "installed" in summary and "wheels into" in summary
    assert "snakemake" in summary and "from /" in summary and str(hidden) not in summary
    files = sorted(p.name for p in out.iterdir())
    assert files == ["bench.json", "bench.txt", "dag-1.tar.gz", "dag-4.tar.gz", "dag.json",
                     "summary.txt"]  # fmt: skip
    assert len(files) <= 8  # what the device returns
    bench = json.loads((out / "bench.json").read_text())
    assert any(row.get("ms_per_step") for row in bench)
    dags = json.loads((out / "dag.json").read_text())
    assert [d["dag"] for d in dags] == ["dag-1", "dag-4"]
    for dag in dags:
        assert dag["exit"] == 0 and dag["jobs_finished"] > 5, dag
        image = {name: run for name, run in dag["runs"].items() if not name.startswith("dln_")}
        # the rehearsal's config alone: one seed, and no experiment of config.yaml merged back
        # in (the paper's five come back as the schema's defaults; resnet_landscape must not)
        assert all(name.endswith("_seed0") for name in image), sorted(image)
        assert "batch_lr0.1_seed0" in image and not any("resnet" in name for name in image)
        assert all(run["steps_per_second"] > 0 for run in image.values())
        assert dag["image_runs_15000_steps_gpu_hours_sequential"] > 0
