import numpy as np
import pandas as pd
import pytest

from bnopt import claims
from bnopt.claims import HELD, NOT_HELD, NOT_MEASURABLE
from conftest import tidy_rows

COLUMNS = [
    "run", "normalization", "lr", "seed", "step", "quantity", "value", "layer", "eta",
    "diverged_at",
]  # fmt: skip
ETAS = (0.05, 0.1, 0.2, 0.4)


def table(*row_lists) -> pd.DataFrame:
    return pd.DataFrame([row for rows in row_lists for row in rows], columns=COLUMNS)


STEPS = np.arange(0, 1001, 10)


def accuracy_curve(rate: float, ceiling: float = 1.0) -> np.ndarray:
    return 0.1 + (ceiling - 0.1) * (1 - np.exp(-STEPS / rate))


def metrics_run(normalization, lr, accuracy, seed=0, diverged_at=np.nan, steps=STEPS):
    return tidy_rows(
        normalization, lr, "train_accuracy", steps, accuracy, seed=seed, diverged_at=diverged_at
    )


def check_row(row: dict, verdict: str) -> None:
    assert set(row) == set(claims.COLUMNS)
    assert all(isinstance(row[key], str) and row[key] for key in claims.COLUMNS)
    assert row["verdict"] == verdict, row["statistic"]


# Claim 1: BN trains faster at lr 0.1


def test_faster_training_held():
    metrics = table(
        metrics_run("none", 0.1, accuracy_curve(500)), metrics_run("batch", 0.1, accuracy_curve(50))
    )
    row = claims.claim_bn_trains_faster(metrics)
    check_row(row, HELD)
    assert "BN" in row["statistic"] and "%" in row["statistic"]
    assert row["figure"] == "fig1_training"


def test_faster_training_did_not_hold_when_curves_match():
    metrics = table(
        metrics_run("none", 0.1, accuracy_curve(100)),
        metrics_run("batch", 0.1, accuracy_curve(100)),
    )
    check_row(claims.claim_bn_trains_faster(metrics), NOT_HELD)


def test_faster_training_not_measurable_without_standard_run():
    metrics = table(metrics_run("batch", 0.1, accuracy_curve(50)))
    check_row(claims.claim_bn_trains_faster(metrics), NOT_MEASURABLE)


def test_faster_training_not_measurable_when_standard_diverged_before_data():
    metrics = table(
        metrics_run("none", 0.1, [0.1, 0.1], diverged_at=10.0, steps=[0, 10]),
        metrics_run("batch", 0.1, accuracy_curve(50)),
    )
    check_row(claims.claim_bn_trains_faster(metrics), NOT_MEASURABLE)


def test_faster_training_majority_of_seeds():
    fast, slow = accuracy_curve(50), accuracy_curve(500)
    metrics = table(
        *[metrics_run("none", 0.1, slow, seed=seed) for seed in (0, 1, 2)],
        metrics_run("batch", 0.1, fast, seed=0),
        metrics_run("batch", 0.1, fast, seed=1),
        metrics_run("batch", 0.1, slow, seed=2),
    )
    row = claims.claim_bn_trains_faster(metrics)
    check_row(row, HELD)
    assert "2 of 3 seeds" in row["statistic"]
    assert "majority" in row["rule"]


def test_faster_training_minority_of_seeds_does_not_hold():
    fast, slow = accuracy_curve(50), accuracy_curve(500)
    metrics = table(
        *[metrics_run("none", 0.1, slow, seed=seed) for seed in (0, 1)],
        metrics_run("batch", 0.1, fast, seed=0),
        metrics_run("batch", 0.1, slow, seed=1),
    )
    check_row(claims.claim_bn_trains_faster(metrics), NOT_HELD)


# Claim 2: Standard fails at lr 0.5, BN trains


def test_large_lr_held_when_standard_diverges():
    metrics = table(
        metrics_run("none", 0.5, [0.1, 0.1, 0.09], diverged_at=20.0, steps=[0, 10, 20]),
        metrics_run("batch", 0.5, accuracy_curve(100, ceiling=0.95)),
    )
    row = claims.claim_standard_fails_at_large_lr(metrics)
    check_row(row, HELD)
    assert "diverged at step 20" in row["statistic"]


def test_large_lr_held_when_standard_stays_at_chance():
    metrics = table(
        metrics_run("none", 0.5, np.full(len(STEPS), 0.1)),
        metrics_run("batch", 0.5, accuracy_curve(100, ceiling=0.95)),
    )
    check_row(claims.claim_standard_fails_at_large_lr(metrics), HELD)


