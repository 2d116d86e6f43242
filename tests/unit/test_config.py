"""The configuration schema: shipped configs pass, bad ones fail naming the key."""

import copy
import re

import pytest
import yaml
from snakemake.utils import validate

from bnopt.config import ConfigError, check_config, merged_files, read_yaml
from bnopt.execution import Execution, execution
from bnopt.runs import (
    IMAGE_CONFIGURATION_PATTERN,
    IMAGE_RUN_PATTERN,
    RUN_PATTERN,
    all_runs,
    experiment_kinds,
    experiment_runs,
    parse_run_name,
    run_name,
    run_settings,
    runtime_minutes,
    train_job_runs,
)
from conftest import ROOT

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def shipped(name):
    """A shipped config as the workflow sees it: demo.yaml merged over config.yaml."""
    return merged_files(dict.fromkeys([ROOT / "config" / "config.yaml", ROOT / "config" / name]))


@pytest.mark.parametrize("name", ["config.yaml", "demo.yaml"])
def test_shipped_configs_are_valid(name):
    config = shipped(name)
    check_config(config, SCHEMA)
    validate(config, str(SCHEMA))


def test_defaults_fill_missing_keys():
    config = {"train": {"steps": 10}}
    validate(config, str(SCHEMA))
    assert config["train"]["batch_size"] == 128
    assert config["probes"]["eta_multipliers"] == [0.05, 0.1, 0.25, 0.5, 1, 2, 4]
    assert config["experiments"]["landscape"]["lrs"] == [0.1]
    assert config["data"]["dataset"] == "cifar10"
    assert config["data"]["synthetic"]["n_train"] == 50000


def edit(path, value):
    config = shipped("demo.yaml")
    *parents, last = path
    node = config
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return config


DELETE = object()
BAD = [
    (("train", "lerning_rate"), 0.1, "train.lerning_rate"),
    (("model", "widht"), 1.0, "model.widht"),
    (("colour",), "red", "colour"),
    (("train", "steps"), "many", "train.steps"),
    (("train", "steps"), 0, "train.steps"),
    (("train", "batch_size"), 1.5, "train.batch_size"),
    (("train", "precision"), "fp16", "train.precision"),
    (("train", "device"), "tpu", "train.device"),
    (("train", "seeds"), [], "train.seeds"),
    (("train", "momentum"), 1.0, "train.momentum"),
    (("data", "dataset"), "mnist", "data.dataset"),
    (("data", "synthetic", "n_train"), -5, "data.synthetic.n_train"),
    (("experiments", "training", "lrs"), [-0.1], "experiments.training.lrs[0]"),
    (("experiments", "training", "lrs"), [], "experiments.training.lrs"),
    (("experiments", "ics", "normalizations"), ["weight"], "experiments.ics.normalizations[0]"),
    (("experiments", "landscape", "normalizations"), [], "experiments.landscape.normalizations"),
    (("experiments", "training", "lrs"), DELETE, "lrs"),
    (("experiments", "figure8"), {"normalizations": ["none"], "lrs": [0.1]},
     "experiments.figure8"),
    (("probes", "ics_layers"), [0], "probes.ics_layers[0]"),
    (("probes", "ics_layers"), [5, 12], "probes.ics_layers: [12] outside 1..11, the weight "
     "layers of vgg_a, which experiments.ics probes there"),
    (("probes", "activation_layers"), [2, 12], "probes.activation_layers: [12] outside 1..11"),
    (("probes", "eta_multipliers"), [0], "probes.eta_multipliers[0]"),
    (("probes", "every"), -1, "probes.every"),
    (("experiments", "landscape", "lrs"), [0.1, 0.1000001], "experiments.landscape.lrs[1]"),
    (("experiments", "dln", "lrs"), [1.2345678e-6], "experiments.dln.lrs[0]"),
    (("train",), None, "train: null is not allowed"),
    (("data",), None, "data: null is not allowed"),
    (("train", "batch_size"), 5001, "train.batch_size: 5001 is larger than the 5000"),
    (("models", "dln", "ics_layers"), [9, 26], "models.dln.ics_layers: [26] outside 1..25"),
    (("probes", "eta_multipliers"), [0.5, 1, 1.0], "probes.eta_multipliers: [0.5, 1, 1.0] rep"),
    (("models", "dln", "eta_multipliers"), [1, 1], "models.dln.eta_multipliers: [1, 1] repe"),
    (("data", "archive"), "no/such/archive.tar.gz", "data.archive: no/such/archive.tar.gz is"),
    (("data", "archive"), "resources/download/cifar-10-binary.tar.gz", "is inside resources/"),
    # non-finite numbers, which JSON Schema's `number` admits
    (("probes", "eta_multipliers"), [float("inf")], "probes.eta_multipliers[0]: inf is not a fin"),
    (("probes", "eta_multipliers"), [float("nan")], "probes.eta_multipliers[0]: nan is not a fin"),
    (("experiments", "training", "lrs"), [float("inf")], "experiments.training.lrs[0]: inf is"),
    (("train", "momentum"), float("nan"), "train.momentum: nan is not a finite number"),
    # absurd sizes stop before any job (10^12 steps died allocating 4 TB)
    (("train", "steps"), 10**12, "train.steps: 1000000000000 is greater than the maximum"),
    (("models", "dln", "depth"), 10**6, "models.dln.depth: 1000000 is greater than the max"),
    # experiment names become folders, files and wildcard patterns: identifiers only
    (("experiments", "../../../escape_exp"), {"kind": "landscape", "normalizations": ["none"],
     "lrs": [0.1]}, "experiments: the name '../../../escape_exp' is not allowed"),
    (("experiments", "a|.*"), {"kind": "landscape", "normalizations": ["none"], "lrs": [0.1]},
     "the name 'a|.*' is not allowed"),
    (("experiments", "$(touch x)"), {"kind": "landscape", "normalizations": ["none"],
     "lrs": [0.1]}, "the name '$(touch x)' is not allowed"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "named"), BAD, ids=[b[2] for b in BAD])
