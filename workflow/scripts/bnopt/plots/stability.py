"""The edge-of-stability figure (beyond the paper; Cohen et al. 2021 and 2022; Andreyev &
Beneventano 2024): the sharpness of the minibatch loss in units of the run's stability
threshold (2 / lr for plain SGD, (2 + 2 mu) / lr with momentum mu, 38 / lr for Adam's
preconditioned sharpness), over training. Its claim is in bnopt.claims.stability.

Left the batch sharpness gᵀHg / ‖g‖² of the step's minibatch (judged), right λ_max of the
same loss (drawn), each of P^-1 H for Adam; colour = normalisation, line style = learning
rate; the line at 1 is the threshold; the second half of the run (the claim's window) shaded.
"""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..quantities import late_start, over_threshold, seen_sharpness
from .landscape import symlog_decades
from .legends import add_figure_legend, encoding_note
from .panels import line_panel, no_data_figure
from .style import new_figure, set_log_scale_if_positive, set_suptitle, styled

LATE_LABEL = "second half of the run (judged)"
YLABEL = "sharpness ÷ stability threshold"

SHARPNESS_PANELS = (
    # quantity, panel title
    ("directional_curvature", "Batch sharpness gᵀHg / ‖g‖² (judged)"),
    ("lambda_max", "λ_max of the minibatch loss (drawn, not judged)"),
    # for Adam: of P^-1 H (bnopt.quantities.seen_sharpness)
)
LATE_SHADE = {"facecolor": "0.9", "edgecolor": "none", "zorder": 0}


def threshold_label(rows: pd.DataFrame) -> str:
    """The threshold line's legend entry: 2 / lr when every run is plain SGD's."""
    plain = np.allclose(rows["threshold"] * rows["lr"].astype(float), 2.0)
    return "stability threshold 2 / lr" if plain else "the optimiser's stability threshold"


@styled
def edge_of_stability(metrics: pd.DataFrame, curvature: pd.DataFrame) -> Figure:
    """Batch sharpness (left) and λ_max (right), each over its stability threshold, against
    step."""
    title = "Sharpness of the minibatch loss against the optimiser's stability threshold"
    rows = pd.concat([seen_sharpness(curvature, q) for q, _ in SHARPNESS_PANELS])
    if rows.empty:
        return no_data_figure(title, "Step", YLABEL, panels=2)
    rows = over_threshold(rows)
    fig, axes = new_figure(1, 2, panel_size=(4.6, 3.4), sharey=True)
    start = late_start(metrics, rows)
    handles = []
    for ax, (quantity, panel_title) in zip(axes, SHARPNESS_PANELS, strict=True):
        here = rows[rows["quantity"] == quantity]
        handles += line_panel(ax, here, YLABEL, panel_title)
        handles.append(ax.axhline(1.0, color="0.3", linestyle=":", linewidth=1.0,
                                  label=threshold_label(rows), gid="reference"))  # fmt: skip
        if np.isfinite(start) and not here.empty:
            handles.append(ax.axvspan(start, here["step"].max() + 1, label=LATE_LABEL,
                                      gid="late-window", **LATE_SHADE))  # fmt: skip
    values = pd.concat([rows["value"], pd.Series([1.0])])
    if (values <= 0).any():
        symlog_decades(axes[0], values)  # gᵀHg can be negative where the loss is not convex
    else:
        set_log_scale_if_positive(axes[0], values)
    axes[1].set_ylabel("")
    set_suptitle(fig, title, rows)
    add_figure_legend(fig, handles, encoding_note(rows))
    return fig
