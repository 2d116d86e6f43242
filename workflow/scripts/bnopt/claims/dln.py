"""Claims of the deep linear network experiment (paper Figs 3b, 5b, 9 and 10; protocol
section 7), judged on every learning rate its figures draw, over the whole run."""

from __future__ import annotations

import pandas as pd

from .. import quantities
from ..catalog import format_lr, short_label
from ..quantities import BATCHNORM, STANDARD
from .landscape import beta_readings
from .verdict import LOWER, Verdict, all_of, combine, judge_part

COSINE_RULE = (
    "At every lr drawn (each a part), every probed step and layer probed in both runs, same "
    "seed: BN's minus Standard's cos(G, G′), over the whole run. The paper puts BN below "
    "(Standard's ≈ 1, BN's gradients almost uncorrelated); supported only if every lr is. "
    "Standard's own level is shown in the figure, not judged (≈ 1 is not a testable side)"
)
BETA_READING = (
    "log10 of the effective β's ratio at every probed step of the whole run, same seed, read "
    "over all steps and without the steps where either run had overshot at the smallest η "
    f"(‖Δg‖ >= {quantities.OVERSHOOT:g} ‖g‖; the two readings must agree, else inconclusive)"
)
SMOOTHER_RULE = (
    f"At every lr drawn (each a part): {BETA_READING}, BN / Standard. The paper puts BN "
    "orders of magnitude below (the estimate is that number of decades); supported only if "
    "every lr is"
)
LP_SMOOTHER_RULE = (
    f"At every lr drawn, for each of ℓ1, ℓ2, ℓ∞ (each a part): {BETA_READING}, ℓp / Standard. "
    "The paper puts each ℓp far below Standard; supported only if every part is"
)


def judge_cosine(ics: pd.DataFrame) -> Verdict:
    rows = quantities.finite_rows(ics, "ics_cosine")
    parts = []
    for lr in quantities.shared_lrs(rows):
        units = quantities.paired(rows, BATCHNORM, STANDARD, lrs=[lr])
        parts.append(
            judge_part(
                f"BN − Standard cos(G, G′), lr {format_lr(lr)}",
                "mean over probed steps and layers of BN's minus Standard's cos(G, G′)",
                LOWER, units,
            )
        )  # fmt: skip
    if not parts:
        parts = [judge_part("cos(G, G′)", "", LOWER, {}, missing="no Standard and BN runs")]
    return all_of(parts)


def smoother(predictiveness, beta, normalizations) -> Verdict:
    rows = quantities.finite_rows(beta, "effective_beta")
    saturation = quantities.saturated(predictiveness, beta)
    verdicts = []
    for lr in quantities.shared_lrs(rows, (STANDARD,)):
        for normalization in normalizations:
            if not quantities.paired(rows, normalization, STANDARD, lrs=[lr]):
                continue
            label = short_label(normalization)
            verdicts.append(
                beta_readings(
                    rows,
                    saturation,
                    lr,
                    None,
                    f"lr {format_lr(lr)}",
                    normalization,
                    STANDARD,
                    f"{label} / Standard",
                )  # fmt: skip
            )
    if not verdicts:
        names = ", ".join(short_label(n) for n in normalizations)
        missing = f"no {names} run beside a Standard run"
        return all_of([judge_part("effective β", "", LOWER, {}, missing=missing)])
    return combine(verdicts)


def judge_bn_smoother(predictiveness: pd.DataFrame, beta: pd.DataFrame) -> Verdict:
    return smoother(predictiveness, beta, (BATCHNORM,))


def judge_lp_smoother(predictiveness: pd.DataFrame, beta: pd.DataFrame) -> Verdict:
    return smoother(predictiveness, beta, quantities.LP_NORMALIZATIONS)
