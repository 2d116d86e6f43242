"""Training runs: outputs, determinism, probes that do not steer, resume after SIGKILL."""

import json
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from bnopt.training import epoch_order, settings_hash, train_run
from conftest import ROOT, FakeIO, FakeSnakemake, run_outputs, tiny_settings


def train(tmp_path, name, dataset, **overrides):
    folder = tmp_path / name
    return train_run(dataset, run_outputs(folder), tiny_settings(**overrides)), folder


def test_a_run_writes_metrics_probes_metadata_and_weights(tmp_path, tiny_dataset):
    meta, folder = train(tmp_path, "run", tiny_dataset)
    metrics = pd.read_csv(folder / "metrics.tsv", sep="\t")
    assert list(metrics["step"]) == list(range(31))
    assert metrics["train_loss"].iloc[:30].notna().all()
    assert list(metrics.dropna(subset=["test_accuracy"])["step"]) == [0, 10, 20, 30]
    probes = pd.read_csv(folder / "probes.tsv", sep="\t")
    assert sorted(probes["step"].unique()) == [0, 5, 10, 15, 20, 25]
    assert set(probes["probe"]) == {"landscape", "ics", "activation"}
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


def test_probing_never_changes_the_trajectory(tmp_path, tiny_dataset):
    for norm in ("batch", "noisy_batch"):
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
import sys
sys.path.insert(0, {scripts!r})
sys.path.insert(0, {tests!r})
from conftest import run_outputs, tiny_settings
from pathlib import Path
from bnopt.training import train_run
train_run({data!r}, run_outputs(Path({folder!r})), tiny_settings(**{overrides!r}))
"""


def test_a_run_killed_with_sigkill_resumes_to_the_same_metrics(tmp_path, tiny_dataset):
    overrides = {"steps": 400, "checkpoint_every": 20, "normalization": "noisy_batch"}
    _, reference = train(tmp_path, "reference", tiny_dataset, **overrides)
    folder = tmp_path / "killed"
    script = RESUME_SCRIPT.format(
        scripts=str(ROOT / "workflow" / "scripts"), tests=str(ROOT / "tests"),
        data=tiny_dataset, folder=str(folder), overrides=overrides,
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
    meta = train_run(tiny_dataset, run_outputs(folder), tiny_settings(**overrides))
    assert meta["resumed_from_step"] == started_at > 0
    for name in ("metrics.tsv", "probes.tsv"):
        assert (folder / name).read_bytes() == (reference / name).read_bytes()
    assert not checkpoint.exists()


def test_a_checkpoint_belongs_to_the_settings_whatever_the_thread_count():
    settings = tiny_settings()
    assert settings_hash({**settings, "threads": 8}) == settings_hash(settings)
    assert settings_hash({**settings, "lr": 0.2}) != settings_hash(settings)


def test_a_checkpoint_of_other_settings_is_not_resumed(tmp_path, tiny_dataset):
    overrides = {"steps": 20, "checkpoint_every": 10}
    _, folder = train(tmp_path, "x", tiny_dataset, **overrides)
    # Leave a checkpoint behind with other settings, then train again.
    other = tiny_settings(steps=40, checkpoint_every=10)
    meta = train_run(tiny_dataset, run_outputs(tmp_path / "y"), other)
    assert meta["resumed_from_step"] is None
    torch.save({"settings_hash": "something else"}, folder / "checkpoint.pt")
    meta = train_run(tiny_dataset, run_outputs(folder), tiny_settings(**overrides))
    assert meta["resumed_from_step"] is None


def test_train_adapter_with_a_fake_snakemake_object(tmp_path, tiny_dataset):
    outputs = run_outputs(tmp_path / "adapter")
    fake = FakeSnakemake(
        input=FakeIO(data=tiny_dataset),
        output=FakeIO(**outputs),
        params=FakeIO(settings=tiny_settings(steps=10, threads=3)),
        log=FakeIO(str(tmp_path / "train.log")),
        threads=1,  # what Snakemake granted (e.g. --cores 1), not train.threads
    )
    runpy.run_path(str(ROOT / "workflow/scripts/train.py"), init_globals={"snakemake": fake})
    assert all(Path(p).exists() for p in outputs.values())
    assert json.loads(Path(outputs["meta"]).read_text())["device"].endswith(" 1 threads)")
    log = (tmp_path / "train.log").read_text()
    assert "step 10/10" in log and "steps/s" in log and "ETA" in log
