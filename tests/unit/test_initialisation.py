"""Networks at initialisation (bnopt.initialisation): rank and gradient measures against
analytic cases and a float64 NumPy computation, the claims, the figure, the adapter and the
configuration of the kind."""

import runpy

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from bnopt import initialisation as init
from bnopt import runs
from bnopt.claims import CONTRADICTED, NOT_MEASURABLE, SUPPORTED, evaluate_claims
from bnopt.claims.initialisation import judge_explosion, judge_rank
from bnopt.config import ConfigError, check_config, cross_field_problems, merged_files
from bnopt.dln import build_dln, make_problem
from bnopt.plots.initialisation import init_signal_propagation
from bnopt.tables import read_table
from conftest import ROOT, FakeIO, FakeSnakemake

SETTINGS = {
    "normalizations": ["none", "batch"],
    "networks": ["conv_stack", "dln"],
    "depth": 6,
    "width": 8,
    "images": 16,
    "seeds": [0, 1],
    "dln": {"depth": 5, "dim": 4, "samples": 50},
}


# Rank measures against matrices of known rank


@pytest.mark.parametrize("k", [1, 3, 7])
def test_effective_rank_of_k_equal_singular_values_is_k(k):
    q, _ = torch.linalg.qr(torch.randn(20, 20, dtype=torch.float64))
    matrix = 3.0 * q[:, :k] @ torch.linalg.qr(torch.randn(12, 12, dtype=torch.float64))[0][:k]
    assert init.effective_rank(matrix) == pytest.approx(k, rel=1e-9)
    assert init.numerical_rank(matrix) == k


def test_effective_rank_is_below_the_rank_for_unequal_singular_values_and_zero_for_zero():
    matrix = torch.diag(torch.tensor([1.0, 0.1, 0.01]))
    p = np.array([1.0, 0.1, 0.01]) / 1.11
    assert init.effective_rank(matrix) == pytest.approx(np.exp(-(p * np.log(p)).sum()))
    assert 1 < init.effective_rank(matrix) < 3
    assert init.effective_rank(torch.zeros(4, 5)) == 0.0


@pytest.mark.parametrize("distinct", [2, 5])
def test_a_batch_of_r_distinct_inputs_has_rank_r_at_every_layer(distinct):
    """Without normalisation, r distinct images repeated keep representations of rank r."""
    torch.manual_seed(0)
    model = init.conv_stack("none", depth=4, width=16)
    x = torch.randn(distinct, 3, 32, 32).repeat(4, 1, 1, 1)
    y = torch.arange(len(x)) % 10
    rows = init.layer_measures(model, lambda m: nn.functional.cross_entropy(m(x), y))
    assert [row["numerical_rank"] for row in rows] == [distinct] * 5  # 4 convs + classifier


def test_dln_layer_measures_match_a_float64_numpy_computation():
    """The per-layer gradient norms and ranks of the deep linear network without
    normalisation, against the chain rule written out in NumPy."""
    depth, dim, n = 5, 4, 30
    x, targets = make_problem(3, n, dim, torch.float64)
    torch.manual_seed(3)
    model = build_dln("none", depth, dim, torch.float64)
    rows = init.layer_measures(model, lambda m: ((m(x) - targets) ** 2).sum())
    weights = [layer.weight.detach().numpy() for layer in model]
    hidden = [x.numpy()]
    for w in weights:
        hidden.append(hidden[-1] @ w.T)
    upstream = 2 * (hidden[-1] - targets.numpy())
    grads = [None] * depth
    for index in reversed(range(depth)):
        grads[index] = upstream.T @ hidden[index]
        upstream = upstream @ weights[index]
    for row, grad, h in zip(rows, grads, hidden[1:], strict=True):
        assert row["grad_norm"] == pytest.approx(np.linalg.norm(grad), rel=1e-10)
        s = np.linalg.svd(h, compute_uv=False)
        p = s / s.sum()
        assert row["effective_rank"] == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-9)


