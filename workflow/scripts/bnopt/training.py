"""One training run, of VGG-A or of the deep linear network: SGD (bnopt.optimizers), constant
learning rate, probes every few steps. The two networks differ only in their `Task` (model, loss,
batches, evaluation); the loop, logging, checkpoints, outputs and metadata are shared.

Conventions: `step` t counts the updates already applied. The training loss of step t is
measured at w_t on the step's minibatch, before update t+1; probes at step t measure at w_t
on that same minibatch; an evaluation at step t uses w_t (after t updates), at step 0,
every `eval_every` steps and at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import logging
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import finished, gpus, probes
from .errors import UserError
from .execution import Execution, device_problem
from .files import atomic_output, write_text
from .models import flops_per_image, weight_layers
from .optimizers import Optimizer, OptimizerSettings
from .tables import write_tsv
from .task import task_module

log = logging.getLogger("bnopt.training")

METRIC_COLUMNS = ["step", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]
PROBE_COLUMNS = ["step", "probe", "layer", "eta", "quantity", "value"]
UNDEFINED_AT_ZERO = ("ics_relative", "step_grad_cosine", "own_step_cosine")


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
    if settings.get("deterministic", False):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True


def autocast(settings: dict, device: torch.device):
    if settings["precision"] == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def landscape_records(model, loss_fn, x, y, etas, step, grad) -> list[tuple]:
    land = probes.landscape_probe(model, loss_fn, x, y, etas, grad=grad)
    rows = []
    for k, eta in enumerate(land.etas):
        rows += [
            (step, "landscape", None, eta, "loss", land.losses[k]),
            (step, "landscape", None, eta, "grad_diff", land.grad_diffs[k]),
            (step, "landscape", None, eta, "beta_ratio", land.beta_ratios[k]),
            (step, "landscape", None, eta, "step_grad_norm", land.step_grad_norms[k]),
            (step, "landscape", None, eta, "step_grad_cosine", land.step_grad_cosines[k]),
        ]
    return rows + [
        (step, "landscape", None, None, "grad_norm", land.grad_norm),
        (step, "landscape", None, None, "effective_beta", land.effective_beta),
    ]


def own_step_records(model, loss_fn, x, y, etas, step, grad, update, lr) -> list[tuple]:
    """The landscape along the optimiser's own step: d = update / lr, so that eta = lr is
    the step it makes and eta = m * lr the paper's multiples of it. For plain SGD d = -g
    (the paper's probe), which is why only other optimisers take it."""
    direction = torch._foreach_div(update, lr)
    land = probes.landscape_probe(model, loss_fn, x, y, etas, grad=grad, direction=direction)
    rows = []
    for k, eta in enumerate(land.etas):
        rows += [
            (step, "landscape", None, eta, "own_step_loss", land.losses[k]),
            (step, "landscape", None, eta, "own_step_grad_diff", land.grad_diffs[k]),
            (step, "landscape", None, eta, "own_step_beta_ratio", land.beta_ratios[k]),
        ]
    d_norm, g_norm = probes.flat_norm(direction), probes.flat_norm(grad)
    product = d_norm * g_norm
    cosine = -probes.flat_dot(direction, grad) / product if product > 0 else float("nan")
    return rows + [
        (step, "landscape", None, None, "own_step_norm", d_norm),  # ||update|| / lr
        (step, "landscape", None, None, "own_step_cosine", cosine),  # cos(update, -g)
    ]


def probe_records(
    model, loss_fn, x, y, lr, probe_cfg, step, grad, layers, update=None
) -> list[tuple]:
    """Rows of probes.tsv for the landscape and ICS probes at step t.

    `probe_cfg` holds eta_multipliers (none: no landscape rows) and ics_layers; `grad` is
    the step's own gradient; `update` the step another optimiser than plain SGD really makes
    (Optimizer.update), along which the landscape is probed too (update_* rows).
    """
    etas = [m * lr for m in probe_cfg["eta_multipliers"]]
    rows = landscape_records(model, loss_fn, x, y, etas, step, grad) if etas else []
    if etas and update is not None:
        rows += own_step_records(model, loss_fn, x, y, etas, step, grad, update, lr)
    every = probe_cfg.get("curvature_every", 0)
    if every and step % every == 0:
        curvature = probes.curvature_probe(
            model,
            loss_fn,
            x,
            y,
            max_iterations=probe_cfg["curvature_iterations"],
            tolerance=probe_cfg["curvature_tolerance"],
        )
        if math.isfinite(curvature.lambda_max):  # not at a zero gradient (a dead network)
            rows += [
                (step, "landscape", None, None, "directional_curvature", curvature.directional),
                (step, "landscape", None, None, "lambda_max", curvature.lambda_max),
                (step, "landscape", None, None, "lambda_min", curvature.lambda_min),
                (step, "landscape", None, None, "lanczos_iterations", curvature.iterations),
                (step, "landscape", None, None, "lanczos_converged", int(curvature.converged)),
            ]
    if probe_cfg["ics_layers"]:
        ics = probes.ics_probe(
            model, loss_fn, x, y, lr, probe_cfg["ics_layers"], grad=grad, layers=layers,
            update=update,
        )  # fmt: skip
        for r in ics:
            rows += [
                (step, "ics", r.layer, None, "ics_l2", r.l2),
                (step, "ics", r.layer, None, "ics_cosine", r.cosine),
                (step, "ics", r.layer, None, "ics_grad_norm", r.grad_norm),
                (step, "ics", r.layer, None, "ics_shifted_grad_norm", r.shifted_grad_norm),
                (step, "ics", r.layer, None, "ics_relative", r.relative),
            ]
    # A ratio of a zero gradient (a dead network) is undefined: its row is left out.
    return [r for r in rows if not (r[4] in UNDEFINED_AT_ZERO and math.isnan(r[5]))]


def optimizer_settings(settings: dict) -> OptimizerSettings:
    """Plain SGD with the run's momentum and weight decay, unless it names an optimiser."""
    chosen = dict(settings.get("optimizer") or {"name": "sgd"})
    if chosen["name"] == "sgd":
        chosen.setdefault("momentum", settings.get("momentum", 0.0))
    return OptimizerSettings(
        lr=settings["lr"], weight_decay=settings.get("weight_decay", 0.0), **chosen
    )


def probe_step(
    model, layers, settings, loss_fn, x, y, step, recorder, optimizer=None
) -> list[tuple]:
    """All probes at step t, from the training gradient held in `.grad`. With an optimiser
    other than plain SGD (momentum, weight decay, Adam), the ICS probe moves the preceding
    layers by the update it will really make this step (Optimizer.update, state untouched)."""
    grad = [p.grad for p in probes.trainable(model)]
    update = None
    if optimizer is not None and not optimizer.is_plain_sgd:
        update = optimizer.update()
    rows = probe_records(
        model, loss_fn, x, y, settings["lr"], settings["probes"], step, grad, layers, update
    )
    if recorder is not None:
        for rec in recorder.take():
            layer = rec["layer"]
            rows += [(step, "activation", layer, None, "mean", rec["mean"])]
            rows += [(step, "activation", layer, None, "var", rec["var"])]
            rows += [(step, "activation", layer, None, "sample", v) for v in rec["samples"]]
    return rows


def save_torch(path, state) -> None:
    """torch.save through an open file, atomically: errors name the path, no partial file."""
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        torch.save(state, f)


def checksum_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.sha256")


def save_checkpoint(path: Path, state: dict) -> None:
    """The checkpoint and, beside it, the sha256 of its bytes (torch checks none on load)."""
    with atomic_output(path) as tmp:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        data = buffer.getvalue()
        tmp.write_bytes(data)
    write_text(checksum_path(path), hashlib.sha256(data).hexdigest() + "\n")


def remove_checkpoint(path: Path) -> None:
    path.unlink(missing_ok=True)
    checksum_path(path).unlink(missing_ok=True)


def load_checkpoint(path: Path, device: torch.device) -> dict | None:
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
    checkpoint_path = Path(checkpoint_path or Path(outputs["meta"]).with_name("checkpoint.pt"))
    meta = finished.restore(outputs, identity) if reuse_finished else None
    if meta is not None:
        remove_checkpoint(checkpoint_path)  # if a kill came between keeping and this
        if data_info is not None and meta.get("data") != data_info:
            # The same bytes from another source (e.g. a local copy of the official archive).
            meta["data"] = data_info
            write_text(outputs["meta"], json.dumps(meta, indent=2) + "\n")
            finished.record(outputs, identity)  # the manifest holds the new meta.json
        return meta
    configure_backend(settings, execution, device)
    ctx = autocast(settings, device)
    steps, seed = settings["steps"], settings["seed"]
    checkpoint_path.parent.mkdir(parents=True, exist_ok=True)

    # Loaded by name, so that only its network's runs depend on a task module's code.
    tasks = importlib.import_module(f"bnopt.{task_module(settings.get('model', 'vgg_a'))}")
    task = tasks.task(settings, data_path, device, ctx)
    model = task.model
    layers = weight_layers(model)
    optimizer = Optimizer(model.parameters(), optimizer_settings(settings))
    probe_cfg = settings["probes"]
    probe_every = probe_cfg["every"]
    recorder = None
    if probe_every and probe_cfg["activation_layers"]:
        recorder = probes.ActivationRecorder(
            model, probe_cfg["activation_layers"], probe_cfg["activation_samples"], seed
        )
    eval_every = settings.get("eval_every") if task.evaluate is not None else None

    dtype = next(model.parameters()).dtype
    losses = torch.full((steps,), float("nan"), dtype=dtype, device=device)
    correct = torch.zeros(steps, dtype=torch.int64, device=device)
    evals: list[tuple] = []
    probe_rows: list[tuple] = []
    start, diverged_at = 0, None
    state = load_checkpoint(checkpoint_path, device)
    if state is not None:
        if state.get("identity") == identity:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start = state["next_step"]
            losses[:start] = state["losses"].to(device)
            correct[:start] = state["correct"].to(device)
            evals, probe_rows = state["evals"], state["probe_rows"]
            set_rng_state(state["rng"])
            if recorder is not None:
                recorder.generator.set_state(state["recorder_rng"])
            log.info("resumed from %s at step %d/%d", checkpoint_path, start, steps)
        else:
            log.warning(
                "ignoring %s: it was written with other settings, code or data", checkpoint_path
            )

    if start == 0 and task.evaluate is not None:
        evals.append((0, *task.evaluate()))

    session_start, session_first, eval_time = time.perf_counter(), start, 0.0
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
        losses[step] = loss.detach()
        if task.counts_correct:
            correct[step] = (out.detach().argmax(1) == y).sum()
        if probing:
            if recorder is not None:
                recorder.active = False
            with ctx:
                probe_rows += probe_step(
                    model, layers, settings, task.loss_fn, x, y, step, recorder, optimizer
                )
        optimizer.step()

        done = step + 1
        last = done == steps
        checkpointing = bool(execution.checkpoint_every) and done % execution.checkpoint_every == 0
        if done % execution.log_every == 0 or last or probing or checkpointing:
            window = losses[logged_until:done]
            finite = torch.isfinite(window)
            if not bool(finite.all()):
                diverged_at = logged_until + int((~finite).nonzero()[0])
                log.warning("non-finite training loss at step %d: run diverged", diverged_at)
                break
            if done % execution.log_every == 0 or last:
                log_progress(
                    done,
                    steps,
                    losses,
                    correct if task.counts_correct else None,
                    task.examples,
                    session_start,
                    session_first,
                    logged_until,
                )
            logged_until = done
        if eval_every and (done % eval_every == 0 or last):
            eval_started = time.perf_counter()
            evals.append((done, *task.evaluate()))
            eval_time += time.perf_counter() - eval_started
        if checkpointing and not last:
            save_checkpoint(
                checkpoint_path,
                {
                    "identity": identity,
                    "next_step": done,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "losses": losses[:done].cpu(),
                    "correct": correct[:done].cpu(),
                    "evals": evals,
                    "probe_rows": probe_rows,
                    "rng": rng_state(),
                    "recorder_rng": recorder.generator.get_state() if recorder else None,
                },
            )
    if recorder is not None:
        recorder.remove()

    recorded = diverged_at + 1 if diverged_at is not None else steps
    if diverged_at is not None:
        probe_rows = [r for r in probe_rows if r[0] < diverged_at]
        evals = [e for e in evals if e[0] <= diverged_at]
    final_loss = None
    if task.final_loss is not None and diverged_at is None:
        final_loss = task.final_loss()
    write_metrics(
        outputs["metrics"],
        losses[:recorded].cpu(),
        correct[:recorded].cpu() if task.counts_correct else None,
        task.examples,
        evals,
        final_loss,
    )
    write_table(outputs["probes"], PROBE_COLUMNS, probe_rows)
    save_torch(outputs["weights"], model.state_dict())
    session_time = time.perf_counter() - session_start - eval_time
    session_steps = (diverged_at if diverged_at is not None else steps) - session_first
    meta = run_metadata(
        settings, device, task, losses, correct, evals, diverged_at, recorded, final_loss
    )
    if task.noise_free_evaluate is not None and diverged_at is None:
        loss, accuracy = task.noise_free_evaluate()
        meta["noise_free_statistics_test"] = {"test_loss": loss, "test_accuracy": accuracy}
    meta.update(
        wall_time_s=round(time.perf_counter() - started, 3),
        steps_per_second=round(session_steps / session_time, 3) if session_time > 0 else None,
        evaluation_seconds=round(eval_time, 3),
        resumed_from_step=session_first or None,
        identity=identity,
        execution={**vars(execution), "threads": torch.get_num_threads()},
        data=data_info,
    )
    write_text(outputs["meta"], json.dumps(meta, indent=2) + "\n")
    if reuse_finished:
        finished.record(outputs, identity)
    # Only now: until the outputs are kept, an interruption resumes from the checkpoint.
    remove_checkpoint(checkpoint_path)
    return meta


def log_progress(done, steps, losses, correct, examples, t0, first, since) -> None:
    window = slice(since, done)
    loss = losses[window].mean().item()
    rate = (done - first) / max(time.perf_counter() - t0, 1e-9)
    eta_s = (steps - done) / rate if rate > 0 else float("inf")
    accuracy = ""
    if correct is not None:
        accuracy = f"  acc {correct[window].sum().item() / (examples * (done - since)):.3f}"
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


def write_table(path, columns: list[str], rows: list[tuple]) -> None:
    write_tsv(pd.DataFrame(rows, columns=columns), path)


def write_metrics(path, losses, correct, examples, evals, final_loss=None) -> None:
    """One row per step (training loss and, for a classifier, accuracy), the test metrics at
    the steps evaluated, and a row `steps` after the last update (evaluation or final loss)."""
    test = {step: (loss, acc) for step, loss, acc in evals}
    rows = []
    for step in range(len(losses)):
        test_loss, test_acc = test.get(step, (None, None))
        accuracy = int(correct[step]) / examples if correct is not None else None
        rows.append((step, float(losses[step]), accuracy, test_loss, test_acc))
    last = len(losses)
    if last in test or final_loss is not None:
        rows.append((last, final_loss, None, *test.get(last, (None, None))))
    write_table(path, METRIC_COLUMNS, rows)


def run_metadata(
    settings, device, task, losses, correct, evals, diverged_at, recorded, final_loss
) -> dict:
    """A classifier's final training loss and accuracy are means over its last 100 steps;
    a full-batch task's final loss is the one after the last update (or the last finite)."""
    window = slice(max(0, recorded - 100), recorded)
    if task.final_loss is not None:
        finite = losses[:recorded][torch.isfinite(losses[:recorded])]
        last_finite = finite[-1].item() if len(finite) else None
        final_train_loss = final_loss if final_loss is not None else last_finite
    else:
        final_train_loss = losses[window].double().mean().item()
    final_acc = None
    if task.counts_correct:
        final_acc = correct[window].sum().item() / (task.examples * (window.stop - window.start))
    last_eval = evals[-1] if evals else (None, None, None)
    return {
        **{k: settings[k] for k in ("run", "normalization", "lr", "seed")},
        "model": settings.get("model", "vgg_a"),
        "settings": settings,
        "steps": settings["steps"],
        "steps_done": diverged_at if diverged_at is not None else settings["steps"],
        "diverged": diverged_at is not None,
        "diverged_at": diverged_at,
        "final_train_loss": final_train_loss,
        "final_train_accuracy": final_acc,
        "final_test_step": last_eval[0],
        "final_test_loss": last_eval[1],
        "final_test_accuracy": last_eval[2],
        "device": device_name(device),
        "precision": settings["precision"],
        "flops_per_image": flops_per_image(task.model) if task.counts_correct else None,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "cuda": torch.version.cuda,
        },
    }


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    unit = "thread" if threads == 1 else "threads"
    return f"cpu ({platform.processor() or platform.machine()}, {threads} {unit})"
