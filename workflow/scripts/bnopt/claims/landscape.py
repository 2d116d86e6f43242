"""Claims of the paper's Fig 4: early in training, along the gradient, BN's loss rises less,
its gradient is more predictive and its effective β-smoothness is lower.

Each compares the BN run with the Standard run of the same lr and seed at every probed step
of early training (quantities.EARLY_WINDOW_RULE), on the quantity the figure draws, one judged
part per learning rate (every panel of the figure is judged).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .. import quantities
from ..catalog import format_lr
from ..quantities import BATCHNORM, PAPER_ETA, STANDARD
from .verdict import LOWER, Verdict, agree, all_of, combine, judge_part

PAPER_GRID = f"η in [{PAPER_ETA[0]:g}, {PAPER_ETA[1]:g}] × lr (the paper's range)"
PEAKS = (
    "Both the typical value (mean over the window's steps) and the peak (the window's "
    "largest value) are judged, since the paper points at the standard network's spikes; "
    "the claim is supported only if both are"
)

LOSS_RISE_RULE = (
    f"{quantities.EARLY_WINDOW_RULE}. At each probed step: the rise of the loss along −g, max over "
    f"{PAPER_GRID} of L(w − ηg) − L(w), 0 where the loss falls at every η (drawn in "
    "fig5_loss_landscape's lower row). The upper edge is read, not the band's width: the paper "
    "points at the loss jumping up when the step is too long, while a steep fall along −g is "
    "the step doing its job and makes the band wide without any roughness. BN's minus "
    f"Standard's, same lr and seed; the paper puts BN below. {PEAKS}"
)
GRAD_CHANGE_RULE = (
    f"{quantities.EARLY_WINDOW_RULE}. At each probed step: the upper edge of the band fig6 draws, "
    f"max over {PAPER_GRID} of ‖∇L(w − ηg) − g‖₂; log10 of BN's / Standard's, same lr and "
    f"seed; the paper puts BN below. {PEAKS}"
)
BETA_RULE = (
    f"{quantities.EARLY_WINDOW_RULE}. At each probed step: log10 of BN's / Standard's effective β "
    "(max over the whole η grid of ‖∇L(w − ηg) − g‖₂ / ‖ηg‖₂, as fig7 draws it), read twice: "
    "over all steps, and without the steps at which either run had overshot already at the "
    f"smallest η (‖Δg‖ >= {quantities.OVERSHOOT:g} ‖g‖; there β reads about 1/η_min whatever the "
    "curvature, protocol section 4; beta_and_curvature draws the overshoot); if the two "
    "readings differ the claim is inconclusive. Beside it, the curvature β stands for: log10 "
    "of BN's / Standard's λ_max (top Hessian eigenvalue) at the curvature steps of the window. "
    "The paper puts BN below in both; supported only if both are"
)


def lrs_of(rows: pd.DataFrame) -> list[float]:
    return quantities.shared_lrs(rows) or []


def typical_and_peak(units: dict, what: str, log10: bool, window: str) -> list:
    unit = "log10(BN / Standard)" if log10 else "BN's minus Standard's"
    return [
        judge_part(
            f"typical {what}, {window}",
            f"mean over the window's probed steps of {unit} {what}",
            LOWER, units, "mean", log10,
        ),
        judge_part(
            f"peak {what}, {window}",
            f"{unit} of the window's largest {what}",
            LOWER, units, "peak", log10,
        ),
    ]  # fmt: skip


def window_text(end: float, lr: float) -> str:
    return f"steps before {end:g}, lr {format_lr(lr)}"


def no_pair(what: str) -> Verdict:
    return all_of(
        [judge_part(what, what, LOWER, {}, missing="no Standard and BN runs probed in both")]
    )


def early_typical_and_peak(metrics, rows, what: str, log10: bool, **per_step) -> Verdict:
    """BN against Standard in early training, at every lr probed in both: typical and peak."""
    end = quantities.early_end(metrics, rows)
    lrs = lrs_of(rows)
    if not lrs:
        return no_pair(what)
    parts = []
    for lr in lrs:
        units = quantities.paired(rows, BATCHNORM, STANDARD, lrs=[lr], end=end, **per_step)
        parts += typical_and_peak(units, what, log10, window_text(end, lr))
    return all_of(parts)


def judge_loss_rise(metrics: pd.DataFrame, landscape: pd.DataFrame) -> Verdict:
    rise = quantities.loss_rise(landscape, metrics)
    return early_typical_and_peak(metrics, rise, "rise of the loss along −g", False)


def judge_grad_change(metrics: pd.DataFrame, predictiveness: pd.DataFrame) -> Verdict:
    rows = quantities.finite_rows(predictiveness, "grad_diff")
    return early_typical_and_peak(
        metrics, rows, "gradient change ‖Δg‖", True, per_step=quantities.upper_edge
    )


def beta_readings(beta_rows, saturation, lr, end, window, first, second, name):
    """β of `first` against `second` at one lr: all steps, and without saturated steps."""
    all_steps = quantities.paired(beta_rows, first, second, lrs=[lr], end=end)
    # A (seed, step) is left out when either run saturated at it.
    flagged = saturation[
        saturation["normalization"].isin((first, second))
        & np.isclose(saturation["lr"].astype(float), lr)
        & saturation["saturated"].astype(bool)
    ]
    dropped = set(zip(flagged["seed"], flagged["step"].astype(float), strict=True))
    keep = [
        (seed, step) not in dropped
        for seed, step in zip(beta_rows["seed"], beta_rows["step"].astype(float), strict=True)
    ]
    kept = quantities.paired(beta_rows[keep], first, second, lrs=[lr], end=end)
    left_out = sum(len(a) for a, _ in all_steps.values()) - sum(len(a) for a, _ in kept.values())
    text = f"mean over the window's probed steps of log10({name}) of the effective β"
    everything = judge_part(f"{name} effective β, {window}", text, LOWER, all_steps, log10=True)
    if not left_out:
        return all_of([everything])
    readings = [
        replace(everything, name=f"{everything.name}, all steps"),
        judge_part(
            f"{name} effective β, {window}, without the {left_out} saturated steps",
            text + " (saturated steps left out)", LOWER, kept, log10=True,
        ),
    ]  # fmt: skip
    return agree(readings, f"leaving out the {left_out} saturated steps")


def judge_beta(
    metrics: pd.DataFrame,
    predictiveness: pd.DataFrame,
    beta: pd.DataFrame,
    curvature: pd.DataFrame,
) -> Verdict:
    rows = quantities.finite_rows(beta, "effective_beta")
    end = quantities.early_end(metrics, rows)
    lrs = lrs_of(rows)
    if not lrs:
        return no_pair("effective β")
    saturation = quantities.saturated(predictiveness, beta)
    lambdas = quantities.finite_rows(curvature, "lambda_max")
    verdicts = []
    for lr in lrs:
        window = window_text(end, lr)
        verdicts.append(
            beta_readings(
                rows,
                saturation,
                lr,
                end,
                window,
                BATCHNORM,
                STANDARD,
                "BN / Standard",
            )  # fmt: skip
        )
        verdicts.append(
            all_of([early_curvature_part(lambdas, lr, end, "λ_max", "the top Hessian eigenvalue")])
        )
    return combine(verdicts)


def early_curvature_part(rows: pd.DataFrame, lr: float, end: float, what: str, of: str):
    """BN / Standard of a curvature (`rows`, one quantity) at the curvature steps of early
    training at `lr`, log10, the paper's side below ×1."""
    units = quantities.paired(rows, BATCHNORM, STANDARD, lrs=[lr], end=end)
    return judge_part(
        f"BN / Standard {what}, {window_text(end, lr)}",
        f"mean over the window's curvature steps of log10(BN / Standard) of {of}",
        LOWER,
        units,
        log10=True,
        missing="" if units else "no curvature probed in both runs",
    )
