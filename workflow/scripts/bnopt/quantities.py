"""What the figures draw and the claims judge, defined once for both: selecting a run's rows,
the early-training window, pairing two arms step by step and seed by seed, and the derived
quantities (the loss's rise along −g, the upper edge of the gradient-change band, the steps
where the smallest η overshoots). Kept apart from bnopt.claims, so that a figure job does
not run the claims' code (bnopt.code_identity).

The verdict itself (estimate, interval, outcome) is bnopt.claims.verdict's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from . import catalog
from .tables import COLUMNS as TIDY_COLUMNS
from .tables import PRECONDITIONED

# The arms the paper compares (bnopt.catalog's names).
STANDARD = "none"
BATCHNORM = "batch"
NOISY_BATCHNORM = "noisy_batch"
LP_NORMALIZATIONS = catalog.family("lp")
PER_SAMPLE_NORMALIZATIONS = catalog.family("per_sample")  # beyond the paper: no batch statistics

MIN_STEPS = 3  # probed (or logged) steps a run needs before a figure draws a statistic of it
PAPER_ETA = (0.5, 4.0)  # the paper's η range for Figs 4a-b, as multiples of lr
OVERSHOOT = 0.9  # ‖∇L(w − ηg) − g‖ ≥ this × ‖g‖: the step along −g has overshot
EARLY_FRACTION = 0.25  # early training: the first quarter of the run's steps

EARLY_WINDOW_RULE = (
    f"Early training = the first {EARLY_FRACTION:.0%} of the run's steps (steps t with "
    f"t < {EARLY_FRACTION:g} × the run's length), the same window for every claim about early "
    "training and shaded on its figures; it does not depend on how fast any run learns"
)


def training_length(metrics: pd.DataFrame | None, rows: pd.DataFrame | None = None) -> float:
    """The number of training steps of the experiment: its last logged training step + 1
    (steps are numbered from 0), else the last step in `rows` + 1."""
    for table in (metrics, rows):
        if table is not None and not table.empty and "step" in table.columns:
            logged = table[table["quantity"].isin(["train_loss", "train_accuracy"])]
            steps = (logged if not logged.empty else table)["step"].astype(float)
            if len(steps):
                return float(steps.max()) + 1
    return np.nan


def early_end(metrics: pd.DataFrame | None, rows: pd.DataFrame | None = None) -> float:
    """Where early training ends (EARLY_WINDOW_RULE): its steps are those below this."""
    return EARLY_FRACTION * training_length(metrics, rows)


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


# Pairing two arms: {seed: (first arm's values, second arm's values)} at the units both have.


def per_step_mean(run: pd.DataFrame) -> pd.Series:
    """A run's value per (layer, step) when it has layers, else per step."""
    keys = ["layer", "step"] if run["layer"].notna().any() else ["step"]
    return run.groupby(keys)["value"].mean()


def paired(
    rows: pd.DataFrame,
    first: str,
    second: str,
    lrs=None,
    per_step: Callable[[pd.DataFrame], pd.Series] = per_step_mean,
    end: float | None = None,
) -> dict:
    """Per seed, the two arms' per-unit values at the units (steps, or layer and step) both
    runs have, at the learning rates `lrs` (all shared ones if None), at steps < end when
    given."""
    pairs: dict = {}
    for lr, seed in runs_present(rows, (first, second)):
        if lrs is not None and not any(np.isclose(lr, chosen) for chosen in lrs):
            continue
        both = pd.concat(
            {
                "a": per_step(run_rows(rows, first, lr, seed)),
                "b": per_step(run_rows(rows, second, lr, seed)),
            },
            axis=1,
            join="inner",
        )
        if end is not None:
            both = both[both.index.get_level_values("step").astype(float) < end - 1e-9]
        a, b = pairs.get(seed, ([], []))
        pairs[seed] = (a + list(both["a"]), b + list(both["b"]))
    return pairs


def upper_edge(run: pd.DataFrame) -> pd.Series:
    """The upper edge of a band over the paper's η (PAPER_ETA × lr), per step."""
    return paper_etas(run).groupby("step")["value"].max()


