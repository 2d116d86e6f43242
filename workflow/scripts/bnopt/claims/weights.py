"""Claims about the weights over training (the weights probe; beyond the paper), judged on
the columns figures weight_norms and relative_sharpness draw."""

from __future__ import annotations

import pandas as pd

from .. import quantities
from ..quantities import BATCHNORM
from ..tables import RELATIVE
from .landscape import early_curvature_part, lrs_of, no_pair
from .verdict import HIGHER, Verdict, all_of, judge_part

GROWTH_RULE = (
    "BN's hidden weight layers (every weight layer but the last: each is followed by BN, so "
    "the loss does not change when its weight is scaled), at every lr drawn and every probed "
    "step t > 0 of the whole run: log10 of ‖W_t‖ / ‖W_0‖, the layer's norm over its own "
    "initial norm, same run. Arora, Li & Lyu put it above (under SGD without weight decay "
    "the gradient of a scale-invariant weight is orthogonal to it, so ‖W‖ only grows and "
    "the effective learning rate lr / ‖W‖² only falls). Standard's layers are drawn, not "
    "judged (no invariance, no prediction)"
)


def judge_growth(weights: pd.DataFrame) -> Verdict:
    rows = quantities.hidden_layers(quantities.finite_rows(weights, "weight_norm"))
    part = judge_part(
        "BN ‖W_t‖ / ‖W_0‖, hidden layers",
        "mean over probed steps t > 0 and hidden layers of log10(‖W_t‖ / ‖W_0‖) of BN's runs",
        HIGHER,
        quantities.paired_with_initial(rows, BATCHNORM),
        log10=True,
        missing="no BN run with its weights probed",
    )
    return all_of([part])


RELATIVE_SHARPNESS_RULE = (
    "At every lr drawn, every curvature step of early training (the window of the paper's "
    "β and λ_max claim) and every seed: log10 of BN / Standard of λ_max(D H D), the top "
    "eigenvalue of the weight layers' Hessian per unit of relative perturbation (D = ‖W_l‖ "
    "on each weight layer's weight, 0 on every other parameter: each layer's weight measured "
    "in units of its own norm). A layer followed by BN is scale-invariant, so its block of H "
    "scales as 1 / ‖W‖² (Li & Arora 2020) and BN's raw λ_max falls as its weights grow; "
    "λ_max(D H D) does not. The paper's smoother landscape survives this correction when the "
    "interval lies below ×1 (supported), contradicted above, inconclusive when it contains "
    "×1. Both networks in the same units, although only BN's layers are scale-invariant. "
    "λ_max of H is drawn beside it, judged by the paper's claim"
)


def judge_relative_sharpness(metrics: pd.DataFrame, curvature: pd.DataFrame) -> Verdict:
    rows = quantities.finite_rows(curvature, f"{RELATIVE}lambda_max")
    end = quantities.early_end(metrics, rows)
    lrs = lrs_of(rows)
    if not lrs:
        return no_pair("λ_max per relative perturbation")
    return all_of(
        [
            early_curvature_part(rows, lr, end, "λ_max per relative perturbation", "λ_max(D H D)")
            for lr in lrs
        ]
    )
