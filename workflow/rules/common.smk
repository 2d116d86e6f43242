import os
import shutil
import sys
from pathlib import Path

# This workflow's package. Its jobs and this file import this copy, whatever bnopt is
# installed (another checkout, a release, none): its folder goes first on the path here and
# on PYTHONPATH for every job (Snakemake's script preamble only appends workflow/scripts), so
# the workflow also runs as a module of another workflow. What code each job runs is derived
# from its script's imports (bnopt.code_identity) and is a param of its rule: Snakemake reruns
# a job when the code it runs changes, and never for a comment, a docstring or a module that
# changes no output.
PACKAGE = (Path(workflow.current_basedir) / ".." / "scripts" / "bnopt").resolve()
sys.path.insert(0, str(PACKAGE.parent))
# (set here, never required: so not an `envvars:` entry)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [str(PACKAGE.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
)
import bnopt

if Path(bnopt.__file__).resolve().parent != PACKAGE:
    # only when something imported another copy into this process before this file
    sys.exit(
        f"this Python had already imported bnopt from {Path(bnopt.__file__).parent}, not "
        f"this workflow's ({PACKAGE}): run Snakemake without importing bnopt first"
    )

from bnopt.claims import claim_tables
from bnopt.code_identity import code_identity
from bnopt.config import ConfigError, check_config, read_yaml
from bnopt.execution import device_problem
from bnopt.figures import figure_jobs, figure_targets, table_paths
from bnopt.tables import FAMILIES
from bnopt.task import task_module
from bnopt.runs import (
    IMAGE_CONFIGURATION_PATTERN,
    IMAGE_RUN_PATTERN,
    NORMALIZATION_NAMES,
    RUN_PATTERN,
    all_runs,
    dln_job_runs,
    dln_runtime_minutes,
    experiment_kinds,
    experiment_runs,
    experiments,
    initialisation_settings,
    own_step_experiments,
    parse_run_name,
    run_settings,
    runtime_minutes,
    train_job_runs,
)

# Every configuration problem stops here, before any job, with a message naming the key
# (a key given twice in a config file, which Snakemake's YAML reading lets pass, included).
try:
    for configfile in workflow.configfiles:
        read_yaml(configfile)
    check_config(config, workflow.source_path("../schemas/config.schema.yaml"))
except ConfigError as error:
    sys.exit(str(error))

# Each experiment's kind (the paper experiment it repeats), the figures to draw (target name
# -> registry entry and experiment) and every table a claim reads.
KINDS = experiment_kinds(config)
OWN_STEP = own_step_experiments(config)  # optimisers other than plain SGD
# drawn by `all`, shown in the report
FIGURES = figure_targets(KINDS, own_step=OWN_STEP)
# ... and with those drawn only when asked for as a target:
ALL_FIGURES = figure_targets(KINDS, on_request=True, own_step=OWN_STEP)
CLAIM_TABLES = claim_tables(KINDS)

# The device is checked here when the jobs run on this machine; a machine that can submit
# to SLURM (sbatch) may have no GPU itself, so there each job checks it where it runs (and
# the jobs' own parse of this file, on whatever node, skips it).
if workflow.is_main_process and not shutil.which("sbatch"):
    problem = device_problem(config["train"]["device"])
    if problem:
        sys.exit(f"invalid configuration (1 problem(s)):\n  - {problem}")


def training_runs_to_do():
    """The runs whose training jobs this invocation will run."""
    jobs = [job for job in workflow.dag.needrun_jobs() if job.rule.name == "train"]
    return sorted(
        run for job in jobs for run in train_job_runs(config, job.wildcards["job"])
    )


# Once the jobs to run are known, before the first starts (never on a dry run): `device: auto`
# on a machine without CUDA stops here when those jobs would take hours on the CPU.
onstart:
    if workflow.local_exec and config["train"]["device"] == "auto":
        import torch
        from bnopt.preflight import cpu_fallback_problem

        runs = training_runs_to_do()
        problem = cpu_fallback_problem(config, runs, torch.cuda.is_available())
        if problem:
            sys.exit(f"stopped before any job: {problem}")


DATASET = config["data"]["dataset"]
INITIALISATION = config["initialisation"]
PREPARED = f"resources/{DATASET}.npz"
PROVENANCE = f"resources/{DATASET}.provenance.json"
# Where download_cifar10 writes. A user's own copy is never put here: it is named by
# data.archive and only ever read, so no rerun can delete it.
DOWNLOADED = "resources/download/cifar-10-binary.tar.gz"
# The data jobs take every core this machine gives Snakemake, so that no other job runs
# beside them: a download or archive that fails stops the workflow before any training.
DATA_THREADS = workflow.resource_settings.cores or 1
# On a CPU-only configuration training jobs take no GPU token, so they run side by side.
GPU_TOKENS = 0 if config["train"]["device"] == "cpu" else 1


def data_origin():
    if DATASET == "synthetic":
        return "synthetic"
    return "local" if config["data"]["archive"] else "download"


def data_archive():
    return {
        "synthetic": "resources/synthetic-cifar-10-binary.tar.gz",
        "local": config["data"]["archive"],
        "download": DOWNLOADED,
    }[data_origin()]


