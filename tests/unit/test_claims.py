"""The claim verdicts: the shared core against analytic cases, each claim's rule on tables
built by hand, and tables where a naive rule and the figure's reading disagree."""

import numpy as np
import pandas as pd
import pytest

from bnopt import claims
from bnopt.claims import HELD, NOT_HELD, NOT_MEASURABLE, core, ics, landscape, lp, noisy, training
from conftest import tidy_rows

COLUMNS = [
    "run", "normalization", "lr", "seed", "step", "quantity", "value", "layer", "eta",
    "diverged_at",
]  # fmt: skip
ETAS = (0.05, 0.1, 0.2, 0.4)  # the paper's grid at lr 0.1
STEPS = np.arange(0, 1001, 10)


def table(*row_lists) -> pd.DataFrame:
    return pd.DataFrame([row for rows in row_lists for row in rows], columns=COLUMNS)


def row_of(judge, *tables) -> dict:
    """The report row of the claim judged by `judge`, given its tables in order."""
    claim = next(c for c in claims.CLAIMS if c.judge is judge)
    return claim.evaluate(dict(zip(claim.tables, tables, strict=True)))


def check_row(row: dict, verdict: str) -> None:
    assert set(row) == set(claims.COLUMNS)
    assert all(isinstance(row[key], str) and row[key] for key in claims.COLUMNS)
    assert row["verdict"] == verdict, row["statistic"]


def accuracy_curve(rate: float, ceiling: float = 1.0) -> np.ndarray:
    return 0.1 + (ceiling - 0.1) * (1 - np.exp(-STEPS / rate))


def metrics_run(normalization, lr, accuracy, seed=0, diverged_at=np.nan, steps=STEPS):
    return tidy_rows(
        normalization, lr, "train_accuracy", steps, accuracy, seed=seed, diverged_at=diverged_at
    )


def loss_run(normalization, lr, halving_step, seed=0, plateau=True):
    """A training loss from 2.3 that halves at `halving_step` (or stays flat)."""
    if not plateau:
        values = np.full(len(STEPS), 2.3)
    else:
        values = 2.3 * np.exp(-np.log(2) * STEPS / halving_step)
    return tidy_rows(normalization, lr, "train_loss", STEPS, values, seed=seed)


# The shared core


def test_early_window_ends_where_the_smoothed_loss_halves():
    metrics = table(loss_run("none", 0.1, 300))
    window = core.early_window(metrics, 0.1, 0)
    # initial = median of steps 0-90 = 2.3 * 2^(-45/300); the trailing 100-step mean lags
    # ~45 steps, so it falls below half of that at t - 45 = 300 + 45, i.e. the step 390-400.
    assert isinstance(window, core.Window) and window.halved
    assert window.end == 400
    assert window.left_plateau_at < 200


def test_early_window_is_the_whole_run_when_the_loss_never_halves():
    metrics = table(loss_run("none", 0.1, 5000))
    window = core.early_window(metrics, 0.1, 0)
    assert isinstance(window, core.Window) and not window.halved and window.end == 1000


def test_early_window_not_measurable_on_a_plateau():
    why = core.early_window(table(loss_run("none", 0.1, 1, plateau=False)), 0.1, 0)
    assert isinstance(why, str) and "never left its initial plateau" in why


def test_early_window_stops_at_divergence():
    rows = loss_run("none", 0.1, 5000)
    for row in rows:
        row["diverged_at"] = 200.0
    window = core.early_window(table(rows), 0.1, 0)
    assert isinstance(window, str) or window.end == 200


def test_paired_steps_and_fraction_below():
    a = pd.Series([1.0, 2.0, 3.0, 9.0], index=[0, 100, 200, 300])
    b = pd.Series([2.0, 1.0, 4.0], index=[0, 100, 200])
    pairs = core.paired_steps(a, b, core.Window(end=200, left_plateau_at=0, halved=True))
    assert list(pairs.index) == [0, 100, 200]
    assert core.fraction_below(pairs) == pytest.approx(2 / 3)
    assert core.median_ratio(pairs) == pytest.approx(0.75)


def test_across_seeds_majority_and_per_seed_values():
    results = [core.SeedResult(s, held, value, f"text {s}") for s, held, value in
               [(0, True, 0.8), (1, True, 0.6), (2, False, 0.2)]]  # fmt: skip
    judgement = core.across_seeds(results, "share", "nothing")
    assert judgement.verdict == HELD
    assert "share per seed: 0.8, 0.6, 0.2 (mean 0.533, range 0.2 to 0.8)" in judgement.statistic
    assert "Rule held in 2 of 3 seeds" in judgement.statistic
    assert core.across_seeds(results[1:], "share", "x").verdict == NOT_HELD
    assert core.across_seeds([], "share", "no runs").verdict == NOT_MEASURABLE


