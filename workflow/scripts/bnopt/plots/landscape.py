"""The loss landscape along the gradient (the paper's Figs 4, 6 and 11): ranges over eta of the
loss and of the gradient change, the rise of the loss and the upper edge of the gradient change
that the claims judge, effective beta, and beta beside the Hessian's curvature."""

from collections.abc import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullFormatter

from ..catalog import format_lr, normalization_label
from ..quantities import (
    OVERSHOOT,
    PAPER_ETA,
    STEP_KEYS,
    finite_rows,
    loss_rise,
    overshot,
    paper_etas,
    saturated,
    upper_edge,
)
from .legends import add_figure_legend, add_normalization_legend
from .panels import (
    draw_saturated_markers,
    draw_seed_lines,
    draw_two_over_lr,
    mark_no_data,
    no_data_figure,
    range_panel,
    range_width_rows,
    shade_early_window,
)
from .selection import LP_NORMALIZATIONS, concat_rows, evenly_spaced, only_normalizations
from .style import (
    STEP_COLORMAP,
    by_normalization,
    fitted_title,
    group_gid,
    group_label,
    label_without_lr,
    new_figure,
    normalization_color,
    set_log_scale_if_positive,
    set_suptitle,
    sorted_normalizations,
    step_colors,
    step_scale,
    styled,
    wrapped_grid,
)

PAPER_ETA_NOTE = f"η in [{PAPER_ETA[0]:g}, {PAPER_ETA[1]:g}] × lr (the paper's)"
RUN_KEYS = ["run", "normalization", "lr", "seed"]


