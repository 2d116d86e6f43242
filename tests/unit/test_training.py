"""Training runs: outputs, determinism, probes that do not steer, resume after SIGKILL."""

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from bnopt import checkpoints, probe_records, training
from bnopt.backend import DeviceError, resolve_device
from bnopt.files import OutputError
from bnopt.finished import run_identity
from bnopt.image_task import epoch_order, evaluate, noise_free_evaluation
from bnopt.models import vgg_a
from bnopt.tables import FAMILIES
from bnopt.training import train_run
from conftest import ROOT, run_outputs, tiny_execution, tiny_settings


def train(tmp_path, name, dataset, execution=None, **overrides):
    folder = tmp_path / name
    settings = tiny_settings(**overrides)
    return train_run(dataset, run_outputs(folder), settings, execution or tiny_execution()), folder


def test_a_run_writes_metrics_probes_metadata_and_weights(tmp_path, tiny_dataset):
    meta, folder = train(tmp_path, "run", tiny_dataset)
    metrics = pd.read_csv(folder / "metrics.tsv", sep="\t")
    assert list(metrics["step"]) == list(range(31))
    assert metrics["train_loss"].iloc[:30].notna().all()
    assert list(metrics.dropna(subset=["test_accuracy"])["step"]) == [0, 10, 20, 30]
    probes = pd.read_csv(folder / "probes.tsv", sep="\t")
    assert sorted(probes["step"].unique()) == [0, 5, 10, 15, 20, 25]
    assert set(probes["probe"]) == {"landscape", "ics", "activation", "weights"}
    assert not probes["quantity"].str.startswith("own_step_").any()  # plain SGD: -g is its step
    assert probes["value"].map(lambda v: v == v and abs(v) < float("inf")).all()
    assert set(probes.loc[probes["probe"] == "ics", "layer"]) == {5, 10}
    saved = json.loads((folder / "meta.json").read_text())
    assert saved == json.loads(json.dumps(meta))
    assert saved["diverged"] is False and saved["steps_done"] == 30
    assert saved["precision"] == "fp32" and saved["device"].startswith("cpu")
    assert saved["steps_per_second"] > 0 and saved["versions"]["torch"] == torch.__version__
    weights = torch.load(folder / "model.pt", weights_only=True)
    assert "0.weight" in weights
    assert not (folder / "checkpoint.pt").exists()


def test_two_identical_runs_give_identical_metrics(tmp_path, tiny_dataset):
    _, a = train(tmp_path, "a", tiny_dataset, normalization="noisy_batch")
    _, b = train(tmp_path, "b", tiny_dataset, normalization="noisy_batch")
    assert (a / "metrics.tsv").read_bytes() == (b / "metrics.tsv").read_bytes()
    assert (a / "probes.tsv").read_bytes() == (b / "probes.tsv").read_bytes()


def test_noisy_bn_is_also_evaluated_with_noise_free_bn_statistics(tmp_path, tiny_dataset):
    meta, folder = train(tmp_path, "noisy", tiny_dataset, normalization="noisy_batch")
    extra = meta["noise_free_statistics_test"]
    assert 0 <= extra["test_accuracy"] <= 1 and extra["test_loss"] > 0
    # on a copy: the saved weights keep the running statistics gathered during training
    saved = torch.load(folder / "model.pt", weights_only=True)
    model = vgg_a("noisy_batch", tiny_settings()["width"])
    model.load_state_dict(saved)
    data = np.load(tiny_dataset)
    x_test, y_test = (torch.from_numpy(data[k]) for k in ("x_test", "y_test"))
    plain = evaluate(model, x_test, y_test, contextlib.nullcontext())
    assert plain == (meta["final_test_loss"], meta["final_test_accuracy"])
    x_train = torch.from_numpy(data["x_train"])
    again = noise_free_evaluation(model, x_train, x_test, y_test, contextlib.nullcontext(), 32)
    assert again == pytest.approx((extra["test_loss"], extra["test_accuracy"]))
    assert "noise_free_statistics_test" not in train(tmp_path, "bn", tiny_dataset)[0]