def test_large_lr_did_not_hold_when_standard_trains():
    metrics = table(
        metrics_run("none", 0.5, accuracy_curve(300, ceiling=0.9)),
        metrics_run("batch", 0.5, accuracy_curve(100, ceiling=0.95)),
    )
    check_row(claims.claim_standard_fails_at_large_lr(metrics), NOT_HELD)


def test_large_lr_did_not_hold_when_bn_diverges():
    metrics = table(
        metrics_run("none", 0.5, [0.1, 0.1], diverged_at=10.0, steps=[0, 10]),
        metrics_run("batch", 0.5, [0.1, 0.1], diverged_at=10.0, steps=[0, 10]),
    )
    check_row(claims.claim_standard_fails_at_large_lr(metrics), NOT_HELD)


@pytest.mark.parametrize(
    "metrics",
    [
        pd.DataFrame(columns=COLUMNS),
        table(metrics_run("none", 0.1, accuracy_curve(100))),
        table(
            metrics_run("none", 0.5, np.full(len(STEPS), 0.1)),
            metrics_run("batch", 0.5, [0.1, 0.3], steps=[0, 10]),
        ),
    ],
    ids=["empty", "no-lr-0.5-runs", "bn-too-short"],
)
def test_large_lr_not_measurable(metrics):
    check_row(claims.claim_standard_fails_at_large_lr(metrics), NOT_MEASURABLE)


# Claims 3 and 4: ICS


def ics_run(normalization, quantity, value, lr=0.1, seed=0, layers=(5, 10), steps=(0, 100, 200)):
    """`value(layer)` gives the constant value of a layer over the steps."""
    rows = []
    for layer in layers:
        values = [value(layer)] * len(steps)
        rows += tidy_rows(normalization, lr, quantity, steps, values, seed=seed, layer=layer)
    return rows


def test_ics_l2_held_when_bn_not_lower():
    ics = table(
        ics_run("none", "ics_l2", lambda layer: 1.0),
        ics_run("batch", "ics_l2", lambda layer: 0.6 if layer == 5 else 3.0),
    )
    row = claims.claim_ics_l2_not_lower(ics)
    check_row(row, HELD)
    assert "layer #5" in row["statistic"] and "0.6" in row["statistic"]


def test_ics_l2_did_not_hold_when_one_layer_much_lower():
    ics = table(
        ics_run("none", "ics_l2", lambda layer: 1.0),
        ics_run("batch", "ics_l2", lambda layer: 0.3 if layer == 10 else 2.0),
    )
    check_row(claims.claim_ics_l2_not_lower(ics), NOT_HELD)


def test_ics_l2_compares_within_each_lr():
    ics = table(
        ics_run("none", "ics_l2", lambda layer: 10.0, lr=0.1),
        ics_run("batch", "ics_l2", lambda layer: 10.0, lr=0.1),
        ics_run("none", "ics_l2", lambda layer: 1.0, lr=0.01),
        ics_run("batch", "ics_l2", lambda layer: 0.1, lr=0.01),
    )
    row = claims.claim_ics_l2_not_lower(ics)
    check_row(row, NOT_HELD)
    assert "lr 0.01" in row["statistic"]


@pytest.mark.parametrize(
    "ics",
    [
        table(ics_run("none", "ics_l2", lambda layer: 1.0)),
        table(
            ics_run("none", "ics_l2", lambda layer: 1.0, steps=(0, 100)),
            ics_run("batch", "ics_l2", lambda layer: 1.0, steps=(0, 100)),
        ),
        table(
            ics_run("none", "ics_l2", lambda layer: np.nan),
            ics_run("batch", "ics_l2", lambda layer: np.inf),
        ),
        table(
            ics_run("none", "ics_l2", lambda layer: 1.0, layers=(5,)),
            ics_run("batch", "ics_l2", lambda layer: 1.0, layers=(10,)),
        ),
    ],
    ids=["bn-missing", "two-steps", "non-finite", "no-shared-layer"],
)
def test_ics_l2_not_measurable(ics):
    check_row(claims.claim_ics_l2_not_lower(ics), NOT_MEASURABLE)


def test_ics_cosine_held_when_bn_not_higher():
    ics = table(
        ics_run("none", "ics_cosine", lambda layer: 0.9),
        ics_run("batch", "ics_cosine", lambda layer: 0.95 if layer == 5 else 0.2),
    )
    check_row(claims.claim_ics_cosine_not_higher(ics), HELD)


