"""The claim verdicts: the verdict model against analytic cases, each claim's rule on tables
built by hand, and tables where a naive reading and the figure's reading disagree."""

import numpy as np
import pandas as pd
import pytest

from bnopt import claims, quantities
from bnopt.claims import (
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_MEASURABLE,
    SUPPORTED,
    dln,
    ics,
    landscape,
    lp,
    noisy,
    training,
    verdict,
)
from bnopt.claims.verdict import HIGHER, LOWER, Part, agree, all_of, bootstrap, judge_part
from bnopt.figures import FIGURE
from conftest import tidy_rows

COLUMNS = [
    "run", "normalization", "lr", "seed", "step", "quantity", "value", "layer", "eta",
    "diverged_at",
]  # fmt: skip
ETAS = (0.005, 0.05, 0.1, 0.2, 0.4)  # 0.05 lr, then the paper's grid at lr 0.1
LENGTH = 400  # training steps: early training is steps 0-100
STEPS = np.arange(LENGTH)
PROBED = np.arange(0, LENGTH, 25)  # 16 probed steps, 5 of them (0-100) early


def table(*row_lists) -> pd.DataFrame:
    return pd.DataFrame([row for rows in row_lists for row in rows], columns=COLUMNS)


def outcome(judged) -> str:
    return judged.outcome


# The verdict model


def units(values_by_seed, other=0.0):
    return {seed: (np.asarray(v, dtype=float), np.full(len(v), other)) for seed, v in
            values_by_seed.items()}  # fmt: skip


def test_a_consistent_effect_is_supported_and_its_opposite_contradicted():
    rng = np.random.default_rng(1)
    effect = {seed: 1.0 + 0.1 * rng.standard_normal(10) for seed in range(3)}
    assert judge_part("x", "x", HIGHER, units(effect)).outcome == SUPPORTED
    assert judge_part("x", "x", LOWER, units(effect)).outcome == CONTRADICTED


def test_an_effect_in_two_of_three_seeds_is_inconclusive():
    rng = np.random.default_rng(2)
    effect = {0: 1 + 0.1 * rng.standard_normal(10), 1: 1 + 0.1 * rng.standard_normal(10),
              2: -1 + 0.1 * rng.standard_normal(10)}  # fmt: skip
    part = judge_part("x", "x", HIGHER, units(effect))
    assert part.outcome == INCONCLUSIVE
    assert part.low < 0 < part.high and part.seeds == 3 and part.steps == 30
    # A naive pooled sign count would call 20 of 30 steps a majority.


def test_the_estimate_is_the_mean_over_seeds_and_the_interval_contains_it():
    seeds = {0: (np.array([1.0, 2.0, 3.0]), np.zeros(3)), 1: (np.array([5.0, 5.0]), np.zeros(2))}
    estimate, low, high = bootstrap(seeds)
    assert estimate == pytest.approx((2.0 + 5.0) / 2)
    assert 1.0 <= low <= estimate <= high <= 5.0
    assert bootstrap(seeds) == (estimate, low, high)  # a fixed generator: the same every time


def test_a_peak_statistic_compares_the_largest_values():
    seeds = {0: (np.array([1.0, 9.0, 1.0]), np.array([2.0, 2.0, 2.0]))}
    assert bootstrap(seeds, "peak")[0] == pytest.approx(7.0)
    assert bootstrap(seeds, "mean")[0] == pytest.approx(11 / 3 - 2)


def test_a_peak_is_compared_over_seeds_and_needs_two():
    one = {0: (np.array([1.0, 9.0, 1.0]), np.array([2.0, 2.0, 2.0]))}
    part = judge_part("peak", "x", HIGHER, one, statistic="peak")
    assert part.outcome == NOT_MEASURABLE and "at least 2" in part.reason
    two = {**one, 1: (np.array([1.0, 5.0, 1.0]), np.array([2.0, 2.0, 2.0]))}
    part = judge_part("peak", "x", HIGHER, two, statistic="peak")
    # seeds resampled, not steps: the interval spans the two seeds' peak differences
    assert (part.low, part.estimate, part.high) == pytest.approx((3.0, 5.0, 7.0))
    assert part.outcome == SUPPORTED


