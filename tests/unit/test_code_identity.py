"""The code a job runs, derived from its script's imports: what an edit reruns."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bnopt import code_identity as ci
from bnopt.figures import FIGURE
from bnopt.runs import MODELS
from bnopt.task import task_module
from conftest import ROOT

SCRIPTS = ROOT / "workflow" / "scripts"
RULES = ROOT / "workflow" / "rules"


def entries_of_rules() -> list[tuple[str, ...]]:
    """Every entry set a rule passes to code_identity, as the rules would for each model and
    figure job (train: the loop and the model's task; figures: the adapter and their modules)."""
    own_entries = ("train.py", "train_dln.py", "plot.py")
    entries = [(script,) for script in adapters() if script not in own_entries]
    entries += [("train.py", f"bnopt/{task_module(m)}.py") for m in MODELS if m != "dln"]
    entries += [("train_dln.py", "bnopt/dln.py")]
    # a figure job: an experiment's figures (bnopt.figures.figure_jobs), or one on request
    entries += [("plot.py", f"bnopt/plots/{spec.module}.py") for spec in FIGURE.values()]
    for experiment in {spec.experiment for spec in FIGURE.values()}:
        modules = {spec.module for spec in FIGURE.values() if spec.experiment == experiment}
        entries += [("plot.py", *(f"bnopt/plots/{m}.py" for m in sorted(modules)))]
    return sorted(set(entries))


def adapters() -> list[str]:
    """The scripts the rules run (`script: "../scripts/<name>.py"`)."""
    text = "".join(path.read_text() for path in RULES.glob("*.smk"))
    return sorted(set(re.findall(r'script:\s*\n\s*"\.\./scripts/(\w+\.py)"', text)))


def imported_when_run(entries: tuple[str, ...]) -> set[str]:
    """The package modules Python really imports for these entries, in a fresh process: the
    adapter's import statements executed, then each further entry imported by name."""
    lines = []
    for entry in entries:
        if entry.startswith("bnopt/"):
            module = entry.removesuffix(".py").replace("/", ".")
            lines.append(f"import importlib; importlib.import_module({module!r})")
            continue
        tree = ast.parse((SCRIPTS / entry).read_text())
        lines += [ast.unparse(node) for node in tree.body if isinstance(node, ast.ImportFrom)]
        lines += [ast.unparse(node) for node in tree.body if isinstance(node, ast.Import)]
    lines.append(
        "import sys; print('\\n'.join(getattr(m, '__file__', None) or '' "
        "for n, m in list(sys.modules.items()) if n == 'bnopt' or n.startswith('bnopt.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", "\n".join(lines)],
        capture_output=True, text=True, check=True, cwd=SCRIPTS,
    )  # fmt: skip
    return {str(Path(line).resolve()) for line in result.stdout.split()}


def test_every_rule_script_is_found():
    assert {"train.py", "plot.py", "tables.py", "claims.py", "report.py"} <= set(adapters())


@pytest.mark.parametrize("entries", entries_of_rules(), ids="+".join)
def test_the_static_walk_finds_every_module_a_job_imports(entries):
    """The oracle is Python itself: a module imported when the job's imports run but missing
    from the walk would be code whose edit reruns nothing."""
    walked = {str(path) for path in ci.modules_run(*(SCRIPTS / e for e in entries))}
    missing = imported_when_run(entries) - walked
    assert not missing, f"{entries}: imported but not among the job's code: {sorted(missing)}"


def test_every_rule_that_runs_a_script_has_its_code_identity_as_a_param():
    text = "\n".join(path.read_text() for path in RULES.glob("*.smk"))
    rules = re.split(r"^rule ", text, flags=re.M)[1:]
    with_scripts = [rule for rule in rules if "script:" in rule]
    assert len(with_scripts) >= 8
    for rule in with_scripts:
        name = rule.split(":")[0]
        assert re.search(r"^\s+code=", rule, re.M), f"rule {name} has no code param"


def test_every_template_file_is_declared_by_the_module_that_reads_it():
    declared = {p for m in ci.modules_run(SCRIPTS / "report.py") for p in ci.resources(m)}
    templates = set((SCRIPTS / "bnopt" / "templates").iterdir())
    assert templates and templates <= declared
    assert templates <= set(ci.code_files(SCRIPTS / "report.py"))


def write(path: Path, text: str) -> str:
    path.write_text(text)
    ci.source_digest.cache_clear()
    return ci.source_digest(path)


def test_comments_docstrings_and_layout_leave_the_digest_and_code_changes_it(tmp_path):
    module = tmp_path / "module.py"
    base = write(module, 'def f(x):\n    """Doubles."""\n    return 2 * x\n')
    assert write(module, "# a comment\ndef f(x):\n    return 2*x  # twice\n") == base
    assert write(module, 'def f(x):\n    """Other words."""\n\n\n    return (2 * x)\n') == base
    assert write(module, "def f(x):\n    return 3 * x\n") != base
    assert write(module, "def f(y):\n    return 2 * y\n") != base
    assert write(module, 'def f(x):\n    print("doubles")\n    return 2 * x\n') != base
    other = tmp_path / "page.css"
    assert write(other, "a {}\n") != write(other, "a {}\n/* edit */\n")  # other files: bytes


def test_the_identity_leaves_out_modules_that_change_no_output():
    files = {ci._label(p) for p in ci.code_files(SCRIPTS / "train.py")}
    walked = {ci._label(p) for p in ci.modules_run(SCRIPTS / "train.py")}
    assert {"bnopt/logs.py", "bnopt/gpus.py", "bnopt/finished.py"} <= walked
    assert not files & ci.NO_EFFECT_LABELS
    assert {"bnopt/optimizers.py", "bnopt/training.py", "bnopt/models.py"} <= files
    # the loop's parts, found through its imports
    loop = {"bnopt/checkpoints.py", "bnopt/probe_records.py", "bnopt/run_records.py"}
    assert loop | {"bnopt/backend.py"} <= files
    for name in ci.NO_OUTPUT_EFFECT:
        assert (SCRIPTS / "bnopt" / name).is_file()


def test_the_loops_parts_leave_gpu_slots_and_finished_runs_to_the_training_module():
    machinery = {"bnopt/gpus.py", "bnopt/finished.py"}
    for module in ("checkpoints.py", "probe_records.py", "run_records.py", "backend.py"):
        walked = {ci._label(p) for p in ci.modules_run(SCRIPTS / "bnopt" / module)}
        assert not walked & machinery, module


def test_each_network_depends_on_its_own_task_module_only():
    dln = {ci._label(p) for p in ci.code_files(SCRIPTS / "train.py", SCRIPTS / "bnopt/dln.py")}
    vgg = {
        ci._label(p) for p in ci.code_files(SCRIPTS / "train.py", SCRIPTS / "bnopt/image_task.py")
    }
    assert "bnopt/dln.py" in dln and "bnopt/dln.py" not in vgg
    assert "bnopt/data.py" in vgg and "bnopt/data.py" not in dln
    assert ci.code_identity("train.py", "bnopt/dln.py") != ci.code_identity(
        "train.py", "bnopt/image_task.py"
    )


def test_a_figure_job_runs_its_own_plotting_module_and_no_claim():
    files = {
        ci._label(p) for p in ci.code_files(SCRIPTS / "plot.py", SCRIPTS / "bnopt/plots/ics.py")
    }
    assert "bnopt/plots/ics.py" in files and "bnopt/plots/landscape.py" not in files
    assert not any(label.startswith("bnopt/claims/") for label in files)
