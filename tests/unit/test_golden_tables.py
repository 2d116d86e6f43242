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
from bnopt.tables import FAMILIES, read_run, write_tables
from bnopt.training import train_run
from conftest import run_outputs, tiny_execution, tiny_settings

GOLDEN = Path(__file__).with_name("golden")
REGENERATE = os.environ.get("BNOPT_REGENERATE_GOLDEN") == "1"
KEYS = ["run", "step", "quantity", "layer", "eta"]
# Counters of an iterative method: their exact value may differ with the last bits.
NOT_COMPARED = {"lanczos_iterations", "lanczos_converged"}
RTOL, ATOL = 2e-3, 1e-6
# The VGG's gradient field has kinks (ReLU, max-pool) that rounding decides: at a point a
# probe visits (w - eta g for predictiveness and beta, the shifted weights for ics) other
# kernels can route a few elements' gradient differently. Measured with other kernels (oneDNN
# ISA, ATen capability, MKL paths, 2-4 threads): these quantities moved by up to 1 % (and
# cosines of nearly orthogonal gradients by up to 0.009); the rest by < 3e-4 relative
# (activations near 0 by < 3e-6 absolute).
# A wrong batch, lr or probe point moves them by far more.
GRADIENT_RTOL, COSINES, COSINE_ATOL = 3e-2, {"step_grad_cosine", "ics_cosine"}, 2e-2
# Activations are O(0.1-1); those near 0 (a BN layer's mean) carry that scale's rounding.
ACTIVATION_ATOL = 1e-4
# The golden runs train with plain SGD, whose own step is -lr g: no own_step rows.
VGG_FAMILIES = tuple(f for f in FAMILIES if f != "own_step")
# linear, and no weights or outliers probe (no experiment of its kind reads them)
DLN_FAMILIES = tuple(
    f for f in VGG_FAMILIES if f not in ("curvature", "activations", "weights", "outliers")
)
VGG_SETTINGS = {
    "lr": 0.01, "steps": 6, "eval_every": 3,
    "probes": tiny_settings()["probes"]
    | {"every": 2, "curvature_every": 4, "outlier_k": 3, "outlier_iterations": 6},
}  # fmt: skip
DLN_CONFIG = {
    "experiments": {"dln": {"model": "dln", "normalizations": ["none", "batch"], "lrs": [1e-7]}},
    "models": {"dln": {
        "steps": 12, "seeds": [0], "samples": 64, "depth": 25, "dim": 10, "probes_every": 4,
        "eta_multipliers": [0.01, 1, 30], "ics_layers": [9, 17], "precision": "fp64",
    }},
}  # fmt: skip


def golden_tables(root: Path, dataset: str, threads: int = 1, **vgg) -> dict[str, pd.DataFrame]:
    """Train the golden runs under `root` and return their tidy tables by name.

    `threads` and `vgg` (tiny_settings overrides) exist to check the goldens' robustness
    from outside pytest (other CPU kernels, thread counts, perturbed settings)."""
    vgg = VGG_SETTINGS | vgg
    runs = []
    for normalization in ("none", "batch"):
        paths = run_outputs(root / normalization)
        run = f"{normalization}_lr{vgg['lr']:g}_seed0"
        settings = tiny_settings(normalization=normalization, run=run, **vgg)
        train_run(dataset, paths, settings, tiny_execution(threads=threads), reuse_finished=False)
        runs.append(read_run(paths["metrics"], paths["probes"], paths["meta"]))
    deep = []
    for run in bn_runs.experiment_runs(DLN_CONFIG, "dln"):
        paths = run_outputs(root / run)
        settings = bn_runs.run_settings(DLN_CONFIG, run)
        assert settings["precision"] == "fp64"
        train_run(None, paths, settings, execution({}, threads, settings), reuse_finished=False)
        deep.append(read_run(paths["metrics"], paths["probes"], paths["meta"]))
    out = {f"vgg_{f}": root / f"vgg_{f}.tsv" for f in VGG_FAMILIES}
    out |= {f"dln_{f}": root / f"dln_{f}.tsv" for f in DLN_FAMILIES}
    write_tables(runs, {f: out[f"vgg_{f}"] for f in VGG_FAMILIES})
    write_tables(deep, {f: out[f"dln_{f}"] for f in DLN_FAMILIES})
    return {name: pd.read_csv(path, sep="\t") for name, path in out.items()}


@pytest.fixture(scope="module")
def tables(tmp_path_factory, tiny_dataset) -> dict[str, pd.DataFrame]:
    return golden_tables(tmp_path_factory.mktemp("golden"), tiny_dataset)


NAMES = [f"vgg_{f}" for f in VGG_FAMILIES] + [f"dln_{f}" for f in DLN_FAMILIES]


def tolerances(name: str, quantities: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """rtol and atol of each row of table `name`."""
    rtol = np.full(len(quantities), RTOL)
    atol = np.full(len(quantities), ATOL)
    if name == "vgg_activations":
        atol[:] = ACTIVATION_ATOL
    # (a Lanczos run's Ritz pairs follow the Hessian-vector products' rounding too)
    if name in ("vgg_predictiveness", "vgg_beta", "vgg_ics", "vgg_outliers"):
        rtol[:] = GRADIENT_RTOL
        atol[quantities.isin(COSINES).to_numpy()] = COSINE_ATOL
    return rtol, atol


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
    rtol, atol = tolerances(name, table.loc[compared, "quantity"])
    for r, a in sorted(set(zip(rtol, atol, strict=True))):
        rows = (rtol == r) & (atol == a)
        np.testing.assert_allclose(
            table.loc[compared, "value"].to_numpy(float)[rows],
            stored.loc[compared, "value"].to_numpy(float)[rows],
            rtol=r,
            atol=a,
            equal_nan=True,
            err_msg=f"{name}: {sorted(set(table.loc[compared, 'quantity'][rows]))}",
        )
