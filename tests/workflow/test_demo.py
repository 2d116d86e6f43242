"""The demo run end to end on a user's copy: outputs, reruns, moves, restores, resume."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bnopt import timing
from bnopt.claims import CLAIMS, NOT_MEASURABLE, OUTCOMES, read_claims
from bnopt.figures import FIGURE
from bnopt.probe_plan import families_read
from bnopt.runs import experiment_kind, experiment_kinds, takes_own_step
from workflow_helpers import (
    SNAKEMAKE,
    drawn_figures,
    merged_config,
    own_package,
    planned_figures,
    planned_jobs,
    planned_runs,
    snakemake,
)


def edit(path: Path, addition: str) -> tuple[Path, str]:
    """Append a real code edit to a file; returns what undo() needs."""
    before = path.read_text()
    path.write_text(before + addition)
    return path, before


def undo(edited: tuple[Path, str]) -> None:
    path, before = edited
    path.write_text(before)


@pytest.mark.slow
def test_demo_end_to_end_then_reruns_only_what_changed(copy):
    demo = ("--cores", "2", "--configfile", "config/demo.yaml")
    started = time.perf_counter()
    # 3 minutes on an AVX-512 machine, about 9 on a 2-core AVX2-only one: 3x the slower.
    snakemake(copy, *demo, timeout=1800)
    elapsed = time.perf_counter() - started
    print(f"demo DAG: {elapsed:.1f} s")
    # bnopt timing reads this run's own log: every job's benchmark, the threads granted (the
    # initialisation job's 2 under --cores 2), the run's wall time
    kinds, older = timing.breakdown(copy)
    assert older == 0 and sum(k["jobs"] for k in kinds.values()) == len(
        list((copy / "benchmarks").rglob("*.tsv"))
    )
    assert kinds["initialisation"]["core_s"] == 2 * kinds["initialisation"]["s"]
    assert kinds["train (image)"]["core_s"] == kinds["train (image)"]["s"]
    wall, cores = timing.latest_run(copy)
    assert cores == 2 and 0.5 * elapsed < wall <= elapsed
    config = merged_config(copy / "config/demo.yaml")
    figures = drawn_figures(config)  # the paper's and the beyond experiment's (ResNet-8)
    assert "resnet_landscape/fig5_loss_landscape" in figures
    for figure in figures:
        for ext in ("png", "pdf"):
            assert (copy / f"results/figures/{figure}.{ext}").stat().st_size > 1000
    assert (copy / "results/figures/fig1_training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (copy / "results/report.html").read_text()
    assert html.count("data:image/png;base64,") >= len(figures) and "http://" not in html
    assert "Beyond the paper" in html and "resnet_landscape" in html
    # The verdicts, one row per judged part, every claim of the demo's experiments, judged
    # over the demo's two seeds; the report shows the same outcomes.
    claims = read_claims(copy / "results/claims.tsv")
    # (of the follow-up literature's, those of the demo's experiments: not hessian_outliers)
    kinds = set(experiment_kinds(config).values())
    expected = {c.claim for c in CLAIMS if not c.shown_for and (c.always or c.group in kinds)}
    assert expected <= set(claims["claim"])
    assert set(claims["outcome"]) <= set(OUTCOMES)
    judged = claims[claims["part_outcome"] != NOT_MEASURABLE]
    # (the claims on networks at initialisation over initialisation.seeds)
    init_seeds = len(config["initialisation"]["seeds"])
    seeds = judged["group"].map(lambda group: init_seeds if group == "initialisation" else 2)
    assert len(judged) > len(CLAIMS) and (judged["seeds"] == seeds).all()
    assert {"initialisation", "scale_invariance"} <= set(judged["group"])
    assert (judged["low"] <= judged["estimate"] + 1e-12).all()
    assert (judged["estimate"] <= judged["high"] + 1e-12).all()
    for outcome in set(claims.drop_duplicates("claim")["outcome"]):
        assert f'class="verdict {outcome.replace(" ", "-")}">{outcome}<' in html
    steps, every = config["train"]["steps"], config["probes"]["every"]
    dln_steps, dln_every = config["models"]["dln"]["steps"], config["models"]["dln"]["probes_every"]
    # Every table an experiment's figures and claims read holds every run of it, at every
    # probed step (metrics: at every step and 0).
    tables = [
        (f"{e}/{f}", *((dln_steps, dln_every) if kind == "dln" else (steps, every)))
        for e in config["experiments"]
        for kind in [experiment_kind(config, e)]
        if kind != "initialisation"  # trains nothing: its own table, below
        for f in families_read(kind, takes_own_step(config, e))
    ]
    init = pd.read_csv(copy / "results/tables/initialisation/initialisation.tsv", sep="\t")
    assert init["value"].notna().all() and init["run"].nunique() == 2 * 2 * init_seeds
    assert len(tables) > 2 * len(config["experiments"])
    for name, run_steps, run_every in tables:
        table = pd.read_csv(copy / f"results/tables/{name}.tsv", sep="\t")
        assert not table.empty and table["value"].notna().all(), name
        assert table["value"].abs().lt(float("inf")).all(), name
        experiment = name.split("/")[0]
        spec = config["experiments"][experiment]
        own = experiment_kind(config, experiment) == "dln"
        seeds = (config["models"]["dln"] if own else config["train"])["seeds"]
        runs = len(spec["normalizations"]) * len(spec["lrs"]) * len(seeds)
        assert table["run"].nunique() == runs, name
        if name.endswith("/curvature"):
            every_curvature = config["probes"]["curvature_every"]
            expected = len(range(0, run_steps, every_curvature))
        elif name.endswith("/metrics"):
            expected = run_steps + 1
        else:
            expected = run_steps // run_every
        # A run that diverged (the standard VGG at lr 0.5 may) stops where it diverged.
        whole = table[table["diverged_at"].isna()] if "diverged_at" in table else table
        assert (whole.groupby("run")["step"].nunique() == expected).all(), name
    # A run that only Fig 1 reads takes no probe (bnopt.probe_plan).
    assert pd.read_csv(copy / "results/runs/none_lr0.5_seed0/probes.tsv", sep="\t").empty
    assert not list(copy.glob("results/runs/*/checkpoint.pt"))
    meta = json.loads((copy / "results/runs/batch_lr0.1_seed0/meta.json").read_text())
    assert meta["data"]["origin"] == "synthetic" and "seed 0" in meta["data"]["description"]
    lines = (copy / "logs/train/batch_lr0.1_seed0.log").read_text().splitlines()
    assert lines and all(line.startswith("[batch_lr0.1_seed0] ") for line in lines)

    assert "Nothing to be done" in snakemake(copy, "-n", *demo).stdout
    # Settings that cannot change a run's numbers schedule no training job.
    config = merged_config(copy / "config/demo.yaml")
    config["train"].update(threads=2, log_every=50, checkpoint_every=100)
    (copy / "execution.yaml").write_text(yaml.safe_dump(config))
    out = snakemake(copy, "-n", "--cores", "2", "--configfile", "execution.yaml").stdout
    # (the report shows the resolved configuration, so it alone is redrawn)
    assert set(planned_jobs(out)) == {"report", "all"}
    # What an edit reruns is derived from the code each job runs (bnopt.code_identity).
    # A comment, a docstring or reformatting reruns nothing, anywhere.
    package = copy / "workflow/scripts/bnopt"
    for module in ("models.py", "probes.py", "plots/style.py", "claims/landscape.py"):
        text = (package / module).read_text().replace('"""', '"""Edited docstring. ', 1)
        (package / module).write_text(text + "\n\n# a comment\n")
    assert "Nothing to be done" in snakemake(copy, "-n", *demo).stdout
    # Neither does a real edit of a module that changes no output (logging).
    with open(package / "logs.py", "a") as f:
        f.write("\nLOGGING_EDIT = 1\n")
    assert "Nothing to be done" in snakemake(copy, "-n", *demo).stdout
    # A real edit of the optimiser (imported by the training loop) retrains every run.
    edited = edit(package / "optimizers.py", "\nOPTIMIZER_EDIT = 1\n")
    out = snakemake(copy, "-n", *demo).stdout
    assert planned_runs(out) == {path.parent.name for path in copy.glob("results/runs/*/meta.json")}
    undo(edited)
    assert "Nothing to be done" in snakemake(copy, "-n", *demo).stdout
    # The deep linear network's own module retrains its runs only.
    edited = edit(package / "dln.py", "\nDLN_EDIT = 1\n")
    out = snakemake(copy, "-n", *demo).stdout
    assert planned_runs(out) and all(run.startswith("dln_") for run in planned_runs(out))
    undo(edited)
    # Editing the shared plotting style reruns every figure and the report, never a training
    # job; editing one experiment's plotting module reruns only its figures.
    edited = edit(package / "plots/style.py", "\nSTYLE_EDIT = 1\n")
    out = snakemake(copy, "-n", *demo).stdout
    jobs = planned_jobs(out)
    assert "train" not in jobs and "tables" not in jobs
    assert sorted(sum(planned_figures(out).values(), [])) == sorted(figures)
    assert jobs["report"] == 1
    undo(edited)  # what an edit reruns is decided by the code's content: undone, nothing
    assert "Nothing to be done" in snakemake(copy, "-n", *demo).stdout
    edited = edit(package / "plots/ics.py", "\nICS_EDIT = 1\n")
    out = snakemake(copy, "-n", *demo).stdout
    jobs = planned_jobs(out)
    ics_figures = [spec.name for spec in FIGURE.values() if spec.module == "ics"]
    assert len(ics_figures) == 3 and "train" not in jobs
    assert planned_figures(out) == {"ics": ics_figures}  # the ics experiment's job alone
    undo(edited)
    # Editing a claim's rule rejudges the claims and redraws the report, nothing else.
    edited = edit(package / "claims/landscape.py", "\nCLAIM_EDIT = 1\n")
    assert set(planned_jobs(snakemake(copy, "-n", *demo).stdout)) == {"claims", "report", "all"}
    undo(edited)
    # The report's template (a file the report module declares it reads) redraws the report
    # alone, and the report is really rebuilt with it.
    edited = edit(package / "templates/report.css", "\n/* a style edit */\n")
    assert set(planned_jobs(snakemake(copy, "-n", *demo).stdout)) == {"report", "all"}
    snakemake(copy, *demo)
    assert "/* a style edit */" in (copy / "results/report.html").read_text()
    # A new learning rate in an experiment adds only the new runs.
    config = merged_config(copy / "config/demo.yaml")
    config["experiments"]["landscape"]["lrs"] = [0.1, 0.05]
    (copy / "more.yaml").write_text(yaml.safe_dump(config))
    out = snakemake(copy, "-n", "--cores", "2", "--configfile", "more.yaml").stdout
    assert planned_runs(out) == {f"{n}_lr0.05_seed{s}" for n in ("none", "batch") for s in (0, 1)}
    # So does another normalisation (beyond the paper: GroupNorm in the l_p experiment).
    config["experiments"]["landscape"]["lrs"] = [0.1]
    config["experiments"]["lp"]["normalizations"].append("group")
    (copy / "group.yaml").write_text(yaml.safe_dump(config))
    out = snakemake(copy, "-n", "--cores", "2", "--configfile", "group.yaml").stdout
    assert planned_runs(out) == {"group_lr0.1_seed0", "group_lr0.1_seed1"}
    # A new experiment of a paper kind, on another network and optimiser, adds only its own
    # runs, its tables, its figures and the report.
    config["experiments"]["lp"]["normalizations"].remove("group")
    config["experiments"]["resnet_adam"] = {
        "kind": "landscape", "model": "resnet20", "optimizer": "adam",
        "normalizations": ["none", "batch"], "lrs": [0.001],
    }  # fmt: skip
    (copy / "beyond.yaml").write_text(yaml.safe_dump(config))
    out = snakemake(copy, "-n", "--cores", "2", "--configfile", "beyond.yaml").stdout
    runs = {f"resnet20_adam_{n}_lr0.001_seed{s}" for n in ("none", "batch") for s in (0, 1)}
    assert planned_runs(out) == runs
    landscape = [s for s in FIGURE.values() if s.experiment == "landscape" and not s.on_request]
    jobs = planned_jobs(out)
    assert jobs["tables"] == 1 and jobs["report"] == 1
    assert planned_figures(out) == {"resnet_adam": [f"resnet_adam/{s.name}" for s in landscape]}
    assert "results/figures/resnet_adam/fig5_loss_landscape.png" in out
    # snakemake --report builds the workflow report from the same results.
    snakemake(copy, "--configfile", "config/demo.yaml", "--report", "wf-report.html")
    workflow_report = (copy / "wf-report.html").read_text(errors="replace")
    assert len(workflow_report) > 10_000
    # its landing page describes the workflow, and the tidy tables are attached
    assert "How does batch normalization help optimization" in workflow_report
    assert "Tables" in workflow_report and "activations.tsv" in workflow_report
    # Moving (or renaming) the finished checkout reruns nothing, nor does a copy of it.
    moved = copy.rename(copy.with_name("moved-checkout"))
    assert "Nothing to be done" in snakemake(moved, "-n", *demo).stdout
    copied = Path(shutil.copytree(moved, moved.with_name("copied-checkout")))
    assert "Nothing to be done" in snakemake(copied, "-n", *demo).stdout
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
    config = merged_config(copy / "config/demo.yaml")
    config["train"].update(steps=300, checkpoint_every=50)
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
    assert metrics["step"].max() == 300 and not checkpoint.exists()
