"""Helpers of the workflow tests: a user's copy of the workflow, Snakemake on it, its plan."""

import os
import re
import subprocess
import sys
from pathlib import Path

from bnopt.config import merged_files
from bnopt.figures import FIGURE, figure_targets
from bnopt.runs import experiment_kinds, own_step_experiments

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
# the paper's experiments' figures in `all` (with plain SGD)
FIGURES = [name for name, spec in FIGURE.items() if not spec.on_request and not spec.own_step]
CONFIG = Path(__file__).resolve().parents[2] / "config"


def merged_config(*files: Path) -> dict:
    """config/config.yaml updated by each file in turn, as Snakemake's --configfile does."""
    return merged_files([CONFIG / "config.yaml", *files])


def drawn_figures(config: dict) -> list[str]:
    """The figure targets `all` draws for this config: the paper's and each beyond one's."""
    return list(figure_targets(experiment_kinds(config), own_step=own_step_experiments(config)))


def own_package(folder: Path) -> dict:
    """The environment of a copy that imports its own package, as its own install would."""
    return {**os.environ, "PYTHONPATH": str(folder / "workflow" / "scripts")}


def snakemake(folder, *args, check=True, timeout=600):
    result = subprocess.run(
        [SNAKEMAKE, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=own_package(folder),
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result


def planned_jobs(output: str) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run."""
    stats = output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}


def planned_runs(output: str) -> set[str]:
    """The runs whose training jobs a dry run schedules (a DLN job trains several)."""
    pattern = r"^rule train(?:_dln)?:\n(?:\s+input: .*\n)?\s+output: (.*)$"
    outputs = re.findall(pattern, output, re.M)
    return {run for line in outputs for run in re.findall(r"results/runs/([^/\s,]+)/", line)}


def planned_figures(output: str) -> dict[str, list[str]]:
    """The figure targets a dry run draws, by figure job (rule figures_<job>)."""
    pattern = r"^rule figures_(\w+):\n(?:\s+input: .*\n)?\s+output: (.*)$"
    return {
        job: re.findall(r"results/figures/(\S+?)\.png", line)
        for job, line in re.findall(pattern, output, re.M)
    }


def figure_jobs_of(jobs: dict[str, int]) -> int:
    """How many figure jobs the 'Job stats' of a dry run counts (one rule per figure job)."""
    return sum(n for rule, n in jobs.items() if rule.startswith("figures_"))
