"""Estimated training compute of the workflow's networks, from the runs' settings alone.

A run's cost is counted in forward passes of one image through its network, then in FLOPs
(`bnopt.models.flops_per_image`, counted by hooks). Counted from what the loop and the
probes do (bnopt.training, bnopt.probe_records, bnopt.probes):

- a training step: one forward and one backward pass of the batch, 3 forward passes (a
  backward pass costs about twice a forward pass);
- at each probed step, the landscape probe: one forward and backward pass per eta (twice
  for an optimiser other than plain SGD: along -g and along its own step); the ICS probe:
  one per probed layer; the activation probe records during the training step: 0;
- at each curvature step: the gradient with its graph (3) and at most
  `curvature_iterations` Hessian-vector products, each a double backward pass, counted as
  two training steps (6; an assumption, not measured);
- at each curvature step of an Adam run, the same again for P^-1 H (its preconditioned
  sharpness), and of a run that probes its weights, for the weight layers' Hessian per
  relative perturbation;
- at each curvature step of an experiment of kind hessian_outliers, one more Lanczos run
  (the gradient and `outlier_iterations` products), two for BatchNorm (batch and population
  statistics);
- each evaluation: one forward pass of the test set (10,000 images for CIFAR-10, `data.
  synthetic.n_test` otherwise); noisy BN also one of the training set (its noise-free
  statistics).

Each experiment is charged, in config order, for the runs it trains first and for the probes
it adds to runs it shares with the experiments before it (`experiment_costs`), so that the
costs of the follow-up literature's experiments that only probe the paper's runs show too.

This is an estimate of arithmetic, not of time: a network of small layers (ResNet-20's 16
to 64 channels) keeps a GPU less busy than VGG-A's, so its share of the GPU time is larger
than its share of FLOPs. `python -m bnopt.cost` prints the estimate for a config.
"""

from __future__ import annotations

import argparse
from functools import cache
from pathlib import Path

from . import catalog
from .config import merged_files
from .probe_plan import families_read, planned_probes
from .runs import (
    PAPER_EXPERIMENTS,
    UNTRAINED_KINDS,
    experiment_kind,
    experiment_model,
    experiment_runs,
    initialisation_settings,
    is_image,
    parse_run_name,
    run_settings,
    takes_own_step,
)

TRAINING_STEP = 3  # forward passes: forward + backward (twice a forward)
HESSIAN_VECTOR_PRODUCT = 2 * TRAINING_STEP
CIFAR10_TEST, CIFAR10_TRAIN = 10_000, 50_000


def probed_steps(steps: int, every: int) -> int:
    return len(range(0, steps, every)) if every else 0


def curvature_operators(settings: dict) -> int:
    """Curvature probes of other operators than H at each curvature step
    (bnopt.probe_records.curvature_records): Adam's P^-1 H, and with the weights probe the
    weight layers' H per relative perturbation."""
    adam = (settings.get("optimizer") or {}).get("name") == "adam"
    return int(adam) + int(bool(settings["probes"].get("weights")))


def run_passes(settings: dict, n_test: int, n_train: int) -> float:
    """Forward passes of one image that a VGG or ResNet run makes, training and probes."""
    steps, batch, probes = settings["steps"], settings["batch_size"], settings["probes"]
    own_step = settings.get("optimizer") or settings["momentum"] or settings["weight_decay"]
    directions = 2 if own_step else 1  # bnopt.probe_records.own_step_records
    etas = directions * len(probes["eta_multipliers"])
    per_probe = TRAINING_STEP * (etas + len(probes["ics_layers"]))
    passes = steps * TRAINING_STEP + probed_steps(steps, probes["every"]) * per_probe
    curvature_steps = probed_steps(steps, probes["curvature_every"])
    lanczos_runs = 1 + curvature_operators(settings)
    curvature = lanczos_runs * (
        TRAINING_STEP + probes["curvature_iterations"] * HESSIAN_VECTOR_PRODUCT
    )
    if probes.get("outlier_k"):  # the gradient's share: one Lanczos run, two with BatchNorm
        runs = 2 if settings["normalization"] in catalog.family("batch") else 1
        lanczos = TRAINING_STEP + probes["outlier_iterations"] * HESSIAN_VECTOR_PRODUCT
        curvature += runs * lanczos
    passes += curvature_steps * curvature
    passes *= batch
    evaluations = len(range(0, steps, settings["eval_every"])) + 1  # and at the end
    per_evaluation = n_test + (n_train if settings["normalization"] == "noisy_batch" else 0)
    return passes + evaluations * per_evaluation


@cache
def flops_per_image(model: str, normalization: str, width: float) -> int:
    from . import models  # torch only when needed

    return models.flops_per_image(models.build_model(model, normalization, width))


def dataset_sizes(config: dict) -> tuple[int, int]:
    data = config["data"]
    if data["dataset"] == "synthetic":
        return int(data["synthetic"]["n_test"]), int(data["synthetic"]["n_train"])
    return CIFAR10_TEST, CIFAR10_TRAIN


