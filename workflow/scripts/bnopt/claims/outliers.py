"""The Hessian-outlier claim (Ghorbani, Krishnan & Xiao 2019; beyond the paper), judged on
the columns figure gradient_concentration draws."""

from __future__ import annotations

import pandas as pd

from .. import quantities
from ..catalog import format_lr
from ..quantities import BATCHNORM, STANDARD
from .verdict import LOWER, Verdict, all_of, judge_part

CONCENTRATION_RULE = (
    "At every lr drawn (each a part; supported only if every one is), every curvature step of "
    "the whole run, same seed: BN's minus Standard's share of ‖g‖² in the span of the top-k "
    "Hessian eigenvectors of the step's minibatch loss, both with the batch's statistics (as "
    "in training; k = probes.outlier_k, Ritz vectors of a Lanczos run from a random start). "
    "Ghorbani et al. put BN below (without BN the gradient concentrates in the outliers' "
    "eigenspace; BN suppresses the outliers). The share with population statistics is drawn, "
    "not judged"
)


def judge_concentration(outliers: pd.DataFrame) -> Verdict:
    rows = quantities.finite_rows(outliers, "topk_share")
    parts = [
        judge_part(
            f"BN − Standard top-k share of ‖g‖², lr {format_lr(lr)}",
            "mean over curvature steps of BN's minus Standard's share of ‖g‖² in the top-k "
            "Hessian eigenspace",
            LOWER,
            quantities.paired(rows, BATCHNORM, STANDARD, lrs=[lr]),
        )
        for lr in quantities.shared_lrs(rows)
    ]
    if not parts:
        parts = [judge_part("top-k share", "", LOWER, {}, missing="no Standard and BN runs")]
    return all_of(parts)
