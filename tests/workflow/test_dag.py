"""The workflow's DAG and its checks, by dry runs on a user's copy: targets, data, config."""

import json
import os
import re
import shutil

import pytest
import torch
import yaml

from bnopt import data, synthetic_images
from bnopt.figures import FIGURE
from bnopt.runs import run_settings
from workflow_helpers import (
    CONFIG,
    FIGURES,
    drawn_figures,
    figure_jobs_of,
    merged_config,
    planned_figures,
    planned_jobs,
    planned_runs,
    snakemake,
)


def test_paper_config_dry_run_lists_download_prepare_and_every_run(copy):
    out = snakemake(copy, "-n", "--cores", "4").stdout
    jobs = planned_jobs(out)
    assert jobs["download_cifar10"] == 1 and jobs["prepare_data"] == 1
    # VGG: {none, batch} x {0.1, 0.5, 0.01}, and noisy_batch, l1, l2, linf at 0.1; beyond the
    # paper, ResNet-20 with {none, batch, group} at 0.1; three seeds of each. The deep linear
    # network, {none, batch, l1, l2, linf} x {1e-6, 1e-7} x 3 seeds: one job per normalisation.
    assert jobs["train"] == 3 * 13 and jobs["train_dln"] == 5
    assert len(planned_runs(out)) == 3 * 13 + 5 * 2 * 3
    assert jobs["report"] == 1 and jobs["claims"] == 1
    # five VGG experiments, the ResNet's, the DLN's, and the edge of stability's and scale
    # invariance's (the landscape runs: no run of their own); the networks at
    # initialisation, one job of their own
    assert jobs["tables"] == 9 and jobs["initialisation"] == 1
    landscape = [name for name in FIGURES if FIGURE[name].experiment == "landscape"]
    assert len(FIGURES) == 26 and len(landscape) == 5
    # all but gradient_concentration (config/outliers.yaml), and the ResNet's five
    drawn = planned_figures(out)
    assert sorted(sum(drawn.values(), [])) == sorted(drawn_figures(merged_config()))
    assert len(drawn_figures(merged_config())) == 25 + 5
    # one figure job per experiment (the networks at initialisation's included)
    assert set(drawn) == set(merged_config()["experiments"]) | {"initialisation"}
    assert figure_jobs_of(jobs) == len(drawn) == 10
    assert {"resnet20_none_lr0.1_seed0", "resnet20_group_lr0.1_seed0"} <= planned_runs(out)
    assert "results/figures/resnet_landscape/fig5_loss_landscape.png" in out


def test_the_claims_are_a_target_of_their_own(copy):
    # The README's command, as a dry run: the verdicts need the tables, not the figures.
    out = snakemake(copy, "results/claims.tsv", "--cores", "2", "--configfile",
                    "config/demo.yaml", "-n").stdout  # fmt: skip
    jobs = planned_jobs(out)
    assert jobs["claims"] == 1 and jobs["tables"] == 9 and jobs["initialisation"] == 1
    assert figure_jobs_of(jobs) == 0 and "report" not in jobs
    assert "seed1" in " ".join(planned_runs(out))  # the demo trains two seeds


def test_an_experiment_added_to_the_config_adds_only_its_own_jobs(copy):
    # VGG-A with Adam, an experiment of the ICS kind: its 2 runs, 1 table, 3 figures.
    adam = {"kind": "ics", "optimizer": "adam", "normalizations": ["none", "batch"],
            "lrs": [0.001]}  # fmt: skip
    (copy / "adam.yaml").write_text(yaml.safe_dump({"experiments": {"adam_ics": adam}}))
    before = planned_jobs(snakemake(copy, "-n", "--cores", "4").stdout)
    out = snakemake(copy, "-n", "--cores", "4", "--configfile", "adam.yaml").stdout
    jobs = planned_jobs(out)
    ics = [name for name in FIGURES if FIGURE[name].experiment == "ics"]
    assert jobs["train"] == before["train"] + 2 * 3 and jobs["tables"] == before["tables"] + 1
    assert figure_jobs_of(jobs) == figure_jobs_of(before) + 1
    assert planned_figures(out)["adam_ics"] == [f"adam_ics/{name}" for name in ics]
    assert len(ics) == 3
    assert {"adam_none_lr0.001_seed0", "adam_batch_lr0.001_seed0"} <= planned_runs(out)
    assert "results/figures/adam_ics/fig3_ics_l2.png" in out


