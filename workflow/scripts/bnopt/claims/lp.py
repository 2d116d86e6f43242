"""Claim of the paper's Fig 6 (and 12, 13): ℓ1, ℓ2 and ℓ∞ normalisation, in BN's place,
smooth the loss landscape about as much as BN, although they do not stabilise the
activation distributions."""

from __future__ import annotations

import pandas as pd

from . import core
from .core import fmt
from .landscape import (
    PAPER_GRID,
    SMOOTHER_SHARE,
    early_pairs,
    largest_change,
    loss_range,
)

LIKE_BN_FACTOR = 2.0


def rule(normalizations: tuple[str, ...]) -> str:
    names = ", ".join(core.LP_LABELS[n] for n in normalizations)
    return (
        f"{core.EARLY_WINDOW_RULE}. For each of {names} run beside Standard and BN at the same "
        f"lr and seed, at each probed step of that window: the loss range (max − min over "
        f"{PAPER_GRID} of L(w − ηg)) and the largest gradient change (max over the same η of "
        "‖∇L(w − ηg) − g‖₂). The network smooths like BN if, for both quantities, it is below "
        f"Standard at more than {SMOOTHER_SHARE:g} of the steps and its median ratio to BN at "
        f"the same step is <= {LIKE_BN_FACTOR:g}. Held if every one measured does (those not "
        f"measured are listed). {core.SEED_RULE}."
    )


RULE = rule(core.LP_NORMALIZATIONS)
PER_SAMPLE_RULE = rule(core.PER_SAMPLE_NORMALIZATIONS)
QUANTITIES = (("loss", loss_range, "loss range"), ("grad_diff", largest_change, "gradient change"))


def lp_entry(metrics, tables, lr, seed, normalization) -> dict | str:
    entry = {"normalization": normalization, "lr": lr, "parts": [], "holds": True}
    for quantity, per_step, what in QUANTITIES:
        rows = tables[quantity]
        versus_standard = early_pairs(metrics, rows, per_step, lr, seed, normalization)
        versus_bn = early_pairs(metrics, rows, per_step, lr, seed, normalization, core.BATCHNORM)
        for found in (versus_standard, versus_bn):
            if isinstance(found, str):
                return found
        share = core.fraction_below(versus_standard[1])
        to_bn = core.median_ratio(versus_bn[1])
        entry["holds"] &= share > SMOOTHER_SHARE and to_bn <= LIKE_BN_FACTOR
        entry["parts"].append(
            f"{what} below Standard's at share {fmt(share)} of steps, median ratio to BN "
            f"{fmt(to_bn)}"
        )
    entry["window"] = versus_standard[0]
    return entry


def judge_lp(
    metrics: pd.DataFrame,
    landscape: pd.DataFrame,
    predictiveness: pd.DataFrame,
    normalizations: tuple[str, ...] = core.LP_NORMALIZATIONS,
) -> core.Judgement:
    names = ", ".join(core.LP_LABELS[n] for n in normalizations)
    tables = {
        "loss": core.finite_rows(landscape, "loss"),
        "grad_diff": core.finite_rows(predictiveness, "grad_diff"),
    }
    by_seed: dict = {}
    reasons = []
    measured = set()
    for lr, seed in core.runs_present(tables["loss"], (core.STANDARD, core.BATCHNORM)):
        for normalization in normalizations:
            if not core.runs_present(
                tables["loss"][tables["loss"]["seed"] == seed], (normalization,)
            ):
                continue
            entry = lp_entry(metrics, tables, lr, seed, normalization)
            if isinstance(entry, str):
                reasons.append(entry)
                continue
            measured.add(normalization)
            by_seed.setdefault(seed, []).append(entry)
    results = []
    for seed, entries in sorted(by_seed.items()):
        texts = [
            f"{core.LP_LABELS[e['normalization']]} (lr {e['lr']:g}, {e['window'].text()}): "
            + "; ".join(e["parts"])
            + (": meets the rule" if e["holds"] else ": fails the rule")
            for e in entries
        ]
        passed = [core.LP_LABELS[e["normalization"]] for e in entries if e["holds"]]
        failed = [core.LP_LABELS[e["normalization"]] for e in entries if not e["holds"]]
        reading = (
            "In early training "
            + (
                f"{', '.join(passed)} smoothed the landscape like BN"
                if passed
                else f"none of {names} smoothed like BN"
            )
            + (f"; {', '.join(failed)} did not." if failed and passed else ".")
        )
        holds = all(e["holds"] for e in entries)
        results.append(core.SeedResult(seed, holds, float(len(passed)), "; ".join(texts), reading))
    missing = "; ".join(dict.fromkeys(reasons)) or f"no {names} run beside Standard and BN runs"
    judgement = core.across_seeds(results, f"{names} meeting the rule", missing)
    absent = [core.LP_LABELS[n] for n in normalizations if n not in measured]
    if results and absent:
        note = f" Not measured: {', '.join(absent)}."
        return core.Judgement(judgement.verdict, judgement.statistic + note, judgement.reading)
    return judgement


def judge_per_sample(
    metrics: pd.DataFrame, landscape: pd.DataFrame, predictiveness: pd.DataFrame
) -> core.Judgement:
    """The same claim for LayerNorm and GroupNorm in BN's place (beyond the paper)."""
    return judge_lp(metrics, landscape, predictiveness, core.PER_SAMPLE_NORMALIZATIONS)