def test_a_value_that_blew_up_is_left_out_only_when_it_cannot_change_the_outcome():
    rng = np.random.default_rng(4)
    lower = {s: (1 + 0.1 * rng.standard_normal(8), np.full(8, 2.0)) for s in (0, 1)}
    # the second arm (Standard) blew up at one step: it points where the finite steps do
    spiked = {s: (np.append(a, 1.0), np.append(b, np.inf)) for s, (a, b) in lower.items()}
    part = judge_part("x", "x", LOWER, spiked)
    assert part.outcome == SUPPORTED and part.steps == 16 and "point the same way" in part.reason
    # the first arm (BN) blew up: it could change the outcome, so it cannot be left out
    spiked = {s: (np.append(a, np.nan), np.append(b, 2.0)) for s, (a, b) in lower.items()}
    part = judge_part("x", "x", LOWER, spiked)
    assert part.outcome == INCONCLUSIVE and "could change it" in part.reason


def test_too_few_paired_steps_are_not_measurable_and_say_why():
    part = judge_part("x", "x", HIGHER, units({0: [1.0, 2.0]}))
    assert part.outcome == NOT_MEASURABLE and "fewer than 3" in part.reason


def test_a_log_ratio_uses_only_positive_finite_pairs():
    seeds = {0: (np.array([10.0, 10.0, 10.0, 0.0, np.nan]), np.array([1.0, 1.0, 1.0, 1.0, 1.0]))}
    part = judge_part("x", "x", HIGHER, seeds, log10=True)
    assert part.steps == 3 and part.estimate == pytest.approx(1.0)
    assert part.interval_text().startswith("×10")


def part_with(outcome_) -> Part:
    return Part("p", "p", LOWER, outcome=outcome_, reason=outcome_)


def test_all_of_a_claim_any_contradiction_contradicts_and_all_support_supports():
    assert all_of([part_with(SUPPORTED), part_with(SUPPORTED)]).outcome == SUPPORTED
    assert all_of([part_with(SUPPORTED), part_with(CONTRADICTED)]).outcome == CONTRADICTED
    assert all_of([part_with(SUPPORTED), part_with(INCONCLUSIVE)]).outcome == INCONCLUSIVE
    assert all_of([part_with(INCONCLUSIVE), part_with(NOT_MEASURABLE)]).outcome == NOT_MEASURABLE


def test_readings_that_disagree_are_inconclusive_and_say_what_changed_it():
    judged = agree([part_with(SUPPORTED), part_with(CONTRADICTED)], "leaving out 2 steps")
    assert judged.outcome == INCONCLUSIVE and "leaving out 2 steps changes" in judged.reason
    assert agree([part_with(SUPPORTED)] * 2, "x").outcome == SUPPORTED
    unjudged = agree([part_with(CONTRADICTED), part_with(NOT_MEASURABLE)], "leaving out 5 steps")
    assert unjudged.outcome == INCONCLUSIVE and "cannot be judged" in unjudged.reason


# Training (fig1_training)


def accuracy_curve(rate, ceiling=1.0):
    return 0.1 + (ceiling - 0.1) * (1 - np.exp(-STEPS / rate))


def metrics_run(normalization, lr, accuracy, seed=0, diverged_at=np.nan):
    return tidy_rows(normalization, lr, "train_accuracy", STEPS, accuracy, seed=seed,
                     diverged_at=diverged_at)  # fmt: skip


def loss_curve(normalization, lr, seed=0, values=None):
    values = np.full(LENGTH, 2.3) if values is None else values
    return tidy_rows(normalization, lr, "train_loss", STEPS, values, seed=seed)


def test_bn_faster_is_supported_when_bn_learns_first_in_every_seed():
    metrics = table(
        *[metrics_run("none", 0.1, accuracy_curve(300), seed=s) for s in (0, 1)],
        *[metrics_run("batch", 0.1, accuracy_curve(30), seed=s) for s in (0, 1)],
    )
    judged = training.judge_faster(metrics)
    assert judged.outcome == SUPPORTED
    assert judged.parts[0].steps == 2 * 100  # steps 0-99 of both seeds: the first quarter
    assert judged.parts[0].per_seed_text().startswith("seed 0: +0.5")


