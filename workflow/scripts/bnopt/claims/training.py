"""Claims of the paper's Fig 1: BN trains faster at lr 0.1; at lr 0.5 only BN trains."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import quantities
from ..quantities import BATCHNORM, STANDARD
from .verdict import HIGHER, Verdict, all_of, judge_part

FAST_LR = 0.1
LARGE_LR = 0.5
FINAL_FRACTION = quantities.FINAL_FRACTION

FASTER_RULE = (
    f"{quantities.EARLY_WINDOW_RULE}. At lr {FAST_LR:g}, at every logged step of that window: BN's "
    "minus Standard's training accuracy on the step's minibatch (the raw values fig1_training "
    "smooths), same seed. The paper puts BN above Standard"
)
LARGE_LR_RULE = (
    f"At lr {LARGE_LR:g}, at every logged step of the last {FINAL_FRACTION:.0%} of the run: BN's "
    "minus Standard's training accuracy, same seed; a run that diverged counts as 0% from its "
    "divergence on (the figure marks where it diverged). The paper puts BN above Standard "
    "(Standard stays at chance, BN trains)"
)


def judge_faster(metrics: pd.DataFrame) -> Verdict:
    rows = quantities.finite_rows(metrics, "train_accuracy")
    end = quantities.early_end(metrics)
    name = f"BN − Standard training accuracy, steps before {end:g}, lr {FAST_LR:g}"
    text = "mean over the window's logged steps of BN's minus Standard's training accuracy"
    if not np.isfinite(end):
        return all_of([judge_part(name, text, HIGHER, {}, missing="no training metrics")])
    units = quantities.paired(rows, BATCHNORM, STANDARD, lrs=[FAST_LR], end=end)
    missing = f"no Standard and BN runs at lr {FAST_LR:g}" if not units else ""
    return all_of([judge_part(name, text, HIGHER, units, missing=missing)])


def final_accuracy_steps(run: pd.DataFrame, steps: np.ndarray) -> pd.Series:
    """A run's training accuracy at `steps`; 0 from its divergence on."""
    values = run.groupby("step")["value"].mean().reindex(steps)
    stop = quantities.diverged_at(run)
    if np.isfinite(stop):
        values[steps >= stop] = 0.0
    return values


def judge_large_lr(metrics: pd.DataFrame) -> Verdict:
    rows = quantities.quantity_rows(metrics, "train_accuracy")
    length = quantities.training_length(metrics)
    name = f"BN − Standard final training accuracy, lr {LARGE_LR:g}"
    text = (
        f"mean over the last {FINAL_FRACTION:.0%} of the logged steps of BN's minus Standard's "
        "training accuracy (0 after a divergence)"
    )
    units = {}
    for lr, seed in quantities.runs_present(rows, (STANDARD, BATCHNORM)):
        if not np.isclose(lr, LARGE_LR):
            continue
        steps = np.arange(np.ceil((1 - FINAL_FRACTION) * length), length + 1)
        a, b = (
            final_accuracy_steps(quantities.run_rows(rows, n, lr, seed), steps)
            for n in (BATCHNORM, STANDARD)
        )
        both = pd.concat({"a": a, "b": b}, axis=1).dropna()
        units[seed] = (list(both["a"]), list(both["b"]))
    missing = f"no Standard and BN runs at lr {LARGE_LR:g}" if not units else ""
    return all_of([judge_part(name, text, HIGHER, units, missing=missing)])
