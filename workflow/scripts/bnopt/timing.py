"""Where a finished DAG's time went, from Snakemake's own benchmarks and logs.

    python -m bnopt.timing [working directory]

Prints, per kind of job (image-network training, deep-linear-network training, tables,
claims, figures, report, data): the number of jobs, their job-seconds (each job's wall time,
from benchmarks/**.tsv), their share, and the CPU-seconds each process spent before its
work (Python, imports, Snakemake's preamble: the line bnopt.logs writes first into every
job's log). Then the fixed per-process cost as a share of all job-seconds, and the wall
time of the latest Snakemake run (its log in .snakemake/log/), with how full it kept the
cores. Reads files only: nothing is imported from the workflow's heavy modules.
"""

from __future__ import annotations

import argparse
import csv
import re
from datetime import datetime
from pathlib import Path

from .logs import STARTUP

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$", re.M)
CORES = re.compile(r"^Provided cores: (\d+)$", re.M)


def kind_of(benchmark: Path, root: Path) -> str:
    """A job's kind from its benchmark's path (benchmarks/<rule folder>/<name>.tsv)."""
    parts = benchmark.relative_to(root / "benchmarks").parts
    if parts[0] == "train":
        return "train (deep linear)" if parts[-1].startswith("dln_") else "train (image)"
    return parts[0].removesuffix(".tsv") if len(parts) > 1 else benchmark.stem


def log_of(benchmark: Path, root: Path) -> Path:
    """The job's log: logs/ mirrors benchmarks/ (logs/data/prepare_x.log, logs/claims.log)."""
    relative = benchmark.relative_to(root / "benchmarks").with_suffix(".log")
    return root / "logs" / relative


def startup_seconds(log: Path) -> float | None:
    try:
        found = re.search(rf"{re.escape(STARTUP)} ([\d.]+) CPU-s", log.read_text(errors="replace"))
    except OSError:
        return None
    return float(found[1]) if found else None


def job_seconds(benchmark: Path) -> float:
    with open(benchmark, newline="") as f:
        return float(next(csv.DictReader(f, delimiter="\t"))["s"])


def latest_run(root: Path) -> tuple[float, int] | None:
    """Wall seconds and cores of the latest Snakemake run, from its log."""
    logs = sorted((root / ".snakemake" / "log").glob("*.snakemake.log"))
    if not logs:
        return None
    text = logs[-1].read_text(errors="replace")
    stamps = [
        datetime.strptime(" ".join(s.split()), "%a %b %d %H:%M:%S %Y") for s in STAMP.findall(text)
    ]
    cores = CORES.search(text)
    if len(stamps) < 2:
        return None
    return (stamps[-1] - stamps[0]).total_seconds(), int(cores[1]) if cores else 0


def breakdown(root: Path) -> dict:
    """Per kind: jobs, job-seconds and start-up CPU-seconds (of the jobs whose log says)."""
    kinds: dict[str, dict] = {}
    for benchmark in sorted((root / "benchmarks").rglob("*.tsv")):
        kind = kinds.setdefault(kind_of(benchmark, root), {"jobs": 0, "s": 0.0, "startup": 0.0})
        kind["jobs"] += 1
        kind["s"] += job_seconds(benchmark)
        kind["startup"] += startup_seconds(log_of(benchmark, root)) or 0.0
    return kinds


def report(root: Path) -> str:
    kinds = breakdown(root)
    if not kinds:
        return f"no benchmarks under {root / 'benchmarks'}: run the workflow first"
    total = sum(k["s"] for k in kinds.values())
    startup = sum(k["startup"] for k in kinds.values())
    lines = [f"{'kind':<22}{'jobs':>6}{'job-s':>9}{'share':>8}{'mean s':>8}{'start-up s':>12}"]
    for name, k in sorted(kinds.items(), key=lambda item: -item[1]["s"]):
        lines.append(
            f"{name:<22}{k['jobs']:>6}{k['s']:>9.1f}{k['s'] / total:>8.0%}"
            f"{k['s'] / k['jobs']:>8.1f}{k['startup']:>12.1f}"
        )
    jobs = sum(k["jobs"] for k in kinds.values())
    lines.append(f"{'total':<22}{jobs:>6}{total:>9.1f}{'':>8}{'':>8}{startup:>12.1f}")
    lines.append(
        f"fixed per-process cost (start-up before each job's work): {startup:.1f} job-s, "
        f"{startup / total:.0%} of the job-seconds"
    )
    run = latest_run(root)
    if run:
        wall, cores = run
        fill = f"; job-seconds / (cores x wall) = {total / (cores * wall):.0%}" if cores else ""
        lines.append(
            f"wall time of the latest Snakemake run: {wall:.0f} s on {cores} cores{fill}"
            " (when that run built every job above)"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=Path("."), help="working directory")
    print(report(parser.parse_args(argv).root))


if __name__ == "__main__":
    main()
