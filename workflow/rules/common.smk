import sys
from pathlib import Path

SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"
sys.path.insert(0, str(SCRIPTS))

from bnopt.config import check_config
from bnopt.runs import (
    DLN_FIGURE_NAMES,
    dln_runs,
    dln_runtime_minutes,
    dln_settings,
    EXTRA_CLAIM_TABLES,
    EXTRA_FIGURES,
    FAMILIES,
    FIGURES,
    RUN_PATTERN,
    all_runs,
    experiment_runs,
    run_settings,
)

DATASET = config["data"]["dataset"]
PREPARED = f"resources/{DATASET}.npz"
# On a CPU-only configuration training jobs take no GPU token, so they run side by side.
GPU_TOKENS = 0 if config["train"]["device"] == "cpu" else 1


def package(*modules):
    """Package files a job depends on; editing them reruns that job and only that job."""
    return [str(SCRIPTS / "bnopt" / module) for module in ("logs.py", *modules)]


def data_archive():
    if DATASET == "synthetic":
        return "resources/synthetic-cifar-10-binary.tar.gz"
    return config["data"]["archive"] or "resources/cifar-10-binary.tar.gz"


def run_outputs(kind, runs):
    return expand("results/runs/{run}/{kind}", run=runs, kind=kind)


def experiment_outputs(kind):
    return lambda wildcards: run_outputs(
        kind, experiment_runs(config, wildcards.experiment)
    )


def train_runtime_minutes(wildcards):
    """SLURM time limit: 30 min + 1 min per 500 steps (paper: 60 min per run)."""
    return 30 + config["train"]["steps"] // 500
