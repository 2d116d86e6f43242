"""The tidy tables of small VGG and deep-linear-network runs, against stored copies.

These guard refactors of the training loop, the probes' records and the table code: the
same settings must give the same tables (rows exactly; values within a float tolerance
that covers the arithmetic of other CPUs). A deliberate change of what is recorded
regenerates them: BNOPT_REGENERATE_GOLDEN=1 pytest tests/unit/test_golden_tables.py
(then review the diff of tests/unit/golden/).
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bnopt import runs as bn_runs
from bnopt.execution import execution
from bnopt.runs import FAMILIES
from bnopt.tables import read_run, write_tables
from bnopt.training import train_run
from conftest import run_outputs, tiny_execution, tiny_settings

GOLDEN = Path(__file__).with_name("golden")
REGENERATE = os.environ.get("BNOPT_REGENERATE_GOLDEN") == "1"
KEYS = ["run", "step", "quantity", "layer", "eta"]
# Counters of an iterative method: their exact value may differ with the last bits.
NOT_COMPARED = {"lanczos_iterations", "lanczos_converged"}
# The golden runs train with plain SGD, whose own step is -lr g: no own_step rows.
VGG_FAMILIES = tuple(f for f in FAMILIES if f != "own_step")
DLN_FAMILIES = tuple(f for f in VGG_FAMILIES if f not in ("curvature", "activations"))  # linear
DLN_CONFIG = {
    "dln": {
        "steps": 12, "lrs": [1e-7], "normalizations": ["none", "batch"], "seeds": [0],
        "samples": 64, "depth": 25, "dim": 10, "probes_every": 4,
        "eta_multipliers": [0.01, 1, 30], "ics_layers": [9, 17],
    }
}  # fmt: skip


@pytest.fixture(scope="module")
def tables(tmp_path_factory, tiny_dataset) -> dict[str, pd.DataFrame]:
    root = tmp_path_factory.mktemp("golden")
    vgg = []
    for normalization in ("none", "batch"):
        paths = run_outputs(root / normalization)
        settings = tiny_settings(normalization=normalization, run=f"{normalization}_lr0.1_seed0",
                                 steps=20)  # fmt: skip
        train_run(tiny_dataset, paths, settings, tiny_execution(), reuse_finished=False)
        vgg.append(read_run(paths["metrics"], paths["probes"], paths["meta"]))
    deep = []
    for run in bn_runs.dln_runs(DLN_CONFIG):
        paths = run_outputs(root / run)
        settings = bn_runs.dln_settings(DLN_CONFIG, run)
        train_run(None, paths, settings, execution({}, 1, settings), reuse_finished=False)
        deep.append(read_run(paths["metrics"], paths["probes"], paths["meta"]))
    out = {f"vgg_{f}": root / f"vgg_{f}.tsv" for f in VGG_FAMILIES}
    out |= {f"dln_{f}": root / f"dln_{f}.tsv" for f in DLN_FAMILIES}
    write_tables(vgg, {f: out[f"vgg_{f}"] for f in VGG_FAMILIES})
    write_tables(deep, {f: out[f"dln_{f}"] for f in DLN_FAMILIES})
    return {name: pd.read_csv(path, sep="\t") for name, path in out.items()}


NAMES = [f"vgg_{f}" for f in VGG_FAMILIES] + [f"dln_{f}" for f in DLN_FAMILIES]


@pytest.mark.parametrize("name", NAMES)
def test_the_tables_are_those_stored(tables, name):
    table = tables[name]
    stored_path = GOLDEN / f"{name}.tsv"
    if REGENERATE:
        GOLDEN.mkdir(exist_ok=True)
        table.to_csv(stored_path, sep="\t", index=False)
    stored = pd.read_csv(stored_path, sep="\t")
    assert list(table.columns) == list(stored.columns)
    order = [key for key in KEYS if key in table.columns]
    table = table.sort_values(order, kind="stable").reset_index(drop=True)
    stored = stored.sort_values(order, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(table.drop(columns="value"), stored.drop(columns="value"))
    compared = ~table["quantity"].isin(NOT_COMPARED)
    np.testing.assert_allclose(
        table.loc[compared, "value"].to_numpy(float),
        stored.loc[compared, "value"].to_numpy(float),
        rtol=2e-3,
        atol=1e-6,
        equal_nan=True,
        err_msg=name,
    )