def test_ics_cosine_did_not_hold_when_bn_clearly_higher():
    ics = table(
        ics_run("none", "ics_cosine", lambda layer: 0.5),
        ics_run("batch", "ics_cosine", lambda layer: 0.9),
    )
    row = claims.claim_ics_cosine_not_higher(ics)
    check_row(row, NOT_HELD)
    assert "0.4" in row["statistic"]


def test_ics_cosine_not_measurable_without_cosine_rows():
    ics = table(ics_run("none", "ics_l2", lambda layer: 1.0), ics_run("batch", "ics_l2", float))
    check_row(claims.claim_ics_cosine_not_higher(ics), NOT_MEASURABLE)


# Claims 5-7: landscape probes


def eta_run(normalization, quantity, per_step, lr=0.1, seed=0):
    """`per_step` maps step -> values over ETAS."""
    rows = []
    for step, values in per_step.items():
        for eta, value in zip(ETAS, values, strict=True):
            rows += tidy_rows(normalization, lr, quantity, [step], [value], seed=seed, eta=eta)
    return rows


WIDE = {0: (2.0, 4.0, 8.0, 12.0), 100: (1.0, 2.0, 3.0, 5.0), 200: (0.5, 0.7, 1.0, 2.0)}
NARROW = {0: (2.0, 2.1, 2.2, 2.4), 100: (1.0, 1.1, 1.1, 1.2), 200: (0.5, 0.5, 0.6, 0.6)}


def test_loss_range_held():
    landscape = table(eta_run("none", "loss", WIDE), eta_run("batch", "loss", NARROW))
    row = claims.claim_bn_narrows_loss_range(landscape)
    check_row(row, HELD)
    # median over steps of (max - min over eta): WIDE (10, 4, 1.5) -> 4, NARROW -> 0.2
    assert "median loss range BN 0.2 vs Standard 4 " in row["statistic"]
    assert row["figure"] == "fig5_loss_landscape"


def test_loss_range_did_not_hold():
    landscape = table(eta_run("none", "loss", NARROW), eta_run("batch", "loss", WIDE))
    check_row(claims.claim_bn_narrows_loss_range(landscape), NOT_HELD)


@pytest.mark.parametrize(
    "landscape",
    [
        pd.DataFrame(columns=COLUMNS),
        table(eta_run("none", "loss", WIDE)),
        table(
            eta_run("none", "loss", {0: WIDE[0], 100: WIDE[100]}),
            eta_run("batch", "loss", {0: NARROW[0], 100: NARROW[100]}),
        ),
    ],
    ids=["empty", "bn-missing", "two-steps"],
)
def test_loss_range_not_measurable(landscape):
    check_row(claims.claim_bn_narrows_loss_range(landscape), NOT_MEASURABLE)


def test_predictiveness_held_and_not_held():
    held = table(eta_run("none", "grad_diff", WIDE), eta_run("batch", "grad_diff", NARROW))
    check_row(claims.claim_bn_improves_predictiveness(held), HELD)
    flipped = table(eta_run("none", "grad_diff", NARROW), eta_run("batch", "grad_diff", WIDE))
    check_row(claims.claim_bn_improves_predictiveness(flipped), NOT_HELD)


def test_predictiveness_uses_max_over_eta():
    # Same range (max - min) but BN's values sit higher: the max over eta decides.
    standard = {step: (0.0, 0.1, 0.2, 1.0) for step in (0, 100, 200)}
    batchnorm = {step: (5.0, 5.1, 5.2, 6.0) for step in (0, 100, 200)}
    predictiveness = table(
        eta_run("none", "grad_diff", standard), eta_run("batch", "grad_diff", batchnorm)
    )
    check_row(claims.claim_bn_improves_predictiveness(predictiveness), NOT_HELD)


def test_predictiveness_not_measurable_when_standard_diverged_before_probes():
    predictiveness = table(
        eta_run("none", "grad_diff", {0: WIDE[0]}), eta_run("batch", "grad_diff", NARROW)
    )
    check_row(claims.claim_bn_improves_predictiveness(predictiveness), NOT_MEASURABLE)


def beta_run(normalization, values, lr=0.1, seed=0):
    steps = [100 * i for i in range(len(values))]
    return tidy_rows(normalization, lr, "effective_beta", steps, values, seed=seed)