def test_paper_etas_keeps_the_papers_range_at_each_lr():
    rows = table(
        *[tidy_rows("none", 0.1, "loss", [0], [1.0], eta=eta) for eta in (0.005, 0.05, 0.4)],
        *[tidy_rows("none", 0.01, "loss", [0], [1.0], eta=eta) for eta in (0.005, 0.05)],
    )
    kept = core.paper_etas(rows)
    pairs = sorted(zip(kept["lr"], kept["eta"], strict=True))
    assert pairs == [(0.01, 0.005), (0.1, 0.05), (0.1, 0.4)]  # 0.05 is 5 x lr 0.01


# Claim 1: BN trains faster at lr 0.1


def test_faster_training_held():
    metrics = table(
        metrics_run("none", 0.1, accuracy_curve(500)), metrics_run("batch", 0.1, accuracy_curve(50))
    )
    row = row_of(training.judge_faster, metrics)
    check_row(row, HELD)
    assert "BN" in row["statistic"] and "%" in row["statistic"]
    assert "percentage points" in row["reading"]
    assert row["figure"] == "fig1_training"


def test_faster_training_did_not_hold_when_curves_match():
    metrics = table(
        metrics_run("none", 0.1, accuracy_curve(100)),
        metrics_run("batch", 0.1, accuracy_curve(100)),
    )
    check_row(row_of(training.judge_faster, metrics), NOT_HELD)


@pytest.mark.parametrize(
    "metrics",
    [
        table(metrics_run("batch", 0.1, accuracy_curve(50))),
        table(
            metrics_run("none", 0.1, [0.1, 0.1], diverged_at=10.0, steps=[0, 10]),
            metrics_run("batch", 0.1, accuracy_curve(50)),
        ),
    ],
    ids=["no-standard-run", "standard-diverged-before-data"],
)
def test_faster_training_not_measurable(metrics):
    check_row(row_of(training.judge_faster, metrics), NOT_MEASURABLE)


def test_faster_training_majority_of_seeds_with_each_seed_shown():
    fast, slow = accuracy_curve(50), accuracy_curve(500)
    metrics = table(
        *[metrics_run("none", 0.1, slow, seed=seed) for seed in (0, 1, 2)],
        metrics_run("batch", 0.1, fast, seed=0),
        metrics_run("batch", 0.1, fast, seed=1),
        metrics_run("batch", 0.1, slow, seed=2),
    )
    row = row_of(training.judge_faster, metrics)
    check_row(row, HELD)
    assert "2 of 3 seeds" in row["statistic"] and "per seed:" in row["statistic"]
    assert "majority" in row["rule"]
    two = metrics[metrics["seed"] != 0]
    check_row(row_of(training.judge_faster, two), NOT_HELD)


# Claim 2: Standard fails at lr 0.5, BN trains


def test_large_lr_held_when_standard_diverges():
    metrics = table(
        metrics_run("none", 0.5, [0.1, 0.1, 0.09], diverged_at=20.0, steps=[0, 10, 20]),
        metrics_run("batch", 0.5, accuracy_curve(100, ceiling=0.95)),
    )
    row = row_of(training.judge_large_lr, metrics)
    check_row(row, HELD)
    assert "diverged at step 20" in row["statistic"]


@pytest.mark.parametrize(
    ("standard", "batchnorm", "verdict"),
    [
        (metrics_run("none", 0.5, np.full(len(STEPS), 0.1)),
         metrics_run("batch", 0.5, accuracy_curve(100, ceiling=0.95)), HELD),
        (metrics_run("none", 0.5, accuracy_curve(300, ceiling=0.9)),
         metrics_run("batch", 0.5, accuracy_curve(100, ceiling=0.95)), NOT_HELD),
        (metrics_run("none", 0.5, [0.1, 0.1], diverged_at=10.0, steps=[0, 10]),
         metrics_run("batch", 0.5, [0.1, 0.1], diverged_at=10.0, steps=[0, 10]), NOT_HELD),
        (metrics_run("none", 0.5, np.full(len(STEPS), 0.1)),
         metrics_run("batch", 0.5, [0.1, 0.3], steps=[0, 10]), NOT_MEASURABLE),
        (metrics_run("none", 0.1, accuracy_curve(100)), [], NOT_MEASURABLE),
    ],
    ids=["standard-at-chance", "standard-trains", "bn-diverges", "bn-too-short", "no-lr-0.5"],
)  # fmt: skip
def test_large_lr_verdicts(standard, batchnorm, verdict):
    check_row(row_of(training.judge_large_lr, table(standard, batchnorm)), verdict)


