"""Which rows the figures draw: the normalisations of the noisy-BatchNorm and l_p figures,
the layers, a few evenly spaced values (the ridge plots' steps), tables stacked or filtered."""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import catalog

NOISY_NORMALIZATIONS = ("none", "batch", "noisy_batch")


# The l_p experiment's figures: the paper's five always, the per-sample normalisations
# (beyond the paper) when a config runs them.
PAPER_LP_NORMALIZATIONS = ("none", "batch", "l1", "l2", "linf")


LP_NORMALIZATIONS = (*PAPER_LP_NORMALIZATIONS, *catalog.family("per_sample"))


def lp_normalizations(rows: pd.DataFrame) -> tuple[str, ...]:
    """The l_p figures' normalisations for one table: the paper's, and any other it holds."""
    present = set(rows["normalization"]) if not rows.empty else set()
    return tuple(n for n in LP_NORMALIZATIONS if n in PAPER_LP_NORMALIZATIONS or n in present)


def layers_to_show(rows: pd.DataFrame, layers: Sequence[int] | None) -> list[int]:
    if layers is not None:
        return list(layers)
    present = rows["layer"].dropna().astype(int).unique() if not rows.empty else []
    return sorted(present)


def concat_rows(*frames: pd.DataFrame) -> pd.DataFrame:
    """The frames stacked; empty ones are left out (an all-empty input gives the first)."""
    present = [frame for frame in frames if not frame.empty]
    return pd.concat(present) if present else frames[0]


def only_normalizations(rows: pd.DataFrame, normalizations: Sequence[str]) -> pd.DataFrame:
    return rows[rows["normalization"].isin(normalizations)]


RIDGE_COUNT = 8


def evenly_spaced(values, count: int = RIDGE_COUNT) -> list:
    """At most `count` of the sorted distinct values, evenly spaced, first and last included."""
    values = sorted(set(values))
    if len(values) <= count:
        return values
    picks = np.unique(np.round(np.linspace(0, len(values) - 1, count)).astype(int))
    return [values[i] for i in picks]
