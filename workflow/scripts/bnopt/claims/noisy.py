"""Claim of the paper's Figs 2 and 8: BatchNorm with injected covariate shift ("noisy BN")
still trains faster than the standard network, although the moments of its layers' inputs
change more from step to step than the standard network's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import quantities
from ..catalog import format_lr
from ..quantities import NOISY_BATCHNORM, STANDARD
from .verdict import HIGHER, Verdict, all_of, judge_part

RULE = (
    f"Three parts, each same lr and seed; supported only if all three are. (1) Training: "
    f"{quantities.EARLY_WINDOW_RULE}; at every logged step of it, noisy BN's minus Standard's "
    "training accuracy (noisy_bn_training); the paper puts noisy BN above (it trains almost as "
    "well as BN, far better than Standard). (2, 3) Stability, on what noisy_bn_moments draws in "
    "its first two columns: at every probed step after the first and every layer probed in "
    "both runs, log10 of noisy BN's / Standard's step-to-step change |μₜ₊₁ − μₜ| of the mean "
    "and |σ²ₜ₊₁ − σ²ₜ| of the variance of one channel's pre-ReLU values, over the whole run; "
    "the paper puts noisy BN above (its distributions move more)"
)


def step_changes(moment: str):
    """Per (layer, step): |x_{t+1} − x_t| of one moment between consecutive probed steps."""

    def changes(run: pd.DataFrame) -> pd.Series:
        parts = []
        for layer, rows in run[run["quantity"] == moment].groupby("layer"):
            series = rows.groupby("step")["value"].mean().sort_index()
            change = series.diff().abs().iloc[1:]
            change.index = pd.MultiIndex.from_arrays(
                [np.full(len(change), layer), change.index], names=["layer", "step"]
            )
            parts.append(change)
        return pd.concat(parts) if parts else pd.Series(dtype=float, index=EMPTY_INDEX)

    return changes


EMPTY_INDEX = pd.MultiIndex.from_arrays([[], []], names=["layer", "step"])
MOMENTS = (("mean", "|μₜ₊₁ − μₜ|"), ("var", "|σ²ₜ₊₁ − σ²ₜ|"))


def judge_noisy(metrics: pd.DataFrame, activations: pd.DataFrame) -> Verdict:
    accuracy = quantities.finite_rows(metrics, "train_accuracy")
    moments = pd.concat([quantities.finite_rows(activations, q) for q, _ in MOMENTS])
    end = quantities.early_end(metrics)
    lrs = sorted(
        set(quantities.shared_lrs(accuracy, (NOISY_BATCHNORM, STANDARD)))
        | set(quantities.shared_lrs(moments, (NOISY_BATCHNORM, STANDARD)))
    )
    parts = []
    for lr in lrs:
        training = quantities.paired(accuracy, NOISY_BATCHNORM, STANDARD, lrs=[lr], end=end)
        parts.append(
            judge_part(
                f"noisy BN − Standard training accuracy, steps before {end:g}, lr {format_lr(lr)}",
                "mean over the window's logged steps of noisy BN's minus Standard's training "
                "accuracy",
                HIGHER, training,
                missing="" if training else "no Standard and noisy BN training runs",
            )
        )  # fmt: skip
        for moment, symbol in MOMENTS:
            units = quantities.paired(
                moments, NOISY_BATCHNORM, STANDARD, lrs=[lr],
                per_step=step_changes(moment),
            )  # fmt: skip
            parts.append(
                judge_part(
                    f"noisy BN / Standard {symbol}, lr {format_lr(lr)}",
                    "mean over consecutive probed steps and layers of log10(noisy BN / "
                    f"Standard) of {symbol}",
                    HIGHER, units, log10=True,
                    missing="" if units else "no activation moments of Standard and noisy BN",
                )
            )  # fmt: skip
    if not parts:
        missing = "no Standard and noisy BN runs"
        parts = [judge_part("noisy BN against Standard", "", HIGHER, {}, missing=missing)]
    return all_of(parts)
