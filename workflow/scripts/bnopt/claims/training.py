"""Claims of the paper's Fig 1: BN trains faster at lr 0.1; at lr 0.5 only BN trains."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import core
from .core import final_accuracy, final_accuracy_or_zero, pct

FAST_LR = 0.1
LARGE_LR = 0.5
EARLY_FRACTION = 0.25
FASTER_MARGIN = 0.02
ACCURACY_TARGET = 0.8
FINAL_FRACTION = core.FINAL_FRACTION
FAILED_BELOW = 0.2
TRAINS_ABOVE = 0.5

FASTER_RULE = (
    f"At lr {FAST_LR:g}: mean training accuracy over the first {EARLY_FRACTION:.0%} of "
    f"training (steps 0 to {EARLY_FRACTION:g} x the last logged step of the longer run); "
    f"the statistic is BN's minus Standard's, held if it exceeds {100 * FASTER_MARGIN:g} "
    f"percentage points. Each run needs >= {core.MIN_STEPS} logged steps in that window. The step "
    f"where the {core.SMOOTHING_STEPS}-step rolling mean first reaches {ACCURACY_TARGET:.0%} is "
    f"reported for context only. {core.SEED_RULE}."
)
LARGE_LR_RULE = (
    f"At lr {LARGE_LR:g}, final training accuracy = mean over the logged steps in the last "
    f"{FINAL_FRACTION:.0%} of the run. Standard fails if it diverged or its final training "
    f"accuracy < {FAILED_BELOW:.0%}; BN trains if it did not diverge and its final training "
    f"accuracy > {TRAINS_ABOVE:.0%}; held if both. A diverged run counts as failing however "
    f"few rows it has; a run that did not diverge needs >= {core.MIN_STEPS} logged steps. "
    f"{core.SEED_RULE}."
)


def reached_text(step: float) -> str:
    return f"{step:g}" if np.isfinite(step) else "never"


def standard_and_bn(rows: pd.DataFrame, lr: float):
    """(seed, Standard's rows, BN's rows) for every seed with both runs at `lr`."""
    for seed in core.seeds_at(rows, lr):
        yield seed, *(core.run_rows(rows, n, lr, seed) for n in (core.STANDARD, core.BATCHNORM))


def judge_faster(metrics: pd.DataFrame) -> core.Judgement:
    rows = core.finite_rows(metrics, "train_accuracy")
    results = []
    for seed, standard, batchnorm in standard_and_bn(rows, FAST_LR):
        horizon = EARLY_FRACTION * max(standard["step"].max(), batchnorm["step"].max())
        early = [run[run["step"] <= horizon] for run in (standard, batchnorm)]
        if not all(core.has_enough_steps(run) for run in early):
            continue
        standard_mean, batchnorm_mean = (float(run["value"].mean()) for run in early)
        gap = batchnorm_mean - standard_mean
        reach = [
            core.first_step_where(core.smoothed(run), lambda v: v >= ACCURACY_TARGET)
            for run in (batchnorm, standard)
        ]
        text = (
            f"mean training accuracy over steps 0-{horizon:g}: BN {pct(batchnorm_mean)} vs "
            f"Standard {pct(standard_mean)}; smoothed {ACCURACY_TARGET:.0%} reached at step "
            f"{reached_text(reach[0])} (BN) vs {reached_text(reach[1])} (Standard)"
        )
        reading = (
            f"Over the first {EARLY_FRACTION:.0%} of training BN's training accuracy averaged "
            f"{100 * gap:+.1f} percentage points relative to Standard's at lr {FAST_LR:g}."
        )
        results.append(core.SeedResult(seed, gap > FASTER_MARGIN, gap, text, reading))
    return core.across_seeds(
        results, "BN − Standard early accuracy", "no Standard/BN pair at lr 0.1 with enough steps"
    )


def outcome_text(label: str, run: pd.DataFrame) -> str:
    step = core.diverged_at(run)
    if np.isfinite(step):
        return f"{label} diverged at step {step:g}"
    return f"{label} final training accuracy {pct(final_accuracy(run))}"


def judge_large_lr(metrics: pd.DataFrame) -> core.Judgement:
    # Unfiltered rows, so that a run that diverged before any finite accuracy still counts.
    rows = core.quantity_rows(metrics, "train_accuracy")
    results = []
    for seed, standard, batchnorm in standard_and_bn(rows, LARGE_LR):
        standard_accuracy = final_accuracy_or_zero(standard)
        batchnorm_accuracy = final_accuracy_or_zero(batchnorm)
        if not (np.isfinite(standard_accuracy) and np.isfinite(batchnorm_accuracy)):
            continue
        standard_fails = np.isfinite(core.diverged_at(standard)) or standard_accuracy < FAILED_BELOW
        batchnorm_trains = (
            not np.isfinite(core.diverged_at(batchnorm)) and batchnorm_accuracy > TRAINS_ABOVE
        )
        text = outcome_text("Standard", standard) + "; " + outcome_text("BN", batchnorm)
        reading = (
            f"At lr {LARGE_LR:g} {text}: Standard "
            + ("failed" if standard_fails else "trained")
            + " and BN "
            + ("trained." if batchnorm_trains else "did not train.")
        )
        results.append(
            core.SeedResult(
                seed,
                bool(standard_fails and batchnorm_trains),
                batchnorm_accuracy - standard_accuracy,
                text,
                reading,
            )
        )
    return core.across_seeds(
        results, "BN − Standard final accuracy", "no Standard/BN pair at lr 0.5 with usable rows"
    )