# Claims 3 and 4: ICS


def ics_run(normalization, quantity, value, lr=0.1, seed=0, layers=(5, 10), steps=(0, 100, 200)):
    """`value(layer, step)` gives a layer's value at a step."""
    rows = []
    for layer in layers:
        values = [value(layer, step) for step in steps]
        rows += tidy_rows(normalization, lr, quantity, steps, values, seed=seed, layer=layer)
    return rows


def test_relative_ics_held_when_bn_not_lower():
    ics_table = table(
        ics_run("none", "ics_relative", lambda layer, step: 0.1),
        ics_run("batch", "ics_relative", lambda layer, step: 0.06 if layer == 5 else 0.3),
    )
    row = row_of(ics.judge_relative_ics, ics_table)
    check_row(row, HELD)
    assert "min 0.6 (lr 0.1, layer #5)" in row["statistic"]


def test_relative_ics_did_not_hold_when_one_layer_much_lower():
    ics_table = table(
        ics_run("none", "ics_relative", lambda layer, step: 0.1),
        ics_run("batch", "ics_relative", lambda layer, step: 0.03 if layer == 10 else 0.2),
    )
    check_row(row_of(ics.judge_relative_ics, ics_table), NOT_HELD)


def test_relative_ics_follows_the_ratio_not_the_size_of_the_gradient():
    # BN's gradient is 100x smaller, so its absolute ‖G − G′‖ is far lower (a naive rule on
    # the absolute figure says BN reduced ICS), but relative to ‖G‖ it is the same.
    ics_table = table(
        ics_run("none", "ics_l2", lambda layer, step: 10.0),
        ics_run("batch", "ics_l2", lambda layer, step: 0.1),
        ics_run("none", "ics_relative", lambda layer, step: 0.2),
        ics_run("batch", "ics_relative", lambda layer, step: 0.2),
    )
    row = row_of(ics.judge_relative_ics, ics_table)
    check_row(row, HELD)
    assert "absolute ‖G − G′‖ (context) over 2 (lr, layer) pairs: min 0.01" in row["statistic"]


def test_relative_ics_is_paired_step_by_step():
    # A phase change: both networks' values fall 100x at step 200, BN's a little earlier in
    # absolute steps would not matter; what is compared is the ratio at the same step.
    def standard(layer, step):
        return 1.0 if step < 200 else 0.01

    def batchnorm(layer, step):
        return 0.9 if step < 200 else 0.009

    ics_table = table(
        ics_run("none", "ics_relative", standard, steps=(0, 100, 200, 300, 400)),
        ics_run("batch", "ics_relative", batchnorm, steps=(0, 100, 200, 300, 400)),
    )
    row = row_of(ics.judge_relative_ics, ics_table)
    check_row(row, HELD)
    assert "min 0.9" in row["statistic"]


@pytest.mark.parametrize(
    "ics_table",
    [
        table(ics_run("none", "ics_relative", lambda layer, step: 1.0)),
        table(
            ics_run("none", "ics_relative", lambda layer, step: 1.0, steps=(0, 100)),
            ics_run("batch", "ics_relative", lambda layer, step: 1.0, steps=(0, 100)),
        ),
        table(
            ics_run("none", "ics_relative", lambda layer, step: np.nan),
            ics_run("batch", "ics_relative", lambda layer, step: np.inf),
        ),
        table(
            ics_run("none", "ics_relative", lambda layer, step: 1.0, layers=(5,)),
            ics_run("batch", "ics_relative", lambda layer, step: 1.0, layers=(10,)),
        ),
    ],
    ids=["bn-missing", "two-steps", "non-finite", "no-shared-layer"],
)
def test_relative_ics_not_measurable(ics_table):
    check_row(row_of(ics.judge_relative_ics, ics_table), NOT_MEASURABLE)


def test_ics_cosine_verdicts():
    held = table(
        ics_run("none", "ics_cosine", lambda layer, step: 0.9),
        ics_run("batch", "ics_cosine", lambda layer, step: 0.95 if layer == 5 else 0.2),
    )
    check_row(row_of(ics.judge_cosine, held), HELD)
    higher = table(
        ics_run("none", "ics_cosine", lambda layer, step: 0.5),
        ics_run("batch", "ics_cosine", lambda layer, step: 0.9),
    )
    row = row_of(ics.judge_cosine, higher)
    check_row(row, NOT_HELD)
    assert "0.4" in row["statistic"]
    only_l2 = table(ics_run("none", "ics_l2", lambda layer, step: 1.0))
    check_row(row_of(ics.judge_cosine, only_l2), NOT_MEASURABLE)


