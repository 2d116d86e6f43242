"""Claims of the paper's Fig 3: BatchNorm does not reduce internal covariate shift, measured
as the change of a layer's gradient when the preceding layers take their update."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from . import core
from .core import fmt, lr_text

ICS_RATIO_FLOOR = 0.5
NO_SHARED_LAYER = f"no layer probed at >= {core.MIN_STEPS} shared steps in a Standard and a BN run"
COSINE_TOLERANCE = 0.1

RELATIVE_RULE = (
    "ICS relative to the gradient = ‖G − G′‖₂ / ‖G‖₂ per probed step, so that it does not "
    "follow the size of the gradient through the phases of training. For every lr and layer "
    f"probed in both runs (>= {core.MIN_STEPS} shared probed steps over the whole run, as the "
    "paper's Fig 3 shows): the median over shared steps of BN's / Standard's value at the same "
    f"step; held if every such median is >= {ICS_RATIO_FLOOR:g}, i.e. BN's ICS is nowhere "
    "clearly lower. The same median of the absolute ‖G − G′‖₂ is shown for context. "
    f"{core.SEED_RULE}."
)
COSINE_RULE = (
    "For every lr and layer probed in both runs (>= "
    f"{core.MIN_STEPS} shared probed steps over the whole run): the median over shared steps of "
    f"BN's cos(G, G′) − Standard's at the same step; held if every such median is <= "
    f"{COSINE_TOLERANCE:g}, i.e. BN's gradients are nowhere clearly more stable. {core.SEED_RULE}."
)


def per_layer(rows: pd.DataFrame) -> dict[int, pd.Series]:
    return {int(layer): part.set_index("step")["value"] for layer, part in rows.groupby("layer")}


def layer_statistics(rows: pd.DataFrame, lr, seed, compare: Callable) -> list[dict]:
    """Per layer probed in both runs: compare(bn, standard) per shared step, its median."""
    standard = per_layer(core.run_rows(rows, core.STANDARD, lr, seed))
    batchnorm = per_layer(core.run_rows(rows, core.BATCHNORM, lr, seed))
    entries = []
    for layer in sorted(set(standard) & set(batchnorm)):
        pairs = core.paired_steps(batchnorm[layer], standard[layer])
        if len(pairs) >= core.MIN_STEPS:
            values = [compare(a, b) for a, b in zip(pairs["a"], pairs["b"], strict=True)]
            entries.append({"lr": lr, "layer": layer, "value": float(np.median(values))})
    return entries


def per_seed_entries(rows: pd.DataFrame, compare: Callable) -> dict:
    found: dict = {}
    for lr, seed in core.runs_present(rows, (core.STANDARD, core.BATCHNORM)):
        found.setdefault(seed, []).extend(layer_statistics(rows, lr, seed, compare))
    return {seed: pd.DataFrame(entries) for seed, entries in found.items() if entries}


def describe(entries: pd.DataFrame, what: str) -> str:
    lowest = entries.loc[entries["value"].idxmin()]
    highest = entries.loc[entries["value"].idxmax()]
    return (
        f"{what} over {len(entries)} (lr, layer) pairs: min {fmt(lowest['value'])} "
        f"({lr_text(lowest['lr'])}, layer #{int(lowest['layer'])}), max "
        f"{fmt(highest['value'])} ({lr_text(highest['lr'])}, layer #{int(highest['layer'])})"
    )


def judge_relative_ics(ics: pd.DataFrame) -> core.Judgement:
    relative = per_seed_entries(core.finite_rows(ics, "ics_relative"), core.ratio)
    absolute = per_seed_entries(core.finite_rows(ics, "ics_l2"), core.ratio)
    results = []
    for seed, entries in sorted(relative.items()):
        lowest = float(entries["value"].min())
        holds = lowest >= ICS_RATIO_FLOOR
        text = describe(entries, "median BN/Standard ratio of ‖G − G′‖/‖G‖ at the same step")
        if seed in absolute:
            text += "; " + describe(absolute[seed], "of the absolute ‖G − G′‖ (context)")
        reading = (
            f"Relative to its gradient, BN's ICS was at least {fmt(lowest)} x Standard's in "
            f"every layer and lr probed, "
            + ("so BN did not reduce it." if holds else "so somewhere BN clearly reduced it.")
        )
        results.append(core.SeedResult(seed, holds, lowest, text, reading))
    return core.across_seeds(results, "lowest BN/Standard ratio", NO_SHARED_LAYER)


def judge_cosine(ics: pd.DataFrame) -> core.Judgement:
    entries_by_seed = per_seed_entries(core.finite_rows(ics, "ics_cosine"), lambda a, b: a - b)
    results = []
    for seed, entries in sorted(entries_by_seed.items()):
        highest = float(entries["value"].max())
        holds = highest <= COSINE_TOLERANCE
        text = describe(entries, "median BN − Standard cos(G, G′) at the same step")
        reading = (
            f"BN's cos(G, G′) exceeded Standard's by at most {fmt(highest)} (median over steps) "
            "in any layer and lr, "
            + ("so BN's gradients were not more stable." if holds else "above the tolerance.")
        )
        results.append(core.SeedResult(seed, holds, highest, text, reading))
    return core.across_seeds(results, "highest BN − Standard difference", NO_SHARED_LAYER)
