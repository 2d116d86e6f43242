"""From the configuration to the set of training runs, their names and their settings.

A run is identified by network, optimiser, normalisation, learning rate and seed; its folder
name says so (e.g. `batch_lr0.1_seed0`, `dln_batch_lr1e-06_seed0`). Every other setting is
shared by all runs of its network and recorded in the run's metadata: an image network's come
from `train`, `probes` and `model`, another network's (the deep linear network's) from its own
section `models.<name>`. The runs are the union of what the experiments (figure families) ask
for.
"""

from __future__ import annotations

import re

from . import catalog
from .catalog import PAPER_MODEL, PAPER_OPTIMIZER, format_lr
from .execution import EXECUTION_KEYS, device_type
from .probe_plan import families_read, planned_probes

# The names of bnopt.catalog, in its order.
MODELS = tuple(catalog.MODELS)
# Weight layers of each image network (tests/unit/test_models.py checks these counts).
WEIGHT_LAYERS = {name: catalog.MODELS[name].weight_layers for name in catalog.image_models()}
OPTIMIZERS = tuple(catalog.OPTIMIZERS)
NORMALIZATION_NAMES = tuple(catalog.NORMALIZATIONS)
# The networks not trained on images (the deep linear network), whose runs' names start with
# their name: dln_none_lr1e-06_seed0.
OWN_MODELS = tuple(name for name, model in catalog.MODELS.items() if not model.image)


def _either(names) -> str:
    return "|".join(re.escape(name) for name in names)


# [<model>_][<optimizer>_]<normalization>_lr<lr>_seed<seed>, model and optimizer only when
# not the paper's (VGG-A, plain SGD): batch_lr0.1_seed0, resnet20_adam_group_lr0.001_seed1.
_CONFIGURATION = (
    f"(?:(?P<model>{_either(m for m in MODELS if m != PAPER_MODEL)})_)?"
    f"(?:(?P<optimizer>{_either(o for o in OPTIMIZERS if o != PAPER_OPTIMIZER)})_)?"
    f"(?P<normalization>{_either(NORMALIZATION_NAMES)})"
    "_lr(?P<lr>[0-9.e+-]+)"
)
_PARTS = f"{_CONFIGURATION}_seed(?P<seed>[0-9]+)"
_RUN = re.compile(_PARTS)


def _plain(pattern: str) -> str:
    """A pattern without its group names: Snakemake's wildcard constraint."""
    return re.sub(r"\(\?P<[a-z]+>", "(", pattern)


RUN_PATTERN = _plain(_PARTS)
_IMAGE = f"(?!(?:{_either(OWN_MODELS)})_)"  # not the deep linear network's
# the runs of rule train, and the configurations (a run's name without its seed) of its jobs
# when train.seeds_in_one_job
IMAGE_RUN_PATTERN = _IMAGE + RUN_PATTERN
IMAGE_CONFIGURATION_PATTERN = _IMAGE + _plain(_CONFIGURATION)


def run_name(
    normalization: str,
    lr: float,
    seed: int,
    model: str = PAPER_MODEL,
    optimizer: str = PAPER_OPTIMIZER,
) -> str:
    prefix = "" if model == PAPER_MODEL else f"{model}_"
    prefix += "" if optimizer == PAPER_OPTIMIZER else f"{optimizer}_"
    return f"{prefix}{normalization}_lr{format_lr(lr)}_seed{int(seed)}"


def parse_run_name(name: str) -> dict:
    match = _RUN.fullmatch(name)
    if match is None:
        raise ValueError(f"not a run name: {name!r} (expected e.g. batch_lr0.1_seed0)")
    return {
        "model": match["model"] or PAPER_MODEL,
        "optimizer": match["optimizer"] or PAPER_OPTIMIZER,
        "normalization": match["normalization"],
        "lr": float(match["lr"]),
        "seed": int(match["seed"]),
    }