def test_bad_configs_are_rejected_naming_the_key(path, value, named):
    config = edit(path, value)
    if path[-1] == "archive":
        config["data"]["dataset"] = "cifar10"
    with pytest.raises(ConfigError) as error:
        check_config(config, SCHEMA)
    assert named in str(error.value)


def test_probed_layers_must_exist_in_the_network_of_each_experiment_that_probes_them():
    config = shipped("config.yaml")
    config["probes"]["ics_layers"] = [5, 15]
    with pytest.raises(ConfigError, match=r"\[15\] outside 1..11, the weight layers of vgg_a"):
        check_config(config, SCHEMA)
    config["probes"]["ics_layers"] = [5, 10]
    small = {"kind": "ics", "model": "resnet8", "normalizations": ["none", "batch"], "lrs": [0.1]}
    config["experiments"]["small"] = small
    with pytest.raises(ConfigError, match=r"\[10\] outside 1..8, .* experiments.small probes"):
        check_config(config, SCHEMA)
    config["experiments"]["small"]["kind"] = "landscape"  # which probes no layer
    check_config(config, SCHEMA)


def test_the_edge_of_stability_takes_any_optimiser_with_a_threshold_but_adam_with_decay():
    config = shipped("config.yaml")
    for optimizer in ("momentum", "adam"):
        config["experiments"]["eos"] = {
            "kind": "edge_of_stability", "optimizer": optimizer, "normalizations": ["none"],
            "lrs": [0.01],
        }  # fmt: skip
        check_config(config, SCHEMA)
    config["train"]["weight_decay"] = 5e-4
    check_config({**config, "experiments": {**config["experiments"], "eos": {
        **config["experiments"]["eos"], "optimizer": "momentum"}}}, SCHEMA)  # fmt: skip
    with pytest.raises(ConfigError, match=r"experiments.eos: .* Adam's preconditioned"):
        check_config(config, SCHEMA)


def test_the_cifar10_training_set_bounds_the_batch():
    config = edit(("data", "dataset"), "cifar10")
    config["train"]["batch_size"] = 50_000
    check_config(config, SCHEMA)
    config["train"]["batch_size"] = 50_001
    with pytest.raises(ConfigError, match="larger than the 50000 training images"):
        check_config(config, SCHEMA)