def download_archive(url, path, log_path):
    """The download job (a `run:` block, in Snakemake's own process: no logging setup)."""
    from bnopt.data import BINARY_MD5, DataError
    from bnopt.download import download

    with open(log_path, "w") as log:
        try:
            download(url, path, BINARY_MD5)
        except DataError as error:
            log.write(f"{error}\n")
            raise
        log.write(f"downloaded {url} to {path} (md5 {BINARY_MD5} verified)\n")


def run_outputs(kind, runs):
    return expand("results/runs/{run}/{kind}", run=runs, kind=kind)


def table_output(family):
    """An experiment's tidy table of one family, in Snakemake's report."""
    return report(
        f"results/tables/{{experiment}}/{family}.tsv",
        caption="../report/table.rst",
        category="Tables",
        subcategory="{experiment}",
    )


def table_outputs():
    """An experiment's tidy tables, one per family of its runs' measurements."""
    return {family: table_output(family) for family in FAMILIES}


def experiment_outputs(kind):
    return lambda wildcards: run_outputs(
        kind, experiment_runs(config, wildcards.experiment)
    )


# One image training job trains one run, or every seed of one configuration in turn
# (train.seeds_in_one_job; bnopt.runs.train_job_runs): its wildcard {job} is the run's
# name, or the configuration's (the run's without _seed<n>).
TRAIN_JOB_RUNS = train_job_runs(config, "{job}")
TRAIN_JOB_PATTERN = (
    IMAGE_RUN_PATTERN if TRAIN_JOB_RUNS == ["{job}"] else IMAGE_CONFIGURATION_PATTERN
)


def job_files(runs, name):
    """A training job's files called `name`, one per run of `runs` (names with wildcards)."""
    return [f"results/runs/{run}/{name}" for run in runs]


def job_logs(runs):
    """A training job's logs, one per run of `runs` (bnopt.training_job)."""
    return [f"logs/train/{run}.log" for run in runs]


def job_settings(runs):
    """The settings of a training job's runs, in the order of its outputs."""
    return lambda wildcards: [
        run_settings(config, run.format(**dict(wildcards.items()))) for run in runs
    ]


def train_job_logs():
    """A job of one run logs into the run's log; a job of several into its own and one per
    run, each run's log at the same path as in a job of one."""
    logs = {"job": "logs/train/{job}.log"}
    if TRAIN_JOB_RUNS != ["{job}"]:
        logs["runs"] = job_logs(TRAIN_JOB_RUNS)
    return logs


def train_code(wildcards):
    """The code a training job runs: the loop and its network's task (loaded by name)."""
    model = parse_run_name(train_job_runs(config, wildcards.job)[0])["model"]
    return code_identity("train.py", f"bnopt/{task_module(model)}.py")


def train_gpu_tokens(wildcards):
    """A training job's `gpu`: on a cluster executor (the SLURM profile) one GPU asked of the
    scheduler (`sbatch --gpus=1`); locally a token that runs one GPU job at a time, none on a
    CPU-only config. (The deep linear network's jobs, always on the CPU, take none.)"""
    return GPU_TOKENS if workflow.local_exec else 1


# One deep-linear-network job trains one normalisation's runs (bnopt.runs.dln_job_runs).
DLN_JOB_RUNS = dln_job_runs(config)


def initialisation_inputs(wildcards):
    """The prepared images, when the conv stack is measured at initialisation."""
    return {"data": PREPARED} if "conv_stack" in INITIALISATION["networks"] else {}


# The figure jobs: one per experiment, one per figure drawn only on request
# (bnopt.figures.figure_jobs); each target's registry entry and experiment in ALL_FIGURES.
FIGURE_JOBS = figure_jobs(ALL_FIGURES)


def figure_job_tables(targets):
    """The tables a figure job's figures read, by name (all of one experiment)."""
    tables = {}
    for target in targets:
        tables.update(table_paths(*ALL_FIGURES[target]))
    return tables


def figure_png(target):
    """A figure's PNG, in both reports with its own caption (workflow/report/<name>.rst)."""
    spec, _ = ALL_FIGURES[target]
    return report(
        f"results/figures/{target}.png",
        caption=f"../report/{spec.caption_path.name}",
        category=spec.category,
    )


def figure_code(targets):
    """The code a figure job runs: the adapter and its figures' plotting modules."""
    modules = sorted({ALL_FIGURES[target][0].module for target in targets})
    return code_identity("plot.py", *(f"bnopt/plots/{module}.py" for module in modules))


def figure_note(target):
    """Under another experiment's figure: which experiment, network and optimiser it shows."""
    spec, experiment = ALL_FIGURES[target]
    if experiment == spec.experiment:
        return ""
    own = config["experiments"][experiment]
    return f"{experiment}: {own['model']}, {own['optimizer']}"


def figure_params(targets):
    """What plot.py draws, in the order of the job's outputs."""
    return [
        {"target": t, "draw": ALL_FIGURES[t][0].name, "note": figure_note(t)}
        for t in targets
    ]
