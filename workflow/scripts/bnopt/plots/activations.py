"""Activation distributions (the paper's Figs 2 right, 8 and 13): ridge plots of one channel
per layer over training and the step-to-step changes of its moments."""

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..catalog import format_lr, normalization_label
from ..quantities import (
    finite_rows,
)
from .legends import add_normalization_legend
from .panels import draw_seed_lines, mark_no_data, no_data_figure
from .selection import (
    NOISY_NORMALIZATIONS,
    concat_rows,
    evenly_spaced,
    layers_to_show,
    lp_normalizations,
    only_normalizations,
)
from .style import (
    by_normalization,
    fitted_title,
    label_without_lr,
    new_figure,
    set_log_scale_if_positive,
    set_suptitle,
    step_colors,
    styled,
    wrapped_grid,
)

PAPER_LR = 0.1


# Peak height of a ridge in rows: each ridge rises into the rows above it.
RIDGE_HEIGHT = 1.7


KDE_POINTS = 256


LP_LAYER = 10


SHARED_AXIS_NOTE = "the same activation axis for every normalisation of a layer"


# The claim reads the step-to-step changes (the paper's Fig 8), not the drifts from step 0.
MOMENT_PANELS = (
    ("mean", "change", r"$|\mu_{t+1} - \mu_t|$ (judged)"),
    ("var", "change", r"$|\sigma^2_{t+1} - \sigma^2_t|$ (judged)"),
    ("mean", "drift", r"$\mu_t - \mu_0$ (not judged)"),
    ("var", "drift", r"$\sigma^2_t - \sigma^2_0$ (not judged)"),
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


def shown_samples(samples: pd.DataFrame) -> pd.DataFrame:
    """The samples of the probed steps a ridge plot draws (evenly_spaced)."""
    return samples[samples["step"].isin(evenly_spaced(samples["step"]))]


def draw_ridges(
    ax,
    samples: pd.DataFrame,
    gid_prefix: str,
    color_of_step: Callable,
    span: tuple[float, float] | None = None,
) -> None:
    """One density per probed step, first step at the bottom, each scaled to its own peak, on
    the activation axis `span` (default: the value_range of the samples drawn)."""
    steps = evenly_spaced(samples["step"])
    shown = shown_samples(samples)
    grid = np.linspace(*(span or value_range(shown["value"])), KDE_POINTS)
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
        # One activation axis for every normalisation of a layer, so that their spreads
        # compare at a glance (each on its own axis, ±0.5 and ±4 would look alike).
        at_layer = samples[samples["layer"] == layer]
        drawn = [shown_samples(p) for _, p in at_layer.groupby("normalization")]
        span = value_range(pd.concat(drawn)["value"]) if drawn else None
        for column, normalization in enumerate(normalizations):
            ax = axes[row * len(normalizations) + column]
            panel = at_layer[at_layer["normalization"] == normalization]
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
            draw_ridges(ax, panel, f"{normalization}|layer{layer}", color_of_step, span)
    note = (
        f"\n(lr {format_lr(lr)}; one channel per layer, fixed at initialisation; "
        f"kernel density per probed step; {SHARED_AXIS_NOTE}{seed_note})"
    )
    fig.suptitle(fitted_title(fig, title + note))
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
        lp_normalizations(activations),
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
    # One step axis for every panel: the changes start at the second probed step, but their
    # panels span the same steps as the others.
    steps = moments["step"].astype(float)
    for ax in axes:
        ax.set_xlim(steps.min(), steps.max())
    note = f"\n(one channel per layer, pre-ReLU, consecutive probed steps; lr {format_lr(lr)})"
    set_suptitle(fig, title + note, moments)
    add_normalization_legend(fig, handles)
    return fig