def test_beta_held_when_lower_and_flatter():
    beta = table(beta_run("none", [45, 30, 25, 21]), beta_run("batch", [20, 19, 20, 21]))
    row = claims.claim_bn_lowers_beta(beta)
    check_row(row, HELD)
    assert "2/lr = 20" in row["statistic"]


def test_beta_did_not_hold_when_flatter_but_peak_higher():
    beta = table(beta_run("none", [10, 30, 10, 30]), beta_run("batch", [31, 31, 31, 31]))
    check_row(claims.claim_bn_lowers_beta(beta), NOT_HELD)


def test_beta_did_not_hold_when_lower_peak_but_wilder():
    beta = table(beta_run("none", [20, 21, 20, 21]), beta_run("batch", [1, 19, 1, 19]))
    check_row(claims.claim_bn_lowers_beta(beta), NOT_HELD)


def test_beta_not_measurable_ignores_beta_ratio_rows():
    beta = table(
        tidy_rows("none", 0.1, "beta_ratio", [0, 100, 200], [1, 2, 3], eta=0.1),
        tidy_rows("batch", 0.1, "beta_ratio", [0, 100, 200], [1, 2, 3], eta=0.1),
    )
    check_row(claims.claim_bn_lowers_beta(beta), NOT_MEASURABLE)


def test_beta_majority_over_seeds():
    beta = table(
        *[beta_run("none", [45, 30, 25, 21], seed=seed) for seed in (0, 1, 2)],
        beta_run("batch", [20, 19, 20, 21], seed=0),
        beta_run("batch", [60, 19, 20, 21], seed=1),
        beta_run("batch", [60, 19, 20, 21], seed=2),
    )
    row = claims.claim_bn_lowers_beta(beta)
    check_row(row, NOT_HELD)
    assert "1 of 3 seeds" in row["statistic"]


# All claims together


def full_tables() -> dict[str, pd.DataFrame]:
    return {
        "metrics": table(
            metrics_run("none", 0.1, accuracy_curve(500)),
            metrics_run("batch", 0.1, accuracy_curve(50)),
            metrics_run("none", 0.5, [0.1, 0.1], diverged_at=10.0, steps=[0, 10]),
            metrics_run("batch", 0.5, accuracy_curve(100, ceiling=0.95)),
        ),
        "ics": table(
            ics_run("none", "ics_l2", lambda layer: 1.0),
            ics_run("batch", "ics_l2", lambda layer: 2.0),
            ics_run("none", "ics_cosine", lambda layer: 0.9),
            ics_run("batch", "ics_cosine", lambda layer: 0.5),
        ),
        "landscape": table(eta_run("none", "loss", WIDE), eta_run("batch", "loss", NARROW)),
        "predictiveness": table(
            eta_run("none", "grad_diff", WIDE), eta_run("batch", "grad_diff", NARROW)
        ),
        "beta": table(beta_run("none", [45, 30, 25, 21]), beta_run("batch", [20, 19, 20, 21])),
    }


def test_evaluate_claims_one_row_per_claim():
    result = claims.evaluate_claims(full_tables())
    assert list(result.columns) == claims.COLUMNS
    assert len(result) == 7
    assert (result["verdict"] == HELD).all(), result[["claim", "statistic"]].to_string()
    assert result["figure"].tolist() == [
        "fig1_training",
        "fig1_training",
        "fig3_ics_l2",
        "fig4_ics_cosine",
        "fig5_loss_landscape",
        "fig6_gradient_predictiveness, grad_change_vs_eta",
        "fig7_beta_smoothness",
    ]


def test_evaluate_claims_missing_tables_are_not_measurable():
    result = claims.evaluate_claims({})
    assert len(result) == 7
    assert (result["verdict"] == NOT_MEASURABLE).all()


def test_evaluate_claims_reads_tsv_round_trip(tmp_path):
    tables = {}
    for family, frame in full_tables().items():
        path = tmp_path / f"{family}.tsv"
        frame.to_csv(path, sep="\t", index=False)
        tables[family] = pd.read_csv(path, sep="\t")
    result = claims.evaluate_claims(tables)
    assert (result["verdict"] == HELD).all()


# Claim 8: noisy BN trains about as well as BN, its activations move more than Standard's

DRIFT_STEPS = [0, 100, 200, 300]
STEADY = {"mean": [0.0, 0.01, 0.02, 0.03], "var": [1.0, 1.01, 1.02, 1.03]}
JUMPY = {"mean": [0.0, 0.3, -0.2, 0.1], "var": [1.0, 1.2, 0.9, 1.1]}


