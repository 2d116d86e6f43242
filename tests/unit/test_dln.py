"""The deep linear network experiment: model, loss, training loop, outputs, figures, claims."""

import json
import math
import runpy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.collections import PolyCollection
from torch import nn

from bnopt import claims, dln
from bnopt import runs as bn_runs
from bnopt.claims import COLUMNS as CLAIM_COLUMNS
from bnopt.claims import CONTRADICTED, NOT_MEASURABLE, SUPPORTED
from bnopt.code_identity import code_identity
from bnopt.execution import Execution, execution
from bnopt.figures import FIGURES
from bnopt.models import LpNorm, weight_layers
from bnopt.plots import dln as dln_plots
from bnopt.tables import FAMILIES, family_table, read_run, read_table
from bnopt.training import train_run
from conftest import ROOT, FakeIO, FakeSnakemake, tidy_rows

CONFIG = {
    "experiments": {
        "dln": {"model": "dln", "normalizations": ["none", "batch", "l2"], "lrs": [1e-6, 1e-7]}
    },
    "models": {
        "dln": {
            "steps": 12,
            "seeds": [0],
            "samples": 64,
            "depth": 25,
            "dim": 10,
            "probes_every": 4,
            "eta_multipliers": [0.01, 0.1, 1, 10, 30],
            "ics_layers": [9, 17],
        }
    },
}


def settings(run="dln_batch_lr1e-06_seed0", **overrides) -> dict:
    config = {"models": {"dln": {**CONFIG["models"]["dln"], **overrides}}}
    return bn_runs.run_settings(config, run)


def outputs(folder: Path) -> dict:
    return {key: str(folder / name) for key, name in dln_output_names().items()}


def dln_output_names() -> dict:
    return {
        "metrics": "metrics.tsv",
        "probes": "probes.tsv",
        "meta": "meta.json",
        "weights": "model.pt",
    }


def train(settings: dict, paths: dict) -> dict:
    """One DLN run in the training loop of every run, as the train rule runs it."""
    return train_run(None, paths, settings, execution({}, 1, settings))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """Every run of CONFIG, trained once for the module: name -> (outputs, meta)."""
    root = tmp_path_factory.mktemp("dln")
    runs = {}
    for run in bn_runs.experiment_runs(CONFIG, "dln"):
        paths = outputs(root / run)
        runs[run] = (paths, train(bn_runs.run_settings(CONFIG, run), paths))
    return runs


# The model and the problem


@pytest.mark.parametrize("normalization", ["none", "batch", "l2"])
def test_build_dln_has_25_weight_layers_with_a_norm_after_layers_1_to_24(normalization):
    model = dln.build_dln(normalization)
    layers = weight_layers(model)
    assert len(layers) == 25
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert all(m.bias is None and m.weight.shape == (10, 10) for m in linears)
    assert not any(isinstance(m, nn.ReLU) for m in model)
    norm_type = {"none": nn.Linear, "batch": nn.BatchNorm1d, "l2": LpNorm}[normalization]
    for layer in layers[:24]:
        assert isinstance(layer.output_module, norm_type)
        assert len(layer.params) == (1 if normalization == "none" else 3)
    assert isinstance(layers[24].output_module, nn.Linear)
    assert layers[24].params == [layers[24].weight]


def test_glorot_initialisation_is_seeded_and_shared_by_the_variants():
    torch.manual_seed(3)
    standard = dln.build_dln("none")
    torch.manual_seed(3)
    batchnorm = dln.build_dln("batch")
    bound = math.sqrt(6 / 20)
    for a, b in zip(weight_layers(standard), weight_layers(batchnorm), strict=True):
        assert torch.equal(a.weight, b.weight)
        assert a.weight.abs().max() <= bound
    assert 0.25 < torch.cat([p.flatten() for p in standard.parameters()]).std() < 0.38


