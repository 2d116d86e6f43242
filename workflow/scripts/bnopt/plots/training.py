"""Training curves: the paper's Fig 1 (training and test), the noisy-BN and l_p training
figures, the seed notebooks' envelope over learning rates, labelled as what it is, and the
learning-rate trainability sweep."""

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, PercentFormatter

from ..catalog import format_lr, normalization_label
from ..quantities import (
    FINAL_FRACTION,
    final_accuracy_or_zero,
    finite_rows,
    rolling_mean,
    training_length,
)
from .legends import add_figure_legend, add_normalization_legend, encoding_note
from .panels import (
    draw_divergence_markers,
    draw_seed_lines,
    line_panel,
    no_data_figure,
    shade_early_window,
)
from .selection import LP_NORMALIZATIONS, NOISY_NORMALIZATIONS, only_normalizations
from .style import (
    by_lr_and_style,
    by_normalization,
    group_gid,
    label_without_lr,
    new_figure,
    normalization_color,
    set_log_scale_if_positive,
    set_suptitle,
    sorted_normalizations,
    styled,
)


def as_percent(ax) -> None:
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


SMOOTHING_STEPS = 25  # the centred rolling mean drawn over the raw per-step curves of Fig 1
DECADES_FOR_LOG = 2  # a loss spanning more decades (a diverged run) gets a log axis


def smoothed_per_run(rows: pd.DataFrame, steps: int = SMOOTHING_STEPS) -> pd.DataFrame:
    """Each run's curve as a centred rolling mean over about `steps` steps."""
    parts = []
    for _, run in rows.groupby("run", sort=False):
        run = run.sort_values("step")
        parts.append(run.assign(value=rolling_mean(run, steps, center=True)))
    return pd.concat(parts) if parts else rows


def draw_raw(ax, rows: pd.DataFrame) -> None:
    """The raw per-step values, faint, behind the smoothed lines (not in the legend)."""
    colors = by_lr_and_style(rows)[0] if not rows.empty else None
    for (normalization, lr, _run), part in rows.groupby(["normalization", "lr", "run"]):
        part = part.sort_values("step")
        ax.plot(part["step"], part["value"], color=colors(normalization, lr), alpha=0.22,
                linewidth=0.5, label="_raw", gid=f"{group_gid(normalization, lr)}|raw")  # fmt: skip


