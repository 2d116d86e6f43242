"""The edge of stability for every optimiser and the weight-norm-corrected sharpness (issue 26,
items 1 and 2): each optimiser's stability threshold against its own iteration on a
quadratic, Adam's preconditioner against its update, the curvature of D H D against a dense
Hessian, its invariance under rescaling a scale-invariant layer, and the claims and figures
that read them."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from test_outliers import dense
from torch import nn

from bnopt import probe_records, probes
from bnopt.claims import CONTRADICTED, NOT_MEASURABLE, SUPPORTED
from bnopt.claims.stability import judge_batch_sharpness
from bnopt.claims.weights import judge_relative_sharpness
from bnopt.models import weight_layers
from bnopt.optimizers import Optimizer, OptimizerSettings
from bnopt.plots.stability import edge_of_stability
from bnopt.plots.weights import relative_sharpness
from bnopt.quantities import seen_sharpness


def final_size(settings: OptimizerSettings, curvature: float, steps: int = 600) -> float:
    """|w| after `steps` of the optimiser on f(w) = curvature w² / 2 from w = 1."""
    w = nn.Parameter(torch.ones(1, dtype=torch.float64))
    optimizer = Optimizer([w], settings)
    for _ in range(steps):
        w.grad = curvature * w.detach().clone()
        optimizer.step()
    return float(w.detach().abs())


@pytest.mark.parametrize(
    "settings, expected",
    [
        (OptimizerSettings(lr=0.1), 20.0),  # 2 / lr
        (OptimizerSettings(lr=0.1, momentum=0.9), 38.0),  # (2 + 2 mu) / lr
        (OptimizerSettings(lr=0.05, momentum=0.5, weight_decay=0.5), 59.5),  # 60 - wd
    ],
)
def test_the_sgd_threshold_is_where_the_iteration_on_a_quadratic_turns_unstable(settings, expected):
    threshold = Optimizer([], settings).stability_threshold()
    assert threshold == pytest.approx(expected)
    assert final_size(settings, 0.98 * threshold) < 1e-3
    assert final_size(settings, 1.02 * threshold) > 1e3


def test_adams_threshold_bounds_the_preconditioned_iteration_on_a_quadratic():
    """Adam's averaged momentum with its preconditioner P held fixed, on f = wᵀHw / 2 with
    P⁻¹H of top eigenvalue λ: stable below (2 + 2 beta1) / (lr (1 - beta1)), not above."""
    settings = OptimizerSettings(name="adam", lr=0.01, beta1=0.9)
    threshold = Optimizer([], settings).stability_threshold()
    assert threshold == pytest.approx(38 / 0.01)
    assert math.isnan(Optimizer([], OptimizerSettings(name="adam", weight_decay=0.1))
                      .stability_threshold())  # fmt: skip
    p = torch.tensor([0.5, 2.0], dtype=torch.float64)

    def size_after(top: float) -> float:
        hessian = torch.diag(torch.tensor([top * 0.5, 0.3 * top * 2.0], dtype=torch.float64))
        w, m = torch.ones(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
        for _ in range(2000):
            m = settings.beta1 * m + (1 - settings.beta1) * (hessian @ w)
            w = w - settings.lr * m / p
        return float(w.abs().max())

    assert size_after(0.98 * threshold) < 1e-3
    assert size_after(1.02 * threshold) > 1e3


def test_adams_preconditioner_is_the_one_its_update_divides_by():
    """Optimizer.update() = -lr P⁻¹ m after this step's moment, with D = P^(-1/2)."""
    torch.manual_seed(0)
    params = [nn.Parameter(torch.randn(3, 2, dtype=torch.float64)) for _ in range(2)]
    settings = OptimizerSettings(name="adam", lr=0.01, beta1=0.8, beta2=0.95, eps=1e-3)
    optimizer = Optimizer(params, settings)
    assert Optimizer(params, OptimizerSettings()).preconditioner_scale() is None
    for _ in range(4):
        for p in params:
            p.grad = torch.randn_like(p)
        before = optimizer.buffers.get("exp_avg", [torch.zeros_like(p) for p in params])
        m = [
            settings.beta1 * b + (1 - settings.beta1) * p.grad
            for b, p in zip(before, params, strict=True)
        ]
        scale = optimizer.preconditioner_scale()
        update = optimizer.update()
        for u, d, moment in zip(update, scale, m, strict=True):
            torch.testing.assert_close(u, -settings.lr * d**2 * moment, rtol=1e-12, atol=0)
        optimizer.step()


