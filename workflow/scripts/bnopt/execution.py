"""How a training job runs, as opposed to what it computes.

These settings are kept out of a run's identity (its Snakemake params and the identity of
its checkpoint and kept outputs), so changing them reruns no training job.
"""

from __future__ import annotations

from dataclasses import dataclass

# The keys of the config's `train` section that are execution settings. `device` enters a
# run's identity only as its type (cpu or cuda); seeds_in_one_job only cuts the jobs.
EXECUTION_KEYS = (
    "device",
    "threads",
    "log_every",
    "checkpoint_every",
    "runs_per_gpu",
    "seeds_in_one_job",
)


@dataclass(frozen=True)
class Execution:
    """How a training job runs: device, CPU threads, progress and checkpoint cadence, and
    how many training jobs share one GPU (bnopt.gpus)."""

    device: str = "auto"
    threads: int = 1
    log_every: int = 100
    checkpoint_every: int = 1000
    runs_per_gpu: int = 1


DLN_PROGRESS_LINES = 10


def execution(config: dict, threads: int, settings: dict | None = None) -> Execution:
    """The job's execution settings; `threads` is what Snakemake granted the job.

    A deep linear network run (settings["model"] == "dln") runs on the CPU whatever
    train.device says, logs ten progress lines and is too short to need checkpoints.
    """
    if settings is not None and settings.get("model") == "dln":
        steps = int(settings["steps"])
        return Execution("cpu", int(threads), max(1, steps // DLN_PROGRESS_LINES), 0)
    train = config["train"]
    return Execution(
        device=train["device"],
        threads=int(threads),
        log_every=int(train["log_every"]),
        checkpoint_every=int(train["checkpoint_every"]),
        runs_per_gpu=int(train.get("runs_per_gpu", 1)),
    )


def device_type(device: str) -> str:
    """cpu or cuda: `auto`, `cuda` and `cuda:N` all ask for a GPU and give the same numbers."""
    return "cpu" if device == "cpu" else "cuda"


def device_problem(name: str) -> str | None:
    """Why `train.device` cannot be used on this machine, or None (imports torch for cuda)."""
    if not name.startswith("cuda"):
        return None
    import torch

    if not torch.cuda.is_available():
        return (
            f"train.device is {name!r} but torch finds no CUDA device on this machine "
            f"(torch {torch.__version__}, CUDA build {torch.version.cuda}); set train.device "
            f"to auto or cpu"
        )
    index = torch.device(name).index
    count = torch.cuda.device_count()
    if index is not None and index >= count:
        return (
            f"train.device is {name!r} but this machine has {count} CUDA device(s), "
            f"cuda:0..cuda:{count - 1}"
        )
    return None
