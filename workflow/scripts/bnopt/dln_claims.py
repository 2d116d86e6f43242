"""Claim verdicts of the deep linear network experiment (protocol section 7), judged on the
tidy tables of results/tables/dln/ with the shared rules of bnopt.claims."""

import numpy as np
import pandas as pd

from . import claims
from .claims import NOT_MEASURABLE

LANDSCAPE_LR = 1e-6  # the paper's landscape figures of the DLN are at this rate
STANDARD_COSINE_MIN = 0.95
BN_COSINE_MAX = 0.5
SMOOTHER_RATIO = 10.0
DLN_GROUP = "dln"  # the claims' group, and its title (for bnopt.claims.CLAIM_GROUPS)
DLN_GROUP_TITLE = claims.CLAIM_GROUPS[DLN_GROUP]


def layer_medians(rows: pd.DataFrame, normalization: str, lr: float, seed) -> pd.Series:
    return claims.median_per_layer(claims.run_rows(rows, normalization, lr, seed))


def cosine_outcome(standard: pd.Series, batchnorm: pd.Series) -> bool:
    """Standard ~1 in every probed layer, BN far lower in at least one."""
    layers = sorted(set(standard.index) & set(batchnorm.index))
    standard_near_one = all(standard[layer] >= STANDARD_COSINE_MIN for layer in layers)
    batchnorm_lower = any(batchnorm[layer] <= BN_COSINE_MAX for layer in layers)
    return standard_near_one and batchnorm_lower


def describe_medians(standard: pd.Series, batchnorm: pd.Series) -> str:
    layers = sorted(set(standard.index) & set(batchnorm.index))
    return ", ".join(
        f"layer #{int(layer)} Standard {claims.fmt(standard[layer])} vs BN "
        f"{claims.fmt(batchnorm[layer])}"
        for layer in layers
    )


def claim_dln_cosine(ics: pd.DataFrame) -> dict:
    """(a) Standard DLN: cos(G, G') ~ 1 throughout; BN: gradients far less correlated."""
    rule = (
        "Per run and probed layer, the median over probed steps of cos(G, G′) (each needs >= "
        f"{claims.MIN_STEPS} probed steps); held if, at every lr probed in both, Standard's "
        f"median is >= {STANDARD_COSINE_MIN:g} in every layer and BN's median is <= "
        f"{BN_COSINE_MAX:g} in at least one layer. {claims.SEED_RULE}."
    )
    make_row = claims.row_maker(
        "Deep linear network: without BatchNorm a layer's gradient barely changes when the "
        "preceding layers update (cos(G, G′) ≈ 1); with BatchNorm it changes a lot",
        "dln_ics",
        "Standard DLN: cos(G, G′) ~ 1 throughout at lr 1e-6 and 1e-7; with BN the two "
        "gradients are almost uncorrelated (layers #9 and #17)",
        rule,
        DLN_GROUP,
    )
    rows = claims.finite_rows(ics, "ics_cosine")
    outcomes, parts = [], []
    seeds = claims.all_seeds(rows)
    for seed in seeds:
        per_lr, texts = [], []
        for lr in sorted(claims.shared_lrs(rows), reverse=True):
            standard = layer_medians(rows, claims.STANDARD, lr, seed)
            batchnorm = layer_medians(rows, claims.BATCHNORM, lr, seed)
            if not set(standard.index) & set(batchnorm.index):
                continue
            per_lr.append(cosine_outcome(standard, batchnorm))
            texts.append(
                f"{claims.lr_text(lr)}: median cos(G, G′) {describe_medians(standard, batchnorm)}"
            )
        if per_lr:
            outcomes.append(all(per_lr))
            parts.append(claims.seed_prefix(seed, seeds) + "; ".join(texts))
    return claims.finish(
        make_row, outcomes, parts, "no layer probed at >= 3 steps in a Standard and a BN run"
    )


def preferred_lr(lrs) -> float | None:
    """LANDSCAPE_LR when it is among `lrs`, else the largest of them."""
    if any(np.isclose(lr, LANDSCAPE_LR) for lr in lrs):
        return LANDSCAPE_LR
    return max(lrs) if len(lrs) else None


def landscape_lr(rows: pd.DataFrame) -> float | None:
    """LANDSCAPE_LR when both Standard and BN ran at it, else the largest shared rate."""
    return preferred_lr(claims.shared_lrs(rows))


def max_beta(rows: pd.DataFrame, normalization: str, lr: float, seed) -> float | None:
    """Maximum effective beta over the probed steps of one run, if it has enough of them."""
    run = claims.run_rows(rows, normalization, lr, seed)
    return float(run["value"].max()) if claims.has_enough_steps(run) else None


def beta_maxima(rows: pd.DataFrame, lr: float, seed) -> tuple[float, float] | None:
    """Maximum effective beta over the probed steps of Standard and of BN, if measurable."""
    standard = max_beta(rows, claims.STANDARD, lr, seed)
    batchnorm = max_beta(rows, claims.BATCHNORM, lr, seed)
    if standard is None or batchnorm is None:
        return None
    return standard, batchnorm


def describe_maxima(lr: float, standard: float, batchnorm: float) -> str:
    return (
        f"{claims.lr_text(lr)}: max effective β Standard {claims.fmt(standard)} vs BN "
        f"{claims.fmt(batchnorm)} (Standard / BN = {claims.fmt(claims.ratio(standard, batchnorm))}"
        f"; 2/lr = {claims.fmt(2 / lr)})"
    )


