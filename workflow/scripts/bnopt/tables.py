"""Raw per-run records -> tidy tables, one row per run x step x quantity (x layer, eta).

Columns of every table: run, normalization, lr, seed, step, quantity, value, layer, eta,
diverged_at. These tables are what the figures and the claim verdicts read.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .files import atomic_output

# One curvature probe's rows (bnopt.probe_records.curvature_records), and the prefixes of
# the same of other operators than the loss's Hessian H: Adam's P^-1 H and the weight layers'
# H per unit of relative perturbation (defined beside the writer, read here).
from .probe_names import CURVATURE_QUANTITIES, PRECONDITIONED, RELATIVE

# The tidy tables of an experiment, one per family of measurements (results/tables/<experiment>/).
FAMILIES = (
    "metrics", "ics", "landscape", "predictiveness", "beta", "curvature", "activations",
    "own_step", "weights", "outliers",
)  # fmt: skip

COLUMNS = [
    "run", "normalization", "lr", "seed", "step", "quantity", "value", "layer", "eta",
    "diverged_at",
]  # fmt: skip
METRIC_QUANTITIES = ["train_loss", "train_accuracy", "test_loss", "test_accuracy"]
PROBE_QUANTITIES = {
    "landscape": ("landscape", ["loss"]),
    "predictiveness": ("landscape", ["grad_diff"]),
    "beta": (
        "landscape",
        [
            "beta_ratio",
            "effective_beta",
            "grad_norm",
            "step_grad_norm",
            "step_grad_cosine",
        ],
    ),
    # The curvature of H, of Adam's P^-1 H and of the weight layers' H per relative
    # perturbation (bnopt.probe_records.curvature_records), and the optimiser's threshold.
    "curvature": (
        "landscape",
        [f"{prefix}{q}" for prefix in ("", PRECONDITIONED, RELATIVE) for q in CURVATURE_QUANTITIES]
        + ["stability_threshold"],
    ),  # fmt: skip
    "ics": (
        "ics",
        ["ics_l2", "ics_cosine", "ics_grad_norm", "ics_shifted_grad_norm", "ics_relative"],
    ),
    "activations": ("activation", ["mean", "var", "sample"]),
    # Each weight layer's norm, distance from its initialisation and angular update.
    "weights": ("weights", ["weight_norm", "distance_from_init", "angular_update"]),
    # The gradient's share in the top-k Hessian eigenspace, batch and population statistics.
    "outliers": (
        "outliers",
        [
            f"{q}{mode}"
            for q in ("topk_share", "top_eigenvalue", "kth_eigenvalue")
            for mode in ("", "_population")
        ],
    ),  # fmt: skip
    # The landscape along the optimiser's own step (other optimisers than plain SGD).
    "own_step": (
        "landscape",
        [
            "own_step_loss",
            "own_step_grad_diff",
            "own_step_beta_ratio",
            "own_step_norm",
            "own_step_cosine",
        ],
    ),
}


def read_run(metrics_path, probes_path, meta_path) -> dict:
    meta = json.loads(open(meta_path).read())
    return {
        "meta": meta,
        "metrics": pd.read_csv(metrics_path, sep="\t"),
        "probes": pd.read_csv(probes_path, sep="\t"),
    }


def with_run_columns(df: pd.DataFrame, meta: dict) -> pd.DataFrame:
    df = df.copy()
    for key in ("run", "normalization", "lr", "seed"):
        df[key] = meta[key]
    diverged = meta.get("diverged_at")
    df["diverged_at"] = np.nan if diverged is None else float(diverged)
    for key in ("layer", "eta"):
        if key not in df:
            df[key] = np.nan
    return df[COLUMNS]


def metrics_table(run: dict) -> pd.DataFrame:
    long = run["metrics"].melt(
        id_vars="step", value_vars=METRIC_QUANTITIES, var_name="quantity", value_name="value"
    )
    long = long.dropna(subset=["value"])
    return with_run_columns(long, run["meta"])


def probe_table(run: dict, family: str) -> pd.DataFrame:
    probe, quantities = PROBE_QUANTITIES[family]
    raw = run["probes"]
    rows = raw[(raw["probe"] == probe) & raw["quantity"].isin(quantities)]
    return with_run_columns(rows.drop(columns="probe"), run["meta"])


def family_table(runs: list[dict], family: str) -> pd.DataFrame:
    if family == "metrics":
        parts = [metrics_table(run) for run in runs]
    else:
        parts = [probe_table(run, family) for run in runs]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(["run", "quantity", "layer", "eta", "step"], kind="stable")


def write_tsv(frame: pd.DataFrame, path) -> None:
    """A table as tab-separated text, atomically (no partial file; errors name the path).
    Floats are written in full (shortest round-trip form), missing values as empty cells."""
    with atomic_output(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False)


def write_tables(runs: list[dict], outputs: dict) -> None:
    """Write one TSV per family; `outputs` maps family name -> path."""
    for family, path in outputs.items():
        write_tsv(family_table(runs, family), path)


def read_table(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def at_lr(rows: pd.DataFrame, lr: float) -> pd.DataFrame:
    """The rows of the runs at learning rate `lr` (compared with a float tolerance)."""
    return rows[np.isclose(rows["lr"].astype(float), lr)]