# Claims 5-7: landscape probes, judged step by step in early training


def eta_run(normalization, quantity, per_step, lr=0.1, seed=0, etas=ETAS):
    """`per_step` maps step -> values over `etas`."""
    rows = []
    for step, values in per_step.items():
        for eta, value in zip(etas, values, strict=True):
            rows += tidy_rows(normalization, lr, quantity, [step], [value], seed=seed, eta=eta)
    return rows


PROBED = range(0, 1001, 50)
WIDE = {step: (2.0, 4.0, 8.0, 12.0) for step in PROBED}  # range 10
NARROW = {step: (2.0, 2.1, 2.2, 2.4) for step in PROBED}  # range 0.4
STANDARD_LOSS = loss_run("none", 0.1, 300)  # early training = steps 0 to 400


def test_loss_range_held():
    metrics = table(STANDARD_LOSS)
    landscape_table = table(eta_run("none", "loss", WIDE), eta_run("batch", "loss", NARROW))
    row = row_of(landscape.judge_loss_range, metrics, landscape_table)
    check_row(row, HELD)
    assert "lower at 9 of 9 probed steps" in row["statistic"]
    assert "until Standard's smoothed loss fell below 0.5" in row["statistic"]
    assert row["reading"].startswith("In steps 0-")
    assert row["figure"] == "fig5_loss_landscape"


def test_loss_range_reads_early_training_not_the_whole_run():
    # BN's range is wider early on and far narrower after BN has converged. A whole-run
    # median (the old rule) says BN is smoother; the figure's early phase says it is not.
    batchnorm = {step: (NARROW if step > 400 else {step: (1.0, 3.0, 8.0, 14.0)})[step]
                 for step in PROBED}  # fmt: skip
    landscape_table = table(eta_run("none", "loss", WIDE), eta_run("batch", "loss", batchnorm))
    by_run = dict(list(landscape_table.groupby("normalization")))
    whole_run = [landscape.loss_range(by_run[n]).median() for n in ("batch", "none")]
    assert whole_run[0] < whole_run[1]  # the naive reading
    row = row_of(landscape.judge_loss_range, table(STANDARD_LOSS), landscape_table)
    check_row(row, NOT_HELD)
    assert "lower at 0 of 9 probed steps" in row["statistic"]


def test_loss_range_ignores_etas_outside_the_papers_range():
    # An extra small η where BN's loss is far off would widen BN's range; it is not used.
    etas = (0.005, *ETAS)
    batchnorm = {step: (50.0, *values) for step, values in NARROW.items()}
    standard = {step: (2.0, *values) for step, values in WIDE.items()}
    landscape_table = table(
        eta_run("none", "loss", standard, etas=etas), eta_run("batch", "loss", batchnorm, etas=etas)
    )
    check_row(row_of(landscape.judge_loss_range, table(STANDARD_LOSS), landscape_table), HELD)


def test_landscape_claims_not_measurable_on_the_standard_plateau():
    metrics = table(loss_run("none", 0.1, 1, plateau=False))
    landscape_table = table(eta_run("none", "loss", WIDE), eta_run("batch", "loss", NARROW))
    row = row_of(landscape.judge_loss_range, metrics, landscape_table)
    check_row(row, NOT_MEASURABLE)
    assert "never left its initial plateau" in row["statistic"]


def test_landscape_claims_not_measurable_when_the_window_is_too_short():
    sparse = {step: values for step, values in WIDE.items() if step % 500 == 0}
    landscape_table = table(eta_run("none", "loss", sparse), eta_run("batch", "loss", NARROW))
    row = row_of(landscape.judge_loss_range, table(STANDARD_LOSS), landscape_table)
    check_row(row, NOT_MEASURABLE)
    assert "hold 1 usable steps probed in both runs (fewer than 3)" in row["statistic"]


def test_gradient_change_uses_the_max_over_eta():
    # Same range (max - min), but BN's values sit higher: the largest change decides.
    standard = {step: (0.0, 0.1, 0.2, 1.0) for step in PROBED}
    batchnorm = {step: (5.0, 5.1, 5.2, 6.0) for step in PROBED}
    predictiveness = table(
        eta_run("none", "grad_diff", standard), eta_run("batch", "grad_diff", batchnorm)
    )
    row = row_of(landscape.judge_grad_change, table(STANDARD_LOSS), predictiveness)
    check_row(row, NOT_HELD)
    flipped = table(
        eta_run("none", "grad_diff", batchnorm), eta_run("batch", "grad_diff", standard)
    )
    check_row(row_of(landscape.judge_grad_change, table(STANDARD_LOSS), flipped), HELD)


