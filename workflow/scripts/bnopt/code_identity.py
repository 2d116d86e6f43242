"""What code a job's outputs depend on, derived from the code itself.

A job runs an adapter script (workflow/scripts/<name>.py) that imports this package. The
modules it runs are found by a static walk of the imports, transitively within the package
(no module is imported, so parsing the workflow stays fast and torch-free); imports inside
functions count too. A module that loads another by name (bnopt.training loads its network's
task module) leaves it out, and the rule names it as a further entry point.

Each module counts by its parsed syntax tree without docstrings, so a comment, a docstring
or reformatting changes nothing, and any edit of the code does. Files a module reads beside
its code (templates, stylesheets) are declared in its `RESOURCES` tuple and count by their
bytes. The identity is a hash of all of it: a rule's `params`, so that Snakemake reruns a
job exactly when code it runs changed, and part of a run's identity (bnopt.finished).
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SCRIPTS = PACKAGE.parent  # workflow/scripts: the adapters
NAME = PACKAGE.name

# Modules that cannot change any output: logging to the job's log, the error classes whose
# messages a job prints, which GPU slot a job takes, and the store of finished runs (it puts
# back the very bytes a run wrote). Editing them reruns nothing.
NO_OUTPUT_EFFECT = ("logs.py", "errors.py", "gpus.py", "finished.py")
NO_EFFECT_LABELS = frozenset(f"{NAME}/{name}" for name in NO_OUTPUT_EFFECT)


def _module_file(dotted: str) -> Path | None:
    """The file of a module of this package (`bnopt.x.y`), or None for anything else."""
    parts = dotted.split(".")
    if parts[0] != NAME:
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_of(path: Path) -> str:
    """The dotted package a file of this package belongs to (bnopt, bnopt.claims, ...)."""
    return ".".join((NAME, *path.parent.relative_to(PACKAGE).parts))


def _imported(path: Path, tree: ast.Module) -> set[Path]:
    """The package modules a file imports, anywhere in it, with their parent packages."""
    inside = path.is_relative_to(PACKAGE)
    here = _package_of(path) if inside else ""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if not inside:
                    continue
                base = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            # `from package import name` imports the submodule `name` when there is one
            names.update(f"{module}.{alias.name}" for alias in node.names)
    files = set()
    for name in names:
        parts = name.split(".")
        # importing bnopt.a.b runs bnopt/__init__.py and bnopt/a/__init__.py first
        for k in range(1, len(parts) + 1):
            found = _module_file(".".join(parts[:k]))
            if found is not None:
                files.add(found)
    return files


@functools.cache
def _parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def modules_run(*entries) -> list[Path]:
    """The package modules that running the entry files imports, transitively, sorted;
    the entries themselves come first."""
    pending = [Path(entry).resolve() for entry in entries]
    seen: dict[Path, None] = dict.fromkeys(pending)
    while pending:
        path = pending.pop()
        for found in sorted(_imported(path, _parsed(path))):
            if found not in seen:
                seen[found] = None
                pending.append(found)
    entry_files = [Path(entry).resolve() for entry in entries]
    return [*entry_files, *sorted(p for p in seen if p not in entry_files)]


def resources(path: Path) -> list[Path]:
    """The files a module declares it reads (its `RESOURCES` tuple, relative to it)."""
    for node in _parsed(path).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "RESOURCES" for target in node.targets
        ):
            return [path.parent / name for name in ast.literal_eval(node.value)]
    return []


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    node.body = body[1:] or [ast.Pass()]
    return tree


@functools.cache
def source_digest(path: Path) -> str:
    """A Python file's syntax tree without docstrings (comments and layout never reach it),
    or any other file's bytes, hashed."""
    if path.suffix == ".py":
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        content = ast.dump(_without_docstrings(tree), include_attributes=False).encode()
    else:
        content = path.read_bytes()
    return hashlib.sha256(content).hexdigest()


def code_files(*entries) -> list[Path]:
    """Every file whose content the identity of `entries` covers: the modules run (less
    those with no effect on outputs) and the resources they declare."""
    modules = [p for p in modules_run(*entries) if _label(p) not in NO_EFFECT_LABELS]
    return [*modules, *(r for m in modules for r in resources(m))]


def _label(path: Path) -> str:
    for root in (SCRIPTS, PACKAGE.parents[2]):
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return path.name


@functools.cache
def _identity(entries: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for path in sorted(code_files(*entries), key=_label):
        digest.update(f"{_label(path)}\0{source_digest(path)}\n".encode())
    return digest.hexdigest()[:16]


def code_identity(*entries) -> str:
    """The hash of the code that running `entries` executes (names relative to the
    workflow's scripts folder, so a moved checkout keeps it). Entries are files, or names of
    adapter scripts (`train.py`) and package modules (`bnopt/dln.py`) under workflow/scripts."""
    paths = []
    for entry in entries:
        path = Path(entry)
        paths.append((path if path.is_absolute() else SCRIPTS / path).resolve())
    return _identity(tuple(paths))
