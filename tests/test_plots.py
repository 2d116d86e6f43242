import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from bnopt import plots

TIDY_COLUMNS = ["run", "normalization", "lr", "seed", "step", "quantity", "value", "layer", "eta"]


def tidy_table(records: list[dict]) -> pd.DataFrame:
    """A tidy table from partial records; run name, layer and eta filled in when absent."""
    rows = []
    for record in records:
        row = {"seed": 0, "layer": np.nan, "eta": np.nan, **record}
        row.setdefault("run", f"{row['normalization']}_lr{row['lr']:g}_seed{row['seed']}")
        rows.append(row)
    columns = TIDY_COLUMNS + [c for c in ("diverged_at",) if any(c in r for r in rows)]
    return pd.DataFrame(rows, columns=columns)


def series(normalization, lr, quantity, steps, values, **extra) -> list[dict]:
    fixed = {"normalization": normalization, "lr": lr, "quantity": quantity, **extra}
    return [
        {**fixed, "step": step, "value": value} for step, value in zip(steps, values, strict=True)
    ]


STEPS = [0, 100, 200, 300]
STANDARD_ACCURACY = [0.1, 0.3, 0.5, 0.6]
BN_ACCURACY = [0.1, 0.6, 0.8, 0.9]


@pytest.fixture
def metrics() -> pd.DataFrame:
    records = (
        series("none", 0.1, "train_accuracy", STEPS, STANDARD_ACCURACY, diverged_at=np.nan)
        + series("batch", 0.1, "train_accuracy", STEPS, BN_ACCURACY, diverged_at=np.nan)
        + series("none", 0.1, "train_loss", STEPS, [2.3, 1.8, 1.2, 1.0], diverged_at=np.nan)
        + series("batch", 0.1, "train_loss", STEPS, [2.3, 1.0, 0.6, 0.3], diverged_at=np.nan)
        + series("none", 0.5, "train_accuracy", [0, 100], [0.1, 0.12], diverged_at=100.0)
        + series("none", 0.5, "train_loss", [0, 100], [2.3, 7.0], diverged_at=100.0)
        + series("none", 0.1, "test_accuracy", [0, 300], [0.1, 0.55], diverged_at=np.nan)
        + series("batch", 0.1, "test_accuracy", [0, 300], [0.1, 0.7], diverged_at=np.nan)
    )
    return tidy_table(records)


def lines_by_gid(ax) -> dict:
    return {line.get_gid(): line for line in ax.get_lines()}


def collections_by_gid(ax) -> dict:
    return {c.get_gid(): c for c in ax.collections if isinstance(c, PolyCollection)}


def visible_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_visible()]


def texts(fig: Figure) -> list[str]:
    return [text.get_text() for ax in fig.axes for text in ax.texts]


def legend_labels(fig: Figure) -> list[str]:
    return [text.get_text() for legend in fig.legends for text in legend.get_texts()]


def test_fig1_lines_equal_table(metrics):
    fig = plots.fig1_training(metrics)
    accuracy_ax, loss_ax = visible_axes(fig)
    assert accuracy_ax.get_title() == "Training accuracy"
    assert accuracy_ax.get_xlabel() == "Step"
    standard = lines_by_gid(accuracy_ax)["none|0.1"]
    batchnorm = lines_by_gid(accuracy_ax)["batch|0.1"]
    np.testing.assert_allclose(standard.get_xdata(), STEPS)
    np.testing.assert_allclose(standard.get_ydata(), STANDARD_ACCURACY)
    np.testing.assert_allclose(batchnorm.get_ydata(), BN_ACCURACY)
    assert standard.get_linestyle() == "-"
    assert batchnorm.get_linestyle() == "--"
    assert standard.get_color() == batchnorm.get_color()  # colour encodes lr only
    assert standard.get_label() == "Standard, lr 0.1"
    assert batchnorm.get_label() == "Standard + BatchNorm, lr 0.1"
    np.testing.assert_allclose(lines_by_gid(loss_ax)["batch|0.1"].get_ydata(), [2.3, 1.0, 0.6, 0.3])
    assert fig.get_suptitle()


def test_fig1_marks_diverged_run_where_it_stopped(metrics):
    fig = plots.fig1_training(metrics)
    accuracy_ax, loss_ax = visible_axes(fig)
    marker = lines_by_gid(loss_ax)["none|0.5|diverged"]
    np.testing.assert_allclose(marker.get_xdata(), [100])
    np.testing.assert_allclose(marker.get_ydata(), [7.0])
    assert marker.get_marker() == "X"
    assert any("diverged at step 100" in label for label in legend_labels(fig))
    assert any("solid = Standard" in (legend.get_title().get_text()) for legend in fig.legends)


