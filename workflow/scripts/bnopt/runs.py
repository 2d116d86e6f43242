"""From the configuration to the set of training runs, their names and their settings.

A run is identified by normalisation, learning rate and seed; its folder name says so
(e.g. `batch_lr0.1_seed0`). Every other setting is shared by all runs and recorded in the
run's metadata. The runs are the union of what the experiments (figure families) ask for.
"""

from __future__ import annotations

import re

from .execution import EXECUTION_KEYS, device_type
from .probe_plan import families_read, planned_probes

MODELS = ("vgg_a", "resnet8", "resnet20", "dln")
# Weight layers of each network, numbered 1.. in forward order for the ICS and activation
# probes (bnopt.models.weight_layers; tests/unit/test_models.py checks these counts).
WEIGHT_LAYERS = {"vgg_a": 11, "resnet8": 8, "resnet20": 20}
# sgd: plain SGD with train.momentum and train.weight_decay (the paper: 0, 0); momentum and
# adam take their settings from the config's `optimizers` section.
OPTIMIZERS = ("sgd", "momentum", "adam")
NORMALIZATION_NAMES = ("none", "batch", "noisy_batch", "l1", "l2", "linf", "layer", "group")
DLN_PREFIX = "dln_"  # a deep linear network's run name starts with it: dln_none_lr1e-06_seed0
# [<model>_][<optimizer>_]<normalization>_lr<lr>_seed<seed>, model and optimizer only when
# not the paper's (VGG-A, plain SGD): batch_lr0.1_seed0, resnet20_adam_group_lr0.001_seed1.
_PARTS = (
    "(?:(?P<model>dln|resnet8|resnet20)_)?(?:(?P<optimizer>momentum|adam)_)?"
    f"(?P<normalization>{'|'.join(NORMALIZATION_NAMES)})"
    "_lr(?P<lr>[0-9.e+-]+)_seed(?P<seed>[0-9]+)"
)
_RUN = re.compile(_PARTS)
RUN_PATTERN = re.sub(r"\(\?P<[a-z]+>", "(", _PARTS)  # Snakemake's wildcard constraint
IMAGE_RUN_PATTERN = f"(?!{DLN_PREFIX}){RUN_PATTERN}"  # the runs of rule train (not the DLN's)


def format_lr(lr: float) -> str:
    return f"{float(lr):g}"


def run_name(
    normalization: str, lr: float, seed: int, model: str = "vgg_a", optimizer: str = "sgd"
) -> str:
    prefix = "" if model == "vgg_a" else f"{model}_"
    prefix += "" if optimizer == "sgd" else f"{optimizer}_"
    return f"{prefix}{normalization}_lr{format_lr(lr)}_seed{int(seed)}"


def parse_run_name(name: str) -> dict:
    match = _RUN.fullmatch(name)
    if match is None:
        raise ValueError(f"not a run name: {name!r} (expected e.g. batch_lr0.1_seed0)")
    return {
        "model": match["model"] or "vgg_a",
        "optimizer": match["optimizer"] or "sgd",
        "normalization": match["normalization"],
        "lr": float(match["lr"]),
        "seed": int(match["seed"]),
    }


def experiment_runs(config: dict, experiment: str) -> list[str]:
    """The runs an experiment's tables are made from; `dln` is the deep linear network's."""
    if experiment == "dln":
        return dln_runs(config)
    spec = config["experiments"][experiment]
    model, optimizer = spec.get("model", "vgg_a"), spec.get("optimizer", "sgd")
    return [
        run_name(norm, lr, seed, model, optimizer)
        for norm in spec["normalizations"]
        for lr in spec["lrs"]
        for seed in config["train"]["seeds"]
    ]


PAPER_EXPERIMENTS = ("training", "ics", "landscape", "noisy", "lp")


def experiment_kind(config: dict, experiment: str) -> str:
    """Which of the paper's experiments (or `dln`) an experiment repeats."""
    if experiment == "dln":
        return "dln"
    return config["experiments"][experiment].get("kind") or experiment


def experiment_kinds(config: dict) -> dict[str, str]:
    return {experiment: experiment_kind(config, experiment) for experiment in experiments(config)}


def takes_own_step(config: dict, experiment: str) -> bool:
    """Whether the experiment's optimiser steps other than plain SGD's -lr g (momentum, weight
    decay or Adam): then its landscape is probed along that step too."""
    if experiment == "dln":
        return False
    train = config["train"]
    optimizer = config["experiments"][experiment].get("optimizer", "sgd")
    return optimizer != "sgd" or bool(train["momentum"]) or bool(train["weight_decay"])


def own_step_experiments(config: dict) -> list[str]:
    return [e for e in config["experiments"] if takes_own_step(config, e)]


def experiments(config: dict) -> list[str]:
    """Every experiment with tables: the config's VGG experiments and the DLN's."""
    return [*config["experiments"], "dln"]


