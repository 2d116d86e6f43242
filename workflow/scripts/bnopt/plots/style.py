"""The figures' shared style: colours and line styles per normalisation and learning rate,
figure and panel construction, seed lines and bands, divergence markers, legends, saving."""

import functools
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from ..files import atomic_output
from ..quantities import early_end

# Figures are drawn on Figure objects, never through pyplot; Agg keeps any pyplot use headless.
matplotlib.use("Agg")


NORMALIZATION_LABELS = {
    "none": "Standard",
    "batch": "Standard + BatchNorm",
    "noisy_batch": "Standard + Noisy BatchNorm",
    "l1": "Standard + $\\ell_1$ norm",
    "l2": "Standard + $\\ell_2$ norm",
    "linf": "Standard + $\\ell_\\infty$ norm",
    "layer": "Standard + LayerNorm",
    "group": "Standard + GroupNorm",
}


NORMALIZATION_ORDER = list(NORMALIZATION_LABELS)


LINE_STYLES = {
    "none": "-",
    "batch": "--",
    "noisy_batch": ":",
    "l1": "-.",
    "l2": (0, (5, 1.5, 1, 1.5, 1, 1.5)),
    "linf": (0, (1, 1)),
    "layer": (0, (3, 1, 1, 1, 1, 1)),
    "group": (0, (5, 1)),
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
    "layer": PALETTE[9],
    "group": DARK_PALETTE[0],
}


# One line style per learning rate where colour is the normalisation (the paper's rates keep
# theirs in every figure; others take the spare styles in order).
PAPER_LR_STYLES = {0.1: "-", 0.5: "--", 0.01: ":"}
LINE_ORDER = ("-", "--", ":", "-.", (0, (1, 1)), (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)))


TIDY_COLUMNS = ["run", "normalization", "lr", "seed", "step", "quantity", "value", "layer", "eta"]


DPI = 180


