"""A run takes the probes whose tables its experiments' figures and claims read."""

from pathlib import Path

import yaml

from bnopt.figures import FIGURES
from bnopt.probe_plan import families_read, planned_probes
from bnopt.runs import run_settings

CONFIG = Path(__file__).resolve().parents[2] / "config"
PROBES = {
    "every": 50, "eta_multipliers": [0.5, 1.0], "ics_layers": [5, 10],
    "activation_layers": [2, 9], "activation_samples": 64, "curvature_every": 150,
    "curvature_iterations": 20, "curvature_tolerance": 1e-3,
}  # fmt: skip


def shipped():
    return yaml.safe_load((CONFIG / "config.yaml").read_text())


def test_the_registries_say_what_each_experiment_reads():
    assert families_read("training") == {"metrics"}
    assert families_read("ics") == {"ics"}
    assert {"curvature", "beta", "landscape", "predictiveness"} <= families_read("landscape")
    assert "curvature" not in families_read("lp") and "activations" in families_read("lp")
    assert families_read("noisy") >= {"activations", "metrics"}
    for figure in FIGURES:
        if figure.on_request:  # the loss surface is computed from the final weights
            assert not set(figure.tables) & families_read(figure.experiment), figure.name
        else:
            read = families_read(figure.experiment, own_step=figure.own_step)
            assert set(figure.tables) <= read, figure.name
    # the view along an optimiser's own step only for those that take one
    assert "own_step" not in families_read("landscape")
    assert "own_step" in families_read("landscape", own_step=True)


def test_a_probe_is_kept_only_when_its_family_is_read():
    assert planned_probes(PROBES, {"metrics"})["every"] == 0
    ics = planned_probes(PROBES, {"ics", "metrics"})
    assert ics["every"] == 50 and ics["ics_layers"] == [5, 10]
    assert ics["activation_layers"] == [] and ics["curvature_every"] == 0
    assert ics["eta_multipliers"] == []  # no step along -g: no landscape family is read
    assert planned_probes(PROBES, {"activations"})["eta_multipliers"] == []
    assert planned_probes(PROBES, {"predictiveness"})["eta_multipliers"] == [0.5, 1.0]
    assert planned_probes(PROBES, {"beta"})["curvature_every"] == 0
    assert planned_probes(PROBES, {"curvature"})["curvature_every"] == 150
    everything = planned_probes(PROBES, {"ics", "activations", "curvature", "landscape"})
    assert everything == PROBES | {"weights": False, "outlier_k": 0}
    assert list(everything) == [*sorted(PROBES), "weights", "outlier_k"]
    outliers = planned_probes(PROBES | {"outlier_k": 4}, {"outliers"})
    assert outliers["outlier_k"] == 4 and outliers["curvature_every"] == 150
    assert planned_probes(PROBES, {"weights"})["weights"] is True


def test_paper_runs_take_the_probes_of_every_experiment_they_belong_to():
    config = shipped()
    shared = run_settings(config, "batch_lr0.1_seed0")["probes"]  # in every experiment
    # (and the weights probe: the scale-invariance experiment reads the landscape runs)
    assert shared == {k: config["probes"][k] for k in sorted(config["probes"])} | {
        "weights": True,
        "outlier_k": 0,
    }  # (the outliers only with config/outliers.yaml)
    assert run_settings(config, "none_lr0.5_seed0")["probes"]["every"] == 0  # Fig 1 only
    ics_only = run_settings(config, "none_lr0.01_seed0")["probes"]
    assert ics_only["ics_layers"] and not ics_only["curvature_every"]
    assert not ics_only["activation_layers"] and not ics_only["eta_multipliers"]
    noisy = run_settings(config, "noisy_batch_lr0.1_seed0")["probes"]
    assert noisy["activation_layers"] and not noisy["ics_layers"]
    # Adding lr 0.5 to the landscape experiment gives its runs the landscape probes.
    config["experiments"]["landscape"]["lrs"] = [0.1, 0.5]
    moved = run_settings(config, "none_lr0.5_seed0")["probes"]
    assert moved["every"] and moved["curvature_every"] == config["probes"]["curvature_every"]
