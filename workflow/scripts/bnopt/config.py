"""Configuration checks with messages that name the offending key and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:  # imported where a config is checked: the bench runs without Snakemake
    import jsonschema

from . import catalog
from .catalog import PAPER_MODEL, PAPER_OPTIMIZER, format_lr
from .errors import UserError
from .probe_plan import families_read
from .runs import (
    LITERATURE_KINDS,
    PAPER_EXPERIMENTS,
    UNTRAINED_KINDS,
    WEIGHT_LAYERS,
    experiment_model,
)


class ConfigError(UserError, ValueError):
    pass


SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error (PyYAML
    silently keeps the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(
                    f"{key_node.start_mark.name}, line {key_node.start_mark.line + 1}: the key "
                    f"{key!r} is given twice in the same mapping; give it once"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path) -> dict:
    """A YAML file as the project reads it: safely, and with no key given twice."""
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)


def merge_into(config, extra: Mapping):
    """`extra` merged into `config` (in place; returned), as snakemake.utils.update_config
    merges a `--configfile` over the Snakefile's configfile: a mapping merges key by key into
    the mapping under its key (into a new one where there is none, or where the value there is
    not a mapping; an empty mapping leaves that value as it is); a list, a value or null
    replaces what was there whole."""
    for key, value in extra.items():
        if isinstance(value, Mapping):
            sub = config.get(key, {})
            config[key] = merge_into(sub if isinstance(sub, Mapping) or not value else {}, value)
        else:
            config[key] = value
    return config


def merged_files(files) -> dict:
    """YAML config files read by `read_yaml` (no key given twice), each merged over the ones
    before by `merge_into`: config/config.yaml then config/demo.yaml is the demo's
    configuration as the workflow sees it (`--configfile config/demo.yaml`)."""
    config: dict = {}
    for file in files:
        extra = read_yaml(file)
        if not isinstance(extra, dict):
            raise ConfigError(f"{file}: a config file is a mapping of keys to values")
        merge_into(config, extra)
    return config


def load_schema(path=SCHEMA) -> dict:
    return read_yaml(path)


def section_defaults(section: str) -> dict:
    """The schema's default of every key of a config section (what an empty section means)."""
    properties = load_schema()["properties"][section]["properties"]
    return {key: spec["default"] for key, spec in properties.items() if "default" in spec}


def key_path(error: jsonschema.ValidationError) -> str:
    parts = []
    for part in error.absolute_path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".") or "(top level)"


TYPE_WORDS = {
    "object": "a mapping of keys to values (or leave the key out for its defaults)",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def describe(error: jsonschema.ValidationError) -> str:
    where = key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        keys = ", ".join(f"{where}.{k}" if where != "(top level)" else k for k in unknown)
        return f"unknown key {keys}; allowed here: {', '.join(allowed)}"
    if error.validator == "enum":
        options = ", ".join(map(str, error.validator_value))
        return f"{where}: {error.instance!r} is not allowed; one of: {options}"
    if error.validator == "type":
        wanted = error.validator_value
        wanted = [wanted] if isinstance(wanted, str) else wanted
        words = " or ".join(TYPE_WORDS.get(name, name) for name in wanted)
        shown = "null" if error.instance is None else repr(error.instance)
        return f"{where}: {shown} is not allowed; expected {words}"
    if error.validator == "pattern" and "propertyNames" in error.absolute_schema_path:
        return (
            f"{where}: the name {error.instance!r} is not allowed; names here are identifiers "
            f"(a lower-case letter, then lower-case letters, digits or _), since they name "
            f"folders, files and Snakemake wildcards"
        )
    if error.validator == "uniqueItems":
        return f"{where}: {error.instance!r} repeats a value; give each value once"
    return f"{where}: {error.message}"


def check_config(config: dict, schema_path) -> None:
    """Check `config` and fill in the schema's defaults, in place.

    Raise ConfigError listing every problem, each by its key: first what the schema says,
    then (on the config with its defaults) what it cannot say, such as a batch larger than
    the training set.
    """
    import jsonschema
    from snakemake.utils import validate

    schema = load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path)))
    problems = non_finite(config) + moved_sections(config)
    problems += [describe(e) for e in errors if not moved_key(e)]
    if not problems:
        validate(config, str(schema_path), set_default=True)
        problems = lr_problems(config) + cross_field_problems(config)
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigError(f"invalid configuration ({len(problems)} problem(s)):\n{lines}")


# Sections of earlier versions of this config, and where their keys went.
MOVED = {
    "dln": (
        "the deep linear network's section is gone: its normalizations and lrs go to an "
        "experiment with `model: dln` (experiments.dln, the paper's), its other keys (steps, "
        "seeds, samples, depth, dim, probes_every, eta_multipliers, ics_layers, precision) to "
        "models.dln"
    ),
}


def moved_sections(config: dict) -> list[str]:
    return [f"{key}: {where}" for key, where in MOVED.items() if key in config]


