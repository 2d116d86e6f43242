"""One training run, of VGG-A or of the deep linear network: SGD or Adam (bnopt.optimizers),
constant learning rate, probes every few steps. The two networks differ only in their `Task`
(model, loss, batches, evaluation); the loop is the same for both, and so are its checkpoints
(bnopt.checkpoints), probe rows (bnopt.probe_records) and outputs (bnopt.run_records).

Conventions: `step` t counts the updates already applied. The training loss of step t is
measured at w_t on the step's minibatch, before update t+1; probes at step t measure at w_t
on that same minibatch; an evaluation at step t uses w_t (after t updates), at step 0,
every `eval_every` steps and at the end.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from pathlib import Path

import torch

from . import checkpoints, finished, gpus, probe_records, run_records
from .backend import autocast, configure_backend, resolve_device
from .execution import Execution
from .models import weight_layers
from .optimizers import run_optimizer
from .run_records import Records, new_records
from .task import Task, task_module

log = logging.getLogger("bnopt.training")


def train_run(
    data_path,
    outputs: dict,
    settings: dict,
    execution: Execution | None = None,
    *,
    code: str = "",
    data_info: dict | None = None,
    checkpoint_path=None,
    reuse_finished: bool = True,
) -> dict:
    """Train one run, VGG-A or the deep linear network, and write its outputs; returns the
    metadata written.

    `outputs` maps metrics, probes, meta and weights to paths. `settings` is the run's
    identity (bnopt.runs.run_settings; `model` says which network, the DLN needs no
    `data_path`), `execution` how to run it (device, threads, cadences). The run's identity
    also covers the contents of the data and `code` (its job's bnopt.code_identity): a
    checkpoint resumes, and a finished run's kept outputs are restored instead of training
    again (`reuse_finished`), only when all of it matches. `data_info` (where the data came
    from) is recorded in meta.json.
    """
    execution = execution or Execution()
    with gpus.claimed(resolve_device(execution.device), execution.runs_per_gpu) as device:
        return train_on(
            device,
            data_path,
            outputs,
            settings,
            execution,
            code=code,
            data_info=data_info,
            checkpoint_path=checkpoint_path,
            reuse_finished=reuse_finished,
        )


def train_on(
    device: torch.device,
    data_path,
    outputs: dict,
    settings: dict,
    execution: Execution,
    *,
    code: str = "",
    data_info: dict | None = None,
    checkpoint_path=None,
    reuse_finished: bool = True,
) -> dict:
    """train_run on a device already chosen (and, for a GPU slot, held)."""
    started = time.perf_counter()
    data_files = [data_path] if data_path is not None else []
    identity = finished.run_identity(settings, device.type, data_files, code)
    checkpoint = Path(checkpoint_path or Path(outputs["meta"]).with_name("checkpoint.pt"))
    if reuse_finished:
        meta = restore_finished(outputs, identity, data_info)
        if meta is not None:
            checkpoints.remove(checkpoint)  # if a kill came between keeping and this
            return meta
    configure_backend(settings, execution, device)
    ctx = autocast(settings, device)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    # Loaded by name, so that only its network's runs depend on a task module's code.
    tasks = importlib.import_module(f"bnopt.{task_module(settings.get('model', 'vgg_a'))}")
    task = tasks.task(settings, data_path, device, ctx)
    records = train_loop(task, settings, execution, ctx, device, checkpoint, identity)
    meta = run_records.write_outputs(
        outputs, settings, device, task, records,
        started=started, identity=identity, execution=execution, data_info=data_info,
    )  # fmt: skip
    if reuse_finished:
        finished.record(outputs, identity)
    # Only now: until the outputs are kept, an interruption resumes from the checkpoint.
    checkpoints.remove(checkpoint)
    return meta


def restore_finished(outputs: dict, identity: str, data_info: dict | None) -> dict | None:
    """The metadata of this run's kept outputs, once put back (bnopt.finished), or None."""
    meta = finished.restore(outputs, identity)
    if meta is not None and data_info is not None and meta.get("data") != data_info:
        # The same bytes from another source (e.g. a local copy of the official archive).
        meta["data"] = data_info
        run_records.write_meta(outputs["meta"], meta)
        finished.record(outputs, identity)  # the manifest holds the new meta.json
    return meta


def train_loop(
    task: Task,
    settings: dict,
    execution: Execution,
    ctx,
    device: torch.device,
    checkpoint: Path,
    identity: str,
) -> Records:
    """Train `task` for settings["steps"] steps, or up to its first non-finite loss, from its
    checkpoint when it has one of this `identity`: probe every probes.every steps, evaluate
    every eval_every steps and at the end, checkpoint every execution.checkpoint_every."""
    model, steps = task.model, settings["steps"]
    layers = weight_layers(model)
    optimizer = run_optimizer(model.parameters(), settings)
    probe_every = settings["probes"]["every"]
    recorder = probe_records.activation_recorder(model, settings)
    initial = probe_records.initial_weights(layers, settings)  # before a checkpoint loads
    eval_every = settings.get("eval_every") if task.evaluate is not None else None
    records = new_records(steps, next(model.parameters()).dtype, device)
    start = checkpoints.resume(checkpoint, identity, device, model, optimizer, records, recorder)
    if start == 0 and task.evaluate is not None:
        records.evals.append((0, *task.evaluate()))

    records.resumed_from, records.session_started = start, time.perf_counter()
    logged_until = start
    model.train()
    for step in range(start, steps):
        x, y = task.batch(step)
        probing = bool(probe_every) and step % probe_every == 0
        if recorder is not None:
            recorder.active = probing
        with ctx:
            out = model(x)
        loss = task.loss_fn(out, y)
        optimizer.zero_grad()
        loss.backward()
        records.losses[step] = loss.detach()
        if task.counts_correct:
            records.correct[step] = (out.detach().argmax(1) == y).sum()
        if probing:
            if recorder is not None:
                recorder.active = False
            with ctx:
                records.probe_rows += probe_records.probe_step(
                    model, layers, settings, task.loss_fn, x, y, step, recorder, optimizer,
                    initial,
                )  # fmt: skip
        optimizer.step()

        done = step + 1
        last = done == steps
        progress = done % execution.log_every == 0 or last
        checkpointing = bool(execution.checkpoint_every) and done % execution.checkpoint_every == 0
        # Divergence is checked where the loop waits for the device anyway (a progress line,
        # a probe, a checkpoint): a check at every step would stall a GPU at every step.
        if progress or probing or checkpointing:
            records.diverged_at = first_non_finite(records.losses, logged_until, done)
            if records.diverged_at is not None:
                log.warning(
                    "non-finite training loss at step %d: run diverged", records.diverged_at
                )
                break
            if progress:
                log_progress(done, steps, records, task, logged_until)
            logged_until = done
        if eval_every and (done % eval_every == 0 or last):
            eval_started = time.perf_counter()
            records.evals.append((done, *task.evaluate()))
            records.eval_seconds += time.perf_counter() - eval_started
        if checkpointing and not last:
            checkpoints.save_training(
                checkpoint, identity, done, model, optimizer, records, recorder
            )
    if recorder is not None:
        recorder.remove()
    return records


def first_non_finite(losses: torch.Tensor, since: int, until: int) -> int | None:
    """The first step in since..until-1 whose loss is NaN or infinite, or None."""
    finite = torch.isfinite(losses[since:until])
    if bool(finite.all()):
        return None
    return since + int((~finite).nonzero()[0])


def log_progress(done: int, steps: int, records: Records, task: Task, since: int) -> None:
    """The mean loss (and accuracy) of steps since..done-1, the speed and the time left."""
    window = slice(since, done)
    loss = records.losses[window].mean().item()
    rate = (done - records.resumed_from) / max(time.perf_counter() - records.session_started, 1e-9)
    eta_s = (steps - done) / rate if rate > 0 else float("inf")
    accuracy = ""
    if task.counts_correct:
        right = records.correct[window].sum().item()
        accuracy = f"  acc {right / (task.examples * (done - since)):.3f}"
    log.info(
        "step %d/%d  loss %.6g%s  %.1f steps/s  ETA %s",
        done,
        steps,
        loss,
        accuracy,
        rate,
        format_seconds(eta_s),
    )


def format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
