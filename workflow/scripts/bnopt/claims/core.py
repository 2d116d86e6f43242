"""The shared core of the claim verdicts: selecting a run's rows, pairing runs by seed and
probed step, the early-training window, the verdict across seeds, and the row written.

A claim is a `Claim` declaration (bnopt.claims) whose `judge` returns a `Judgement`. Judges
compute one statistic per seed (`SeedResult`); `across_seeds` turns those into the verdict
(held when the rule holds in a strict majority of the measurable seeds) and a statistic text
that lists every seed's value with the mean and an interval over seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..tables import COLUMNS as TIDY_COLUMNS

HELD = "held"
NOT_HELD = "did not hold"
NOT_MEASURABLE = "not measurable at this scale"
VERDICTS = (HELD, NOT_HELD, NOT_MEASURABLE)
COLUMNS = ["claim", "figure", "statistic", "paper", "rule", "verdict", "reading", "group"]

STANDARD = "none"
BATCHNORM = "batch"
NOISY_BATCHNORM = "noisy_batch"
LP_NORMALIZATIONS = ("l1", "l2", "linf")
PER_SAMPLE_NORMALIZATIONS = ("layer", "group")  # beyond the paper: no batch statistics
LP_LABELS = {
    "l1": "ℓ1", "l2": "ℓ2", "linf": "ℓ∞", "layer": "LayerNorm", "group": "GroupNorm",
    "none": "Standard", "batch": "BN",
}  # fmt: skip

MIN_STEPS = 3  # probed (or logged) steps a run needs before any statistic is read from it
SMOOTHING_STEPS = 100  # rolling window of the training-loss curve, as the figures show it
INITIAL_STEPS = 10  # logged steps whose median is a run's initial training loss
LEFT_PLATEAU = 0.9  # a run has left its initial plateau once its smoothed loss is below this
EARLY_LOSS = 0.5  # ... and early training ends once it is below this fraction of the initial
PAPER_ETA = (0.5, 4.0)  # the paper's η range for Figs 4a-b, as multiples of lr
OVERSHOOT = 0.9  # ‖∇L(w − ηg) − g‖ ≥ this × ‖g‖: the step along −g has overshot

SEED_RULE = (
    "Runs are paired by seed; held if the rule holds in a strict majority of the seeds "
    "where every run compared is measurable (each seed's statistic, their mean and range "
    "are shown)"
)
EARLY_WINDOW_RULE = (
    f"Early training = the probed steps from 0 up to the first step at which the Standard "
    f"run's training loss, as a trailing {SMOOTHING_STEPS}-step mean, falls below "
    f"{EARLY_LOSS:g} x its initial value (the median of its first {INITIAL_STEPS} logged "
    f"steps), or the whole run if it never does; not measurable if the Standard run never "
    f"fell below {LEFT_PLATEAU:g} x its initial loss (it never left its plateau, where the "
    f"landscape along a vanishing gradient says nothing about normalisation) or the window "
    f"holds fewer than {MIN_STEPS} steps probed in both runs"
)


@dataclass(frozen=True)
class Judgement:
    verdict: str
    statistic: str
    reading: str


@dataclass(frozen=True)
class SeedResult:
    """One seed's outcome: whether the rule held, its statistic and how it reads."""

    seed: int
    holds: bool
    value: float
    text: str
    reading: str = ""


def not_measurable(why: str) -> Judgement:
    return Judgement(NOT_MEASURABLE, f"Not measurable: {why}.", f"Not measurable: {why}.")