def tiny_problem(seed: int = 1):
    """A network whose first layer is followed by BatchNorm (no bias, and a negligible eps:
    scale-invariant to float64 rounding)."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4, eps=1e-30), nn.Tanh(), nn.Linear(4, 2)
    ).double()
    x, y = torch.randn(12, 3, dtype=torch.float64), torch.randint(0, 2, (12,))
    return model, x, y


def test_the_scaled_curvature_is_that_of_d_h_d_from_a_dense_hessian():
    model, x, y = tiny_problem()
    hessian, g = dense(model, x, y, population=False)
    torch.manual_seed(5)
    scale = [torch.rand_like(p) + 0.5 for p in model.parameters()]
    d = torch.cat([s.flatten() for s in scale])
    operator = d[:, None] * hessian * d[None, :]
    values = torch.linalg.eigvalsh(operator)
    dg = d * g
    result = probes.curvature_probe(
        model, nn.functional.cross_entropy, x, y, max_iterations=len(d), tolerance=0.0,
        scale=scale,
    )  # fmt: skip
    assert result.lambda_max == pytest.approx(float(values[-1]), abs=1e-9)
    assert result.lambda_min == pytest.approx(float(values[0]), abs=1e-9)
    assert result.directional == pytest.approx(float(dg @ operator @ dg / (dg @ dg)), abs=1e-12)


def relative_curvature(model, x, y):
    scale = probe_records.relative_scale(model, weight_layers(model))
    size = sum(p.numel() for p in model.parameters())
    return probes.curvature_probe(
        model, nn.functional.cross_entropy, x, y, max_iterations=size, tolerance=0.0,
        scale=scale,
    )  # fmt: skip


def test_the_relative_curvature_does_not_change_when_a_scale_invariant_layer_is_rescaled():
    model, x, y = tiny_problem()
    raw = probes.curvature_probe(model, nn.functional.cross_entropy, x, y, max_iterations=40)
    relative = relative_curvature(model, x, y)
    with torch.no_grad():
        model[0].weight.mul_(3.0)  # the loss is the same function (BatchNorm follows)
    rescaled_raw = probes.curvature_probe(
        model, nn.functional.cross_entropy, x, y, max_iterations=40
    )
    rescaled = relative_curvature(model, x, y)
    assert rescaled.lambda_max == pytest.approx(relative.lambda_max, rel=1e-8)
    assert rescaled.directional == pytest.approx(relative.directional, rel=1e-8)
    # the raw λ_max moves (the first layer's block of H shrank by 1 / 9; the others did not)
    assert rescaled_raw.lambda_max < 0.9 * raw.lambda_max


def test_curvature_records_hold_the_threshold_and_the_other_operators_rows():
    model, x, y = tiny_problem()
    layers = weight_layers(model)
    cfg = {"curvature_iterations": 5, "curvature_tolerance": 1e-3, "weights": False}
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()

    def quantities(optimizer, weights=False):
        rows = probe_records.curvature_records(
            model, nn.functional.cross_entropy, x, y, 0.1, {**cfg, "weights": weights}, 7,
            layers, optimizer,
        )  # fmt: skip
        return {quantity: value for _, _, _, _, quantity, value in rows}

    sgd = quantities(Optimizer(model.parameters(), OptimizerSettings(lr=0.1, momentum=0.9)))
    assert sgd["stability_threshold"] == pytest.approx(38.0)
    assert not any(q.startswith(("preconditioned_", "relative_")) for q in sgd)
    adam = quantities(Optimizer(model.parameters(), OptimizerSettings(name="adam", lr=0.1)))
    assert adam["stability_threshold"] == pytest.approx(380.0)
    assert adam["preconditioned_lambda_max"] != adam["lambda_max"]
    relative = quantities(Optimizer(model.parameters(), OptimizerSettings(lr=0.1)), True)
    assert relative["stability_threshold"] == pytest.approx(20.0)
    assert "relative_lambda_max" in relative and "preconditioned_lambda_max" not in relative


def curvature_table(runs: dict, steps=(0, 100, 200, 300)) -> pd.DataFrame:
    """{(normalization, optimiser prefix): (sharpness per step by seed, threshold)}; Adam
    runs also carry a raw sharpness ten times their preconditioned one."""
    rows = []
    for (normalization, prefix), (values, threshold) in runs.items():
        for seed, series in enumerate(values):
            run = f"{prefix}{normalization}_lr0.1_seed{seed}"
            for step, value in zip(steps, series, strict=True):
                quantities = [("directional_curvature", value), ("lambda_max", 2 * value),
                              ("stability_threshold", threshold)]  # fmt: skip
                if prefix == "adam_":
                    quantities = [("preconditioned_directional_curvature", value),
                                  ("preconditioned_lambda_max", 2 * value),
                                  ("directional_curvature", 10 * value),
                                  ("lambda_max", 20 * value),
                                  ("stability_threshold", threshold)]  # fmt: skip
                rows += [{"run": run, "normalization": normalization, "lr": 0.1, "seed": seed,
                          "step": step, "quantity": q, "value": v, "layer": np.nan,
                          "eta": np.nan, "diverged_at": np.nan} for q, v in quantities]  # fmt: skip
    return pd.DataFrame(rows)


METRICS = pd.DataFrame(
    [{"run": "none_lr0.1_seed0", "normalization": "none", "lr": 0.1, "seed": 0, "step": s,
      "quantity": "train_loss", "value": 1.0, "layer": np.nan, "eta": np.nan,
      "diverged_at": np.nan} for s in (0, 399)]
)  # fmt: skip


def test_the_sharpness_is_judged_against_each_runs_own_threshold():
    # 30 is above plain SGD's 2 / lr = 20 but below momentum 0.9's 38
    under_momentum = {("none", "momentum_"): ([[30, 30, 31, 29], [30, 29, 30, 31]], 38.0)}
    assert judge_batch_sharpness(METRICS, curvature_table(under_momentum)).outcome == SUPPORTED
    under_sgd = {("none", ""): ([[30, 30, 31, 29], [30, 29, 30, 31]], 20.0)}
    assert judge_batch_sharpness(METRICS, curvature_table(under_sgd)).outcome == CONTRADICTED
    # Adam: the preconditioned sharpness (below 380), not the raw one (ten times it)
    adam = {("none", "adam_"): ([[300, 300, 310, 290], [300, 290, 300, 310]], 380.0)}
    assert judge_batch_sharpness(METRICS, curvature_table(adam)).outcome == SUPPORTED
    seen = seen_sharpness(curvature_table(adam), "directional_curvature")
    assert (seen["value"] < 380).all() and (seen["threshold"] == 380).all()
    no_threshold = curvature_table(under_sgd)
    no_threshold = no_threshold[no_threshold["quantity"] != "stability_threshold"]
    assert judge_batch_sharpness(METRICS, no_threshold).outcome == NOT_MEASURABLE


def test_the_edge_of_stability_figure_draws_sharpness_over_each_runs_threshold():
    table = curvature_table({("none", "momentum_"): ([[19, 38, 38, 38]], 38.0),
                             ("batch", "adam_"): ([[190, 380, 380, 190]], 380.0)})  # fmt: skip
    fig = edge_of_stability(METRICS, table)
    left = fig.axes[0]
    lines = {line.get_gid(): line for line in left.get_lines()}
    np.testing.assert_allclose(lines["none|0.1"].get_ydata(), [0.5, 1, 1, 1])
    np.testing.assert_allclose(lines["batch|0.1"].get_ydata(), [0.5, 1, 1, 0.5])
    legend = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "the optimiser's stability threshold" in legend


def relative_table(standard: float, batch: float, steps=(0, 50, 100, 150, 200)) -> pd.DataFrame:
    """relative_lambda_max per step: Standard's and BN's (two seeds); raw λ_max 1 / 10."""
    rows = []
    for normalization, level in (("none", standard), ("batch", batch)):
        for seed in (0, 1):
            for step in steps:
                value = level * (1 + 0.05 * seed + 0.01 * step / 50)
                for quantity, v in (("relative_lambda_max", value), ("lambda_max", value / 10)):
                    rows.append({"run": f"{normalization}_lr0.1_seed{seed}",
                                 "normalization": normalization, "lr": 0.1, "seed": seed,
                                 "step": step, "quantity": quantity, "value": v,
                                 "layer": np.nan, "eta": np.nan,
                                 "diverged_at": np.nan})  # fmt: skip
    return pd.DataFrame(rows)


def test_the_relative_sharpness_claim_compares_bn_with_standard_in_early_training():
    assert judge_relative_sharpness(METRICS, relative_table(10.0, 2.0)).outcome == SUPPORTED
    assert judge_relative_sharpness(METRICS, relative_table(2.0, 10.0)).outcome == CONTRADICTED
    only_raw = relative_table(10.0, 2.0)
    only_raw = only_raw[only_raw["quantity"] == "lambda_max"]
    assert judge_relative_sharpness(METRICS, only_raw).outcome == NOT_MEASURABLE


def test_the_relative_sharpness_figure_draws_both_sharpnesses_with_the_window():
    fig = relative_sharpness(METRICS, relative_table(10.0, 2.0))
    raw, relative = fig.axes[:2]
    for ax, scale in ((raw, 0.1), (relative, 1.0)):
        lines = {line.get_gid(): line for line in ax.get_lines()}
        assert lines["none|0.1"].get_ydata()[0] == pytest.approx(10.0 * scale * 1.025)
        assert ax.get_yscale() == "log"
        spans = [p for p in ax.patches if p.get_gid() == "early-window"]
        assert len(spans) == 1 and spans[0].get_width() == pytest.approx(100.0)
