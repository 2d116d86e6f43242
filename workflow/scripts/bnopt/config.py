"""Configuration checks with messages that name the offending key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from .runs import format_lr


class ConfigError(ValueError):
    pass


def load_schema(path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def key_path(error: jsonschema.ValidationError) -> str:
    parts = []
    for part in error.absolute_path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".") or "(top level)"


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
    return f"{where}: {error.message}"


def check_config(config: dict, schema_path) -> None:
    """Raise ConfigError listing every problem of the configuration, each by its key."""
    schema = load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path)))
    problems = [describe(e) for e in errors] or lr_problems(config)
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigError(f"invalid configuration ({len(problems)} problem(s)):\n{lines}")


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