def all_runs(config: dict) -> list[str]:
    """Every training run of the workflow, VGG and deep linear network alike."""
    runs: dict[str, None] = {}
    for experiment in experiments(config):
        runs.update(dict.fromkeys(experiment_runs(config, experiment)))
    return list(runs)


def run_settings(config: dict, run: str) -> dict:
    """The settings that can change one run's numbers: its identity, recorded in meta.json.

    Keys are in a fixed order, so that Snakemake sees the same params whatever the order of
    the keys in the config file.
    """
    if parse_run_name(run)["model"] == "dln":
        return dln_settings(config, run)
    train = config["train"]
    parts = parse_run_name(run)
    optimizer = parts.pop("optimizer")
    # The paper's optimiser adds no key, so that its runs keep their identity.
    chosen = {} if optimizer == "sgd" else {"optimizer": optimizer_settings(config, optimizer)}
    return {
        "run": run,
        **parts,
        **chosen,
        "width": float(config["model"]["width"]),
        "dataset": config["data"]["dataset"],
        **{k: train[k] for k in sorted(train) if k not in ("seeds", *EXECUTION_KEYS)},
        "device_type": device_type(train["device"]),
        "probes": planned_probes(config["probes"], run_families(config, run)),
    }


def optimizer_settings(config: dict, optimizer: str) -> dict:
    """`optimizers.<name>` of the config, keys sorted, with the optimiser's name."""
    own = config.get("optimizers", {}).get(optimizer, {})
    return {"name": "sgd" if optimizer == "momentum" else optimizer, **dict(sorted(own.items()))}


def run_families(config: dict, run: str) -> set[str]:
    """The table families that some experiment containing this VGG run reads."""
    return {
        family
        for experiment in config["experiments"]
        if run in experiment_runs(config, experiment)
        for family in families_read(
            experiment_kind(config, experiment), takes_own_step(config, experiment)
        )
    }


# The deep linear network experiment (config section `dln`): torch-free, so that parsing
# the workflow does not import torch.


def dln_runs(config: dict) -> list[str]:
    """Every DLN run: each normalisation's job runs (dln_job_runs), job after job."""
    return [
        run.format(normalization=normalization)
        for normalization in config["dln"]["normalizations"]
        for run in dln_job_runs(config)
    ]


def dln_settings(config: dict, run: str) -> dict:
    """The resolved settings of one DLN run, keys in a fixed order (Snakemake params).

    Its probes take the same keys as a VGG run's (no activations, no curvature): the DLN
    trains in the same loop as VGG (bnopt.training), always on the CPU.
    """
    dln = config["dln"]
    missing = [layer for layer in dln["ics_layers"] if not 1 <= layer <= dln["depth"]]
    if missing:
        raise ValueError(f"dln.ics_layers {missing} outside 1..dln.depth ({dln['depth']})")
    return {
        "run": run,
        **{k: v for k, v in parse_run_name(run).items() if k != "optimizer"},
        "steps": int(dln["steps"]),
        "samples": int(dln["samples"]),
        "depth": int(dln["depth"]),
        "dim": int(dln["dim"]),
        "precision": dln.get("precision", "fp32"),
        "device_type": "cpu",
        "probes": {
            "every": int(dln["probes_every"]),
            "eta_multipliers": [float(m) for m in dln["eta_multipliers"]],
            "ics_layers": [int(layer) for layer in dln["ics_layers"]],
            "activation_layers": [],
            "activation_samples": 0,
            "curvature_every": 0,
        },
    }


def runtime_minutes(config: dict) -> int:
    """A generous SLURM time limit of one image network's run: 30 min + 1 min per 500 steps
    (paper: ~60 min per run on a GPU)."""
    return 30 + int(config["train"]["steps"]) // 500


def dln_job_runs(config: dict) -> list[str]:
    """The runs of one deep-linear-network training job, with `{normalization}` for the
    job's normalisation: every learning rate and seed of it (dln_{normalization}_lr1e-06_seed0).

    Each DLN run trains in seconds (the demo's) to minutes (the paper's), about what a process
    spends importing torch, so one job trains a normalisation's runs in turn: the demo's 20
    DLN processes become 5, and the paper's 30 runs still train in 5 jobs side by side.
    """
    dln = config["dln"]
    return [
        run_name("{normalization}", lr, seed, model="dln")
        for lr in dln["lrs"]
        for seed in dln["seeds"]
    ]


def dln_runtime_minutes(config: dict) -> int:
    """A generous SLURM time limit of one DLN job: 10 min + 1 min per 1,000 steps of each of
    its runs (measured: 10,000 steps in about 6 min on a slow 2-core CPU)."""
    runs = len(dln_job_runs(config))
    return 10 + runs * (1 + int(config["dln"]["steps"]) // 1000)