def test_bn_faster_is_contradicted_when_standard_learns_first():
    metrics = table(metrics_run("none", 0.1, accuracy_curve(30)),
                    metrics_run("batch", 0.1, accuracy_curve(300)))  # fmt: skip
    assert training.judge_faster(metrics).outcome == CONTRADICTED


def test_bn_faster_reads_early_training_only():
    # Standard learns slowly early but ends higher: the early window still favours BN.
    standard = accuracy_curve(400, 1.0)
    batchnorm = np.minimum(accuracy_curve(20, 0.9), 0.9)
    metrics = table(metrics_run("none", 0.1, standard), metrics_run("batch", 0.1, batchnorm))
    assert training.judge_faster(metrics).outcome == SUPPORTED


def test_a_diverged_standard_run_counts_as_zero_accuracy_at_lr_half():
    accuracy = accuracy_curve(30)
    accuracy[120:] = np.nan
    metrics = table(metrics_run("none", 0.5, accuracy, diverged_at=120),
                    metrics_run("batch", 0.5, accuracy_curve(30, 0.95)))  # fmt: skip
    judged = training.judge_large_lr(metrics)
    assert judged.outcome == SUPPORTED
    assert judged.parts[0].estimate == pytest.approx(0.95, abs=0.01)


def test_lr_half_is_not_measurable_without_its_runs():
    metrics = table(metrics_run("none", 0.1, accuracy_curve(30)))
    assert training.judge_large_lr(metrics).outcome == NOT_MEASURABLE


# ICS (fig3, fig4, ics_relative)


def ics_run(normalization, quantity, values, seed=0, lr=0.1, layers=(5, 10)):
    return [row for layer in layers
            for row in tidy_rows(normalization, lr, quantity, PROBED, values, seed=seed,
                                 layer=layer)]  # fmt: skip


def test_bn_with_larger_ics_supports_does_not_reduce_and_smaller_contradicts():
    wiggle = 1 + 0.1 * np.sin(PROBED)
    larger = table(ics_run("none", "ics_l2", wiggle), ics_run("batch", "ics_l2", 3 * wiggle))
    smaller = table(ics_run("none", "ics_l2", wiggle), ics_run("batch", "ics_l2", wiggle / 3))
    assert ics.judge_l2(larger).outcome == SUPPORTED
    assert ics.judge_l2(smaller).outcome == CONTRADICTED


def test_every_learning_rate_of_the_ics_figure_is_a_part():
    wiggle = 1 + 0.1 * np.sin(PROBED)
    noise = np.random.default_rng(3).uniform(0.5, 2.0, len(PROBED))
    rows = table(ics_run("none", "ics_l2", wiggle, lr=0.01),
                 ics_run("batch", "ics_l2", 100 * wiggle, lr=0.01),
                 ics_run("none", "ics_l2", noise, lr=0.1),
                 ics_run("batch", "ics_l2", noise[::-1], lr=0.1))  # fmt: skip
    judged = ics.judge_l2(rows)
    assert {p.name: p.outcome for p in judged.parts} == {
        "BN / Standard ‖G − G′‖₂, lr 0.01": SUPPORTED,
        "BN / Standard ‖G − G′‖₂, lr 0.1": INCONCLUSIVE,
    }
    # pooled over both lrs the large effect at lr 0.01 would have decided it
    assert judged.outcome == INCONCLUSIVE


def test_ics_that_cannot_be_told_apart_is_inconclusive():
    noise = np.random.default_rng(3).uniform(0.5, 2.0, len(PROBED))
    same = table(ics_run("none", "ics_l2", noise), ics_run("batch", "ics_l2", noise[::-1]))
    assert ics.judge_l2(same).outcome == INCONCLUSIVE


def test_cosine_claim_reads_bn_below_standard_as_the_papers_side():
    standard = np.full(len(PROBED), 0.9)
    rows = table(ics_run("none", "ics_cosine", standard),
                 ics_run("batch", "ics_cosine", standard - 0.3))  # fmt: skip
    assert ics.judge_cosine(rows).outcome == SUPPORTED
    rows = table(ics_run("none", "ics_cosine", standard - 0.3),
                 ics_run("batch", "ics_cosine", standard))  # fmt: skip
    assert ics.judge_cosine(rows).outcome == CONTRADICTED