def test_probing_never_changes_the_trajectory(tmp_path, tiny_dataset):
    for norm in ("batch", "noisy_batch", "group"):
        _, probed = train(tmp_path, f"probed-{norm}", tiny_dataset, normalization=norm)
        no_probes = dict(tiny_settings()["probes"], every=0)
        _, plain = train(tmp_path, f"plain-{norm}", tiny_dataset, normalization=norm,
                         probes=no_probes)  # fmt: skip
        assert (probed / "metrics.tsv").read_bytes() == (plain / "metrics.tsv").read_bytes()
        a = torch.load(probed / "model.pt", weights_only=True)
        b = torch.load(plain / "model.pt", weights_only=True)
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_each_epoch_is_a_fresh_permutation_and_the_partial_batch_is_dropped():
    first, second = epoch_order(100, 0, seed=1), epoch_order(100, 1, seed=1)
    assert sorted(first.tolist()) == list(range(100))
    assert not torch.equal(first, second)
    assert torch.equal(first, epoch_order(100, 0, seed=1))


def test_a_diverging_run_is_marked_and_succeeds(tmp_path, tiny_dataset):
    meta, folder = train(tmp_path, "div", tiny_dataset, normalization="none", lr=1e6)
    assert meta["diverged"] is True
    s = meta["diverged_at"]
    metrics = pd.read_csv(folder / "metrics.tsv", sep="\t")
    assert metrics["step"].max() == s
    assert not torch.isfinite(torch.tensor(metrics["train_loss"].iloc[-1]))
    assert metrics["train_loss"].iloc[:-1].map(lambda v: abs(v) < float("inf")).all()
    probes = pd.read_csv(folder / "probes.tsv", sep="\t")
    assert (probes["step"] < s).all()


RESUME_SCRIPT = """
from bnopt.execution import Execution
from bnopt.training import train_run
train_run({data!r}, {outputs!r}, {settings!r}, Execution(**{execution!r}))
"""


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_to_the_same_metrics(tmp_path, tiny_dataset):
    overrides = {"steps": 200, "normalization": "noisy_batch"}
    every_20 = tiny_execution(checkpoint_every=20)
    _, reference = train(tmp_path, "reference", tiny_dataset, every_20, **overrides)
    folder = tmp_path / "killed"
    script = RESUME_SCRIPT.format(
        data=tiny_dataset, outputs=run_outputs(folder), settings=tiny_settings(**overrides),
        execution=vars(every_20),
    )  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", script])
    checkpoint = folder / "checkpoint.pt"
    deadline = time.time() + 120
    while not checkpoint.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    time.sleep(0.3)  # let it get a little further past the checkpoint
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert checkpoint.exists() and not (folder / "meta.json").exists()
    started_at = torch.load(checkpoint, weights_only=True)["next_step"]
    meta = train_run(tiny_dataset, run_outputs(folder), tiny_settings(**overrides), every_20)
    assert meta["resumed_from_step"] == started_at > 0
    for name in ("metrics.tsv", "probes.tsv"):
        assert (folder / name).read_bytes() == (reference / name).read_bytes()
    assert not checkpoint.exists()


def test_a_checkpoint_of_other_settings_is_not_resumed(tmp_path, tiny_dataset):
    _, folder = train(tmp_path, "x", tiny_dataset, steps=20)
    checkpoints.save(folder / "checkpoint.pt", {"identity": "something else"})
    shutil.rmtree(folder / ".finished")
    meta, _ = train(tmp_path, "x", tiny_dataset, steps=20)
    assert meta["resumed_from_step"] is None


def interrupt_after(monkeypatch, step):
    """Make the next run stop (as if killed) once `step` updates are done."""
    original = training.log_progress

    def interrupted(done, *args):
        if done == step:
            monkeypatch.setattr(training, "log_progress", original)
            raise KeyboardInterrupt
        return original(done, *args)

    monkeypatch.setattr(training, "log_progress", interrupted)


def flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damage", [flip_bytes, truncate, lambda path: None])
def test_a_damaged_checkpoint_is_named_moved_aside_and_never_resumed(
    tmp_path, tiny_dataset, monkeypatch, caplog, damage
):
    every_6 = tiny_execution(checkpoint_every=6, log_every=1)
    _, reference = train(tmp_path, "reference", tiny_dataset, every_6, steps=12)
    folder = tmp_path / "damaged"
    interrupt_after(monkeypatch, 7)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path, "damaged", tiny_dataset, every_6, steps=12)
    checkpoint = folder / "checkpoint.pt"
    assert checkpoint.exists() and (folder / "checkpoint.pt.sha256").exists()
    damage(checkpoint)
    with caplog.at_level(logging.INFO, logger="bnopt"):
        meta, _ = train(tmp_path, "damaged", tiny_dataset, every_6, steps=12)
    if damage.__name__ == "<lambda>":  # intact: resumed
        assert meta["resumed_from_step"] == 6
    else:
        assert meta["resumed_from_step"] is None
        assert f"checkpoint {checkpoint}" in caplog.text and "training from step 0" in caplog.text
        assert (folder / "checkpoint.pt.damaged").exists()
    for name in ("metrics.tsv", "probes.tsv"):
        assert (folder / name).read_bytes() == (reference / name).read_bytes()
    assert not checkpoint.exists() and not (folder / "checkpoint.pt.sha256").exists()


def test_a_finished_run_whose_outputs_were_deleted_is_restored_not_retrained(
    tmp_path, tiny_dataset
):
    meta, folder = train(tmp_path, "run", tiny_dataset)
    written = {name: (folder / name).read_bytes() for name in ("metrics.tsv", "probes.tsv")}
    for path in run_outputs(folder).values():  # what Snakemake does before a rerun
        os.remove(path)
    started = time.perf_counter()
    again, _ = train(tmp_path, "run", tiny_dataset, execution=tiny_execution(threads=2))
    assert time.perf_counter() - started < meta["wall_time_s"]
    assert again == meta and again["wall_time_s"] == meta["wall_time_s"]
    assert {n: (folder / n).read_bytes() for n in written} == written


def test_a_kept_run_is_not_restored_for_other_settings_code_data_or_damaged_files(
    tmp_path, tiny_dataset, caplog
):
    meta, folder = train(tmp_path, "run", tiny_dataset, steps=10)
    outputs = run_outputs(folder)
    code = "version 1"  # the training job's code identity (bnopt.code_identity)

    def restored(settings=None, code="") -> bool:
        for path in outputs.values():
            os.remove(path)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="bnopt"):
            train_run(tiny_dataset, outputs, settings or tiny_settings(steps=10),
                      tiny_execution(), code=code)  # fmt: skip
        return "restored the outputs of this finished run" in caplog.text

    assert not restored(tiny_settings(steps=10, lr=0.05))  # other settings
    assert not restored(code=code)  # other code (none was recorded before)
    assert restored(code=code)
    code = "version 2"
    assert not restored(code=code)
    (folder / ".finished" / "metrics").write_text("damaged\n")
    assert not restored(code=code)
    assert (folder / "metrics.tsv").read_text() != "damaged\n"
    assert restored(code=code)
    assert meta["identity"] != json.loads((folder / "meta.json").read_text())["identity"]