def moments_run(normalization, moments, layers=(2, 9, 10), seed=0, steps=DRIFT_STEPS):
    rows = []
    for layer in layers:
        for quantity, values in moments.items():
            n = len(steps)
            rows += tidy_rows(
                normalization, 0.1, quantity, steps, values[:n], seed=seed, layer=layer
            )
    return rows


def noisy_tables(noisy_accuracy=None, standard=STEADY, noisy=JUMPY, **noisy_metrics):
    metrics = table(
        metrics_run("none", 0.1, accuracy_curve(500)),
        metrics_run("batch", 0.1, accuracy_curve(50)),
        metrics_run(
            "noisy_batch",
            0.1,
            accuracy_curve(60) if noisy_accuracy is None else noisy_accuracy,
            **noisy_metrics,
        ),
    )
    activations = table(
        moments_run("none", standard),
        moments_run("batch", STEADY),
        moments_run("noisy_batch", noisy),
        tidy_rows("none", 0.1, "sample", [0, 0], [0.5, -0.5], layer=2),
    )
    return metrics, activations


def test_noisy_bn_held():
    row = claims.claim_noisy_bn_trains_like_bn(*noisy_tables())
    check_row(row, HELD)
    assert row["group"] == "noisy"
    assert "layers #2, #9, #10" in row["statistic"]
    # mean |Δμ|: noisy (0.3 + 0.5 + 0.3) / 3, Standard 0.01
    assert "noisy BN 0.367 vs Standard 0.01" in row["statistic"]
    assert "percentage points" in row["rule"]


def test_noisy_bn_did_not_hold_when_it_trains_worse():
    metrics, activations = noisy_tables(noisy_accuracy=accuracy_curve(50, ceiling=0.8))
    row = claims.claim_noisy_bn_trains_like_bn(metrics, activations)
    check_row(row, NOT_HELD)
    assert "-20.0 percentage points" in row["statistic"]


def test_noisy_bn_did_not_hold_when_standard_moves_more():
    check_row(claims.claim_noisy_bn_trains_like_bn(*noisy_tables(standard=JUMPY)), NOT_HELD)


def test_noisy_bn_diverged_run_counts_as_not_trained():
    metrics, activations = noisy_tables(noisy_accuracy=[0.1, 0.1], steps=[0, 10], diverged_at=10.0)
    row = claims.claim_noisy_bn_trains_like_bn(metrics, activations)
    check_row(row, NOT_HELD)
    assert "noisy BN diverged at step 10" in row["statistic"]


@pytest.mark.parametrize(
    "tables",
    [
        (pd.DataFrame(columns=COLUMNS), pd.DataFrame(columns=COLUMNS)),
        (noisy_tables()[0], table(moments_run("noisy_batch", JUMPY))),
        (
            noisy_tables()[0],
            table(moments_run("none", STEADY), moments_run("noisy_batch", JUMPY, steps=[0, 100])),
        ),
        (table(metrics_run("batch", 0.1, accuracy_curve(50))), noisy_tables()[1]),
    ],
    ids=["empty", "no-standard-moments", "two-probed-steps", "no-noisy-training-run"],
)
def test_noisy_bn_not_measurable(tables):
    check_row(claims.claim_noisy_bn_trains_like_bn(*tables), NOT_MEASURABLE)


def test_noisy_bn_majority_over_seeds():
    metrics, activations = noisy_tables()
    seed_1 = (
        metrics_run("batch", 0.1, accuracy_curve(50), seed=1),
        metrics_run("noisy_batch", 0.1, accuracy_curve(50, ceiling=0.5), seed=1),
    )
    moments_1 = (moments_run("none", STEADY, seed=1), moments_run("noisy_batch", JUMPY, seed=1))
    row = claims.claim_noisy_bn_trains_like_bn(
        pd.concat([metrics, table(*seed_1)]), pd.concat([activations, table(*moments_1)])
    )
    check_row(row, NOT_HELD)
    assert "1 of 2 seeds" in row["statistic"] and "seed 1:" in row["statistic"]


# Claim 9: l_p normalisation smooths the landscape about as much as BN

LP_NARROW = {step: tuple(1.5 * v for v in values) for step, values in NARROW.items()}