def beta_tables(normalization, betas, overshoot=0.5, lr=0.1, seed=0):
    """Effective β per probed step, ‖g‖ = 1 and the gradient change at the smallest η."""
    steps = list(PROBED)[: len(betas)]
    beta = tidy_rows(normalization, lr, "effective_beta", steps, betas, seed=seed)
    beta += tidy_rows(normalization, lr, "grad_norm", steps, [1.0] * len(steps), seed=seed)
    changes = overshoot if np.ndim(overshoot) else [overshoot] * len(steps)
    change = tidy_rows(normalization, lr, "grad_diff", steps, changes, seed=seed, eta=0.005)
    return change, beta


def beta_row(standard, batchnorm, metrics=STANDARD_LOSS):
    predictiveness = table(standard[0], batchnorm[0])
    return row_of(
        landscape.judge_beta, table(metrics), predictiveness, table(standard[1], batchnorm[1])
    )


def test_beta_held_when_lower_at_most_early_steps():
    row = beta_row(beta_tables("none", [45, 30, 25, 21, 30, 40, 30, 30]),
                   beta_tables("batch", [20, 19, 20, 19, 20, 21, 20, 20]))  # fmt: skip
    check_row(row, HELD)


def test_beta_one_standard_spike_does_not_decide():
    # The old rule (BN's max and sd below Standard's) says held because of a single spike of
    # Standard; in the figure BN's β is above Standard's at 7 of 8 early steps.
    standard = [60, 8, 9, 8, 9, 8, 9, 8]
    batchnorm = [18, 18, 17, 18, 19, 18, 17, 18]
    assert max(batchnorm) < max(standard) and np.std(batchnorm) < np.std(standard)
    row = beta_row(beta_tables("none", standard), beta_tables("batch", batchnorm))
    check_row(row, NOT_HELD)
    assert "lower at 1 of 8 probed steps" in row["statistic"]


def test_beta_leaves_out_saturated_steps():
    # BN has overshot at the smallest η at every step (‖Δg‖ ≈ ‖g‖): its β of 1/η_min says
    # nothing about curvature, so no step is left to compare.
    saturated = beta_tables("batch", [200] * 8, overshoot=0.97)
    row = beta_row(beta_tables("none", [45] * 8), saturated)
    check_row(row, NOT_MEASURABLE)
    assert "Saturated (left out): Standard 0%, BN 100%" in row["statistic"]
    # Saturated at half the steps: only the other half is compared.
    half = beta_tables("batch", [200, 10] * 4, overshoot=[0.97, 0.5] * 4)
    row = beta_row(beta_tables("none", [45] * 8), half)
    check_row(row, HELD)
    assert "lower at 4 of 4 probed steps" in row["statistic"]


def test_beta_majority_over_seeds():
    tables = [beta_tables("none", [45] * 8, seed=seed) for seed in (0, 1, 2)]
    tables += [beta_tables("batch", [20] * 8, seed=0), beta_tables("batch", [60] * 8, seed=1),
               beta_tables("batch", [60] * 8, seed=2)]  # fmt: skip
    metrics = table(*[loss_run("none", 0.1, 300, seed=seed) for seed in (0, 1, 2)])
    predictiveness = table(*[t[0] for t in tables])
    beta = table(*[t[1] for t in tables])
    row = row_of(landscape.judge_beta, metrics, predictiveness, beta)
    check_row(row, NOT_HELD)
    assert "1 of 3 seeds" in row["statistic"]
    assert "per seed: 1, 0, 0" in row["statistic"]


# All claims together


