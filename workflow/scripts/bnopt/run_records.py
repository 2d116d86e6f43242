"""What a run records as it trains, and the outputs written from it: metrics.tsv (per-step
training loss and accuracy, test metrics), probes.tsv, the weights and meta.json."""

from __future__ import annotations

import csv
import json
import math
import platform
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .backend import device_name
from .execution import Execution
from .files import atomic_output, write_text
from .models import flops_per_image
from .probe_records import PROBE_COLUMNS
from .task import Task

METRIC_COLUMNS = ["step", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]


@dataclass
class Records:
    """A run's measurements so far; a checkpoint holds them beside the weights."""

    losses: torch.Tensor  # the training loss of each step, NaN until it is trained
    correct: torch.Tensor  # a classifier's correct predictions of each step
    evals: list[tuple] = field(default_factory=list)  # (step, test loss, test accuracy)
    probe_rows: list[tuple] = field(default_factory=list)  # rows of probes.tsv
    diverged_at: int | None = None  # the first step whose loss is not finite
    resumed_from: int = 0  # the step this session of training started at
    session_started: float = 0.0  # its time.perf_counter()
    eval_seconds: float = 0.0  # this session's time in evaluations


def new_records(steps: int, dtype: torch.dtype, device: torch.device) -> Records:
    return Records(
        torch.full((steps,), float("nan"), dtype=dtype, device=device),
        torch.zeros(steps, dtype=torch.int64, device=device),
    )


def write_outputs(
    outputs: dict,
    settings: dict,
    device: torch.device,
    task: Task,
    records: Records,
    *,
    started: float,
    identity: str,
    execution: Execution,
    data_info: dict | None,
) -> dict:
    """Write the run's outputs (`outputs` maps metrics, probes, weights and meta to paths)
    and return its metadata. A diverged run keeps the steps up to its first non-finite loss;
    its final loss and noise-free evaluation are left out. `started` is the run's
    time.perf_counter() at its start, `identity` and `data_info` are recorded as given."""
    diverged_at = records.diverged_at
    recorded = diverged_at + 1 if diverged_at is not None else settings["steps"]
    probe_rows, evals = records.probe_rows, records.evals
    if diverged_at is not None:
        probe_rows = [r for r in probe_rows if r[0] < diverged_at]
        evals = [e for e in evals if e[0] <= diverged_at]
    final_loss = None
    if task.final_loss is not None and diverged_at is None:
        final_loss = task.final_loss()
    losses, correct = records.losses, records.correct
    write_metrics(
        outputs["metrics"],
        losses[:recorded].cpu(),
        correct[:recorded].cpu() if task.counts_correct else None,
        task.examples,
        evals,
        final_loss,
    )
    write_table(outputs["probes"], PROBE_COLUMNS, probe_rows)
    save_torch(outputs["weights"], task.model.state_dict())
    session_time = time.perf_counter() - records.session_started - records.eval_seconds
    trained_until = diverged_at if diverged_at is not None else settings["steps"]
    session_steps = trained_until - records.resumed_from
    meta = run_metadata(
        settings, device, task, losses, correct, evals, diverged_at, recorded, final_loss
    )
    if task.noise_free_evaluate is not None and diverged_at is None:
        loss, accuracy = task.noise_free_evaluate()
        meta["noise_free_statistics_test"] = {"test_loss": loss, "test_accuracy": accuracy}
    meta.update(
        wall_time_s=round(time.perf_counter() - started, 3),
        steps_per_second=round(session_steps / session_time, 3) if session_time > 0 else None,
        evaluation_seconds=round(records.eval_seconds, 3),
        resumed_from_step=records.resumed_from or None,
        identity=identity,
        execution={**vars(execution), "threads": torch.get_num_threads()},
        data=data_info,
    )
    write_meta(outputs["meta"], meta)
    return meta


def write_meta(path, meta: dict) -> None:
    write_text(path, json.dumps(meta, indent=2) + "\n")


def save_torch(path, state) -> None:
    """torch.save through an open file, atomically: errors name the path, no partial file."""
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        torch.save(state, f)


def write_table(path, columns: list[str], rows: list[tuple]) -> None:
    """Rows as tab-separated text, atomically, byte for byte what pandas' to_csv writes for
    them (bnopt.tables reads them with pandas), without importing pandas in a training job: a
    column with a float or a missing value is a float column (shortest round-trip form, NaN
    and None as empty cells), one of integers alone an integer column."""
    cells = [_column_cells([row[i] for row in rows]) for i in range(len(columns))]
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(zip(*cells, strict=True))


def _column_cells(values: list) -> list[str]:
    present = [v for v in values if v is not None]
    if any(isinstance(v, str) for v in present):
        return ["" if v is None else str(v) for v in values]
    if any(isinstance(v, bool | np.bool_) for v in present):
        if len(present) < len(values):
            raise TypeError("a boolean column with missing values has no float form")
        return [str(bool(v)) for v in values]
    if len(present) == len(values) and all(isinstance(v, int | np.integer) for v in values):
        return [str(int(v)) for v in values]
    return ["" if v is None or math.isnan(v) else repr(float(v)) for v in values]


def write_metrics(path, losses, correct, examples, evals, final_loss=None) -> None:
    """One row per step (training loss and, for a classifier, accuracy), the test metrics at
    the steps evaluated, and a row `steps` after the last update (evaluation or final loss)."""
    test = {step: (loss, acc) for step, loss, acc in evals}
    rows = []
    for step in range(len(losses)):
        test_loss, test_acc = test.get(step, (None, None))
        accuracy = int(correct[step]) / examples if correct is not None else None
        rows.append((step, float(losses[step]), accuracy, test_loss, test_acc))
    last = len(losses)
    if last in test or final_loss is not None:
        rows.append((last, final_loss, None, *test.get(last, (None, None))))
    write_table(path, METRIC_COLUMNS, rows)


def run_metadata(
    settings, device, task, losses, correct, evals, diverged_at, recorded, final_loss
) -> dict:
    """A classifier's final training loss and accuracy are means over its last 100 steps;
    a full-batch task's final loss is the one after the last update (or the last finite)."""
    window = slice(max(0, recorded - 100), recorded)
    if task.final_loss is not None:
        finite = losses[:recorded][torch.isfinite(losses[:recorded])]
        last_finite = finite[-1].item() if len(finite) else None
        final_train_loss = final_loss if final_loss is not None else last_finite
    else:
        final_train_loss = losses[window].double().mean().item()
    final_acc = None
    if task.counts_correct:
        final_acc = correct[window].sum().item() / (task.examples * (window.stop - window.start))
    last_eval = evals[-1] if evals else (None, None, None)
    return {
        **{k: settings[k] for k in ("run", "normalization", "lr", "seed")},
        "model": settings.get("model", "vgg_a"),
        "settings": settings,
        "steps": settings["steps"],
        "steps_done": diverged_at if diverged_at is not None else settings["steps"],
        "diverged": diverged_at is not None,
        "diverged_at": diverged_at,
        "final_train_loss": final_train_loss,
        "final_train_accuracy": final_acc,
        "final_test_step": last_eval[0],
        "final_test_loss": last_eval[1],
        "final_test_accuracy": last_eval[2],
        "device": device_name(device),
        "precision": settings["precision"],
        "flops_per_image": flops_per_image(task.model) if task.counts_correct else None,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "cuda": torch.version.cuda,
        },
    }
