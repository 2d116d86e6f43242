"""Figures of the deep linear network experiment (protocol section 7); its claims are in
bnopt.claims.dln.

The figures take the tidy tables of results/tables/dln/ and reuse the style of bnopt.plots:
colour = normalisation (the palette of the VGG landscape figures: Standard blue, BN orange)
and line style = learning rate, because the comparison here is Standard against BN. Every
artist carries a gid as in bnopt.plots: "none|1e-06" for a line, "none|1e-06|range" for a
range over eta, "reference" for reference lines.
"""

import pandas as pd
from matplotlib.figure import Figure

from ..catalog import format_lr, normalization_label
from ..quantities import (
    finite_rows,
    saturated,
)
from ..tables import at_lr
from .legends import add_figure_legend, encoding_note
from .panels import (
    decorate_ics_cosine_panel,
    decorate_ics_l2_panel,
    draw_saturated_markers,
    draw_seed_lines,
    draw_two_over_lr,
    no_data_figure,
    range_width_rows,
    start_step_panel,
)
from .selection import concat_rows, layers_to_show
from .style import (
    SEED_RANGE_NOTE,
    by_lr_and_style,
    new_figure,
    normalization_color,
    set_log_scale_if_positive,
    set_suptitle,
    styled,
)


def lines_panel(ax, rows: pd.DataFrame, ylabel: str, title: str) -> list:
    """One line per normalisation x lr (mean over seeds, band over seeds)."""
    if not start_step_panel(ax, rows, ylabel, title):
        return []
    color_of, style_of = by_lr_and_style(rows)
    handles = draw_seed_lines(ax, rows, color_of, style_of)
    return sorted(handles, key=lambda handle: -float(handle.get_gid().split("|")[1]))


@styled
def dln_ics(ics: pd.DataFrame) -> Figure:
    """cos(G, G') (top) and ||G - G'||_2 (bottom, log) vs step, one column per probed layer."""
    title = "Deep linear network: internal covariate shift"
    cosine = finite_rows(ics, "ics_cosine")
    l2 = finite_rows(ics, "ics_l2")
    layers = layers_to_show(pd.concat([cosine, l2]), None)
    if not layers:
        return no_data_figure(title, "Step", "cos(G, G′)")
    fig, axes = new_figure(2, len(layers), panel_size=(5.0, 3.2))
    handles = []
    for column, layer in enumerate(layers):
        cos_ax, l2_ax = axes[column], axes[len(layers) + column]
        layer_cosine = cosine[cosine["layer"] == layer]
        handles += lines_panel(cos_ax, layer_cosine, "cos(G, G′)", f"Layer #{layer} (judged)")
        decorate_ics_cosine_panel(cos_ax, layer_cosine)
        layer_l2 = l2[l2["layer"] == layer]
        handles += lines_panel(l2_ax, layer_l2, "‖G − G′‖₂", f"Layer #{layer} (not judged)")
        decorate_ics_l2_panel(l2_ax, layer_l2)
    both = pd.concat([cosine, l2])
    set_suptitle(fig, title, both)
    add_figure_legend(fig, handles, encoding_note(both))
    return fig


@styled
def dln_training(metrics: pd.DataFrame) -> Figure:
    """Full-batch training loss vs step, log y, one line per normalisation x lr."""
    title = "Deep linear network: training loss $\\|W_L \\cdots W_1 X - AX\\|_F^2$"
    loss = finite_rows(metrics, "train_loss")
    # Taller than wide-panel figures: its title takes three lines and its legend ten rows.
    fig, (ax,) = new_figure(1, 1, panel_size=(6.4, 5.4))
    handles = lines_panel(ax, loss, "Training loss", "")
    if not loss.empty:
        set_log_scale_if_positive(ax, loss["value"])
    set_suptitle(fig, title, loss)
    add_figure_legend(fig, handles, encoding_note(loss) if not loss.empty else None)
    return fig


def normalization_lines(ax, rows: pd.DataFrame) -> list:
    """Solid lines coloured by normalisation, each labelled with its normalisation only (the
    panel says the learning rate)."""
    handles = draw_seed_lines(
        ax,
        rows,
        lambda normalization, _lr: normalization_color(normalization),
        lambda _normalization, _lr: "-",
    )
    for handle in handles:
        if handle.get_gid().count("|") == 1:  # a mean line, not a band or a marker
            normalization = handle.get_gid().split("|")[0]
            handle.set_label(normalization_label(normalization))
    return handles


def range_over_eta_panel(ax, rows: pd.DataFrame, lr: float, ylabel: str, title: str) -> list:
    """One line per normalisation: the range over eta (max - min) at each probed step (five
    shaded bands would hide one another)."""
    if not start_step_panel(ax, rows, f"range of {ylabel}", title):
        return []
    widths = range_width_rows(rows)
    handles = normalization_lines(ax, widths)
    set_log_scale_if_positive(ax, widths["value"])
    return handles


def beta_panel(ax, rows: pd.DataFrame, lr: float, title: str, saturation=None) -> list:
    """Effective β per normalisation, 2 / lr, and an 'x' at the steps where a run overshot
    already at the smallest η (core.saturated; the β claims read β with and without them)."""
    if not start_step_panel(ax, rows, "Effective β", title):
        return []
    handles = normalization_lines(ax, rows)
    if saturation is not None:
        handles += draw_saturated_markers(ax, rows, saturation)
    reference = draw_two_over_lr(ax, lr)
    reference.set_zorder(3)  # BN's line tends to lie on 2/lr: keep the reference visible
    set_log_scale_if_positive(ax, rows["value"])
    return [*handles, reference]


@styled
def dln_landscape(
    landscape: pd.DataFrame, predictiveness: pd.DataFrame, beta: pd.DataFrame
) -> Figure:
    """Loss range, gradient-change range and effective beta over eta (an 'x' where a step
    overshot at the smallest eta); one row per lr, log y."""
    title = "Deep linear network: loss landscape along the gradient"
    loss = finite_rows(landscape, "loss")
    diff = finite_rows(predictiveness, "grad_diff")
    effective = finite_rows(beta, "effective_beta")
    everything = concat_rows(loss, diff, effective)
    lrs = sorted(everything["lr"].astype(float).unique(), reverse=True)
    if not lrs:
        return no_data_figure(title, "Step", "Loss L(w − ηg)")
    fig, axes = new_figure(len(lrs), 3, panel_size=(4.6, 3.3))
    saturation = saturated(predictiveness, beta)
    handles = []
    for row, lr in enumerate(lrs):
        loss_ax, diff_ax, beta_ax = axes[3 * row : 3 * row + 3]
        at = f"lr {format_lr(lr)}"  # on a line of its own: three titles side by side
        handles += range_over_eta_panel(
            loss_ax, at_lr(loss, lr), lr, "L(w − ηg)", f"Loss landscape,\n{at} (not judged)"
        )
        handles += range_over_eta_panel(
            diff_ax, at_lr(diff, lr), lr, "‖Δg‖₂", f"Gradient change,\n{at} (not judged)"
        )
        handles += beta_panel(
            beta_ax, at_lr(effective, lr), lr, f"Effective β,\n{at} (judged)", saturation
        )
    set_suptitle(fig, title, everything, SEED_RANGE_NOTE)
    add_figure_legend(
        fig,
        handles,
        "ranges: max − min over η of L(w − ηg) and of ‖Δg‖₂ = ‖∇L(w − ηg) − g‖₂; "
        "effective β = max over η of ‖Δg‖₂ / ‖ηg‖₂",
    )
    return fig
