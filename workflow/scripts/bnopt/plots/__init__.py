"""Figures of the reproduction, one function per figure, in one module per experiment:
training, ics, landscape, activations, dln and, beyond the paper, weights,
stability, outliers and initialisation.
They share the look of bnopt.plots.style (colours, sizes, titles, saving), the legends of
bnopt.plots.legends, what bnopt.plots.panels draws into a panel and the rows
bnopt.plots.selection picks.

Every function takes tidy tables (columns run, normalization, lr, seed, step, quantity, value,
layer, eta and, for metrics, diverged_at) and returns a matplotlib Figure. Figures are built
with `matplotlib.figure.Figure` directly, so nothing is left open in pyplot's global state.

Encoding: colour = normalisation in every figure (the same colour for the same
normalisation everywhere), line style = learning rate; the landscape figures have one panel
per learning rate. Figures are one column (3.3 in) or the full text width (6.8 in) wide.
Several seeds of one (normalisation, lr) are drawn as the mean line plus a min..max band.
Every drawn artist carries a gid naming its group, e.g. "none|0.1" for a mean line,
"none|0.1|band" for a seed band, "none|0.1|range" for a range over eta and
"none|0.5|diverged" for the markers where the group's diverged runs stopped.

The noisy-BatchNorm and l_p figures colour by normalisation (with the normalisation's line
style as well, so they survive grey-scale printing); the activation ridge plots and the
gradient-change-vs-eta curves colour by training step.
"""

import importlib

MODULES = (
    "activations",
    "dln",
    "ics",
    "initialisation",
    "landscape",
    "legends",
    "outliers",
    "panels",
    "selection",
    "stability",
    "style",
    "training",
    "weights",
)


def __getattr__(name: str):
    """bnopt.plots.<name>: a figure function or helper of any of the modules, imported on
    first use (a figure job imports only its own module: bnopt.code_identity)."""
    for module in MODULES:
        found = importlib.import_module(f"{__name__}.{module}")
        if hasattr(found, name):
            return getattr(found, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