def test_execution_settings_are_not_part_of_a_runs_identity():
    config = shipped("config.yaml")
    check_config(config, SCHEMA)
    before = run_settings(config, "batch_lr0.1_seed0")
    config["train"].update(threads=32, log_every=7, checkpoint_every=0, device="cuda:1")
    assert run_settings(config, "batch_lr0.1_seed0") == before
    assert execution(config, threads=3) == Execution("cuda:1", 3, 7, 0)
    config["train"]["device"] = "cpu"
    assert run_settings(config, "batch_lr0.1_seed0")["device_type"] == "cpu"
    config["train"]["precision"] = "bf16"
    assert run_settings(config, "batch_lr0.1_seed0")["precision"] == "bf16"


def test_every_schema_property_is_typed_described_and_defaulted():
    schema = yaml.safe_load(SCHEMA.read_text())

    def walk(node, where):
        for key, sub in node.get("properties", {}).items():
            name = f"{where}.{key}".lstrip(".")
            assert "description" in sub, name
            assert "default" in sub, name
            assert "type" in sub or "$ref" in sub, name
            if sub.get("type") == "object":
                # closed, or (experiments) any name of one typed schema
                extra = sub.get("additionalProperties")
                assert extra is False or set(extra) == {"$ref"}, name
                walk(sub, name)

    walk(schema, "")


def test_runs_are_derived_from_the_experiments():
    config = shipped("config.yaml")
    validate(config, str(SCHEMA))
    # Three seeds of every run: the claims' intervals are over seeds.
    assert config["train"]["seeds"] == config["models"]["dln"]["seeds"] == [0, 1, 2]
    assert experiment_runs(config, "landscape") == [
        f"{norm}_lr0.1_seed{seed}" for norm in ("none", "batch") for seed in (0, 1, 2)
    ]
    runs = all_runs(config)
    vgg = [run for run in runs if parse_run_name(run)["model"] == "vgg_a"]
    assert len(vgg) == 3 * 10  # {none, batch} x {0.1, 0.5, 0.01}; 4 more at 0.1
    resnet = [run for run in runs if parse_run_name(run)["model"] == "resnet20"]
    assert resnet == [f"resnet20_{norm}_lr0.1_seed{seed}" for norm in ("none", "batch", "group")
                      for seed in (0, 1, 2)]  # fmt: skip
    assert len(runs) == 3 * 23  # and the DLN's {none, batch, l1, l2, linf} x {1e-6, 1e-7}
    config["train"]["seeds"] = [0, 1]
    config["experiments"]["landscape"]["lrs"] = [0.1, 0.2]
    assert len(experiment_runs(config, "landscape")) == 8
    assert "batch_lr0.2_seed1" in all_runs(config)


def test_run_names_round_trip_and_settings_are_resolved():
    name = run_name("noisy_batch", 1e-06, 3)
    assert name == "noisy_batch_lr1e-06_seed3"
    expected = {"model": "vgg_a", "optimizer": "sgd", "normalization": "noisy_batch",
                "lr": 1e-06, "seed": 3}  # fmt: skip
    assert parse_run_name(name) == expected
    deep = run_name("l2", 1e-07, 0, model="dln")
    assert deep == "dln_l2_lr1e-07_seed0" and parse_run_name(deep)["model"] == "dln"
    config = shipped("demo.yaml")
    settings = run_settings(config, "batch_lr0.5_seed0")
    assert settings["lr"] == 0.5 and settings["normalization"] == "batch"
    assert settings["steps"] == config["train"]["steps"]
    assert settings["probes"] == {**config["probes"], "every": 0, "ics_layers": [],
                                  "activation_layers": [], "curvature_every": 0,
                                  "eta_multipliers": [], "weights": False,
                                  "outlier_k": 0}  # fmt: skip
    full = run_settings(config, "batch_lr0.1_seed0")["probes"]
    assert full == {**config["probes"], "weights": True, "outlier_k": 0}
    assert settings["model"] == "vgg_a"
    deep = run_settings(config, "dln_none_lr1e-06_seed0")
    assert deep["model"] == "dln" and deep["device_type"] == "cpu"
    assert deep["probes"]["eta_multipliers"] == config["models"]["dln"]["eta_multipliers"]
    with pytest.raises(ValueError):
        parse_run_name("batch-0.1")


