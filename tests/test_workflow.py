"""The workflow itself: dry runs of the DAG, a demo run end to end, reruns, resume."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bnopt import data
from bnopt.figures import FIGURE
from conftest import ROOT

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
FIGURES = list(FIGURE)


def workflow_copy(folder: Path) -> Path:
    """The workflow's own files in a fresh folder, as a user's clone would have them."""
    for name in ("Snakefile", "environment.yml"):
        shutil.copy(ROOT / name, folder / name)
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def own_package(folder: Path) -> dict:
    """The environment of a copy that imports its own package, as its own install would."""
    return {**os.environ, "PYTHONPATH": str(folder / "workflow" / "scripts")}


def snakemake(folder, *args, check=True, timeout=600):
    result = subprocess.run(
        [SNAKEMAKE, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=own_package(folder),
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result


def planned_jobs(output: str) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run."""
    stats = output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}


def planned_runs(output: str) -> set[str]:
    """The runs whose training jobs a dry run schedules."""
    return set(re.findall(r"^rule train:\n.*\n\s+output: results/runs/([^/\s]+)/", output, re.M))


@pytest.fixture
def copy(tmp_path):
    return workflow_copy(tmp_path)


def test_paper_config_dry_run_lists_download_prepare_and_every_run(copy):
    jobs = planned_jobs(snakemake(copy, "-n", "--cores", "4").stdout)
    assert jobs["download_cifar10"] == 1 and jobs["prepare_data"] == 1
    # {none, batch} x {0.1, 0.5, 0.01}, and noisy_batch, l1, l2, linf at 0.1
    assert jobs["train"] == 10 and jobs["tables"] == 5 and jobs["report"] == 1
    # {none, batch, l1, l2, linf} x {1e-6, 1e-7}
    assert jobs["dln_train"] == 10 and jobs["dln_tables"] == 1
    assert jobs["figure"] == len(FIGURES) == 18


def test_demo_config_dry_run_lists_synthetic_data(copy):
    out = snakemake(copy, "-n", "--cores", "2", "--configfile", "config/demo.yaml").stdout
    jobs = planned_jobs(out)
    assert jobs["synthetic_data"] == 1 and jobs["prepare_data"] == 1
    assert "download_cifar10" not in jobs


def test_a_local_archive_replaces_the_download(copy, tmp_path):
    archive = tmp_path / "cifar-10-binary.tar.gz"
    archive.write_bytes(b"placeholder")
    config = yaml.safe_load((copy / "config/config.yaml").read_text())
    config["data"]["archive"] = str(archive)
    (copy / "local.yaml").write_text(yaml.safe_dump(config))
    out = snakemake(copy, "-n", "--cores", "2", "--configfile", "local.yaml").stdout
    assert "download_cifar10" not in planned_jobs(out)
    assert str(archive) in out


def test_one_figure_as_target_schedules_only_its_runs(copy):
    out = snakemake(copy, "-n", "--cores", "4", "results/figures/fig5_loss_landscape.png").stdout
    assert planned_runs(out) == {"none_lr0.1_seed0", "batch_lr0.1_seed0"}
    jobs = planned_jobs(out)
    assert jobs["train"] == 2 and jobs["figure"] == 1 and "report" not in jobs


