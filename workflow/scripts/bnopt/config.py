"""Configuration checks with messages that name the offending key and what is allowed."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:  # imported where a config is checked: the bench runs without Snakemake
    import jsonschema

from .errors import UserError
from .probe_plan import families_read
from .runs import PAPER_EXPERIMENTS, WEIGHT_LAYERS, format_lr


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


def merged_files(files) -> dict:
    """YAML config files, each updating the ones before key by key, as Snakemake's
    `--configfile` updates the Snakefile's configfile."""

    def update(base: dict, extra: dict) -> None:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                update(base[key], value)
            else:
                base[key] = value

    config: dict = {}
    for file in files:
        update(config, read_yaml(file))
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
    problems = non_finite(config) + [describe(e) for e in errors]
    if not problems:
        validate(config, str(schema_path), set_default=True)
        problems = lr_problems(config) + cross_field_problems(config)
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigError(f"invalid configuration ({len(problems)} problem(s)):\n{lines}")


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
    data, train, dln = config["data"], config["train"], config["dln"]
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
        if name == "dln":
            problems.append("experiments.dln: the name is the deep linear network's (section dln)")
        elif name not in PAPER_EXPERIMENTS and not spec.get("kind"):
            problems.append(
                f"experiments.{name}.kind: missing; an experiment other than the paper's "
                f"({', '.join(PAPER_EXPERIMENTS)}) says which of them it repeats"
            )
        elif name in PAPER_EXPERIMENTS and (spec.get("kind") or name) != name:
            problems.append(f"experiments.{name}.kind: {spec['kind']!r}; the paper's {name} "
                            f"experiment is of its own kind")  # fmt: skip
        else:
            problems += layer_problems(config, name, spec)
    outside = [layer for layer in dln["ics_layers"] if layer > dln["depth"]]
    if outside:
        problems.append(
            f"dln.ics_layers: {outside} outside 1..{dln['depth']} (dln.depth); the network "
            f"has {dln['depth']} weight layers"
        )
    return problems


def layer_problems(config: dict, name: str, spec: dict) -> list[str]:
    """Probed layers that the experiment's network does not have (only the probes it takes)."""
    model = spec.get("model", "vgg_a")
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
    sections["dln"] = config.get("dln", {})
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