def full_tables() -> dict[str, pd.DataFrame]:
    metrics = table(
        metrics_run("none", 0.1, accuracy_curve(500)),
        metrics_run("batch", 0.1, accuracy_curve(50)),
        metrics_run("none", 0.5, [0.1, 0.1], diverged_at=10.0, steps=[0, 10]),
        metrics_run("batch", 0.5, accuracy_curve(100, ceiling=0.95)),
        STANDARD_LOSS,
    )
    beta = beta_tables("none", [45, 30, 25, 21, 30, 40, 30, 30]), beta_tables("batch", [20] * 8)
    return {
        "training/metrics": metrics,
        "ics/ics": table(
            ics_run("none", "ics_relative", lambda layer, step: 1.0),
            ics_run("batch", "ics_relative", lambda layer, step: 2.0),
            ics_run("none", "ics_cosine", lambda layer, step: 0.9),
            ics_run("batch", "ics_cosine", lambda layer, step: 0.5),
        ),
        "landscape/metrics": metrics,
        "landscape/landscape": table(
            eta_run("none", "loss", WIDE), eta_run("batch", "loss", NARROW)
        ),
        "landscape/predictiveness": table(
            eta_run("none", "grad_diff", WIDE),
            eta_run("batch", "grad_diff", NARROW),
            beta[0][0],
            beta[1][0],
        ),  # fmt: skip
        "landscape/beta": table(beta[0][1], beta[1][1]),
    }


def test_evaluate_claims_one_row_per_main_claim_in_figure_order():
    result = claims.evaluate_claims(full_tables())
    assert list(result.columns) == claims.COLUMNS
    assert len(result) == 7
    assert (result["verdict"] == HELD).all(), result[["claim", "statistic"]].to_string()
    assert result["figure"].tolist() == [
        "fig1_training",
        "fig1_training",
        "ics_relative, fig3_ics_l2",
        "fig4_ics_cosine",
        "fig5_loss_landscape",
        "fig6_gradient_predictiveness, grad_change_vs_eta",
        "fig7_beta_smoothness, beta_and_curvature",
    ]


def test_evaluate_claims_missing_tables_are_not_measurable():
    result = claims.evaluate_claims({})
    assert len(result) == 7
    assert (result["verdict"] == NOT_MEASURABLE).all()


def test_evaluate_claims_reads_tsv_round_trip(tmp_path):
    tables = {}
    for key, frame in full_tables().items():
        path = tmp_path / f"{key.replace('/', '_')}.tsv"
        frame.to_csv(path, sep="\t", index=False)
        tables[key] = pd.read_csv(path, sep="\t")
    assert (claims.evaluate_claims(tables)["verdict"] == HELD).all()


def test_registry_names_known_figures_groups_and_tables():
    from bnopt.figures import FIGURE

    for claim in claims.CLAIMS:
        assert claim.group in claims.CLAIM_GROUPS
        for name in claim.figure.split(","):
            assert name.strip() in FIGURE, name
        for key in claim.tables:
            experiment, family = key.split("/")
            assert family in (
                "metrics",
                "ics",
                "landscape",
                "predictiveness",
                "beta",
                "activations",
            )
    assert set(claims.CLAIM_TABLES) == {key for c in claims.CLAIMS for key in c.tables}


# Claim 8: noisy BN trains about as well as BN, its activations move more than Standard's

DRIFT_STEPS = [0, 100, 200, 300]
# A steady trend: the variance grows by 10% per probed step, the mean drifts by 0.05 σ.
TREND = {"mean": [0.0, 0.05, 0.1, 0.15], "var": [1.0, 1.1, 1.21, 1.331]}
JUMPY = {"mean": [0.0, 0.3, -0.2, 0.1], "var": [1.0, 1.4, 0.8, 1.3]}


def moments_run(normalization, moments, layers=(2, 9, 10), seed=0, steps=DRIFT_STEPS, scale=1.0):
    rows = []
    for layer in layers:
        for quantity, values in moments.items():
            factor = scale if quantity == "mean" else scale**2
            values = [factor * v for v in values[: len(steps)]]
            rows += tidy_rows(normalization, 0.1, quantity, steps, values, seed=seed, layer=layer)
    return rows


def noisy_tables(noisy_accuracy=None, standard=TREND, noisy_moments=JUMPY, scale=1.0, **kw):
    metrics = table(
        metrics_run("none", 0.1, accuracy_curve(500)),
        metrics_run("batch", 0.1, accuracy_curve(50)),
        metrics_run(
            "noisy_batch",
            0.1,
            accuracy_curve(60) if noisy_accuracy is None else noisy_accuracy,
            **kw,
        ),
    )
    activations = table(
        moments_run("none", standard, scale=scale),
        moments_run("batch", TREND),
        moments_run("noisy_batch", noisy_moments),
        tidy_rows("none", 0.1, "sample", [0, 0], [0.5, -0.5], layer=2),
    )
    return metrics, activations


def test_noisy_bn_held():
    row = row_of(noisy.judge_noisy, *noisy_tables())
    check_row(row, HELD)
    assert row["group"] == "noisy"
    assert "layers #2, #9, #10" in row["statistic"]
    # Standard: |Δμ|/σ = 0.05 / σ_t, median over 3 steps = 0.05 / sqrt(1.1)
    assert f"Standard {0.05 / np.sqrt(1.1):.3g}" in row["statistic"]