# Loss landscape (fig5, fig6, fig7)


def band_run(normalization, quantity, per_step_values, seed=0, lr=0.1, etas=ETAS):
    """Rows of one run's η grid: per_step_values(step) -> one value per η."""
    rows = []
    for step in PROBED:
        values = per_step_values(step)
        for eta, value in zip(etas, values, strict=True):
            rows += tidy_rows(normalization, lr, quantity, [step], [value], seed=seed, eta=eta)
    return rows


def test_a_loss_that_falls_along_the_gradient_is_not_rough():
    """BN's loss falls steeply along −g (a wide band), Standard's jumps up (a narrower band,
    higher): read as max − min, BN would be the rougher; as the rise the paper points at,
    Standard is."""
    metrics = table(*[loss_curve(n, 0.1, seed=s) for n in ("none", "batch") for s in (0, 1)])
    landscape_rows = table(
        *[band_run("none", "loss", lambda s: [2.3, 2.3, 2.5, 3.0, 3.3], seed=k) for k in (0, 1)],
        *[band_run("batch", "loss", lambda s: [2.3, 2.2, 1.4, 0.6, 0.2], seed=k) for k in (0, 1)],
    )
    bn_width, standard_width = 1.4 - 0.2, 3.3 - 2.5
    assert bn_width > standard_width  # the naive reading
    judged = landscape.judge_loss_rise(metrics, landscape_rows)
    assert judged.outcome == SUPPORTED
    typical = judged.parts[0]
    assert typical.estimate == pytest.approx(0.0 - 1.0)  # BN rises 0, Standard 3.3 − 2.3


def test_a_loss_rise_is_judged_on_early_training_only():
    metrics = table(loss_curve("none", 0.1), loss_curve("batch", 0.1))
    standard_late_spikes = lambda s: [2.3] * 4 + [2.3 + (3.0 if s > 100 else 0.0)]  # noqa: E731
    landscape_rows = table(band_run("none", "loss", standard_late_spikes),
                           band_run("batch", "loss", lambda s: [2.3] * 5))  # fmt: skip
    judged = landscape.judge_loss_rise(metrics, landscape_rows)
    assert judged.outcome == NOT_MEASURABLE  # the peak needs two seeds; the typical value:
    assert judged.parts[0].outcome == INCONCLUSIVE  # no rise in either early: nothing to tell
    assert judged.parts[0].steps == 4  # probed steps 0, 25, 50, 75: the first quarter of 400


def test_gradient_predictiveness_needs_typical_values_and_peaks():
    metrics = table(*[loss_curve(n, 0.1, seed=s) for n in ("none", "batch") for s in (0, 1)])
    # Standard is far below BN at most early steps but spikes to 40 at two of the five.
    spike = lambda s: [40.0] * 5 if s in (25, 75) else [4.0] * 5  # noqa: E731
    rows = table(*[band_run("none", "grad_diff", spike, seed=s) for s in (0, 1)],
                 *[band_run("batch", "grad_diff", lambda s: [10.0] * 5, seed=s)
                   for s in (0, 1)])  # fmt: skip
    judged = landscape.judge_grad_change(metrics, rows)
    typical, peak = judged.parts
    assert peak.outcome == SUPPORTED
    assert typical.outcome == INCONCLUSIVE
    assert judged.outcome == INCONCLUSIVE


