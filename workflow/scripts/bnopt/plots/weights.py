"""The figure of the weights over training (the weights probe; beyond the paper): scale
invariance (Arora, Li & Lyu 2019; Li & Arora 2020) and distance from initialisation. Its
claim is in bnopt.claims.weights.

Colour = normalisation, line style = learning rate, as in every figure. The panels over
steps show, per run, the geometric mean over the hidden weight layers (every weight layer
but the last; with a normalisation each is scale-invariant) and then the mean and min..max
band over seeds; the last panel shows every weight layer at the last probed step.
"""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..quantities import finite_rows, hidden_layers, relative_to_initial
from ..tables import RELATIVE
from .legends import add_figure_legend, encoding_note
from .panels import draw_seed_lines, line_panel, mark_no_data, shade_early_window
from .style import by_lr_and_style, new_figure, set_log_scale_if_positive, set_suptitle, styled


def layer_mean(rows: pd.DataFrame) -> pd.DataFrame:
    """Per run and step, the geometric mean over the rows' layers (positive values)."""
    if rows.empty:
        return rows
    keys = ["run", "normalization", "lr", "seed", "step"]
    positive = rows[rows["value"] > 0].assign(value=lambda r: np.log(r["value"]))
    mean = positive.groupby(keys, as_index=False)["value"].mean()
    return mean.assign(value=np.exp(mean["value"]), layer=np.nan, diverged_at=np.nan)


def last_step_by_layer(rows: pd.DataFrame) -> pd.DataFrame:
    """Each run's rows at its last probed step, with the layer as the x value (`step`)."""
    if rows.empty:
        return rows
    last = rows.groupby("run")["step"].transform("max")
    return rows[rows["step"] == last].assign(step=lambda r: r["layer"], diverged_at=np.nan)


@styled
def weight_norms(weights: pd.DataFrame) -> Figure:
    """‖W_t‖ / ‖W_0‖, lr / ‖W_t‖², the angular update (hidden layers, over steps) and
    ‖W_T − W_0‖ / ‖W_0‖ per layer at the last probed step."""
    norms = finite_rows(weights, "weight_norm")
    hidden = hidden_layers(norms)
    growth = layer_mean(relative_to_initial(hidden, norms))
    effective = hidden.assign(value=hidden["lr"].astype(float) / hidden["value"] ** 2)
    angle = hidden_layers(finite_rows(weights, "angular_update"))
    distance = relative_to_initial(finite_rows(weights, "distance_from_init"), norms)
    fig, axes = new_figure(2, 2, panel_size=(4.6, 3.2))
    handles = []
    handles += line_panel(axes[0], growth, "‖W_t‖ / ‖W_0‖", "Weight norm (hidden layers)")
    handles += line_panel(
        axes[1], layer_mean(effective), "lr / ‖W_t‖²", "Effective learning rate (hidden layers)"
    )
    set_log_scale_if_positive(axes[1], effective["value"])
    handles += line_panel(
        axes[2], layer_mean(angle), "angle(W_t, W_t+1) (rad)", "Angular update (hidden layers)"
    )
    set_log_scale_if_positive(axes[2], angle["value"])
    by_layer = last_step_by_layer(distance)
    axes[3].set_title("Distance from initialisation, last probed step")
    axes[3].set_xlabel("Layer")
    axes[3].set_ylabel("‖W_T − W_0‖ / ‖W_0‖")
    if by_layer.empty:
        mark_no_data(axes[3])
    else:
        color_of, style_of = by_lr_and_style(by_layer)
        handles += draw_seed_lines(axes[3], by_layer, color_of, style_of)
    set_suptitle(fig, "Weights over training: scale invariance and distance from init", norms)
    add_figure_legend(fig, handles, encoding_note(norms))
    return fig


RELATIVE_PANELS = (
    # quantity, y label, panel title
    ("lambda_max", "λ_max of H", "λ_max of the minibatch loss"),
    (f"{RELATIVE}lambda_max", "λ_max(D H D), D = ‖W_l‖", "Per relative perturbation (judged)"),
)


@styled
def relative_sharpness(metrics: pd.DataFrame, curvature: pd.DataFrame) -> Figure:
    """λ_max of the loss's Hessian (left) and of the weight layers' Hessian per unit of
    relative perturbation (right), over steps; early training (the claim's window) shaded."""
    fig, axes = new_figure(1, 2, panel_size=(4.2, 3.4))
    handles, drawn = [], []
    for ax, (quantity, ylabel, title) in zip(axes, RELATIVE_PANELS, strict=True):
        rows = finite_rows(curvature, quantity)
        handles += line_panel(ax, rows, ylabel, title)
        if not rows.empty:
            set_log_scale_if_positive(ax, rows["value"])
            handles += shade_early_window(ax, metrics, rows)
            drawn.append(rows)
    everything = pd.concat(drawn) if drawn else finite_rows(curvature, "lambda_max")
    set_suptitle(fig, "Sharpness with and without the weight-norm correction", everything)
    add_figure_legend(fig, handles, encoding_note(everything) if drawn else None)
    return fig