def test_relative_gradient_is_one_at_the_last_layer():
    rows = init.with_relative_gradient([{"grad_norm": 4.0}, {"grad_norm": 2.0}])
    assert [row["relative_grad_norm"] for row in rows] == [2.0, 1.0]


# The table, the claims and the figure


@pytest.fixture(scope="module")
def table(tiny_dataset):
    from bnopt.data import load_prepared

    return init.measure(SETTINGS, load_prepared(tiny_dataset))


def test_the_table_has_every_network_normalisation_seed_layer_and_quantity(table):
    counts = table.groupby(["network", "normalization", "seed", "quantity"])["layer"].nunique()
    assert set(counts.loc["conv_stack"]) == {6} and set(counts.loc["dln"]) == {5}
    assert len(counts) == 2 * 2 * 2 * len(init.QUANTITIES)
    assert (table["step"] == 0).all() and table["lr"].isna().all()
    # the seed draws the images and the weights: two seeds differ, one seed repeats
    again = init.measure({**SETTINGS, "seeds": [0], "networks": ["dln"]}, None)
    first = table[(table["network"] == "dln") & (table["seed"] == 0)]
    assert np.allclose(first["value"].to_numpy(), again["value"].to_numpy())


def init_rows(values: dict) -> pd.DataFrame:
    """An initialisation table from {(network, normalization): per-layer values} for
    every quantity, seeds 0-2 (seed s adds 0.01 s)."""
    rows = []
    for (network, normalization), per_layer in values.items():
        for seed in range(3):
            for layer, value in enumerate(per_layer, start=1):
                for quantity in ("effective_rank", "relative_grad_norm"):
                    rows.append({
                        "run": f"{network}_{normalization}_seed{seed}", "network": network,
                        "normalization": normalization, "lr": np.nan, "seed": seed, "step": 0,
                        "quantity": quantity, "value": value + 0.01 * seed, "layer": layer,
                        "eta": np.nan, "diverged_at": np.nan,
                    })  # fmt: skip
    return pd.DataFrame(rows)


def test_rank_claim_reads_bn_above_standard_in_the_deeper_half():
    falling, flat = [8, 6, 4, 2, 1, 1], [8, 8, 8, 8, 8, 8]
    both = {(n, "none"): falling for n in ("conv_stack", "dln")}
    both |= {(n, "batch"): flat for n in ("conv_stack", "dln")}
    assert judge_rank(init_rows(both)).outcome == SUPPORTED
    swapped = {(n, "none"): flat for n in ("conv_stack", "dln")}
    swapped |= {(n, "batch"): falling for n in ("conv_stack", "dln")}
    assert judge_rank(init_rows(swapped)).outcome == CONTRADICTED
    # equal in the deeper half (they differ only in the judged-out first half): not decided
    early = {(n, "none"): [1, 1, 1, 5, 5, 5] for n in ("conv_stack", "dln")}
    early |= {(n, "batch"): [9, 9, 9, 5, 5, 5] for n in ("conv_stack", "dln")}
    assert judge_rank(init_rows(early)).outcome != SUPPORTED
    only_conv = {key: value for key, value in both.items() if key[0] == "conv_stack"}
    assert judge_rank(init_rows(only_conv)).outcome == NOT_MEASURABLE


def test_explosion_claim_reads_the_input_half_of_the_conv_stack_only():
    exploding = {("conv_stack", "batch"): [32, 16, 8, 4, 2, 1],
                 ("conv_stack", "none"): [1, 1, 1, 1, 1, 1]}  # fmt: skip
    verdict = judge_explosion(init_rows(exploding))
    assert verdict.outcome == SUPPORTED
    assert verdict.parts[0].estimate == pytest.approx(np.mean(np.log10([32, 16, 8])), abs=0.01)
    shrinking = {("conv_stack", "batch"): [0.1] * 6, ("conv_stack", "none"): [1] * 6}
    assert judge_explosion(init_rows(shrinking)).outcome == CONTRADICTED
    dln_only = {("dln", "batch"): [32, 16, 8, 4, 2, 1], ("dln", "none"): [1] * 6}
    assert judge_explosion(init_rows(dln_only)).outcome == NOT_MEASURABLE