def across_seeds(results: list[SeedResult], value_name: str, missing: str) -> Judgement:
    """Held when the rule holds in a strict majority of seeds; every seed's value is shown."""
    if not results:
        return not_measurable(missing)
    held = sum(result.holds for result in results)
    verdict = HELD if held > len(results) / 2 else NOT_HELD
    if len(results) == 1:
        only = results[0]
        return Judgement(verdict, only.text + ".", only.reading or only.text + ".")
    values = np.array([result.value for result in results], dtype=float)
    texts = "; ".join(f"seed {r.seed}: {r.text}" for r in results)
    summary = (
        f"{texts}. {value_name} per seed: "
        + ", ".join(fmt(v) for v in values)
        + f" (mean {fmt(float(np.nanmean(values)))}, range {fmt(float(np.nanmin(values)))}"
        f" to {fmt(float(np.nanmax(values)))}). Rule held in {held} of {len(results)} seeds."
    )
    reading = f"The rule held in {held} of {len(results)} seeds; seed {results[0].seed}: " + (
        results[0].reading or results[0].text + "."
    )
    return Judgement(verdict, summary, reading)


def fmt(value) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.3g}"


def pct(value) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{100 * value:.1f}%"


def lr_text(lr: float) -> str:
    return f"lr {lr:g}"


def ratio(numerator: float, denominator: float) -> float:
    if denominator > 0:
        return numerator / denominator
    return np.inf if numerator > 0 else 1.0


# Selecting rows


def quantity_rows(table: pd.DataFrame | None, quantity: str) -> pd.DataFrame:
    """All rows of one quantity, finite or not; empty (with the tidy columns) if none."""
    if table is None or table.empty or "quantity" not in table.columns:
        return pd.DataFrame(columns=TIDY_COLUMNS)
    return table[table["quantity"] == quantity]


def finite_rows(table: pd.DataFrame | None, quantity: str) -> pd.DataFrame:
    rows = quantity_rows(table, quantity)
    return rows[np.isfinite(rows["value"].astype(float))].sort_values("step")


def run_rows(rows: pd.DataFrame, normalization: str, lr: float, seed) -> pd.DataFrame:
    selected = (
        (rows["normalization"] == normalization)
        & np.isclose(rows["lr"].astype(float), lr)
        & (rows["seed"] == seed)
    )
    return rows[selected]


def has_enough_steps(rows: pd.DataFrame) -> bool:
    return rows["step"].nunique() >= MIN_STEPS


def runs_present(rows: pd.DataFrame, normalizations) -> list[tuple[float, int]]:
    """(lr, seed) pairs at which every one of the normalisations has rows."""
    pairs = None
    for normalization in normalizations:
        selected = rows[rows["normalization"] == normalization]
        present = set(zip(selected["lr"].astype(float), selected["seed"], strict=True))
        pairs = present if pairs is None else pairs & present
    return sorted(pairs or set())


def shared_lrs(rows: pd.DataFrame, normalizations=(STANDARD, BATCHNORM)) -> list[float]:
    return sorted({lr for lr, _ in runs_present(rows, normalizations)})


def seeds_at(rows: pd.DataFrame, lr: float, normalizations=(STANDARD, BATCHNORM)) -> list:
    return [seed for pair_lr, seed in runs_present(rows, normalizations) if np.isclose(pair_lr, lr)]