def test_check_config_lists_every_problem():
    config = copy.deepcopy(shipped("demo.yaml"))
    config["train"]["steps"] = -1
    config["model"]["width"] = "wide"
    with pytest.raises(ConfigError, match=r"2 problem") as error:
        check_config(config, SCHEMA)
    assert "train.steps" in str(error.value) and "model.width" in str(error.value)


def test_model_and_optimizer_prefix_the_run_name_only_when_not_the_papers():
    assert run_name("batch", 0.1, 0) == "batch_lr0.1_seed0"
    name = run_name("group", 0.001, 1, model="resnet20", optimizer="adam")
    assert name == "resnet20_adam_group_lr0.001_seed1"
    assert parse_run_name(name) == {"model": "resnet20", "optimizer": "adam",
                                    "normalization": "group", "lr": 0.001, "seed": 1}  # fmt: skip
    assert parse_run_name("momentum_noisy_batch_lr0.1_seed0")["optimizer"] == "momentum"
    assert re.fullmatch(RUN_PATTERN, name) and not re.fullmatch(RUN_PATTERN, "adam_lr0.1_seed0")
    with pytest.raises(ValueError):
        parse_run_name("resnet18_batch_lr0.1_seed0")


def test_an_experiment_names_its_model_and_optimizer():
    config = shipped("config.yaml")
    check_config(config, SCHEMA)
    paper = run_settings(config, "batch_lr0.1_seed0")
    assert "optimizer" not in paper  # the paper's runs keep their identity
    config["experiments"]["landscape"].update(model="resnet20", optimizer="adam")
    check_config(config, SCHEMA)
    runs = experiment_runs(config, "landscape")
    assert runs[:2] == ["resnet20_adam_none_lr0.1_seed0", "resnet20_adam_none_lr0.1_seed1"]
    assert "resnet20_adam_batch_lr0.1_seed2" in runs and len(runs) == 6
    settings = run_settings(config, "resnet20_adam_batch_lr0.1_seed0")
    assert settings["model"] == "resnet20" and settings["normalization"] == "batch"
    assert settings["optimizer"] == {"name": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert settings["probes"]["curvature_every"]  # the landscape experiment's probes
    config["experiments"]["ics"]["optimizer"] = "momentum"
    momentum = run_settings(config, "momentum_batch_lr0.01_seed0")["optimizer"]
    assert momentum == {"name": "sgd", "momentum": 0.9}
    config["experiments"]["ics"]["model"] = "resnet18"
    with pytest.raises(ConfigError, match="experiments.ics.model"):
        check_config(config, SCHEMA)


def test_an_experiment_of_a_kind_repeats_a_paper_experiment():
    config = shipped("config.yaml")  # the paper's experiments and one beyond them
    check_config(config, SCHEMA)
    assert experiment_kinds(config)["resnet_landscape"] == "landscape"
    assert experiment_kinds(config)["lp"] == "lp" and experiment_kinds(config)["dln"] == "dln"
    settings = run_settings(config, "resnet20_group_lr0.1_seed0")
    assert settings["model"] == "resnet20" and settings["probes"]["curvature_every"]
    config["experiments"]["mine"] = {"normalizations": ["none"], "lrs": [0.1]}
    with pytest.raises(ConfigError, match="experiments.mine.kind: missing"):
        check_config(config, SCHEMA)
    config["experiments"]["mine"]["kind"] = "dln"
    with pytest.raises(ConfigError, match="experiments.mine.kind"):
        check_config(config, SCHEMA)
    del config["experiments"]["mine"]
    config["experiments"]["ics"]["kind"] = "landscape"
    with pytest.raises(ConfigError, match="the paper's ics experiment is of its own kind"):
        check_config(config, SCHEMA)


# The demo's DLN run as the former top-level section `dln` resolved it (its identity, in
# meta.json and bnopt.finished): the experiment with model: dln and models.dln keep it.
DEMO_DLN_SETTINGS = {
    "run": "dln_batch_lr1e-06_seed0", "model": "dln", "normalization": "batch", "lr": 1e-06,
    "seed": 0, "steps": 300, "samples": 1000, "depth": 25, "dim": 10, "precision": "fp32",
    "device_type": "cpu",
    "probes": {"every": 15, "eta_multipliers": [0.01, 0.1, 1.0, 10.0, 30.0],
               "ics_layers": [9, 17], "activation_layers": [], "activation_samples": 0,
               "curvature_every": 0},
}  # fmt: skip


def test_the_deep_linear_network_is_an_experiment_with_model_dln():
    from bnopt.runs import dln_job_runs

    config = shipped("demo.yaml")
    check_config(config, SCHEMA)
    assert config["experiments"]["dln"]["model"] == "dln"
    assert experiment_kinds(config)["dln"] == "dln"
    names = list(experiment_kinds(config))  # the DLN after the paper's image experiments
    assert names.index("dln") > max(names.index(e) for e in ("training", "ics", "lp"))
    runs = experiment_runs(config, "dln")
    assert runs == [f"dln_{norm}_lr{lr}_seed{seed}" for norm in ("none", "batch", "l1", "l2",
                    "linf") for lr in ("1e-06", "1e-07") for seed in (0, 1)]  # fmt: skip
    assert all_runs(config)[-len(runs) :] == runs
    assert run_settings(config, "dln_batch_lr1e-06_seed0") == DEMO_DLN_SETTINGS
    assert dln_job_runs(config) == [f"dln_{{normalization}}_lr{lr}_seed{seed}"
                                    for lr in ("1e-06", "1e-07") for seed in (0, 1)]  # fmt: skip
    paper = shipped("config.yaml")
    check_config(paper, SCHEMA)
    assert len(experiment_runs(paper, "dln")) == 5 * 2 * 3
    assert run_settings(paper, "dln_batch_lr1e-06_seed0") == {
        **DEMO_DLN_SETTINGS,
        "steps": 10000,
        "probes": {**DEMO_DLN_SETTINGS["probes"], "every": 100},
    }


def test_a_config_without_the_dln_gets_the_papers_dln_experiment_and_settings():
    config = {"train": {"steps": 10}}
    check_config(config, SCHEMA)
    assert config["experiments"]["dln"] == {"model": "dln", "normalizations": ["none", "batch",
                                            "l1", "l2", "linf"], "lrs": [1e-6, 1e-7],
                                            "kind": None, "optimizer": "sgd"}  # fmt: skip
    assert config["models"]["dln"] == {
        "steps": 10000, "seeds": [0], "samples": 1000, "depth": 25, "dim": 10,
        "probes_every": 100, "eta_multipliers": [0.01, 0.1, 1, 10, 30], "ics_layers": [9, 17],
        "precision": "fp32",
    }  # fmt: skip


def test_the_former_dln_section_is_refused_saying_where_its_keys_went():
    config = shipped("demo.yaml")
    config["dln"] = {"steps": 300, "lrs": [1e-6], "seeds": [0, 1]}
    with pytest.raises(ConfigError, match=r"\(1 problem\(s\)\)") as error:
        check_config(config, SCHEMA)
    message = str(error.value)
    assert "dln: the deep linear network's section is gone" in message
    assert "experiments.dln" in message and "model: dln" in message and "models.dln" in message
    assert "unknown key" not in message


def test_a_second_dln_experiment_has_its_own_runs_and_figures_and_leaves_the_firsts():
    from bnopt.claims import claim_tables
    from bnopt.figures import figure_targets
    from bnopt.runs import dln_job_runs

    config = shipped("demo.yaml")
    check_config(config, SCHEMA)
    before = {run: run_settings(config, run) for run in all_runs(config)}
    jobs = dln_job_runs(config)
    config = shipped("demo.yaml")
    config["experiments"]["dln_fast"] = {"model": "dln", "normalizations": ["none", "batch"],
                                         "lrs": [1.0e-5]}  # fmt: skip
    check_config(config, SCHEMA)
    kinds = experiment_kinds(config)
    assert kinds["dln_fast"] == "dln" and kinds["dln"] == "dln"
    assert experiment_runs(config, "dln_fast") == [
        "dln_none_lr1e-05_seed0", "dln_none_lr1e-05_seed1",
        "dln_batch_lr1e-05_seed0", "dln_batch_lr1e-05_seed1",
    ]  # fmt: skip
    after = {run: run_settings(config, run) for run in all_runs(config)}
    assert {run: after[run] for run in before} == before  # the first's runs as they were
    assert set(after) - set(before) == set(experiment_runs(config, "dln_fast"))
    assert after["dln_none_lr1e-05_seed0"] == {
        **before["dln_none_lr1e-06_seed0"],
        "run": "dln_none_lr1e-05_seed0",
        "lr": 1e-05,
    }
    # its figures and claims' tables under its own name; the first's keep theirs
    targets = figure_targets(kinds)
    for name in ("dln_ics", "dln_training", "dln_landscape"):
        assert targets[name][1] == "dln" and targets[f"dln_fast/{name}"][1] == "dln_fast"
    assert {"dln/ics", "dln_fast/ics", "dln_fast/beta"} <= set(claim_tables(kinds))
    # one job per normalisation still: the first's runs, then the new learning rate's
    assert dln_job_runs(config) == [*jobs, "dln_{normalization}_lr1e-05_seed0",
                                    "dln_{normalization}_lr1e-05_seed1"]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "spec", "named"),
    [
        ("mine", {"model": "dln", "kind": "landscape"}, "experiments.mine.kind: 'landscape' is "
         "not a kind of model dln"),
        ("mine", {"kind": "dln"}, "experiments.mine.kind: 'dln' is the kind of model dln"),
        ("mine", {"model": "resnet8", "kind": "dln"}, "experiments.mine.kind: 'dln'"),
        ("ics", {"model": "dln"}, "experiments.ics.model: 'dln'; the paper's ics experiment "
         "trains an image network"),
        ("dln", {"model": "vgg_a"}, "experiments.dln.model: 'vgg_a'; the paper's dln experiment "
         "trains the deep linear network (model: dln)"),
        ("mine", {"model": "dln", "normalizations": ["none", "group"]},
         "experiments.mine.normalizations: ['group'] not offered by model dln"),
        ("mine", {"model": "dln", "optimizer": "adam"}, "experiments.mine.optimizer: 'adam'"),
    ],
)  # fmt: skip
def test_an_experiments_kind_and_model_must_agree(name, spec, named):
    config = shipped("demo.yaml")
    config["experiments"][name] = {"normalizations": ["none"], "lrs": [0.1], **spec}
    with pytest.raises(ConfigError) as error:
        check_config(config, SCHEMA)
    assert named in str(error.value)


