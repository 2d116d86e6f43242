"""Internal covariate shift (the paper's Fig 3): ||G - G'||, its ratio to ||G|| and cos(G, G')."""

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..quantities import (
    finite_rows,
)
from .legends import add_figure_legend, encoding_note
from .panels import decorate_ics_cosine_panel, decorate_ics_l2_panel, line_panel, no_data_figure
from .selection import layers_to_show
from .style import new_figure, set_suptitle, styled


def ics_figure(
    ics: pd.DataFrame,
    quantity: str,
    ylabel: str,
    title: str,
    layers: Sequence[int] | None,
    decorate_panel: Callable,
) -> Figure:
    rows = finite_rows(ics, quantity)
    shown = layers_to_show(rows, layers)
    if not shown:
        return no_data_figure(title, "Step", ylabel)
    ncols = min(len(shown), 3)
    nrows = int(np.ceil(len(shown) / ncols))
    fig, axes = new_figure(nrows, ncols)
    handles = []
    for ax, layer in zip(axes, shown, strict=False):
        layer_rows = rows[rows["layer"] == layer]
        handles += line_panel(ax, layer_rows, ylabel, f"Layer #{layer}")
        decorate_panel(ax, layer_rows)
    for ax in axes[len(shown) :]:
        ax.set_visible(False)
    set_suptitle(fig, title, rows)
    add_figure_legend(fig, handles, encoding_note(rows) if not rows.empty else None)
    return fig


@styled
def fig3_ics_l2(ics: pd.DataFrame, layers: Sequence[int] | None = None) -> Figure:
    """ICS as the l2 change of a layer's gradient, one panel per layer (paper Fig 3).

    `layers` defaults to every layer in the table (the config's probes.ics_layers).
    """
    return ics_figure(
        ics,
        "ics_l2",
        "‖G − G′‖₂",
        "Internal covariate shift: ‖G − G′‖₂",
        layers,
        decorate_ics_l2_panel,
    )


@styled
def ics_relative(ics: pd.DataFrame, layers: Sequence[int] | None = None) -> Figure:
    """ICS relative to the gradient, ||G - G'|| / ||G||, one panel per layer: the quantity
    the ICS claim is judged on, free of the gradient's size in each phase of training."""
    return ics_figure(
        ics,
        "ics_relative",
        "‖G − G′‖₂ / ‖G‖₂",
        "Internal covariate shift relative to the gradient: ‖G − G′‖₂ / ‖G‖₂",
        layers,
        decorate_ics_l2_panel,
    )


@styled
def fig4_ics_cosine(ics: pd.DataFrame, layers: Sequence[int] | None = None) -> Figure:
    """ICS as the cosine between a layer's gradient before and after (paper Fig 3)."""
    return ics_figure(
        ics,
        "ics_cosine",
        "cos(G, G′)",
        "Internal covariate shift: cos(G, G′)",
        layers,
        decorate_ics_cosine_panel,
    )
