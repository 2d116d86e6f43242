"""What the figures draw into a panel: seed lines and bands, divergence markers, ranges over
eta, the early-training window, reference lines and the 'no data' note of an empty panel."""

from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..catalog import normalization_label
from ..quantities import early_end
from .style import (
    LINE_STYLES,
    by_lr_and_style,
    group_gid,
    group_label,
    new_figure,
    normalization_color,
    set_log_scale_if_positive,
    sorted_normalizations,
)


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


def no_data_figure(title: str, xlabel: str, ylabel: str, panels: int = 1) -> Figure:
    fig, axes = new_figure(1, panels, panel_size=(4.6, 3.4))
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        mark_no_data(ax)
    fig.suptitle(title)
    return fig


def start_step_panel(ax, rows: pd.DataFrame, ylabel: str, title: str) -> bool:
    """Title and labels a panel with steps on x; marks it 'no data' and says so if rows is empty."""
    ax.set_title(title)
    ax.set_xlabel("Step")
    ax.set_ylabel(ylabel)
    if rows.empty:
        mark_no_data(ax)
        return False
    return True


def line_panel(ax, rows: pd.DataFrame, ylabel: str, title: str) -> list:
    if not start_step_panel(ax, rows, ylabel, title):
        return []
    color_of, style_of = by_lr_and_style(rows)
    return draw_seed_lines(ax, rows, color_of, style_of)


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
