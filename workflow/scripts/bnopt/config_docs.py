"""docs/configuration.md, generated from the config schema: one table per section, every key
with what it accepts, its default and its meaning, so the documentation cannot drift from the
schema (a test compares the committed file with this rendering)."""

import argparse
import json
import sys
from pathlib import Path

from bnopt.config import SCHEMA, load_schema

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"

INTRO = """\
# Configuration

<!-- Generated from workflow/schemas/config.schema.yaml by `bnopt config-docs`: edit the
schema, then run `bnopt config-docs` (a test fails while this file differs from it). -->

`config/config.yaml` holds the paper's settings; `config/demo.yaml` holds only what the CPU
demo changes. Snakemake reads `config/config.yaml` first and merges every `--configfile`
over it, key by key (a section named in a later file keeps the keys that file does not
name; a list or a value is replaced whole), then `--config key=value` over that. So a file of
your own (`--configfile mine.yaml`) names only what it changes; an experiment of
`config/config.yaml` cannot be removed that way (edit the file to run fewer).

The schema below types, bounds and defaults every key and rejects unknown keys. A bad value
stops the workflow before any job (a dry run shows it too), naming the key, the value and
what is allowed, without a traceback:

```
invalid configuration (1 problem(s)):
  - unknown key train.lerning_rate; allowed here: augment, batch_size, ...
```

Beyond the schema, numbers must be finite (`.inf` and `.nan` are refused with their key), a
key given twice in a file is an error naming the file and line, and problems that involve
two keys are caught the same way: `train.batch_size` larger than the training set, a probed
layer the network of an experiment does not have, `models.dln.ics_layers` beyond
`models.dln.depth`, an experiment whose `kind` its `model` does not make (the deep linear
network, `model: dln`, makes kind `dln` only; an image network every other kind), a
`data.archive` that is not a file, `train.device: cuda` on a machine without that device.
The former top-level section `dln` is refused with a message saying where its keys went
(`experiments.dln` with `model: dln`, and `models.dln`).

Which keys retrain a run and which only say how a job runs:
[design.md](design.md#which-settings-retrain).
"""


def allowed(spec: dict) -> str:
    """What a key accepts, in a few words."""
    if "enum" in spec:
        return ", ".join("null" if v is None else f"`{v}`" for v in spec["enum"])
    kinds = spec.get("type", "")
    kinds = " or ".join(kinds) if isinstance(kinds, list) else kinds
    if kinds == "array":
        items = spec.get("items", {})
        inner = allowed(items) if "enum" in items else items.get("type", "")
        return f"list of {inner}".strip()
    bounds = []
    for word, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤")):
        if word in spec:
            value = spec[word]
            bounds.append(f"{sign} {value:,}" if value >= 1000 else f"{sign} {value}")
    return ", ".join([kinds, *bounds]).strip(", ")


def shown(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def meaning(spec: dict) -> str:
    return " ".join(spec.get("description", "").split()).replace("|", "\\|")


def rows(properties: dict, prefix: str, defs: dict):
    for key, spec in properties.items():
        name = f"{prefix}{key}"
        if "$ref" in spec:
            spec = {**defs[spec["$ref"].split("/")[-1]], **spec}
        if spec.get("type") == "object" and "properties" in spec and "$ref" not in spec:
            yield from rows(spec["properties"], f"{name}.", defs)
            continue
        default = shown(spec["default"]) if "default" in spec else "required"
        yield f"| `{name}` | {allowed(spec)} | {default} | {meaning(spec)} |"


def render(schema: dict) -> str:
    defs = schema.get("$defs", {})
    parts = [INTRO]
    for section, spec in schema["properties"].items():
        parts.append(f"## `{section}`\n\n{meaning(spec)}\n")
        table = ["| key | accepts | default | meaning |", "|---|---|---|---|"]
        if section == "experiments":
            table += rows(spec["properties"], "experiments.", defs)
            table += rows(defs["experiment"]["properties"], "experiments.<name>.", defs)
        else:
            table += rows(spec.get("properties", {}), f"{section}.", defs)
        parts.append("\n".join(table) + "\n")
    return "\n".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bnopt config-docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    if not SCHEMA.exists():  # a copy of the package installed without its workflow
        print(f"bnopt config-docs: no schema at {SCHEMA}: run it from an editable install "
              "of the workflow's checkout (make venv)", file=sys.stderr)  # fmt: skip
        return 1
    text = render(load_schema(SCHEMA))
    if args.check:
        current = DOC.exists() and DOC.read_text(encoding="utf-8") == text
        print(f"{DOC}: {'current' if current else 'out of date: run `bnopt config-docs`'}")
        return 0 if current else 1
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
