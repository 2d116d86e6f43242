"""The rows of a run's probes.tsv: the probes of bnopt.probes at a training step, as
(step, probe, layer, eta, quantity, value) rows."""

from __future__ import annotations

import math

import torch

from . import probes
from .probe_names import CURVATURE_QUANTITIES, PRECONDITIONED, RELATIVE

PROBE_COLUMNS = ["step", "probe", "layer", "eta", "quantity", "value"]
UNDEFINED_AT_ZERO = ("ics_relative", "step_grad_cosine", "own_step_cosine")


def activation_recorder(model, settings: dict) -> probes.ActivationRecorder | None:
    """The recorder of the activation probe, when the run probes any activation."""
    probe_cfg = settings["probes"]
    if not (probe_cfg["every"] and probe_cfg["activation_layers"]):
        return None
    return probes.ActivationRecorder(
        model, probe_cfg["activation_layers"], probe_cfg["activation_samples"], settings["seed"]
    )


def initial_weights(layers, settings: dict) -> list[torch.Tensor] | None:
    """A copy of every weight layer's weight W_0, when the run probes its weights (taken
    before a checkpoint is loaded: the network is built from its seed, so this is W_0 on a
    resumed run too)."""
    if not settings["probes"].get("weights"):
        return None
    return [layer.weight.detach().clone() for layer in layers]


def weight_records(model, layers, initial, step, grad, update, lr) -> list[tuple]:
    """Per weight layer at step t: ‖W_t‖, ‖W_t − W_0‖ and the angle (radians) between W_t
    and W_{t+1} = W_t + u, u the step's update of the weight (−lr g for plain SGD)."""
    index = {id(p): k for k, p in enumerate(probes.trainable(model))}
    rows = []
    for layer, start in zip(layers, initial, strict=True):
        weight = layer.weight.detach().double()
        k = index[id(layer.weight)]
        change = update[k].double() if update is not None else -lr * grad[k].double()
        after = weight + change
        norm, after_norm = weight.norm(), after.norm()
        cosine = float((weight * after).sum() / (norm * after_norm)) if norm * after_norm else 1.0
        rows += [
            (step, "weights", layer.number, None, "weight_norm", float(norm)),
            (step, "weights", layer.number, None, "distance_from_init",
             float((weight - start.double()).norm())),
            (step, "weights", layer.number, None, "angular_update",
             math.acos(min(1.0, max(-1.0, cosine)))),
        ]  # fmt: skip
    return rows


def probe_step(
    model, layers, settings, loss_fn, x, y, step, recorder, optimizer=None, initial=None
) -> list[tuple]:
    """All probes at step t, from the training gradient held in `.grad`. With an optimiser
    other than plain SGD (momentum, weight decay, Adam), the ICS probe moves the preceding
    layers by the update it will really make this step (Optimizer.update, state untouched).
    `initial`: the weights W_0 (initial_weights), when the run probes its weights."""
    grad = [p.grad for p in probes.trainable(model)]
    update = None
    if optimizer is not None and not optimizer.is_plain_sgd:
        update = optimizer.update()
    rows = probe_records(
        model, loss_fn, x, y, settings["lr"], settings["probes"], step, grad, layers, update,
        optimizer,
    )  # fmt: skip
    if initial is not None:
        rows += weight_records(model, layers, initial, step, grad, update, settings["lr"])
    if recorder is not None:
        for rec in recorder.take():
            layer = rec["layer"]
            rows += [(step, "activation", layer, None, "mean", rec["mean"])]
            rows += [(step, "activation", layer, None, "var", rec["var"])]
            rows += [(step, "activation", layer, None, "sample", v) for v in rec["samples"]]
    return rows


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