def paper_etas(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows whose η lies in the paper's range (PAPER_ETA x lr) for Figs 4a and 4b."""
    multiple = rows["eta"].astype(float) / rows["lr"].astype(float)
    low, high = PAPER_ETA
    return rows[(multiple >= low * (1 - 1e-9)) & (multiple <= high * (1 + 1e-9))]


# Training curves


def diverged_at(run: pd.DataFrame) -> float:
    if "diverged_at" not in run.columns:
        return np.nan
    steps = run["diverged_at"].astype(float)
    steps = steps[np.isfinite(steps)]
    return float(steps.min()) if len(steps) else np.nan


def rolling_mean(run: pd.DataFrame, steps: int, center: bool = False) -> np.ndarray:
    """One run's values, sorted by step, as a rolling mean over about `steps` steps (the
    window in rows follows the run's logging gap)."""
    ordered = run["step"].to_numpy(dtype=float)
    gap = float(np.median(np.diff(ordered))) if len(ordered) > 1 else 1.0
    window = max(1, int(round(steps / gap))) if gap > 0 else 1
    values = run["value"].astype(float).rolling(window, center=center, min_periods=1).mean()
    return values.to_numpy()


def smoothed(run: pd.DataFrame) -> pd.Series:
    """A logged curve as its trailing mean over about SMOOTHING_STEPS steps, by step."""
    run = run.sort_values("step")
    return pd.Series(rolling_mean(run, SMOOTHING_STEPS), index=run["step"].to_numpy(dtype=float))


def first_step_where(curve: pd.Series, condition: Callable[[np.ndarray], np.ndarray]) -> float:
    reached = np.flatnonzero(condition(curve.to_numpy()))
    return float(curve.index[reached[0]]) if len(reached) else np.nan


@dataclass(frozen=True)
class Window:
    """Early training of one Standard run: probed steps 0..end (see EARLY_WINDOW_RULE)."""

    end: float
    left_plateau_at: float
    halved: bool  # whether the loss fell below EARLY_LOSS x initial (else: the whole run)

    def text(self) -> str:
        how = (
            f"until Standard's smoothed loss fell below {EARLY_LOSS:g} x its initial value"
            if self.halved
            else "the whole run: Standard's smoothed loss never fell below "
            f"{EARLY_LOSS:g} x its initial value"
        )
        return f"steps 0-{self.end:g} ({how})"


def early_window(metrics: pd.DataFrame, lr: float, seed) -> Window | str:
    """The early-training window of the Standard run at (lr, seed), or why there is none."""
    loss = run_rows(finite_rows(metrics, "train_loss"), STANDARD, lr, seed)
    if len(loss) < MIN_STEPS:
        return f"the Standard run at lr {lr:g} has fewer than {MIN_STEPS} logged losses"
    initial = float(loss.sort_values("step")["value"].head(INITIAL_STEPS).median())
    curve = smoothed(loss)
    left = first_step_where(curve, lambda v: v < LEFT_PLATEAU * initial)
    if not np.isfinite(left):
        return (
            f"the Standard run at lr {lr:g} never left its initial plateau (smoothed loss "
            f"never below {LEFT_PLATEAU:g} x its initial {fmt(initial)})"
        )
    end = first_step_where(curve, lambda v: v < EARLY_LOSS * initial)
    last = float(curve.index.max())
    stop = diverged_at(loss)
    end_step = end if np.isfinite(end) else last
    if np.isfinite(stop):
        end_step = min(end_step, stop)
    return Window(end_step, left, bool(np.isfinite(end)))


def paired_steps(first: pd.Series, second: pd.Series, window: Window | None = None) -> pd.DataFrame:
    """Two per-step series on the steps both have (within the window): columns a, b."""
    both = pd.concat({"a": first, "b": second}, axis=1, join="inner").dropna()
    if window is not None:
        both = both[both.index <= window.end]
    return both.sort_index()


def fraction_below(pairs: pd.DataFrame) -> float:
    """The share of paired steps at which the first series is strictly below the second."""
    return float((pairs["a"] < pairs["b"]).mean()) if len(pairs) else np.nan


def median_ratio(pairs: pd.DataFrame) -> float:
    ratios = [ratio(a, b) for a, b in zip(pairs["a"], pairs["b"], strict=True)]
    return float(np.median(ratios)) if ratios else np.nan


# Final training accuracy (the training claims' and the learning-rate sweep's)

FINAL_FRACTION = 0.05


def final_accuracy(run: pd.DataFrame) -> float:
    """Mean training accuracy over the logged steps in the last FINAL_FRACTION of the run."""
    accuracy = finite_rows(run, "train_accuracy")
    if accuracy.empty:
        return np.nan
    last_step = float(accuracy["step"].max())
    return float(accuracy.loc[accuracy["step"] >= (1 - FINAL_FRACTION) * last_step, "value"].mean())


def measurable_accuracy(run: pd.DataFrame) -> bool:
    return has_enough_steps(finite_rows(run, "train_accuracy"))


def final_accuracy_or_zero(run: pd.DataFrame) -> float:
    """Final training accuracy; a diverged run counts as 0; NaN if too few logged steps."""
    if np.isfinite(diverged_at(run)):
        return 0.0
    return final_accuracy(run) if measurable_accuracy(run) else np.nan