BAD_VALUES = [
    ("train: null", "train: null is not allowed"),
    ("data: null", "data: null is not allowed"),
    ("train: {batch_size: 6000}", "train.batch_size: 6000 is larger than the 5000 training"),
    ("{data: {dataset: cifar10}, train: {batch_size: 60000}}", "than the 50000 training images"),
    ("dln: {ics_layers: [9, 30]}", "dln.ics_layers: [30] outside 1..25"),
    ("probes: {eta_multipliers: [0.5, 1, 1.0]}", "probes.eta_multipliers: [0.5, 1, 1.0] repeats"),
    ("data: {dataset: cifar10, archive: nowhere.tar.gz}", "data.archive: nowhere.tar.gz is not a"),
    ("train: {device: tpu}", "train.device: 'tpu' does not match"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_VALUES, ids=[b for b, _ in BAD_VALUES])
def test_a_bad_value_stops_the_dry_run_naming_the_key_without_a_traceback(copy, bad, message):
    (copy / "bad.yaml").write_text(bad + "\n")
    args = ("-n", "--configfile", "config/demo.yaml", "bad.yaml")
    result = snakemake(copy, *args, check=False, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and message in output
    assert "Traceback" not in output and 'File "' not in output


def test_a_local_archive_older_than_the_code_is_read_and_never_deleted(copy, tmp_path):
    archive = tmp_path / "my-cifar-copy.tar.gz"
    data.write_synthetic_archive(archive, 100, 20, seed=1)
    os.utime(archive, (1e9, 1e9))  # as after cp -p or untarring a backup: older than the code
    content = archive.read_bytes()
    (copy / "local.yaml").write_text(f"data: {{dataset: cifar10, archive: {archive}}}\n")
    args = ("--cores", "1", "--configfile", "config/demo.yaml", "local.yaml")
    snakemake(copy, "resources/cifar10.provenance.json", *args)
    provenance = json.loads((copy / "resources/cifar10.provenance.json").read_text())
    assert provenance["origin"] == "local" and provenance["official_cifar10"] is False
    assert provenance["md5"] == data.md5sum(archive) and provenance["archive"] == archive.name
    assert "not the official CIFAR-10" in provenance["description"]
    with open(copy / "workflow/scripts/bnopt/data.py", "a") as f:
        f.write("\n# an edit of the data code\n")
    jobs = planned_jobs(snakemake(copy, "resources/cifar10.npz", "-n", *args).stdout)
    assert jobs["prepare_data"] == 1 and "download_cifar10" not in jobs
    snakemake(copy, "resources/cifar10.npz", *args)
    assert archive.read_bytes() == content and archive.stat().st_mtime == 1e9


def test_the_downloaded_archive_is_not_downloaded_again_when_code_changes(copy):
    downloaded = copy / "resources/download/cifar-10-binary.tar.gz"
    downloaded.parent.mkdir(parents=True)
    downloaded.write_bytes(b"stands in for the verified download")
    os.utime(downloaded, (1e9, 1e9))
    for module in ("data.py", "logs.py"):
        with open(copy / "workflow/scripts/bnopt" / module, "a") as f:
            f.write("\n# an edit\n")
    jobs = planned_jobs(snakemake(copy, "-n", "--cores", "1", "resources/cifar10.npz").stdout)
    assert jobs == {"prepare_data": 1}


def test_the_workflow_dry_runs_as_a_module_of_another_workflow(copy, tmp_path_factory):
    host = tmp_path_factory.mktemp("host")
    (host / "Snakefile").write_text(
        f'configfile: "{copy}/config/demo.yaml"\n\n\n'
        f'module reproduction:\n    snakefile:\n        "{copy}/Snakefile"\n'
        "    config:\n        config\n\n\nuse rule * from reproduction\n"
    )
    result = subprocess.run(
        [SNAKEMAKE, "-n", "--cores", "1"], cwd=host, capture_output=True, text=True,
        timeout=300, env=own_package(copy),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_jobs(result.stdout)
    assert jobs["train"] == 10 and jobs["dln_train"] == 10 and jobs["report"] == 1
    # the code inputs are the module's own files, relative to the host's folder
    assert f"{os.path.relpath(copy, host)}/workflow/scripts/bnopt/training.py" in result.stdout


def test_a_python_without_this_workflows_package_is_told_how_to_install_it(copy):
    other = copy.parent / "other-checkout-scripts"
    shutil.copytree(copy / "workflow" / "scripts", other)
    result = subprocess.run(
        [SNAKEMAKE, "-n"], cwd=copy, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(other)},
    )  # fmt: skip
    assert result.returncode != 0
    assert f"imports bnopt from {other / 'bnopt'}, not from this workflow" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_typo_in_a_config_key_stops_before_any_job(copy):
    (copy / "typo.yaml").write_text("train:\n  stesp: 10\n")
    result = snakemake(copy, "-n", "--configfile", "typo.yaml", check=False)
    assert result.returncode != 0
    assert "train.stesp" in result.stderr + result.stdout


def test_training_jobs_take_a_gpu_token_unless_the_config_is_cpu_only(copy):
    out = snakemake(copy, "-n", "--cores", "4", "results/runs/batch_lr0.1_seed0/meta.json").stdout
    assert re.search(r"resources: .*gpu=1", out)
    out = snakemake(copy, "results/runs/batch_lr0.1_seed0/meta.json", "-n", "--cores", "2",
                    "--configfile", "config/demo.yaml").stdout  # fmt: skip
    assert not re.search(r"resources: .*gpu=1", out)


@pytest.mark.slow
def test_demo_end_to_end_then_reruns_only_what_changed(copy):
    demo = ("--cores", "2", "--configfile", "config/demo.yaml")
    started = time.perf_counter()
    snakemake(copy, *demo)
    elapsed = time.perf_counter() - started
    print(f"demo DAG: {elapsed:.1f} s")
    for figure in FIGURES:
        for ext in ("png", "pdf"):
            assert (copy / f"results/figures/{figure}.{ext}").stat().st_size > 1000
    assert (copy / "results/figures/fig1_training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (copy / "results/report.html").read_text()
    assert html.count("data:image/png;base64,") >= len(FIGURES) and "http://" not in html
    config = yaml.safe_load((copy / "config/demo.yaml").read_text())
    steps, every = config["train"]["steps"], config["probes"]["every"]
    dln_steps, dln_every = config["dln"]["steps"], config["dln"]["probes_every"]
    families = ("landscape", "predictiveness", "beta", "ics", "activations", "metrics")
    tables = [(f"{e}/{f}", steps, every) for e in config["experiments"] for f in families]
    tables += [(f"dln/{f}", dln_steps, dln_every) for f in families if f != "activations"]
    for name, run_steps, run_every in tables:
        table = pd.read_csv(copy / f"results/tables/{name}.tsv", sep="\t")
        assert not table.empty and table["value"].notna().all(), name
        assert table["value"].abs().lt(float("inf")).all(), name
        # every run of the experiment, at every probed step (metrics: at every step and 0)
        experiment = name.split("/")[0]
        spec = config["dln"] if experiment == "dln" else config["experiments"][experiment]
        seeds = config["dln" if experiment == "dln" else "train"]["seeds"]
        runs = len(spec["normalizations"]) * len(spec["lrs"]) * len(seeds)
        assert table["run"].nunique() == runs, name
        expected = run_steps + 1 if name.endswith("/metrics") else run_steps // run_every
        assert (table.groupby("run")["step"].nunique() == expected).all(), name
    assert not list(copy.glob("results/runs/*/checkpoint.pt"))
    meta = json.loads((copy / "results/runs/batch_lr0.1_seed0/meta.json").read_text())
    assert meta["data"]["origin"] == "synthetic" and "seed 0" in meta["data"]["description"]
    lines = (copy / "logs/train/batch_lr0.1_seed0.log").read_text().splitlines()
    assert lines and all(line.startswith("[batch_lr0.1_seed0] ") for line in lines)

    assert "Nothing to be done" in snakemake(copy, "-n", *demo).stdout
    # Settings that cannot change a run's numbers schedule no training job.
    config = yaml.safe_load((copy / "config/demo.yaml").read_text())
    config["train"].update(threads=2, log_every=50, checkpoint_every=100)
    (copy / "execution.yaml").write_text(yaml.safe_dump(config))
    out = snakemake(copy, "-n", "--cores", "2", "--configfile", "execution.yaml").stdout
    # (the report shows the resolved configuration, so it alone is redrawn)
    assert set(planned_jobs(out)) == {"report", "all"}
    # Editing plotting code reruns figures and the report, never a training job.
    with open(copy / "workflow/scripts/bnopt/plots.py", "a") as f:
        f.write("\n# an edit of the plotting code\n")
    jobs = planned_jobs(snakemake(copy, "-n", *demo).stdout)
    assert "train" not in jobs and "tables" not in jobs
    assert jobs["figure"] == len(FIGURES) and jobs["report"] == 1
    snakemake(copy, *demo)
    # A new learning rate in an experiment adds only the new runs.
    config = yaml.safe_load((copy / "config/demo.yaml").read_text())
    config["experiments"]["landscape"]["lrs"] = [0.1, 0.05]
    (copy / "more.yaml").write_text(yaml.safe_dump(config))
    out = snakemake(copy, "-n", "--cores", "2", "--configfile", "more.yaml").stdout
    assert planned_runs(out) == {"none_lr0.05_seed0", "batch_lr0.05_seed0"}
    # snakemake --report builds the workflow report from the same results.
    snakemake(copy, "--configfile", "config/demo.yaml", "--report", "wf-report.html")
    assert (copy / "wf-report.html").stat().st_size > 10_000
    # Moving (or renaming) the finished checkout reruns nothing.
    moved = copy.rename(copy.with_name("moved-checkout"))
    assert "Nothing to be done" in snakemake(moved, "-n", *demo).stdout
    # A finished run whose outputs Snakemake deletes and reruns (as after it flagged them
    # incomplete) is restored from its kept outputs in seconds, not trained again.
    run = moved / "results/runs/none_lr0.1_seed0"
    before = {name: (run / name).read_bytes() for name in ("metrics.tsv", "probes.tsv")}
    started = time.perf_counter()
    snakemake(moved, f"{run.relative_to(moved)}/meta.json", *demo, "--forcerun", "train")
    print(f"rerun of a finished run: {time.perf_counter() - started:.1f} s")
    log = (moved / "logs/train/none_lr0.1_seed0.log").read_text()
    assert "restored the outputs of this finished run" in log and " step " not in log
    assert {name: (run / name).read_bytes() for name in before} == before


@pytest.mark.slow
def test_a_training_job_killed_with_sigkill_resumes_on_rerun(copy):
    config = yaml.safe_load((copy / "config/demo.yaml").read_text())
    config["train"].update(steps=600, checkpoint_every=50)
    (copy / "long.yaml").write_text(yaml.safe_dump(config))
    target = "results/runs/none_lr0.1_seed0/meta.json"
    args = [SNAKEMAKE, target, "--cores", "1", "--configfile", "long.yaml"]
    proc = subprocess.Popen(args, cwd=copy, start_new_session=True, env=own_package(copy),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    checkpoint = copy / "results/runs/none_lr0.1_seed0/checkpoint.pt"
    deadline = time.time() + 300
    while not checkpoint.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert checkpoint.exists(), "no checkpoint was written before the kill"
    # Snakemake itself was killed too (as on a node failure): its lock stays behind.
    snakemake(copy, "--unlock", "--configfile", "long.yaml")
    snakemake(copy, target, "--cores", "1", "--rerun-incomplete", "--configfile", "long.yaml")
    log = (copy / "logs/train/none_lr0.1_seed0.log").read_text()
    assert "resumed from" in log
    metrics = pd.read_csv(copy / "results/runs/none_lr0.1_seed0/metrics.tsv", sep="\t")
    assert metrics["step"].max() == 600 and not checkpoint.exists()
