"""The loss landscape along the gradient (the paper's Figs 4, 6 and 11): ranges over eta of the
loss and of the gradient change, effective beta, and beta beside the Hessian's curvature."""

from collections.abc import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullFormatter

from ..claims.core import (
    OVERSHOOT,
    PAPER_ETA,
    Window,
    early_window,
    finite_rows,
    paper_etas,
    quantity_rows,
)
from .style import (
    LP_NORMALIZATIONS,
    SEED_RANGE_NOTE,
    STEP_COLORMAP,
    add_figure_legend,
    add_normalization_legend,
    by_normalization,
    concat_rows,
    draw_seed_lines,
    draw_two_over_lr,
    evenly_spaced,
    format_lr,
    group_gid,
    group_label,
    label_without_lr,
    mark_no_data,
    new_figure,
    no_data_figure,
    normalization_color,
    normalization_label,
    only_normalizations,
    range_panel,
    range_width_rows,
    set_log_scale_if_positive,
    set_suptitle,
    sorted_normalizations,
    step_colors,
    step_scale,
    styled,
    wrapped_grid,
)


def mark_early_window(ax, metrics: pd.DataFrame | None, lr: float) -> list:
    """A dotted vertical line where early training ends (the claims' window, first seed)."""
    if metrics is None or metrics.empty:
        return []
    seeds = sorted(metrics.loc[np.isclose(metrics["lr"].astype(float), lr), "seed"].unique())
    window = early_window(metrics, lr, seeds[0]) if seeds else None
    if not isinstance(window, Window):
        return []
    return [
        ax.axvline(window.end, color="0.25", linestyle=(0, (1, 2)), linewidth=1.0,
                   label="end of early training (claims' window)", gid="early-window")
    ]  # fmt: skip


PAPER_ETA_NOTE = f"η in [{PAPER_ETA[0]:g}, {PAPER_ETA[1]:g}] × lr (the paper's)"


def range_figure(
    table: pd.DataFrame, quantity: str, ylabel: str, title: str, log_y: bool, metrics=None
):
    rows = paper_etas(finite_rows(table, quantity))
    lrs = sorted(rows["lr"].unique()) if not rows.empty else []
    if not lrs:
        return no_data_figure(title, "Step", ylabel)
    fig, axes = new_figure(1, len(lrs), panel_size=(5.2, 3.6), sharey=True)
    handles = []
    for ax, lr in zip(axes, lrs, strict=True):
        ax.set_title(f"lr {format_lr(lr)}")
        ax.set_xlabel("Step")
        handles += range_panel(ax, rows[rows["lr"] == lr], lr)
        handles += mark_early_window(ax, metrics, lr)
    axes[0].set_ylabel(ylabel)
    if log_y:
        set_log_scale_if_positive(axes[0], rows["value"])
    set_suptitle(fig, title, rows, SEED_RANGE_NOTE)
    add_figure_legend(fig, handles, f"band = range over {PAPER_ETA_NOTE}")
    return fig


LOSS_TITLE = "Loss landscape\nrange over η of L(w − ηg)"
GRAD = "‖∇L(w − ηg) − g‖₂"
GRAD_TITLE = f"Gradient predictiveness\nrange over η of {GRAD}"


@styled
def fig5_loss_landscape(metrics: pd.DataFrame, landscape: pd.DataFrame) -> Figure:
    """Range over eta of L(w_t - eta g) at every probed step, log y (paper Fig 4a)."""
    return range_figure(landscape, "loss", "Loss L(w − ηg)", LOSS_TITLE, True, metrics)


@styled
def fig6_gradient_predictiveness(metrics: pd.DataFrame, predictiveness: pd.DataFrame) -> Figure:
    """Range over eta of ||grad L(w_t - eta g) - g||_2 at every probed step (paper Fig 4b)."""
    return range_figure(predictiveness, "grad_diff", GRAD, GRAD_TITLE, False, metrics)