def moved_key(error: jsonschema.ValidationError) -> bool:
    """A schema error about nothing but a moved section (moved_sections says where it went)."""
    return (
        error.validator == "additionalProperties"
        and not error.absolute_path
        and not set(error.instance) - set(error.schema.get("properties", {})) - set(MOVED)
    )


def non_finite(config, where: str = "") -> list[str]:
    """Every number that is infinite or not a number (YAML's .inf, .nan), by its key: JSON
    Schema's `number` admits them, and no setting of this workflow means them."""
    if isinstance(config, dict):
        items = [(f"{where}.{key}" if where else str(key), value) for key, value in config.items()]
    elif isinstance(config, list):
        items = [(f"{where}[{index}]", value) for index, value in enumerate(config)]
    elif isinstance(config, float) and not math.isfinite(config):
        return [f"{where}: {config!r} is not a finite number"]
    else:
        return []
    return [problem for key, value in items for problem in non_finite(value, key)]


# The size of the official CIFAR-10 training set.
CIFAR10_TRAIN_IMAGES = 50_000


def cross_field_problems(config: dict) -> list[str]:
    """Problems that involve two keys, on a config whose defaults are filled in."""
    problems = []
    data, train, dln = config["data"], config["train"], config["models"]["dln"]
    if data["dataset"] == "synthetic":
        n_train, where = data["synthetic"]["n_train"], "data.synthetic.n_train"
    else:
        n_train, where = CIFAR10_TRAIN_IMAGES, "CIFAR-10's training set"
    if train["batch_size"] > n_train:
        problems.append(
            f"train.batch_size: {train['batch_size']} is larger than the {n_train} training "
            f"images ({where}); at most {n_train}"
        )
    probes = config["probes"]
    if probes["curvature_every"] and (
        not probes["every"] or probes["curvature_every"] % probes["every"]
    ):
        problems.append(
            f"probes.curvature_every: {probes['curvature_every']} is not a multiple of "
            f"probes.every ({probes['every']}); the curvature is measured at probed steps"
        )
    if probes["outlier_iterations"] < probes["outlier_k"]:
        problems.append(
            f"probes.outlier_iterations: {probes['outlier_iterations']} is below probes."
            f"outlier_k ({probes['outlier_k']}); a Lanczos run of m steps has m Ritz vectors"
        )
    archive = data["archive"]
    if archive and Path(archive).resolve().is_relative_to(Path("resources").resolve()):
        problems.append(
            f"data.archive: {archive} is inside resources/, which the workflow writes (and "
            f"may delete before a rerun); keep your copy anywhere else"
        )
    elif data["dataset"] == "cifar10" and archive and not Path(archive).is_file():
        problems.append(
            f"data.archive: {archive} is not a file (relative paths start at the working "
            f"directory, {Path.cwd()}); give the path of a copy of cifar-10-binary.tar.gz, "
            f"or null to download it"
        )
    for name, spec in config["experiments"].items():
        model = experiment_model(config, name)
        if spec.get("kind") in UNTRAINED_KINDS:
            problems += untrained_problems(config, name, spec)
        elif catalog.MODELS[model].kind or spec.get("kind") in own_kinds() or name in own_kinds():
            problems += own_kind_problems(name, spec, model)
        elif name not in PAPER_EXPERIMENTS and not spec.get("kind"):
            problems.append(
                f"experiments.{name}.kind: missing; an experiment other than the paper's "
                f"({', '.join(PAPER_EXPERIMENTS)}) or the follow-up literature's "
                f"({', '.join(LITERATURE_KINDS)}) says which of them it repeats"
            )
        elif name in PAPER_EXPERIMENTS and (spec.get("kind") or name) != name:
            problems.append(f"experiments.{name}.kind: {spec['kind']!r}; the paper's {name} "
                            f"experiment is of its own kind")  # fmt: skip
        else:
            problems += layer_problems(config, name, spec) + stability_problems(config, name, spec)
    outside = [layer for layer in dln["ics_layers"] if layer > dln["depth"]]
    if outside:
        problems.append(
            f"models.dln.ics_layers: {outside} outside 1..{dln['depth']} (models.dln.depth); "
            f"the network has {dln['depth']} weight layers"
        )
    return problems


def stability_problems(config: dict, name: str, spec: dict) -> list[str]:
    """The edge-of-stability kind compares the sharpness with its optimiser's stability
    threshold (bnopt.optimizers.Optimizer.stability_threshold), which Adam with weight decay
    does not have: P^-1 (H + wd) is not P^-1 H shifted by a constant."""
    if spec.get("kind") != "edge_of_stability":
        return []
    optimizer = spec.get("optimizer") or PAPER_OPTIMIZER
    if catalog.OPTIMIZERS[optimizer].algorithm != "adam" or not config["train"]["weight_decay"]:
        return []
    return [
        f"experiments.{name}: kind edge_of_stability compares Adam's preconditioned "
        f"sharpness with 38 / lr, a threshold without weight decay; train.weight_decay is "
        f"{config['train']['weight_decay']} (set it to 0, or use SGD)"
    ]


