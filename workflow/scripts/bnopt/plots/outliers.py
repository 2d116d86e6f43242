"""The figure of the gradient's concentration in the Hessian's top eigenspace (beyond the
paper; Ghorbani, Krishnan & Xiao 2019). Its claim is in bnopt.claims.outliers.

Left, with the batch's statistics (as in training; judged); right, with population
statistics (BatchNorm's running statistics, eval mode; drawn): the share of ‖g‖² in the
span of the top-k Hessian eigenvectors at each curvature step. Colour = normalisation, line
style = learning rate.
"""

import pandas as pd
from matplotlib.figure import Figure

from ..quantities import finite_rows
from .legends import add_figure_legend, encoding_note
from .panels import line_panel
from .style import new_figure, set_suptitle, styled

PANELS = (
    ("topk_share", "Batch statistics (judged)"),
    ("topk_share_population", "Population statistics (drawn)"),
)


@styled
def gradient_concentration(outliers: pd.DataFrame) -> Figure:
    """The top-k share of ‖g‖² against step, batch (left) and population (right) statistics."""
    fig, axes = new_figure(1, 2, panel_size=(4.6, 3.4), sharey=True)
    handles = []
    for ax, (quantity, title) in zip(axes, PANELS, strict=True):
        handles += line_panel(ax, finite_rows(outliers, quantity), "share of ‖g‖² in top-k", title)
        ax.set_ylim(-0.02, 1.02)
    axes[1].set_ylabel("")
    rows = finite_rows(outliers, "topk_share")
    set_suptitle(fig, "Share of the gradient in the top-k Hessian eigenspace", rows)
    add_figure_legend(fig, handles, encoding_note(rows) if not rows.empty else None)
    return fig