def spans_decades(values, decades: float = DECADES_FOR_LOG) -> bool:
    values = np.asarray(values, dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    return len(positive) > 1 and np.log10(positive.max() / positive.min()) > decades


FINAL_WINDOW_LABEL = f"last {FINAL_FRACTION:.0%} (judged at lr 0.5)"


def shade_final_window(ax, metrics: pd.DataFrame) -> list:
    """A hatched span over the last FINAL_FRACTION of the run: the steps the lr-0.5 claim
    judges (bnopt.claims.training.judge_large_lr)."""
    length = training_length(metrics)
    if not np.isfinite(length):
        return []
    span = ax.axvspan((1 - FINAL_FRACTION) * length, length, facecolor="none", edgecolor="0.55",
                      hatch="///", linewidth=0, zorder=0, label=FINAL_WINDOW_LABEL,
                      gid="final-window")  # fmt: skip
    return [span]


@styled
def fig1_training(metrics: pd.DataFrame) -> Figure:
    """Training accuracy and training loss vs step (paper Fig 1): a centred rolling mean over
    SMOOTHING_STEPS steps of each step's minibatch values, the raw values faint behind; early
    training (the window the lr-0.1 claim judges) shaded."""
    accuracy = finite_rows(metrics, "train_accuracy")
    loss = finite_rows(metrics, "train_loss")
    fig, (acc_ax, loss_ax) = new_figure(1, 2)
    for ax, rows in ((acc_ax, accuracy), (loss_ax, loss)):
        if not rows.empty:
            draw_raw(ax, rows)
    handles = line_panel(acc_ax, smoothed_per_run(accuracy), "Training accuracy",
                         "Training accuracy (judged)")  # fmt: skip
    as_percent(acc_ax)
    acc_ax.set_ylim(0, 1.02)
    handles += line_panel(loss_ax, smoothed_per_run(loss), "Training loss",
                          "Training loss (not judged)")  # fmt: skip
    if spans_decades(loss["value"]):
        set_log_scale_if_positive(loss_ax, loss["value"])
    for ax in (acc_ax, loss_ax):
        handles += shade_early_window(ax, metrics)
    handles += shade_final_window(acc_ax, metrics)
    both = pd.concat([accuracy, loss])
    title = f"Training performance ({SMOOTHING_STEPS}-step rolling mean; raw values faint)"
    set_suptitle(fig, title, both)
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


# Dense per-step curves are averaged into about this many bins per line.
BIN_TARGET = 100


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


def training_accuracy_figure(
    metrics: pd.DataFrame, normalizations: Sequence[str], title: str, window: bool = False
) -> Figure:
    """Training accuracy vs step, colour = normalisation, one panel per learning rate;
    `window` shades early training (the window a claim judges)."""
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
        if window:
            handles += shade_early_window(ax, metrics)
    axes[0].set_ylabel("Training accuracy")
    as_percent(axes[0])
    axes[0].set_ylim(0, 1.02)
    note = f"\n(on each step's own minibatch{binning_note(accuracy)})"
    set_suptitle(fig, title + note, rows)
    add_normalization_legend(fig, handles)
    return fig


@styled
def noisy_bn_training(metrics: pd.DataFrame) -> Figure:
    """Training accuracy of Standard, BatchNorm and noisy BatchNorm (paper Fig 2, left), early
    training (the noisy-BN claim's window) shaded."""
    return training_accuracy_figure(
        metrics, NOISY_NORMALIZATIONS, "Training accuracy with noisy BatchNorm", window=True
    )


@styled
def lp_training(metrics: pd.DataFrame) -> Figure:
    """Training accuracy of Standard, BatchNorm and l1/l2/l-inf normalisation (paper Fig 12)."""
    return training_accuracy_figure(
        metrics, LP_NORMALIZATIONS, "Training accuracy with $\\ell_p$ normalisation"
    )


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
    title = "Envelope of training losses over lrs:\nNOT the paper's loss landscape (fig5)"
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
    ax.set_ylabel(ylabel)
    if spans_decades(rows["value"], 1):
        set_log_scale_if_positive(ax, rows["value"])
    seeds = rows["seed"].nunique()
    seed_text = f"mean over {seeds} seeds per lr, " if seeds > 1 else ""
    fig.suptitle(title)
    add_normalization_legend(
        fig,
        handles,
        f"band = {seed_text}min..max over the runs at different\nlearning rates"
        f"{binning_note(losses)} (separate training runs,\nnot a range over η along the gradient)",
    )
    return fig


def final_accuracies(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per run: normalisation, lr, seed and its final training accuracy as the training
    claims define it (mean over the last 5% of logged steps; a diverged run counts as 0)."""
    accuracy = finite_rows(metrics, "train_accuracy")
    rows = []
    for (normalization, lr, seed), run in accuracy.groupby(["normalization", "lr", "seed"]):
        value = final_accuracy_or_zero(run)
        if np.isfinite(value):
            diverged = bool(run["diverged_at"].notna().any()) if "diverged_at" in run else False
            rows.append((normalization, float(lr), int(seed), value, diverged))
    return pd.DataFrame(rows, columns=["normalization", "lr", "seed", "value", "diverged"])


@styled
def lr_sweep(metrics: pd.DataFrame) -> Figure:
    """Final training accuracy against learning rate, one line per normalisation: at which
    rates each network trains (the trainability sweep of public reproductions; not a paper
    figure). Drawn from the runs an experiment of the training kind names."""
    title = "Trainability across learning rates"
    ylabel = "Final training accuracy"
    finals = final_accuracies(metrics)
    if finals.empty:
        return no_data_figure(title, "Learning rate", ylabel)
    fig, (ax,) = new_figure(1, 1, panel_size=(6.0, 4.2))
    handles = []
    for normalization in sorted_normalizations(finals["normalization"].unique()):
        own = finals[finals["normalization"] == normalization]
        summary = own.groupby("lr")["value"].agg(["mean", "min", "max"]).reset_index()
        color = normalization_color(normalization)
        (line,) = ax.plot(
            summary["lr"], summary["mean"], color=color, marker="o", markersize=4,
            label=normalization_label(normalization), gid=f"{normalization}|sweep",
        )  # fmt: skip
        handles.append(line)
        if own["seed"].nunique() > 1:
            ax.vlines(summary["lr"], summary["min"], summary["max"], color=color, linewidth=1)
        diverged = own[own["diverged"]]
        if not diverged.empty:
            ax.plot(diverged["lr"], diverged["value"], linestyle="none", marker="x",
                    markersize=6, color=color, gid=f"{normalization}|diverged")  # fmt: skip
    ax.set_xscale("log")
    rates = sorted(finals["lr"].unique())
    ax.set_xticks(rates, [format_lr(lr) for lr in rates])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(rates[0] / 1.6, rates[-1] * 1.6)
    ax.set_xlabel("Learning rate (log axis)")
    ax.set_ylabel(ylabel)
    as_percent(ax)
    ax.set_ylim(0, 1.02)
    note = f"\n(last {FINAL_FRACTION:.0%} of steps; x = diverged, as 0)"
    set_suptitle(fig, title + note, finals)
    add_normalization_legend(fig, handles)
    return fig