@styled
def fig7_beta_smoothness(metrics: pd.DataFrame, beta: pd.DataFrame) -> Figure:
    """Effective beta-smoothness (max over eta of the gradient change per step length), Fig 4c."""
    rows = finite_rows(beta, "effective_beta")
    title = "Effective β-smoothness\nmax over η of ‖∇L(w − ηg) − g‖₂ / ‖ηg‖₂"
    lrs = sorted(rows["lr"].unique()) if not rows.empty else []
    if not lrs:
        return no_data_figure(title, "Step", "Effective β")
    fig, axes = new_figure(1, len(lrs), panel_size=(5.2, 3.6), sharey=True)
    axes[0].set_ylabel("Effective β")
    handles = []
    for ax, lr in zip(axes, lrs, strict=True):
        ax.set_title(f"lr {format_lr(lr)}")
        ax.set_xlabel("Step")
        handles += draw_seed_lines(
            ax,
            rows[rows["lr"] == lr],
            lambda normalization, _lr: normalization_color(normalization),
            lambda _normalization, _lr: "-",
        )
        handles.append(draw_two_over_lr(ax, lr))
        handles += mark_early_window(ax, metrics, lr)
    set_suptitle(fig, title, rows)
    add_figure_legend(fig, handles)
    return fig


CURVATURE_LINES = (
    # quantity, label, line style, marker
    ("effective_beta", "effective β = max over η of ‖Δg‖ / ‖ηg‖", "-", None),
    ("lambda_max", "λ_max (top Hessian eigenvalue, Lanczos)", "--", "o"),
    ("directional_curvature", "gᵀHg / ‖g‖² (curvature along g)", ":", "s"),
)


def overshoot_fraction(predictiveness: pd.DataFrame, beta: pd.DataFrame) -> pd.DataFrame:
    """Per run and probed step, the fraction of the η grid at which ‖∇L(w − ηg) − g‖ ≥
    OVERSHOOT ‖g‖: there the gradient has changed about as much as it measures, and the
    ratio of β reads about 1/η whatever the curvature (protocol section 4). The β claim
    leaves out the steps where this holds at the smallest η."""
    # A non-finite gradient change (a step that blew up) has overshot most of all.
    diffs = quantity_rows(predictiveness, "grad_diff")
    norms = finite_rows(beta, "grad_norm")
    if diffs.empty or norms.empty:
        return pd.DataFrame(columns=["run", "normalization", "lr", "seed", "step", "value"])
    keys = ["run", "normalization", "lr", "seed", "step"]
    merged = diffs.merge(norms[[*keys, "value"]], on=keys, suffixes=("", "_g"))
    change = merged["value"].astype(float)
    merged["overshot"] = ~np.isfinite(change) | (change >= OVERSHOOT * merged["value_g"])
    return (
        merged.groupby(keys, as_index=False)["overshot"]
        .mean()
        .rename(columns={"overshot": "value"})
    )


def symlog_decades(ax, values: pd.Series) -> None:
    """A symmetric log axis (for values of both signs) ticked at 0 and at the powers of ten
    outside its linear part only: ticks inside it crowd 0. Ticks beyond the data are not
    shown (they are outside the axis' view)."""
    largest = float(values.abs().max())
    linthresh = 1e-2 * largest
    ax.set_yscale("symlog", linthresh=linthresh)
    decades = range(int(np.ceil(np.log10(linthresh))), int(np.ceil(np.log10(largest))) + 1)
    ticks = [0.0, *(sign * 10.0**k for k in decades for sign in (1, -1))]
    ax.yaxis.set_major_locator(FixedLocator(sorted(ticks)))