def test_noisy_bn_instability_is_relative_to_the_distributions_scale():
    # Standard's activations 100x larger and trending: in absolute size its drift (0.05 x 100
    # per step) beats noisy BN's jitter, relative to its own σ it does not.
    row = row_of(noisy.judge_noisy, *noisy_tables(scale=100.0))
    check_row(row, HELD)


def test_noisy_bn_did_not_hold_when_it_trains_worse():
    metrics, activations = noisy_tables(noisy_accuracy=accuracy_curve(50, ceiling=0.8))
    row = row_of(noisy.judge_noisy, metrics, activations)
    check_row(row, NOT_HELD)
    assert "(-20.0 points)" in row["statistic"]


def test_noisy_bn_did_not_hold_when_standard_moves_more():
    check_row(
        row_of(noisy.judge_noisy, *noisy_tables(standard=JUMPY, noisy_moments=TREND)), NOT_HELD
    )


@pytest.mark.parametrize(
    "tables",
    [
        (pd.DataFrame(columns=COLUMNS), pd.DataFrame(columns=COLUMNS)),
        (noisy_tables()[0], table(moments_run("noisy_batch", JUMPY))),
        (
            noisy_tables()[0],
            table(moments_run("none", TREND), moments_run("noisy_batch", JUMPY, steps=[0, 100])),
        ),
        (table(metrics_run("batch", 0.1, accuracy_curve(50))), noisy_tables()[1]),
    ],
    ids=["empty", "no-standard-moments", "two-probed-steps", "no-noisy-training-run"],
)
def test_noisy_bn_not_measurable(tables):
    check_row(row_of(noisy.judge_noisy, *tables), NOT_MEASURABLE)


# Claim 9: l_p normalisation smooths the landscape about as much as BN

LP_NARROW = {step: tuple(1.5 * v for v in values) for step, values in NARROW.items()}


def lp_tables(**lp_values):
    """Standard wide, BN narrow; every l_p norm 1.5x BN's values unless given."""
    rows = {"loss": [], "grad_diff": []}
    for quantity in rows:
        rows[quantity] += [eta_run("none", quantity, WIDE), eta_run("batch", quantity, NARROW)]
        for normalization in ("l1", "l2", "linf"):
            values = lp_values.get(normalization, LP_NARROW)
            rows[quantity].append(eta_run(normalization, quantity, values))
    return table(STANDARD_LOSS), table(*rows["loss"]), table(*rows["grad_diff"])


def test_lp_smoothing_held():
    row = row_of(lp.judge_lp, *lp_tables())
    check_row(row, HELD)
    assert row["group"] == "lp" and row["figure"] == "lp_landscape"
    # l_p range 0.6 vs BN 0.4 at every step: ratio 1.5; below Standard's 10 at every step
    assert (
        "loss range below Standard's at share 1 of steps, median ratio to BN 1.5"
        in row["statistic"]
    )
    assert "Not measured" not in row["statistic"]


def test_lp_smoothing_did_not_hold_when_one_norm_is_rough():
    row = row_of(lp.judge_lp, *lp_tables(linf=WIDE))
    check_row(row, NOT_HELD)
    assert row["statistic"].count("meets the rule") == 2
    assert "ℓ∞ did not" in row["reading"]


def test_lp_smoothing_did_not_hold_when_far_above_bn():
    # Still below Standard's range but more than twice BN's
    rough = {step: tuple(5 * v for v in values) for step, values in NARROW.items()}
    check_row(row_of(lp.judge_lp, *lp_tables(l1=rough)), NOT_HELD)


def test_lp_smoothing_lists_norms_not_measured():
    metrics, loss, change = lp_tables()
    keep = ~loss["normalization"].isin(["l1", "linf"])
    row = row_of(lp.judge_lp, metrics, loss[keep], change)
    check_row(row, HELD)
    assert "Not measured: ℓ1, ℓ∞." in row["statistic"]


@pytest.mark.parametrize(
    "tables",
    [
        (pd.DataFrame(columns=COLUMNS),) * 3,
        (pd.DataFrame(columns=COLUMNS), *lp_tables()[1:]),
        tuple(frame[frame["normalization"] != "batch"] for frame in lp_tables()),
        tuple(frame[frame["normalization"].isin(["none", "batch"])] for frame in lp_tables()),
    ],
    ids=["empty", "no-metrics", "no-bn", "no-lp-runs"],
)
def test_lp_smoothing_not_measurable(tables):
    check_row(row_of(lp.judge_lp, *tables), NOT_MEASURABLE)