def test_a_write_failure_names_the_path_and_leaves_no_temporary_file(
    tmp_path, tiny_dataset, monkeypatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the run folder should be\n")
    outputs = {**run_outputs(tmp_path / "run"), "weights": str(blocker / "model.pt")}
    with pytest.raises(OutputError, match=re.escape(str(blocker / "model.pt"))):
        train_run(tiny_dataset, outputs, tiny_settings(steps=5), tiny_execution())

    def disk_full(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise RuntimeError("[enforce fail at inline_container.cc:747] . unexpected pos")

    monkeypatch.setattr(torch, "save", disk_full)
    folder = tmp_path / "full"
    with pytest.raises(OutputError, match=re.escape(str(folder / "checkpoint.pt"))):
        train_run(tiny_dataset, run_outputs(folder), tiny_settings(steps=20), tiny_execution())
    assert sorted(p.name for p in folder.iterdir()) == []


def test_a_missing_cuda_device_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("cuda", "cuda:0", "cuda:3"):
        with pytest.raises(DeviceError, match=f"train.device is '{name}' but torch finds no"):
            resolve_device(name)
    assert resolve_device("auto").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(DeviceError, match=r"has 2 CUDA device\(s\), cuda:0..cuda:1"):
        resolve_device("cuda:2")


def train_adapter_script(tmp_path, dataset, runs: dict[str, dict], config: dict) -> str:
    """Python that runs train.py as rule train does, on a fake `snakemake` object: a job of
    the runs `runs` (name: settings), in a process of its own."""
    provenance = tmp_path / "provenance.json"
    provenance.write_text(json.dumps({"short": "synthetic (seed 0)", "md5": "0" * 32}))
    paths = [run_outputs(tmp_path / run) for run in runs]
    several = len(runs) > 1
    run_logs = [str(tmp_path / f"{run}.log") for run in runs] if several else []
    job = os.path.commonprefix(list(runs)).removesuffix("_seed") if several else next(iter(runs))
    return f"""
import runpy, sys
sys.path.insert(0, {str(ROOT / "tests")!r})
from conftest import FakeIO, FakeSnakemake
log = {{"job": {str(tmp_path / "job.log")!r}}}
if {run_logs!r}:
    log["runs"] = {run_logs!r}
fake = FakeSnakemake(
    input=FakeIO(data={str(dataset)!r}, provenance={str(provenance)!r}),
    output=FakeIO(**{ {key: [p[key] for p in paths] for key in paths[0]}!r}),
    params=FakeIO(settings={list(runs.values())!r}, code="the code identity"),
    log=FakeIO(**log),
    threads=1,  # what Snakemake granted (e.g. --cores 1), not train.threads
    wildcards=FakeIO(job={job!r}),
    config={config!r},
)
runpy.run_path({str(ROOT / "workflow/scripts/train.py")!r}, init_globals={{"snakemake": fake}})
"""


CPU_CONFIG = {"train": {"device": "cpu", "threads": 3, "log_every": 5, "checkpoint_every": 0}}


def test_train_adapter_with_a_fake_snakemake_object(tmp_path, tiny_dataset):
    script = train_adapter_script(
        tmp_path, tiny_dataset, {"batch_lr0.1_seed0": tiny_settings(steps=10)}, CPU_CONFIG
    )
    exec(compile(script, "train job", "exec"), {})
    assert all(Path(p).exists() for p in run_outputs(tmp_path / "batch_lr0.1_seed0").values())
    meta = json.loads((tmp_path / "batch_lr0.1_seed0" / "meta.json").read_text())
    assert meta["device"].endswith(" 1 thread)") and meta["execution"]["log_every"] == 5
    assert meta["data"]["short"] == "synthetic (seed 0)"
    lines = (tmp_path / "job.log").read_text().splitlines()
    assert any("step 10/10" in line and "steps/s" in line and "ETA" in line for line in lines)
    # Two jobs side by side on one console are told apart by the run each line names.
    assert [line for line in lines if "step 5/10" in line][0].startswith("[batch_lr0.1_seed0] ")
    assert all(line.startswith("[batch_lr0.1_seed0] ") for line in lines)


def test_a_job_of_a_configurations_seeds_trains_each_as_a_job_of_its_own_would(
    tmp_path, tiny_dataset
):
    """train.seeds_in_one_job: the seeds in turn, in one process, each run into its own
    folder and log; the second run's files are byte for byte those of the same run trained
    alone in a fresh process (nothing of the first run's leaks into it)."""
    runs = {
        f"batch_lr0.1_seed{seed}": tiny_settings(run=f"batch_lr0.1_seed{seed}", seed=seed, steps=10)
        for seed in (0, 1)
    }
    together, alone = tmp_path / "together", tmp_path / "alone"
    together.mkdir(), alone.mkdir()
    for folder, job in (
        (together, runs),
        (alone, {"batch_lr0.1_seed1": runs["batch_lr0.1_seed1"]}),
    ):
        script = train_adapter_script(folder, tiny_dataset, job, CPU_CONFIG)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    job_log = (together / "job.log").read_text()
    assert job_log.count("process start-up before the job's work") == 1  # one process
    for run in runs:
        assert f"run {run}: its log is {together / run}.log" in job_log
        lines = (together / f"{run}.log").read_text().splitlines()
        assert any("step 10/10" in line for line in lines)
        assert all(line.startswith(f"[{run}] ") for line in lines)
        assert json.loads((together / run / "meta.json").read_text())["seed"] == runs[run]["seed"]
    for name in ("metrics.tsv", "probes.tsv"):
        second = (together / "batch_lr0.1_seed1" / name).read_bytes()
        assert second == (alone / "batch_lr0.1_seed1" / name).read_bytes()
    assert (together / "batch_lr0.1_seed0" / "metrics.tsv").read_bytes() != second


def test_train_adapter_reports_a_missing_device_without_a_traceback(tmp_path, tiny_dataset):
    config = {"train": {"device": "cuda:0", "log_every": 5, "checkpoint_every": 0}}
    settings = tiny_settings(steps=5, device_type="cuda")
    script = "import torch\ntorch.cuda.is_available = lambda: False\n" + train_adapter_script(
        tmp_path, tiny_dataset, {"batch_lr0.1_seed0": settings}, config
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 1
    assert "train.device is 'cuda:0' but torch finds no CUDA device" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_saved_model_rebuilds_from_the_installed_package_in_a_fresh_python(
    tmp_path, tiny_dataset
):
    _, folder = train(tmp_path, "run", tiny_dataset, steps=5)
    script = f"""
import torch
from bnopt.models import vgg_a
from bnopt.tables import FAMILIES
model = vgg_a("batch", 0.0625)
model.load_state_dict(torch.load({str(folder / "model.pt")!r}, weights_only=True))
print(sum(p.numel() for p in model.parameters()))
"""
    # From an unrelated folder, with no path set up: the package is installed.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 0


def test_a_run_without_steps_along_the_gradient_has_the_same_ics_and_no_landscape(
    tmp_path, tiny_dataset
):
    # The probe plan of an ICS-only run (bnopt.probe_plan): no eta, so no landscape rows.
    full = dict(tiny_settings()["probes"], curvature_every=0, activation_layers=[], weights=False)
    _, with_etas = train(tmp_path, "etas", tiny_dataset, probes=full)
    _, without = train(tmp_path, "none", tiny_dataset, probes=dict(full, eta_multipliers=[]))
    rows = {"a": with_etas, "b": without}
    rows = {k: pd.read_csv(folder / "probes.tsv", sep="\t") for k, folder in rows.items()}
    assert set(rows["a"]["probe"]) == {"landscape", "ics"} and set(rows["b"]["probe"]) == {"ics"}
    ics = rows["a"][rows["a"]["probe"] == "ics"].reset_index(drop=True)
    pd.testing.assert_frame_equal(ics, rows["b"], check_dtype=False)
    for name in ("metrics.tsv", "model.pt"):
        assert (with_etas / name).read_bytes() == (without / name).read_bytes()


def test_the_landscape_along_the_optimisers_step_is_the_loss_where_that_step_lands():
    import copy

    from bnopt.models import build_model
    from bnopt.probes import trainable

    torch.manual_seed(0)
    model = build_model("vgg_a", "batch", 0.0625)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    loss_fn = torch.nn.functional.cross_entropy
    params = trainable(model)
    grad = list(torch.autograd.grad(loss_fn(model(x), y), params))
    update = [torch.randn_like(p) * 1e-3 for p in params]  # an optimiser's step, any
    lr = 0.01
    rows = probe_records.own_step_records(model, loss_fn, x, y, [lr, 2 * lr], 7, grad, update, lr)
    by = {(q, eta): v for step, _, _, eta, q, v in rows}
    for m in (1, 2):  # eta = m * lr: m times the step taken
        twin = copy.deepcopy(model)
        with torch.no_grad():
            for p, u in zip(trainable(twin), update, strict=True):
                p += m * u
        assert by[("own_step_loss", m * lr)] == pytest.approx(loss_fn(twin(x), y).item(), rel=1e-6)
    norm = torch.sqrt(sum((u.double() ** 2).sum() for u in update)).item()
    assert by[("own_step_norm", None)] == pytest.approx(norm / lr, rel=1e-6)
    dot = sum((u.double() * g.double()).sum() for u, g in zip(update, grad, strict=True)).item()
    g_norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grad)).item()
    assert by[("own_step_cosine", None)] == pytest.approx(-dot / (norm * g_norm), rel=1e-5)


def test_the_identity_holds_the_device_a_run_really_used_and_its_code(tmp_path):
    settings = tiny_settings(device_type="cuda")  # train.device: auto
    assert run_identity(settings, "cpu") != run_identity(settings, "cuda")
    assert run_identity(settings, "cpu", code="a") != run_identity(settings, "cpu", code="b")
    assert run_identity(settings, "cpu", code="a") == run_identity(settings, "cpu", code="a")


def test_a_resnet_run_with_adam_trains_probes_and_resumes(tmp_path, tiny_dataset, monkeypatch):
    adam = {"name": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    overrides = {"model": "resnet20", "normalization": "group", "optimizer": adam, "lr": 1e-3,
                 "run": "resnet20_adam_group_lr0.001_seed0", "steps": 12}  # fmt: skip
    probes = dict(tiny_settings()["probes"], ics_layers=[8, 19], curvature_every=0)
    settings = tiny_settings(probes=probes, **overrides)
    every_6 = tiny_execution(checkpoint_every=6, log_every=1)
    meta, folder = train(tmp_path, "adam", tiny_dataset, every_6, probes=probes, **overrides)
    assert meta["model"] == "resnet20" and not meta["diverged"]
    table = pd.read_csv(folder / "probes.tsv", sep="\t")
    ics = table[table["probe"] == "ics"]
    assert set(ics["layer"]) == {8, 19} and ics["value"].notna().all()
    # Adam's own step is probed beside -g, at the same eta grid (bnopt.probe_records)
    quantities = set(table["quantity"])
    assert {
        "own_step_loss",
        "own_step_grad_diff",
        "own_step_beta_ratio",
        "own_step_norm",
    } <= quantities
    cosine = table.loc[table["quantity"] == "own_step_cosine", "value"]
    assert cosine.between(-1, 1).all() and (cosine < 0.999).all()  # not the direction of -g
    # Adam's moments go through the checkpoint: interrupted after step 7, resumed from the
    # checkpoint of step 6, the run ends bitwise where the uninterrupted one did.
    original = training.log_progress

    def interrupted(done, *args):
        if done == 7:
            raise KeyboardInterrupt
        return original(done, *args)

    resumed = tmp_path / "resumed"
    monkeypatch.setattr(training, "log_progress", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_run(tiny_dataset, run_outputs(resumed), settings, every_6)
    monkeypatch.setattr(training, "log_progress", original)
    meta = train_run(tiny_dataset, run_outputs(resumed), settings, every_6)
    assert meta["resumed_from_step"] == 6
    for name in ("metrics.tsv", "probes.tsv"):
        assert (folder / name).read_bytes() == (resumed / name).read_bytes()


def tables_adapter(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """The tables job on one run, in its own process (a failed job exits with status 1)."""
    outputs = run_outputs(folder)
    tables = {family: str(tmp_path / f"{family}.tsv") for family in FAMILIES}
    script = f"""
import runpy, sys
sys.path.insert(0, {str(ROOT / "tests")!r})
from conftest import FakeIO, FakeSnakemake
fake = FakeSnakemake(
    input=FakeIO(metrics=[{outputs["metrics"]!r}], probes=[{outputs["probes"]!r}],
                 meta=[{outputs["meta"]!r}]),
    output=FakeIO(**{tables!r}), log=FakeIO({str(tmp_path / "tables.log")!r}),
    wildcards=FakeIO(experiment="x"),
)
runpy.run_path({str(ROOT / "workflow/scripts/tables.py")!r}, init_globals={{"snakemake": fake}})
"""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)


def test_a_finished_runs_file_changed_after_training_stops_the_tables_naming_it(
    tmp_path, tiny_dataset
):
    _, folder = train(tmp_path, "run", tiny_dataset, steps=10)
    assert tables_adapter(folder, tmp_path).returncode == 0
    metrics = folder / "metrics.tsv"
    with open(metrics, "r+b") as f:  # cut in half in place, as a full disk or an editor may
        f.truncate(metrics.stat().st_size // 2)
    result = tables_adapter(folder, tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{metrics} is not the file its run wrote" in result.stderr
    assert "snakemake --forcerun" in result.stderr
    # the kept copy was cut with it (a hard link): a forced rerun trains the run again
    meta = train_run(tiny_dataset, run_outputs(folder), tiny_settings(steps=10), tiny_execution())
    assert meta["resumed_from_step"] is None and tables_adapter(folder, tmp_path).returncode == 0


def test_a_training_job_runs_without_importing_pandas_or_plotting(tmp_path, tiny_dataset):
    """Every training process imports torch; nothing else heavy (pandas is 0.13 CPU-s of a
    job's start-up, bnopt.timing): its records are written by bnopt.run_records alone."""
    config = {"train": {"device": "cpu", "log_every": 5, "checkpoint_every": 0}}
    script = train_adapter_script(
        tmp_path, tiny_dataset, {"run": tiny_settings(steps=10)}, config
    ) + (
        'print(sorted({m.split(".")[0] for m in sys.modules} '
        '& {"pandas", "matplotlib", "seaborn"}))\n'
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    probes = pd.read_csv(tmp_path / "run" / "probes.tsv", sep="\t")
    assert len(probes) > 0 and set(probes.columns) == set(probe_records.PROBE_COLUMNS)


def test_run_records_are_written_byte_for_byte_as_pandas_writes_them(tmp_path):
    from bnopt.run_records import write_table
    from bnopt.tables import write_tsv

    rng = np.random.default_rng(0)
    floats = [0.1, 1e-06, 0.005000000000000001, 1e16, 1.5e-300, float("inf"), float("nan"),
              None, 2.0, np.float32(2.7923409938812256), np.float64(0.3), 3]  # fmt: skip
    rows = [
        (i, floats[i % len(floats)], [None, 5, 7][i % 3], ["landscape", "ics"][i % 2],
         np.int64(i), [None, "a"][i % 2], float(rng.normal()) * 10.0 ** (i % 41 - 20), None)
        for i in range(200)
    ]  # fmt: skip
    columns = ["step", "value", "layer", "probe", "count", "note", "spread", "empty"]
    for name, table in (("rows", rows), ("none", [])):
        write_table(tmp_path / f"{name}.tsv", columns, table)
        write_tsv(pd.DataFrame(table, columns=columns), tmp_path / f"{name}_pandas.tsv")
        assert (tmp_path / f"{name}.tsv").read_bytes() == (
            tmp_path / f"{name}_pandas.tsv"
        ).read_bytes()
    assert "\t5.0\t" in (tmp_path / "rows.tsv").read_text()  # integers beside a gap: floats