@styled
def beta_and_curvature(
    predictiveness: pd.DataFrame, beta: pd.DataFrame, curvature: pd.DataFrame
) -> Figure:
    """Effective β next to the curvature it stands for, and where its η grid saturates."""
    title = "Effective β and the curvature of the minibatch loss"
    frames = [frame for frame in (beta, curvature) if not frame.empty]
    rows = pd.concat(frames) if frames else beta
    rows = rows[rows["quantity"].isin([q for q, *_ in CURVATURE_LINES])] if not rows.empty else rows
    rows = rows[np.isfinite(rows["value"].astype(float))] if not rows.empty else rows
    if rows.empty:
        return no_data_figure(title, "Step", "1 / step length", panels=2)
    order = sorted_normalizations(rows["normalization"].unique())
    groups = sorted(
        {(n, float(lr)) for n, lr in zip(rows["normalization"], rows["lr"], strict=True)},
        key=lambda group: (order.index(group[0]), group[1]),
    )
    fig, axes = new_figure(2, len(groups), panel_size=(4.6, 3.0))
    top, bottom = axes[: len(groups)], axes[len(groups) :]
    overshoot = overshoot_fraction(predictiveness, beta)
    for ax, low, (normalization, lr) in zip(top, bottom, groups, strict=True):
        color = normalization_color(normalization)
        here = rows[(rows["normalization"] == normalization) & np.isclose(rows["lr"], lr)]
        for quantity, label, style, marker in CURVATURE_LINES:
            line = here[here["quantity"] == quantity].groupby("step")["value"].mean()
            if line.empty:
                continue
            ax.plot(
                line.index, line.values, color=color, linestyle=style, marker=marker,
                markersize=4, label=label, gid=f"{normalization}|{format_lr(lr)}|{quantity}",
            )  # fmt: skip
        draw_two_over_lr(ax, lr)
        # gᵀHg can be negative where the loss is not convex: a log axis would hide it.
        if (here["value"] <= 0).any():
            symlog_decades(ax, here["value"].astype(float))
        else:
            ax.set_yscale("log")
        ax.set_title(group_label(normalization, lr))
        share = overshoot[
            (overshoot["normalization"] == normalization) & np.isclose(overshoot["lr"], lr)
        ]
        share = share.groupby("step")["value"].mean()
        low.step(share.index, share.values, where="mid", color=color,
                 gid=f"{normalization}|{format_lr(lr)}|overshoot")  # fmt: skip
        low.set_ylim(-0.05, 1.05)
        low.set_xlabel("Step")
    # One label per row: with three or more panels a label on each would overlap the
    # tick labels of the panel to its left.
    top[0].set_ylabel("1 / step length")
    bottom[0].set_ylabel(f"share of η with\n‖Δg‖ ≥ {OVERSHOOT:g}‖g‖")
    set_suptitle(fig, title, rows)
    # Colour is the panel's normalisation; the legend says what each line style means.
    proxies = [
        Line2D([], [], color="0.3", linestyle=style, marker=marker, markersize=4, label=label)
        for _, label, style, marker in CURVATURE_LINES
    ]
    proxies.append(Line2D([], [], color="0.4", linestyle=":", linewidth=1.0, label="2 / lr"))
    fig.legend(handles=proxies, loc="outside lower center", ncols=2)
    return fig


def lp_range_panel(ax, rows: pd.DataFrame, lr: float) -> list:
    """One line per normalisation: the range over eta (max - min) at each probed step."""
    if rows.empty:
        mark_no_data(ax)
        return []
    color_of, style_of = by_normalization()
    widths = range_width_rows(rows)
    handles = draw_seed_lines(ax, widths, color_of, style_of, label_without_lr)
    set_log_scale_if_positive(ax, widths["value"])
    return handles


def lp_beta_panel(ax, rows: pd.DataFrame, lr: float) -> list:
    handles = []
    if rows.empty:
        mark_no_data(ax)
    else:
        color_of, style_of = by_normalization()
        handles = draw_seed_lines(ax, rows, color_of, style_of, label_without_lr)
    return [*handles, draw_two_over_lr(ax, lr)]


LP_LANDSCAPE_PANELS = (
    ("Loss landscape", "range of L(w − ηg)"),
    ("Gradient predictiveness", "range of ‖∇L(w − ηg) − g‖₂"),
    ("Effective β-smoothness", "Effective β"),
)


@styled
def lp_landscape(
    landscape: pd.DataFrame, predictiveness: pd.DataFrame, beta: pd.DataFrame
) -> Figure:
    """Loss range, gradient-change range and effective beta for l_p normalisation (Fig 6)."""
    title = "Loss landscape with $\\ell_p$ normalisation"
    loss = only_normalizations(paper_etas(finite_rows(landscape, "loss")), LP_NORMALIZATIONS)
    change = only_normalizations(
        paper_etas(finite_rows(predictiveness, "grad_diff")), LP_NORMALIZATIONS
    )
    effective = only_normalizations(finite_rows(beta, "effective_beta"), LP_NORMALIZATIONS)
    lrs = sorted(set(loss["lr"]) | set(change["lr"]) | set(effective["lr"]))
    if not lrs:
        return no_data_figure(title, "Step", "", panels=len(LP_LANDSCAPE_PANELS))
    fig, axes = new_figure(len(lrs), 3, panel_size=(4.4, 4.8))
    handles = []
    for row, lr in enumerate(lrs):
        loss_ax, change_ax, beta_ax = axes[3 * row : 3 * row + 3]
        suffix = f" (lr {format_lr(lr)})" if len(lrs) > 1 else ""
        for ax, (panel_title, ylabel) in zip(axes[3 * row :], LP_LANDSCAPE_PANELS, strict=False):
            ax.set_title(panel_title + suffix)
            ax.set_ylabel(ylabel)
        handles += lp_range_panel(loss_ax, loss[loss["lr"] == lr], lr)
        handles += lp_range_panel(change_ax, change[change["lr"] == lr], lr)
        handles += lp_beta_panel(beta_ax, effective[effective["lr"] == lr], lr)
    for ax in axes[-3:]:
        ax.set_xlabel("Step")
    fig.suptitle(title + lp_landscape_note(lrs, concat_rows(loss, change, effective)))
    add_normalization_legend(fig, handles)
    return fig


