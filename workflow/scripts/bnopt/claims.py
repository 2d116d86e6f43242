"""The paper's claims, each checked against the tidy tables by a stated decision rule.

Every claim is a pure function of the table(s) it needs that returns one row:
claim, figure, statistic, paper, rule, verdict, group. With several seeds the runs compared
are paired by seed number, the rule is applied per seed, and the claim holds when it holds
for a strict majority of the measurable seeds. `group` names the experiment the claim belongs
to; CLAIM_GROUPS gives each group's title, in the order of the paper's figures.
"""

from collections.abc import Callable

import numpy as np
import pandas as pd

HELD = "held"
NOT_HELD = "did not hold"
NOT_MEASURABLE = "not measurable at this scale"
VERDICTS = (HELD, NOT_HELD, NOT_MEASURABLE)
COLUMNS = ["claim", "figure", "statistic", "paper", "rule", "verdict", "group"]
CLAIM_GROUPS = {
    "training": "Training with and without BatchNorm (paper Fig 1)",
    "ics": "Internal covariate shift (paper Fig 3)",
    "landscape": "Loss landscape along the gradient (paper Fig 4)",
    "noisy": "BatchNorm with injected covariate shift: noisy BatchNorm (paper Figs 2 and 8)",
    "lp": "ℓp normalisation instead of BatchNorm (paper Figs 5 and 6)",
    "dln": "Deep linear network (paper Figs 3b, 5b, 9 and 10)",
}

STANDARD = "none"
BATCHNORM = "batch"
NOISY_BATCHNORM = "noisy_batch"
LP_NORMALIZATIONS = ("l1", "l2", "linf")
LP_LABELS = {"l1": "ℓ1", "l2": "ℓ2", "linf": "ℓ∞"}
MIN_STEPS = 3

FAST_LR = 0.1
LARGE_LR = 0.5
EARLY_FRACTION = 0.25
FASTER_MARGIN = 0.02
ACCURACY_TARGET = 0.8
SMOOTHING_STEPS = 100
FINAL_FRACTION = 0.05
FAILED_BELOW = 0.2
TRAINS_ABOVE = 0.5
ICS_RATIO_FLOOR = 0.5
COSINE_TOLERANCE = 0.1
NOISY_ACCURACY_TOLERANCE = 0.05
LP_SMOOTHNESS_FACTOR = 2.0

SEED_RULE = (
    "Standard and BN runs are paired by seed; held if the rule holds for a strict majority "
    "of the seeds where both runs are measurable"
)


def claim_row(
    claim: str, figure: str, paper: str, rule: str, statistic: str, verdict: str, group: str
) -> dict:
    return {
        "claim": claim,
        "figure": figure,
        "statistic": statistic,
        "paper": paper,
        "rule": rule,
        "verdict": verdict,
        "group": group,
    }


def row_maker(
    claim: str, figure: str, paper: str, rule: str, group: str
) -> Callable[[str, str], dict]:
    def make_row(statistic: str, verdict: str) -> dict:
        return claim_row(claim, figure, paper, rule, statistic, verdict, group)

    return make_row


def finish(make_row: Callable, outcomes: list[bool], parts: list[str], missing: str) -> dict:
    if not outcomes:
        return make_row(f"Not measurable: {missing}.", NOT_MEASURABLE)
    statistic = "; ".join(parts) + "." + seed_tally(outcomes)
    return make_row(statistic, majority_verdict(outcomes))


def fmt(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.3g}"


