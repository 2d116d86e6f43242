"""The weights probe (bnopt.probe_records.weight_records): each weight layer's norm,
distance from W_0 and angular update, against the scale invariance of a layer followed by
BatchNorm; its table, claim and figure."""

import numpy as np
import pandas as pd
import pytest

from bnopt.claims import CONTRADICTED, NOT_MEASURABLE, SUPPORTED, evaluate_claims
from bnopt.claims.weights import judge_growth
from bnopt.plots.weights import weight_norms
from bnopt.probe_plan import families_read, planned_probes
from bnopt.tables import family_table, read_run
from bnopt.training import train_run
from conftest import run_outputs, tiny_execution, tiny_settings


def probed_run(tmp_path, dataset, normalization: str) -> pd.DataFrame:
    probes = dict(tiny_settings()["probes"], every=1, eta_multipliers=[], ics_layers=[],
                  activation_layers=[], curvature_every=0)  # fmt: skip
    settings = tiny_settings(normalization=normalization, steps=8, probes=probes)
    outputs = run_outputs(tmp_path / normalization)
    train_run(dataset, outputs, settings, tiny_execution())
    return family_table(
        [read_run(outputs["metrics"], outputs["probes"], outputs["meta"])], "weights"
    )


def wide(table: pd.DataFrame) -> pd.DataFrame:
    return table.pivot_table(index=["layer", "step"], columns="quantity", values="value")


def test_a_layer_followed_by_batchnorm_grows_exactly_as_scale_invariance_says(
    tmp_path, tiny_dataset
):
    """Plain SGD on a scale-invariant weight: the gradient is orthogonal to W, so
    ‖W_{t+1}‖ = ‖W_t‖ / cos(angle_t), and ‖W‖ never falls (Arora, Li & Lyu 2019)."""
    table = wide(probed_run(tmp_path, tiny_dataset, "batch"))
    layers = sorted(set(table.index.get_level_values("layer")))
    assert len(layers) == 11
    for layer in layers[:-1]:  # every one but the classifier is followed by BN
        own = table.loc[layer].sort_index()
        assert own["distance_from_init"].iloc[0] == 0.0
        norms, angles = own["weight_norm"].to_numpy(), own["angular_update"].to_numpy()
        np.testing.assert_allclose(norms[1:], norms[:-1] / np.cos(angles[:-1]), rtol=1e-5)
        assert (np.diff(norms) >= 0).all() and (angles[:-1] > 0).all()
    # the classifier is not scale-invariant: the relation does not hold there
    last = table.loc[layers[-1]].sort_index()
    predicted = last["weight_norm"].to_numpy()[:-1] / np.cos(last["angular_update"].to_numpy()[:-1])
    assert not np.allclose(last["weight_norm"].to_numpy()[1:], predicted, rtol=1e-5)


def test_the_distance_from_init_is_the_norm_of_the_summed_updates(tmp_path, tiny_dataset):
    """After one update, ‖W_1 − W_0‖ = lr ‖g_0‖, and by the law of cosines
    ‖W_1 − W_0‖² = ‖W_0‖² + ‖W_1‖² − 2 ‖W_0‖ ‖W_1‖ cos(angle_0)."""
    table = wide(probed_run(tmp_path, tiny_dataset, "none"))
    for layer in sorted(set(table.index.get_level_values("layer"))):
        own = table.loc[layer].sort_index()
        w0, w1 = own["weight_norm"].iloc[0], own["weight_norm"].iloc[1]
        expected = w0**2 + w1**2 - 2 * w0 * w1 * np.cos(own["angular_update"].iloc[0])
        assert own["distance_from_init"].iloc[1] ** 2 == pytest.approx(
            expected, rel=1e-3, abs=1e-12
        )


def test_only_an_experiment_that_reads_the_weights_probes_them():
    assert "weights" in families_read("scale_invariance")
    assert "weights" not in families_read("landscape")
    probes = tiny_settings()["probes"]
    assert planned_probes(probes, {"weights"})["weights"] is True
    assert planned_probes(probes, {"weights"})["every"] == probes["every"]
    assert planned_probes(probes, {"ics"})["weights"] is False


def weight_rows(growth: dict, steps=(0, 10, 20, 30), layers=(1, 2, 3)) -> pd.DataFrame:
    """A weights table: per normalisation, ‖W_t‖ = 1 + growth * t (layer 3 is the last)."""
    rows = []
    for normalization, rate in growth.items():
        for seed in (0, 1):
            run = f"{normalization}_lr0.1_seed{seed}"
            for layer in layers:
                for step in steps:
                    for quantity, value in (("weight_norm", 1 + rate * step + 0.01 * seed),
                                            ("distance_from_init", abs(rate) * step),
                                            ("angular_update", 0.01)):  # fmt: skip
                        rows.append({"run": run, "normalization": normalization, "lr": 0.1,
                                     "seed": seed, "step": step, "quantity": quantity,
                                     "value": value, "layer": layer, "eta": np.nan,
                                     "diverged_at": np.nan})  # fmt: skip
    return pd.DataFrame(rows)


def test_growth_claim_reads_bn_norms_against_their_own_start():
    assert judge_growth(weight_rows({"none": -0.01, "batch": 0.01})).outcome == SUPPORTED
    assert judge_growth(weight_rows({"none": 0.01, "batch": -0.01})).outcome == CONTRADICTED
    assert judge_growth(weight_rows({"none": 0.01})).outcome == NOT_MEASURABLE
    judged = evaluate_claims({"scale_invariance/weights": weight_rows({"batch": 0.01})})
    assert (judged.loc[judged["group"] == "scale_invariance", "figure"] == "weight_norms").all()
    assert not (evaluate_claims({})["group"] == "scale_invariance").any()


def test_figure_draws_four_panels_with_a_line_per_normalisation():
    fig = weight_norms(weight_rows({"none": 0.0, "batch": 0.01}))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4
    for ax in axes:
        gids = {a.get_gid() for a in ax.get_children() if a.get_gid()}
        assert {"none|0.1", "batch|0.1", "none|0.1|band", "batch|0.1|band"} <= gids
    growth = [line for line in axes[0].get_lines() if line.get_gid() == "batch|0.1"][0]
    assert growth.get_ydata()[0] == pytest.approx(1.0) and growth.get_ydata()[-1] > 1.2
    assert axes[1].get_yscale() == "log"
    empty = weight_norms(pd.DataFrame())
    assert all("no-data" in {a.get_gid() for a in ax.get_children()} for ax in empty.axes)