def loss_rise(landscape: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """Per run and probed step, how far the loss rises along −g above L(w_t): max over the
    paper's η of L(w_t − ηg) − L(w_t), and 0 where it falls at every η (a fall along −g is
    the step doing its job, not roughness). L(w_t) is the step's training loss: the same
    minibatch in the same mode, before the update. Tidy rows, quantity "loss_rise"."""
    loss = paper_etas(finite_rows(landscape, "loss"))
    current = finite_rows(metrics, "train_loss")
    keys = ["run", "normalization", "lr", "seed", "step"]
    if loss.empty or current.empty:
        return pd.DataFrame(columns=TIDY_COLUMNS)
    top = loss.groupby(keys, as_index=False)["value"].max()
    merged = top.merge(current[[*keys, "value"]], on=keys, suffixes=("", "_at_w"))
    merged["value"] = np.maximum(merged["value"] - merged["value_at_w"], 0.0)
    merged["quantity"] = "loss_rise"
    merged["layer"] = np.nan
    merged["eta"] = np.nan
    return merged[[c for c in TIDY_COLUMNS if c in merged.columns]]


STEP_KEYS = ["run", "normalization", "lr", "seed", "step"]


def overshot(predictiveness: pd.DataFrame, beta: pd.DataFrame) -> pd.DataFrame:
    """Per run, probed step and η, whether ‖∇L(w − ηg) − g‖ >= OVERSHOOT ‖g‖: the step along
    −g has changed the gradient about as much as it measures. A non-finite gradient change
    (a step that blew up) counts as overshot. Columns STEP_KEYS, eta, overshot."""
    diffs = quantity_rows(predictiveness, "grad_diff")
    norms = finite_rows(beta, "grad_norm")
    if diffs.empty or norms.empty:
        return pd.DataFrame(columns=[*STEP_KEYS, "eta", "overshot"])
    merged = diffs.merge(norms[[*STEP_KEYS, "value"]], on=STEP_KEYS, suffixes=("", "_g"))
    change = merged["value"].astype(float)
    merged["overshot"] = ~np.isfinite(change) | (change >= OVERSHOOT * merged["value_g"])
    return merged[[*STEP_KEYS, "eta", "overshot"]]


def saturated(predictiveness: pd.DataFrame, beta: pd.DataFrame) -> pd.DataFrame:
    """Per run and probed step, whether the step had overshot already at the smallest η
    probed: there it overshoots at every η, the maximum of the ratio falls at η_min and β
    reads about 1/η_min whatever the curvature (protocol section 4)."""
    flags = overshot(predictiveness, beta)
    keys = STEP_KEYS[1:]
    if flags.empty:
        return pd.DataFrame(columns=[*keys, "saturated"])
    smallest = flags.loc[flags.groupby(STEP_KEYS)["eta"].idxmin()]
    return smallest.rename(columns={"overshot": "saturated"})[[*keys, "saturated"]]


# At initialisation (bnopt.initialisation): quantities per layer of one network, no steps.

INIT_NETWORKS = {"conv_stack": "VGG-style conv stack", "dln": "Deep linear network"}


def network_rows(table: pd.DataFrame | None, network: str, quantity: str) -> pd.DataFrame:
    """One network's finite rows of one quantity, from the initialisation table."""
    rows = finite_rows(table, quantity)
    return rows[rows["network"] == network] if "network" in rows.columns else rows.iloc[:0]


def deep_half(rows: pd.DataFrame) -> pd.DataFrame:
    """The layers in the deeper half of the network (layer > depth / 2)."""
    return rows[rows["layer"] > rows["layer"].max() / 2]


def input_half(rows: pd.DataFrame) -> pd.DataFrame:
    """The layers in the half next to the input (layer <= depth / 2)."""
    return rows[rows["layer"] <= rows["layer"].max() / 2]


def paired_layers(rows: pd.DataFrame, first: str, second: str) -> dict:
    """{seed: (first arm's values, second arm's values)} at the layers both arms have."""
    pairs = {}
    for seed in sorted(set(rows["seed"])):
        arms = {
            key: rows[(rows["normalization"] == arm) & (rows["seed"] == seed)]
            .groupby("layer")["value"]
            .mean()
            for key, arm in (("a", first), ("b", second))
        }
        both = pd.concat(arms, axis=1, join="inner")
        if len(both):
            pairs[seed] = (list(both["a"]), list(both["b"]))
    return pairs


# Weights over training (the weights probe): per layer, norm, distance from W_0, angle.


def hidden_layers(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of every weight layer but the last (in a normalised network, each is
    followed by its normalisation, so its output is invariant to the scale of its weight)."""
    if rows.empty:
        return rows
    return rows[rows["layer"] < rows["layer"].max()]


def with_initial(rows: pd.DataFrame, initial: pd.DataFrame) -> pd.DataFrame:
    """`rows` (per run, layer and step) with column value_0: `initial`'s value of the same
    run and layer at step 0; runs and layers without step 0 are left out."""
    start = initial[initial["step"] == 0][["run", "layer", "value"]]
    return rows.merge(start, on=["run", "layer"], suffixes=("", "_0"))


def relative_to_initial(rows: pd.DataFrame, initial: pd.DataFrame) -> pd.DataFrame:
    """`rows` divided by `initial`'s value at step 0 (e.g. ‖W_t‖ / ‖W_0‖)."""
    merged = with_initial(rows, initial)
    merged["value"] = merged["value"] / merged["value_0"]
    return merged.drop(columns="value_0")


def paired_with_initial(rows: pd.DataFrame, normalization: str) -> dict:
    """{seed: (values at probed steps t > 0, the same layer's value at step 0)} of one arm,
    over every lr, layer and step: a quantity against its own initial value."""
    pairs: dict = {}
    arm = rows[rows["normalization"] == normalization]
    later = with_initial(arm[arm["step"] > 0], arm)
    for seed, own in later.groupby("seed"):
        pairs[seed] = (list(own["value"]), list(own["value_0"]))
    return pairs


# Sharpness against the stability threshold of the run's optimiser (the edge of stability).

LATE_FRACTION = 0.5  # the second half of the run: where the sharpness has had time to settle


def late_start(metrics: pd.DataFrame | None, rows: pd.DataFrame | None = None) -> float:
    """Where the second half of the run starts (steps t >= this)."""
    return LATE_FRACTION * training_length(metrics, rows)


def seen_sharpness(curvature: pd.DataFrame | None, quantity: str) -> pd.DataFrame:
    """Each run's `quantity` (directional_curvature or lambda_max) of the curvature its
    optimiser's step sees, with column `threshold`, the optimiser's stability threshold at
    that step (stability_threshold rows): of Adam's P^-1 H where the run measured it
    (preconditioned_ rows, named `quantity` here), of H otherwise. Steps without a threshold
    are left out."""
    raw = finite_rows(curvature, quantity)
    preconditioned = finite_rows(curvature, f"{PRECONDITIONED}{quantity}").assign(quantity=quantity)
    rows = pd.concat([raw[~raw["run"].isin(preconditioned["run"])], preconditioned])
    threshold = finite_rows(curvature, "stability_threshold")[["run", "step", "value"]]
    merged = rows.merge(threshold, on=["run", "step"], suffixes=("", "_threshold"))
    return merged.rename(columns={"value_threshold": "threshold"}).sort_values("step")


def over_threshold(rows: pd.DataFrame) -> pd.DataFrame:
    """Seen sharpness (seen_sharpness) in units of its stability threshold."""
    return rows.assign(value=rows["value"].astype(float) / rows["threshold"].astype(float))


def paired_with_threshold(rows: pd.DataFrame, normalization: str, start: float) -> dict:
    """{seed: (seen sharpness at probed steps t >= start, the threshold at each)} of one
    arm (rows from seen_sharpness)."""
    arm = rows[(rows["normalization"] == normalization) & (rows["step"] >= start - 1e-9)]
    return {
        seed: (list(own["value"].astype(float)), list(own["threshold"].astype(float)))
        for seed, own in arm.groupby("seed")
    }