def lp_tables(**lp_loss):
    """Standard wide, BN narrow; every l_p norm 1.5x BN's loss values unless given."""
    loss = [eta_run("none", "loss", WIDE), eta_run("batch", "loss", NARROW)]
    beta = [beta_run("none", [45, 30, 25, 21]), beta_run("batch", [20, 19, 20, 21])]
    for normalization in ("l1", "l2", "linf"):
        loss.append(eta_run(normalization, "loss", lp_loss.get(normalization, LP_NARROW)))
        beta.append(beta_run(normalization, [22, 21, 20, 21]))
    return table(*loss), table(*beta)


def test_lp_smoothing_held():
    row = claims.claim_lp_smooths_like_bn(*lp_tables())
    check_row(row, HELD)
    assert row["group"] == "lp" and row["figure"] == "lp_landscape"
    # LP_NARROW ranges (0.6, 0.3, 0.15) -> median 0.3; BN 0.2; Standard 4
    assert "ℓ2 (lr 0.1): median loss range 0.3 (BN 0.2, Standard 4)" in row["statistic"]
    assert "max effective β 22 (BN 21, Standard 45): meets the rule" in row["statistic"]
    assert "Not measured" not in row["statistic"]


def test_lp_smoothing_did_not_hold_when_one_norm_is_rough():
    row = claims.claim_lp_smooths_like_bn(*lp_tables(linf=WIDE))
    check_row(row, NOT_HELD)
    assert "ℓ∞ (lr 0.1): median loss range 4 " in row["statistic"]
    assert row["statistic"].count("meets the rule") == 2


def test_lp_smoothing_did_not_hold_when_far_above_bn():
    # Still below Standard's range (4) but more than twice BN's (0.2)
    rough = {step: tuple(5 * v for v in values) for step, values in NARROW.items()}
    check_row(claims.claim_lp_smooths_like_bn(*lp_tables(l1=rough)), NOT_HELD)


def test_lp_smoothing_lists_norms_not_measured():
    loss, beta = lp_tables()
    only_l2 = loss[~loss["normalization"].isin(["l1", "linf"])]
    row = claims.claim_lp_smooths_like_bn(only_l2, beta)
    check_row(row, HELD)
    assert "Not measured: ℓ1, ℓ∞." in row["statistic"]


@pytest.mark.parametrize(
    "tables",
    [
        (pd.DataFrame(columns=COLUMNS), pd.DataFrame(columns=COLUMNS)),
        (lp_tables()[0], pd.DataFrame(columns=COLUMNS)),
        tuple(frame[frame["normalization"] != "batch"] for frame in lp_tables()),
        tuple(frame[frame["normalization"].isin(["none", "batch"])] for frame in lp_tables()),
    ],
    ids=["empty", "no-beta", "no-bn", "no-lp-runs"],
)
def test_lp_smoothing_not_measurable(tables):
    check_row(claims.claim_lp_smooths_like_bn(*tables), NOT_MEASURABLE)


# Extra experiments in evaluate_claims


def test_evaluate_claims_adds_experiment_claims_when_their_tables_are_present():
    noisy_metrics, noisy_activations = noisy_tables()
    lp_landscape, lp_beta = lp_tables()
    tables = {
        **full_tables(),
        "noisy/metrics": noisy_metrics,
        "noisy/activations": noisy_activations,
        "lp/metrics": pd.DataFrame(columns=COLUMNS),
        "lp/landscape": lp_landscape,
        "lp/predictiveness": pd.DataFrame(columns=COLUMNS),
        "lp/beta": lp_beta,
    }
    result = claims.evaluate_claims(tables)
    assert len(result) == 9
    assert (result["verdict"] == HELD).all(), result[["claim", "statistic"]].to_string()
    assert result["group"].tolist() == [
        "training",
        "training",
        "ics",
        "ics",
        "landscape",
        "landscape",
        "landscape",
        "noisy",
        "lp",
    ]
    # In the order of CLAIM_GROUPS; the DLN's claims come from bnopt.dln_claims.dln_claims.
    assert list(dict.fromkeys(result["group"])) == list(claims.CLAIM_GROUPS)[:5]


def test_evaluate_claims_one_experiment_table_gives_a_not_measurable_row():
    result = claims.evaluate_claims({"lp/beta": lp_tables()[1]})
    assert len(result) == 8
    assert result["group"].iloc[-1] == "lp"
    assert (result["verdict"] == NOT_MEASURABLE).all()


def test_every_claim_names_a_known_group():
    result = claims.evaluate_claims({"noisy/metrics": None, "lp/landscape": None})
    assert set(result["group"]) <= set(claims.CLAIM_GROUPS)
    assert len(result) == 9
