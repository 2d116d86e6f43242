"""Figures of the reproduction (the paper's Figs 1, 3 and 4), one function per figure.

Every function takes tidy tables (columns run, normalization, lr, seed, step, quantity, value,
layer, eta and, for metrics, diverged_at) and returns a matplotlib Figure. Figures are built
with `matplotlib.figure.Figure` directly, so nothing is left open in pyplot's global state.

Encoding: in the training/ICS figures colour = learning rate and line style = normalisation;
in the landscape figures colour = normalisation and there is one panel per learning rate.
Several seeds of one (normalisation, lr) are drawn as the mean line plus a min..max band.
Every drawn artist carries a gid naming its group, e.g. "none|0.1" for a mean line,
"none|0.1|band" for a seed band, "none|0.1|range" for a range over eta and
"none|0.5|diverged" for the markers where the group's diverged runs stopped.
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
from matplotlib.ticker import PercentFormatter

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
    "l2": (0, (5, 1, 1, 1)),
    "linf": (0, (1, 1)),
}
STYLE_WORDS = {
    "-": "solid",
    "--": "dashed",
    ":": "dotted",
    "-.": "dash-dot",
}
PALETTE = sns.color_palette("colorblind")
# Fixed colours per normalisation so that Standard and BN look the same in every figure.
NORMALIZATION_COLORS = {norm: PALETTE[i] for i, norm in enumerate(NORMALIZATION_ORDER)}
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


def finite_rows(table: pd.DataFrame | None, quantity: str) -> pd.DataFrame:
    """Rows of one quantity with a finite value, sorted by step; empty if nothing usable."""
    if table is None or table.empty or "quantity" not in table.columns:
        return pd.DataFrame(columns=TIDY_COLUMNS)
    rows = table[table["quantity"] == quantity]
    rows = rows[np.isfinite(rows["value"].astype(float))]
    return rows.sort_values("step")


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


def draw_seed_lines(ax, rows: pd.DataFrame, color_of: Callable, style_of: Callable) -> list:
    """Mean-over-seeds line (plus a min..max band for several seeds) per (normalisation, lr)."""
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
                label=group_label(normalization, lr),
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
                    label=f"{group_label(normalization, lr)} (seed min..max)",
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
    ax.set_title(title)
    ax.set_xlabel("Step")
    ax.set_ylabel(ylabel)
    if rows.empty:
        mark_no_data(ax)
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
        fig, (ax,) = new_figure(1, 1)
        ax.set_title(title)
        ax.set_xlabel("Step")
        ax.set_ylabel(ylabel)
        mark_no_data(ax)
        fig.suptitle(title)
        return fig
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


def range_panel(ax, rows: pd.DataFrame, lr: float) -> list:
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
            facecolor=(*color, 0.35),
            edgecolor=color,
            linewidth=0.9,
            label=normalization_label(normalization),
            gid=f"{group_gid(normalization, lr)}|range",
        )
        handles.append(collection)
        handles.extend(draw_divergence_markers(ax, group, color, y_column="high"))
    return handles


def range_figure(table: pd.DataFrame, quantity: str, ylabel: str, title: str, log_y: bool):
    rows = finite_rows(table, quantity)
    lrs = sorted(rows["lr"].unique()) if not rows.empty else []
    fig, axes = new_figure(1, max(len(lrs), 1), panel_size=(5.2, 3.6), sharey=True)
    if not lrs:
        axes[0].set_title(title)
        axes[0].set_xlabel("Step")
        axes[0].set_ylabel(ylabel)
        mark_no_data(axes[0])
        fig.suptitle(title)
        return fig
    handles = []
    for ax, lr in zip(axes, lrs, strict=True):
        ax.set_title(f"lr {format_lr(lr)}")
        ax.set_xlabel("Step")
        handles += range_panel(ax, rows[rows["lr"] == lr], lr)
    axes[0].set_ylabel(ylabel)
    if log_y:
        set_log_scale_if_positive(axes[0], rows["value"])
    set_suptitle(fig, title, rows, SEED_RANGE_NOTE)
    add_figure_legend(fig, handles, "shaded band = range over η")
    return fig


@styled
def fig5_loss_landscape(landscape: pd.DataFrame) -> Figure:
    """Range over eta of L(w_t - eta g) at every probed step, log y (paper Fig 4a)."""
    return range_figure(
        landscape, "loss", "Loss L(w − ηg)", "Loss landscape\nrange over η of L(w − ηg)", True
    )


@styled
def fig6_gradient_predictiveness(predictiveness: pd.DataFrame) -> Figure:
    """Range over eta of ||grad L(w_t - eta g) - g||_2 at every probed step (paper Fig 4b)."""
    return range_figure(
        predictiveness,
        "grad_diff",
        "‖∇L(w − ηg) − g‖₂",
        "Gradient predictiveness\nrange over η of ‖∇L(w − ηg) − g‖₂",
        False,
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
def fig7_beta_smoothness(beta: pd.DataFrame) -> Figure:
    """Effective beta-smoothness (max over eta of the gradient change per step length), Fig 4c."""
    rows = finite_rows(beta, "effective_beta")
    title = "Effective β-smoothness\nmax over η of ‖∇L(w − ηg) − g‖₂ / ‖ηg‖₂"
    lrs = sorted(rows["lr"].unique()) if not rows.empty else []
    fig, axes = new_figure(1, max(len(lrs), 1), panel_size=(5.2, 3.6), sharey=True)
    axes[0].set_ylabel("Effective β")
    if not lrs:
        axes[0].set_title(title)
        axes[0].set_xlabel("Step")
        mark_no_data(axes[0])
        fig.suptitle(title)
        return fig
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
    set_suptitle(fig, title, rows)
    add_figure_legend(fig, handles)
    return fig


def save_figure(fig: Figure, png_path, pdf_path) -> None:
    """Write the figure as PNG (raster, for the report) and PDF (vector, for a paper)."""
    for path in (Path(png_path), Path(pdf_path)):
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI, bbox_inches="tight")


FIGURES: dict[str, tuple[Callable[..., Figure], tuple[str, ...]]] = {
    "fig1_training": (fig1_training, ("metrics",)),
    "fig2_test_accuracy": (fig2_test_accuracy, ("metrics",)),
    "fig3_ics_l2": (fig3_ics_l2, ("ics",)),
    "fig4_ics_cosine": (fig4_ics_cosine, ("ics",)),
    "fig5_loss_landscape": (fig5_loss_landscape, ("landscape",)),
    "fig6_gradient_predictiveness": (fig6_gradient_predictiveness, ("predictiveness",)),
    "fig7_beta_smoothness": (fig7_beta_smoothness, ("beta",)),
}