def test_fig2_test_accuracy(metrics):
    fig = plots.fig2_test_accuracy(metrics)
    (ax,) = visible_axes(fig)
    line = lines_by_gid(ax)["batch|0.1"]
    np.testing.assert_allclose(line.get_xdata(), [0, 300])
    np.testing.assert_allclose(line.get_ydata(), [0.1, 0.7])
    assert ax.get_ylabel() == "Test accuracy"


def test_several_seeds_draw_mean_and_band():
    records = series("batch", 0.1, "train_accuracy", STEPS, [0.1, 0.5, 0.7, 0.9], seed=0)
    records += series("batch", 0.1, "train_accuracy", STEPS, [0.3, 0.7, 0.9, 0.9], seed=1)
    fig = plots.fig1_training(tidy_table(records))
    accuracy_ax = visible_axes(fig)[0]
    np.testing.assert_allclose(
        lines_by_gid(accuracy_ax)["batch|0.1"].get_ydata(), [0.2, 0.6, 0.8, 0.9]
    )
    band = collections_by_gid(accuracy_ax)["batch|0.1|band"]
    vertices = np.concatenate([path.vertices for path in band.get_paths()])
    assert vertices[:, 1].min() == pytest.approx(0.1)
    assert vertices[:, 1].max() == pytest.approx(0.9)
    assert "mean over 2 seeds" in fig.get_suptitle()


def ics_table() -> pd.DataFrame:
    records = []
    for layer, scale in ((5, 1.0), (10, 2.0)):
        for normalization, factor in (("none", 1.0), ("batch", 3.0)):
            l2 = [scale * factor * v for v in (0.1, 0.2, 0.4)]
            records += series(normalization, 0.1, "ics_l2", [0, 100, 200], l2, layer=layer)
            cosine = [0.9, 0.8, -0.2] if normalization == "batch" else [0.99, 0.98, 0.97]
            records += series(normalization, 0.1, "ics_cosine", [0, 100, 200], cosine, layer=layer)
    return tidy_table(records)


def test_fig3_one_log_panel_per_layer():
    fig = plots.fig3_ics_l2(ics_table())
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["Layer #5", "Layer #10"]
    assert all(ax.get_yscale() == "log" for ax in axes)
    np.testing.assert_allclose(lines_by_gid(axes[1])["batch|0.1"].get_ydata(), [0.6, 1.2, 2.4])
    assert axes[0].get_ylabel() == "‖G − G′‖₂"


def test_fig3_missing_layer_says_no_data():
    fig = plots.fig3_ics_l2(ics_table(), layers=(5, 7))
    axes = visible_axes(fig)
    assert axes[1].get_title() == "Layer #7"
    assert [t.get_text() for t in axes[1].texts] == ["no data"]


def test_fig3_all_layers_when_asked():
    fig = plots.fig3_ics_l2(ics_table(), layers=None)
    assert [ax.get_title() for ax in visible_axes(fig)] == ["Layer #5", "Layer #10"]


def test_fig4_cosine_axis_and_reference_line():
    fig = plots.fig4_ics_cosine(ics_table())
    ax = visible_axes(fig)[0]
    np.testing.assert_allclose(lines_by_gid(ax)["none|0.1"].get_ydata(), [0.99, 0.98, 0.97])
    reference = lines_by_gid(ax)["reference"]
    np.testing.assert_allclose(reference.get_ydata(), [1, 1])
    assert reference.get_linestyle() == "--"
    bottom, top = ax.get_ylim()
    assert bottom < -0.2 and 1.0 < top <= 1.1  # data below 0 widens the axis


def eta_table(quantity: str) -> pd.DataFrame:
    records = []
    etas = (0.05, 0.1, 0.2, 0.4)
    for step, values in ((0, (2.0, 3.0, 5.0, 9.0)), (100, (1.0, 1.5, 2.0, 4.0))):
        for eta, value in zip(etas, values, strict=True):
            records += series("none", 0.1, quantity, [step], [value], eta=eta)
            records += series("batch", 0.1, quantity, [step], [value / 10], eta=eta)
    for step in (200,):
        for eta, value in zip(etas, (0.5, 0.6, 0.7, 0.8), strict=True):
            records += series("none", 0.1, quantity, [step], [value], eta=eta)
            records += series("batch", 0.1, quantity, [step], [value / 10], eta=eta)
    return tidy_table(records)


def band_edges(collection) -> dict[float, tuple[float, float]]:
    vertices = np.concatenate([path.vertices for path in collection.get_paths()])
    edges = {}
    for x in np.unique(vertices[:, 0]):
        ys = vertices[vertices[:, 0] == x, 1]
        edges[float(x)] = (float(ys.min()), float(ys.max()))
    return edges


