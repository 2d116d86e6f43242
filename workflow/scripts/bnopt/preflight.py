"""Checks made once Snakemake knows which jobs it will run, before the first one starts.

`train.device: auto` on a machine where torch finds no CUDA device falls back to the CPU.
That is right for a small config and wrong for the paper's (VGG-A at full width for
15,000 steps is hours per run on a CPU): the workflow would warn once per job and train
for days. So the training jobs about to run are costed (bnopt.cost) and, when they would
take more than an hour even on a fast CPU, the workflow stops before any job, saying the
estimate and how to proceed.
"""

from __future__ import annotations

from collections.abc import Iterable

from .cost import run_flops
from .runs import is_image, parse_run_name

# An optimistic CPU: 20x the 23 GFLOP/s that the demo's training jobs reach on a 2-core Xeon
# (AVX-512), so that the estimate is a lower bound on the time.
CPU_FLOPS = 500e9
CPU_LIMIT_HOURS = 1.0


def cpu_hours(config: dict, runs: Iterable[str]) -> float:
    """A lower bound on the hours the image networks' runs take on a CPU (the deep linear
    network always trains on the CPU, in minutes, and is not counted)."""
    flops = sum(run_flops(config, run) for run in runs if is_image(parse_run_name(run)["model"]))
    return flops / CPU_FLOPS / 3600


def cpu_fallback_problem(config: dict, runs: Iterable[str], cuda_available: bool) -> str | None:
    """Why these training runs should not start on this machine's CPU, or None."""
    if config["train"]["device"] != "auto" or cuda_available:
        return None
    runs = list(runs)
    hours = cpu_hours(config, runs)
    if hours <= CPU_LIMIT_HOURS:
        return None
    return (
        f"train.device is auto and torch finds no CUDA device on this machine, so the "
        f"{len(runs)} training run(s) would run on the CPU: at least {hours:,.0f} hours "
        f"(estimated from bnopt.cost at an optimistic {CPU_FLOPS / 1e9:.0f} GFLOP/s). Run on a "
        f"machine with a GPU, or set train.device: cpu to train on this CPU anyway, or run "
        f"the CPU demo (make demo)"
    )
