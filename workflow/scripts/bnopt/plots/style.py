"""The figures' look: labels, colours and line styles per normalisation, learning rate and
training step, the paper's sizes and rc style, figure grids, titles, log axes and saving.

Legends are bnopt.plots.legends', what panels draw bnopt.plots.panels', which rows they draw
bnopt.plots.selection's; all of them build on this module, which imports none of them."""

import functools
import textwrap
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from .. import catalog
from ..catalog import format_lr, normalization_label
from ..files import atomic_output

# Figures are drawn on Figure objects, never through pyplot; Agg keeps any pyplot use headless.
matplotlib.use("Agg")


# Labels, line styles and colours per normalisation: bnopt.catalog's.
NORMALIZATION_LABELS = {name: n.label for name, n in catalog.NORMALIZATIONS.items()}


NORMALIZATION_ORDER = list(NORMALIZATION_LABELS)


LINE_STYLES = {name: n.line_style for name, n in catalog.NORMALIZATIONS.items()}


PALETTE = sns.color_palette("colorblind")  # its last colour: a normalisation not catalogued


# Fixed colours per normalisation so that each one looks the same in every figure.
NORMALIZATION_COLORS = {name: to_rgb(n.color) for name, n in catalog.NORMALIZATIONS.items()}


# One line style per learning rate where colour is the normalisation (the paper's rates keep
# theirs in every figure; others take the spare styles in order).
PAPER_LR_STYLES = {0.1: "-", 0.5: "--", 0.01: ":"}


LINE_ORDER = ("-", "--", ":", "-.", (0, (1, 1)), (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)))


DPI = catalog.FIGURE_DPI


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


def group_label(normalization: str, lr: float) -> str:
    return f"{normalization_label(normalization)}, lr {format_lr(lr)}"


def group_gid(normalization: str, lr: float) -> str:
    return f"{normalization}|{format_lr(lr)}"


def label_without_lr(normalization: str, _lr: float) -> str:
    return normalization_label(normalization)


def sorted_normalizations(values) -> list[str]:
    known = [n for n in NORMALIZATION_ORDER if n in set(values)]
    return known + sorted(set(values) - set(known))


def normalization_color(normalization: str) -> tuple:
    return NORMALIZATION_COLORS.get(normalization, PALETTE[-1])


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


def by_lr_and_style(rows: pd.DataFrame):
    """Colour = normalisation (the same in every figure), line style = learning rate."""
    styles = lr_styles(rows["lr"])

    def color_of(normalization, _lr):
        return normalization_color(normalization)

    def style_of(_normalization, lr):
        return styles[float(lr)]

    return color_of, style_of


def by_normalization():
    """Colour and line style both follow the normalisation."""

    def color_of(normalization, _lr):
        return normalization_color(normalization)

    def style_of(normalization, _lr):
        return LINE_STYLES.get(normalization, "-")

    return color_of, style_of


STEP_COLORMAP = "viridis"


def step_scale(steps) -> matplotlib.colors.Normalize:
    """Maps training steps to 0..1 for the step colour map (never a zero-width range)."""
    steps = np.asarray(steps, dtype=float)
    return matplotlib.colors.Normalize(vmin=steps.min(), vmax=max(steps.max(), steps.min() + 1))


def step_colors(steps) -> Callable:
    scale, colormap = step_scale(steps), matplotlib.colormaps[STEP_COLORMAP]
    return lambda step: colormap(scale(step))