def upper_edge_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Per run and probed step, the upper edge of its band over the paper's η (core.upper_edge,
    what the gradient-change claims judge), as tidy rows."""
    parts = []
    for (run, normalization, lr, seed), group in rows.groupby(RUN_KEYS, sort=False):
        edge = upper_edge(group)
        parts.append(
            pd.DataFrame({"run": run, "normalization": normalization, "lr": lr, "seed": seed,
                          "step": edge.index.to_numpy(dtype=float), "value": edge.to_numpy()})
        )  # fmt: skip
    return pd.concat(parts) if parts else pd.DataFrame(columns=[*RUN_KEYS, "step", "value"])


def judged_label(what: str):
    return lambda normalization, _lr: f"{normalization_label(normalization)}: {what} (judged)"


def solid_by_normalization():
    return (lambda normalization, _lr: normalization_color(normalization), lambda _n, _lr: "-")


def seeds_note(*frames: pd.DataFrame) -> str:
    seeds = max((frame["seed"].nunique() for frame in frames if not frame.empty), default=0)
    return str(seeds) if seeds > 1 else ""


def at(rows: pd.DataFrame, lr: float) -> pd.DataFrame:
    return rows[np.isclose(rows["lr"].astype(float), lr)] if not rows.empty else rows


LOSS_TITLE = (
    "Loss landscape: range over η of L(w − ηg) (top)\nand its rise above L(w), judged (bottom)"
)
RISE_LABEL = "max_η L(w − ηg) − L(w)"
GRAD = "‖∇L(w − ηg) − g‖₂"
GRAD_TITLE = f"Gradient predictiveness: range over η of\n{GRAD}; line = its max (judged)"
GRAD_SEED_NOTE = (
    "band: mean over {seeds} seeds of the per-seed min..max;\n"
    "line: mean, its band: min..max over seeds"
)


@styled
def fig5_loss_landscape(metrics: pd.DataFrame, landscape: pd.DataFrame) -> Figure:
    """Top: range over eta of L(w_t - eta g) at every probed step, log y (paper Fig 4a).
    Bottom: what the claim judges, the rise max over eta of L(w_t - eta g) - L(w_t), clipped
    at 0 (core.loss_rise), mean over seeds with a min..max band, symmetric-log y (linear below
    0.1). Early training (the
    claim's window) shaded."""
    rows = paper_etas(finite_rows(landscape, "loss"))
    rise = loss_rise(landscape, metrics)
    lrs = sorted({float(lr) for lr in (*rows["lr"], *rise["lr"])})
    if not lrs:
        return no_data_figure(LOSS_TITLE, "Step", "Loss L(w − ηg)")
    fig, axes = new_figure(2, len(lrs), panel_size=(5.2, 3.4), sharey="row")
    top, bottom = axes[: len(lrs)], axes[len(lrs) :]
    handles = []
    color_of, style_of = by_normalization()
    for ax, low, lr in zip(top, bottom, lrs, strict=True):
        ax.set_title(f"lr {format_lr(lr)}: range over η")
        low.set_title(f"lr {format_lr(lr)}: rise above L(w) (judged)")
        low.set_xlabel("Step")
        band = at(rows, lr)
        if band.empty:
            mark_no_data(ax)
        else:
            handles += range_panel(ax, band, lr)
        here = at(rise, lr)
        if here.empty:
            mark_no_data(low, "no data (needs the training loss)")
        else:
            handles += draw_seed_lines(low, here, color_of, style_of, judged_label("rise"),
                                       suffix="|rise")  # fmt: skip
            rise_scale(low)
        for panel in (ax, low):
            handles += shade_early_window(panel, metrics, rise)
    top[0].set_ylabel("Loss L(w − ηg)")
    bottom[0].set_ylabel(RISE_LABEL)
    if not rows.empty:
        set_log_scale_if_positive(top[0], rows["value"])
    seeds = seeds_note(rows, rise)
    note = (f"\n(top: mean over {seeds} seeds of the per-seed min..max;\nbottom: line = "
            "mean, band = min..max over seeds)") if seeds else ""  # fmt: skip
    fig.suptitle(fitted_title(fig, LOSS_TITLE + note))
    add_figure_legend(
        fig, handles,
        f"band = range over {PAPER_ETA_NOTE};\nrise = max over the same η of L(w − ηg) − L(w),\n"
        "0 where the loss falls at every η",
    )  # fmt: skip
    return fig


@styled
def fig6_gradient_predictiveness(metrics: pd.DataFrame, predictiveness: pd.DataFrame) -> Figure:
    """Range over eta of ||grad L(w_t - eta g) - g||_2 at every probed step (paper Fig 4b), with
    its upper edge (core.upper_edge, what the claim judges) as a solid line per normalisation,
    mean over seeds with a min..max band. Early training (the claim's window) shaded."""
    finite = finite_rows(predictiveness, "grad_diff")
    rows = paper_etas(finite)
    lrs = sorted(rows["lr"].unique()) if not rows.empty else []
    if not lrs:
        return no_data_figure(GRAD_TITLE, "Step", GRAD)
    fig, axes = new_figure(1, len(lrs), panel_size=(5.2, 3.6), sharey=True)
    handles = []
    color_of, style_of = solid_by_normalization()
    edges = upper_edge_rows(finite)
    for ax, lr in zip(axes, lrs, strict=True):
        ax.set_title(f"lr {format_lr(lr)}")
        ax.set_xlabel("Step")
        handles += range_panel(ax, at(rows, lr), lr)
        handles += draw_seed_lines(ax, at(edges, lr), color_of, style_of,
                                   judged_label("upper edge"), suffix="|edge")  # fmt: skip
        handles += shade_early_window(ax, metrics, finite)
    axes[0].set_ylabel(GRAD)
    # The claim compares ratios BN / Standard: a log axis shows them as distances.
    set_log_scale_if_positive(axes[0], rows["value"])
    set_suptitle(fig, GRAD_TITLE, rows, GRAD_SEED_NOTE)
    add_figure_legend(fig, handles, f"band = range over {PAPER_ETA_NOTE};\nline = its max over η")
    return fig


@styled
def fig7_beta_smoothness(
    metrics: pd.DataFrame, beta: pd.DataFrame, predictiveness: pd.DataFrame | None = None
) -> Figure:
    """Effective beta-smoothness (max over eta of the gradient change per step length), Fig 4c,
    with an 'x' at the steps where the step along -g overshot already at the smallest eta
    (core.saturated) and early training (the claim's window) shaded."""
    rows = finite_rows(beta, "effective_beta")
    title = "Effective β-smoothness\nmax over η of ‖∇L(w − ηg) − g‖₂ / ‖ηg‖₂"
    lrs = sorted(rows["lr"].unique()) if not rows.empty else []
    if not lrs:
        return no_data_figure(title, "Step", "Effective β")
    saturation = saturated(predictiveness, beta)
    fig, axes = new_figure(1, len(lrs), panel_size=(5.2, 3.6), sharey=True)
    axes[0].set_ylabel("Effective β")
    handles = []
    color_of, style_of = solid_by_normalization()
    for ax, lr in zip(axes, lrs, strict=True):
        ax.set_title(f"lr {format_lr(lr)}")
        ax.set_xlabel("Step")
        handles += draw_seed_lines(ax, at(rows, lr), color_of, style_of)
        handles += draw_saturated_markers(ax, at(rows, lr), saturation)
        handles.append(draw_two_over_lr(ax, lr))
        handles += shade_early_window(ax, metrics, rows)
    set_log_scale_if_positive(axes[0], rows["value"])  # the claim compares ratios
    set_suptitle(fig, title, rows)
    add_figure_legend(fig, handles)
    return fig


CURVATURE_LINES = (
    # quantity, label, line style, marker
    ("effective_beta", "effective β = max over η of ‖Δg‖ / ‖ηg‖ (judged)", "-", None),
    ("lambda_max", "λ_max (top Hessian eigenvalue, Lanczos; judged)", "--", "o"),
    ("directional_curvature", "gᵀHg / ‖g‖² (curvature along g; not judged)", ":", "s"),
)


def overshoot_fraction(predictiveness: pd.DataFrame, beta: pd.DataFrame) -> pd.DataFrame:
    """Per run and probed step, the fraction of the η grid at which the step overshot
    (core.overshot): there the ratio of β reads about 1/η whatever the curvature (protocol
    section 4). The β claim is read with and without the steps where this holds at the
    smallest η."""
    flags = overshot(predictiveness, beta)
    return (
        flags.groupby(STEP_KEYS, as_index=False)["overshot"]
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
    metrics: pd.DataFrame,
    predictiveness: pd.DataFrame,
    beta: pd.DataFrame,
    curvature: pd.DataFrame,
) -> Figure:
    """Effective β next to the curvature it stands for, and where its η grid saturates; early
    training (the β claim's window) shaded."""
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
    window = []
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
            set_log_scale_if_positive(ax, here["value"])
        ax.set_title(group_label(normalization, lr))
        share = overshoot[
            (overshoot["normalization"] == normalization) & np.isclose(overshoot["lr"], lr)
        ]
        share = share.groupby("step")["value"].mean()
        low.step(share.index, share.values, where="mid", color=color,
                 gid=f"{normalization}|{format_lr(lr)}|overshoot")  # fmt: skip
        low.set_ylim(-0.05, 1.05)
        low.set_xlabel("Step")
        for panel in (ax, low):
            window = shade_early_window(panel, metrics, finite_rows(beta, "effective_beta"))
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
    fig.legend(handles=proxies + window[:1], loc="outside lower center", ncols=2)
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


RISE_LINEAR_BELOW = 0.1  # the rise axis is linear up to this loss, logarithmic above


def rise_scale(ax) -> None:
    """A symmetric-log axis for the loss rise: a rise of 0.1-0.3 early in training stays
    visible beside spikes of 10 or more later (both are what the claim compares)."""
    ax.set_yscale("symlog", linthresh=RISE_LINEAR_BELOW)
    ax.set_ylim(bottom=0)


def lp_line_panel(ax, rows: pd.DataFrame, log_y: bool, suffix: str) -> list:
    """One line per normalisation (mean over seeds, band = min..max over seeds)."""
    if rows.empty:
        mark_no_data(ax)
        return []
    color_of, style_of = by_normalization()
    handles = draw_seed_lines(ax, rows, color_of, style_of, label_without_lr, suffix=suffix)
    if log_y:
        set_log_scale_if_positive(ax, rows["value"])
    return handles


LP_LANDSCAPE_PANELS = (
    ("Rise of the loss along −g\n(judged)", RISE_LABEL),
    ("Gradient change, upper edge\n(judged)", f"max_η {GRAD}"),
    ("Effective β-smoothness\n(not judged here)", "Effective β"),
)


@styled
def lp_landscape(
    metrics: pd.DataFrame,
    landscape: pd.DataFrame,
    predictiveness: pd.DataFrame,
    beta: pd.DataFrame,
) -> Figure:
    """What the l_p claim judges, per normalisation: the rise of the loss along -g above L(w)
    (core.loss_rise, symmetric-log y) and the upper edge over eta of the gradient change
    (core.upper_edge, log y), early training shaded; and the effective beta (paper Fig 6)."""
    title = "Loss landscape with $\\ell_p$ normalisation"
    rise = only_normalizations(loss_rise(landscape, metrics), LP_NORMALIZATIONS)
    finite = only_normalizations(finite_rows(predictiveness, "grad_diff"), LP_NORMALIZATIONS)
    change = upper_edge_rows(finite)
    effective = only_normalizations(finite_rows(beta, "effective_beta"), LP_NORMALIZATIONS)
    lrs = sorted({float(lr) for lr in (*rise["lr"], *change["lr"], *effective["lr"])})
    if not lrs:
        return no_data_figure(title, "Step", "", panels=len(LP_LANDSCAPE_PANELS))
    fig, axes = new_figure(len(lrs), 3, panel_size=(4.4, 4.8))
    handles = []
    for row, lr in enumerate(lrs):
        rise_ax, change_ax, beta_ax = axes[3 * row : 3 * row + 3]
        suffix = f" (lr {format_lr(lr)})" if len(lrs) > 1 else ""
        for ax, (panel_title, ylabel) in zip(axes[3 * row :], LP_LANDSCAPE_PANELS, strict=False):
            ax.set_title(panel_title.replace("\n", suffix + "\n", 1))
            ax.set_ylabel(ylabel)
        handles += lp_line_panel(rise_ax, at(rise, lr), False, "|rise")
        rise_scale(rise_ax)
        handles += lp_line_panel(change_ax, at(change, lr), True, "|edge")
        handles += lp_beta_panel(beta_ax, at(effective, lr), lr)
        for ax in (rise_ax, change_ax):  # what the claim judges, over early training
            handles += shade_early_window(ax, metrics, finite)
    for ax in axes[-3:]:
        ax.set_xlabel("Step")
    fig.suptitle(title + lp_landscape_note(lrs, concat_rows(rise, change, effective)))
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
    seeds = rows["seed"].nunique() if not rows.empty else 0
    seed_text = f"; line = mean over {seeds} seeds, band = min..max over seeds" if seeds > 1 else ""
    return f"\n({lr_text}max over η in [0.5, 4] × lr{seed_text})"


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