def untrained_problems(config: dict, name: str, spec: dict) -> list[str]:
    """An experiment of a kind that trains nothing (initialisation): its networks are
    `initialisation.networks`, so model and optimiser stay the defaults, and the deep linear
    network offers only its normalisations."""
    problems = []
    model = experiment_model(config, name)
    if model != PAPER_MODEL:
        problems.append(
            f"experiments.{name}.model: {model!r}; an experiment of kind initialisation "
            f"measures the networks of initialisation.networks (leave model out)"
        )
    if (spec.get("optimizer") or PAPER_OPTIMIZER) != PAPER_OPTIMIZER:
        problems.append(
            f"experiments.{name}.optimizer: {spec['optimizer']!r}; an experiment of kind "
            f"initialisation trains nothing (leave optimizer out)"
        )
    offered = catalog.dln_normalizations()
    other = [n for n in spec["normalizations"] if n not in offered]
    if "dln" in config["initialisation"]["networks"] and other:
        problems.append(
            f"experiments.{name}.normalizations: {other} not offered by the deep linear "
            f"network (initialisation.networks has dln); one of: {', '.join(offered)}"
        )
    return problems


def own_kinds() -> dict[str, str]:
    """The experiment kinds that one network makes (dln -> dln), by kind."""
    return {model.kind: name for name, model in catalog.MODELS.items() if model.kind}


def image_kinds() -> list[str]:
    return [kind for kind in PAPER_EXPERIMENTS if kind not in own_kinds()]


def own_kind_problems(name: str, spec: dict, model: str) -> list[str]:
    """An experiment of a network with its own kind (the deep linear network), or one that
    names that kind: network, kind, normalisations and optimiser must agree."""
    kind = catalog.MODELS[model].kind
    if kind is None:  # an image network with the DLN's kind or experiment name
        if spec.get("kind") in own_kinds():
            wanted = own_kinds()[spec["kind"]]
            return [
                f"experiments.{name}.kind: {spec['kind']!r} is the kind of model {wanted} "
                f"({catalog.model_label(wanted).lower()}); give model: {wanted} and leave kind "
                f"out, or one of the image kinds ({', '.join(image_kinds())})"
            ]
        wanted = own_kinds()[name]
        return [
            f"experiments.{name}.model: {model!r}; the paper's {name} experiment trains the "
            f"{catalog.model_label(wanted).lower()} (model: {wanted})"
        ]
    problems = []
    if spec.get("kind") not in (None, kind):
        problems.append(
            f"experiments.{name}.kind: {spec['kind']!r} is not a kind of model {model}, whose "
            f"experiments are of kind {kind} (leave kind out)"
        )
    if name in PAPER_EXPERIMENTS and name != kind:
        problems.append(
            f"experiments.{name}.model: {model!r}; the paper's {name} experiment trains an "
            f"image network ({', '.join(catalog.image_models())})"
        )
    offered = catalog.dln_normalizations()
    other = [n for n in spec["normalizations"] if n not in offered]
    if other:
        problems.append(
            f"experiments.{name}.normalizations: {other} not offered by model {model}; "
            f"one of: {', '.join(offered)}"
        )
    if (spec.get("optimizer") or PAPER_OPTIMIZER) != PAPER_OPTIMIZER:
        problems.append(
            f"experiments.{name}.optimizer: {spec['optimizer']!r}; model {model} trains by "
            f"plain full-batch gradient descent ({PAPER_OPTIMIZER})"
        )
    return problems


def layer_problems(config: dict, name: str, spec: dict) -> list[str]:
    """Probed layers that the experiment's network does not have (only the probes it takes)."""
    model = experiment_model(config, name)
    families = families_read(spec.get("kind") or name)
    problems = []
    for key, family in (("ics_layers", "ics"), ("activation_layers", "activations")):
        outside = [layer for layer in config["probes"][key] if layer > WEIGHT_LAYERS[model]]
        if family in families and outside:
            problems.append(
                f"probes.{key}: {outside} outside 1..{WEIGHT_LAYERS[model]}, the weight layers "
                f"of {model}, which experiments.{name} probes there"
            )
    return problems


def lr_problems(config: dict) -> list[str]:
    """Learning rates that a run name (e.g. batch_lr0.1_seed0) cannot carry exactly.

    A run's learning rate is read back from its name, so a rate with more than six
    significant digits would train at the rounded rate, or merge with a neighbour.
    """
    sections = {f"experiments.{name}": spec for name, spec in config.get("experiments", {}).items()}
    lists = {f"{where}.lrs": spec.get("lrs", []) for where, spec in sections.items()}
    problems = []
    for where, lrs in lists.items():
        for index, lr in enumerate(lrs):
            if float(format_lr(lr)) != float(lr):
                problems.append(
                    f"{where}[{index}]: {lr!r} has more than 6 significant digits; run names "
                    f"would carry it as {format_lr(lr)} (use at most 6 significant digits)"
                )
    return problems
