"""Figures of the reproduction (the paper's Figs 1-6, 8, 11-13), one function per figure.

Every function takes tidy tables (columns run, normalization, lr, seed, step, quantity, value,
layer, eta and, for metrics, diverged_at) and returns a matplotlib Figure. Figures are built
with `matplotlib.figure.Figure` directly, so nothing is left open in pyplot's global state.

Encoding: in the training/ICS figures colour = learning rate and line style = normalisation;
in the landscape figures colour = normalisation and there is one panel per learning rate.
Several seeds of one (normalisation, lr) are drawn as the mean line plus a min..max band.
Every drawn artist carries a gid naming its group, e.g. "none|0.1" for a mean line,
"none|0.1|band" for a seed band, "none|0.1|range" for a range over eta and
"none|0.5|diverged" for the markers where the group's diverged runs stopped.

The noisy-BatchNorm and l_p figures colour by normalisation (with the normalisation's line
style as well, so they survive grey-scale printing); the activation ridge plots and the
gradient-change-vs-eta curves colour by training step.
"""

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter, PercentFormatter

from .claims.core import (
    OVERSHOOT,
    PAPER_ETA,
    Window,
    early_window,
    finite_rows,
    paper_etas,
    quantity_rows,
)

# Figures are drawn on Figure objects, never through pyplot; Agg keeps any pyplot use headless.
matplotlib.use("Agg")

NORMALIZATION_LABELS = {
    "none": "Standard",
    "batch": "Standard + BatchNorm",
    "noisy_batch": "Standard + Noisy BatchNorm",
    "l1": "Standard + $\\ell_1$ norm",
    "l2": "Standard + $\\ell_2$ norm",
    "linf": "Standard + $\\ell_\\infty$ norm",
}
NORMALIZATION_ORDER = list(NORMALIZATION_LABELS)
LINE_STYLES = {
    "none": "-",
    "batch": "--",
    "noisy_batch": ":",
    "l1": "-.",
    "l2": (0, (5, 1.5, 1, 1.5, 1, 1.5)),
    "linf": (0, (1, 1)),
}
STYLE_WORDS = {
    "-": "solid",
    "--": "dashed",
    ":": "dotted",
    "-.": "dash-dot",
}
PALETTE = sns.color_palette("colorblind")
DARK_PALETTE = sns.color_palette("dark")
# Fixed colours per normalisation so that each one looks the same in every figure. The l_p
# normalisations avoid hues close to BatchNorm's orange, which they are drawn next to.
NORMALIZATION_COLORS = {
    "none": PALETTE[0],
    "batch": PALETTE[1],
    "noisy_batch": PALETTE[2],
    "l1": PALETTE[4],
    "l2": DARK_PALETTE[4],
    "linf": DARK_PALETTE[3],
}
# Colours for learning rates avoid blue and orange, which mean Standard and BN elsewhere.
PAPER_LR_COLORS = {0.1: PALETTE[2], 0.5: PALETTE[3], 0.01: PALETTE[4]}
SPARE_LR_COLORS = (PALETTE[5], PALETTE[6], PALETTE[8], PALETTE[9])
TIDY_COLUMNS = ["run", "normalization", "lr", "seed", "step", "quantity", "value", "layer", "eta"]
DPI = 180

RC_STYLE = {
    **sns.axes_style("whitegrid"),
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 12,
    "lines.linewidth": 1.6,
}


def styled(plot_function: Callable) -> Callable:
    """Run a figure function under the project's rc style (fonts, grid) without global state."""

    @functools.wraps(plot_function)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(RC_STYLE):
            return plot_function(*args, **kwargs)

    return wrapper


def normalization_label(normalization: str) -> str:
    return NORMALIZATION_LABELS.get(normalization, str(normalization))


def format_lr(lr: float) -> str:
    return f"{lr:g}"


def group_label(normalization: str, lr: float) -> str:
    return f"{normalization_label(normalization)}, lr {format_lr(lr)}"


def group_gid(normalization: str, lr: float) -> str:
    return f"{normalization}|{format_lr(lr)}"


def sorted_normalizations(values) -> list[str]:
    known = [n for n in NORMALIZATION_ORDER if n in set(values)]
    return known + sorted(set(values) - set(known))


def lr_colors(lrs) -> dict[float, tuple]:
    """The paper's learning rates keep one colour in every figure; others take spare colours."""
    colors, spare = {}, iter(SPARE_LR_COLORS)
    for lr in sorted(set(lrs)):
        known = [color for paper_lr, color in PAPER_LR_COLORS.items() if np.isclose(lr, paper_lr)]
        colors[lr] = known[0] if known else next(spare, PALETTE[7])
    return colors


def normalization_color(normalization: str) -> tuple:
    return NORMALIZATION_COLORS.get(normalization, PALETTE[-1])


def new_figure(nrows: int, ncols: int, panel_size=(4.6, 3.4), sharey=False):
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey)
    return fig, list(axes.flat)


def mark_no_data(ax, message: str = "no data") -> None:
    ax.text(
        0.5,
        0.5,
        message,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="0.4",
        fontsize=11,
        gid="no-data",
    )


