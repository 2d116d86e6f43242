"""Claims of the paper's Fig 3: BatchNorm does not reduce internal covariate shift, measured
as the change of a layer's gradient when the preceding layers take their update."""

from __future__ import annotations

import pandas as pd

from .. import quantities
from ..catalog import format_lr
from ..quantities import BATCHNORM, STANDARD
from .verdict import HIGHER, LOWER, Verdict, all_of, judge_part

WHOLE_RUN = (
    "At every lr the figure draws (each a part; supported only if every lr is), every probed "
    "step of the whole run (as the figure draws it) and every layer probed in both runs, same "
    "seed"
)
L2_RULE = (
    f"{WHOLE_RUN}: log10 of BN's / Standard's ‖G − G′‖₂. 'Does not reduce' puts BN at or above "
    "Standard: supported when BN's ICS is clearly larger, contradicted when clearly smaller, "
    "inconclusive when the two cannot be told apart (consistent with the paper's 'similar', "
    "which no interval can prove)"
)
RELATIVE_RULE = L2_RULE.replace("‖G − G′‖₂", "‖G − G′‖₂ / ‖G‖₂")
COSINE_RULE = (
    f"{WHOLE_RUN}: BN's minus Standard's cos(G, G′). The paper puts BN at or below Standard "
    "(its gradients are not more stable): supported when clearly below, contradicted when "
    "clearly above, inconclusive otherwise"
)


def ics_parts(ics: pd.DataFrame, quantity: str, what: str, side: str, log10: bool) -> Verdict:
    """One part per learning rate: BN against Standard at every probed step and layer."""
    rows = quantities.finite_rows(ics, quantity)
    text = (
        f"mean over probed steps and layers of log10(BN / Standard) of {what}"
        if log10
        else f"mean over probed steps and layers of BN's minus Standard's {what}"
    )
    name = f"BN / Standard {what}" if log10 else f"BN − Standard {what}"
    parts = [
        judge_part(f"{name}, lr {format_lr(lr)}", text, side,
                   quantities.paired(rows, BATCHNORM, STANDARD, lrs=[lr]), log10=log10)
        for lr in quantities.shared_lrs(rows)
    ]  # fmt: skip
    if not parts:
        missing = "no layer probed in both a Standard and a BN run"
        parts = [judge_part(name, text, side, {}, missing=missing)]
    return all_of(parts)


def judge_l2(ics: pd.DataFrame) -> Verdict:
    return ics_parts(ics, "ics_l2", "‖G − G′‖₂", HIGHER, True)


def judge_relative(ics: pd.DataFrame) -> Verdict:
    return ics_parts(ics, "ics_relative", "‖G − G′‖₂ / ‖G‖₂", HIGHER, True)


def judge_cosine(ics: pd.DataFrame) -> Verdict:
    return ics_parts(ics, "ics_cosine", "cos(G, G′)", LOWER, False)
