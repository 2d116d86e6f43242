"""environment.yml and requirements.txt pin the same packages."""

import yaml

from conftest import ROOT


def pins(lines):
    return sorted(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def test_environment_yml_pins_exactly_the_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    requirements = pins((ROOT / "requirements.txt").read_text().splitlines())
    # `-e .` (the workflow's own package) is installed apart: see environment.yml.
    assert pins(pip) == [line for line in requirements if line != "-e ."]


def test_every_requirement_is_pinned_exactly():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in pins((ROOT / name).read_text().splitlines()):
            # -e .: the workflow's own package; -r: the dev file includes the workflow's
            assert "==" in line or line in ("-e .", "-r requirements.txt"), line


def test_the_jobs_environment_has_no_development_tools():
    jobs = pins((ROOT / "requirements.txt").read_text().splitlines())
    dev = pins((ROOT / "requirements-dev.txt").read_text().splitlines())
    assert "-r requirements.txt" in dev
    for tool in ("pytest", "ruff", "snakefmt"):
        assert not any(line.startswith(f"{tool}==") for line in jobs)
        assert any(line.startswith(f"{tool}==") for line in dev)