def test_make_problem_targets_are_a_times_x_of_each_sample():
    x, targets = dln.make_problem(seed=5, n=7, dim=4)
    generator = torch.Generator().manual_seed(5)
    x_ref = torch.randn(7, 4, generator=generator, dtype=torch.float64)
    a = torch.randn(4, 4, generator=generator, dtype=torch.float64)
    assert x.dtype == torch.float32 and x.shape == (7, 4)
    torch.testing.assert_close(x, x_ref.float())
    torch.testing.assert_close(targets, (a @ x_ref.T).T.float())
    x_again, _ = dln.make_problem(seed=5, n=7, dim=4)
    assert torch.equal(x, x_again)
    assert not torch.equal(x, dln.make_problem(seed=6, n=7, dim=4)[0])


def product_loss(weights: list[torch.Tensor], x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """||W_k ... W_1 X - A X||_F^2 with samples as the columns of X."""
    product = torch.eye(a.shape[0], dtype=a.dtype)
    for w in weights:
        product = w @ product
    residual = product @ x.T - a @ x.T
    return (residual**2).sum()


def test_the_loss_is_the_squared_frobenius_norm_of_the_product_residual():
    torch.manual_seed(0)
    model = dln.build_dln("none", depth=3, dim=4, dtype=torch.float64)
    x = torch.randn(9, 4, dtype=torch.float64)
    a = torch.randn(4, 4, dtype=torch.float64)
    weights = [m.weight.detach() for m in model]
    expected = product_loss(weights, x, a)
    assert dln.dln_loss(model(x), x @ a.T).item() == pytest.approx(expected.item(), rel=1e-12)


def full_gradient(model, x, targets):
    loss = dln.dln_loss(model(x), targets)
    return loss.detach(), list(torch.autograd.grad(loss, list(model.parameters())))


def sgd_step(model, x, targets, lr):
    """One update as the training loop makes it: torch's SGD, no momentum, on .grad."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, foreach=True)
    optimizer.zero_grad(set_to_none=True)
    dln.dln_loss(model(x), targets).backward()
    optimizer.step()


def test_the_gradient_matches_the_analytic_gradient_of_a_two_layer_product():
    torch.manual_seed(1)
    model = dln.build_dln("none", depth=2, dim=3, dtype=torch.float64)
    x = torch.randn(5, 3, dtype=torch.float64)
    a = torch.randn(3, 3, dtype=torch.float64)
    w1, w2 = (m.weight.detach() for m in model)
    residual = w2 @ w1 @ x.T - a @ x.T
    loss, (g1, g2) = full_gradient(model, x, x @ a.T)
    assert loss.item() == pytest.approx((residual**2).sum().item())
    torch.testing.assert_close(g1, 2 * w2.T @ residual @ x)
    torch.testing.assert_close(g2, 2 * residual @ (w1 @ x.T).T)


def test_a_descent_step_is_w_minus_lr_times_the_gradient():
    torch.manual_seed(2)
    model = dln.build_dln("batch", depth=4, dim=3)
    x, targets = dln.make_problem(0, n=16, dim=3)
    params = list(model.parameters())
    before = [p.detach().clone() for p in params]
    _, grad = full_gradient(model, x, targets)
    sgd_step(model, x, targets, lr=1e-3)
    for p, w, g in zip(params, before, grad, strict=True):
        exact = w.double() - 1e-3 * g.double()  # to within float32 rounding (one ulp)
        torch.testing.assert_close(p.detach().double(), exact, rtol=0, atol=1.2e-7)
        assert not torch.equal(p.detach(), w)


def test_float32_steps_at_lr_1e6_move_the_weights():
    """The paper's tiny learning rate registers in float32: no update rounds away."""
    torch.manual_seed(0)
    model = dln.build_dln("none")
    x, targets = dln.make_problem(0)
    params = list(model.parameters())
    before = [p.detach().clone() for p in params]
    _, grad = full_gradient(model, x, targets)
    sgd_step(model, x, targets, lr=1e-6)
    exact = [w.double() - 1e-6 * g.double() for w, g in zip(before, grad, strict=True)]
    for p, w, e in zip(params, before, exact, strict=True):
        moved = (p.detach() != w).float().mean().item()
        assert moved > 0.9
        torch.testing.assert_close(p.detach().double(), e, rtol=0, atol=1e-7)


# Settings and run names


def test_runs_and_settings_come_from_the_config():
    assert bn_runs.experiment_runs(CONFIG, "dln") == [
        "dln_none_lr1e-06_seed0",
        "dln_none_lr1e-07_seed0",
        "dln_batch_lr1e-06_seed0",
        "dln_batch_lr1e-07_seed0",
        "dln_l2_lr1e-06_seed0",
        "dln_l2_lr1e-07_seed0",
    ]
    resolved = settings("dln_batch_lr1e-07_seed0")
    assert resolved["normalization"] == "batch"
    assert resolved["lr"] == 1e-7 and resolved["seed"] == 0
    assert resolved["precision"] == "fp32" and resolved["model"] == "dln"
    assert resolved["device_type"] == "cpu" and "threads" not in resolved
    assert settings(precision="fp64")["precision"] == "fp64"
    with pytest.raises(ValueError, match="ics_layers"):
        settings(ics_layers=[9, 30])


def test_a_dln_run_trains_on_one_cpu_thread_whatever_train_device_says():
    config = {"train": {"device": "cuda", "log_every": 7, "checkpoint_every": 9}}
    chosen = execution(config, 4, settings(steps=50))
    assert chosen == Execution("cpu", 4, 5, 0)  # ten progress lines, no checkpoints
    assert execution(config, 4, {"model": "vgg_a"}).device == "cuda"


# Training outputs


def test_outputs_have_the_vgg_run_format(trained):
    paths, meta = trained["dln_batch_lr1e-06_seed0"]
    metrics = pd.read_csv(paths["metrics"], sep="\t")
    assert list(metrics.columns) == [
        "step", "train_loss", "train_accuracy", "test_loss", "test_accuracy"
    ]  # fmt: skip
    assert metrics["step"].tolist() == list(range(13))  # 12 steps and the final loss
    assert np.isfinite(metrics["train_loss"]).all()
    assert metrics[["train_accuracy", "test_loss", "test_accuracy"]].isna().all().all()
    probes = pd.read_csv(paths["probes"], sep="\t")
    assert list(probes.columns) == ["step", "probe", "layer", "eta", "quantity", "value"]
    assert sorted(probes["step"].unique()) == [0, 4, 8]
    assert set(probes["quantity"]) == {
        "loss", "grad_diff", "beta_ratio", "grad_norm", "effective_beta", "step_grad_norm",
        "step_grad_cosine", "ics_l2", "ics_cosine", "ics_grad_norm", "ics_shifted_grad_norm",
        "ics_relative",
    }  # fmt: skip
    etas = sorted(probes["eta"].dropna().unique())
    np.testing.assert_allclose(etas, [m * 1e-6 for m in CONFIG["models"]["dln"]["eta_multipliers"]])
    assert set(probes["layer"].dropna()) == {9, 17}
    on_disk = json.loads(Path(paths["meta"]).read_text())
    assert on_disk == meta
    for key in (
        "run", "normalization", "lr", "seed", "steps", "steps_done", "diverged", "diverged_at",
        "final_train_loss", "wall_time_s", "steps_per_second", "device", "precision", "settings",
    ):  # fmt: skip
        assert key in meta
    assert meta["device"].startswith("cpu") and meta["precision"] == "fp32"
    assert meta["model"] == "dln" and meta["final_train_accuracy"] is None
    assert meta["steps_done"] == 12 and meta["diverged"] is False
    assert meta["final_train_loss"] == metrics["train_loss"].iloc[-1]


def test_full_batch_training_is_deterministic(tmp_path, trained):
    paths, _ = trained["dln_none_lr1e-06_seed0"]
    again = outputs(tmp_path / "again")
    train(settings("dln_none_lr1e-06_seed0"), again)
    for key in ("metrics", "probes"):
        assert Path(again[key]).read_text() == Path(paths[key]).read_text()


def test_probing_does_not_change_the_trajectory(tmp_path, trained):
    paths, _ = trained["dln_batch_lr1e-06_seed0"]
    quiet = outputs(tmp_path / "quiet")
    train(settings("dln_batch_lr1e-06_seed0", probes_every=0), quiet)
    probed = pd.read_csv(paths["metrics"], sep="\t")["train_loss"]
    unprobed = pd.read_csv(quiet["metrics"], sep="\t")["train_loss"]
    assert probed.tolist() == unprobed.tolist()
    assert pd.read_csv(quiet["probes"], sep="\t").empty


def test_the_loss_decreases_and_gradient_descent_on_standard_stays_aligned(trained):
    paths, _ = trained["dln_none_lr1e-07_seed0"]
    losses = pd.read_csv(paths["metrics"], sep="\t")["train_loss"]
    assert losses.iloc[-1] < losses.iloc[0]
    probes = pd.read_csv(paths["probes"], sep="\t")
    cosine = probes.loc[probes["quantity"] == "ics_cosine", "value"]
    assert (cosine > 0.99).all()


def test_a_non_finite_loss_stops_the_run_and_marks_it_diverged(tmp_path):
    paths = outputs(tmp_path / "diverged")
    meta = train(settings("dln_none_lr1_seed0", steps=50), paths)
    assert meta["diverged"] is True
    stop = meta["diverged_at"]
    assert 0 < stop < 50 and meta["steps_done"] == stop
    metrics = pd.read_csv(paths["metrics"], sep="\t")
    assert metrics["step"].tolist() == list(range(stop + 1))
    assert not np.isfinite(metrics["train_loss"].iloc[-1])
    assert np.isfinite(meta["final_train_loss"])
    probes = pd.read_csv(paths["probes"], sep="\t")
    assert (probes["step"] < stop).all()


def test_outputs_parse_into_finite_family_tables(trained):
    runs = [read_run(p["metrics"], p["probes"], p["meta"]) for p, _ in trained.values()]
    assert family_table(runs, "activations").empty  # no nonlinearity to sample
    assert family_table(runs, "curvature").empty  # not measured on the DLN
    assert family_table(runs, "own_step").empty  # plain SGD: its own step is -lr g
    assert family_table(runs, "weights").empty  # no experiment of its kind reads the weights
    assert family_table(runs, "outliers").empty
    skipped = ("activations", "curvature", "own_step", "weights", "outliers")
    for family in (f for f in FAMILIES if f not in skipped):
        table = family_table(runs, family)
        assert not table.empty, family
        assert np.isfinite(table["value"].astype(float)).all(), family
        assert set(table["run"]) == set(trained), family
    ics = family_table(runs, "ics")
    assert set(ics["layer"]) == {9, 17}
    metrics = family_table(runs, "metrics")
    assert set(metrics["quantity"]) == {"train_loss"}


# Adapters


def run_training_adapter(folder: Path, runs: list[str]) -> None:
    """train_dln.py as rule train_dln runs it: one job, a normalisation's runs in turn."""
    paths = [outputs(folder / run) for run in runs]
    fake = FakeSnakemake(
        input=FakeIO(),
        config={"train": {"device": "cuda", "log_every": 1, "checkpoint_every": 1}},
        output=FakeIO(**{key: [p[key] for p in paths] for key in dln_output_names()}),
        params=FakeIO(
            settings=[settings(run, steps=10) for run in runs],
            code=code_identity("train_dln.py", "bnopt/dln.py"),
        ),
        log=FakeIO(job=str(folder / "job.log"), runs=[str(folder / f"{run}.log") for run in runs]),
        wildcards=FakeIO(normalization="none"),
        threads=1,
    )
    runpy.run_path(str(ROOT / "workflow/scripts/train_dln.py"), init_globals={"snakemake": fake})


def test_the_training_adapter_trains_each_run_of_its_job_into_its_own_files(tmp_path):
    first = ["dln_none_lr1e-06_seed0", "dln_none_lr1e-07_seed0"]
    run_training_adapter(tmp_path, first)
    for run in first:
        assert all(Path(p).exists() for p in outputs(tmp_path / run).values())
        meta = json.loads((tmp_path / run / "meta.json").read_text())
        assert meta["lr"] == bn_runs.parse_run_name(run)["lr"]
        lines = (tmp_path / f"{run}.log").read_text().splitlines()
        assert any("step 10/10" in line for line in lines)
        assert lines and all(line.startswith(f"[{run}] ") for line in lines)
    job_log = (tmp_path / "job.log").read_text()
    assert job_log.count("process start-up before the job's work") == 1  # once per process
    assert all(f"run {run}: its log is" in job_log for run in first)
    # A seed added to the config reruns the job (Snakemake sees new outputs): the runs it
    # trained before are restored from their finished store, only the new one trains.
    run_training_adapter(tmp_path, [*first, "dln_none_lr1e-06_seed1"])
    for run in first:
        assert "restored the outputs of this finished run" in (tmp_path / f"{run}.log").read_text()
    assert "step 10/10" in (tmp_path / "dln_none_lr1e-06_seed1.log").read_text()


def run_tables_adapter(trained, folder: Path) -> dict:
    paths = [p for p, _ in trained.values()]
    tables = {family: str(folder / f"{family}.tsv") for family in FAMILIES}
    fake = FakeSnakemake(
        input=FakeIO(
            metrics=[p["metrics"] for p in paths],
            probes=[p["probes"] for p in paths],
            meta=[p["meta"] for p in paths],
        ),
        output=FakeIO(**tables),
        log=FakeIO(str(folder / "tables.log")),
        wildcards=FakeIO(experiment="dln"),
    )
    runpy.run_path(str(ROOT / "workflow/scripts/tables.py"), init_globals={"snakemake": fake})
    return tables


def dln_figure_job(tables: dict, folder) -> tuple[list[str], FakeSnakemake]:
    """The DLN experiment's figure job (rule figures_dln) on these tables: its figures in one
    process."""
    names = [spec.name for spec in FIGURES if spec.experiment == "dln"]
    fake = FakeSnakemake(
        input=FakeIO(**tables),
        output=FakeIO(
            png=[str(folder / f"{name}.png") for name in names],
            pdf=[str(folder / f"{name}.pdf") for name in names],
        ),
        log=FakeIO(str(folder / "figures.log")),
        params=FakeIO(figures=[{"target": name, "draw": name, "note": ""} for name in names]),
        rule="figures_dln",
    )
    return names, fake


def test_the_tables_and_plot_adapters_write_every_table_and_figure(tmp_path, trained):
    tables = run_tables_adapter(trained, tmp_path)
    assert read_table(tables["ics"])["layer"].dropna().nunique() == 2
    names, fake = dln_figure_job(tables, tmp_path)
    runpy.run_path(str(ROOT / "workflow/scripts/plot.py"), init_globals={"snakemake": fake})
    assert len(names) == 3
    for name in names:
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        assert (tmp_path / f"{name}.pdf").exists()
        assert f"drew {name}" in (tmp_path / "figures.log").read_text()


def test_a_failed_figure_names_itself_and_the_others_are_still_drawn(tmp_path, trained):
    tables = run_tables_adapter(trained, tmp_path)
    tables["ics"] = str(tmp_path / "missing.tsv")  # dln_ics reads it
    names, fake = dln_figure_job(tables, tmp_path)
    with pytest.raises(SystemExit) as exited:
        runpy.run_path(str(ROOT / "workflow/scripts/plot.py"), init_globals={"snakemake": fake})
    assert exited.value.code == 1
    log = (tmp_path / "figures.log").read_text()
    assert "figure dln_ics failed" in log and "missing.tsv" in log  # with its traceback
    assert "1 figure(s) failed: dln_ics" in log
    assert not (tmp_path / "dln_ics.png").exists()
    for name in set(names) - {"dln_ics"}:
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


# Figures


STEPS = [0, 100, 200, 300]


def lines_by_gid(ax) -> dict:
    return {line.get_gid(): line for line in ax.get_lines()}


def band_edges(collection) -> dict[float, tuple[float, float]]:
    vertices = np.concatenate([path.vertices for path in collection.get_paths()])
    return {
        float(x): (vertices[vertices[:, 0] == x, 1].min(), vertices[vertices[:, 0] == x, 1].max())
        for x in np.unique(vertices[:, 0])
    }


def ics_table(standard_cosine, batchnorm_cosine, lrs=(1e-6,)) -> pd.DataFrame:
    rows = []
    for lr in lrs:
        for layer in (9, 17):
            rows += tidy_rows("none", lr, "ics_cosine", STEPS, standard_cosine, layer=layer)
            rows += tidy_rows("batch", lr, "ics_cosine", STEPS, batchnorm_cosine, layer=layer)
            rows += tidy_rows("none", lr, "ics_l2", STEPS, [1.0, 2.0, 3.0, 4.0], layer=layer)
            rows += tidy_rows("batch", lr, "ics_l2", STEPS, [10.0, 20.0, 30.0, 40.0], layer=layer)
    return pd.DataFrame(rows)


def test_dln_ics_draws_cosine_and_l2_per_layer():
    fig = dln_plots.dln_ics(ics_table([1.0, 0.99, 0.98, 0.97], [0.9, 0.1, -0.5, 0.2]))
    cos9, cos17, l2_9, l2_17 = fig.axes
    # the cosine rows are what the DLN claim judges, the ‖G − G′‖ rows are not
    assert [ax.get_title() for ax in fig.axes] == [
        "Layer #9 (judged)", "Layer #17 (judged)", "Layer #9 (not judged)",
        "Layer #17 (not judged)",
    ]  # fmt: skip
    standard, batchnorm = lines_by_gid(cos17)["none|1e-06"], lines_by_gid(cos17)["batch|1e-06"]
    np.testing.assert_allclose(standard.get_xdata(), STEPS)
    np.testing.assert_allclose(standard.get_ydata(), [1.0, 0.99, 0.98, 0.97])
    np.testing.assert_allclose(batchnorm.get_ydata(), [0.9, 0.1, -0.5, 0.2])
    assert lines_by_gid(cos9)["reference"].get_ydata()[0] == 1.0
    assert cos9.get_yscale() == "linear" and cos9.get_ylim()[1] <= 1.1
    np.testing.assert_allclose(lines_by_gid(l2_17)["batch|1e-06"].get_ydata(), [10, 20, 30, 40])
    assert l2_9.get_yscale() == "log"


def test_dln_training_draws_the_loss_per_normalisation_and_lr():
    rows = tidy_rows("none", 1e-6, "train_loss", STEPS, [9e4, 5e4, 3e4, 2e4])
    rows += tidy_rows("batch", 1e-7, "train_loss", STEPS, [1e5, 4e4, 2e4, 1e4])
    rows += tidy_rows("batch", 1e-7, "train_accuracy", STEPS, [np.nan] * 4)
    fig = dln_plots.dln_training(pd.DataFrame(rows))
    (ax,) = fig.axes
    lines = lines_by_gid(ax)
    np.testing.assert_allclose(lines["none|1e-06"].get_ydata(), [9e4, 5e4, 3e4, 2e4])
    np.testing.assert_allclose(lines["batch|1e-07"].get_ydata(), [1e5, 4e4, 2e4, 1e4])
    assert lines["none|1e-06"].get_linestyle() == "-"
    assert lines["batch|1e-07"].get_linestyle() == "--"
    assert ax.get_yscale() == "log"


def labelled_y_ticks(fig, ax) -> list[tuple[float, str]]:
    """The y ticks the drawn axis shows with a label, within its view."""
    fig.draw_without_rendering()
    low, high = sorted(ax.get_ylim())
    return [
        (label.get_position()[1], label.get_text())
        for label in ax.get_yticklabels()
        if label.get_visible() and label.get_text() and low <= label.get_position()[1] <= high
    ]


@pytest.mark.parametrize(
    "top, bottom", [(1.3e5, 2.0e4), (1.3e5, 6.0e4), (3.9e4, 3.1e4), (1e6, 1e-2)]
)
def test_dln_training_log_axis_reads_off_at_least_two_labelled_ticks(top, bottom):
    """The demo's losses (2e4 .. 1.3e5) span less than a decade: the powers of ten alone gave
    the axis a single label. Any span gets two or more, each a distinct number."""
    losses = np.geomspace(top, bottom, 31)
    rows = []
    for normalization, factor in (("none", 1.0), ("batch", 0.9), ("l2", 0.95)):
        for lr in (1e-6, 1e-7):
            for seed in (0, 1):
                values = losses * factor * (1.0 if lr == 1e-6 else 1.02) * (1 + 0.01 * seed)
                rows += tidy_rows(normalization, lr, "train_loss", range(0, 310, 10), values,
                                  seed=seed)  # fmt: skip
    fig = dln_plots.dln_training(pd.DataFrame(rows))
    (ax,) = fig.axes
    ticks = labelled_y_ticks(fig, ax)
    assert len(ticks) >= 2, ticks
    assert len({text for _, text in ticks}) == len(ticks), ticks
    for value, text in ticks:  # each label reads its own tick's value
        assert text.startswith("$") and f"{{{int(np.floor(np.log10(value)))}}}" in text


def landscape_tables(
    lrs=(1e-6,), scales=(("none", 100.0), ("batch", 1.0))
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    loss, diff, beta = [], [], []
    for lr in lrs:
        for normalization, scale in scales:
            for k, multiplier in enumerate((0.01, 1, 30)):
                eta = multiplier * lr
                values = [scale * (k + 1) * (1 + i) for i in range(len(STEPS))]
                loss += tidy_rows(normalization, lr, "loss", STEPS, values, eta=eta)
                diff += tidy_rows(normalization, lr, "grad_diff", STEPS, values, eta=eta)
            beta += tidy_rows(normalization, lr, "effective_beta", STEPS, [scale * 1e6] * 4)
    return pd.DataFrame(loss), pd.DataFrame(diff), pd.DataFrame(beta)


def test_dln_landscape_draws_ranges_over_eta_and_effective_beta():
    fig = dln_plots.dln_landscape(*landscape_tables(lrs=(1e-6, 1e-7)))
    assert len(fig.axes) == 6  # one row per lr, the paper's 1e-6 first
    loss_ax, diff_ax, beta_ax = fig.axes[:3]
    assert "lr 1e-06" in loss_ax.get_title() and "lr 1e-07" in fig.axes[3].get_title()
    assert "(not judged)" in loss_ax.get_title() and "(judged)" in beta_ax.get_title()
    # one line per normalisation: the range max - min over eta (bands would overlap)
    assert not [c for c in loss_ax.collections if isinstance(c, PolyCollection)]
    loss = {
        gid: dict(zip(*line.get_data(), strict=True)) for gid, line in lines_by_gid(loss_ax).items()
    }
    assert loss["none|1e-06"][100.0] == pytest.approx(600.0 - 200.0)
    assert loss["batch|1e-06"][300.0] == pytest.approx(12.0 - 4.0)
    diff = dict(zip(*lines_by_gid(diff_ax)["none|1e-06"].get_data(), strict=True))
    assert diff[0.0] == pytest.approx(300.0 - 100.0)
    np.testing.assert_allclose(lines_by_gid(beta_ax)["none|1e-06"].get_ydata(), [1e8] * 4)
    assert lines_by_gid(beta_ax)["reference"].get_ydata()[0] == pytest.approx(2e6)
    assert all(ax.get_yscale() == "log" for ax in fig.axes)


# Claims


def dln_rows(tables: dict) -> list[dict]:
    """The deep linear network's claim rows (one per judged part), from its tables keyed by
    family."""
    keyed = {f"dln/{family}": frame for family, frame in tables.items()}
    return [row for claim in claims.CLAIMS if claim.group == "dln" for row in
            claim.evaluate(keyed)]  # fmt: skip


def outcomes(tables: dict) -> list[str]:
    """Each DLN claim's outcome, in registry order."""
    rows = dln_rows(tables)
    assert all(list(row) == CLAIM_COLUMNS for row in rows)
    return list(dict.fromkeys((row["claim"], row["outcome"]) for row in rows).keys())


def claim_outcomes(tables: dict) -> list[str]:
    return [outcome for _, outcome in outcomes(tables)]


def test_claims_supported_when_bn_decorrelates_and_is_smoother_at_every_lr():
    ics = ics_table([1.0, 0.99, 0.98, 0.97], [0.9, 0.1, -0.5, 0.2], lrs=(1e-6, 1e-7))
    _, diff, beta = landscape_tables(lrs=(1e-6, 1e-7))
    beta["value"] *= 1 + 0.1 * np.cos(beta["step"])
    assert claim_outcomes({"ics": ics, "beta": beta, "predictiveness": diff}) == [
        SUPPORTED, SUPPORTED, NOT_MEASURABLE,
    ]  # fmt: skip


def test_a_learning_rate_where_bn_is_rougher_contradicts_the_smoother_claim():
    _, diff, beta = landscape_tables(lrs=(1e-6, 1e-7))
    rougher = (beta["lr"] == 1e-7) & (beta["normalization"] == "batch")
    beta.loc[rougher, "value"] = 1e9  # 10x Standard's 1e8 at lr 1e-7
    rows = dln_rows({"beta": beta, "predictiveness": diff})
    smoother = [r for r in rows if "orders of magnitude" in r["claim"]]
    assert {r["outcome"] for r in smoother} == {CONTRADICTED}
    assert {r["part"]: r["part_outcome"] for r in smoother} == {
        "BN / Standard effective β, lr 1e-07": CONTRADICTED,
        "BN / Standard effective β, lr 1e-06": SUPPORTED,
    }


def test_claims_are_not_measurable_without_a_standard_bn_pair():
    ics = ics_table([1.0] * 4, [0.1] * 4)
    assert claim_outcomes({}) == [NOT_MEASURABLE] * 3
    only_standard = ics[ics["normalization"] == "none"]
    assert claim_outcomes({"ics": only_standard})[0] == NOT_MEASURABLE
    _, _, beta = landscape_tables()
    two_steps = beta[beta["step"] <= 100]
    assert claim_outcomes({"beta": two_steps})[1] == NOT_MEASURABLE


LP_SCALES = (("none", 100.0), ("batch", 1.0), ("l1", 2.0), ("l2", 1.0))


def test_the_lp_claim_judges_every_lp_run_at_every_lr():
    _, diff, beta = landscape_tables(lrs=(1e-6, 1e-7), scales=LP_SCALES)
    beta["value"] *= 1 + 0.1 * np.cos(beta["step"])
    rows = [r for r in dln_rows({"beta": beta, "predictiveness": diff}) if "ℓ1, ℓ2" in r["claim"]]
    assert {r["outcome"] for r in rows} == {SUPPORTED}
    assert sorted(r["part"] for r in rows) == sorted(
        f"{label} / Standard effective β, lr {lr:g}"
        for label in ("ℓ1", "ℓ2") for lr in (1e-6, 1e-7)
    )  # fmt: skip


def test_the_lp_claim_is_contradicted_when_one_lp_run_is_rougher():
    _, diff, beta = landscape_tables(scales=(*LP_SCALES, ("linf", 1000.0)))
    rows = [r for r in dln_rows({"beta": beta, "predictiveness": diff}) if "ℓ1, ℓ2" in r["claim"]]
    assert {r["outcome"] for r in rows} == {CONTRADICTED}