# Sizes of a printed paper: figures one column (3.3 in) or the full text width (6.8 in)
# wide, text 7-9 pt at that size, so that every figure reads alike in print and, shown at its
# print size, in the report.
COLUMN_WIDTH = 3.3
FULL_WIDTH = 6.8
MIN_PANEL_HEIGHT = 1.5
RC_STYLE = {
    **sns.axes_style("whitegrid"),
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "figure.titlesize": 9,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "grid.linewidth": 0.6,
    "axes.linewidth": 0.7,
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


def lr_styles(lrs) -> dict[float, str | tuple]:
    """The line style of each learning rate, solid first: the paper's VGG rates keep theirs;
    others (e.g. the deep linear network's) take the free styles from the largest rate down."""
    styles, others = {}, []
    for lr in sorted({float(lr) for lr in lrs}, reverse=True):
        known = [style for paper_lr, style in PAPER_LR_STYLES.items() if np.isclose(lr, paper_lr)]
        if known:
            styles[lr] = known[0]
        else:
            others.append(lr)
    free = [style for style in LINE_ORDER if style not in styles.values()]
    for k, lr in enumerate(others):
        styles[lr] = free[k % len(free)]
    return dict(sorted(styles.items(), key=lambda item: LINE_ORDER.index(item[1])))


def normalization_color(normalization: str) -> tuple:
    return NORMALIZATION_COLORS.get(normalization, PALETTE[-1])


def new_figure(nrows: int, ncols: int, panel_size=(4.6, 3.4), sharey=False):
    """A figure of nrows x ncols panels at a paper's size: one column wide for one panel per
    row, the full text width otherwise; `panel_size` gives only each panel's aspect ratio."""
    width = COLUMN_WIDTH if ncols == 1 else FULL_WIDTH
    panel_height = max(width / ncols * panel_size[1] / panel_size[0], MIN_PANEL_HEIGHT)
    fig = Figure(figsize=(width, panel_height * nrows), layout="constrained")
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
        fontsize=9,
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
    ax,
    rows: pd.DataFrame,
    color_of: Callable,
    style_of: Callable,
    label_of=group_label,
    suffix: str = "",
) -> list:
    """Mean-over-seeds line (plus a min..max band for several seeds) per (normalisation, lr).

    `label_of(normalization, lr)` names each group in the legend; `suffix` is appended to the
    gid of each line (its band's gid is the line's + "|band").
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
                gid=group_gid(normalization, lr) + suffix,
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
                    gid=f"{group_gid(normalization, lr)}{suffix}|band",
                )
            handles.extend(draw_divergence_markers(ax, group, color))
    return handles


def by_lr_and_style(rows: pd.DataFrame):
    """Colour = normalisation (the same in every figure), line style = learning rate."""
    styles = lr_styles(rows["lr"])

    def color_of(normalization, _lr):
        return normalization_color(normalization)

    def style_of(_normalization, lr):
        return styles[float(lr)]

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


NARROW_LEGEND_CHARS = 48  # a one-column figure's legend line holds about this many characters


def add_figure_legend(fig, handles: list, title: str | None = None) -> None:
    """One legend below all panels, one column per normalisation (padded with blanks); in a
    one-column figure as many entries per line as fit, so the legend stays within its width."""
    columns = legend_columns(handles)
    if not columns:
        return
    if fig.get_figwidth() <= COLUMN_WIDTH:
        entries = [entry for column in columns for entry in column]
        longest = max(len(entry.get_label()) for entry in entries)
        ncol = max(1, min(len(entries), NARROW_LEGEND_CHARS // (longest + 6)))
        height = int(np.ceil(len(entries) / ncol))
    else:
        height = max(len(column) for column in columns)
        entries = []
        for column in columns:
            blanks = [Line2D([], [], linestyle="none", label=" ")] * (height - len(column))
            entries += column + blanks
        ncol = len(columns)
    place_legend(fig, entries, ncol, height, title)


def place_legend(fig, entries: list, ncol: int, rows: int, title: str | None) -> None:
    """The legend below the panels; the figure grows by its height so the panels keep theirs."""
    fig.set_figheight(fig.get_figheight() + 0.14 * (rows + (2 if title else 1)))
    fig.legend(
        entries,
        [entry.get_label() for entry in entries],
        loc="outside lower center",
        ncol=ncol,
        title=title,
        frameon=False,
    )


def encoding_note(rows: pd.DataFrame) -> str:
    """'colour = normalisation; solid = lr 0.1, dashed = lr 0.5' for the rates present."""
    styles = lr_styles(rows["lr"])
    words = [
        f"{STYLE_WORDS.get(style, 'patterned') if isinstance(style, str) else 'patterned'}"
        f" = lr {format_lr(lr)}"
        for lr, style in styles.items()
    ]
    return "colour = normalisation; " + ", ".join(words)


def set_log_scale_if_positive(ax, values) -> None:
    """A log y-axis (labels at the decades only) when some value is positive."""
    values = np.asarray(values, dtype=float)
    if np.any(np.isfinite(values) & (values > 0)):
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(NullFormatter())


SEED_BAND_NOTE = "line = mean over {seeds} seeds, band = min..max over seeds"


SEED_RANGE_NOTE = "band = mean over {seeds} seeds of the per-seed min .. max over η"


NARROW_TITLE_CHARS = 53  # a one-column figure's title line holds about this many characters


def fitted_title(fig, title: str) -> str:
    """The title, each of its lines wrapped to the width of a one-column figure."""
    if fig.get_figwidth() > COLUMN_WIDTH:
        return title
    return "\n".join(textwrap.fill(line, NARROW_TITLE_CHARS) for line in title.split("\n"))


def set_suptitle(fig, title: str, rows: pd.DataFrame, seed_note: str = SEED_BAND_NOTE) -> None:
    seeds = rows["seed"].nunique() if not rows.empty else 0
    note = "\n(" + seed_note.format(seeds=seeds) + ")" if seeds > 1 else ""
    fig.suptitle(fitted_title(fig, title + note))


def line_panel(ax, rows: pd.DataFrame, ylabel: str, title: str) -> list:
    if not start_step_panel(ax, rows, ylabel, title):
        return []
    color_of, style_of = by_lr_and_style(rows)
    return draw_seed_lines(ax, rows, color_of, style_of)


def layers_to_show(rows: pd.DataFrame, layers: Sequence[int] | None) -> list[int]:
    if layers is not None:
        return list(layers)
    present = rows["layer"].dropna().astype(int).unique() if not rows.empty else []
    return sorted(present)


def decorate_ics_l2_panel(ax, layer_rows: pd.DataFrame) -> None:
    set_log_scale_if_positive(ax, layer_rows["value"])


def decorate_ics_cosine_panel(ax, layer_rows: pd.DataFrame) -> None:
    lowest = float(layer_rows["value"].min()) if not layer_rows.empty else 0.0
    ax.set_ylim(min(0.0, lowest - 0.05), 1.05)
    ax.axhline(1.0, color="0.3", linestyle="--", linewidth=1.0, gid="reference")


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


def range_width_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Per run and probed step, the width max - min over eta of the value: what a figure with
    several normalisations draws as lines, where their shaded bands would hide one another."""
    keys = ["run", "normalization", "lr", "seed", "step"]
    if rows.empty:
        return rows
    widths = rows.groupby(keys)["value"].agg(lambda v: v.max() - v.min()).reset_index()
    if "diverged_at" in rows.columns:
        widths = widths.join(rows.groupby("run")["diverged_at"].first(), on="run")
    return widths


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


EARLY_WINDOW_LABEL = "early training (judged window)"
EARLY_WINDOW_COLOR = "0.88"


def shade_early_window(ax, metrics: pd.DataFrame | None, rows: pd.DataFrame | None = None) -> list:
    """A light grey span over early training, steps 0 to core.early_end (the window every claim
    about early training judges), behind the data; nothing if the run length is unknown."""
    end = early_end(metrics, rows)
    if not np.isfinite(end):
        return []
    span = ax.axvspan(0, end, facecolor=EARLY_WINDOW_COLOR, edgecolor="none", zorder=0,
                      label=EARLY_WINDOW_LABEL, gid="early-window")  # fmt: skip
    return [span]