def experiment_model(config: dict, experiment: str) -> str:
    return config["experiments"][experiment].get("model") or PAPER_MODEL


def is_image(model: str) -> bool:
    """Whether the network trains on images (rule train; settings from `train`, `probes`)."""
    return catalog.MODELS[model].image


def model_settings(config: dict, model: str) -> dict:
    """The settings shared by every run of `model`: `models.<model>` for a network that has
    its own section (the deep linear network), else `train`."""
    return config["train"] if is_image(model) else config["models"][model]


def experiment_runs(config: dict, experiment: str) -> list[str]:
    """The runs an experiment's tables are made from, normalisation by learning rate by seed
    (none for a kind that trains nothing)."""
    if experiment_kind(config, experiment) in UNTRAINED_KINDS:
        return []
    spec = config["experiments"][experiment]
    model = experiment_model(config, experiment)
    optimizer = spec.get("optimizer") or PAPER_OPTIMIZER
    return [
        run_name(norm, lr, seed, model, optimizer)
        for norm in spec["normalizations"]
        for lr in spec["lrs"]
        for seed in model_settings(config, model)["seeds"]
    ]


# The paper's experiments, each its own kind: five on the image network, and the deep linear
# network's (model: dln).
PAPER_EXPERIMENTS = ("training", "ics", "landscape", "noisy", "lp", "dln")
# Beyond the paper, the kinds of the follow-up literature's experiments (named by `kind`).
# Those that train nothing have no runs: their own rule measures.
LITERATURE_KINDS = ("edge_of_stability", "scale_invariance", "hessian_outliers", "initialisation")
UNTRAINED_KINDS = ("initialisation",)


def experiment_kind(config: dict, experiment: str) -> str:
    """Which of the paper's experiments an experiment repeats: its `kind`, its network's one
    kind (`dln` for the deep linear network), else its own name."""
    own = catalog.MODELS[experiment_model(config, experiment)].kind
    return config["experiments"][experiment].get("kind") or own or experiment


def initialisation_settings(config: dict, experiment: str) -> dict:
    """What one experiment of kind initialisation measures (bnopt.initialisation), keys in a
    fixed order (Snakemake params): its normalisations, the `initialisation` section and the
    deep linear network's shape (models.dln)."""
    own = config["initialisation"]
    dln = config["models"]["dln"]
    return {
        "normalizations": list(config["experiments"][experiment]["normalizations"]),
        **{key: own[key] for key in sorted(own)},
        "dln": {key: int(dln[key]) for key in ("depth", "dim", "samples")},
    }


def experiment_kinds(config: dict) -> dict[str, str]:
    return {experiment: experiment_kind(config, experiment) for experiment in experiments(config)}


def takes_own_step(config: dict, experiment: str) -> bool:
    """Whether the experiment's optimiser steps other than plain SGD's -lr g (momentum, weight
    decay or Adam): then its landscape is probed along that step too."""
    if not is_image(experiment_model(config, experiment)):
        return False  # full-batch gradient descent
    train = config["train"]
    optimizer = config["experiments"][experiment].get("optimizer", PAPER_OPTIMIZER)
    return optimizer != PAPER_OPTIMIZER or bool(train["momentum"]) or bool(train["weight_decay"])


def own_step_experiments(config: dict) -> list[str]:
    return [e for e in config["experiments"] if takes_own_step(config, e)]


def experiments(config: dict) -> list[str]:
    """Every experiment with tables, in the config's order."""
    return list(config["experiments"])


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
    if not is_image(parse_run_name(run)["model"]):
        return dln_settings(config, run)
    train = config["train"]
    parts = parse_run_name(run)
    optimizer = parts.pop("optimizer")
    # The paper's optimiser adds no key, so that its runs keep their identity.
    own = optimizer != PAPER_OPTIMIZER
    chosen = {"optimizer": optimizer_settings(config, optimizer)} if own else {}
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
    name = catalog.OPTIMIZERS[optimizer].algorithm
    return {"name": name, **dict(sorted(own.items()))}


