"""Which GPU a training job uses when several jobs share a machine with several GPUs.

Snakemake's `gpu` resource only counts: with `--resources gpu=8` eight training jobs run at
once, and each would pick cuda:0. So a job that asks for a GPU without naming one claims a
slot. Each GPU has `train.runs_per_gpu` slots; the first jobs spread over the GPUs the job
sees and later ones share them. A slot is an exclusive advisory lock (flock) on a file: the
kernel releases it when the job's process ends in any way, killed included, so no slot is
left taken by a job that is gone; the job frees it as soon as its training ends.

Slots are keyed by the physical GPU (its UUID), so jobs that see the same GPU under other
numbers (CUDA_VISIBLE_DEVICES unset, "0", or SLURM's own setting) share its slots, and jobs
that see different GPUs never wait for one another. The slot files live in a private folder
of the user (created 0700; a folder that is a symlink, another user's, or open to others is
refused), and are opened without following symlinks, so no one else can plant or redirect
them. `cpu` and `cuda:N` are used as given.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
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
    """This user's folder of slot files on this machine."""
    base = Path(root or os.environ.get("BNOPT_GPU_SLOTS", tempfile.gettempdir()))
    return base / f"bnopt-gpu-slots-{os.getuid()}"


def private_folder(folder: Path) -> Path:
    """`folder`, created 0700 if missing; refused unless it is a real folder of this user that
    no one else may write to (in a shared /tmp another user could have created it first)."""
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    problem = None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        problem = "is not a folder (a symlink or a file)"
    elif info.st_uid != os.getuid():
        problem = f"belongs to another user (uid {info.st_uid})"
    elif info.st_mode & 0o077:
        problem = f"is open to other users (mode {stat.S_IMODE(info.st_mode):o})"
    if problem:
        raise SlotError(
            f"the GPU slot folder {folder} {problem}: remove it, or set BNOPT_GPU_SLOTS to a "
            "folder of your own"
        )
    return folder


def physical_ids(count: int) -> list[str]:
    """An identifier of each GPU this process sees (cuda:0..count-1) that does not depend on
    CUDA_VISIBLE_DEVICES: its UUID, else the entry of CUDA_VISIBLE_DEVICES, else the index."""
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")]
    ids = []
    for index in range(count):
        uuid = None
        with contextlib.suppress(Exception):  # torch builds without a uuid field
            uuid = str(torch.cuda.get_device_properties(index).uuid)
        if not uuid and index < len(visible) and visible[index]:
            uuid = visible[index]
        ids.append(uuid or str(index))
    return [i if i.startswith("GPU-") else f"GPU-{i}" for i in ids]


def try_claim(path: Path) -> int | None:
    """An open descriptor holding the slot's lock, or None when another process holds it.
    The file is opened without following a symlink and must be this user's regular file."""
    flags = os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as error:
        raise SlotError(f"cannot open the GPU slot file {path}: {error}") from error
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        os.close(fd)
        raise SlotError(f"the GPU slot file {path} is not a regular file of yours: remove it")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())  # for a reader's information only
    return fd


def claim_slot(
    ids: list[str], runs_per_gpu: int, folder: Path, wait_s: float = WAIT_SECONDS
) -> tuple[int, int]:
    """The index (among `ids`, the GPUs seen) of the first GPU with a free slot, every GPU's
    first slot before any second one (waiting up to wait_s), and the descriptor holding it."""
    private_folder(folder)
    deadline = time.monotonic() + wait_s
    while True:
        for slot in range(runs_per_gpu):
            for index, gpu in enumerate(ids):
                fd = try_claim(folder / f"{gpu}-slot-{slot}")
                if fd is not None:
                    return index, fd
        if time.monotonic() >= deadline:
            raise SlotError(
                f"all {len(ids) * runs_per_gpu} GPU slots in {folder} stayed taken for "
                f"{wait_s:g} s: run at most (GPUs x train.runs_per_gpu) training jobs at once, "
                "i.e. --resources gpu=N with N no larger than that"
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
    ids = physical_ids(count)
    index, fd = claim_slot(ids, max(1, int(runs_per_gpu)), slot_folder(root), wait_s)
    chosen = torch.device("cuda", index)
    log.info("GPU slot on %s (%s)", chosen, ids[index])
    try:
        yield chosen
    finally:
        os.close(fd)  # releases the lock
