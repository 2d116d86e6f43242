"""A run's checkpoint: the training state after some step, to resume from bitwise where it
stopped (weights, optimiser state, the records so far, the RNG states), with the run's
identity, so that a checkpoint of other settings, code or data is never resumed.

The sha256 of its bytes is written beside it (torch checks none on load): a damaged
checkpoint is set aside and the run trains from step 0.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
from pathlib import Path

import torch

from .files import atomic_output, write_text
from .optimizers import Optimizer
from .probes import ActivationRecorder
from .run_records import Records

log = logging.getLogger("bnopt.checkpoints")


def save_training(
    path: Path,
    identity: str,
    next_step: int,
    model: torch.nn.Module,
    optimizer: Optimizer,
    records: Records,
    recorder: ActivationRecorder | None,
) -> None:
    """Checkpoint the run after `next_step` updates."""
    save(
        path,
        {
            "identity": identity,
            "next_step": next_step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "losses": records.losses[:next_step].cpu(),
            "correct": records.correct[:next_step].cpu(),
            "evals": records.evals,
            "probe_rows": records.probe_rows,
            "rng": rng_state(),
            "recorder_rng": recorder.generator.get_state() if recorder else None,
        },
    )


def resume(
    path: Path,
    identity: str,
    device: torch.device,
    model: torch.nn.Module,
    optimizer: Optimizer,
    records: Records,
    recorder: ActivationRecorder | None,
) -> int:
    """The step to train from: that of the run's intact checkpoint at `path`, its state put
    back into the model, optimiser, records and RNGs; else 0, nothing changed."""
    state = load(path, device)
    if state is None:
        return 0
    if state.get("identity") != identity:
        log.warning("ignoring %s: it was written with other settings, code or data", path)
        return 0
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    start = state["next_step"]
    records.losses[:start] = state["losses"].to(device)
    records.correct[:start] = state["correct"].to(device)
    records.evals, records.probe_rows = state["evals"], state["probe_rows"]
    set_rng_state(state["rng"])
    if recorder is not None:
        recorder.generator.set_state(state["recorder_rng"])
    log.info("resumed from %s at step %d/%d", path, start, len(records.losses))
    return start


def checksum_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.sha256")


def save(path: Path, state: dict) -> None:
    """The checkpoint and, beside it, the sha256 of its bytes."""
    with atomic_output(path) as tmp:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        data = buffer.getvalue()
        tmp.write_bytes(data)
    write_text(checksum_path(path), hashlib.sha256(data).hexdigest() + "\n")


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    checksum_path(path).unlink(missing_ok=True)


def load(path: Path, device: torch.device) -> dict | None:
    """A checkpoint whose bytes match their recorded sha256, or None. A damaged or unreadable
    one is never resumed from: it is named in a warning and moved aside (to *.damaged)."""
    if not path.exists():
        return None
    problem = None
    try:
        data = path.read_bytes()
        expected = checksum_path(path).read_text().strip()
    except OSError as error:
        problem = f"cannot be read with its checksum ({error})"
    else:
        if hashlib.sha256(data).hexdigest() != expected:
            problem = "does not match the sha256 recorded when it was written"
    if problem is None:
        try:
            return torch.load(io.BytesIO(data), map_location=device, weights_only=True)
        except Exception as error:  # any unpickling or zip error: the file is unusable
            problem = f"cannot be loaded ({type(error).__name__}: {error})"
    aside = path.with_name(f"{path.name}.damaged")
    with contextlib.suppress(OSError):
        os.replace(path, aside)
    checksum_path(path).unlink(missing_ok=True)
    log.warning("checkpoint %s %s: moved to %s; training from step 0", path, problem, aside)
    return None


def rng_state() -> dict:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