def beta_tables(standard_beta, batchnorm_beta, saturated_bn_steps=(), lambdas=None, seeds=(0, 1)):
    """Effective β per probed step, ‖g‖ = 1, and ‖Δg‖ at the smallest η: 1 (overshot) at
    the given BN steps, else 0.1; the same for every seed. λ_max at every other probed step."""
    curvature_steps = PROBED[::2]
    lambdas = lambdas or (np.full(len(curvature_steps), 50.0), np.full(len(curvature_steps), 5.0))
    change = [1.0 if s in saturated_bn_steps else 0.1 for s in PROBED]
    tables = {"metrics": [], "predictiveness": [], "beta": [], "curvature": []}
    for seed in seeds:
        tables["metrics"] += [loss_curve(n, 0.1, seed=seed) for n in ("none", "batch")]
        tables["beta"] += [
            tidy_rows("none", 0.1, "effective_beta", PROBED, standard_beta, seed=seed),
            tidy_rows("batch", 0.1, "effective_beta", PROBED, batchnorm_beta, seed=seed),
            tidy_rows("none", 0.1, "grad_norm", PROBED, np.ones(len(PROBED)), seed=seed),
            tidy_rows("batch", 0.1, "grad_norm", PROBED, np.ones(len(PROBED)), seed=seed),
        ]
        tables["predictiveness"] += [
            tidy_rows("none", 0.1, "grad_diff", PROBED, np.full(len(PROBED), 0.1), eta=0.005,
                      seed=seed),
            tidy_rows("batch", 0.1, "grad_diff", PROBED, change, eta=0.005, seed=seed),
        ]  # fmt: skip
        tables["curvature"] += [
            tidy_rows("none", 0.1, "lambda_max", curvature_steps, lambdas[0], seed=seed),
            tidy_rows("batch", 0.1, "lambda_max", curvature_steps, lambdas[1], seed=seed),
        ]
    return tuple(table(*tables[key]) for key in ("metrics", "predictiveness", "beta", "curvature"))


def test_beta_lower_with_lower_curvature_is_supported():
    wiggle = 1 + 0.1 * np.cos(PROBED)
    judged = landscape.judge_beta(*beta_tables(40 * wiggle, 10 * wiggle))
    assert judged.outcome == SUPPORTED


def test_a_saturated_step_that_decides_the_outcome_makes_beta_inconclusive():
    # BN's β is far lower at its two saturated steps (β = 1/η_min there) and higher at the
    # two other early steps: all steps and unsaturated steps disagree, in both seeds.
    bn = np.array([1.0 if s in (0, 25) else 60.0 for s in PROBED])
    judged = landscape.judge_beta(*beta_tables(np.full(len(PROBED), 40.0), bn,
                                               saturated_bn_steps=(0, 25)))  # fmt: skip
    readings = [p for p in judged.parts if "effective β" in p.name]
    assert len(readings) == 2 and "without the 4 saturated steps" in readings[1].name
    assert readings[0].outcome == SUPPORTED and readings[1].outcome == CONTRADICTED
    assert judged.outcome == INCONCLUSIVE  # λ_max supports it; β depends on the left-out steps
    assert "saturated steps changes the outcome" in judged.reason


def test_beta_is_not_supported_when_the_curvature_says_otherwise():
    wiggle = 1 + 0.1 * np.cos(PROBED)
    steps = len(PROBED[::2])
    sharp_bn = (np.full(steps, 1.0), np.full(steps, 250.0))
    judged = landscape.judge_beta(*beta_tables(40 * wiggle, 10 * wiggle, lambdas=sharp_bn))
    assert judged.outcome == CONTRADICTED
    assert any("λ_max" in p.name and p.outcome == CONTRADICTED for p in judged.parts)


# Noisy BN (noisy_bn_training, noisy_bn_moments)

MOMENT_STEPS = np.arange(0, 400, 50)


def moments_run(normalization, mean, var, seed=0, layers=(2, 9, 10)):
    rows = []
    for layer in layers:
        rows += tidy_rows(normalization, 0.1, "mean", MOMENT_STEPS, mean, seed=seed, layer=layer)
        rows += tidy_rows(normalization, 0.1, "var", MOMENT_STEPS, var, seed=seed, layer=layer)
    return rows


def noisy_metrics():
    return table(metrics_run("none", 0.1, accuracy_curve(300)),
                 metrics_run("batch", 0.1, accuracy_curve(30)),
                 metrics_run("noisy_batch", 0.1, accuracy_curve(40)))  # fmt: skip


