"""Snakemake and what it needs, as wheels for another Python (the GPU machine's), into a folder.

    python tests/device/wheels.py [--python-version 3.12] [--all] [FOLDER]   (make wheels)

The GPU machine has Python 3.12 with torch and a scientific stack but no Snakemake, and no
network: what the workflow needs beyond its image travels as wheels in `.whl/` (git-ignored)
and tests/device/measure_gpu.sh installs them with `pip install --no-index --target`.

The set is Snakemake's dependency closure as installed here (the versions this project tests
with, read from this environment's metadata, markers evaluated for the target Python on
Linux), plus the workflow's own imports that Snakemake does not pull in, less what the
machine's image already holds (DEVICE_HAS; pass --all to keep those too, for a bare Python).
Each is downloaded as a binary wheel for the target (manylinux, CPython); a package published
only as a source archive (e.g. connection_pool) is built into a pure-Python wheel here.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import platform
import re
import subprocess
import sys
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOTS = ("snakemake", "jsonschema", "docutils", "pyyaml")  # Snakefile, config, report
# Python packages of the GPU machine's image (/work/.library/device/KINDS.md, read on
# 2026-11-17) that Snakemake's closure shares: carried again, they would shadow the image's.
DEVICE_HAS = frozenset(
    canonicalize_name(name)
    for name in (
        "attrs certifi charset-normalizer idna jinja2 markupsafe packaging psutil pyyaml "
        "requests tabulate urllib3 wrapt typing-extensions pygments rich markdown-it-py mdurl "
        "numpy pandas python-dateutil six"
    ).split()
)
PLATFORMS = (
    "manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
    "manylinux2014_x86_64", "manylinux1_x86_64",
)  # fmt: skip


def closure(roots, python_version: str) -> dict[str, str]:
    """name -> installed version of the roots and everything they require, for the target."""
    environment = default_environment()
    environment.update(python_version=python_version, python_full_version=f"{python_version}.0",
                       sys_platform="linux", platform_system="Linux")  # fmt: skip
    found: dict[str, str] = {}
    pending = [Requirement(root) for root in roots]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found[name] = metadata.version(requirement.name)
        for text in metadata.requires(requirement.name) or []:
            needed = Requirement(text)
            if needed.marker is None or needed.marker.evaluate({**environment, "extra": ""}):
                pending.append(needed)
    return found


def pip(*args) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    return subprocess.run(command, capture_output=True, text=True)


def fetch(name: str, version: str, folder: Path, python_version: str) -> str:
    """Put name==version into folder as a wheel for the target; how it came."""
    spec = f"{name}=={version}"
    target = ["--python-version", python_version, "--implementation", "cp"]
    target += [arg for platform_tag in PLATFORMS for arg in ("--platform", platform_tag)]
    got = pip("download", "-q", "--no-deps", "--only-binary=:all:", *target, "-d", folder, spec)
    if got.returncode == 0:
        return "downloaded"
    built = pip("wheel", "-q", "--no-deps", "-w", folder, spec)
    if built.returncode != 0:
        raise SystemExit(
            f"cannot get a wheel of {spec}:\n{got.stderr[-1500:]}\n{built.stderr[-1500:]}"
        )
    wheel = next(folder.glob(f"{re.sub(r'[-_.]+', '_', name)}-{version}-*.whl"), None)
    if wheel is None or not wheel.name.endswith("-none-any.whl"):
        raise SystemExit(f"{spec} has no wheel for Python {python_version} and is not pure Python")
    return "built (pure Python, from its source archive)"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path(".whl"))
    parser.add_argument("--python-version", default="3.12")
    parser.add_argument("--all", action="store_true", help="also what the GPU image holds")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    for old in args.folder.glob("*.whl"):  # one version of each: two stop the install there
        old.unlink()
    packages = closure(ROOTS, args.python_version)
    kept = {n: v for n, v in sorted(packages.items()) if args.all or n not in DEVICE_HAS}
    for name, version in kept.items():
        print(f"{name}=={version}: {fetch(name, version, args.folder, args.python_version)}")
    wheels = sorted(args.folder.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels) / 2**20
    print(
        f"{len(wheels)} wheels, {size:.1f} MiB, in {args.folder} for CPython "
        f"{args.python_version} on Linux x86-64 (built on Python {platform.python_version()})"
    )


if __name__ == "__main__":
    main()
