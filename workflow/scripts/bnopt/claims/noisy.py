"""Claim of the paper's Figs 2 and 8: BatchNorm with injected covariate shift ("noisy BN")
trains about as well as BN although its activation distributions are less stable than the
standard network's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import core
from .core import fmt, lr_text
from .training import FINAL_FRACTION, final_accuracy_or_zero

NOISY_ACCURACY_TOLERANCE = 0.05

RULE = (
    f"At each lr and seed with Standard, BN and noisy BN runs: final training accuracy = mean "
    f"over the logged steps in the last {FINAL_FRACTION:.0%} of the run (a diverged run counts "
    f"as 0%). Instability of a run's activations, per layer probed at >= {core.MIN_STEPS} steps: "
    "the median over consecutive probed steps of |μₜ₊₁ − μₜ| / σₜ and of |σ²ₜ₊₁ − σ²ₜ| / σ²ₜ "
    "of its channel's pre-ReLU values (changes relative to the distribution's own scale, so a "
    "slow trend in a growing variance does not count as instability), then the median over "
    "the layers probed in both Standard and noisy BN. Held if noisy BN's final training "
    f"accuracy >= BN's − {100 * NOISY_ACCURACY_TOLERANCE:g} percentage points and both of "
    f"noisy BN's instabilities exceed Standard's, at every lr. {core.SEED_RULE}."
)


def relative_changes(moments: pd.DataFrame) -> pd.DataFrame:
    """Per layer: median over consecutive probed steps of |Δμ|/σ and |Δσ²|/σ²."""
    out = {}
    for layer, rows in moments.groupby("layer"):
        wide = rows.pivot_table(index="step", columns="quantity", values="value").sort_index()
        if not {"mean", "var"} <= set(wide.columns) or len(wide) < core.MIN_STEPS:
            continue
        mean, var = wide["mean"].to_numpy(), wide["var"].to_numpy()
        scale = np.sqrt(np.maximum(var[:-1], 1e-30))
        out[int(layer)] = {
            "mean": float(np.median(np.abs(np.diff(mean)) / scale)),
            "var": float(np.median(np.abs(np.diff(var)) / np.maximum(var[:-1], 1e-30))),
        }
    return pd.DataFrame.from_dict(out, orient="index")


def instability(moments: pd.DataFrame, lr, seed) -> dict | None:
    standard = relative_changes(core.run_rows(moments, core.STANDARD, lr, seed))
    noisy = relative_changes(core.run_rows(moments, core.NOISY_BATCHNORM, lr, seed))
    layers = sorted(set(standard.index) & set(noisy.index))
    if not layers:
        return None
    return {
        "layers": layers,
        **{
            moment: (
                float(noisy.loc[layers, moment].median()),
                float(standard.loc[layers, moment].median()),
            )
            for moment in ("mean", "var")
        },
    }


def judge_noisy(metrics: pd.DataFrame, activations: pd.DataFrame) -> core.Judgement:
    accuracy = core.quantity_rows(metrics, "train_accuracy")
    moments = pd.concat([core.finite_rows(activations, q) for q in ("mean", "var")])
    pairs = set(core.runs_present(accuracy, (core.BATCHNORM, core.NOISY_BATCHNORM)))
    pairs &= set(core.runs_present(moments, (core.STANDARD, core.NOISY_BATCHNORM)))
    by_seed: dict = {}
    for lr, seed in sorted(pairs):
        bn = final_accuracy_or_zero(core.run_rows(accuracy, core.BATCHNORM, lr, seed))
        noisy = final_accuracy_or_zero(core.run_rows(accuracy, core.NOISY_BATCHNORM, lr, seed))
        moved = instability(moments, lr, seed)
        if moved is None or not (np.isfinite(bn) and np.isfinite(noisy)):
            continue
        by_seed.setdefault(seed, []).append((lr, bn, noisy, moved))
    results = []
    for seed, entries in sorted(by_seed.items()):
        holds, texts = True, []
        for lr, bn, noisy, moved in entries:
            trains = noisy >= bn - NOISY_ACCURACY_TOLERANCE
            less_stable = all(moved[m][0] > moved[m][1] for m in ("mean", "var"))
            holds = holds and trains and less_stable
            layers = ", ".join(f"#{layer}" for layer in moved["layers"])
            texts.append(
                f"{lr_text(lr)}: final training accuracy noisy BN {100 * noisy:.1f}% vs BN "
                f"{100 * bn:.1f}% ({100 * (noisy - bn):+.1f} points); median over layers {layers}"
                f" of |Δμ|/σ noisy BN {fmt(moved['mean'][0])} vs Standard {fmt(moved['mean'][1])},"
                f" of |Δσ²|/σ² noisy BN {fmt(moved['var'][0])} vs Standard {fmt(moved['var'][1])}"
            )
        lr, bn, noisy, moved = entries[0]
        reading = (
            f"Noisy BN ended {100 * (noisy - bn):+.1f} points from BN's training accuracy, and "
            f"its activations moved {fmt(moved['mean'][0] / max(moved['mean'][1], 1e-30))} x "
            "(mean) and "
            f"{fmt(moved['var'][0] / max(moved['var'][1], 1e-30))} x (variance) as much as "
            "Standard's between probed steps."
        )
        results.append(core.SeedResult(seed, holds, noisy - bn, "; ".join(texts), reading))
    return core.across_seeds(
        results,
        "noisy BN − BN final accuracy",
        "no lr with BN and noisy BN training runs and Standard and noisy BN activation "
        f"moments at >= {core.MIN_STEPS} probed steps",
    )