OWN_STEP_PANELS = (
    ("along −g (the paper's)", "along the optimiser's own step"),
    ("range of L", "range of ‖∇L − g‖₂"),
)


@styled
def own_step_landscape(
    landscape: pd.DataFrame, predictiveness: pd.DataFrame, own_step: pd.DataFrame
) -> Figure:
    """The paper's loss range and gradient change along -g beside the same measures along
    the step the optimiser really takes (d = update / lr, so η = lr is that step)."""
    title = "Loss landscape along −g and along the optimiser's own step"
    quantities = (
        (paper_etas(finite_rows(landscape, "loss")),
         paper_etas(finite_rows(own_step, "own_step_loss"))),
        (paper_etas(finite_rows(predictiveness, "grad_diff")),
         paper_etas(finite_rows(own_step, "own_step_grad_diff"))),
    )  # fmt: skip
    own = concat_rows(quantities[0][1], quantities[1][1])
    if own.empty:
        return no_data_figure(title, "Step", "", panels=2)
    lrs = sorted(own["lr"].unique())
    fig, axes = new_figure(2 * len(lrs), 2, panel_size=(4.4, 3.0), sharey="row")
    handles = []
    for block, lr in enumerate(lrs):
        suffix = f", lr {format_lr(lr)}" if len(lrs) > 1 else ""
        for row, (pair, ylabel) in enumerate(zip(quantities, OWN_STEP_PANELS[1], strict=True)):
            for column, rows in enumerate(pair):
                ax = axes[4 * block + 2 * row + column]
                if row == 0:
                    ax.set_title(OWN_STEP_PANELS[0][column] + suffix)
                if column == 0:
                    ax.set_ylabel(ylabel)
                handles += lp_range_panel(ax, rows[np.isclose(rows["lr"], lr)], lr)
    for ax in axes[-2:]:
        ax.set_xlabel("Step")
    lr_text = f"lr {format_lr(lrs[0])}; " if len(lrs) == 1 else ""
    fig.suptitle(
        f"{title}\n({lr_text}range = max − min over η in [0.5, 4] × lr; along the step, "
        "η = lr is the step taken)"
    )
    unique = {handle.get_label(): handle for handle in handles}
    add_normalization_legend(fig, list(unique.values()))
    return fig


def lp_landscape_note(lrs: list[float], rows: pd.DataFrame) -> str:
    lr_text = f"lr {format_lr(lrs[0])}; " if len(lrs) == 1 else ""
    seeds = rows["seed"].nunique()
    if seeds < 2:
        return f"\n({lr_text}range = max − min over η in [0.5, 4] × lr)"
    return (
        f"\n({lr_text}range = max − min over η in [0.5, 4] × lr; line = mean over {seeds} "
        "seeds, band = min..max over seeds)"
    )


