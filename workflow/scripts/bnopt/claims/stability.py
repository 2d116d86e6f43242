"""The edge-of-stability claim (Cohen et al. 2021 and 2022; Andreyev & Beneventano 2024;
beyond the paper), judged on the columns figure edge_of_stability draws."""

from __future__ import annotations

import pandas as pd

from ..catalog import normalization_label
from ..quantities import late_start, paired_with_threshold, seen_sharpness
from .verdict import LOWER, Verdict, all_of, judge_part

BATCH_SHARPNESS_RULE = (
    "For each normalisation run (each a part; supported only if every one is), every "
    "curvature step in the second half of the run (t >= half its length) and every lr: log10 "
    "of the batch sharpness gᵀHg / ‖g‖² of the step's own minibatch (g and H of that "
    "minibatch's loss; one minibatch per step, so its mean over steps estimates the "
    "expectation over batches) over the optimiser's stability threshold, the largest "
    "curvature at which its step is stable on a quadratic: 2 / lr for plain SGD, "
    "(2 + 2μ) / lr with heavy-ball momentum μ, less the weight decay; with Adam the "
    "sharpness is that of P⁻¹H (P its preconditioner, Cohen et al. 2022) against "
    "(2 + 2β₁) / (lr (1 − β₁)), 38 / lr at β₁ = 0.9. Andreyev & Beneventano put it at, not "
    "above, the threshold once training has settled (steps along a direction of curvature "
    "above it raise the minibatch loss): contradicted when the interval lies above ×1, "
    "supported when below, inconclusive when it contains ×1 (consistent with 'at the edge', "
    "which no interval can prove). λ_max is drawn, not judged"
)


def judge_batch_sharpness(metrics: pd.DataFrame, curvature: pd.DataFrame) -> Verdict:
    rows = seen_sharpness(curvature, "directional_curvature")
    start = late_start(metrics, rows)
    parts = [
        judge_part(
            f"batch sharpness ÷ stability threshold, {normalization_label(normalization)}",
            "mean over the second half's curvature steps of log10(gᵀHg / ‖g‖² ÷ threshold)",
            LOWER,
            paired_with_threshold(rows, normalization, start),
            log10=True,
        )
        for normalization in sorted(set(rows["normalization"]))
    ]
    if not parts:
        parts = [judge_part("batch sharpness", "", LOWER, {}, missing="no curvature probed")]
    return all_of(parts)
