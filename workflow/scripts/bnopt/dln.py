"""The deep linear network experiment (paper Figs 3b, 5b, 9, 10; protocol section 7).

Minimise ||W_depth ... W_1 X - A X||_F^2, summed over the samples, by full-batch gradient
descent (plain, no momentum) from a Glorot initialisation; no biases. The variants put a
normalisation (BatchNorm over the whole batch, or an l_p normalisation) after layers
1..depth-1, never after the last one, and no nonlinearity anywhere. The paper's probes run
every `probes_every` steps on the full batch with this loss.

Conventions follow the VGG training (bnopt.training): `step` t counts the updates already
applied; the loss of step t is measured at w_t, and probes at step t measure at w_t before
update t+1. Because every step sees the whole data set, the metrics also hold the exact
loss after the last update (row `steps`).

Everything runs on the CPU, in float32 unless `precision` is fp64. Measured at the paper's
settings (seed 0): a step at lr 1e-6 changes the weights far above float32 resolution (they
move by 0.2-0.9 over a run); float32 and float64 runs agree to ~1e-6 in the loss where the
dynamics are stable (Standard at lr 1e-7, all 10,000 steps) and part where gradient descent
reaches the edge of stability (Standard at lr 1e-6 from its loss spike at step ~85; BN
slowly), which is chaotic in any precision; final losses agree within 0.1 %, BN's effective
beta within a few percent, and the claim verdicts are the same. float64 costs the same on a
CPU.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import time

import numpy as np
import torch
from torch import nn

from . import finished, probes
from .files import write_text
from .models import make_norm, weight_layers
from .training import METRIC_COLUMNS, PROBE_COLUMNS, format_seconds, probe_records, write_table

log = logging.getLogger("bnopt.dln")

DTYPES = {"fp32": torch.float32, "fp64": torch.float64}
PROGRESS_LINES = 10
# Tidy tables of the experiment (no activations: the DLN has no nonlinearity to sample).
DLN_FAMILIES = ("metrics", "ics", "landscape", "predictiveness", "beta")


def build_dln(
    normalization: str = "none", depth: int = 25, dim: int = 10, dtype=torch.float32
) -> nn.Sequential:
    """depth bias-free dim x dim linear layers, a normalisation after all but the last.

    Glorot-uniform weights from the global RNG (seed it first). Modules are registered in
    forward order, so bnopt.models.weight_layers finds one layer per Linear with its norm.
    """
    modules: list[nn.Module] = []
    for number in range(1, depth + 1):
        linear = nn.Linear(dim, dim, bias=False)
        nn.init.xavier_uniform_(linear.weight)
        modules.append(linear)
        norm = make_norm(normalization, dim, 2) if number < depth else None
        if norm is not None:
            modules.append(norm)
    return nn.Sequential(*modules).to(dtype)


def make_problem(
    seed: int, n: int = 1000, dim: int = 10, dtype=torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """X (n samples of a standard Gaussian, one per row) and the targets A x of each sample.

    A is a dim x dim standard Gaussian matrix. Rows are samples, so the targets are X A^T
    and a model's output X W_1^T ... W_depth^T is compared with them row by row. Drawn and
    multiplied in float64, then cast, so the problem does not depend on the precision.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=generator, dtype=torch.float64)
    a = torch.randn(dim, dim, generator=generator, dtype=torch.float64)
    return x.to(dtype), (x @ a.T).to(dtype)


