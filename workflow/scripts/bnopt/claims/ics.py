"""Claims of the paper's Fig 3: BatchNorm does not reduce internal covariate shift, measured
as the change of a layer's gradient when the preceding layers take their update."""

from __future__ import annotations

import pandas as pd

from . import core
from .verdict import HIGHER, LOWER, Verdict, all_of, judge_part

WHOLE_RUN = (
    "at every probed step of the whole run (as the figure draws it), every layer and lr probed "
    "in both runs, same seed"
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


def ics_part(ics: pd.DataFrame, quantity: str, what: str, side: str, log10: bool):
    rows = core.finite_rows(ics, quantity)
    units = core.paired(rows, core.BATCHNORM, core.STANDARD)
    text = (
        f"mean over probed steps, layers and lrs of log10(BN / Standard) of {what}"
        if log10
        else f"mean over probed steps, layers and lrs of BN's minus Standard's {what}"
    )
    name = f"BN / Standard {what}" if log10 else f"BN − Standard {what}"
    missing = "no layer probed in both a Standard and a BN run" if not units else ""
    return judge_part(name, text, side, units, log10=log10, missing=missing)


def judge_l2(ics: pd.DataFrame) -> Verdict:
    return all_of([ics_part(ics, "ics_l2", "‖G − G′‖₂", HIGHER, True)])


def judge_relative(ics: pd.DataFrame) -> Verdict:
    return all_of([ics_part(ics, "ics_relative", "‖G − G′‖₂ / ‖G‖₂", HIGHER, True)])


def judge_cosine(ics: pd.DataFrame) -> Verdict:
    return all_of([ics_part(ics, "ics_cosine", "cos(G, G′)", LOWER, False)])