def outlier_records(model, loss_fn, x, y, probe_cfg, step) -> list[tuple]:
    """The gradient's share in the top-k Hessian eigenspace (Ghorbani et al. 2019) with the
    batch's statistics and, for a network with running statistics (BatchNorm), with them
    (population statistics, eval mode): one Lanczos run each, its start drawn from the step."""
    modes = [False]
    if any(getattr(m, "running_mean", None) is not None for m in model.modules()):
        modes.append(True)
    rows = []
    for population in modes:
        result = probes.gradient_concentration(
            model, loss_fn, x, y, k=probe_cfg["outlier_k"],
            iterations=probe_cfg["outlier_iterations"], seed=step, population=population,
        )  # fmt: skip
        if not result.top:  # a zero gradient: no share
            continue
        mode = "_population" if population else ""
        rows += [
            (step, "outliers", None, None, f"topk_share{mode}", result.share),
            (step, "outliers", None, None, f"top_eigenvalue{mode}", result.top[0]),
            (step, "outliers", None, None, f"kth_eigenvalue{mode}", result.top[-1]),
        ]
    return rows


def relative_scale(model, layers) -> list[torch.Tensor]:
    """D of the weight layers' Hessian per unit of relative perturbation (w = D z): ‖W_l‖
    on each weight layer's weight, 0 on every other parameter (biases, normalisers' scales
    and shifts). A layer followed by BatchNorm is scale-invariant, f(cW) = f(W), so its
    block of H scales as 1 / c² and D H D does not change (Li & Arora 2020)."""
    norms = {id(layer.weight): layer.weight.detach().norm() for layer in layers}
    return [
        norms.get(id(p), torch.zeros((), dtype=p.dtype, device=p.device))
        for p in probes.trainable(model)
    ]


def curvature_records(model, loss_fn, x, y, lr, probe_cfg, step, layers, optimizer):
    """The curvature probe at step t: of H (unprefixed rows), and the stability threshold
    of the run's optimiser for the curvature it sees; with Adam also of P^-1 H
    (preconditioned_ rows, Cohen et al. 2022); with the weights probe also of the weight
    layers' Hessian per relative perturbation (relative_ rows)."""
    scales = {"": None}
    preconditioner = optimizer.preconditioner_scale() if optimizer is not None else None
    if preconditioner is not None:
        scales[PRECONDITIONED] = preconditioner
    if probe_cfg.get("weights"):
        scales[RELATIVE] = relative_scale(model, layers)
    rows = []
    for prefix, scale in scales.items():
        result = probes.curvature_probe(
            model, loss_fn, x, y, max_iterations=probe_cfg["curvature_iterations"],
            tolerance=probe_cfg["curvature_tolerance"], scale=scale,
        )  # fmt: skip
        if not math.isfinite(result.lambda_max):  # a zero gradient (a dead network)
            continue
        values = (
            result.directional, result.lambda_max, result.lambda_min, result.iterations,
            int(result.converged),
        )  # fmt: skip
        rows += [
            (step, "landscape", None, None, f"{prefix}{quantity}", value)
            for quantity, value in zip(CURVATURE_QUANTITIES, values, strict=True)
        ]
    threshold = optimizer.stability_threshold() if optimizer is not None else 2.0 / lr
    if rows and math.isfinite(threshold):
        rows.append((step, "landscape", None, None, "stability_threshold", threshold))
    return rows


def probe_records(
    model, loss_fn, x, y, lr, probe_cfg, step, grad, layers, update=None, optimizer=None
) -> list[tuple]:
    """Rows of probes.tsv for the landscape, curvature and ICS probes at step t.

    `probe_cfg` holds eta_multipliers (none: no landscape rows) and ics_layers; `grad` is
    the step's own gradient; `update` the step another optimiser than plain SGD really makes
    (Optimizer.update), along which the landscape is probed too (update_* rows); `optimizer`
    the run's (bnopt.optimizers.Optimizer), for its stability threshold and preconditioner.
    """
    etas = [m * lr for m in probe_cfg["eta_multipliers"]]
    rows = landscape_records(model, loss_fn, x, y, etas, step, grad) if etas else []
    if etas and update is not None:
        rows += own_step_records(model, loss_fn, x, y, etas, step, grad, update, lr)
    every = probe_cfg.get("curvature_every", 0)
    curvature_step = bool(every) and step % every == 0
    if curvature_step:
        rows += curvature_records(model, loss_fn, x, y, lr, probe_cfg, step, layers, optimizer)
    if curvature_step and probe_cfg.get("outlier_k"):
        rows += outlier_records(model, loss_fn, x, y, probe_cfg, step)
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