def new_figure(nrows: int, ncols: int, panel_size=(4.6, 3.4), sharey=False):
    """A figure of nrows x ncols panels at a paper's size: one column wide for one panel per
    row, the full text width otherwise; `panel_size` gives only each panel's aspect ratio."""
    width = COLUMN_WIDTH if ncols == 1 else FULL_WIDTH
    panel_height = max(width / ncols * panel_size[1] / panel_size[0], MIN_PANEL_HEIGHT)
    fig = Figure(figsize=(width, panel_height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey)
    return fig, list(axes.flat)


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


SEED_BAND_NOTE = "line = mean over {seeds} seeds, band = min..max over seeds"


SEED_RANGE_NOTE = "band = mean over {seeds} seeds of the per-seed min .. max over η"


NARROW_TITLE_CHARS = 53  # a one-column figure's title line holds about this many characters


def fitted_title(fig, title: str) -> str:
    """The title, each of its lines wrapped to the figure's width (NARROW_TITLE_CHARS for one
    column, in proportion for a wider figure, fewer where the drawn title is still wider);
    never inside a $...$ formula."""
    chars = round(NARROW_TITLE_CHARS * fig.get_figwidth() / COLUMN_WIDTH)
    fitted = "\n".join(wrap_outside_math(line, chars) for line in title.split("\n"))
    while chars > 20 and title_width(fig, fitted) > fig.get_figwidth():
        chars -= 2
        fitted = "\n".join(wrap_outside_math(line, chars) for line in title.split("\n"))
    return fitted


def title_width(fig, title: str) -> float:
    """The width in inches of the title as the figure's suptitle draws it."""
    text = fig.text(0, 0, title, fontsize=matplotlib.rcParams["figure.titlesize"])
    width = text.get_window_extent().width / fig.dpi
    text.remove()
    return width


def wrap_outside_math(line: str, chars: int) -> str:
    """The line wrapped at `chars` characters, at spaces outside $...$ only: a formula broken
    across lines would print as its TeX source."""
    parts = line.split("$")
    glued = "$".join(p.replace(" ", "\0") if k % 2 else p for k, p in enumerate(parts))
    glued = glued.replace(" = ", "\0=\0").replace("lr ", "lr\0")  # "solid = lr 0.1" stays whole
    wrapped = textwrap.fill(glued, chars, break_long_words=False, break_on_hyphens=False)
    return wrapped.replace("\0", " ")


def set_suptitle(fig, title: str, rows: pd.DataFrame, seed_note: str = SEED_BAND_NOTE) -> None:
    seeds = rows["seed"].nunique() if not rows.empty else 0
    note = "\n(" + seed_note.format(seeds=seeds) + ")" if seeds > 1 else ""
    fig.suptitle(fitted_title(fig, title + note))


def note_experiment(fig: Figure, note: str) -> None:
    """Name, under its title, the experiment (network, optimiser) a figure shows when it is
    not the paper's own."""
    if not note:
        return
    title = fig.get_suptitle()
    size = (
        fig._suptitle.get_fontsize() if fig._suptitle is not None else RC_STYLE["figure.titlesize"]
    )
    note = fitted_title(fig, f"({note})")
    fig.suptitle(f"{title}\n{note}" if title else note, fontsize=size)


def set_log_scale_if_positive(ax, values) -> None:
    """A log y-axis when some value is positive, labelled at the decades, or more densely
    where fewer than two decades fall in view (ReadableLogLocator); minor ticks unlabelled."""
    values = np.asarray(values, dtype=float)
    if np.any(np.isfinite(values) & (values > 0)):
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(ReadableLogLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(log_tick_label))
        ax.yaxis.set_minor_formatter(NullFormatter())


class ReadableLogLocator(LogLocator):
    """Log-axis ticks at least two of which are in view: at the powers of ten (every k-th, so
    that they fit the axis); where fewer than two powers of ten are in view, at 1, 2 and 5
    times them, else at every multiple, else at a few evenly spaced round values."""

    def tick_values(self, vmin, vmax):
        vmin, vmax = sorted((vmin, vmax))
        if not (np.isfinite(vmin) and np.isfinite(vmax)) or vmin <= 0:
            return super().tick_values(vmin, vmax)
        low = int(np.ceil(np.log10(vmin) - 1e-9))
        high = int(np.floor(np.log10(vmax) + 1e-9))
        room = min(max(self.axis.get_tick_space() if self.axis is not None else 9, 2), 9)
        if high > low:  # two powers of ten or more in view
            stride = int(np.ceil((high - low) / (room - 1)))
            first = int(np.ceil(low / stride)) * stride  # round exponents where two still fit
            first = first if first + stride <= high else low
            return 10.0 ** np.arange(first, high + 1, stride)
        for subs in ((1, 2, 5), range(1, 10)):
            ticks = np.array([s * 10.0**k for k in range(low - 1, high + 1) for s in subs])
            inside = ticks[(ticks >= vmin) & (ticks <= vmax)]
            if len(inside) >= 2:
                return inside[:: int(np.ceil(len(inside) / room))]
        ticks = MaxNLocator(nbins=3).tick_values(vmin, vmax)
        return ticks[ticks > 0]


def log_tick_label(value: float, _position=None) -> str:
    """10ⁿ, or c×10ⁿ between the powers of ten, as the log axis' default labels read."""
    if not np.isfinite(value) or value <= 0:
        return ""
    exponent = int(np.floor(np.log10(value)))
    coefficient = float(f"{value / 10.0**exponent:.3g}")
    if coefficient >= 10:
        exponent, coefficient = exponent + 1, coefficient / 10
    if coefficient == 1:
        return f"$\\mathdefault{{10^{{{exponent}}}}}$"
    return f"$\\mathdefault{{{coefficient:g}\\times10^{{{exponent}}}}}$"


def save_figure(fig: Figure, png_path, pdf_path) -> None:
    """Write the figure as PNG (raster, for the report) and PDF (vector, for a paper)."""
    for path in (Path(png_path), Path(pdf_path)):
        with atomic_output(path) as tmp:  # a killed job leaves no half-written figure
            fig.savefig(tmp, format=path.suffix[1:], dpi=DPI, bbox_inches="tight")
