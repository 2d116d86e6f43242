"""The edge-of-stability claim (Cohen et al. 2021; Andreyev & Beneventano 2024; beyond the
paper), judged on the columns figure edge_of_stability draws."""

from __future__ import annotations

import pandas as pd

from .. import quantities
from ..catalog import normalization_label
from ..quantities import late_start, paired_with_threshold
from .verdict import LOWER, Verdict, all_of, judge_part

BATCH_SHARPNESS_RULE = (
    "For each normalisation run (each a part; supported only if every one is), every "
    "curvature step in the second half of the run (t >= half its length) and every lr: log10 "
    "of the batch sharpness gᵀHg / ‖g‖² of the step's own minibatch (g and H of that "
    "minibatch's loss; one minibatch per step, so its mean over steps estimates the "
    "expectation over batches) over plain SGD's stability threshold 2 / lr. Andreyev & "
    "Beneventano put it at, not above, 2 / lr once training has settled (SGD steps along a "
    "direction of curvature above 2 / lr raise the minibatch loss): contradicted when the "
    "interval lies above ×1, supported when below, inconclusive when it contains ×1 "
    "(consistent with 'at the edge', which no interval can prove). λ_max is drawn, not judged"
)


def judge_batch_sharpness(metrics: pd.DataFrame, curvature: pd.DataFrame) -> Verdict:
    rows = quantities.finite_rows(curvature, "directional_curvature")
    start = late_start(metrics, rows)
    parts = [
        judge_part(
            f"batch sharpness × lr / 2, {normalization_label(normalization)}",
            "mean over the second half's curvature steps of log10(gᵀHg / ‖g‖² ÷ 2 / lr)",
            LOWER,
            paired_with_threshold(rows, normalization, start),
            log10=True,
        )
        for normalization in sorted(set(rows["normalization"]))
    ]
    if not parts:
        parts = [judge_part("batch sharpness", "", LOWER, {}, missing="no curvature probed")]
    return all_of(parts)
