"""python -m bnopt.timing: where a DAG's time went, from Snakemake's benchmarks and logs."""

import subprocess
import sys

import pytest

from bnopt import timing
from bnopt.logs import STARTUP

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def job(root, benchmark: str, seconds: float, startup: float | None):
    path = root / "benchmarks" / benchmark
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:01\t1\t1\t1\t1\t0\t0\t50\t{seconds}\n")
    log = root / "logs" / benchmark.replace(".tsv", ".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    if startup is not None:
        log.write_text(f"[x] 2026-12-03 12:00:00,000 INFO bnopt: {STARTUP} {startup:.2f} CPU-s\n")


@pytest.fixture
def finished_dag(tmp_path):
    job(tmp_path, "train/batch_lr0.1_seed0.tsv", 20.0, 3.0)
    job(tmp_path, "train/none_lr0.1_seed0.tsv", 10.0, 3.0)
    job(tmp_path, "train/dln_none_lr1e-06_seed0.tsv", 5.0, 3.0)
    job(tmp_path, "figures/fig1_training.tsv", 2.0, 1.0)
    job(tmp_path, "figures/resnet_landscape/fig5_loss_landscape.tsv", 2.0, 1.0)
    job(tmp_path, "claims.tsv", 1.0, 1.0)
    job(tmp_path, "data/download_cifar10.tsv", 0.0, None)  # a run: block writes no start-up
    job(tmp_path, "figures/fig2_test_accuracy.tsv", 9.0, 9.0)  # a job of an earlier run
    # Snakemake prints a job's threads when it has more than one: the first holds 2 cores
    jobs = "".join(
        f"[Thu Dec  3 12:00:00 2026]\nlocalrule x:\n    benchmark: benchmarks/{name}\n"
        f"{'    threads: 2' if name.startswith('train/batch') else '    wildcards: a=b'}\n"
        "    resources: tmpdir=/tmp\n"
        for name in ("train/batch_lr0.1_seed0.tsv", "train/none_lr0.1_seed0.tsv",
                     "train/dln_none_lr1e-06_seed0.tsv", "figures/fig1_training.tsv",
                     "figures/resnet_landscape/fig5_loss_landscape.tsv", "claims.tsv",
                     "data/download_cifar10.tsv")
    )  # fmt: skip
    logs = tmp_path / ".snakemake" / "log"
    logs.mkdir(parents=True)
    (logs / "2026-12-03T120000.000000.snakemake.log").write_text(
        f"Provided cores: 2\n{jobs}[Thu Dec  3 12:00:20 2026]\nFinished jobid: 1\n"
    )
    # a later `snakemake --report` (or dry run) ran no job: not the latest run
    (logs / "2026-12-03T130000.000000.snakemake.log").write_text("Provided cores: 1\n")
    return tmp_path


def test_the_breakdown_sums_job_and_core_seconds_and_start_up_per_kind(finished_dag):
    latest = timing.latest_run_log(finished_dag)
    assert timing.threads_in(latest) == {"benchmarks/train/batch_lr0.1_seed0.tsv": 2}
    kinds, older = timing.breakdown(finished_dag)
    assert older == 1 and kinds["figures"]["jobs"] == 2  # fig2's job was not in that run
    # the 20 s job of 2 threads holds 2 cores: 40 core-s, and its 3 s start-up 6
    assert kinds["train (image)"] == {"jobs": 2, "s": 30.0, "core_s": 50.0, "startup": 9.0}
    assert kinds["train (deep linear)"] == {"jobs": 1, "s": 5.0, "core_s": 5.0, "startup": 3.0}
    assert kinds["figures"] == {"jobs": 2, "s": 4.0, "core_s": 4.0, "startup": 2.0}
    assert kinds["claims"] == {"jobs": 1, "s": 1.0, "core_s": 1.0, "startup": 1.0}
    assert kinds["data"] == {"jobs": 1, "s": 0.0, "core_s": 0.0, "startup": 0.0}
    assert timing.latest_run(finished_dag) == (20.0, 2)


def test_the_command_prints_the_fixed_cost_share_and_the_wall_time(finished_dag):
    result = subprocess.run(
        [sys.executable, "-m", "bnopt.timing", str(finished_dag)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = result.stdout
    assert "train (image)" in out.splitlines()[2]  # the largest kind first
    assert "fixed per-process cost (start-up before each job's work): 15.0 core-s, 25.0%" in out
    assert "wall time of the latest Snakemake run: 20 s on 2 cores" in out
    assert "core-seconds / (cores x wall) = 150%" in out
    assert "1 older benchmark file(s) left out" in out


def test_without_benchmarks_it_says_so(tmp_path):
    assert "no benchmarks" in timing.report(tmp_path)
