"""The figure of networks at initialisation (bnopt.initialisation); its claims are in
bnopt.claims.initialisation.

Layer (depth) on x instead of the step: one row of panels per network, the effective rank of
each layer's representation (left) and its gradient norm relative to the last layer's
(right, log). Colour = normalisation as everywhere; the layers a claim judges are shaded.
"""

import pandas as pd
from matplotlib.figure import Figure

from ..quantities import INIT_NETWORKS, deep_half, input_half, network_rows
from .legends import add_normalization_legend
from .panels import draw_seed_lines, mark_no_data
from .style import (
    label_without_lr,
    new_figure,
    normalization_color,
    set_log_scale_if_positive,
    set_suptitle,
    styled,
)

GRADIENT_LABEL = r"$\|\nabla_{W_l} L\| \;/\; \|\nabla_{W_{\mathrm{last}}} L\|$"
JUDGED_SHADE = {"color": "0.85", "alpha": 0.5, "linewidth": 0, "zorder": 0}


def layer_panel(ax, rows: pd.DataFrame, ylabel: str, title: str, judged: pd.DataFrame) -> list:
    """Mean over seeds and min..max band per normalisation, by layer; the judged layers
    shaded."""
    ax.set_title(title)
    ax.set_xlabel("Layer (depth)")
    ax.set_ylabel(ylabel)
    if rows.empty:
        mark_no_data(ax)
        return []
    by_layer = rows.assign(step=rows["layer"], lr=0.0)  # the seed-line helper draws along step
    handles = draw_seed_lines(
        ax,
        by_layer,
        lambda normalization, _lr: normalization_color(normalization),
        lambda _normalization, _lr: "-",
        label_of=label_without_lr,
    )
    if judged.empty:
        return handles
    low, high = judged["layer"].min() - 0.5, judged["layer"].max() + 0.5
    shade = ax.axvspan(low, high, label="layers the claim judges", gid="judged", **JUDGED_SHADE)
    return [*handles, shade]


@styled
def init_signal_propagation(init: pd.DataFrame) -> Figure:
    """Effective rank (left) and relative gradient norm (right, log) against layer, one row
    per network (conv stack, deep linear network)."""
    fig, axes = new_figure(len(INIT_NETWORKS), 2, panel_size=(4.6, 3.2))
    handles = []
    for row, (network, label) in enumerate(INIT_NETWORKS.items()):
        rank_ax, grad_ax = axes[2 * row], axes[2 * row + 1]
        rank = network_rows(init, network, "effective_rank")
        handles += layer_panel(rank_ax, rank, "Effective rank", f"{label}: rank", deep_half(rank))
        grad = network_rows(init, network, "relative_grad_norm")
        judged = input_half(grad) if network == "conv_stack" else grad.iloc[:0]
        title = f"{label}: gradient" + ("" if network == "conv_stack" else " (not judged)")
        handles += layer_panel(grad_ax, grad, GRADIENT_LABEL, title, judged)
        set_log_scale_if_positive(grad_ax, grad["value"])
    set_suptitle(
        fig,
        "At initialisation: rank of each layer's representation and its gradient norm",
        init if init is not None and not init.empty else pd.DataFrame(columns=["seed"]),
    )
    add_normalization_legend(fig, handles)
    return fig
