"""Every command line of the README and of docs/, run as written on a user's copy: Snakemake
commands as dry runs (they would train), `make` targets as `make -n` (they would install and
train)."""

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from workflow_helpers import own_package

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"


def readme_commands(path=ROOT / "README.md") -> list[str]:
    """The commands of a page's bash blocks: continuation lines joined, comments cut."""
    text = path.read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            command = line.split("  #")[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


COMMANDS = readme_commands()
DOC_COMMANDS = [c for page in sorted((ROOT / "docs").glob("*.md")) for c in readme_commands(page)]
# The README's example archive does not exist here: the config check refuses it before any
# job, naming the key (what the command does on a machine without that file).
EXAMPLE_ARCHIVE = "/data/cifar-10-binary.tar.gz"


def test_the_readme_has_its_commands():
    assert any(c.startswith("make demo") for c in COMMANDS)
    assert any("results/figures/fig5_loss_landscape.png" in c for c in COMMANDS)
    assert any("--workflow-profile profiles/slurm" in c for c in COMMANDS)


def test_the_docs_have_their_commands():
    assert any("results/claims.tsv" in c for c in DOC_COMMANDS)
    assert any("--slurm-init-seconds-before-status-checks" in c for c in DOC_COMMANDS)


@pytest.mark.parametrize("command", list(dict.fromkeys(COMMANDS + DOC_COMMANDS)))
def test_a_readme_command_works_as_written(copy, command):
    (copy / ".venv").symlink_to(VENV)  # the venv `make` creates, as in a clone
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        (copy / name).write_bytes((ROOT / name).read_bytes())
    words = shlex.split(command)
    if words[0] == "make":
        shell = f"make -n {shlex.join(words[1:])}"
    else:
        shell = f"{command} -n"  # a dry run: the command would train
    environment = {**own_package(copy), "PATH": f"{VENV / 'bin'}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", shell], cwd=copy, capture_output=True, text=True,
                            timeout=600, env=environment)  # fmt: skip
    output = result.stdout + result.stderr
    if EXAMPLE_ARCHIVE in command:
        assert result.returncode != 0, output[-3000:]
        assert f"data.archive: {EXAMPLE_ARCHIVE} is not a file" in output, output[-3000:]
        return
    assert result.returncode == 0, f"{command}\n{output[-3000:]}"
    if words[0] != "make":
        assert "This was a dry-run" in output
