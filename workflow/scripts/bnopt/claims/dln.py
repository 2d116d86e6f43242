"""Claims of the deep linear network experiment (paper Figs 3b, 5b, 9 and 10; protocol
section 7), judged on the tidy tables of results/tables/dln/."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import core
from .core import fmt, lr_text, ratio

LANDSCAPE_LR = 1e-6  # the paper's landscape figures of the DLN are at this rate
STANDARD_COSINE_MIN = 0.95
BN_COSINE_MAX = 0.5
SMOOTHER_RATIO = 10.0

COSINE_RULE = (
    "Per run and probed layer, the median over probed steps of cos(G, G′) (each needs >= "
    f"{core.MIN_STEPS} probed steps); held if, at every lr probed in both, Standard's median is >= "
    f"{STANDARD_COSINE_MIN:g} in every layer and BN's median is <= {BN_COSINE_MAX:g} in at "
    f"least one layer. {core.SEED_RULE}."
)
SMOOTHER_RULE = (
    f"At lr {LANDSCAPE_LR:g} (else the largest lr probed in both), the maximum over probed "
    f"steps (each run needs >= {core.MIN_STEPS}) of the effective β; held if Standard's maximum is "
    f">= {SMOOTHER_RATIO:g} x BN's. Other learning rates are shown for context only. "
    f"{core.SEED_RULE}."
)
LP_SMOOTHER_RULE = (
    f"At lr {LANDSCAPE_LR:g} (else the largest lr where Standard and an ℓp run were both "
    f"probed), the maximum over probed steps (each run needs >= {core.MIN_STEPS}) of the effective "
    f"β; held if Standard's maximum is >= {SMOOTHER_RATIO:g} x that of every ℓp normalisation "
    f"measured (those not measured are listed). {core.SEED_RULE}."
)


def layer_medians(rows: pd.DataFrame, normalization: str, lr: float, seed) -> pd.Series:
    run = core.run_rows(rows, normalization, lr, seed)
    counts = run.groupby("layer")["step"].nunique()
    return run.groupby("layer")["value"].median()[counts >= core.MIN_STEPS]


def judge_cosine(ics: pd.DataFrame) -> core.Judgement:
    rows = core.finite_rows(ics, "ics_cosine")
    by_seed: dict = {}
    for lr, seed in sorted(
        core.runs_present(rows, (core.STANDARD, core.BATCHNORM)), key=lambda p: -p[0]
    ):
        standard = layer_medians(rows, core.STANDARD, lr, seed)
        batchnorm = layer_medians(rows, core.BATCHNORM, lr, seed)
        layers = sorted(set(standard.index) & set(batchnorm.index))
        if layers:
            by_seed.setdefault(seed, []).append((lr, layers, standard, batchnorm))
    results = []
    for seed, entries in sorted(by_seed.items()):
        holds, texts = True, []
        for lr, layers, standard, batchnorm in entries:
            aligned = all(standard[layer] >= STANDARD_COSINE_MIN for layer in layers)
            decorrelated = any(batchnorm[layer] <= BN_COSINE_MAX for layer in layers)
            holds = holds and aligned and decorrelated
            texts.append(
                f"{lr_text(lr)}: median cos(G, G′) "
                + ", ".join(
                    f"layer #{int(layer)} Standard {fmt(standard[layer])} vs BN "
                    f"{fmt(batchnorm[layer])}"
                    for layer in layers
                )
            )
        lowest = min(float(s[layers].min()) for _, layers, s, _ in entries)
        reading = (
            f"Standard's median cos(G, G′) was at least {fmt(lowest)} in every probed layer; "
            + texts[0]
            + "."
        )
        results.append(core.SeedResult(seed, holds, lowest, "; ".join(texts), reading))
    return core.across_seeds(
        results,
        "lowest Standard median cosine",
        f"no layer probed at >= {core.MIN_STEPS} steps in a Standard and a BN run",
    )


def preferred_lr(lrs) -> float | None:
    """LANDSCAPE_LR when it is among `lrs`, else the largest of them."""
    lrs = list(lrs)
    if any(np.isclose(lr, LANDSCAPE_LR) for lr in lrs):
        return LANDSCAPE_LR
    return max(lrs) if lrs else None


def max_beta(rows: pd.DataFrame, normalization: str, lr: float, seed) -> float | None:
    run = core.run_rows(rows, normalization, lr, seed)
    return float(run["value"].max()) if core.has_enough_steps(run) else None


def describe_maxima(lr: float, standard: float, others: dict) -> str:
    return f"{lr_text(lr)}: max effective β Standard {fmt(standard)} vs " + ", ".join(
        f"{core.LP_LABELS[n]} {fmt(value)} "
        f"(Standard / {core.LP_LABELS[n]} = {fmt(ratio(standard, value))})"
        for n, value in others.items()
    )


def maxima(rows, lr, seed, normalizations) -> tuple[float, dict] | None:
    standard = max_beta(rows, core.STANDARD, lr, seed)
    others = {n: max_beta(rows, n, lr, seed) for n in normalizations}
    others = {n: value for n, value in others.items() if value is not None}
    return (standard, others) if standard is not None and others else None


def judge_smoother(rows: pd.DataFrame, lr: float, normalizations) -> tuple[list, set]:
    results, measured = [], set()
    for seed in core.seeds_at(rows, lr, (core.STANDARD,)):
        found = maxima(rows, lr, seed, normalizations)
        if found is None:
            continue
        standard, others = found
        measured |= set(others)
        factor = min(ratio(standard, value) for value in others.values())
        text = describe_maxima(lr, standard, others)
        reading = (
            f"At lr {lr:g} Standard's largest effective β was {fmt(factor)} x that of the "
            f"{'smoothest' if len(others) == 1 else 'least smooth'} normalised network "
            f"({', '.join(core.LP_LABELS[n] for n in others)})."
        )
        results.append(core.SeedResult(seed, factor >= SMOOTHER_RATIO, factor, text, reading))
    return results, measured


def judge_bn_smoother(beta: pd.DataFrame) -> core.Judgement:
    rows = core.finite_rows(beta, "effective_beta")
    lr = preferred_lr(core.shared_lrs(rows))
    if lr is None:
        return core.not_measurable("no Standard/BN pair")
    results, _ = judge_smoother(rows, lr, (core.BATCHNORM,))
    judgement = core.across_seeds(
        results, "Standard / BN max β", f"fewer than {core.MIN_STEPS} probed steps at lr {lr:g}"
    )
    context = []
    for other in sorted(core.shared_lrs(rows), reverse=True):
        seeds = core.seeds_at(rows, other)
        found = maxima(rows, other, seeds[0], (core.BATCHNORM,)) if seeds else None
        if not np.isclose(other, lr) and found is not None:
            context.append(describe_maxima(other, *found))
    if context and results:
        note = f" Context, not judged: {'; '.join(context)}."
        return core.Judgement(judgement.verdict, judgement.statistic + note, judgement.reading)
    return judgement


def judge_lp_smoother(beta: pd.DataFrame) -> core.Judgement:
    rows = core.finite_rows(beta, "effective_beta")
    candidates = {
        lr
        for lr, seed in core.runs_present(rows, (core.STANDARD,))
        if maxima(rows, lr, seed, core.LP_NORMALIZATIONS) is not None
    }
    lr = preferred_lr(candidates)
    if lr is None:
        return core.not_measurable(
            f"no ℓp run beside a Standard run with >= {core.MIN_STEPS} probed steps"
        )
    results, measured = judge_smoother(rows, lr, core.LP_NORMALIZATIONS)
    judgement = core.across_seeds(
        results, "Standard / least smooth ℓp max β", f"fewer than {core.MIN_STEPS} probed steps"
    )
    absent = [core.LP_LABELS[n] for n in core.LP_NORMALIZATIONS if n not in measured]
    if absent:
        note = f" Not measured: {', '.join(absent)}."
        return core.Judgement(judgement.verdict, judgement.statistic + note, judgement.reading)
    return judgement