def test_fig5_band_covers_min_to_max_over_eta():
    fig = plots.fig5_loss_landscape(eta_table("loss"))
    ax = visible_axes(fig)[0]
    assert ax.get_yscale() == "log"
    edges = band_edges(collections_by_gid(ax)["none|0.1|range"])
    assert edges == {0.0: (2.0, 9.0), 100.0: (1.0, 4.0), 200.0: (0.5, 0.8)}
    bn_edges = band_edges(collections_by_gid(ax)["batch|0.1|range"])
    assert bn_edges[0.0] == pytest.approx((0.2, 0.9))


def test_fig5_seeds_combine_as_mean_of_per_seed_min_and_max():
    one = eta_table("loss")
    other = one.assign(seed=1, run=one["run"].str.replace("seed0", "seed1"))
    other["value"] = other["value"] * 3
    fig = plots.fig5_loss_landscape(pd.concat([one, other]))
    edges = band_edges(collections_by_gid(visible_axes(fig)[0])["none|0.1|range"])
    assert edges[0.0] == pytest.approx((4.0, 18.0))


def test_fig5_marks_diverged_run_and_splits_lrs():
    landscape = eta_table("loss")
    large_lr = landscape[landscape["step"] < 200].assign(lr=0.5, diverged_at=150.0)
    large_lr["run"] = large_lr["run"].str.replace("lr0.1", "lr0.5")
    fig = plots.fig5_loss_landscape(pd.concat([landscape.assign(diverged_at=np.nan), large_lr]))
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["lr 0.1", "lr 0.5"]
    marker = lines_by_gid(axes[1])["none|0.5|diverged"]
    np.testing.assert_allclose(marker.get_xdata(), [100])
    np.testing.assert_allclose(marker.get_ydata(), [4.0])  # top of the band where it stopped
    assert any("diverged at step 150" in label for label in legend_labels(fig))


def test_fig6_predictiveness_linear_axis():
    fig = plots.fig6_gradient_predictiveness(eta_table("grad_diff"))
    ax = visible_axes(fig)[0]
    assert ax.get_yscale() == "linear"
    assert band_edges(collections_by_gid(ax)["none|0.1|range"])[100.0] == (1.0, 4.0)


def test_fig7_effective_beta_lines_and_two_over_lr():
    records = series("none", 0.1, "effective_beta", [0, 100, 200], [45.0, 30.0, 21.0])
    records += series("batch", 0.1, "effective_beta", [0, 100, 200], [19.0, 20.0, 20.5])
    records += series("none", 0.1, "beta_ratio", [0], [3.0], eta=0.1)
    fig = plots.fig7_beta_smoothness(tidy_table(records))
    ax = visible_axes(fig)[0]
    lines = lines_by_gid(ax)
    np.testing.assert_allclose(lines["none|0.1"].get_ydata(), [45.0, 30.0, 21.0])
    np.testing.assert_allclose(lines["batch|0.1"].get_xdata(), [0, 100, 200])
    np.testing.assert_allclose(lines["reference"].get_ydata(), [20.0, 20.0])
    assert lines["none|0.1"].get_color() != lines["batch|0.1"].get_color()


@pytest.mark.parametrize("name", list(plots.FIGURES))
def test_empty_input_draws_no_data_note(name):
    function, families = plots.FIGURES[name]
    fig = function(*[pd.DataFrame(columns=TIDY_COLUMNS) for _ in families])
    assert isinstance(fig, Figure)
    assert "no data" in texts(fig)


def test_runs_with_only_nonfinite_values_count_as_missing():
    records = series("none", 0.1, "train_accuracy", [0, 100], [np.nan, np.inf])
    fig = plots.fig1_training(tidy_table(records))
    assert "no data" in texts(fig)


def test_registry_names_functions_and_families():
    assert list(plots.FIGURES) == [
        "fig1_training",
        "fig2_test_accuracy",
        "fig3_ics_l2",
        "fig4_ics_cosine",
        "fig5_loss_landscape",
        "fig6_gradient_predictiveness",
        "fig7_beta_smoothness",
    ]
    families = {families for _, families in plots.FIGURES.values()}
    assert families == {("metrics",), ("ics",), ("landscape",), ("predictiveness",), ("beta",)}


def test_save_figure_writes_png_and_pdf(tmp_path, metrics):
    fig = plots.fig1_training(metrics)
    png, pdf = tmp_path / "out" / "fig1.png", tmp_path / "out" / "fig1.pdf"
    plots.save_figure(fig, png, pdf)
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert pdf.read_bytes().startswith(b"%PDF")