def run_families(config: dict, run: str) -> set[str]:
    """The table families that some experiment containing this image run reads."""
    return {
        family
        for experiment in config["experiments"]
        if run in experiment_runs(config, experiment)
        for family in families_read(
            experiment_kind(config, experiment), takes_own_step(config, experiment)
        )
    }


# The deep linear network's runs (experiments with model: dln, settings models.dln):
# torch-free, so that parsing the workflow does not import torch.


def dln_settings(config: dict, run: str) -> dict:
    """The resolved settings of one DLN run, keys in a fixed order (Snakemake params).

    Its probes take the same keys as a VGG run's (no activations, no curvature): the DLN
    trains in the same loop as VGG (bnopt.training), always on the CPU.
    """
    dln = config["models"]["dln"]
    missing = [layer for layer in dln["ics_layers"] if not 1 <= layer <= dln["depth"]]
    if missing:
        raise ValueError(
            f"models.dln.ics_layers {missing} outside 1..models.dln.depth ({dln['depth']})"
        )
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


def train_job_suffixes(config: dict) -> list[str]:
    """What a training job's wildcard `job` takes to name each of its image runs.

    A job trains one run (`job` is its name: [""]) or, with train.seeds_in_one_job, every
    seed of one configuration in turn (`job` is the run's name without its seed, batch_lr0.1:
    ["_seed0", "_seed1"]). The seeds of a configuration are read together by every figure and
    claim, so a job of them trains nothing a target does not ask for; a short run (the demo's,
    about 10 s) then pays the ~1 s a process spends importing torch once per configuration.
    """
    if not config["train"].get("seeds_in_one_job", False):
        return [""]
    return [f"_seed{int(seed)}" for seed in config["train"]["seeds"]]


def train_job_runs(config: dict, job: str) -> list[str]:
    """The image runs of training job `job`, in the order of its outputs."""
    return [job + suffix for suffix in train_job_suffixes(config)]


def runtime_minutes(config: dict) -> int:
    """A generous SLURM time limit of one image training job: 30 min + 1 min per 500 steps
    (paper: ~60 min per run on a GPU) for each run it trains."""
    return (30 + int(config["train"]["steps"]) // 500) * len(train_job_suffixes(config))


def dln_experiments(config: dict) -> list[str]:
    """The experiments on the deep linear network (model: dln), in the config's order."""
    return [e for e in config["experiments"] if experiment_model(config, e) == "dln"]


def dln_job_runs(config: dict) -> list[str]:
    """The runs of one deep-linear-network training job, with `{normalization}` for the
    job's normalisation: every learning rate (of every experiment with model: dln, in order)
    and seed of it (dln_{normalization}_lr1e-06_seed0).

    Each DLN run trains in seconds (the demo's) to minutes (the paper's), about what a process
    spends importing torch, so one job trains a normalisation's runs in turn: the demo's 20
    DLN processes become 5, and the paper's 30 runs still train in 5 jobs side by side. A job
    trains every learning rate of these experiments, even one that only another experiment
    than a normalisation's asks for.
    """
    lrs = dict.fromkeys(
        float(lr) for e in dln_experiments(config) for lr in config["experiments"][e]["lrs"]
    )
    return [
        run_name("{normalization}", lr, seed, model="dln")
        for lr in lrs
        for seed in model_settings(config, "dln")["seeds"]
    ]


def dln_runtime_minutes(config: dict) -> int:
    """A generous SLURM time limit of one DLN job: 10 min + 1 min per 1,000 steps of each of
    its runs (measured: 10,000 steps in about 6 min on a slow 2-core CPU)."""
    runs = len(dln_job_runs(config))
    return 10 + runs * (1 + int(config["models"]["dln"]["steps"]) // 1000)