def pct(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{100 * value:.1f}%"


def lr_text(lr: float) -> str:
    return f"lr {lr:g}"


def finite_rows(table: pd.DataFrame | None, quantity: str) -> pd.DataFrame:
    if table is None or table.empty or "quantity" not in table.columns:
        return pd.DataFrame(columns=["normalization", "lr", "seed", "step", "value"])
    rows = table[table["quantity"] == quantity]
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


def paired_seeds(rows: pd.DataFrame, lr: float) -> list:
    """Seeds for which both the Standard and the BN run at `lr` have rows."""
    at_lr = rows[np.isclose(rows["lr"].astype(float), lr)]
    standard = set(at_lr.loc[at_lr["normalization"] == STANDARD, "seed"])
    batchnorm = set(at_lr.loc[at_lr["normalization"] == BATCHNORM, "seed"])
    return sorted(standard & batchnorm)


def shared_lrs(rows: pd.DataFrame) -> list[float]:
    """Learning rates at which both a Standard and a BN run have rows."""
    standard = set(rows.loc[rows["normalization"] == STANDARD, "lr"].astype(float))
    batchnorm = set(rows.loc[rows["normalization"] == BATCHNORM, "lr"].astype(float))
    return sorted(standard & batchnorm)


def all_seeds(rows: pd.DataFrame) -> list:
    return sorted(rows["seed"].unique()) if not rows.empty else []


def majority_verdict(outcomes: list[bool]) -> str:
    if not outcomes:
        return NOT_MEASURABLE
    return HELD if sum(outcomes) > len(outcomes) / 2 else NOT_HELD


def seed_tally(outcomes: list[bool]) -> str:
    if len(outcomes) < 2:
        return ""
    return f" Rule held in {sum(outcomes)} of {len(outcomes)} seeds."


def seed_prefix(seed, seeds: list) -> str:
    return f"seed {seed}: " if len(seeds) > 1 else ""


def smoothed_steps_to_reach(rows: pd.DataFrame, target: float) -> float:
    """First step at which the rolling mean over ~SMOOTHING_STEPS steps reaches `target`."""
    steps = rows["step"].to_numpy(dtype=float)
    if len(steps) < 2:
        return np.nan
    gap = float(np.median(np.diff(steps)))
    window = max(1, int(round(SMOOTHING_STEPS / gap))) if gap > 0 else 1
    smoothed = rows["value"].astype(float).rolling(window, min_periods=1).mean().to_numpy()
    reached = np.flatnonzero(smoothed >= target)
    return float(steps[reached[0]]) if len(reached) else np.nan


def rows_up_to(rows: pd.DataFrame, horizon: float) -> pd.DataFrame:
    return rows[rows["step"] <= horizon]


def claim_bn_trains_faster(metrics: pd.DataFrame) -> dict:
    """Claim 1: at lr 0.1 BN reaches high training accuracy much sooner (paper Fig 1)."""
    rule = (
        f"At lr {FAST_LR:g}: mean training accuracy over the first "
        f"{EARLY_FRACTION:.0%} of training (steps 0 to {EARLY_FRACTION:g} x the last logged "
        f"step of the longer run); held if BN's exceeds Standard's by more than "
        f"{100 * FASTER_MARGIN:g} percentage points. Each run needs >= {MIN_STEPS} logged "
        f"steps in that window. The step where the {SMOOTHING_STEPS}-step rolling mean first "
        f"reaches {ACCURACY_TARGET:.0%} is reported for context only. {SEED_RULE}."
    )
    make_row = row_maker(
        "BatchNorm trains faster than the standard network at lr 0.1",
        "fig1_training",
        "BN > 80% training accuracy by ~1k steps at lr 0.1; Standard clearly slower, both "
        "reach ~100% eventually",
        rule,
        "training",
    )
    rows = finite_rows(metrics, "train_accuracy")
    seeds = paired_seeds(rows, FAST_LR)
    outcomes, parts = [], []
    for seed in seeds:
        standard = run_rows(rows, STANDARD, FAST_LR, seed)
        batchnorm = run_rows(rows, BATCHNORM, FAST_LR, seed)
        horizon = EARLY_FRACTION * max(standard["step"].max(), batchnorm["step"].max())
        standard_early = rows_up_to(standard, horizon)
        batchnorm_early = rows_up_to(batchnorm, horizon)
        if not (has_enough_steps(standard_early) and has_enough_steps(batchnorm_early)):
            continue
        standard_mean = float(standard_early["value"].mean())
        batchnorm_mean = float(batchnorm_early["value"].mean())
        outcomes.append(batchnorm_mean - standard_mean > FASTER_MARGIN)
        reach = [smoothed_steps_to_reach(run, ACCURACY_TARGET) for run in (batchnorm, standard)]
        parts.append(
            f"{seed_prefix(seed, seeds)}mean training accuracy over steps 0-{horizon:g}: "
            f"BN {pct(batchnorm_mean)} vs Standard {pct(standard_mean)}; smoothed "
            f"{ACCURACY_TARGET:.0%} reached at step {reached_text(reach[0])} (BN) vs "
            f"{reached_text(reach[1])} (Standard)"
        )
    return finish(make_row, outcomes, parts, "no Standard/BN pair at lr 0.1 with enough steps")


def reached_text(step: float) -> str:
    return f"{step:g}" if np.isfinite(step) else "never"


def diverged_at(run: pd.DataFrame) -> float:
    if "diverged_at" not in run.columns:
        return np.nan
    steps = run["diverged_at"].astype(float)
    steps = steps[np.isfinite(steps)]
    return float(steps.min()) if len(steps) else np.nan


def final_accuracy(run: pd.DataFrame) -> float:
    """Mean training accuracy over the logged steps in the last FINAL_FRACTION of the run."""
    accuracy = finite_rows(run, "train_accuracy")
    if accuracy.empty:
        return np.nan
    last_step = float(accuracy["step"].max())
    return float(accuracy.loc[accuracy["step"] >= (1 - FINAL_FRACTION) * last_step, "value"].mean())


def run_outcome_text(label: str, diverged_step: float, accuracy: float) -> str:
    if np.isfinite(diverged_step):
        return f"{label} diverged at step {diverged_step:g}"
    return f"{label} final training accuracy {pct(accuracy)}"


def claim_standard_fails_at_large_lr(metrics: pd.DataFrame) -> dict:
    """Claim 2: at lr 0.5 the standard network does not train, the BN network does."""
    rule = (
        f"At lr {LARGE_LR:g}, final training accuracy = mean over the logged steps in the "
        f"last {FINAL_FRACTION:.0%} of the run (step >= {1 - FINAL_FRACTION:g} x its last "
        f"step). Standard fails if it diverged or its final "
        f"training accuracy < {FAILED_BELOW:.0%}; BN trains if it did not diverge and its final "
        f"training accuracy > {TRAINS_ABOVE:.0%}; held if both. A diverged run counts as failing "
        f"however few rows it has; a run that did not diverge needs >= {MIN_STEPS} logged steps. "
        f"{SEED_RULE}."
    )
    make_row = row_maker(
        "The standard network fails to train at lr 0.5 while the BN network trains",
        "fig1_training",
        "Standard VGG at lr 0.5 stays at ~10% accuracy; BN trains to ~95-100% training "
        "accuracy and ~80% test accuracy",
        rule,
        "training",
    )
    if metrics is None or metrics.empty:
        return make_row("Not measurable: no metrics.", NOT_MEASURABLE)
    seeds = paired_seeds(metrics, LARGE_LR)
    outcomes, parts = [], []
    for seed in seeds:
        standard = run_rows(metrics, STANDARD, LARGE_LR, seed)
        batchnorm = run_rows(metrics, BATCHNORM, LARGE_LR, seed)
        standard_diverged, batchnorm_diverged = diverged_at(standard), diverged_at(batchnorm)
        if not (np.isfinite(standard_diverged) or measurable_accuracy(standard)):
            continue
        if not (np.isfinite(batchnorm_diverged) or measurable_accuracy(batchnorm)):
            continue
        standard_accuracy, batchnorm_accuracy = final_accuracy(standard), final_accuracy(batchnorm)
        standard_fails = np.isfinite(standard_diverged) or standard_accuracy < FAILED_BELOW
        batchnorm_trains = not np.isfinite(batchnorm_diverged) and batchnorm_accuracy > TRAINS_ABOVE
        outcomes.append(bool(standard_fails and batchnorm_trains))
        parts.append(
            seed_prefix(seed, seeds)
            + run_outcome_text("Standard", standard_diverged, standard_accuracy)
            + "; "
            + run_outcome_text("BN", batchnorm_diverged, batchnorm_accuracy)
        )
    return finish(make_row, outcomes, parts, "no Standard/BN pair at lr 0.5 with usable rows")


def measurable_accuracy(run: pd.DataFrame) -> bool:
    return has_enough_steps(finite_rows(run, "train_accuracy"))


def median_per_layer(run: pd.DataFrame) -> pd.Series:
    """Median over steps per layer, only for layers with >= MIN_STEPS probed steps."""
    counts = run.groupby("layer")["step"].nunique()
    medians = run.groupby("layer")["value"].median()
    return medians[counts >= MIN_STEPS]


def ics_comparisons(ics: pd.DataFrame, quantity: str, compare: Callable) -> list[dict]:
    """Per seed: compare(bn_median, standard_median) for every shared lr and layer."""
    rows = finite_rows(ics, quantity)
    per_seed = []
    for seed in all_seeds(rows):
        entries = []
        for lr in shared_lrs(rows):
            standard = median_per_layer(run_rows(rows, STANDARD, lr, seed))
            batchnorm = median_per_layer(run_rows(rows, BATCHNORM, lr, seed))
            for layer in sorted(set(standard.index) & set(batchnorm.index)):
                value = compare(float(batchnorm[layer]), float(standard[layer]))
                entries.append({"lr": lr, "layer": int(layer), "value": value})
        if entries:
            per_seed.append({"seed": seed, "entries": pd.DataFrame(entries)})
    return per_seed


def ratio(numerator: float, denominator: float) -> float:
    if denominator > 0:
        return numerator / denominator
    return np.inf if numerator > 0 else 1.0


def describe_entries(entries: pd.DataFrame, what: str) -> str:
    lowest = entries.loc[entries["value"].idxmin()]
    highest = entries.loc[entries["value"].idxmax()]
    return (
        f"{what} over {len(entries)} (lr, layer) pairs: min {fmt(lowest['value'])} "
        f"({lr_text(lowest['lr'])}, layer #{int(lowest['layer'])}), median "
        f"{fmt(entries['value'].median())}, max {fmt(highest['value'])} "
        f"({lr_text(highest['lr'])}, layer #{int(highest['layer'])})"
    )


def claim_ics_l2_not_lower(ics: pd.DataFrame) -> dict:
    """Claim 3: BN does not reduce ICS measured as ||G - G'||_2 (paper Fig 3)."""
    rule = (
        "For every lr and layer probed in both runs: ratio = median over steps of BN's "
        "‖G − G′‖₂ / median of Standard's (each needs >= "
        f"{MIN_STEPS} probed steps); held if every ratio >= {ICS_RATIO_FLOOR:g}, i.e. BN's "
        f"ICS is nowhere clearly lower. {SEED_RULE}."
    )
    make_row = row_maker(
        "BatchNorm does not reduce internal covariate shift (‖G − G′‖₂)",
        "fig3_ics_l2",
        "BN networks show similar or even larger ‖G − G′‖₂ than standard ones",
        rule,
        "ics",
    )
    per_seed = ics_comparisons(ics, "ics_l2", ratio)
    outcomes = [bool((item["entries"]["value"] >= ICS_RATIO_FLOOR).all()) for item in per_seed]
    seeds = [item["seed"] for item in per_seed]
    parts = [
        seed_prefix(item["seed"], seeds)
        + describe_entries(item["entries"], "BN/Standard ratio of median ‖G − G′‖₂")
        for item in per_seed
    ]
    return finish(make_row, outcomes, parts, "no layer probed at >= 3 steps in both runs")


def claim_ics_cosine_not_higher(ics: pd.DataFrame) -> dict:
    """Claim 4: BN does not make gradients more stable, measured as cos(G, G') (paper Fig 3)."""
    rule = (
        "For every lr and layer probed in both runs: difference = median over steps of BN's "
        f"cos(G, G′) − median of Standard's (each needs >= {MIN_STEPS} probed steps); held if "
        f"every difference <= {COSINE_TOLERANCE:g}, i.e. BN's cosine is nowhere clearly higher. "
        f"{SEED_RULE}."
    )
    make_row = row_maker(
        "BatchNorm does not reduce internal covariate shift (cos(G, G′))",
        "fig4_ics_cosine",
        "cos(G, G′) with BN is similar to or lower than the standard network's",
        rule,
        "ics",
    )
    per_seed = ics_comparisons(ics, "ics_cosine", lambda bn, standard: bn - standard)
    outcomes = [bool((item["entries"]["value"] <= COSINE_TOLERANCE).all()) for item in per_seed]
    seeds = [item["seed"] for item in per_seed]
    parts = [
        seed_prefix(item["seed"], seeds)
        + describe_entries(item["entries"], "BN − Standard median cos(G, G′)")
        for item in per_seed
    ]
    return finish(make_row, outcomes, parts, "no layer probed at >= 3 steps in both runs")


def per_step_over_eta(run: pd.DataFrame, reduce: str) -> pd.Series:
    """Per probed step, the range ('range') or maximum ('max') of the value over eta."""
    grouped = run.groupby("step")["value"]
    if reduce == "range":
        return grouped.max() - grouped.min()
    return grouped.max()


def landscape_comparisons(rows: pd.DataFrame, per_run: Callable) -> list[dict]:
    """Per seed: per_run(run rows) -> dict of statistics, for Standard and BN at each shared lr."""
    per_seed = []
    for seed in all_seeds(rows):
        entries = []
        for lr in shared_lrs(rows):
            standard = run_rows(rows, STANDARD, lr, seed)
            batchnorm = run_rows(rows, BATCHNORM, lr, seed)
            if has_enough_steps(standard) and has_enough_steps(batchnorm):
                entries.append({"lr": lr, "standard": per_run(standard), "bn": per_run(batchnorm)})
        if entries:
            per_seed.append({"seed": seed, "entries": entries})
    return per_seed


def eta_statistics(reduce: str) -> Callable[[pd.DataFrame], dict]:
    def statistics(run: pd.DataFrame) -> dict:
        per_step = per_step_over_eta(run, reduce)
        return {"median": float(per_step.median()), "max": float(per_step.max())}

    return statistics


def landscape_claim(make_row, rows, per_run, holds, describe, missing) -> dict:
    per_seed = landscape_comparisons(rows, per_run)
    outcomes = [all(holds(entry) for entry in item["entries"]) for item in per_seed]
    seeds = [item["seed"] for item in per_seed]
    parts = [
        seed_prefix(item["seed"], seeds) + ", ".join(describe(entry) for entry in item["entries"])
        for item in per_seed
    ]
    return finish(make_row, outcomes, parts, missing)


def median_is_lower(entry: dict) -> bool:
    return entry["bn"]["median"] < entry["standard"]["median"]


def claim_bn_narrows_loss_range(landscape: pd.DataFrame) -> dict:
    """Claim 5: BN makes the loss along the gradient direction change less (paper Fig 4a)."""
    rule = (
        "Per probed step, loss range = max − min over η of L(w − ηg); statistic = median over "
        f"steps (each run needs >= {MIN_STEPS} probed steps); held if BN's median range is below "
        f"Standard's at every lr probed in both. {SEED_RULE}."
    )
    make_row = row_maker(
        "BatchNorm narrows the range of the loss along the gradient (smoother loss)",
        "fig5_loss_landscape",
        "Standard loss range up to ~10 early in training; BN narrow",
        rule,
        "landscape",
    )

    def describe(entry: dict) -> str:
        standard, bn = entry["standard"], entry["bn"]
        return (
            f"{lr_text(entry['lr'])}: median loss range BN {fmt(bn['median'])} vs Standard "
            f"{fmt(standard['median'])} (ratio {fmt(ratio(bn['median'], standard['median']))}); "
            f"largest range BN {fmt(bn['max'])} vs Standard {fmt(standard['max'])}"
        )

    return landscape_claim(
        make_row,
        finite_rows(landscape, "loss"),
        eta_statistics("range"),
        median_is_lower,
        describe,
        "no Standard/BN pair with >= 3 probed steps",
    )


def claim_bn_improves_predictiveness(predictiveness: pd.DataFrame) -> dict:
    """Claim 6: with BN the gradient changes less along the step (paper Fig 4b)."""
    rule = (
        "Per probed step, the largest gradient change max over η of ‖∇L(w − ηg) − g‖₂; "
        f"statistic = median over steps (each run needs >= {MIN_STEPS} probed steps); held if "
        f"BN's median is below Standard's at every lr probed in both. {SEED_RULE}."
    )
    make_row = row_maker(
        "BatchNorm makes the gradient more predictive (smaller gradient change)",
        "fig6_gradient_predictiveness, grad_change_vs_eta",
        "Standard gradient change spikes to ~250; BN stays at or below ~50",
        rule,
        "landscape",
    )

    def describe(entry: dict) -> str:
        standard, bn = entry["standard"], entry["bn"]
        return (
            f"{lr_text(entry['lr'])}: median over steps of max_η ‖Δg‖₂ BN {fmt(bn['median'])} "
            f"vs Standard {fmt(standard['median'])} "
            f"(ratio {fmt(ratio(bn['median'], standard['median']))}); peak BN {fmt(bn['max'])} "
            f"vs Standard {fmt(standard['max'])}"
        )

    return landscape_claim(
        make_row,
        finite_rows(predictiveness, "grad_diff"),
        eta_statistics("max"),
        median_is_lower,
        describe,
        "no Standard/BN pair with >= 3 probed steps",
    )


def beta_statistics(run: pd.DataFrame) -> dict:
    values = run["value"].astype(float)
    return {
        "max": float(values.max()),
        "sd": float(values.std(ddof=0)),
        "median": float(values.median()),
    }


def beta_is_lower_and_flatter(entry: dict) -> bool:
    standard, bn = entry["standard"], entry["bn"]
    return bn["max"] < standard["max"] and bn["sd"] < standard["sd"]


def claim_bn_lowers_beta(beta: pd.DataFrame) -> dict:
    """Claim 7: BN lowers and flattens the effective beta-smoothness (paper Fig 4c)."""
    rule = (
        "Over the probed steps of each run (>= "
        f"{MIN_STEPS}), the maximum and the standard deviation of the effective β; held if "
        f"both are lower for BN than for Standard at every lr probed in both. {SEED_RULE}. "
        "Medians are shown next to 2/lr, which for the default η grid is also 1/η_min, "
        "the value β takes by construction when every η overshoots (see "
        "beta_and_curvature; this rule does not yet exclude such steps)."
    )
    make_row = row_maker(
        "BatchNorm lowers and flattens the effective β-smoothness",
        "fig7_beta_smoothness",
        "Standard effective β spikes to ~45; BN flat near ~20 (≈ 2/lr at lr 0.1)",
        rule,
        "landscape",
    )

    def describe(entry: dict) -> str:
        standard, bn = entry["standard"], entry["bn"]
        return (
            f"{lr_text(entry['lr'])}: max β BN {fmt(bn['max'])} vs Standard "
            f"{fmt(standard['max'])}; sd BN {fmt(bn['sd'])} vs Standard {fmt(standard['sd'])}; "
            f"median BN {fmt(bn['median'])} vs Standard {fmt(standard['median'])} "
            f"(2/lr = {fmt(2 / entry['lr'])})"
        )

    return landscape_claim(
        make_row,
        finite_rows(beta, "effective_beta"),
        beta_statistics,
        beta_is_lower_and_flatter,
        describe,
        "no Standard/BN pair with >= 3 probed steps",
    )


SEED_RULE_ALL = (
    "Runs are paired by seed; held if the rule holds for a strict majority of the seeds where "
    "all the runs compared are measurable"
)


def normalizations_by_lr_and_seed(rows: pd.DataFrame, normalizations) -> list[tuple]:
    """(lr, seed) pairs at which every one of the normalisations has rows."""
    pairs = None
    for normalization in normalizations:
        selected = rows[rows["normalization"] == normalization]
        present = set(zip(selected["lr"].astype(float), selected["seed"], strict=True))
        pairs = present if pairs is None else pairs & present
    return sorted(pairs or set())


def quantity_rows(table: pd.DataFrame | None, quantity: str) -> pd.DataFrame:
    """All rows of one quantity, finite or not."""
    if table is None or table.empty or "quantity" not in table.columns:
        return finite_rows(None, quantity)
    return table[table["quantity"] == quantity]


def finite_moments(activations: pd.DataFrame | None) -> pd.DataFrame:
    parts = [finite_rows(activations, quantity) for quantity in ("mean", "var")]
    present = [part for part in parts if not part.empty]
    return pd.concat(present) if present else parts[0]


def final_accuracy_or_zero(run: pd.DataFrame) -> float:
    """Final training accuracy; a diverged run counts as 0; NaN if too few logged steps."""
    if np.isfinite(diverged_at(run)):
        return 0.0
    return final_accuracy(run) if measurable_accuracy(run) else np.nan


def accuracy_text(label: str, run: pd.DataFrame, accuracy: float) -> str:
    diverged_step = diverged_at(run)
    if np.isfinite(diverged_step):
        return f"{label} diverged at step {diverged_step:g} (counts as 0%)"
    return f"{label} {pct(accuracy)}"


def mean_step_change(run: pd.DataFrame) -> pd.Series:
    """Per layer probed at >= MIN_STEPS steps: mean over consecutive probed steps of |x' - x|."""
    changes = {}
    for layer, rows in run.groupby("layer"):
        values = rows.sort_values("step")["value"].to_numpy(dtype=float)
        if len(values) >= MIN_STEPS:
            changes[int(layer)] = float(np.mean(np.abs(np.diff(values))))
    return pd.Series(changes, dtype=float)


def median_drift(standard: pd.DataFrame, noisy: pd.DataFrame, quantity: str) -> dict:
    """Median over the layers probed in both runs of each run's mean step change."""
    standard_changes = mean_step_change(standard[standard["quantity"] == quantity])
    noisy_changes = mean_step_change(noisy[noisy["quantity"] == quantity])
    layers = sorted(set(standard_changes.index) & set(noisy_changes.index))
    if not layers:
        return {}
    return {
        "layers": layers,
        "standard": float(standard_changes[layers].median()),
        "noisy": float(noisy_changes[layers].median()),
    }


def noisy_entry(metrics: pd.DataFrame, moments: pd.DataFrame, lr: float, seed) -> dict | None:
    """Final accuracies of BN and noisy BN and the moment drifts of Standard and noisy BN."""
    batchnorm_run = run_rows(metrics, BATCHNORM, lr, seed)
    noisy_run = run_rows(metrics, NOISY_BATCHNORM, lr, seed)
    batchnorm_accuracy = final_accuracy_or_zero(batchnorm_run)
    noisy_accuracy = final_accuracy_or_zero(noisy_run)
    standard_moments = run_rows(moments, STANDARD, lr, seed)
    noisy_moments = run_rows(moments, NOISY_BATCHNORM, lr, seed)
    entry = {
        "lr": lr,
        "bn_accuracy": batchnorm_accuracy,
        "noisy_accuracy": noisy_accuracy,
        "bn_text": accuracy_text("BN", batchnorm_run, batchnorm_accuracy),
        "noisy_text": accuracy_text("noisy BN", noisy_run, noisy_accuracy),
        "mean": median_drift(standard_moments, noisy_moments, "mean"),
        "var": median_drift(standard_moments, noisy_moments, "var"),
    }
    accuracies = (entry["bn_accuracy"], entry["noisy_accuracy"])
    if not (all(np.isfinite(accuracies)) and entry["mean"] and entry["var"]):
        return None
    return entry


def noisy_trains_and_drifts(entry: dict) -> bool:
    trains = entry["noisy_accuracy"] >= entry["bn_accuracy"] - NOISY_ACCURACY_TOLERANCE
    drifts = all(entry[moment]["noisy"] > entry[moment]["standard"] for moment in ("mean", "var"))
    return bool(trains and drifts)


def describe_noisy_entry(entry: dict) -> str:
    difference = 100 * (entry["noisy_accuracy"] - entry["bn_accuracy"])
    layers = ", ".join(f"#{layer}" for layer in entry["mean"]["layers"])
    return (
        f"{lr_text(entry['lr'])}: final training accuracy {entry['noisy_text']} vs "
        f"{entry['bn_text']} ({difference:+.1f} percentage points); median over layers "
        f"{layers} of the mean |μₜ₊₁ − μₜ|: noisy BN {fmt(entry['mean']['noisy'])} vs Standard "
        f"{fmt(entry['mean']['standard'])}, of the mean |σ²ₜ₊₁ − σ²ₜ|: noisy BN "
        f"{fmt(entry['var']['noisy'])} vs Standard {fmt(entry['var']['standard'])}"
    )


def claim_noisy_bn_trains_like_bn(metrics: pd.DataFrame, activations: pd.DataFrame) -> dict:
    """Claim 8: noisy BN trains about as well as BN though its activations move more (Fig 2)."""
    rule = (
        "At each lr and seed with Standard, BN and noisy BN runs: final training accuracy = "
        f"mean over the logged steps in the last {FINAL_FRACTION:.0%} of the run (a diverged "
        f"run counts as 0%; one that did not diverge needs >= {MIN_STEPS} logged steps). "
        "Moment drift of a run = per layer probed at >= "
        f"{MIN_STEPS} steps, the mean over consecutive probed steps of |μₜ₊₁ − μₜ| (and of "
        "|σ²ₜ₊₁ − σ²ₜ|) of its channel's pre-ReLU activations, then the median over the "
        "layers probed in both Standard and noisy BN. Held if noisy BN's final training "
        f"accuracy >= BN's − {100 * NOISY_ACCURACY_TOLERANCE:g} percentage points and both of "
        "noisy BN's drifts exceed Standard's, at every lr. "
        f"{SEED_RULE_ALL}."
    )
    make_row = row_maker(
        "Noisy BatchNorm trains about as well as BatchNorm although its activation "
        "distributions move more than the standard network's",
        "noisy_bn_training, noisy_bn_moments",
        "With random shifts of each unit's mean and scale injected at every step after BN "
        "(noisy BN), the network still trains almost as well as with BN and far better than "
        "Standard, although its activation distributions are visibly less stable than "
        "Standard's",
        rule,
        "noisy",
    )
    # Unfiltered rows, so that a run that diverged before any finite accuracy still counts.
    accuracy = quantity_rows(metrics, "train_accuracy")
    moments = finite_moments(activations)
    pairs = set(normalizations_by_lr_and_seed(accuracy, (BATCHNORM, NOISY_BATCHNORM)))
    pairs &= set(normalizations_by_lr_and_seed(moments, (STANDARD, NOISY_BATCHNORM)))
    per_seed: dict = {}
    for lr, seed in sorted(pairs):
        entry = noisy_entry(accuracy, moments, lr, seed)
        if entry is not None:
            per_seed.setdefault(seed, []).append(entry)
    seeds = sorted(per_seed)
    outcomes = [all(noisy_trains_and_drifts(entry) for entry in per_seed[s]) for s in seeds]
    parts = [
        seed_prefix(seed, seeds) + "; ".join(describe_noisy_entry(e) for e in per_seed[seed])
        for seed in seeds
    ]
    return finish(
        make_row,
        outcomes,
        parts,
        "no lr with BN and noisy BN training runs and Standard and noisy BN activation "
        f"moments at >= {MIN_STEPS} probed steps",
    )


def lp_run_statistics(loss: pd.DataFrame, beta: pd.DataFrame) -> dict | None:
    """Median over steps of the loss range over eta, and the largest effective beta."""
    if not (has_enough_steps(loss) and has_enough_steps(beta)):
        return None
    return {
        "loss_range": float(per_step_over_eta(loss, "range").median()),
        "beta": float(beta["value"].astype(float).max()),
    }


def smooth_like_bn(entry: dict) -> bool:
    return all(
        entry["lp"][key] <= LP_SMOOTHNESS_FACTOR * entry["bn"][key]
        and entry["lp"][key] < entry["standard"][key]
        for key in ("loss_range", "beta")
    )


def describe_lp_entry(entry: dict) -> str:
    lp, bn, standard = entry["lp"], entry["bn"], entry["standard"]
    verdict = "meets the rule" if smooth_like_bn(entry) else "fails the rule"
    return (
        f"{LP_LABELS[entry['normalization']]} ({lr_text(entry['lr'])}): median loss range "
        f"{fmt(lp['loss_range'])} (BN {fmt(bn['loss_range'])}, Standard "
        f"{fmt(standard['loss_range'])}), max effective β {fmt(lp['beta'])} (BN "
        f"{fmt(bn['beta'])}, Standard {fmt(standard['beta'])}): {verdict}"
    )


def lp_entries(loss: pd.DataFrame, beta: pd.DataFrame, lr: float, seed) -> list[dict]:
    """One entry per l_p normalisation measurable next to Standard and BN at (lr, seed)."""

    def statistics(normalization: str) -> dict | None:
        return lp_run_statistics(
            run_rows(loss, normalization, lr, seed), run_rows(beta, normalization, lr, seed)
        )

    standard, batchnorm = statistics(STANDARD), statistics(BATCHNORM)
    if standard is None or batchnorm is None:
        return []
    entries = []
    for normalization in LP_NORMALIZATIONS:
        measured = statistics(normalization)
        if measured is not None:
            entries.append(
                {
                    "normalization": normalization,
                    "lr": lr,
                    "lp": measured,
                    "bn": batchnorm,
                    "standard": standard,
                }
            )
    return entries


def claim_lp_smooths_like_bn(landscape: pd.DataFrame, beta: pd.DataFrame) -> dict:
    """Claim 9: l1, l2 and l-inf normalisation smooth the landscape about as much as BN."""
    rule = (
        "Per run (>= "
        f"{MIN_STEPS} probed steps in both tables): median over probed steps of the loss range "
        "(max − min over η of L(w − ηg)) and the largest effective β over probed steps. For "
        "each of ℓ1, ℓ2, ℓ∞ run next to Standard and BN at the same lr and seed: it smooths "
        f"like BN if both its statistics are <= {LP_SMOOTHNESS_FACTOR:g} x BN's and below "
        "Standard's. Held if every ℓp normalisation measured does (those not measured are "
        f"listed). {SEED_RULE_ALL}."
    )
    make_row = row_maker(
        "ℓ1, ℓ2 and ℓ∞ normalisation smooth the loss landscape about as much as BatchNorm",
        "lp_landscape",
        "ℓp normalisations give a loss landscape as smooth as BN's (narrow loss range, low "
        "effective β) and smoother than Standard's, although their activation distributions "
        "are not stabilised",
        rule,
        "lp",
    )
    loss = finite_rows(landscape, "loss")
    effective = finite_rows(beta, "effective_beta")
    pairs = set(normalizations_by_lr_and_seed(loss, (STANDARD, BATCHNORM)))
    pairs &= set(normalizations_by_lr_and_seed(effective, (STANDARD, BATCHNORM)))
    per_seed: dict = {}
    for lr, seed in sorted(pairs):
        entries = lp_entries(loss, effective, lr, seed)
        if entries:
            per_seed.setdefault(seed, []).extend(entries)
    seeds = sorted(per_seed)
    outcomes = [all(smooth_like_bn(entry) for entry in per_seed[seed]) for seed in seeds]
    parts = [
        seed_prefix(seed, seeds) + "; ".join(describe_lp_entry(e) for e in per_seed[seed])
        for seed in seeds
    ]
    row = finish(
        make_row,
        outcomes,
        parts,
        f"no ℓp run with Standard and BN runs beside it, each probed at >= {MIN_STEPS} steps",
    )
    measured = {entry["normalization"] for entries in per_seed.values() for entry in entries}
    if outcomes:
        row["statistic"] += lp_not_measured_note(measured)
    return row


def lp_not_measured_note(measured) -> str:
    """' Not measured: ℓ∞.' for the l_p normalisations missing from `measured`, else ''."""
    missing = [LP_LABELS[n] for n in LP_NORMALIZATIONS if n not in measured]
    return f" Not measured: {', '.join(missing)}." if missing else ""


CLAIMS: list[tuple[Callable[..., dict], tuple[str, ...]]] = [
    (claim_bn_trains_faster, ("metrics",)),
    (claim_standard_fails_at_large_lr, ("metrics",)),
    (claim_ics_l2_not_lower, ("ics",)),
    (claim_ics_cosine_not_higher, ("ics",)),
    (claim_bn_narrows_loss_range, ("landscape",)),
    (claim_bn_improves_predictiveness, ("predictiveness",)),
    (claim_bn_lowers_beta, ("beta",)),
]


# Claims of the extra experiments, read from tables keyed "<experiment>/<family>". They are
# evaluated only when at least one of their tables is passed.
EXPERIMENT_CLAIMS: list[tuple[Callable[..., dict], tuple[str, ...]]] = [
    (claim_noisy_bn_trains_like_bn, ("noisy/metrics", "noisy/activations")),
    (claim_lp_smooths_like_bn, ("lp/landscape", "lp/beta")),
]


def evaluate_claims(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per claim, in figure order.

    The seven claims on the main experiments always get a row; a missing table makes them
    'not measurable at this scale'. The noisy-BN and l_p claims get a row when any of their
    "<experiment>/<family>" tables is passed.
    """
    rows = []
    for claim_function, families in CLAIMS:
        inputs = [tables.get(family, pd.DataFrame()) for family in families]
        rows.append(claim_function(*inputs))
    for claim_function, keys in EXPERIMENT_CLAIMS:
        if any(key in tables for key in keys):
            rows.append(claim_function(*[tables.get(key, pd.DataFrame()) for key in keys]))
    return pd.DataFrame(rows, columns=COLUMNS)
