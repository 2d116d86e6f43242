"""The compute estimate of `python -m bnopt.cost`, against counts by hand."""

from pathlib import Path

import pytest
import yaml

from bnopt import cost
from bnopt.models import build_model, flops_per_image
from bnopt.probe_plan import families_read
from bnopt.runs import UNTRAINED_KINDS, experiment_kind, experiment_runs

CONFIG = Path(__file__).resolve().parents[2] / "config"


def settings(**probes) -> dict:
    plan = {"every": 0, "eta_multipliers": [], "ics_layers": [], "curvature_every": 0,
            "curvature_iterations": 20}  # fmt: skip
    return {"steps": 1000, "batch_size": 128, "eval_every": 500, "normalization": "batch",
            "momentum": 0.0, "weight_decay": 0.0, "probes": {**plan, **probes}}  # fmt: skip


def test_a_run_costs_its_steps_probes_and_evaluations_in_forward_passes():
    # 1000 steps of forward + backward (3 passes) on 128 images; evaluations at 0, 500, 1000
    assert cost.run_passes(settings(), 100, 50) == 1000 * 3 * 128 + 3 * 100
    # probed at 0, 100, ..., 900: 10 steps, each 2 etas and 1 ICS layer, 3 passes each
    probed = settings(every=100, eta_multipliers=[0.5, 1], ics_layers=[5])
    assert cost.run_passes(probed, 100, 50) == (3000 + 10 * 9) * 128 + 300
    # curvature at 0 and 500: the gradient with its graph and 20 double-backward products
    curved = settings(curvature_every=500)
    assert cost.run_passes(curved, 100, 50) == (3000 + 2 * (3 + 20 * 6)) * 128 + 300
    # another optimiser than plain SGD: its landscape along -g and along its own step
    adam = dict(probed, optimizer={"name": "adam"})
    assert cost.run_passes(adam, 100, 50) == (3000 + 10 * 15) * 128 + 300
    assert cost.run_passes(dict(probed, momentum=0.9), 100, 50) == (3000 + 10 * 15) * 128 + 300
    noisy = dict(settings(), normalization="noisy_batch")  # noise-free statistics pass
    assert cost.run_passes(noisy, 100, 50) == 3000 * 128 + 3 * 150


def test_run_flops_use_the_network_s_counted_flops_per_image():
    config = yaml.safe_load((CONFIG / "config.yaml").read_text())
    run = "resnet20_group_lr0.1_seed0"
    flops = flops_per_image(build_model("resnet20", "group", 1.0))
    passes = cost.run_passes(cost.run_settings(config, run), 10_000, 50_000)
    assert cost.run_flops(config, run) == passes * flops
    assert flops < flops_per_image(build_model("vgg_a", "group", 1.0)) / 3


def test_each_experiment_pays_for_the_runs_it_trains_first_and_the_probes_it_adds():
    config = yaml.safe_load((CONFIG / "config.yaml").read_text())
    costs = cost.experiment_costs(config)
    # the landscape experiment's runs are all the training experiment's: it pays only for
    # the probes it adds to them
    first, then = families_read("training"), families_read("training") | families_read("landscape")
    added = sum(cost.run_flops(config, run, then) - cost.run_flops(config, run, first)
                for run in experiment_runs(config, "landscape"))  # fmt: skip
    assert costs["landscape"] == pytest.approx(added) and added > 0
    # scale invariance adds the weights probe and the relative curvature to the same runs;
    # the edge of stability reads the curvature the landscape experiment has them measure
    assert costs["scale_invariance"] > 0 and costs["edge_of_stability"] == 0
    # together, every run's whole cost
    runs = {run for experiment in cost.image_experiments(config)
            if experiment_kind(config, experiment) not in UNTRAINED_KINDS
            for run in experiment_runs(config, experiment)}  # fmt: skip
    trained = sum(c for e, c in costs.items() if experiment_kind(config, e) not in UNTRAINED_KINDS)
    assert trained == pytest.approx(sum(cost.run_flops(config, run) for run in runs), rel=1e-12)
    assert 0.05 < cost.beyond_share(config) < 0.3
    # a second beyond experiment (VGG-A with Adam, ICS kind): two more runs, charged whole
    config["experiments"]["adam_ics"] = {
        "kind": "ics", "optimizer": "adam", "normalizations": ["none", "batch"],
        "lrs": [0.001],
    }  # fmt: skip
    adam_runs = experiment_runs(config, "adam_ics")
    assert len(adam_runs) == 2 * len(config["train"]["seeds"])
    assert cost.experiment_costs(config)["adam_ics"] == pytest.approx(
        sum(cost.run_flops(config, run) for run in adam_runs), rel=1e-12
    )


def test_the_command_prints_each_experiment_and_the_share(capsys, monkeypatch):
    monkeypatch.chdir(CONFIG.parent)
    cost.main(["config/demo.yaml"])
    out = capsys.readouterr().out
    beyond = "resnet_landscape, edge_of_stability, scale_invariance, initialisation; resnet8, vgg_a"
    assert f"beyond the paper ({beyond}): 21.6% of the paper" in out
    assert "with 2 seed(s) of every run" in out  # the demo's seeds, for the claims' intervals
