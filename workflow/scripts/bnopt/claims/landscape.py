"""Claims of the paper's Fig 4: along the gradient, BN's loss changes less, its gradient is
more predictive and its effective β-smoothness is lower, especially early in training.

Each is judged step by step in early training (core.EARLY_WINDOW_RULE): at every probed step
of the window the BN run is compared with the Standard run of the same lr and seed, and the
statistic is the share of those steps at which BN is the smoother. A whole-run median would
compare a converged network with one still learning, and one network's plateau with the
other's descent.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from . import core
from .core import fmt

SMOOTHER_SHARE = 0.5
PAPER_GRID = f"η in [{core.PAPER_ETA[0]:g}, {core.PAPER_ETA[1]:g}] x lr (the paper's range)"


def step_rule(per_step: str) -> str:
    return (
        f"{core.EARLY_WINDOW_RULE}. At each probed step of that window: {per_step}, for BN and for "
        f"Standard at the same lr and seed. Statistic = the share of those steps at which BN's "
        f"value is strictly lower (the median BN/Standard ratio is shown beside it); held if "
        f"the share exceeds {SMOOTHER_SHARE:g} at every lr probed in both. {core.SEED_RULE}."
    )


LOSS_RANGE_RULE = step_rule(f"the loss range max − min over {PAPER_GRID} of L(w − ηg)")
GRAD_CHANGE_RULE = step_rule(
    f"the largest gradient change max over {PAPER_GRID} of ‖∇L(w − ηg) − g‖₂"
)
BETA_RULE = step_rule(
    "the effective β = max over the whole η grid of ‖∇L(w − ηg) − g‖₂ / ‖ηg‖₂, leaving out "
    f"every step at which either run had overshot already at the smallest η (‖Δg‖ >= "
    f"{core.OVERSHOOT:g} ‖g‖): there β reads about 1/η_min whatever the curvature (protocol "
    f"section 4); not measurable when fewer than {core.MIN_STEPS} steps remain"
)


def loss_range(run: pd.DataFrame) -> pd.Series:
    grouped = core.paper_etas(run).groupby("step")["value"]
    return grouped.max() - grouped.min()


def largest_change(run: pd.DataFrame) -> pd.Series:
    return core.paper_etas(run).groupby("step")["value"].max()


def per_step_value(run: pd.DataFrame) -> pd.Series:
    return run.groupby("step")["value"].max()


def saturated_steps(predictiveness: pd.DataFrame, beta: pd.DataFrame) -> pd.DataFrame:
    """Per run and probed step, whether ‖Δg‖ >= OVERSHOOT ‖g‖ at the smallest η probed.

    A non-finite gradient change (a step that blew up) counts as overshot.
    """
    diffs = core.quantity_rows(predictiveness, "grad_diff")
    norms = core.finite_rows(beta, "grad_norm")
    keys = ["normalization", "lr", "seed", "step"]
    if diffs.empty or norms.empty:
        return pd.DataFrame(columns=[*keys, "saturated"])
    smallest = diffs.loc[diffs.groupby(keys)["eta"].idxmin()]
    merged = smallest.merge(norms[[*keys, "value"]], on=keys, suffixes=("", "_g"))
    change = merged["value"].astype(float)
    merged["saturated"] = ~np.isfinite(change) | (change >= core.OVERSHOOT * merged["value_g"])
    return merged[[*keys, "saturated"]]


def early_pairs(metrics, rows, per_step, lr, seed, first, second=core.STANDARD, keep=None):
    """`first`'s and `second`'s per-step values at the probed steps of the early window of
    the Standard run at (lr, seed): (window, pairs with columns a, b), or why there are none."""
    window = core.early_window(metrics, lr, seed)
    if not isinstance(window, core.Window):
        return window
    series = []
    for normalization in (first, second):
        values = per_step(core.run_rows(rows, normalization, lr, seed))
        series.append(keep(values, normalization, lr, seed) if keep else values)
    pairs = core.paired_steps(*series, window)
    if len(pairs) < core.MIN_STEPS:
        return (
            f"{window.text()} at lr {lr:g} hold {len(pairs)} usable steps probed in both "
            f"runs (fewer than {core.MIN_STEPS})"
        )
    return window, pairs


def compare_early(
    metrics: pd.DataFrame,
    rows: pd.DataFrame,
    per_step: Callable[[pd.DataFrame], pd.Series],
    what: str,
    keep: Callable[[pd.Series, str, float, int], pd.Series] | None = None,
) -> core.Judgement:
    """The shared judge of the landscape claims: BN vs Standard, step by step, early on."""
    results, reasons = [], []
    by_seed: dict = {}
    for lr, seed in core.runs_present(rows, (core.STANDARD, core.BATCHNORM)):
        found = early_pairs(metrics, rows, per_step, lr, seed, core.BATCHNORM, keep=keep)
        if isinstance(found, str):
            reasons.append(found)
        else:
            by_seed.setdefault(seed, []).append((lr, *found))
    for seed, entries in sorted(by_seed.items()):
        shares = [core.fraction_below(pairs) for _, _, pairs in entries]
        texts, readings = [], []
        for (lr, window, pairs), share in zip(entries, shares, strict=True):
            texts.append(
                f"lr {lr:g}, {window.text()}: BN's {what} lower at {int(round(share * len(pairs)))}"
                f" of {len(pairs)} probed steps (share {fmt(share)}); median BN/Standard ratio "
                f"{fmt(core.median_ratio(pairs))}; BN {fmt(float(pairs['a'].median()))} vs "
                f"Standard {fmt(float(pairs['b'].median()))} (medians)"
            )
            readings.append(
                f"in steps 0-{window.end:g} at lr {lr:g} BN's {what} was below Standard's at "
                f"{int(round(share * len(pairs)))} of {len(pairs)} probed steps"
            )
        holds = all(share > SMOOTHER_SHARE for share in shares)
        reading = readings[0][0].upper() + "; ".join(readings)[1:] + "."
        results.append(core.SeedResult(seed, holds, min(shares), "; ".join(texts), reading))
    missing = "; ".join(dict.fromkeys(reasons)) or "no Standard/BN pair probed at enough steps"
    return core.across_seeds(results, "share of steps where BN is lower", missing)


def judge_loss_range(metrics: pd.DataFrame, landscape: pd.DataFrame) -> core.Judgement:
    return compare_early(metrics, core.finite_rows(landscape, "loss"), loss_range, "loss range")


def judge_grad_change(metrics: pd.DataFrame, predictiveness: pd.DataFrame) -> core.Judgement:
    return compare_early(
        metrics, core.finite_rows(predictiveness, "grad_diff"), largest_change, "gradient change"
    )


def judge_beta(
    metrics: pd.DataFrame, predictiveness: pd.DataFrame, beta: pd.DataFrame
) -> core.Judgement:
    saturation = saturated_steps(predictiveness, beta)

    def unsaturated(values: pd.Series, normalization: str, lr: float, seed) -> pd.Series:
        flagged = core.run_rows(saturation, normalization, lr, seed)
        saturated = set(flagged.loc[flagged["saturated"].astype(bool), "step"])
        return values[~values.index.isin(saturated)]

    judgement = compare_early(
        metrics,
        core.finite_rows(beta, "effective_beta"),
        per_step_value,
        "effective β",
        keep=unsaturated,
    )
    flags = {n: part["saturated"].astype(bool) for n, part in saturation.groupby("normalization")}
    shares = [
        f"{core.LP_LABELS[n]} {fmt(100 * float(flags[n].mean()))}%"
        for n in (core.STANDARD, core.BATCHNORM)
        if n in flags
    ]
    note = f" Saturated (left out): {', '.join(shares)} of probed steps." if shares else ""
    return core.Judgement(judgement.verdict, judgement.statistic + note, judgement.reading)
