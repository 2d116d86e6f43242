"""The configuration schema: shipped configs pass, bad ones fail naming the key."""

import copy
import re

import pytest
import yaml
from snakemake.utils import validate

from bnopt.config import ConfigError, check_config, merged_files
from bnopt.execution import Execution, execution
from bnopt.runs import (
    RUN_PATTERN,
    all_runs,
    experiment_kinds,
    experiment_runs,
    parse_run_name,
    run_name,
    run_settings,
)
from conftest import ROOT

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def shipped(name):
    return yaml.safe_load((ROOT / "config" / name).read_text())


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
    (("dln", "lrs"), [1.2345678e-6], "dln.lrs[0]"),
    (("train",), None, "train: null is not allowed"),
    (("data",), None, "data: null is not allowed"),
    (("train", "batch_size"), 5001, "train.batch_size: 5001 is larger than the 5000"),
    (("dln", "ics_layers"), [9, 26], "dln.ics_layers: [26] outside 1..25"),
    (("probes", "eta_multipliers"), [0.5, 1, 1.0], "probes.eta_multipliers: [0.5, 1, 1.0] rep"),
    (("dln", "eta_multipliers"), [1, 1], "dln.eta_multipliers: [1, 1] repeats"),
    (("data", "archive"), "no/such/archive.tar.gz", "data.archive: no/such/archive.tar.gz is"),
    (("data", "archive"), "resources/download/cifar-10-binary.tar.gz", "is inside resources/"),
    # non-finite numbers, which JSON Schema's `number` admits
    (("probes", "eta_multipliers"), [float("inf")], "probes.eta_multipliers[0]: inf is not a fin"),
    (("probes", "eta_multipliers"), [float("nan")], "probes.eta_multipliers[0]: nan is not a fin"),
    (("experiments", "training", "lrs"), [float("inf")], "experiments.training.lrs[0]: inf is"),
    (("train", "momentum"), float("nan"), "train.momentum: nan is not a finite number"),
    # absurd sizes stop before any job (10^12 steps died allocating 4 TB)
    (("train", "steps"), 10**12, "train.steps: 1000000000000 is greater than the maximum"),
    (("dln", "depth"), 10**6, "dln.depth: 1000000 is greater than the maximum"),
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
    assert config["train"]["seeds"] == config["dln"]["seeds"] == [0, 1, 2]
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
                                  "eta_multipliers": []}  # fmt: skip
    assert run_settings(config, "batch_lr0.1_seed0")["probes"] == config["probes"]
    assert settings["model"] == "vgg_a"
    deep = run_settings(config, "dln_none_lr1e-06_seed0")
    assert deep["model"] == "dln" and deep["device_type"] == "cpu"
    assert deep["probes"]["eta_multipliers"] == config["dln"]["eta_multipliers"]
    with pytest.raises(ValueError):
        parse_run_name("batch-0.1")


def test_check_config_lists_every_problem():
    config = copy.deepcopy(shipped("demo.yaml"))
    config["train"]["steps"] = -1
    config["model"]["width"] = "wide"
    with pytest.raises(ConfigError, match=r"2 problem") as error:
        check_config(config, SCHEMA)
    assert "train.steps" in str(error.value) and "model.width" in str(error.value)


def test_the_readme_documents_every_config_key():
    schema = yaml.safe_load(SCHEMA.read_text())
    readme = (ROOT / "README.md").read_text()

    def leaves(node, where):
        for key, sub in node.get("properties", {}).items():
            name = f"{where}.{key}".lstrip(".")
            if sub.get("type") == "object" and "properties" in sub:
                yield from leaves(sub, name)
            else:
                yield name, key

    missing = [name for name, key in leaves(schema, "") if name not in readme and
               f"`{key}`" not in readme and f", `{key}`" not in readme]  # fmt: skip
    assert not missing


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


def test_config_files_update_the_ones_before_key_by_key_as_snakemake_does(tmp_path):
    from bnopt.config import merged_files

    (tmp_path / "a.yaml").write_text("train: {steps: 10, seeds: [0, 1]}\nexperiments: {x: 1}\n")
    (tmp_path / "b.yaml").write_text("train: {seeds: [2]}\nexperiments: {y: 2}\n")
    merged = merged_files([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    assert merged == {"train": {"steps": 10, "seeds": [2]}, "experiments": {"x": 1, "y": 2}}


def test_a_key_given_twice_in_a_config_file_is_an_error_naming_file_and_line(tmp_path):
    twice = tmp_path / "twice.yaml"
    twice.write_text("train:\n  steps: 10\n  batch_size: 8\n  steps: 20\n")
    with pytest.raises(ConfigError, match=r"twice.yaml, line 4: the key 'steps' is given twice"):
        merged_files([twice])
    once = tmp_path / "once.yaml"
    once.write_text("train:\n  steps: 10\nprobes:\n  steps: 20\n")  # other mappings: fine
    assert merged_files([once]) == {"train": {"steps": 10}, "probes": {"steps": 20}}