def test_an_adam_landscape_experiment_also_draws_the_landscape_along_adams_own_step(copy):
    adam = {"kind": "landscape", "optimizer": "adam", "normalizations": ["none", "batch"],
            "lrs": [0.001]}  # fmt: skip
    (copy / "adam.yaml").write_text(yaml.safe_dump({"experiments": {"adam_landscape": adam}}))
    out = snakemake(copy, "-n", "--cores", "4", "--configfile", "adam.yaml").stdout
    assert "results/figures/adam_landscape/own_step_landscape.png" in out
    assert "results/tables/adam_landscape/own_step.tsv" in out
    assert "own_step_landscape.png" not in out.replace("adam_landscape/own_step_landscape", "")


def test_a_second_dln_experiment_adds_its_runs_tables_and_figures_in_the_same_jobs(copy):
    # The deep linear network at another learning rate: its 2 x 2 runs join the demo's five
    # DLN jobs (one per normalisation), with their own table and figures; the first's stay.
    fast = {"model": "dln", "normalizations": ["none", "batch"], "lrs": [1.0e-5]}
    (copy / "fast.yaml").write_text(yaml.safe_dump({"experiments": {"dln_fast": fast}}))
    args = ("-n", "--cores", "2", "--configfile", "config/demo.yaml")
    before = snakemake(copy, *args).stdout
    out = snakemake(copy, *args, "fast.yaml").stdout
    jobs, was = planned_jobs(out), planned_jobs(before)
    dln = [name for name in FIGURES if FIGURE[name].experiment == "dln"]
    assert jobs["train_dln"] == was["train_dln"] == 5 and jobs["train"] == was["train"]
    assert jobs["tables"] == was["tables"] + 1
    assert figure_jobs_of(jobs) == figure_jobs_of(was) + 1
    assert planned_figures(out)["dln_fast"] == [f"dln_fast/{name}" for name in dln]
    assert planned_runs(out) - planned_runs(before) == {
        f"dln_{n}_lr1e-05_seed{s}" for n in ("none", "batch", "l1", "l2", "linf") for s in (0, 1)
    }  # every normalisation's job trains every DLN learning rate
    for name in dln:
        assert f"results/figures/dln_fast/{name}.png" in out
        assert f"results/figures/{name}.png" in out


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
    assert planned_runs(out) == {f"{n}_lr0.1_seed{s}" for n in ("none", "batch") for s in (0, 1, 2)}
    jobs = planned_jobs(out)
    assert jobs["train"] == 6 and figure_jobs_of(jobs) == 1 and "report" not in jobs
    # its job draws the landscape experiment's figures, which read the same tables
    landscape = [n for n in FIGURES if FIGURE[n].experiment == "landscape"]
    assert planned_figures(out) == {"landscape": landscape}


def test_with_seeds_in_one_job_a_configurations_seeds_share_a_job(copy):
    """train.seeds_in_one_job (the demo's): the same runs, one job per configuration, each
    run's log where a job of its own writes it and the SLURM time limit of all its runs; one
    figure as a target still trains only its runs."""
    (copy / "seeds.yaml").write_text(yaml.safe_dump({"train": {"seeds_in_one_job": True}}))
    target = "results/figures/fig5_loss_landscape.png"
    out = snakemake(copy, "-n", "--cores", "4", target, "--configfile", "seeds.yaml").stdout
    alone = snakemake(copy, "-n", "--cores", "4", target).stdout
    assert planned_runs(out) == planned_runs(alone) and len(planned_runs(out)) == 6
    assert planned_jobs(out)["train"] == 2 and planned_jobs(alone)["train"] == 6
    logs = {f"logs/train/batch_lr0.1_seed{s}.log" for s in (0, 1, 2)}
    assert re.search(r"log: logs/train/batch_lr0\.1\.log, (.*)$", out, re.M)[1].split(
        ", "
    ) == sorted(logs)
    runtime = [int(m) for m in re.findall(r"runtime=(\d+)", out)]
    assert runtime and set(runtime) >= {3 * int(re.search(r"runtime=(\d+)", alone)[1])}


def test_the_loss_surface_is_a_target_of_its_own_and_not_part_of_all(copy):
    out = snakemake(copy, "-n", "--cores", "4", "results/figures/loss_surface.png").stdout
    assert planned_runs(out) == {f"{n}_lr0.1_seed{s}" for n in ("none", "batch") for s in (0, 1, 2)}
    jobs = planned_jobs(out)
    assert jobs["surface"] == 6 and jobs["surface_table"] == 1 and figure_jobs_of(jobs) == 1
    assert planned_figures(out) == {"landscape_loss_surface": ["loss_surface"]}
    assert "surface" not in planned_jobs(snakemake(copy, "-n", "--cores", "4").stdout)