def test_config_files_update_the_ones_before_key_by_key_as_snakemake_does(tmp_path):
    from bnopt.config import merged_files

    (tmp_path / "a.yaml").write_text("train: {steps: 10, seeds: [0, 1]}\nexperiments: {x: 1}\n")
    (tmp_path / "b.yaml").write_text("train: {seeds: [2]}\nexperiments: {y: 2}\n")
    merged = merged_files([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    assert merged == {"train": {"steps": 10, "seeds": [2]}, "experiments": {"x": 1, "y": 2}}


# Nested updates, each with its base, the edge cases of snakemake.utils.update_config included:
# a mapping over a value or null, an empty mapping over a value, a value, a list or null over a
# mapping, a key only in the update, three levels deep.
MERGES = [
    ({"a": {"b": 1, "c": [1, 2]}, "d": 1}, {"a": {"c": [3]}, "e": {"f": {"g": 1}}}),
    ({"a": {"b": {"c": 1, "d": 2}, "e": 3}}, {"a": {"b": {"d": 4, "x": None}}}),
    ({"a": 1, "b": None, "c": [1]}, {"a": {"x": 1}, "b": {"y": {"z": 2}}, "c": {"w": 1}}),
    ({"a": 1, "b": None, "c": {"d": 1}}, {"a": {}, "b": {}, "c": {}, "e": {}}),
    ({"a": {"b": 1}, "c": {"d": 1}, "e": {"f": 1}}, {"a": 2, "c": [1], "e": None}),
    ({}, {"a": {"b": {"c": {"d": [1, {"e": 1}]}}}}),
]


@pytest.mark.parametrize(("base", "extra"), MERGES)
def test_config_files_merge_exactly_as_snakemakes_update_config(tmp_path, base, extra):
    from snakemake.utils import update_config

    from bnopt.config import merge_into

    expected = copy.deepcopy(base)
    update_config(expected, copy.deepcopy(extra))
    assert merge_into(copy.deepcopy(base), copy.deepcopy(extra)) == expected
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    (tmp_path / "extra.yaml").write_text(yaml.safe_dump(extra))
    assert merged_files([tmp_path / "base.yaml", tmp_path / "extra.yaml"]) == expected


def test_a_config_file_that_is_not_a_mapping_is_an_error_naming_it(tmp_path):
    (tmp_path / "list.yaml").write_text("- train\n")
    with pytest.raises(ConfigError, match=r"list.yaml: a config file is a mapping"):
        merged_files([tmp_path / "list.yaml"])


def test_the_demo_config_names_only_what_differs_from_the_paper_config():
    """config/demo.yaml is a difference: no value in it is config/config.yaml's own, and
    merged over it (as `--configfile config/demo.yaml` merges it) it is a valid config."""
    paper = read_yaml(ROOT / "config" / "config.yaml")
    demo = read_yaml(ROOT / "config" / "demo.yaml")

    def same(node, base, where):
        for key, value in node.items():
            here, there = f"{where}.{key}".lstrip("."), base.get(key, MISSING)
            if isinstance(value, dict) and isinstance(there, dict) and value:
                yield from same(value, there, here)
            elif value == there:
                yield here

    assert list(same(demo, paper, "")) == []
    config = shipped("demo.yaml")
    check_config(config, SCHEMA)
    assert config["data"]["dataset"] == "synthetic" and config["train"]["device"] == "cpu"
    assert set(config["experiments"]) == set(paper["experiments"])


MISSING = object()


def test_a_key_given_twice_in_a_config_file_is_an_error_naming_file_and_line(tmp_path):
    twice = tmp_path / "twice.yaml"
    twice.write_text("train:\n  steps: 10\n  batch_size: 8\n  steps: 20\n")
    with pytest.raises(ConfigError, match=r"twice.yaml, line 4: the key 'steps' is given twice"):
        merged_files([twice])
    once = tmp_path / "once.yaml"
    once.write_text("train:\n  steps: 10\nprobes:\n  steps: 20\n")  # other mappings: fine
    assert merged_files([once]) == {"train": {"steps": 10}, "probes": {"steps": 20}}


def test_a_training_job_is_one_run_or_with_seeds_in_one_job_every_seed_of_a_configuration():
    paper, demo = shipped("config.yaml"), shipped("demo.yaml")
    assert not paper["train"]["seeds_in_one_job"] and demo["train"]["seeds_in_one_job"]
    assert train_job_runs(paper, "batch_lr0.1_seed2") == ["batch_lr0.1_seed2"]
    runs = ["resnet8_none_lr0.1_seed0", "resnet8_none_lr0.1_seed1"]
    assert train_job_runs(demo, "resnet8_none_lr0.1") == runs
    # the jobs train the runs the experiments ask for, each once, whichever the cut
    for config in (paper, demo):
        image = [run for run in all_runs(config) if not run.startswith("dln_")]
        jobs = {re.sub(r"_seed\d+$", "", r) if config is demo else r for r in image}
        assert sorted(r for job in jobs for r in train_job_runs(config, job)) == sorted(image)
    # a job's name is a run's (its own rule's wildcard) or a configuration's, never both
    for job in ("batch_lr0.1", "resnet20_adam_group_lr0.001", "momentum_noisy_batch_lr0.1"):
        assert re.fullmatch(IMAGE_CONFIGURATION_PATTERN, job)
        assert not re.fullmatch(IMAGE_RUN_PATTERN, job)
        assert not re.fullmatch(IMAGE_CONFIGURATION_PATTERN, f"{job}_seed0")
    assert not re.fullmatch(IMAGE_CONFIGURATION_PATTERN, "dln_none_lr1e-06")
    # a SLURM time limit for every run of the job
    assert runtime_minutes(demo) == 2 * (30 + 400 // 500)
    assert runtime_minutes(paper) == 30 + 15000 // 500
