"""Which GPU a training job uses when several jobs share a machine with several GPUs.

Snakemake's `gpu` resource only counts: with `--resources gpu=8` eight training jobs run at
once, and each would pick cuda:0. So a job that asks for a GPU without naming one claims a
slot. The pool has (GPUs the job sees) x `train.runs_per_gpu` slots; slot i runs on GPU
i mod (GPUs seen), so the first jobs spread over the GPUs and later ones share them. A slot
is an exclusive advisory lock (flock) on a file in a folder of the machine: the kernel
releases it when the job's process ends in any way, killed included, so no slot is left
taken by a job that is gone; the job frees it as soon as its training ends.

CUDA_VISIBLE_DEVICES, when set (SLURM sets it to the job's own GPUs), decides what the job
sees: torch numbers those GPUs from 0, and the pool is kept per visible set, so jobs that
see different GPUs never wait for one another. `cpu` and `cuda:N` are used as given.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from .errors import UserError

log = logging.getLogger("bnopt.gpus")

WAIT_SECONDS = 120.0
POLL_SECONDS = 0.5


class SlotError(UserError):
    """Every GPU slot of the pool stayed taken."""


def slot_folder(root=None) -> Path:
    """The pool of this machine for the GPUs this process sees."""
    base = Path(root or os.environ.get("BNOPT_GPU_SLOTS", tempfile.gettempdir()))
    seen = os.environ.get("CUDA_VISIBLE_DEVICES", "all").replace(",", "_") or "none"
    return base / f"bnopt-gpu-slots-{os.getuid()}" / f"visible-{seen}"


def try_claim(path: Path) -> int | None:
    """An open descriptor holding the slot's lock, or None when another process holds it."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())  # for a reader's information only
    return fd


def claim_slot(slots: int, folder: Path, wait_s: float = WAIT_SECONDS) -> tuple[int, int]:
    """The lowest free slot (waiting up to wait_s for one) and the descriptor holding it."""
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        for slot in range(slots):
            fd = try_claim(folder / f"slot-{slot}")
            if fd is not None:
                return slot, fd
        if time.monotonic() >= deadline:
            raise SlotError(
                f"all {slots} GPU slots in {folder} stayed taken for {wait_s:g} s: run at most "
                "(GPUs x train.runs_per_gpu) training jobs at once, i.e. --resources gpu=N "
                "with N no larger than that"
            )
        time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def claimed(
    device: torch.device,
    runs_per_gpu: int = 1,
    count: int | None = None,
    root=None,
    wait_s: float = WAIT_SECONDS,
) -> Iterator[torch.device]:
    """The device a job trains on: for `cuda` without an index, a claimed slot's GPU (held
    until the block ends); any other device as given. `count` = GPUs seen (torch's)."""
    if device.type != "cuda" or device.index is not None:
        yield device
        return
    count = torch.cuda.device_count() if count is None else count
    if count < 1:
        raise SlotError("a CUDA device was asked for but this process sees none")
    slots = count * max(1, int(runs_per_gpu))
    slot, fd = claim_slot(slots, slot_folder(root), wait_s)
    chosen = torch.device("cuda", slot % count)
    log.info("GPU slot %d of %d: %s", slot, slots, chosen)
    try:
        yield chosen
    finally:
        os.close(fd)  # releases the lock
