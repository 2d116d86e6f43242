"""The workflow as a Snakemake module of another workflow, and its jobs' package: always this
workflow's own copy of bnopt, whatever other bnopt the Python can import (a release installed
normally with pip, another checkout on PYTHONPATH)."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from workflow_helpers import SNAKEMAKE, planned_jobs, planned_runs

SYNTHETIC = "resources/synthetic-cifar-10-binary.tar.gz"


def host_workflow(folder, module):
    """Another workflow that uses every rule of this one, with the demo's configuration."""
    folder.mkdir(exist_ok=True)
    (folder / "Snakefile").write_text(
        f'configfile: "{module}/config/config.yaml"\n'
        f'configfile: "{module}/config/demo.yaml"\n\n\n'
        f'module reproduction:\n    snakefile:\n        "{module}/Snakefile"\n'
        "    config:\n        config\n\n\nuse rule * from reproduction\n"
    )
    return folder


def run(folder, *args, pythonpath):
    environment = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([SNAKEMAKE, *args], cwd=folder, capture_output=True, text=True,
                          timeout=600, env=environment)  # fmt: skip


def tripwire(folder):
    """A bnopt that records being imported and refuses to work."""
    package = folder / "bnopt"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        f"open({str(folder / 'imported')!r}, 'a').write('x')\n"
        "raise ImportError('a bnopt that is not the workflow's own')\n"
    )
    return folder


def test_jobs_import_this_workflows_package_whatever_else_is_on_the_path(copy, tmp_path_factory):
    other = tripwire(tmp_path_factory.mktemp("other-checkout"))
    result = run(copy, SYNTHETIC, "--cores", "1", "--configfile", "config/demo.yaml",
                 pythonpath=other)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert (copy / SYNTHETIC).stat().st_size > 0
    assert not (other / "imported").exists()


@pytest.mark.slow
def test_the_workflow_runs_as_a_module_beside_a_normally_installed_bnopt(copy, tmp_path_factory):
    # A release of the package installed with pip (not editable) into its own folder ...
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    site = tmp_path_factory.mktemp("site-packages")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(copy)], capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    assert (site / "bnopt" / "cli.py").exists() and not (site / "bnopt" / "imported").exists()
    # ... whose copy records any import of it: the module's jobs must use the module's own.
    (site / "bnopt" / "__init__.py").write_text(
        f"open({str(site / 'imported')!r}, 'a').write('x')\n"
    )
    host = host_workflow(tmp_path_factory.mktemp("host"), copy)
    dry = run(host, "-n", "--cores", "1", pythonpath=site)
    assert dry.returncode == 0, dry.stderr[-3000:]
    jobs = planned_jobs(dry.stdout)
    # the demo's 2 seeds of 13 configurations, ResNet-8 included, one job each
    # (train.seeds_in_one_job), and one DLN job per normalisation
    assert jobs["train"] == 13 and jobs["train_dln"] == 5 and jobs["report"] == 1
    assert len([r for r in planned_runs(dry.stdout) if not r.startswith("dln_")]) == 2 * 13
    real = run(host, "--cores", "1", SYNTHETIC, pythonpath=site)
    assert real.returncode == 0, real.stderr[-3000:]
    assert (host / SYNTHETIC).stat().st_size > 0
    assert not (site / "imported").exists()