def label_eta_axis(ax, etas, at_most: int = 6) -> None:
    """Log x-axis with plain labels at (at most `at_most` of) the probed step sizes."""
    ax.set_xscale("log")
    ticks = evenly_spaced(etas, at_most)
    ax.set_xticks(ticks, [f"{eta:g}" for eta in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())


@styled
def grad_change_vs_eta(
    predictiveness: pd.DataFrame, normalizations: Sequence[str] | None = None
) -> Figure:
    """||grad L(w_t - eta g) - g||_2 against eta, one line per probed step (paper Fig 11)."""
    title = "Gradient change against step size η, one line per probed step"
    xlabel, ylabel = "Step size η", "‖∇L(w − ηg) − g‖₂"
    rows = finite_rows(predictiveness, "grad_diff")
    rows = rows[(rows["value"] > 0) & (rows["eta"].astype(float) > 0)]
    if normalizations is not None:
        rows = only_normalizations(rows, normalizations)
    if rows.empty:
        return no_data_figure(title, xlabel, ylabel)
    shown = sorted_normalizations(rows["normalization"])
    lrs = sorted(rows["lr"].unique())
    fig, axes = wrapped_grid(len(lrs), len(shown), (4.4, 3.4), sharey="row")
    color_of_step = step_colors(rows["step"])
    for row, lr in enumerate(lrs):
        for column, normalization in enumerate(shown):
            ax = axes[row * len(shown) + column]
            group = rows[(rows["lr"] == lr) & (rows["normalization"] == normalization)]
            ax.set_title(f"{normalization_label(normalization)}, lr {format_lr(lr)}")
            ax.set_xlabel(xlabel)
            if ax.get_subplotspec().is_first_col():
                ax.set_ylabel(ylabel)
            if group.empty:
                mark_no_data(ax)
                continue
            mean = group.groupby(["step", "eta"])["value"].mean().reset_index()
            for step, line in mean.groupby("step"):
                ax.plot(
                    line["eta"],
                    line["value"],
                    color=color_of_step(step),
                    linewidth=1.0,
                    marker="o",
                    markersize=2.5,
                    gid=f"{group_gid(normalization, lr)}|step{step:g}",
                )
            ax.set_yscale("log")
            label_eta_axis(ax, mean["eta"], 6 if len(shown) < 3 else 4)  # narrower panels
    scale = matplotlib.cm.ScalarMappable(norm=step_scale(rows["step"]), cmap=STEP_COLORMAP)
    fig.colorbar(scale, ax=[ax for ax in axes if ax.get_visible()], label="Training step")
    seeds = rows["seed"].nunique()
    note = f"\n(mean over {seeds} seeds)" if seeds > 1 else ""
    fig.suptitle(title + note)
    return fig


SURFACE_MODES = (
    ("train_batch", "train mode, one training batch"),
    ("eval_test", "eval mode, test set"),
)


@styled
def loss_surface(surface: pd.DataFrame) -> Figure:
    """The 2-D loss surface around the final weights in two filter-normalised random
    directions (Li et al. 2018), one column per run of the lowest seed, train-mode
    normalisation on a training batch above and eval mode on the test set below, log colour
    scale shared along each row. Not the paper's landscape (fig5_loss_landscape)."""
    title = "Loss surface around the final weights (Li et al. 2018; not the paper's landscape)"
    if surface.empty:
        return no_data_figure(title, "direction 1", "direction 2")
    rows = surface[surface["seed"] == surface["seed"].min()]
    order = sorted_normalizations(rows["normalization"].unique())
    groups = sorted(
        {(n, float(lr)) for n, lr in zip(rows["normalization"], rows["lr"], strict=True)},
        key=lambda group: (order.index(group[0]), group[1]),
    )
    fig, axes = new_figure(len(SURFACE_MODES), len(groups), panel_size=(4.0, 3.6))
    for row, (mode, mode_label) in enumerate(SURFACE_MODES):
        here = rows[rows["mode"] == mode]
        logs = np.log10(here["loss"].clip(lower=1e-12))
        low, high = float(logs.min()), float(logs.max())
        levels = np.linspace(low, high if high > low else low + 1, 15)
        for column, (normalization, lr) in enumerate(groups):
            ax = axes[row * len(groups) + column]
            own = here[(here["normalization"] == normalization) & np.isclose(here["lr"], lr)]
            grid = own.pivot_table(index="b", columns="a", values="loss")
            filled = ax.contourf(grid.columns, grid.index, np.log10(grid.clip(lower=1e-12)),
                                 levels=levels, cmap="viridis")  # fmt: skip
            filled.set_gid(f"{group_gid(normalization, lr)}|{mode}")
            ax.plot([0], [0], marker="+", color="white", markersize=6)
            ax.set_title(f"{group_label(normalization, lr)}\n{mode_label}")
            ax.set_xlabel("direction 1")
            ax.set_ylabel("direction 2")
        colorbar = fig.colorbar(filled, ax=axes[row * len(groups) : (row + 1) * len(groups)])
        colorbar.set_label("log10 loss")
    fig.suptitle(title)
    return fig
