"""The figures' legends: below the panels, one column per normalisation where the figure's
width allows, fewer columns and a title wrapped to fit where it does not."""

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from ..catalog import format_lr
from .style import COLUMN_WIDTH, lr_styles, wrap_outside_math


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
    one-column figure as many entries per line as fit. Where that is wider than the figure,
    fewer columns: whole normalisations stacked in one (place_fitting_legend)."""
    columns = legend_columns(handles)
    if not columns:
        return
    if fig.get_figwidth() <= COLUMN_WIDTH:
        entries = [entry for column in columns for entry in column]
        longest = max(len(entry.get_label()) for entry in entries)
        most = max(1, min(len(entries), NARROW_LEGEND_CHARS // (longest + 6)))
        layouts = [(entries, n, int(np.ceil(len(entries) / n))) for n in range(most, 0, -1)]
    else:
        layouts = [stacked_columns(columns, n) for n in range(len(columns), 0, -1)]
    place_fitting_legend(fig, layouts, title)


def add_normalization_legend(fig, handles: list, title: str | None = None) -> None:
    """One legend below the panels, each label once, at most three columns (one or two in a
    one-column figure)."""
    unique = list({handle.get_label(): handle for handle in handles}.values())
    if not unique:
        return
    longest = max(len(handle.get_label()) for handle in unique)
    most = 3 if fig.get_figwidth() > COLUMN_WIDTH else max(1, NARROW_LEGEND_CHARS // (longest + 6))
    layouts = [
        (unique, columns, int(np.ceil(len(unique) / columns)))
        for columns in range(min(len(unique), most), 0, -1)
    ]
    place_fitting_legend(fig, layouts, title)


def stacked_columns(groups: list[list], most: int) -> tuple[list, int, int]:
    """The legend groups in at most `most` columns, in order, each group whole in one column
    and the columns as short as that allows: (entries padded with blanks, columns, rows). With
    one column per group, each group is its own column."""
    total = sum(len(group) for group in groups)
    rows = max(max(len(group) for group in groups), int(np.ceil(total / most)))
    while True:
        columns: list[list] = [[]]
        for group in groups:
            if columns[-1] and len(columns[-1]) + len(group) > rows:
                columns.append([])
            columns[-1] = columns[-1] + group
        if len(columns) <= most:
            break
        rows += 1
    blank = Line2D([], [], linestyle="none", label=" ")
    entries = [entry for column in columns for entry in column + [blank] * (rows - len(column))]
    return entries, len(columns), rows


def legend_width(fig, entries: list, ncol: int, title: str | None) -> float:
    """The width in inches of the legend these entries would make (drawn, measured, removed)."""
    legend = fig.legend(entries, [entry.get_label() for entry in entries], ncol=ncol,
                        title=title, frameon=False)  # fmt: skip
    width = legend.get_window_extent().width / fig.dpi
    legend.remove()
    return width


def fitted_legend_title(fig, title: str | None) -> str | None:
    """The legend's title as given if it fits the figure's width, else reflowed as one
    paragraph (at spaces) into lines short enough to fit."""
    if not title or legend_width(fig, [], 1, title) <= fig.get_figwidth():
        return title
    paragraph = " ".join(title.split())
    chars = len(paragraph)
    fitted = paragraph
    while chars > 20 and legend_width(fig, [], 1, fitted) > fig.get_figwidth():
        chars -= 4
        fitted = wrap_outside_math(paragraph, chars)
    return fitted


def place_fitting_legend(fig, layouts: list[tuple[list, int, int]], title: str | None) -> None:
    """The first of `layouts` (entries, columns, rows; most columns first) whose legend is no
    wider than the figure (else the last), its title wrapped to the figure's width: whatever
    sticks out of a figure widens its saved image past the page."""
    title = fitted_legend_title(fig, title)
    fits = (
        (entries, ncol, rows)
        for entries, ncol, rows in layouts
        if legend_width(fig, entries, ncol, title) <= fig.get_figwidth()
    )
    place_legend(fig, *next(fits, layouts[-1]), title)


def place_legend(fig, entries: list, ncol: int, rows: int, title: str | None) -> None:
    """The legend below the panels; the figure grows by its height so the panels keep theirs."""
    title_lines = title.count("\n") + 2 if title else 1
    fig.set_figheight(fig.get_figheight() + 0.14 * (rows + title_lines))
    fig.legend(
        entries,
        [entry.get_label() for entry in entries],
        loc="outside lower center",
        ncol=ncol,
        title=title,
        frameon=False,
    )


STYLE_WORDS = {
    "-": "solid",
    "--": "dashed",
    ":": "dotted",
    "-.": "dash-dot",
}


def encoding_note(rows: pd.DataFrame) -> str:
    """'colour = normalisation; solid = lr 0.1, dashed = lr 0.5' for the rates present."""
    styles = lr_styles(rows["lr"])
    words = [
        f"{STYLE_WORDS.get(style, 'patterned') if isinstance(style, str) else 'patterned'}"
        f" = lr {format_lr(lr)}"
        for lr, style in styles.items()
    ]
    return "colour = normalisation; " + ", ".join(words)