def draw_saturated_markers(ax, rows: pd.DataFrame, saturation: pd.DataFrame) -> list:
    """A small 'x' on each (normalisation, lr)'s mean line at the probed steps where a seed's
    step along −g had overshot already at the smallest η (core.saturated): the steps the β
    claims' second reading leaves out. `rows` are the effective-β rows the line is drawn from.
    Returns one grey proxy for the legend if any step is marked."""
    drawn = False
    if rows.empty or saturation.empty:
        return []
    flagged = saturation[saturation["saturated"].astype(bool)]
    for normalization in sorted_normalizations(rows["normalization"]):
        for lr in sorted(rows.loc[rows["normalization"] == normalization, "lr"].unique()):
            group = rows[(rows["normalization"] == normalization) & (rows["lr"] == lr)]
            mean = group.groupby("step")["value"].mean()
            mine = flagged[
                (flagged["normalization"] == normalization)
                & np.isclose(flagged["lr"].astype(float), float(lr))
            ]
            steps = sorted(set(mine["step"].astype(float)) & set(mean.index.astype(float)))
            if not steps:
                continue
            ax.plot(
                steps, mean.loc[steps].to_numpy(dtype=float), linestyle="none", marker="x",
                markersize=4.5, markeredgewidth=1.0, color=normalization_color(normalization),
                label="_saturated", gid=f"{group_gid(normalization, lr)}|saturated", zorder=4,
            )  # fmt: skip
            drawn = True
    if not drawn:
        return []
    return [Line2D([], [], linestyle="none", marker="x", markersize=4.5, color="0.3",
                   label=SATURATED_LABEL)]  # fmt: skip


SATURATED_LABEL = "x = overshot at the smallest η (left out of one β reading)"


def draw_two_over_lr(ax, lr: float) -> Line2D:
    return ax.axhline(
        2.0 / lr,
        color="0.4",
        linestyle=":",
        linewidth=1.0,
        label="2 / lr",
        gid="reference",
    )


NOISY_NORMALIZATIONS = ("none", "batch", "noisy_batch")


# The l_p experiment's figures: the paper's five always, the per-sample normalisations
# (beyond the paper) when a config runs them.
PAPER_LP_NORMALIZATIONS = ("none", "batch", "l1", "l2", "linf")
LP_NORMALIZATIONS = (*PAPER_LP_NORMALIZATIONS, "layer", "group")


def lp_normalizations(rows: pd.DataFrame) -> tuple[str, ...]:
    """The l_p figures' normalisations for one table: the paper's, and any other it holds."""
    present = set(rows["normalization"]) if not rows.empty else set()
    return tuple(n for n in LP_NORMALIZATIONS if n in PAPER_LP_NORMALIZATIONS or n in present)


RIDGE_COUNT = 8


STEP_COLORMAP = "viridis"


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


def no_data_figure(title: str, xlabel: str, ylabel: str, panels: int = 1) -> Figure:
    fig, axes = new_figure(1, panels, panel_size=(4.6, 3.4))
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        mark_no_data(ax)
    fig.suptitle(title)
    return fig


def add_normalization_legend(fig, handles: list, title: str | None = None) -> None:
    """One legend below the panels, each label once, at most three columns (one or two in a
    one-column figure)."""
    unique = list({handle.get_label(): handle for handle in handles}.values())
    if not unique:
        return
    longest = max(len(handle.get_label()) for handle in unique)
    most = 3 if fig.get_figwidth() > COLUMN_WIDTH else max(1, NARROW_LEGEND_CHARS // (longest + 6))
    columns = min(len(unique), most)
    place_legend(fig, unique, columns, int(np.ceil(len(unique) / columns)), title)


def evenly_spaced(values, count: int = RIDGE_COUNT) -> list:
    """At most `count` of the sorted distinct values, evenly spaced, first and last included."""
    values = sorted(set(values))
    if len(values) <= count:
        return values
    picks = np.unique(np.round(np.linspace(0, len(values) - 1, count)).astype(int))
    return [values[i] for i in picks]


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


def note_experiment(fig: Figure, note: str) -> None:
    """Name, under its title, the experiment (network, optimiser) a figure shows when it is
    not the paper's own."""
    if not note:
        return
    title = fig.get_suptitle()
    size = (
        fig._suptitle.get_fontsize() if fig._suptitle is not None else RC_STYLE["figure.titlesize"]
    )
    fig.suptitle(f"{title}\n({note})" if title else f"({note})", fontsize=size)


def save_figure(fig: Figure, png_path, pdf_path) -> None:
    """Write the figure as PNG (raster, for the report) and PDF (vector, for a paper)."""
    for path in (Path(png_path), Path(pdf_path)):
        with atomic_output(path) as tmp:  # a killed job leaves no half-written figure
            fig.savefig(tmp, format=path.suffix[1:], dpi=DPI, bbox_inches="tight")