def run_flops(config: dict, run: str, families: set[str] | None = None) -> float:
    """A run's FLOPs with its probes (bnopt.runs.run_settings), or with those planned for
    the table families `families` only."""
    settings = run_settings(config, run)
    if families is not None:
        settings["probes"] = planned_probes(config["probes"], families)
    flops = flops_per_image(settings["model"], settings["normalization"], settings["width"])
    return run_passes(settings, *dataset_sizes(config)) * flops


@cache
def conv_stack_flops(normalization: str, depth: int, width: int) -> int:
    from .initialisation import conv_stack  # torch only when needed
    from .models import flops_per_image as count

    return count(conv_stack(normalization, depth, width))


def initialisation_flops(config: dict, experiment: str) -> float:
    """An experiment of kind initialisation: one forward and backward pass of its conv
    stack's batch per normalisation and seed (the singular values of the representations
    and the deep linear network, milliseconds on a CPU, are not counted)."""
    settings = initialisation_settings(config, experiment)
    if "conv_stack" not in settings["networks"]:
        return 0.0
    per_pass = settings["images"] * TRAINING_STEP * len(settings["seeds"])
    return sum(
        per_pass * conv_stack_flops(normalization, settings["depth"], settings["width"])
        for normalization in settings["normalizations"]
    )


def image_experiments(config: dict) -> list[str]:
    """The experiments that train image networks or measure them untrained (the deep linear
    network's, on the CPU in minutes, are not counted)."""
    return [e for e in config["experiments"] if is_image(experiment_model(config, e))]


def own_runs(config: dict) -> dict[str, list[str]]:
    """Each image experiment's runs that no experiment before it has (it trains them)."""
    counted: set[str] = set()
    runs = {}
    for experiment in image_experiments(config):
        runs[experiment] = [r for r in experiment_runs(config, experiment) if r not in counted]
        counted.update(runs[experiment])
    return runs


def experiment_costs(config: dict) -> dict[str, float]:
    """FLOPs per experiment, in config order: for each of its runs, the run's cost with the
    probes that this experiment and those before it read, less its cost with those before it
    only (nothing before its first). So an experiment is charged for the runs it trains first
    and for the probes it adds to runs it shares (the weights probe of scale_invariance, the
    Lanczos runs of hessian_outliers), and the costs add up to every run's whole cost. A kind
    that trains nothing is charged what it measures."""
    costs: dict[str, float] = {}
    read: dict[str, set[str]] = {}  # per run, the families of the experiments so far
    for experiment in image_experiments(config):
        kind = experiment_kind(config, experiment)
        if kind in UNTRAINED_KINDS:
            costs[experiment] = initialisation_flops(config, experiment)
            continue
        families = families_read(kind, takes_own_step(config, experiment))
        costs[experiment] = 0.0
        for run in experiment_runs(config, experiment):
            before = read.get(run)
            read[run] = (before or set()) | families
            costs[experiment] += run_flops(config, run, read[run])
            if before is not None:
                costs[experiment] -= run_flops(config, run, before)
    return costs


def paper_flops(costs: dict[str, float]) -> float:
    return sum(cost for name, cost in costs.items() if name in PAPER_EXPERIMENTS)


def share_beyond(costs: dict[str, float]) -> float:
    """The experiments beyond the paper's, as a fraction of the paper's training FLOPs."""
    beyond = sum(cost for name, cost in costs.items() if name not in PAPER_EXPERIMENTS)
    return beyond / paper_flops(costs)


def beyond_share(config: dict) -> float:
    return share_beyond(experiment_costs(config))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "configfiles", nargs="*", type=Path, help="after config/config.yaml, in order"
    )
    args = parser.parse_args(argv)
    config = merged_files([Path("config/config.yaml"), *args.configfiles])
    runs, costs = own_runs(config), experiment_costs(config)
    paper = paper_flops(costs)
    print(f"{'experiment':<20} {'own runs':>8} {'PFLOP':>9} {'of the paper':>13}")
    for name, cost in costs.items():
        print(f"{name:<20} {len(runs[name]):>8} {cost / 1e15:>9.3g} {cost / paper:>12.1%}")
    beyond = [name for name in costs if name not in PAPER_EXPERIMENTS]
    networks = sorted(
        {parse_run_name(run)["model"] for name in beyond for run in experiment_runs(config, name)}
    )
    print(
        f"beyond the paper ({', '.join(beyond) or 'none'}; {', '.join(networks) or '-'}): "
        f"{share_beyond(costs):.1%} of the paper's FLOPs"
    )
    seeds = len(config["train"]["seeds"])
    print(
        f"the paper's experiments: {paper / 1e15:.3g} PFLOP with {seeds} seed(s) of every run; "
        f"{paper / seeds / 1e15:.3g} PFLOP per seed"
    )


if __name__ == "__main__":
    main()