def start_step_panel(ax, rows: pd.DataFrame, ylabel: str, title: str) -> bool:
    """Title and labels a panel with steps on x; marks it 'no data' and says so if rows is empty."""
    ax.set_title(title)
    ax.set_xlabel("Step")
    ax.set_ylabel(ylabel)
    if rows.empty:
        mark_no_data(ax)
        return False
    return True


def seed_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean, min and max over seeds of one group's value at each step."""
    summary = rows.groupby("step")["value"].agg(["mean", "min", "max", "count"])
    return summary.reset_index()


def diverged_runs(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per diverged run in `rows`: its last finite point and its diverged_at step."""
    if "diverged_at" not in rows.columns:
        return rows.iloc[0:0]
    diverged = rows[np.isfinite(rows["diverged_at"].astype(float))]
    last_points = diverged.sort_values("step").groupby("run", as_index=False).tail(1)
    return last_points.sort_values("seed")


def divergence_label(normalization: str, lr: float, last: pd.DataFrame, seeds: int) -> str:
    steps = sorted(int(step) for step in last["diverged_at"])
    where = f"step {steps[0]}" if len(set(steps)) == 1 else f"steps {steps[0]}–{steps[-1]}"
    of_seeds = f" ({len(steps)} of {seeds} seeds)" if seeds > 1 else ""
    return f"{group_label(normalization, lr)}: diverged at {where}{of_seeds}"


def draw_divergence_markers(ax, rows: pd.DataFrame, color, y_column: str = "value") -> list:
    """An 'x' where each diverged run of one group stopped (its last finite point).

    `rows` holds a single (normalisation, lr) group; returns the marker line for the legend.
    """
    last = diverged_runs(rows)
    if last.empty:
        return []
    normalization, lr = last["normalization"].iloc[0], last["lr"].iloc[0]
    (marker,) = ax.plot(
        last["step"].to_numpy(dtype=float),
        last[y_column].to_numpy(dtype=float),
        linestyle="none",
        marker="X",
        markersize=9,
        markeredgecolor="black",
        markeredgewidth=0.8,
        color=color,
        label=divergence_label(normalization, lr, last, rows["seed"].nunique()),
        gid=f"{group_gid(normalization, lr)}|diverged",
        zorder=5,
    )
    return [marker]


def draw_seed_lines(
    ax, rows: pd.DataFrame, color_of: Callable, style_of: Callable, label_of=group_label
) -> list:
    """Mean-over-seeds line (plus a min..max band for several seeds) per (normalisation, lr).

    `label_of(normalization, lr)` names each group in the legend.
    """
    handles = []
    for normalization in sorted_normalizations(rows["normalization"]):
        for lr in sorted(rows.loc[rows["normalization"] == normalization, "lr"].unique()):
            group = rows[(rows["normalization"] == normalization) & (rows["lr"] == lr)]
            summary = seed_summary(group)
            color = color_of(normalization, lr)
            (line,) = ax.plot(
                summary["step"],
                summary["mean"],
                color=color,
                linestyle=style_of(normalization, lr),
                label=label_of(normalization, lr),
                gid=group_gid(normalization, lr),
            )
            handles.append(line)
            if group["seed"].nunique() > 1:
                ax.fill_between(
                    summary["step"],
                    summary["min"],
                    summary["max"],
                    color=color,
                    alpha=0.2,
                    linewidth=0,
                    label=f"{label_of(normalization, lr)} (seed min..max)",
                    gid=f"{group_gid(normalization, lr)}|band",
                )
            handles.extend(draw_divergence_markers(ax, group, color))
    return handles


def by_lr_and_style(rows: pd.DataFrame):
    colors = lr_colors(rows["lr"])

    def color_of(_normalization, lr):
        return colors[lr]

    def style_of(normalization, _lr):
        return LINE_STYLES.get(normalization, "-")

    return color_of, style_of


def legend_columns(handles: list) -> list[list]:
    """Legend entries in one column per normalisation (gid prefix), reference lines last.

    Duplicate labels (the same group drawn in several panels) are kept once.
    """
    columns: dict[str, list] = {}
    seen = set()
    for handle in handles:
        if handle.get_label() in seen:
            continue
        seen.add(handle.get_label())
        gid = handle.get_gid() or ""
        key = gid.split("|")[0] if "|" in gid else "~other"
        columns.setdefault(key, []).append(handle)
    other = columns.pop("~other", [])
    return [*columns.values(), *([other] if other else [])]


def add_figure_legend(fig, handles: list, title: str | None = None) -> None:
    """One legend below all panels, one column per normalisation (padded with blanks)."""
    columns = legend_columns(handles)
    if not columns:
        return
    height = max(len(column) for column in columns)
    entries = []
    for column in columns:
        blanks = [Line2D([], [], linestyle="none", label=" ")] * (height - len(column))
        entries += column + blanks
    # Grow the figure so the legend below does not squeeze the panels.
    fig.set_figheight(fig.get_figheight() + 0.2 * (height + (2 if title else 1)))
    fig.legend(
        entries,
        [entry.get_label() for entry in entries],
        loc="outside lower center",
        ncol=len(columns),
        title=title,
        frameon=False,
    )


def encoding_note(rows: pd.DataFrame) -> str:
    """'solid = Standard, dashed = Standard + BatchNorm' for the normalisations present."""
    parts = []
    for normalization in sorted_normalizations(rows["normalization"]):
        style = LINE_STYLES.get(normalization, "-")
        word = STYLE_WORDS.get(style, "patterned") if isinstance(style, str) else "patterned"
        parts.append(f"{word} = {normalization_label(normalization)}")
    return "; ".join(parts)


def set_log_scale_if_positive(ax, values) -> None:
    values = np.asarray(values, dtype=float)
    if np.any(np.isfinite(values) & (values > 0)):
        ax.set_yscale("log")


SEED_BAND_NOTE = "line = mean over {seeds} seeds, band = min..max over seeds"
SEED_RANGE_NOTE = "band = mean over {seeds} seeds of the per-seed min .. max over η"


def set_suptitle(fig, title: str, rows: pd.DataFrame, seed_note: str = SEED_BAND_NOTE) -> None:
    seeds = rows["seed"].nunique() if not rows.empty else 0
    note = "\n(" + seed_note.format(seeds=seeds) + ")" if seeds > 1 else ""
    fig.suptitle(title + note)


def line_panel(ax, rows: pd.DataFrame, ylabel: str, title: str) -> list:
    if not start_step_panel(ax, rows, ylabel, title):
        return []
    color_of, style_of = by_lr_and_style(rows)
    return draw_seed_lines(ax, rows, color_of, style_of)


def as_percent(ax) -> None:
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


@styled
def fig1_training(metrics: pd.DataFrame) -> Figure:
    """Training accuracy and training loss vs step (paper Fig 1)."""
    accuracy = finite_rows(metrics, "train_accuracy")
    loss = finite_rows(metrics, "train_loss")
    fig, (acc_ax, loss_ax) = new_figure(1, 2)
    handles = line_panel(acc_ax, accuracy, "Training accuracy", "Training accuracy")
    as_percent(acc_ax)
    acc_ax.set_ylim(0, 1.02)
    handles += line_panel(loss_ax, loss, "Training loss", "Training loss")
    set_suptitle(fig, "Training performance", pd.concat([accuracy, loss]))
    both = pd.concat([accuracy, loss])
    add_figure_legend(fig, handles, encoding_note(both) if not both.empty else None)
    return fig


@styled
def fig2_test_accuracy(metrics: pd.DataFrame) -> Figure:
    """Test accuracy vs step (paper Fig 1, right)."""
    accuracy = finite_rows(metrics, "test_accuracy")
    fig, (ax,) = new_figure(1, 1, panel_size=(6.0, 3.8))
    handles = line_panel(ax, accuracy, "Test accuracy", "")
    for line in handles:
        if not line.get_gid().endswith("|diverged"):
            line.set_marker("o")
            line.set_markersize(3.5)
    as_percent(ax)
    ax.set_ylim(0, 1.02)
    set_suptitle(fig, "Test performance", accuracy)
    add_figure_legend(fig, handles, encoding_note(accuracy) if not accuracy.empty else None)
    return fig


def layers_to_show(rows: pd.DataFrame, layers: Sequence[int] | None) -> list[int]:
    if layers is not None:
        return list(layers)
    present = rows["layer"].dropna().astype(int).unique() if not rows.empty else []
    return sorted(present)


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


def decorate_ics_l2_panel(ax, layer_rows: pd.DataFrame) -> None:
    set_log_scale_if_positive(ax, layer_rows["value"])


def decorate_ics_cosine_panel(ax, layer_rows: pd.DataFrame) -> None:
    lowest = float(layer_rows["value"].min()) if not layer_rows.empty else 0.0
    ax.set_ylim(min(0.0, lowest - 0.05), 1.05)
    ax.axhline(1.0, color="0.3", linestyle="--", linewidth=1.0, gid="reference")


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


def eta_range_per_step(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (normalisation, lr) and step: the band of the range over eta.

    Several seeds are combined by averaging the per-seed minimum and the per-seed maximum
    over eta (the band is mean-of-min .. mean-of-max), so one noisy seed cannot widen it.
    """
    keys = ["normalization", "lr", "seed", "run", "step"]
    per_seed = rows.groupby(keys)["value"].agg(low="min", high="max").reset_index()
    extra = [c for c in ("diverged_at",) if c in rows.columns]
    if extra:
        per_run = rows.groupby("run")[extra].first()
        per_seed = per_seed.join(per_run, on="run")
    return per_seed


def range_panel(
    ax, rows: pd.DataFrame, lr: float, alpha: float = 0.35, styled_edges: bool = False
) -> list:
    """One shaded band per normalisation; `styled_edges` draws its edges in its line style."""
    handles = []
    per_seed = eta_range_per_step(rows)
    for normalization in sorted_normalizations(per_seed["normalization"]):
        group = per_seed[per_seed["normalization"] == normalization]
        band = group.groupby("step")[["low", "high"]].mean().reset_index()
        color = normalization_color(normalization)
        collection = ax.fill_between(
            band["step"],
            band["low"],
            band["high"],
            facecolor=(*color, alpha),
            edgecolor=color,
            linewidth=1.2 if styled_edges else 0.9,
            linestyle=LINE_STYLES.get(normalization, "-") if styled_edges else "-",
            label=normalization_label(normalization),
            gid=f"{group_gid(normalization, lr)}|range",
        )
        handles.append(collection)
        handles.extend(draw_divergence_markers(ax, group, color, y_column="high"))
    return handles


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


PAPER_ETA_NOTE = f"η in [{PAPER_ETA[0]:g}, {PAPER_ETA[1]:g}] × lr, as in the paper"


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
    add_figure_legend(fig, handles, f"shaded band = range over {PAPER_ETA_NOTE}")
    return fig


@styled
def fig5_loss_landscape(metrics: pd.DataFrame, landscape: pd.DataFrame) -> Figure:
    """Range over eta of L(w_t - eta g) at every probed step, log y (paper Fig 4a)."""
    return range_figure(
        landscape,
        "loss",
        "Loss L(w − ηg)",
        "Loss landscape\nrange over η of L(w − ηg)",
        True,
        metrics,
    )


@styled
def fig6_gradient_predictiveness(metrics: pd.DataFrame, predictiveness: pd.DataFrame) -> Figure:
    """Range over eta of ||grad L(w_t - eta g) - g||_2 at every probed step (paper Fig 4b)."""
    return range_figure(
        predictiveness,
        "grad_diff",
        "‖∇L(w − ηg) − g‖₂",
        "Gradient predictiveness\nrange over η of ‖∇L(w − ηg) − g‖₂",
        False,
        metrics,
    )


def draw_two_over_lr(ax, lr: float) -> Line2D:
    return ax.axhline(
        2.0 / lr,
        color="0.4",
        linestyle=":",
        linewidth=1.0,
        label="2 / lr",
        gid="reference",
    )


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


@styled
def beta_and_curvature(predictiveness: pd.DataFrame, beta: pd.DataFrame) -> Figure:
    """Effective β next to the curvature it stands for, and where its η grid saturates."""
    title = "Effective β and the curvature of the minibatch loss"
    rows = beta[beta["quantity"].isin([q for q, *_ in CURVATURE_LINES])] if not beta.empty else beta
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
            ax.set_yscale("symlog", linthresh=1e-2 * float(here["value"].abs().max()))
        else:
            ax.set_yscale("log")
        ax.set_title(group_label(normalization, lr))
        ax.set_ylabel("1 / step length")
        share = overshoot[
            (overshoot["normalization"] == normalization) & np.isclose(overshoot["lr"], lr)
        ]
        share = share.groupby("step")["value"].mean()
        low.step(share.index, share.values, where="mid", color=color,
                 gid=f"{normalization}|{format_lr(lr)}|overshoot")  # fmt: skip
        low.set_ylim(-0.05, 1.05)
        low.set_xlabel("Step")
        low.set_ylabel(f"share of η with ‖Δg‖ ≥ {OVERSHOOT:g}‖g‖")
    set_suptitle(fig, title, rows)
    # Colour is the panel's normalisation; the legend says what each line style means.
    proxies = [
        Line2D([], [], color="0.3", linestyle=style, marker=marker, markersize=4, label=label)
        for _, label, style, marker in CURVATURE_LINES
    ]
    proxies.append(Line2D([], [], color="0.4", linestyle=":", linewidth=1.0, label="2 / lr"))
    fig.legend(handles=proxies, loc="outside lower center", ncols=2)
    return fig


# Figures of the noisy-BatchNorm and l_p experiments (paper Figs 2, 5, 6, 8, 11-13) and the
# seed notebooks' "landscape", labelled as what it is.

NOISY_NORMALIZATIONS = ("none", "batch", "noisy_batch")
LP_NORMALIZATIONS = ("none", "batch", "l1", "l2", "linf")
PAPER_LR = 0.1
# Dense per-step curves are averaged into about this many bins per line.
BIN_TARGET = 100
RIDGE_COUNT = 8
# Peak height of a ridge in rows: each ridge rises into the rows above it.
RIDGE_HEIGHT = 1.7
KDE_POINTS = 256
STEP_COLORMAP = "viridis"
LP_LAYER = 10
MOMENT_PANELS = (
    ("mean", "change", r"$|\mu_{t+1} - \mu_t|$"),
    ("var", "change", r"$|\sigma^2_{t+1} - \sigma^2_t|$"),
    ("mean", "drift", r"$\mu_t - \mu_0$"),
    ("var", "drift", r"$\sigma^2_t - \sigma^2_0$"),
)


def by_normalization():
    """Colour and line style both follow the normalisation."""

    def color_of(normalization, _lr):
        return normalization_color(normalization)

    def style_of(normalization, _lr):
        return LINE_STYLES.get(normalization, "-")

    return color_of, style_of


def label_without_lr(normalization: str, _lr: float) -> str:
    return normalization_label(normalization)


def concat_rows(*frames: pd.DataFrame) -> pd.DataFrame:
    """The frames stacked; empty ones are left out (an all-empty input gives the first)."""
    present = [frame for frame in frames if not frame.empty]
    return pd.concat(present) if present else frames[0]


def only_normalizations(rows: pd.DataFrame, normalizations: Sequence[str]) -> pd.DataFrame:
    return rows[rows["normalization"].isin(normalizations)]


def logged_every(rows: pd.DataFrame) -> float:
    """Median gap between the logged steps (inf with fewer than two steps)."""
    steps = np.unique(rows["step"].to_numpy(dtype=float))
    return float(np.median(np.diff(steps))) if len(steps) > 1 else np.inf


def bin_width(rows: pd.DataFrame) -> int:
    """The largest of 1, 2, 5, 10, 20, 50, ... steps that leaves >= BIN_TARGET bins."""
    span = float(rows["step"].max() - rows["step"].min()) if not rows.empty else 0.0
    widths = [m * 10**k for k in range(8) for m in (1, 2, 5)]
    return max([w for w in widths if w * BIN_TARGET <= span], default=1)


def is_binned(rows: pd.DataFrame) -> bool:
    return not rows.empty and logged_every(rows) < bin_width(rows)


def binned_by_steps(rows: pd.DataFrame) -> pd.DataFrame:
    """Each run's values averaged over bins of bin_width steps, if logged more often.

    About BIN_TARGET points per line whatever the run length, so per-step minibatch noise does
    not hide the curves. A bin's point sits at the mean of its logged steps. Rows logged at
    least bin_width steps apart come back unchanged.
    """
    if not is_binned(rows):
        return rows
    keys = ["run", "normalization", "lr", "seed"]
    bins = (rows["step"] // bin_width(rows)).rename("bin")
    binned = rows.groupby([*keys, bins])[["step", "value"]].mean().reset_index()
    if "diverged_at" in rows.columns:
        binned = binned.join(rows.groupby("run")["diverged_at"].first(), on="run")
    return binned.drop(columns="bin").sort_values("step")


def binning_note(rows: pd.DataFrame) -> str:
    return f", mean over {bin_width(rows)}-step bins" if is_binned(rows) else ""


def no_data_figure(title: str, xlabel: str, ylabel: str, panels: int = 1) -> Figure:
    fig, axes = new_figure(1, panels, panel_size=(4.6, 3.4))
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        mark_no_data(ax)
    fig.suptitle(title)
    return fig


def add_normalization_legend(fig, handles: list, title: str | None = None) -> None:
    """One legend below the panels, each label once, at most three columns."""
    unique = list({handle.get_label(): handle for handle in handles}.values())
    if not unique:
        return
    columns = min(len(unique), 3)
    rows = int(np.ceil(len(unique) / columns))
    fig.set_figheight(fig.get_figheight() + 0.2 * (rows + (2 if title else 1)))
    fig.legend(
        unique,
        [handle.get_label() for handle in unique],
        loc="outside lower center",
        ncol=columns,
        title=title,
        frameon=False,
    )


def training_accuracy_figure(
    metrics: pd.DataFrame, normalizations: Sequence[str], title: str
) -> Figure:
    """Training accuracy vs step, colour = normalisation, one panel per learning rate."""
    accuracy = only_normalizations(finite_rows(metrics, "train_accuracy"), normalizations)
    rows = binned_by_steps(accuracy)
    if rows.empty:
        return no_data_figure(title, "Step", "Training accuracy")
    lrs = sorted(rows["lr"].unique())
    fig, axes = new_figure(1, len(lrs), panel_size=(5.6, 3.8), sharey=True)
    color_of, style_of = by_normalization()
    handles = []
    for ax, lr in zip(axes, lrs, strict=True):
        ax.set_title(f"lr {format_lr(lr)}")
        ax.set_xlabel("Step")
        at_lr = rows[rows["lr"] == lr]
        handles += draw_seed_lines(ax, at_lr, color_of, style_of, label_without_lr)
    axes[0].set_ylabel("Training accuracy")
    as_percent(axes[0])
    axes[0].set_ylim(0, 1.02)
    note = f"\n(on each step's own minibatch{binning_note(accuracy)})"
    set_suptitle(fig, title + note, rows)
    add_normalization_legend(fig, handles)
    return fig


@styled
def noisy_bn_training(metrics: pd.DataFrame) -> Figure:
    """Training accuracy of Standard, BatchNorm and noisy BatchNorm (paper Fig 2, left)."""
    return training_accuracy_figure(
        metrics, NOISY_NORMALIZATIONS, "Training accuracy with noisy BatchNorm"
    )


@styled
def lp_training(metrics: pd.DataFrame) -> Figure:
    """Training accuracy of Standard, BatchNorm and l1/l2/l-inf normalisation (paper Fig 12)."""
    return training_accuracy_figure(
        metrics, LP_NORMALIZATIONS, "Training accuracy with $\\ell_p$ normalisation"
    )


def chosen_lr(rows: pd.DataFrame) -> float:
    """The paper's lr 0.1 when present, else the smallest learning rate in the table."""
    lrs = sorted(rows["lr"].astype(float).unique())
    return next((lr for lr in lrs if np.isclose(lr, PAPER_LR)), lrs[0])


def first_seed_per_normalization(rows: pd.DataFrame) -> pd.DataFrame:
    """Keep each normalisation's lowest seed: every seed samples its own channel."""
    lowest = rows.groupby("normalization")["seed"].transform("min")
    return rows[rows["seed"] == lowest]


def seed_choice_note(rows: pd.DataFrame) -> str:
    seeds = rows["seed"].nunique()
    if seeds < 2:
        return ""
    return f"; lowest of {seeds} seeds shown, each seed samples its own channel"


def evenly_spaced(values, count: int = RIDGE_COUNT) -> list:
    """At most `count` of the sorted distinct values, evenly spaced, first and last included."""
    values = sorted(set(values))
    if len(values) <= count:
        return values
    picks = np.unique(np.round(np.linspace(0, len(values) - 1, count)).astype(int))
    return [values[i] for i in picks]


def value_range(values) -> tuple[float, float]:
    """0.5th..99.5th percentile of the values with a margin; never an empty interval."""
    low, high = np.percentile(np.asarray(values, dtype=float), [0.5, 99.5])
    margin = 0.08 * (high - low) if high > low else max(abs(high), 1.0) * 0.1
    return float(low - margin), float(high + margin)


def gaussian_kde(samples, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of the samples on the grid (Silverman's bandwidth)."""
    samples = np.asarray(samples, dtype=float)
    spread = samples.std()
    if spread > 0:
        bandwidth = 1.06 * spread * len(samples) ** -0.2
    else:
        bandwidth = (grid[-1] - grid[0]) / 50
    scaled = (grid[:, None] - samples[None, :]) / bandwidth
    return np.exp(-0.5 * scaled**2).sum(axis=1) / (len(samples) * bandwidth * np.sqrt(2 * np.pi))


def draw_ridges(ax, samples: pd.DataFrame, gid_prefix: str, color_of_step: Callable) -> None:
    """One density per probed step, first step at the bottom, each scaled to its own peak."""
    steps = evenly_spaced(samples["step"])
    shown = samples[samples["step"].isin(steps)]
    grid = np.linspace(*value_range(shown["value"]), KDE_POINTS)
    for row, step in enumerate(steps):
        density = gaussian_kde(shown.loc[shown["step"] == step, "value"], grid)
        peak = density.max()
        ridge = row + RIDGE_HEIGHT * (density / peak if peak > 0 else density)
        zorder = 2 + len(steps) - row  # lower ridges in front of the ones they rise into
        ax.fill_between(
            grid,
            row,
            ridge,
            color=color_of_step(step),
            alpha=0.9,
            linewidth=0,
            zorder=zorder,
            gid=f"{gid_prefix}|step{step:g}|fill",
        )
        ax.plot(
            grid,
            ridge,
            color="white",
            linewidth=0.8,
            zorder=zorder,
            gid=f"{gid_prefix}|step{step:g}",
        )
    ax.set_yticks(range(len(steps)), [f"{step:g}" for step in steps])
    ax.set_ylim(-0.3, len(steps) - 1 + RIDGE_HEIGHT + 0.2)
    ax.set_xlim(grid[0], grid[-1])
    ax.grid(axis="y", visible=False)


def step_scale(steps) -> matplotlib.colors.Normalize:
    """Maps training steps to 0..1 for the step colour map (never a zero-width range)."""
    steps = np.asarray(steps, dtype=float)
    return matplotlib.colors.Normalize(vmin=steps.min(), vmax=max(steps.max(), steps.min() + 1))


def step_colors(steps) -> Callable:
    scale, colormap = step_scale(steps), matplotlib.colormaps[STEP_COLORMAP]
    return lambda step: colormap(scale(step))


def wrapped_grid(rows: int, columns: int, panel_size, sharey=False) -> tuple[Figure, list]:
    """A rows x columns grid of panels; a single row wraps after three panels.

    Panel (row, column) is axes[row * columns + column] either way; unused panels are hidden.
    """
    if rows == 1:
        ncols = min(columns, 3)
        nrows = int(np.ceil(columns / ncols))
        sharey = bool(sharey)
    else:
        nrows, ncols = rows, columns
    fig, axes = new_figure(nrows, ncols, panel_size=panel_size, sharey=sharey)
    for ax in axes[rows * columns :]:
        ax.set_visible(False)
    return fig, axes


def ridge_grid(
    activations: pd.DataFrame,
    normalizations: Sequence[str],
    layers: Sequence[int] | None,
    title: str,
) -> Figure:
    """Ridge plots of the sampled activations: one row per layer, one column per normalisation."""
    samples = only_normalizations(finite_rows(activations, "sample"), normalizations)
    shown_layers = layers_to_show(samples, layers)
    xlabel = "Pre-ReLU activation (one channel)"
    if samples.empty or not shown_layers:
        return no_data_figure(title, xlabel, "Step")
    lr = chosen_lr(samples)
    at_lr = samples[np.isclose(samples["lr"], lr)]
    seed_note = seed_choice_note(at_lr)
    samples = first_seed_per_normalization(at_lr)
    color_of_step = step_colors(samples["step"])
    fig, axes = wrapped_grid(len(shown_layers), len(normalizations), (3.4, 2.9))
    for row, layer in enumerate(shown_layers):
        for column, normalization in enumerate(normalizations):
            ax = axes[row * len(normalizations) + column]
            panel = samples[
                (samples["layer"] == layer) & (samples["normalization"] == normalization)
            ]
            if row == 0 or len(shown_layers) == 1:
                ax.set_title(normalization_label(normalization))
            if ax.get_subplotspec().is_first_col():
                ax.set_ylabel(f"Layer #{layer}: step")
            if row == len(shown_layers) - 1:
                ax.set_xlabel(xlabel)
            if panel.empty:
                mark_no_data(ax)
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            draw_ridges(ax, panel, f"{normalization}|layer{layer}", color_of_step)
    note = (
        f"\n(lr {format_lr(lr)}; one channel per layer, fixed at initialisation; "
        f"kernel density per probed step{seed_note})"
    )
    fig.suptitle(title + note)
    return fig


@styled
def noisy_bn_distributions(
    activations: pd.DataFrame, layers: Sequence[int] | None = None
) -> Figure:
    """Distributions of one channel's pre-ReLU activations over training (paper Fig 2, right)."""
    return ridge_grid(
        activations,
        NOISY_NORMALIZATIONS,
        layers,
        "Activation distributions over training: Standard, BatchNorm, noisy BatchNorm",
    )


@styled
def lp_distributions(activations: pd.DataFrame, layer: int = LP_LAYER) -> Figure:
    """Layer #10's activation distributions for every l_p normalisation (paper Fig 13)."""
    return ridge_grid(
        activations,
        LP_NORMALIZATIONS,
        [layer],
        f"Activation distributions over training with $\\ell_p$ normalisation (layer #{layer})",
    )


def moment_changes(rows: pd.DataFrame, how: str) -> pd.DataFrame:
    """Per run and layer: |x_{t+1} - x_t| at step t+1 ('change') or x_t - x_0 ('drift').

    t runs over the probed steps, so consecutive means consecutive probes.
    """
    parts = []
    for _, run in rows.groupby(["run", "layer"]):
        run = run.sort_values("step")
        values = run["value"].to_numpy(dtype=float)
        if how == "change":
            parts.append(run.iloc[1:].assign(value=np.abs(np.diff(values))))
        else:
            parts.append(run.assign(value=values - values[0]))
    return pd.concat(parts) if parts else rows.iloc[0:0]


@styled
def noisy_bn_moments(activations: pd.DataFrame, layers: Sequence[int] | None = None) -> Figure:
    """Changes of the first two moments of one channel's activations (paper Fig 8)."""
    title = "Moments of the activation distributions over training"
    moments = only_normalizations(
        concat_rows(finite_rows(activations, "mean"), finite_rows(activations, "var")),
        NOISY_NORMALIZATIONS,
    )
    shown_layers = layers_to_show(moments, layers)
    if moments.empty or not shown_layers:
        return no_data_figure(title, "Step", "Moment change", panels=len(MOMENT_PANELS))
    lr = chosen_lr(moments)
    moments = moments[np.isclose(moments["lr"], lr)]
    color_of, style_of = by_normalization()
    fig, axes = new_figure(len(shown_layers), len(MOMENT_PANELS), panel_size=(3.6, 2.7))
    handles = []
    for row, layer in enumerate(shown_layers):
        at_layer = moments[moments["layer"] == layer]
        for column, (quantity, how, label) in enumerate(MOMENT_PANELS):
            ax = axes[row * len(MOMENT_PANELS) + column]
            values = moment_changes(at_layer[at_layer["quantity"] == quantity], how)
            if row == 0:
                ax.set_title(label)
            if column == 0:
                ax.set_ylabel(f"Layer #{layer}")
            if row == len(shown_layers) - 1:
                ax.set_xlabel("Step")
            if values.empty:
                mark_no_data(ax)
                continue
            handles += draw_seed_lines(ax, values, color_of, style_of, label_without_lr)
            if how == "change":
                set_log_scale_if_positive(ax, values["value"])
            else:
                ax.axhline(0.0, color="0.3", linewidth=0.8, gid="reference")
    note = f"\n(one channel per layer, pre-ReLU, consecutive probed steps; lr {format_lr(lr)})"
    set_suptitle(fig, title + note, moments)
    add_normalization_legend(fig, handles)
    return fig


def lp_range_panel(ax, rows: pd.DataFrame, lr: float) -> list:
    if rows.empty:
        mark_no_data(ax)
        return []
    return range_panel(ax, rows, lr, alpha=0.1, styled_edges=True)


def lp_beta_panel(ax, rows: pd.DataFrame, lr: float) -> list:
    handles = []
    if rows.empty:
        mark_no_data(ax)
    else:
        color_of, style_of = by_normalization()
        handles = draw_seed_lines(ax, rows, color_of, style_of, label_without_lr)
    return [*handles, draw_two_over_lr(ax, lr)]


LP_LANDSCAPE_PANELS = (
    ("Loss landscape: range over η", "Loss L(w − ηg)"),
    ("Gradient predictiveness: range over η", "‖∇L(w − ηg) − g‖₂"),
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
    fig, axes = new_figure(len(lrs), 3, panel_size=(4.4, 3.4))
    handles = []
    for row, lr in enumerate(lrs):
        loss_ax, change_ax, beta_ax = axes[3 * row : 3 * row + 3]
        suffix = f" (lr {format_lr(lr)})" if len(lrs) > 1 else ""
        for ax, (panel_title, ylabel) in zip(axes[3 * row :], LP_LANDSCAPE_PANELS, strict=False):
            ax.set_title(panel_title + suffix)
            ax.set_ylabel(ylabel)
        handles += lp_range_panel(loss_ax, loss[loss["lr"] == lr], lr)
        set_log_scale_if_positive(loss_ax, loss.loc[loss["lr"] == lr, "value"])
        handles += lp_range_panel(change_ax, change[change["lr"] == lr], lr)
        handles += lp_beta_panel(beta_ax, effective[effective["lr"] == lr], lr)
    for ax in axes[-3:]:
        ax.set_xlabel("Step")
    fig.suptitle(title + lp_landscape_note(lrs, concat_rows(loss, change, effective)))
    add_normalization_legend(fig, handles)
    return fig


def lp_landscape_note(lrs: list[float], rows: pd.DataFrame) -> str:
    lr_text = f"lr {format_lr(lrs[0])}; " if len(lrs) == 1 else ""
    seeds = rows["seed"].nunique()
    if seeds < 2:
        return f"\n({lr_text}shaded bands = min..max over η)"
    return (
        f"\n({lr_text}shaded bands = mean over {seeds} seeds of the per-seed min .. max over η;"
        "\nβ: line = mean over seeds, band = min..max over seeds)"
    )


def label_eta_axis(ax, etas) -> None:
    """Log x-axis with plain labels at (at most six of) the probed step sizes."""
    ax.set_xscale("log")
    ticks = evenly_spaced(etas, 6)
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
            label_eta_axis(ax, mean["eta"])
    scale = matplotlib.cm.ScalarMappable(norm=step_scale(rows["step"]), cmap=STEP_COLORMAP)
    fig.colorbar(scale, ax=[ax for ax in axes if ax.get_visible()], label="Training step")
    seeds = rows["seed"].nunique()
    note = f"\n(mean over {seeds} seeds)" if seeds > 1 else ""
    fig.suptitle(title + note)
    return fig


def envelope_over_lrs(rows: pd.DataFrame) -> pd.DataFrame:
    """Per normalisation and step: min and max over learning rates of the seed-mean value."""
    per_lr = rows.groupby(["normalization", "lr", "step"])["value"].mean().reset_index()
    return per_lr.groupby(["normalization", "step"])["value"].agg(["min", "max"]).reset_index()


@styled
def lr_envelope_not_a_landscape(metrics: pd.DataFrame) -> Figure:
    """The seed notebooks' "loss landscape": min..max of training losses across learning rates.

    Drawn so that readers of those notebooks can compare; it is not the paper's Fig 4a
    (protocol section 8, item 10), which is the range over eta along the gradient.
    """
    title = (
        "Envelope of training losses across learning rates\n"
        "NOT the paper's loss landscape (for that see fig5_loss_landscape)"
    )
    ylabel = "Training loss"
    losses = finite_rows(metrics, "train_loss")
    rows = binned_by_steps(losses)
    if rows.empty:
        return no_data_figure(title, "Step", ylabel)
    envelope = envelope_over_lrs(rows)
    fig, (ax,) = new_figure(1, 1, panel_size=(6.6, 4.0))
    handles = []
    for normalization in sorted_normalizations(envelope["normalization"]):
        band = envelope[envelope["normalization"] == normalization]
        group = rows[rows["normalization"] == normalization]
        color = normalization_color(normalization)
        lrs = ", ".join(format_lr(lr) for lr in sorted(group["lr"].unique()))
        handles.append(
            ax.fill_between(
                band["step"],
                band["min"],
                band["max"],
                facecolor=(*color, 0.3),
                edgecolor=color,
                linewidth=0.9,
                label=f"{normalization_label(normalization)}: runs at lr {lrs}",
                gid=f"{normalization}|envelope",
            )
        )
        for lr in sorted(group["lr"].unique()):
            handles.extend(draw_divergence_markers(ax, group[group["lr"] == lr], color))
    ax.set_xlabel("Step")
    ax.set_ylabel(f"{ylabel} (min..max over learning rates)")
    set_log_scale_if_positive(ax, rows["value"])
    seeds = rows["seed"].nunique()
    seed_text = f"mean over {seeds} seeds per lr, " if seeds > 1 else ""
    fig.suptitle(title)
    add_normalization_legend(
        fig,
        handles,
        f"band = {seed_text}min..max over the runs at different learning rates"
        f"{binning_note(losses)}\n(separate training runs, not a range over η along the gradient)",
    )
    return fig


def save_figure(fig: Figure, png_path, pdf_path) -> None:
    """Write the figure as PNG (raster, for the report) and PDF (vector, for a paper)."""
    for path in (Path(png_path), Path(pdf_path)):
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
