"""The installed `bnopt` command, the SLURM extra and the generated configuration docs."""

import importlib.metadata
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from bnopt import cli, config_docs
from bnopt.claims import COLUMNS, write_claims
from bnopt.config import SCHEMA, load_schema
from conftest import ROOT


def test_pip_install_gives_a_bnopt_command():
    scripts = {e.name: e.value for e in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts.get("bnopt") == "bnopt.cli:main"
    command = shutil.which("bnopt", path=str(ROOT / ".venv" / "bin")) or shutil.which("bnopt")
    result = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for name in cli.COMMANDS:
        assert f"bnopt {name}" in result.stdout


def test_the_slurm_plugin_is_an_extra_that_admits_the_pinned_version():
    requires = importlib.metadata.requires("bnopt")
    (extra,) = [r for r in requires if r.startswith("snakemake-executor-plugin-slurm")]
    assert 'extra == "slurm"' in extra
    pinned = re.search(r"snakemake-executor-plugin-slurm==([\d.]+)",
                       (ROOT / "requirements.txt").read_text()).group(1)  # fmt: skip
    minimum = re.search(r">=([\d.]+)", extra).group(1)
    assert tuple(map(int, pinned.split("."))) >= tuple(map(int, minimum.split(".")))


def test_an_unknown_command_fails_and_lists_the_commands(capsys):
    assert cli.main(["nonsense"]) == 2
    assert "bnopt cost" in capsys.readouterr().err


def test_bnopt_claims_prints_each_claims_outcome_and_interval(tmp_path, capsys):
    rows = [
        {"claim": "BN smooths the landscape", "experiment": "landscape", "outcome": "supported",
         "part": "loss range", "statistic": "log10 ratio", "estimate": -0.5, "low": -0.7,
         "high": -0.3, "steps": 12, "seeds": 2, "part_outcome": "supported", "reason": ""},
        {"claim": "ICS is not reduced", "experiment": "ics", "outcome": "not measurable",
         "part": "l2", "statistic": "log10 ratio", "estimate": float("nan"),
         "low": float("nan"), "high": float("nan"), "steps": 1, "seeds": 2,
         "part_outcome": "not measurable", "reason": "fewer than 3 paired steps"},
    ]  # fmt: skip
    path = tmp_path / "claims.tsv"
    write_claims(pd.DataFrame(rows).reindex(columns=COLUMNS), path)
    assert cli.main(["claims", str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"supported\s+landscape\s+BN smooths the landscape", out)
    assert "loss range: log10 ratio -0.5 [-0.7, -0.3], 12 steps, 2 seeds" in out
    assert "l2: not measurable (fewer than 3 paired steps)" in out
    assert "1 supported, 1 not measurable" in out


def test_bnopt_claims_names_a_missing_file(tmp_path, capsys):
    assert cli.main(["claims", str(tmp_path / "none.tsv")]) == 1
    assert "none.tsv does not exist" in capsys.readouterr().err


def test_bnopt_claims_starts_without_torch(tmp_path):
    code = "import sys; from bnopt import cli; cli.main(['claims', 'x']); print('torch' in sys.modules)"  # noqa: E501
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_the_configuration_docs_are_generated_from_the_schema():
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == config_docs.render(load_schema(SCHEMA)), "run `bnopt config-docs`"


def test_the_configuration_docs_name_every_key_with_its_default():
    schema = yaml.safe_load(SCHEMA.read_text())
    text = config_docs.render(schema)
    assert "| `train.steps` | integer, ≥ 1, ≤ 10,000,000 | `15000` |" in text
    models = "`vgg_a`, `resnet8`, `resnet20`, `dln`"
    assert f"| `experiments.<name>.model` | {models} | `vgg_a` |" in text
    assert "| `models.dln.steps` | integer, ≥ 1, ≤ 10,000,000 | `10000` |" in text

    def leaves(node, where):
        for key, sub in node.get("properties", {}).items():
            name = f"{where}.{key}".lstrip(".")
            if sub.get("type") == "object" and "properties" in sub:
                yield from leaves(sub, name)
            else:
                yield name

    assert [name for name in leaves(schema, "") if f"| `{name}` |" not in text] == []
    for key in schema["$defs"]["experiment"]["properties"]:
        assert f"| `experiments.<name>.{key}` |" in text


@pytest.mark.parametrize("edit,value", [("description", "Updates, 12345 of them."),
                                        ("default", 12345)])  # fmt: skip
def test_a_schema_edit_shows_in_the_docs(edit, value):
    schema = load_schema(SCHEMA)
    schema["properties"]["train"]["properties"]["steps"][edit] = value
    assert "12345" in config_docs.render(schema)


def test_config_docs_outside_a_checkout_says_why_it_cannot_run(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(config_docs, "SCHEMA", tmp_path / "absent.schema.yaml")
    monkeypatch.setattr(config_docs, "DOC", tmp_path / "configuration.md")
    assert config_docs.main([]) == 1
    assert "no schema at" in capsys.readouterr().err
    assert not (tmp_path / "configuration.md").exists()