BAD_VALUES = [
    ("train: null", "train: null is not allowed"),
    ("data: null", "data: null is not allowed"),
    ("train: {batch_size: 6000}", "train.batch_size: 6000 is larger than the 5000 training"),
    ("{data: {dataset: cifar10}, train: {batch_size: 60000}}", "than the 50000 training images"),
    ("models: {dln: {ics_layers: [9, 30]}}", "models.dln.ics_layers: [30] outside 1..25"),
    ("dln: {steps: 300}", "dln: the deep linear network's section is gone: its normalizations"),
    ("experiments: {dln: {model: vgg_a}}", "experiments.dln.model: 'vgg_a'; the paper's dln"),
    ("probes: {eta_multipliers: [0.5, 1, 1.0]}", "probes.eta_multipliers: [0.5, 1, 1.0] repeats"),
    ("data: {dataset: cifar10, archive: nowhere.tar.gz}", "data.archive: nowhere.tar.gz is not a"),
    ("train: {device: tpu}", "train.device: 'tpu' does not match"),
    ("experiments: {landscape: {lrs: [.inf]}}", "experiments.landscape.lrs[0]: inf is not a"),
    ("train: {steps: 1000000000000}", "train.steps: 1000000000000 is greater than the maximum"),
    ("train: {steps: 10}\ntrain: {steps: 20}", "bad.yaml, line 2: the key 'train' is given twice"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_VALUES, ids=[b for b, _ in BAD_VALUES])
def test_a_bad_value_stops_the_dry_run_naming_the_key_without_a_traceback(copy, bad, message):
    (copy / "bad.yaml").write_text(bad + "\n")
    args = ("-n", "--configfile", "config/demo.yaml", "bad.yaml")
    result = snakemake(copy, *args, check=False, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and message in output
    assert "Traceback" not in output and 'File "' not in output


@pytest.mark.parametrize("name", ["../../../escape_exp", "a|.*", "$(touch x)"])
def test_no_experiment_name_writes_outside_the_working_directory(copy, name):
    """Run for real (not a dry run): the name is refused before any job, nothing is written
    beside or above the working directory, and the message names the key."""
    spec = {"kind": "landscape", "normalizations": ["none"], "lrs": [0.1]}
    config = merged_config(copy / "config/demo.yaml")
    config["experiments"][name] = spec
    (copy / "hostile.yaml").write_text(yaml.safe_dump(config))
    around = sorted(p for p in copy.parent.rglob("*") if copy not in p.parents and p != copy)
    result = snakemake(copy, "--cores", "1", "--configfile", "hostile.yaml", check=False)
    assert result.returncode != 0
    assert f"experiments: the name {name!r} is not allowed" in result.stderr
    assert (
        sorted(p for p in copy.parent.rglob("*") if copy not in p.parents and p != copy) == around
    )
    assert not (copy / "x").exists() and not (copy / "results").exists()


@pytest.mark.skipif(shutil.which("sbatch") is not None, reason="jobs may run elsewhere")
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_a_gpu_device_on_a_machine_without_one_stops_the_dry_run(copy, device):
    (copy / "gpu.yaml").write_text(f"train: {{device: '{device}'}}\n")
    result = snakemake(copy, "-n", "--configfile", "gpu.yaml", check=False, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"train.device is '{device}' but torch finds no CUDA device" in output
    assert "Traceback" not in output and 'File "' not in output


def test_a_local_archive_older_than_the_code_is_read_and_never_deleted(copy, tmp_path):
    archive = tmp_path / "my-cifar-copy.tar.gz"
    synthetic_images.write_synthetic_archive(archive, 100, 20, seed=1)
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
        f.write("\nDATA_CODE_EDIT = 1\n")  # a real edit: prepare_data runs again
    jobs = planned_jobs(snakemake(copy, "resources/cifar10.npz", "-n", *args).stdout)
    assert jobs["prepare_data"] == 1 and "download_cifar10" not in jobs
    snakemake(copy, "resources/cifar10.npz", *args)
    assert archive.read_bytes() == content and archive.stat().st_mtime == 1e9


def test_the_downloaded_archive_is_not_downloaded_again_when_code_changes(copy):
    downloaded = copy / "resources/download/cifar-10-binary.tar.gz"
    downloaded.parent.mkdir(parents=True)
    downloaded.write_bytes(b"stands in for the verified download")
    os.utime(downloaded, (1e9, 1e9))
    for module in ("data.py", "download.py", "logs.py"):
        with open(copy / "workflow/scripts/bnopt" / module, "a") as f:
            f.write("\nAN_EDIT = 1\n")
    jobs = planned_jobs(snakemake(copy, "-n", "--cores", "1", "resources/cifar10.npz").stdout)
    assert jobs == {"prepare_data": 1}


def test_a_typo_in_a_config_key_stops_before_any_job(copy):
    (copy / "typo.yaml").write_text("train:\n  stesp: 10\n")
    result = snakemake(copy, "-n", "--configfile", "typo.yaml", check=False)
    assert result.returncode != 0
    assert "train.stesp" in result.stderr + result.stdout


def test_training_jobs_take_a_gpu_token_unless_the_config_is_cpu_only(copy):
    out = snakemake(copy, "-n", "--cores", "4", "results/runs/batch_lr0.1_seed0/meta.json").stdout
    assert re.search(r"resources: .*gpu=1", out)
    # the deep linear network's jobs take none even on the paper's config
    dln_run = "results/runs/dln_none_lr1e-06_seed0/meta.json"
    out = snakemake(copy, "-n", "--cores", "4", dln_run).stdout
    assert planned_jobs(out)["train_dln"] == 1 and "dln_none_lr1e-07_seed2" in planned_runs(out)
    assert re.search(r"resources: .*gpu=0", out) and not re.search(r"gpu=1", out)
    out = snakemake(copy, "results/runs/batch_lr0.1_seed0/meta.json", "-n", "--cores", "2",
                    "--configfile", "config/demo.yaml").stdout  # fmt: skip
    assert not re.search(r"resources: .*gpu=1", out)


@pytest.mark.slow
def test_an_offline_machine_fails_at_the_download_before_any_training(copy):
    """Run for real: the download job runs first and alone (priority, every core), so the
    deep linear network's jobs, which need no data, never start."""
    (copy / "offline.yaml").write_text(
        'data: {url: "http://127.0.0.1:9/cifar-10-binary.tar.gz"}\ntrain: {device: cpu}\n'
    )
    result = snakemake(copy, "--cores", "4", "--configfile", "offline.yaml", check=False)
    assert result.returncode != 0
    assert "Without network access, copy cifar-10-binary.tar.gz" in result.stdout + result.stderr
    assert not (copy / "logs/train").exists() and not (copy / "results/runs").exists()


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("seeds_in_one_job", [False, True])
def test_device_auto_without_a_gpu_stops_before_any_job_when_training_would_take_hours(
    copy, seeds_in_one_job
):
    settings = {"data": {"dataset": "synthetic"}, "train": {"seeds_in_one_job": seeds_in_one_job}}
    (copy / "synthetic.yaml").write_text(yaml.safe_dump(settings))  # no download needed
    result = snakemake(copy, "--cores", "2", "--configfile", "synthetic.yaml", check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "stopped before any job: train.device is auto and torch finds no CUDA" in message
    assert "so the 39 training run(s) would run on the CPU" in message  # 3 seeds x 13
    assert "set train.device: cpu to train on this CPU anyway" in message
    assert "Traceback" not in message
    assert not (copy / "logs").exists() and not (copy / "resources").exists()
    # one small run is allowed on the CPU: minutes, not hours
    (copy / "small.yaml").write_text(
        "data: {dataset: synthetic, synthetic: {n_train: 200, n_test: 50}}\n"
        "model: {width: 0.0625}\ntrain: {steps: 4, batch_size: 8, eval_every: 4}\n"
        "probes: {every: 0, curvature_every: 0}\n"
    )
    run = "results/runs/batch_lr0.1_seed0/meta.json"
    snakemake(copy, run, "--cores", "2", "--configfile", "small.yaml")
    assert (copy / run).exists()


def test_the_hessian_outliers_config_adds_a_table_and_a_figure_but_no_run(copy):
    """config/outliers.yaml (Ghorbani et al. 2019) probes the landscape runs: no run of its
    own, its table and figure, and the probe in those runs' settings only."""
    before = planned_jobs(snakemake(copy, "-n", "--cores", "2", "--configfile",
                                    "config/demo.yaml").stdout)  # fmt: skip
    out = snakemake(copy, "-n", "--cores", "2", "--configfile", "config/demo.yaml",
                    "config/outliers.yaml").stdout  # fmt: skip
    jobs = planned_jobs(out)
    assert jobs["train"] == before["train"] and jobs["tables"] == before["tables"] + 1
    assert figure_jobs_of(jobs) == figure_jobs_of(before) + 1
    assert planned_figures(out)["hessian_outliers"] == ["gradient_concentration"]
    config = merged_config(CONFIG / "demo.yaml", CONFIG / "outliers.yaml")
    assert run_settings(config, "batch_lr0.1_seed0")["probes"]["outlier_k"] == 10
    assert run_settings(config, "batch_lr0.5_seed0")["probes"]["outlier_k"] == 0
