"""Claim of the paper's Fig 6 (and 12, 13): ℓ1, ℓ2 and ℓ∞ normalisation, in BN's place,
smooth the loss landscape like BN; and the same question for LayerNorm and GroupNorm."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import quantities
from ..catalog import format_lr, short_label
from ..quantities import BATCHNORM
from .landscape import PAPER_GRID
from .verdict import LOWER, Verdict, all_of, judge_part


def rule(normalizations: tuple[str, ...]) -> str:
    names = ", ".join(short_label(n) for n in normalizations)
    return (
        f"{quantities.EARLY_WINDOW_RULE}. For each of {names} run beside BN (same lr and seed), at "
        f"each probed step of that window, on what lp_landscape draws: the rise of the loss "
        f"along −g (max over {PAPER_GRID} of L(w − ηg) − L(w), 0 where it falls) as the "
        "normalisation's minus BN's, and the gradient change (max over the same η of "
        "‖∇L(w − ηg) − g‖₂) as log10 of its / BN's. 'Like BN' is judged against BN alone (BN "
        "against Standard is the landscape claims'): the paper puts each at or below BN, so a "
        "clearly rougher landscape contradicts it, a clearly smoother one supports it, and one "
        "that cannot be told from BN's is inconclusive (consistent with 'like BN', which no "
        "interval can prove). Every normalisation measured is a part; supported only if all are"
    )


RULE = rule(quantities.LP_NORMALIZATIONS)
PER_SAMPLE_RULE = rule(quantities.PER_SAMPLE_NORMALIZATIONS)


def judge_lp(
    metrics: pd.DataFrame,
    landscape: pd.DataFrame,
    predictiveness: pd.DataFrame,
    normalizations: tuple[str, ...] = quantities.LP_NORMALIZATIONS,
) -> Verdict:
    rise = quantities.loss_rise(landscape, metrics)
    change = quantities.finite_rows(predictiveness, "grad_diff")
    end = quantities.early_end(metrics, change)
    parts = []
    for lr in quantities.shared_lrs(change, (BATCHNORM,)):
        for normalization in normalizations:
            parts += lp_parts(rise, change, normalization, lr, end)
    if not parts:
        names = ", ".join(short_label(n) for n in normalizations)
        parts = [judge_part(names, names, LOWER, {}, missing=f"no {names} run beside a BN run")]
    return all_of(parts)


def lp_parts(rise, change, normalization: str, lr: float, end: float) -> list:
    """The normalisation against BN at one lr: its loss rise and its gradient change."""
    label = short_label(normalization)
    if not any(
        np.isclose(lr, ran) for ran in quantities.shared_lrs(change, (normalization, BATCHNORM))
    ):
        return []
    window = f"steps before {end:g}, lr {format_lr(lr)}"
    rises = quantities.paired(rise, normalization, BATCHNORM, lrs=[lr], end=end)
    changes = quantities.paired(change, normalization, BATCHNORM, lrs=[lr],
                          per_step=quantities.upper_edge, end=end)  # fmt: skip
    return [
        judge_part(
            f"{label} − BN rise of the loss along −g, {window}",
            f"mean over the window's probed steps of {label}'s minus BN's loss rise",
            LOWER, rises,
        ),
        judge_part(
            f"{label} / BN gradient change ‖Δg‖, {window}",
            f"mean over the window's probed steps of log10({label} / BN) of the largest "
            "gradient change",
            LOWER, changes, log10=True,
        ),
    ]  # fmt: skip


def judge_per_sample(
    metrics: pd.DataFrame, landscape: pd.DataFrame, predictiveness: pd.DataFrame
) -> Verdict:
    """The same claim for LayerNorm and GroupNorm in BN's place (beyond the paper)."""
    return judge_lp(metrics, landscape, predictiveness, quantities.PER_SAMPLE_NORMALIZATIONS)
