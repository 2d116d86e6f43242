"""Claims about the weights over training (the weights probe; beyond the paper), judged on
the columns figure weight_norms draws."""

from __future__ import annotations

import pandas as pd

from .. import quantities
from ..quantities import BATCHNORM
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
