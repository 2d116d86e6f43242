"""The README and docs/: short, linked, and their library example runs as written."""

import re
import subprocess
import sys

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", ROOT / "config" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_probe_example_in_the_docs_runs(tmp_path):
    design = (ROOT / "docs" / "design.md").read_text()
    (example,) = re.findall(r"```python\n(.*?)```", design, re.S)
    # From an unrelated folder: the installed package, no path set up.
    result = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    assert "(" in first and second.startswith("[(2, ")


def test_the_readme_is_short_and_starts_with_what_a_newcomer_needs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode()) <= 12 * 1024
    headings = re.findall(r"^## (.*)$", text, re.M)
    assert headings[:5] == ["Prerequisites", "Quick start", "The paper on a GPU", "One figure",
                            "On a SLURM cluster"]  # fmt: skip
    assert "arxiv.org/abs/1805.11604" in text


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {slug(h) for h in re.findall(r"^#+ (.*)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_of_the_docs_leads_somewhere(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"https?://", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and linked.suffix == ".md"
                                   and anchor not in anchors(linked)):  # fmt: skip
            broken.append(target)
    assert broken == []


def test_slugs_follow_github():
    assert slug("The paper on a GPU") == "the-paper-on-a-gpu"
    assert slug("`dln`") == "dln"
    assert slug("Beyond the paper: experiments as data") == "beyond-the-paper-experiments-as-data"


def test_the_citation_file_names_the_paper_and_this_version():
    import tomllib

    import yaml

    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert citation["cff-version"] == "1.2.0" and citation["version"] == project["version"]
    paper = citation["preferred-citation"]
    assert paper["title"] == "How Does Batch Normalization Help Optimization?"
    assert [a["family-names"] for a in paper["authors"]] == [
        "Santurkar", "Tsipras", "Ilyas", "Madry"]  # fmt: skip
    assert paper["year"] == 2018 and "1805.11604" in paper["url"]


def test_the_workflow_catalog_file_has_the_catalogs_keys():
    import yaml

    usage = yaml.safe_load((ROOT / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert set(usage) == {"mandatory-flags", "software-stack-deployment", "report"}
    assert usage["mandatory-flags"]["flags"] == "--resources gpu=1"
    assert set(usage["software-stack-deployment"]) == {"conda", "singularity",
                                                       "singularity+conda"}  # fmt: skip