def claim_dln_smoother(beta: pd.DataFrame) -> dict:
    """(b) BN's landscape is orders of magnitude smoother (effective beta)."""
    rule = (
        f"At lr {LANDSCAPE_LR:g} (else the largest lr probed in both), the maximum over probed "
        f"steps (each run needs >= {claims.MIN_STEPS}) of the effective β; held if Standard's "
        f"maximum is >= {SMOOTHER_RATIO:g} x BN's. Other learning rates are shown for context "
        f"only. {claims.SEED_RULE}."
    )
    make_row = claims.row_maker(
        "Deep linear network: BatchNorm makes the landscape orders of magnitude smoother",
        "dln_landscape",
        "Standard effective β up to ~1e15 vs ~1e6-1e7 with BN (lr 1e-6)",
        rule,
        DLN_GROUP,
    )
    rows = claims.finite_rows(beta, "effective_beta")
    lr = landscape_lr(rows)
    if lr is None:
        return make_row("Not measurable: no Standard/BN pair.", NOT_MEASURABLE)
    outcomes, parts = [], []
    seeds = claims.paired_seeds(rows, lr)
    for seed in seeds:
        maxima = beta_maxima(rows, lr, seed)
        if maxima is None:
            continue
        outcomes.append(claims.ratio(*maxima) >= SMOOTHER_RATIO)
        parts.append(claims.seed_prefix(seed, seeds) + describe_maxima(lr, *maxima))
    row = claims.finish(make_row, outcomes, parts, f"fewer than 3 probed steps at lr {lr:g}")
    context = beta_context(rows, lr)
    if context and row["verdict"] != NOT_MEASURABLE:
        row["statistic"] += f" Context, not judged: {context}."
    return row


def beta_context(rows: pd.DataFrame, judged_lr: float) -> str:
    """The same maxima at the other shared learning rates (first seed of each)."""
    texts = []
    for lr in sorted(claims.shared_lrs(rows), reverse=True):
        seeds = claims.paired_seeds(rows, lr)
        if np.isclose(lr, judged_lr) or not seeds:
            continue
        maxima = beta_maxima(rows, lr, seeds[0])
        if maxima is not None:
            texts.append(describe_maxima(lr, *maxima))
    return "; ".join(texts)


def lp_beta_maxima(rows: pd.DataFrame, lr: float, seed) -> tuple[float, dict] | None:
    """Standard's maximum effective beta and that of each l_p run measurable beside it."""
    standard = max_beta(rows, claims.STANDARD, lr, seed)
    if standard is None:
        return None
    lp = {n: max_beta(rows, n, lr, seed) for n in claims.LP_NORMALIZATIONS}
    lp = {n: value for n, value in lp.items() if value is not None}
    return (standard, lp) if lp else None


def describe_lp_maxima(lr: float, standard: float, lp: dict) -> str:
    return f"{claims.lr_text(lr)}: max effective β Standard {claims.fmt(standard)} vs " + ", ".join(
        f"{claims.LP_LABELS[n]} {claims.fmt(value)} (Standard / {claims.LP_LABELS[n]} = "
        f"{claims.fmt(claims.ratio(standard, value))})"
        for n, value in lp.items()
    )


def claim_dln_lp_smoother(beta: pd.DataFrame) -> dict:
    """(c) l_p normalisation, like BN, makes the DLN's landscape far smoother (paper Fig 5b)."""
    rule = (
        f"At lr {LANDSCAPE_LR:g} (else the largest lr where Standard and an ℓp run were both "
        f"probed), the maximum over probed steps (each run needs >= {claims.MIN_STEPS}) of the "
        f"effective β; held if Standard's maximum is >= {SMOOTHER_RATIO:g} x that of every ℓp "
        f"normalisation measured (those not measured are listed). {claims.SEED_RULE_ALL}."
    )
    make_row = claims.row_maker(
        "Deep linear network: ℓ1, ℓ2 and ℓ∞ normalisation also make the landscape far smoother",
        "dln_landscape",
        "ℓp-normalised deep linear networks have a landscape as much smoother than the "
        "standard network's as BN's",
        rule,
        DLN_GROUP,
    )
    rows = claims.finite_rows(beta, "effective_beta")
    pairs = claims.normalizations_by_lr_and_seed(rows, (claims.STANDARD,))
    maxima = {pair: lp_beta_maxima(rows, *pair) for pair in pairs}
    lr = preferred_lr({lr for (lr, _), found in maxima.items() if found is not None})
    if lr is None:
        return make_row(
            f"Not measurable: no ℓp run beside a Standard run with >= {claims.MIN_STEPS} "
            "probed steps.",
            NOT_MEASURABLE,
        )
    seeds = sorted(seed for run_lr, seed in pairs if np.isclose(run_lr, lr))
    outcomes, parts, measured = [], [], set()
    for seed in seeds:
        if maxima[(lr, seed)] is None:
            continue
        standard, lp = maxima[(lr, seed)]
        measured |= set(lp)
        outcomes.append(all(claims.ratio(standard, v) >= SMOOTHER_RATIO for v in lp.values()))
        parts.append(claims.seed_prefix(seed, seeds) + describe_lp_maxima(lr, standard, lp))
    row = claims.finish(make_row, outcomes, parts, f"fewer than 3 probed steps at lr {lr:g}")
    row["statistic"] += claims.lp_not_measured_note(measured)
    return row


def dln_claims(tables: dict) -> list[dict]:
    """The DLN claims as rows of bnopt.claims (claim, figure, statistic, paper, rule, verdict)."""
    beta = tables.get("beta", pd.DataFrame())
    return [
        claim_dln_cosine(tables.get("ics", pd.DataFrame())),
        claim_dln_smoother(beta),
        claim_dln_lp_smoother(beta),
    ]