def test_a_tiny_initial_variance_does_not_make_standard_the_unstable_one():
    """Standard's variance starts at 1e-5 and grows 1000x: relative to σ² its changes are
    huge, in absolute terms (what noisy_bn_moments draws) far below noisy BN's jumps."""
    n = len(MOMENT_STEPS)
    standard_var = 1e-5 * 1000 ** (np.arange(n) / (n - 1))
    noisy_var = 1.0 + 0.3 * (-1) ** np.arange(n)
    activations = table(
        moments_run("none", np.linspace(0, 0.01, n), standard_var),
        moments_run("noisy_batch", 0.3 * (-1) ** np.arange(n), noisy_var),
    )
    relative_standard = np.median(np.abs(np.diff(standard_var)) / standard_var[:-1])
    relative_noisy = np.median(np.abs(np.diff(noisy_var)) / noisy_var[:-1])
    assert relative_standard > relative_noisy  # the naive reading
    judged = noisy.judge_noisy(noisy_metrics(), activations)
    assert judged.outcome == SUPPORTED
    assert [p.outcome for p in judged.parts] == [SUPPORTED] * 3


def test_noisy_bn_that_moves_less_than_standard_contradicts_the_claim():
    n = len(MOMENT_STEPS)
    activations = table(
        moments_run("none", 0.3 * (-1) ** np.arange(n), 1.0 + 0.3 * (-1) ** np.arange(n)),
        moments_run("noisy_batch", np.linspace(0, 0.01, n), np.linspace(1, 1.01, n)),
    )
    assert noisy.judge_noisy(noisy_metrics(), activations).outcome == CONTRADICTED


# ℓp normalisation (lp_landscape): judged against BN alone


def lp_tables(rises: dict, changes: dict):
    metrics = table(*[loss_curve(n, 0.1) for n in rises])
    landscape_rows = table(*[band_run(n, "loss", lambda s, r=r: [2.3] * 4 + [2.3 + r(s)])
                             for n, r in rises.items()])  # fmt: skip
    predictiveness = table(*[band_run(n, "grad_diff", lambda s, c=c: [c(s)] * 5)
                             for n, c in changes.items()])  # fmt: skip
    return metrics, landscape_rows, predictiveness


def wavy(level):
    return lambda step: level * (1 + 0.2 * np.sin(step))


def test_lp_like_bn_ignores_whether_bn_beats_standard():
    """BN no smoother than Standard here; the ℓp networks are clearly smoother than BN: the
    ℓp claim is judged against BN alone, so it is supported."""
    rises = {"none": wavy(0.1), "batch": wavy(0.1), "l1": wavy(0.01), "l2": wavy(0.01),
             "linf": wavy(0.01)}  # fmt: skip
    changes = {"none": wavy(5), "batch": wavy(5), "l1": wavy(1), "l2": wavy(1), "linf": wavy(1)}
    judged = lp.judge_lp(*lp_tables(rises, changes))
    assert judged.outcome == SUPPORTED and len(judged.parts) == 6


def test_one_rougher_lp_contradicts_and_one_like_bn_is_inconclusive():
    same = {"none": wavy(0.5), "batch": wavy(0.1), "l1": wavy(0.1), "l2": wavy(0.1)}
    changes = {"none": wavy(9), "batch": wavy(2), "l1": wavy(2), "l2": wavy(2)}
    judged = lp.judge_lp(*lp_tables(same, changes))
    assert judged.outcome == INCONCLUSIVE  # ℓ∞ not run: its parts are absent, not failing
    rough = {**same, "linf": wavy(1.0)}
    judged = lp.judge_lp(*lp_tables(rough, {**changes, "linf": wavy(20)}))
    assert judged.outcome == CONTRADICTED


# The deep linear network: every panel judged


def test_dln_smoother_is_contradicted_when_one_learning_rate_panel_says_otherwise():
    steps = np.arange(0, 300, 15)
    wiggle = 1 + 0.1 * np.cos(steps)

    def run(normalization, lr, level):
        return [*tidy_rows(normalization, lr, "effective_beta", steps, level * wiggle),
                *tidy_rows(normalization, lr, "grad_norm", steps, np.ones(len(steps)))]  # fmt: skip

    beta = table(run("none", 1e-6, 1e9), run("batch", 1e-6, 1e3),
                 run("none", 1e-7, 1e3), run("batch", 1e-7, 1e5))  # fmt: skip
    judged = dln.judge_bn_smoother(pd.DataFrame(columns=COLUMNS), beta)
    assert judged.outcome == CONTRADICTED
    by_lr = {p.name: p.outcome for p in judged.parts}
    assert by_lr == {"BN / Standard effective β, lr 1e-06": SUPPORTED,
                     "BN / Standard effective β, lr 1e-07": CONTRADICTED}  # fmt: skip
    six_decades = next(p for p in judged.parts if p.name.endswith("lr 1e-06"))
    assert six_decades.estimate == pytest.approx(-6, abs=0.01)


