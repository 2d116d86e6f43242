"""The device a run trains on and torch's numeric settings on it: threads, TF32, determinism,
autocast. Which GPU of several a job takes is bnopt.gpus'."""

from __future__ import annotations

import contextlib
import logging
import os
import platform

import torch

from .errors import UserError
from .execution import Execution, device_problem

log = logging.getLogger("bnopt.backend")


class DeviceError(UserError):
    """train.device names a device this machine does not have."""


def resolve_device(name: str) -> torch.device:
    """auto (CUDA when present), cpu, cuda or cuda:N, checked against this machine."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        log.warning("train.device is auto and torch finds no CUDA device: training on the CPU")
        return torch.device("cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise DeviceError(f"train.device: {name!r} is not one of auto, cpu, cuda, cuda:N")
    problem = device_problem(name)
    if problem:
        raise DeviceError(problem)
    return torch.device(name)


def configure_backend(settings: dict, execution: Execution, device: torch.device) -> None:
    torch.set_num_threads(max(1, int(execution.threads)))
    tf32 = settings["precision"] == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    # Set both ways: a job trains its runs in turn in one process (bnopt.training_job).
    deterministic = bool(settings.get("deterministic", False))
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.benchmark = device.type == "cuda" and not deterministic


def autocast(settings: dict, device: torch.device):
    if settings["precision"] == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    unit = "thread" if threads == 1 else "threads"
    return f"cpu ({platform.processor() or platform.machine()}, {threads} {unit})"