def test_claims_appear_only_with_their_table(table):
    without = evaluate_claims({})
    assert not (without["group"] == "initialisation").any()
    judged = evaluate_claims({"initialisation/initialisation": table})
    mine = judged[judged["group"] == "initialisation"]
    assert mine["claim"].nunique() == 2
    assert (mine["figure"] == "init_signal_propagation").all()
    assert mine["reason"].str.contains("paired layers").all()


def test_figure_draws_every_network_and_shades_the_judged_layers(table):
    fig = init_signal_propagation(table)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4
    gids = [{a.get_gid() for a in ax.get_children() if a.get_gid()} for ax in axes]
    for panel in gids:
        assert {"none|0", "batch|0", "none|0|band", "batch|0|band"} <= panel
    assert ["judged" in panel for panel in gids] == [True, True, True, False]
    assert axes[1].get_yscale() == "log" and axes[3].get_yscale() == "log"
    assert fig.get_figwidth() <= 7.2
    empty = init_signal_propagation(table.iloc[:0])
    assert all("no-data" in {a.get_gid() for a in ax.get_children()} for ax in empty.axes)


def test_the_adapter_writes_the_table(tmp_path, tiny_dataset):
    out = tmp_path / "initialisation.tsv"
    fake = FakeSnakemake(
        input=FakeIO(data=tiny_dataset),
        output=FakeIO(str(out)),
        params=FakeIO(settings={**SETTINGS, "seeds": [0]}),
        log=FakeIO(str(tmp_path / "init.log")),
        wildcards=FakeIO(experiment="initialisation"),
    )
    runpy.run_path(
        str(ROOT / "workflow/scripts/initialisation.py"), init_globals={"snakemake": fake}
    )
    written = read_table(out)
    assert set(written["network"]) == {"conv_stack", "dln"}
    assert "networks measured at initialisation" in (tmp_path / "init.log").read_text()


# The kind in the configuration

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture
def paper_config() -> dict:
    config = merged_files([ROOT / "config" / "config.yaml"])
    check_config(config, SCHEMA)
    return config


def test_kind_initialisation_takes_no_learning_rates_and_another_name_may_have_it(paper_config):
    paper_config["experiments"]["initialisation"]["lrs"] = [0.1]
    with pytest.raises(ConfigError, match="experiments.initialisation"):
        check_config(paper_config, SCHEMA)
    del paper_config["experiments"]["initialisation"]["lrs"]
    paper_config["experiments"]["deep_init"] = {
        "kind": "initialisation",
        "normalizations": ["batch", "none"],
    }
    check_config(paper_config, SCHEMA)
    assert runs.experiment_kinds(paper_config)["deep_init"] == "initialisation"
    # without its kind, an experiment of that name is an experiment that must say its kind
    unnamed = {"normalizations": ["none"], "lrs": [0.1]}
    paper_config["experiments"]["initialisation"] = unnamed
    with pytest.raises(ConfigError, match="kind: missing"):
        check_config(paper_config, SCHEMA)


def test_an_experiment_of_kind_initialisation_has_no_runs_and_its_settings(paper_config):
    config = paper_config
    assert runs.experiment_runs(config, "initialisation") == []
    assert "initialisation" not in {r for r in runs.all_runs(config) if "init" in r}
    settings = runs.initialisation_settings(config, "initialisation")
    assert settings["normalizations"] == ["none", "batch"]
    assert settings["dln"] == {"depth": 25, "dim": 10, "samples": 1000}
    assert settings["depth"] == 32 and settings["networks"] == ["conv_stack", "dln"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"model": "resnet20"}, "leave model out"),
        ({"optimizer": "adam"}, "leave optimizer out"),
        ({"normalizations": ["none", "group"]}, "not offered by the deep linear network"),
    ],
)
def test_kind_initialisation_refuses_what_it_cannot_measure(paper_config, edit, message):
    config = paper_config
    config["experiments"]["initialisation"].update(edit)
    assert any(message in problem for problem in cross_field_problems(config))