def test_dln_cosine_is_judged_at_every_learning_rate():
    steps = np.arange(0, 300, 15)

    def run(normalization, lr, level):
        return ics_run(normalization, "ics_cosine", np.full(len(PROBED), level), lr=lr,
                       layers=(9, 17))  # fmt: skip

    rows = table(run("none", 1e-6, 1.0), run("batch", 1e-6, 0.1),
                 run("none", 1e-7, 1.0), run("batch", 1e-7, 0.2))  # fmt: skip
    assert len(steps) and dln.judge_cosine(rows).outcome == SUPPORTED
    assert len(dln.judge_cosine(rows).parts) == 2


# The registry and claims.tsv


def test_every_claim_reads_columns_its_figures_draw():
    for claim in claims.CLAIMS:
        figures = [FIGURE[name.strip()] for name in claim.figure.split(",")]
        drawn = {column for figure in figures for column in figure.draws}
        assert claim.reads, claim.claim
        assert set(claim.reads) <= drawn, (claim.claim, set(claim.reads) - drawn)
        families = {key.split("/")[1] for key in claim.tables}
        assert {column.split(":")[0] for column in claim.reads} <= families


def test_claim_tables_are_the_union_of_every_claims_tables():
    assert set(claims.CLAIM_TABLES) == {key for c in claims.CLAIMS for key in c.tables}


def test_claims_tsv_has_a_row_per_part_and_reads_back(tmp_path):
    metrics = table(metrics_run("none", 0.1, accuracy_curve(300)),
                    metrics_run("batch", 0.1, accuracy_curve(30)))  # fmt: skip
    rows = claims.evaluate_claims({"training/metrics": metrics})
    assert list(rows.columns) == claims.COLUMNS
    assert set(rows["outcome"]) <= set(claims.OUTCOMES)
    faster = rows[rows["claim"].str.startswith("BatchNorm trains faster")].iloc[0]
    assert faster["outcome"] == SUPPORTED and faster["low"] > 0 and faster["seeds"] == 1
    # The main claims are rows even without their tables: not measurable, with the reason.
    missing = rows[rows["claim"].str.contains("loss rises less")]
    assert (missing["outcome"] == NOT_MEASURABLE).all()
    assert missing["reason"].str.startswith("Not measurable: ").all()
    path = tmp_path / "claims.tsv"
    claims.write_claims(rows, path)
    back = claims.read_claims(path)
    assert list(back.columns) == claims.COLUMNS and len(back) == len(rows)
    assert back["estimate"].iloc[0] == pytest.approx(rows["estimate"].iloc[0], rel=1e-5)


def test_another_experiment_of_a_kind_is_judged_by_the_same_rules_on_its_tables():
    kinds = {"training": "training", "resnet_training": "training"}
    assert claims.claim_tables(kinds)[-1] == "resnet_training/metrics"
    fast = table(metrics_run("none", 0.1, accuracy_curve(300)),
                 metrics_run("batch", 0.1, accuracy_curve(30)))  # fmt: skip
    slow = table(metrics_run("none", 0.1, accuracy_curve(30)),
                 metrics_run("batch", 0.1, accuracy_curve(300)))  # fmt: skip
    rows = claims.evaluate_claims(
        {"training/metrics": fast, "resnet_training/metrics": slow}, kinds
    )
    beyond = rows[rows["group"] == "resnet_training"]
    faster = beyond[beyond["claim"].str.startswith("BatchNorm trains faster")]
    assert faster["outcome"].tolist() == [CONTRADICTED]
    assert faster["figure"].tolist() == ["resnet_training/fig1_training"]
    assert faster["experiment"].tolist() == ["resnet_training"]


def test_the_rules_state_the_interval_and_the_window():
    for claim in claims.CLAIMS:
        row = claim.evaluate({})[0]
        assert verdict.INTERVAL_RULE in row["rule"]
    assert quantities.EARLY_WINDOW_RULE in landscape.BETA_RULE
    assert quantities.early_end(table(loss_curve("none", 0.1))) == 100
