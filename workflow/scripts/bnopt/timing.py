"""Where a finished DAG's time went, from Snakemake's own benchmarks and logs.

    python -m bnopt.timing [working directory]

Prints, for the jobs of the latest Snakemake run that ran any (older benchmark files, of jobs
not rerun or since renamed, are counted and left out), per kind of job (image-network
training, deep-linear-network training, tables, claims, figures, report, data): the number
of jobs, their job-seconds (each job's wall time, from benchmarks/**.tsv), their
core-seconds (wall time x the threads Snakemake granted the job, from its logs in
.snakemake/log/: a job of 2 threads holds 2 cores), their share, and the CPU-seconds each
process spent before its work (Python, imports, Snakemake's preamble: the line bnopt.logs
writes first into every job's log), in core-seconds as well: while a job of 2 threads starts
up, its second core waits. Then the fixed per-process cost as a share of all core-seconds,
and the run's wall time, with how full it kept the cores. Reads files only: nothing is
imported from the workflow's heavy modules.
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
BENCHMARK = re.compile(r"^\s+benchmark: (\S+)$", re.M)
JOB = re.compile(r"^\s+benchmark: (\S+)\n(?:\s+\w+: .*\n)*?\s+threads: (\d+)$", re.M)


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


def latest_run_log(root: Path) -> str | None:
    """The log of the latest Snakemake run that ran jobs (not a dry run or --report)."""
    for log in sorted((root / ".snakemake" / "log").glob("*.snakemake.log"), reverse=True):
        text = log.read_text(errors="replace")
        if BENCHMARK.search(text):
            return text
    return None


def latest_run(root: Path) -> tuple[float, int] | None:
    """Wall seconds and cores of the latest Snakemake run that ran jobs, from its log."""
    text = latest_run_log(root)
    if text is None:
        return None
    stamps = [
        datetime.strptime(" ".join(s.split()), "%a %b %d %H:%M:%S %Y") for s in STAMP.findall(text)
    ]
    cores = CORES.search(text)
    if len(stamps) < 2:
        return None
    return (stamps[-1] - stamps[0]).total_seconds(), int(cores[1]) if cores else 0


def threads_in(text: str | None) -> dict[str, int]:
    """The threads of each job of a run, by its benchmark's path, from the run's log;
    Snakemake prints `threads:` only for a job of more than one."""
    return {benchmark: int(n) for benchmark, n in JOB.findall(text)} if text else {}


def breakdown(root: Path) -> tuple[dict, int]:
    """Per kind: jobs, job-seconds, core-seconds and start-up core-seconds (of the jobs whose
    log says), over the jobs of the latest run (all benchmarks when no log names any); and
    how many benchmark files were left out as older (of jobs since renamed or not rerun)."""
    kinds: dict[str, dict] = {}
    text = latest_run_log(root)
    latest = set(BENCHMARK.findall(text)) if text else None
    threads = threads_in(text)
    older = 0
    for benchmark in sorted((root / "benchmarks").rglob("*.tsv")):
        name = benchmark.relative_to(root).as_posix()
        if latest is not None and name not in latest:
            older += 1
            continue
        kind = kinds.setdefault(
            kind_of(benchmark, root), {"jobs": 0, "s": 0.0, "core_s": 0.0, "startup": 0.0}
        )
        cores, seconds = threads.get(name, 1), job_seconds(benchmark)
        kind["jobs"] += 1
        kind["s"] += seconds
        kind["core_s"] += cores * seconds
        kind["startup"] += cores * (startup_seconds(log_of(benchmark, root)) or 0.0)
    return kinds, older


def report(root: Path) -> str:
    kinds, older = breakdown(root)
    if not kinds:
        return f"no benchmarks of a run under {root / 'benchmarks'}: run the workflow first"
    seconds = sum(k["s"] for k in kinds.values())
    total = sum(k["core_s"] for k in kinds.values())
    startup = sum(k["startup"] for k in kinds.values())
    lines = ["the jobs of the latest Snakemake run that ran any (its log in .snakemake/log/)"]
    if older:
        lines[0] += (
            f"; {older} older benchmark file(s) left out (jobs not rerun, or since renamed:"
            " `make clean` removes them)"
        )
    lines += [
        f"{'kind':<22}{'jobs':>6}{'job-s':>9}{'core-s':>9}{'share':>8}{'mean s':>8}"
        f"{'start-up core-s':>17}"
    ]
    for name, k in sorted(kinds.items(), key=lambda item: -item[1]["core_s"]):
        lines.append(
            f"{name:<22}{k['jobs']:>6}{k['s']:>9.1f}{k['core_s']:>9.1f}{k['core_s'] / total:>8.0%}"
            f"{k['s'] / k['jobs']:>8.1f}{k['startup']:>17.1f}"
        )
    jobs = sum(k["jobs"] for k in kinds.values())
    lines.append(
        f"{'total':<22}{jobs:>6}{seconds:>9.1f}{total:>9.1f}{'':>8}{'':>8}{startup:>17.1f}"
    )
    lines.append(
        f"fixed per-process cost (start-up before each job's work): {startup:.1f} core-s, "
        f"{startup / total:.1%} of the core-seconds"
    )
    run = latest_run(root)
    if run:
        wall, cores = run
        fill = f"; core-seconds / (cores x wall) = {total / (cores * wall):.0%}" if cores else ""
        lines.append(f"wall time of the latest Snakemake run: {wall:.0f} s on {cores} cores{fill}")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=Path("."), help="working directory")
    print(report(parser.parse_args(argv).root))


if __name__ == "__main__":
    main()