def dln_loss(out: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Squared Frobenius norm of the residual, summed over samples and outputs."""
    return ((out - targets) ** 2).sum()


def full_gradient(model: nn.Module, x, targets) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The loss at the current weights and its gradient over all trainable parameters."""
    loss = dln_loss(model(x), targets)
    grad = torch.autograd.grad(loss, probes.trainable(model))
    return loss.detach(), list(grad)


def descent_step(params: list[nn.Parameter], grad: list[torch.Tensor], lr: float) -> None:
    """Plain gradient descent: every parameter W <- W - lr * grad W."""
    with torch.no_grad():
        torch._foreach_add_(params, grad, alpha=-lr)


def probe_rows(model, layers, settings: dict, x, targets, step: int, grad) -> list[tuple]:
    """The probes at step t, as rows of probes.tsv (the quantities of training.probe_step)."""
    return probe_records(model, dln_loss, x, targets, settings["lr"], settings, step, grad, layers)


def metric_rows(losses: list[float]) -> list[tuple]:
    """metrics.tsv rows: the full-batch loss per step; no accuracy, no test set."""
    return [(step, loss, None, None, None) for step, loss in enumerate(losses)]


def train_dln(settings: dict, outputs: dict, code_files=(), reuse_finished=True) -> dict:
    """Train one deep linear network and write metrics.tsv, probes.tsv and meta.json.

    `outputs` maps metrics, probes and meta to paths; `settings` is bnopt.runs.dln_settings(...).
    A non-finite loss ends the run: it is recorded as diverged at that step and everything
    up to it is written. A finished run with the same settings and code is restored instead
    of trained again (bnopt.finished). Returns the metadata written.
    """
    started = time.perf_counter()
    identity = finished.run_identity(settings, "cpu", code_files=code_files)
    restored = finished.restore(outputs, identity) if reuse_finished else None
    if restored is not None:
        return restored
    torch.set_num_threads(max(1, int(settings.get("threads", 1))))
    steps, lr, seed = settings["steps"], settings["lr"], settings["seed"]
    probes_every = settings["probes_every"]
    dtype = DTYPES[settings["precision"]]
    x, targets = make_problem(seed, settings["samples"], settings["dim"], dtype)
    torch.manual_seed(seed)
    model = build_dln(settings["normalization"], settings["depth"], settings["dim"], dtype)
    model.train()
    layers = weight_layers(model)
    params = probes.trainable(model)
    log_every = max(1, steps // PROGRESS_LINES)

    losses: list[float] = []
    rows: list[tuple] = []
    diverged_at = None
    loop_start = time.perf_counter()
    for step in range(steps):
        loss, grad = full_gradient(model, x, targets)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            diverged_at = step
            log.warning("non-finite loss at step %d: run diverged", step)
            break
        if probes_every and step % probes_every == 0:
            rows += probe_rows(model, layers, settings, x, targets, step, grad)
        descent_step(params, grad, lr)
        if (step + 1) % log_every == 0:
            log_progress(step + 1, steps, losses[-1], loop_start)
    loop_time = time.perf_counter() - loop_start
    if diverged_at is None:
        with torch.no_grad():
            losses.append(dln_loss(model(x), targets).item())

    write_table(outputs["metrics"], METRIC_COLUMNS, metric_rows(losses))
    write_table(outputs["probes"], PROBE_COLUMNS, rows)
    steps_done = diverged_at if diverged_at is not None else steps
    meta = {
        **{k: settings[k] for k in ("run", "normalization", "lr", "seed")},
        "steps": steps,
        "steps_done": steps_done,
        "diverged": diverged_at is not None,
        "diverged_at": diverged_at,
        "final_train_loss": final_loss(losses),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "steps_per_second": round(steps_done / loop_time, 3) if loop_time > 0 else None,
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "precision": settings["precision"],
        "settings": settings,
        "identity": identity,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
    }
    write_text(outputs["meta"], json.dumps(meta, indent=2) + "\n")
    if reuse_finished:
        finished.record(outputs, identity)
    return meta


def final_loss(losses: list[float]) -> float | None:
    """The last finite loss: after the last update, or just before a divergence."""
    finite = [loss for loss in losses if math.isfinite(loss)]
    return finite[-1] if finite else None


def log_progress(done: int, steps: int, loss: float, started: float) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    log.info(
        "step %d/%d  loss %.6g  %.1f steps/s  ETA %s",
        done,
        steps,
        loss,
        rate,
        format_seconds((steps - done) / rate),
    )