# Extra experiments in evaluate_claims


def test_evaluate_claims_adds_experiment_claims_when_their_tables_are_present():
    noisy_metrics, noisy_activations = noisy_tables()
    lp_metrics, lp_loss, lp_change = lp_tables()
    tables = {
        **full_tables(),
        "noisy/metrics": noisy_metrics,
        "noisy/activations": noisy_activations,
        "lp/metrics": lp_metrics,
        "lp/landscape": lp_loss,
        "lp/predictiveness": lp_change,
    }
    result = claims.evaluate_claims(tables)
    assert len(result) == 9
    assert (result["verdict"] == HELD).all(), result[["claim", "statistic"]].to_string()
    assert list(dict.fromkeys(result["group"])) == list(claims.CLAIM_GROUPS)[:5]


def test_evaluate_claims_one_experiment_table_gives_a_not_measurable_row():
    result = claims.evaluate_claims({"lp/landscape": lp_tables()[1]})
    assert len(result) == 8
    assert result["group"].iloc[-1] == "lp"
    assert (result["verdict"] == NOT_MEASURABLE).all()


# Beyond the paper: LayerNorm and GroupNorm in the l_p experiment


def per_sample_tables(**values):
    """Standard wide, BN narrow, LayerNorm and GroupNorm 1.5x BN's values unless given."""
    rows = {"loss": [], "grad_diff": []}
    for quantity in rows:
        rows[quantity] += [eta_run("none", quantity, WIDE), eta_run("batch", quantity, NARROW)]
        for normalization in ("layer", "group"):
            rows[quantity].append(
                eta_run(normalization, quantity, values.get(normalization, LP_NARROW))
            )
    return table(STANDARD_LOSS), table(*rows["loss"]), table(*rows["grad_diff"])


def test_per_sample_norms_are_judged_by_the_lp_rule():
    check_row(row_of(lp.judge_per_sample, *per_sample_tables()), HELD)
    row = row_of(lp.judge_per_sample, *per_sample_tables(group=WIDE))
    check_row(row, NOT_HELD)
    assert "GroupNorm did not" in row["reading"] and "LayerNorm" in row["reading"]


def test_the_per_sample_claim_appears_only_when_those_norms_ran():
    paper_only = dict(
        zip(("lp/metrics", "lp/landscape", "lp/predictiveness"), lp_tables(), strict=True)
    )
    claims_shown = set(claims.evaluate_claims(paper_only)["claim"])
    assert not any("LayerNorm" in claim for claim in claims_shown)
    assert any(claim.startswith("ℓ1, ℓ2 and ℓ∞") for claim in claims_shown)
    beyond = dict(
        zip(("lp/metrics", "lp/landscape", "lp/predictiveness"), per_sample_tables(), strict=True)
    )
    rows = claims.evaluate_claims(beyond)
    per_sample = rows[rows["claim"].str.startswith("LayerNorm and GroupNorm")]
    assert per_sample["verdict"].tolist() == [HELD]
    assert rows[rows["claim"].str.startswith("ℓ1")]["verdict"].tolist() == [NOT_MEASURABLE]


def test_another_experiment_of_a_kind_is_judged_by_the_same_rules_on_its_tables():
    kinds = {"lp": "lp", "resnet_lp": "lp"}
    assert claims.claim_tables(kinds)[-3:] == (
        "resnet_lp/metrics",
        "resnet_lp/landscape",
        "resnet_lp/predictiveness",
    )
    keys = ("metrics", "landscape", "predictiveness")
    tables = dict(zip((f"lp/{k}" for k in keys), lp_tables(), strict=True))
    tables |= dict(zip((f"resnet_lp/{k}" for k in keys), lp_tables(linf=WIDE), strict=True))
    rows = claims.evaluate_claims(tables, kinds)
    beyond = rows[rows["group"] == "resnet_lp"]
    assert beyond["claim"].tolist() == [
        "ℓ1, ℓ2 and ℓ∞ normalisation smooth the loss landscape about as much as BatchNorm "
        "(resnet_lp)"
    ]  # the per-sample claim is left out: no LayerNorm or GroupNorm run
    assert beyond["verdict"].tolist() == [NOT_HELD]  # its own tables: l_inf is rough there
    assert beyond["figure"].tolist() == ["resnet_lp/lp_landscape"]
    paper = rows[rows["group"] == "lp"]
    assert paper["verdict"].tolist()[0] == HELD
