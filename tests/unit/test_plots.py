import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from bnopt import plots, quantities

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
NO_METRICS = pd.DataFrame()  # figures that mark the claims' early window, drawn without it


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


def early_span(ax) -> tuple[float, float]:
    """The x extent of the panel's shaded early-training window (exactly one, a patch)."""
    spans = [patch for patch in ax.patches if patch.get_gid() == "early-window"]
    assert len(spans) == 1, [patch.get_gid() for patch in ax.patches]
    assert "early-window" not in lines_by_gid(ax)  # a shaded span, not a line like 2 / lr
    assert spans[0].get_label() == "early training (judged window)"
    return spans[0].get_x(), spans[0].get_x() + spans[0].get_width()


def has_early_span(ax) -> bool:
    return any(patch.get_gid() == "early-window" for patch in ax.patches)


def test_fig1_lines_equal_table(metrics):
    fig = plots.fig1_training(metrics)
    accuracy_ax, loss_ax = visible_axes(fig)
    # the claims judge the accuracy (early at lr 0.1, the last 5% at lr 0.5), not the loss
    assert accuracy_ax.get_title() == "Training accuracy (judged)"
    assert loss_ax.get_title() == "Training loss (not judged)"
    final = [p for p in accuracy_ax.patches if p.get_gid() == "final-window"]
    assert len(final) == 1 and final[0].get_x() == pytest.approx(0.95 * (STEPS[-1] + 1))
    assert accuracy_ax.get_xlabel() == "Step"
    standard = lines_by_gid(accuracy_ax)["none|0.1"]
    batchnorm = lines_by_gid(accuracy_ax)["batch|0.1"]
    np.testing.assert_allclose(standard.get_xdata(), STEPS)
    np.testing.assert_allclose(standard.get_ydata(), STANDARD_ACCURACY)
    np.testing.assert_allclose(batchnorm.get_ydata(), BN_ACCURACY)
    # colour = normalisation (as in every figure), line style = learning rate
    assert standard.get_linestyle() == batchnorm.get_linestyle() == "-"  # lr 0.1
    assert standard.get_color() != batchnorm.get_color()
    assert standard.get_color() == plots.normalization_color("none")
    assert standard.get_label() == "Standard, lr 0.1"
    assert batchnorm.get_label() == "Standard + BatchNorm, lr 0.1"
    np.testing.assert_allclose(lines_by_gid(loss_ax)["batch|0.1"].get_ydata(), [2.3, 1.0, 0.6, 0.3])
    assert fig.get_suptitle()


def test_fig1_shades_the_early_training_window_on_both_panels(metrics):
    fig = plots.fig1_training(metrics)
    end = quantities.early_end(metrics)
    assert end == pytest.approx(0.25 * 301)  # last logged training step 300
    for ax in visible_axes(fig):
        assert early_span(ax) == pytest.approx((0.0, end))
    assert legend_labels(fig).count("early training (judged window)") == 1


def test_fig1_marks_diverged_run_where_it_stopped(metrics):
    fig = plots.fig1_training(metrics)
    accuracy_ax, loss_ax = visible_axes(fig)
    marker = lines_by_gid(loss_ax)["none|0.5|diverged"]
    np.testing.assert_allclose(marker.get_xdata(), [100])
    np.testing.assert_allclose(marker.get_ydata(), [7.0])
    assert marker.get_marker() == "X"
    assert any("diverged at step 100" in label for label in legend_labels(fig))
    titles = [legend.get_title().get_text() for legend in fig.legends]
    assert any("colour = normalisation; solid = lr 0.1, dashed = lr 0.5" in t for t in titles)


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


def test_fig5_uses_the_papers_eta_range_and_marks_the_claims_window():
    small_eta = series("none", 0.1, "loss", [0, 100, 200], [50.0, 50.0, 50.0], eta=0.005)
    steps = np.arange(0, 1001, 10)
    loss = series("none", 0.1, "train_loss", steps, 2.3 * np.exp(-np.log(2) * steps / 300))
    fig = plots.fig5_loss_landscape(
        tidy_table(loss), pd.concat([eta_table("loss"), tidy_table(small_eta)])
    )
    top, bottom = visible_axes(fig)
    # η = 0.005 is 0.05 x lr, outside the paper's [0.5, 4] x lr: the band stays at 2..9
    assert band_edges(collections_by_gid(top)["none|0.1|range"])[0.0] == (2.0, 9.0)
    # the claims' window: a quarter of the run's 1001 steps, shaded on both rows
    for ax in (top, bottom):
        assert early_span(ax) == pytest.approx((0.0, 0.25 * 1001))
    assert "early training (judged window)" in legend_labels(fig)


def rise_metrics(seed=0, offset=0.0) -> pd.DataFrame:
    records = series("none", 0.1, "train_loss", [0, 100, 200, 300], [2.0, 1.0, 1.0, 1.0],
                     seed=seed)  # fmt: skip
    records += series("batch", 0.1, "train_loss", [0, 100, 200, 300], [0.5, 0.3, 0.1, 0.1],
                      seed=seed)  # fmt: skip
    table = tidy_table(records)
    table["value"] += offset
    return table


def test_fig5_lower_row_draws_the_judged_rise_of_the_loss_above_it():
    fig = plots.fig5_loss_landscape(rise_metrics(), eta_table("loss"))
    top, bottom = visible_axes(fig)
    # small early rises stay visible beside later spikes: linear below 0.1, log above
    assert top.get_yscale() == "log" and bottom.get_yscale() == "symlog"
    assert "judged" in bottom.get_title() and "judged" in fig.get_suptitle()
    assert bottom.get_ylabel() == "max_η L(w − ηg) − L(w)"
    lines = lines_by_gid(bottom)
    # Standard: max over η 9, 4, 0.8 at steps 0, 100, 200 above L(w) = 2, 1, 1: the fall at
    # step 200 counts as 0. BN: 0.9, 0.4, 0.08 above 0.5, 0.3, 0.1.
    np.testing.assert_allclose(lines["none|0.1|rise"].get_xdata(), [0, 100, 200])
    np.testing.assert_allclose(lines["none|0.1|rise"].get_ydata(), [7.0, 3.0, 0.0])
    np.testing.assert_allclose(lines["batch|0.1|rise"].get_ydata(), [0.4, 0.1, 0.0], atol=1e-12)
    rise = quantities.loss_rise(eta_table("loss"), rise_metrics())
    expected = rise[rise["normalization"] == "none"].sort_values("step")["value"]
    np.testing.assert_allclose(lines["none|0.1|rise"].get_ydata(), expected)
    assert lines["none|0.1|rise"].get_label() == "Standard: rise (judged)"
    assert "none|0.1|rise" not in lines_by_gid(top)
    for ax in (top, bottom):
        assert early_span(ax) == pytest.approx((0.0, 0.25 * 301))


def test_fig5_rise_of_several_seeds_is_their_mean_with_a_min_max_band():
    one = eta_table("loss")
    landscape = pd.concat([one, one.assign(seed=1, run=one["run"].str.replace("seed0", "seed1"))])
    metrics = pd.concat([rise_metrics(), rise_metrics(seed=1, offset=1.0)])
    fig = plots.fig5_loss_landscape(metrics, landscape)
    bottom = visible_axes(fig)[1]
    # seed 0 rises 7, 3, 0 and seed 1 (L(w) one higher) 6, 2, 0
    np.testing.assert_allclose(lines_by_gid(bottom)["none|0.1|rise"].get_ydata(), [6.5, 2.5, 0])
    band = band_edges(collections_by_gid(bottom)["none|0.1|rise|band"])
    assert band[0.0] == pytest.approx((6.0, 7.0)) and band[100.0] == pytest.approx((2.0, 3.0))


def test_fig5_band_covers_min_to_max_over_eta():
    fig = plots.fig5_loss_landscape(NO_METRICS, eta_table("loss"))
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
    fig = plots.fig5_loss_landscape(NO_METRICS, pd.concat([one, other]))
    edges = band_edges(collections_by_gid(visible_axes(fig)[0])["none|0.1|range"])
    assert edges[0.0] == pytest.approx((4.0, 18.0))


def test_fig5_marks_diverged_run_and_splits_lrs():
    landscape = eta_table("loss")
    large_lr = landscape[landscape["step"] < 200].assign(lr=0.5, diverged_at=150.0)
    large_lr["run"] = large_lr["run"].str.replace("lr0.1", "lr0.5")
    fig = plots.fig5_loss_landscape(
        NO_METRICS, pd.concat([landscape.assign(diverged_at=np.nan), large_lr])
    )
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes[:2]] == ["lr 0.1: range over η", "lr 0.5: range over η"]
    assert all(ax.get_title().endswith("(judged)") for ax in axes[2:])
    assert [t.get_text() for t in axes[2].texts] == ["no data (needs the training loss)"]
    marker = lines_by_gid(axes[1])["none|0.5|diverged"]
    np.testing.assert_allclose(marker.get_xdata(), [100])
    np.testing.assert_allclose(marker.get_ydata(), [4.0])  # top of the band where it stopped
    assert any("diverged at step 150" in label for label in legend_labels(fig))


def test_fig6_predictiveness_log_axis():
    # The claim compares BN's upper edge with Standard's as a ratio: a log axis shows it.
    fig = plots.fig6_gradient_predictiveness(NO_METRICS, eta_table("grad_diff"))
    ax = visible_axes(fig)[0]
    assert ax.get_yscale() == "log"
    assert band_edges(collections_by_gid(ax)["none|0.1|range"])[100.0] == (1.0, 4.0)


def test_fig6_draws_the_judged_upper_edge_over_the_band_and_shades_the_window(metrics):
    small_eta = series("none", 0.1, "grad_diff", [0, 100, 200], [50.0, 50.0, 50.0], eta=0.005)
    rows = pd.concat([eta_table("grad_diff"), tidy_table(small_eta)])
    fig = plots.fig6_gradient_predictiveness(metrics, rows)
    (ax,) = visible_axes(fig)
    lines = lines_by_gid(ax)
    edge = lines["none|0.1|edge"]
    # the top of the band over the paper's η (0.005 is outside it), as quantities.upper_edge
    # reads it
    np.testing.assert_allclose(edge.get_ydata(), [9.0, 4.0, 0.8])
    np.testing.assert_allclose(
        edge.get_ydata(), quantities.upper_edge(rows[rows["normalization"] == "none"])
    )
    np.testing.assert_allclose(lines["batch|0.1|edge"].get_ydata(), [0.9, 0.4, 0.08])
    assert edge.get_linestyle() == "-" and edge.get_color() == plots.normalization_color("none")
    assert edge.get_label() == "Standard: upper edge (judged)"
    assert "Standard: upper edge (judged)" in legend_labels(fig)
    assert early_span(ax) == pytest.approx((0.0, quantities.early_end(metrics)))


def test_fig6_upper_edge_of_several_seeds_is_their_mean_with_a_band():
    one = eta_table("grad_diff")
    fig = plots.fig6_gradient_predictiveness(
        NO_METRICS,
        pd.concat(
            [
                one,
                one.assign(
                    seed=1, run=one["run"].str.replace("seed0", "seed1"), value=one["value"] * 3
                ),
            ]
        ),
    )
    ax = visible_axes(fig)[0]
    np.testing.assert_allclose(lines_by_gid(ax)["none|0.1|edge"].get_ydata(), [18.0, 8.0, 1.6])
    band = band_edges(collections_by_gid(ax)["none|0.1|edge|band"])
    assert band[0.0] == pytest.approx((9.0, 27.0))


def test_fig7_effective_beta_lines_and_two_over_lr():
    records = series("none", 0.1, "effective_beta", [0, 100, 200], [45.0, 30.0, 21.0])
    records += series("batch", 0.1, "effective_beta", [0, 100, 200], [19.0, 20.0, 20.5])
    records += series("none", 0.1, "beta_ratio", [0], [3.0], eta=0.1)
    fig = plots.fig7_beta_smoothness(NO_METRICS, tidy_table(records))
    ax = visible_axes(fig)[0]
    lines = lines_by_gid(ax)
    np.testing.assert_allclose(lines["none|0.1"].get_ydata(), [45.0, 30.0, 21.0])
    np.testing.assert_allclose(lines["batch|0.1"].get_xdata(), [0, 100, 200])
    np.testing.assert_allclose(lines["reference"].get_ydata(), [20.0, 20.0])
    assert lines["none|0.1"].get_color() != lines["batch|0.1"].get_color()
    assert not any(gid.endswith("|saturated") for gid in lines)  # no predictiveness: none
    assert ax.get_yscale() == "log"  # the claim compares ratios


def saturation_tables():
    """Standard overshoots at the smallest η at step 100 (‖Δg‖ 0.95 ≥ 0.9 ‖g‖), BN never."""
    steps = [0, 100, 200]
    beta = tidy_table(
        series("none", 0.1, "effective_beta", steps, [45.0, 30.0, 21.0])
        + series("none", 0.1, "grad_norm", steps, [1.0, 1.0, 1.0])
        + series("batch", 0.1, "effective_beta", steps, [19.0, 20.0, 20.5])
        + series("batch", 0.1, "grad_norm", steps, [1.0, 1.0, 1.0])
    )
    predictiveness = tidy_table(
        series("none", 0.1, "grad_diff", steps, [0.2, 0.95, 0.3], eta=0.005)
        + series("none", 0.1, "grad_diff", steps, [1.0, 1.0, 1.0], eta=0.05)
        + series("batch", 0.1, "grad_diff", steps, [0.1, 0.1, 0.1], eta=0.005)
    )
    return beta, predictiveness


def test_fig7_marks_the_steps_that_overshot_at_the_smallest_eta_and_shades_the_window(metrics):
    beta, predictiveness = saturation_tables()
    fig = plots.fig7_beta_smoothness(metrics, beta, predictiveness)
    (ax,) = visible_axes(fig)
    lines = lines_by_gid(ax)
    marks = lines["none|0.1|saturated"]
    np.testing.assert_allclose(marks.get_xdata(), [100])
    np.testing.assert_allclose(marks.get_ydata(), [30.0])  # on Standard's β line
    assert marks.get_marker() == "x"
    assert "batch|0.1|saturated" not in lines
    assert plots.SATURATED_LABEL in legend_labels(fig)
    assert early_span(ax) == pytest.approx((0.0, quantities.early_end(metrics)))
    assert lines["reference"].get_linestyle() == ":"  # 2 / lr stays a dotted line


def test_runs_with_only_nonfinite_values_count_as_missing():
    records = series("none", 0.1, "train_accuracy", [0, 100], [np.nan, np.inf])
    fig = plots.fig1_training(tidy_table(records))
    assert "no data" in texts(fig)


def test_save_figure_writes_png_and_pdf(tmp_path, metrics):
    fig = plots.fig1_training(metrics)
    png, pdf = tmp_path / "out" / "fig1.png", tmp_path / "out" / "fig1.pdf"
    plots.save_figure(fig, png, pdf)
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert pdf.read_bytes().startswith(b"%PDF")


# Noisy BatchNorm and l_p figures


def training_table(normalizations, lrs=(0.1,), steps=STEPS) -> pd.DataFrame:
    """Training accuracy rising by 0.1 per logged point, offset by the normalisation's rank."""
    records = []
    for rank, normalization in enumerate(normalizations):
        for lr in lrs:
            values = [0.1 * i + 0.01 * rank for i in range(len(steps))]
            records += series(normalization, lr, "train_accuracy", steps, values)
    return tidy_table(records)


def test_noisy_bn_training_one_line_per_normalization():
    metrics = training_table(["none", "batch", "noisy_batch", "l1"])
    fig = plots.noisy_bn_training(metrics)
    (ax,) = visible_axes(fig)
    lines = lines_by_gid(ax)
    assert set(lines) == {"none|0.1", "batch|0.1", "noisy_batch|0.1"}  # l1 belongs elsewhere
    np.testing.assert_allclose(lines["noisy_batch|0.1"].get_xdata(), STEPS)
    np.testing.assert_allclose(lines["noisy_batch|0.1"].get_ydata(), [0.02, 0.12, 0.22, 0.32])
    assert lines["noisy_batch|0.1"].get_label() == "Standard + Noisy BatchNorm"
    assert lines["noisy_batch|0.1"].get_linestyle() == ":"
    assert len({line.get_color() for line in lines.values()}) == 3
    assert ax.get_title() == "lr 0.1"
    assert ax.get_ylabel() == "Training accuracy"
    assert "Standard + Noisy BatchNorm" in legend_labels(fig)


def test_lp_training_panels_per_lr_and_colours_shared_with_other_figures():
    metrics = training_table(["none", "batch", "l1", "l2", "linf", "noisy_batch"], lrs=(0.1, 0.5))
    fig = plots.lp_training(metrics)
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["lr 0.1", "lr 0.5"]
    lines = lines_by_gid(axes[1])
    assert set(lines) == {"none|0.5", "batch|0.5", "l1|0.5", "l2|0.5", "linf|0.5"}
    np.testing.assert_allclose(lines["linf|0.5"].get_ydata(), [0.04, 0.14, 0.24, 0.34])
    noisy_fig = plots.noisy_bn_training(metrics)
    noisy_lines = lines_by_gid(visible_axes(noisy_fig)[0])
    assert noisy_lines["batch|0.1"].get_color() == lines_by_gid(axes[0])["batch|0.1"].get_color()


def test_training_accuracy_logged_every_step_is_averaged_in_bins():
    steps = list(range(1000))
    metrics = tidy_table(
        series("batch", 0.1, "train_accuracy", steps, [step / 1000 for step in steps])
    )
    fig = plots.noisy_bn_training(metrics)
    line = lines_by_gid(visible_axes(fig)[0])["batch|0.1"]
    # 999 steps give 5-step bins (the widest 1-2-5 width with >= 100 bins)
    np.testing.assert_allclose(line.get_xdata(), np.arange(2, 1000, 5))
    np.testing.assert_allclose(line.get_ydata(), np.arange(2, 1000, 5) / 1000)
    assert "mean over 5-step bins" in " ".join(fig.get_suptitle().split())  # wrapped to fit


def sample_records(normalization, layer, steps, per_step=40, lr=0.1, seed=0) -> list[dict]:
    """Activation samples centred on step / 100 with a small spread."""
    records = []
    for step in steps:
        values = step / 100 + np.linspace(-0.2, 0.2, per_step)
        records += series(
            normalization, lr, "sample", [step] * per_step, values, layer=layer, seed=seed
        )
    return records


def ridge_lines(ax) -> dict:
    return {gid: line for gid, line in lines_by_gid(ax).items() if gid and "|step" in gid}


def test_noisy_bn_distributions_grid_of_ridges():
    steps = list(range(0, 1000, 100))  # ten probed steps: eight ridges are drawn
    records = []
    for layer in (2, 10):
        for normalization in ("none", "batch"):
            records += sample_records(normalization, layer, steps)
    fig = plots.noisy_bn_distributions(tidy_table(records))
    axes = visible_axes(fig)
    assert len(axes) == 6  # rows = layers, columns = none, batch, noisy_batch
    assert [ax.get_title() for ax in axes[:3]] == [
        "Standard",
        "Standard + BatchNorm",
        "Standard + Noisy BatchNorm",
    ]
    assert axes[0].get_ylabel() == "Layer #2: step" and axes[3].get_ylabel() == "Layer #10: step"
    assert [t.get_text() for t in axes[2].texts] == ["no data"]  # noisy BN missing
    ridges = ridge_lines(axes[4])
    shown = [0, 100, 300, 400, 500, 600, 800, 900]
    assert list(ridges) == [f"batch|layer10|step{step}" for step in shown]
    assert [label.get_text() for label in axes[4].get_yticklabels()] == [str(s) for s in shown]
    for row, step in enumerate(shown):
        line = ridges[f"batch|layer10|step{step}"]
        peak = line.get_xdata()[np.argmax(line.get_ydata())]
        assert peak == pytest.approx(step / 100, abs=0.05)  # the density peaks at the samples
        assert line.get_ydata().max() == pytest.approx(row + plots.RIDGE_HEIGHT)
        assert line.get_ydata().min() == pytest.approx(row, abs=1e-3)
    colors = [collections_by_gid(axes[4])[f"batch|layer10|step{s}|fill"] for s in (0, 900)]
    assert not np.allclose(colors[0].get_facecolor(), colors[1].get_facecolor())


def test_the_normalisations_of_a_layer_share_one_activation_axis():
    """Standard's ±0.5 beside BN's ±4 must not look alike: one x range per layer (row), wide
    enough for every normalisation's samples, and the title says so."""
    rng = np.random.default_rng(0)
    records = []
    for layer, spreads in ((2, {"none": 0.5, "batch": 4.0, "noisy_batch": 3.0}),
                           (9, {"none": 8.0, "batch": 2.0, "noisy_batch": 2.0})):  # fmt: skip
        for normalization, spread in spreads.items():
            for step in (0, 100, 200):
                values = rng.uniform(-spread, spread, 200)
                records += series(normalization, 0.1, "sample", [step] * 200, values, layer=layer)
    fig = plots.noisy_bn_distributions(tidy_table(records))
    axes = visible_axes(fig)
    for row in (axes[:3], axes[3:]):
        assert len({ax.get_xlim() for ax in row}) == 1, [ax.get_xlim() for ax in row]
    low, high = axes[0].get_xlim()
    assert low < -3.5 and high > 3.5  # BN's ±4 sets Standard's axis too
    assert axes[3].get_xlim()[1] > 7 and axes[0].get_xlim() != axes[3].get_xlim()
    # Standard's ridges at layer 2 fill a small part of the shared axis
    standard = ridge_lines(axes[0])["none|layer2|step0"]
    x, y = standard.get_xdata(), standard.get_ydata()
    raised = x[y > y.min() + 0.05 * (y.max() - y.min())]
    assert raised.max() - raised.min() < 0.3 * (high - low)
    assert "the same activation axis for every normalisation of a layer" in " ".join(
        fig.get_suptitle().split()
    )


def test_distributions_show_the_lowest_seed_at_lr_01():
    records = sample_records("batch", 10, [0, 100], seed=1)
    records += sample_records("batch", 10, [0, 100, 200], seed=0)
    records += sample_records("batch", 10, [0, 100, 200, 300], lr=0.5)
    fig = plots.noisy_bn_distributions(tidy_table(records))
    ax = visible_axes(fig)[1]
    assert list(ridge_lines(ax)) == [f"batch|layer10|step{step}" for step in (0, 100, 200)]
    assert "lr 0.1" in fig.get_suptitle() and "lowest of 2 seeds" in fig.get_suptitle()


def test_lp_distributions_one_panel_per_normalization_for_layer_10():
    records = []
    for normalization in ("none", "batch", "l1", "l2", "linf"):
        records += sample_records(normalization, 10, [0, 100, 200])
    records += sample_records("batch", 2, [0, 100, 200])
    fig = plots.lp_distributions(tidy_table(records))
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == [
        plots.normalization_label(n) for n in ("none", "batch", "l1", "l2", "linf")
    ]
    assert all(len(ridge_lines(ax)) == 3 for ax in axes)
    assert "layer #10" in fig.get_suptitle()


def test_evenly_spaced_keeps_first_and_last():
    assert plots.evenly_spaced(range(3), 8) == [0, 1, 2]
    picked = plots.evenly_spaced(range(0, 1500, 10), 8)
    assert len(picked) == 8 and picked[0] == 0 and picked[-1] == 1490


def test_gaussian_kde_integrates_to_one():
    grid = np.linspace(-6, 6, 2001)
    density = plots.gaussian_kde(np.random.default_rng(0).normal(size=200), grid)
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3)


def moments_table() -> pd.DataFrame:
    steps = [0, 100, 200, 300]
    records = []
    for normalization, scale in (("none", 1.0), ("noisy_batch", 10.0)):
        for layer in (2, 9):
            records += series(
                normalization, 0.1, "mean", steps, [scale * v for v in (0, 1, 3, 6)], layer=layer
            )
            records += series(
                normalization, 0.1, "var", steps, [scale * v for v in (1, 2, 2, 5)], layer=layer
            )
    records += sample_records("none", 2, steps)
    return tidy_table(records)


def test_noisy_bn_moments_changes_and_drifts_per_layer():
    fig = plots.noisy_bn_moments(moments_table())
    axes = visible_axes(fig)
    assert len(axes) == 8  # two layers x four moment panels
    assert [ax.get_title() for ax in axes[:4]] == [label for *_, label in plots.MOMENT_PANELS]
    assert axes[4].get_ylabel() == "Layer #9"
    mean_change = lines_by_gid(axes[4])["noisy_batch|0.1"]
    np.testing.assert_allclose(mean_change.get_xdata(), [100, 200, 300])
    np.testing.assert_allclose(mean_change.get_ydata(), [10, 20, 30])
    np.testing.assert_allclose(lines_by_gid(axes[5])["none|0.1"].get_ydata(), [1, 0, 3])
    np.testing.assert_allclose(lines_by_gid(axes[6])["none|0.1"].get_ydata(), [0, 1, 3, 6])
    np.testing.assert_allclose(
        lines_by_gid(axes[7])["noisy_batch|0.1"].get_ydata(), [0, 10, 10, 40]
    )
    assert axes[4].get_yscale() == "log" and axes[6].get_yscale() == "linear"
    assert "Standard + Noisy BatchNorm" in legend_labels(fig)


def lp_eta_table(quantity: str) -> pd.DataFrame:
    records = []
    etas = (0.05, 0.1, 0.2, 0.4)
    for factor, normalization in enumerate(("none", "batch", "l1", "l2", "linf"), start=1):
        for step in (0, 100, 200):
            values = [factor * (1 + i + step / 100) for i in range(len(etas))]
            for eta, value in zip(etas, values, strict=True):
                records += series(normalization, 0.1, quantity, [step], [value], eta=eta)
    return tidy_table(records)


LP_ORDER = ("none", "batch", "l1", "l2", "linf")


def lp_metrics() -> pd.DataFrame:
    """L(w) = 10 × the normalisation's factor (1 to 5) at every step up to 399."""
    records = []
    for factor, normalization in enumerate(LP_ORDER, start=1):
        records += series(normalization, 0.1, "train_loss", [0, 100, 200, 399], [10.0 * factor] * 4)
    return tidy_table(records)


def test_lp_landscape_draws_what_the_claim_judges():
    beta = tidy_table(
        series("l2", 0.1, "effective_beta", [0, 100, 200], [22.0, 21.0, 20.0])
        + series("none", 0.1, "effective_beta", [0, 100, 200], [40.0, 30.0, 20.0])
        + series("noisy_batch", 0.1, "effective_beta", [0, 100, 200], [1.0, 1.0, 1.0])
    )
    landscape, change = lp_eta_table("loss"), lp_eta_table("grad_diff")
    fig = plots.lp_landscape(lp_metrics(), landscape, change, beta)
    rise_ax, change_ax, beta_ax = visible_axes(fig)
    assert "judged" in rise_ax.get_title() and "judged" in change_ax.get_title()
    assert rise_ax.get_ylabel() == "max_η L(w − ηg) − L(w)"
    assert rise_ax.get_yscale() == "symlog" and change_ax.get_yscale() == "log"
    assert not collections_by_gid(rise_ax)  # one seed: lines, no bands
    # l1 (factor 3): max over η of L is 3 × (4 + step / 100) = 12, 15, 18; L(w) = 30: no rise
    np.testing.assert_allclose(lines_by_gid(rise_ax)["l1|0.1|rise"].get_ydata(), [0, 0, 0])
    # Standard (factor 1): 4, 5, 6 above L(w) = 10: no rise either; the rise is quantities.loss_rise
    rise = quantities.loss_rise(landscape, lp_metrics())
    for normalization in LP_ORDER:
        drawn = lines_by_gid(rise_ax)[f"{normalization}|0.1|rise"].get_ydata()
        expected = rise[rise["normalization"] == normalization].sort_values("step")["value"]
        np.testing.assert_allclose(drawn, expected)
    # the upper edge of the gradient change: linf (factor 5) 20, 25, 30
    edge = lines_by_gid(change_ax)["linf|0.1|edge"]
    np.testing.assert_allclose(edge.get_ydata(), [20.0, 25.0, 30.0])
    lines = lines_by_gid(beta_ax)
    assert set(lines) == {"l2|0.1", "none|0.1", "reference"}  # noisy BN is not an l_p run
    np.testing.assert_allclose(lines["l2|0.1"].get_ydata(), [22.0, 21.0, 20.0])
    np.testing.assert_allclose(lines["reference"].get_ydata(), [20.0, 20.0])
    assert "Effective β" in beta_ax.get_ylabel()
    # the window the claim judges, on the panels it judges
    for ax in (rise_ax, change_ax):
        assert early_span(ax) == pytest.approx((0.0, 100.0))
    assert not has_early_span(beta_ax)


def test_lp_landscape_rise_is_positive_where_the_loss_rises_above_l_w():
    metrics = lp_metrics()
    metrics["value"] = 1.0
    fig = plots.lp_landscape(metrics, lp_eta_table("loss"), lp_eta_table("grad_diff"), None)
    rise_ax = visible_axes(fig)[0]
    # l1: 12, 15, 18 above L(w) = 1
    np.testing.assert_allclose(lines_by_gid(rise_ax)["l1|0.1|rise"].get_ydata(), [11, 14, 17])


def test_lp_landscape_missing_table_gives_no_data_panel():
    empty = pd.DataFrame(columns=TIDY_COLUMNS)
    fig = plots.lp_landscape(lp_metrics(), lp_eta_table("loss"), empty, None)
    rise_ax, change_ax, beta_ax = visible_axes(fig)
    assert [t.get_text() for t in change_ax.texts] == ["no data"]
    assert [t.get_text() for t in beta_ax.texts] == ["no data"]
    assert not rise_ax.texts


def test_grad_change_vs_eta_one_line_per_step():
    fig = plots.grad_change_vs_eta(eta_table("grad_diff"))
    standard_ax, batchnorm_ax = [ax for ax in visible_axes(fig) if ax.get_title()]
    assert standard_ax.get_title() == "Standard, lr 0.1"
    assert standard_ax.get_xscale() == "log" and standard_ax.get_yscale() == "log"
    lines = lines_by_gid(batchnorm_ax)
    assert set(lines) == {"batch|0.1|step0", "batch|0.1|step100", "batch|0.1|step200"}
    np.testing.assert_allclose(lines["batch|0.1|step100"].get_xdata(), [0.05, 0.1, 0.2, 0.4])
    np.testing.assert_allclose(lines["batch|0.1|step100"].get_ydata(), [0.1, 0.15, 0.2, 0.4])
    assert lines["batch|0.1|step0"].get_color() != lines["batch|0.1|step200"].get_color()
    assert any(ax.get_ylabel() == "Training step" for ax in fig.axes)  # the colour bar


def test_grad_change_vs_eta_averages_seeds():
    one = eta_table("grad_diff")
    other = one.assign(seed=1, value=one["value"] * 3)
    fig = plots.grad_change_vs_eta(pd.concat([one, other]))
    line = lines_by_gid(visible_axes(fig)[0])["none|0.1|step0"]
    np.testing.assert_allclose(line.get_ydata(), [4.0, 6.0, 10.0, 18.0])
    assert "mean over 2 seeds" in fig.get_suptitle()


def test_lr_envelope_is_labelled_as_not_the_landscape(metrics):
    fig = plots.lr_envelope_not_a_landscape(metrics)
    title = fig.get_suptitle()
    assert "Envelope of training losses over lrs" in title
    assert "NOT the paper's loss landscape" in title
    (ax,) = visible_axes(fig)
    edges = band_edges(collections_by_gid(ax)["none|envelope"])
    # Standard: lr 0.1 (2.3, 1.8, 1.2, 1.0) and lr 0.5 (2.3, 7.0, then diverged)
    assert edges == {0.0: (2.3, 2.3), 100.0: (1.8, 7.0), 200.0: (1.2, 1.2), 300.0: (1.0, 1.0)}
    marker = lines_by_gid(ax)["none|0.5|diverged"]
    np.testing.assert_allclose(marker.get_xdata(), [100])
    assert any("not a range over η" in legend.get_title().get_text() for legend in fig.legends)
    assert "Standard: runs at lr 0.1, 0.5" in legend_labels(fig)


def test_beta_and_curvature_draws_the_table_and_the_share_of_eta_that_overshot():
    steps = [0, 100]
    curvature = tidy_table(
        series("none", 0.1, "lambda_max", steps, [30.0, 18.0])
        + series("none", 0.1, "directional_curvature", steps, [5.0, 4.0])
    )
    beta = tidy_table(
        series("none", 0.1, "effective_beta", steps, [40.0, 22.0])
        + series("none", 0.1, "grad_norm", steps, [2.0, 1.0])
        + series("batch", 0.1, "effective_beta", steps, [20.0, 20.0])
        + series("batch", 0.1, "grad_norm", steps, [1.0, 1.0])
    )
    # eta grid of two: at step 0 one of two gradient changes reaches 0.9 ||g||, at 100 both
    predictiveness = tidy_table(
        series("none", 0.1, "grad_diff", steps, [1.0, 1.5], eta=0.05)
        + series("none", 0.1, "grad_diff", steps, [2.5, 1.0], eta=0.1)
        + series("batch", 0.1, "grad_diff", steps, [0.5, 0.5], eta=0.05)
        + series("batch", 0.1, "grad_diff", steps, [0.85, 0.85], eta=0.1)
    )
    blown_up = tidy_table(series("batch", 0.1, "grad_diff", [100], [float("inf")], eta=0.2))
    shares = plots.overshoot_fraction(pd.concat([predictiveness, blown_up]), beta)
    batch_shares = shares[shares["normalization"] == "batch"].set_index("step")["value"]
    assert batch_shares.to_dict() == {0: 0.0, 100: 1 / 3}  # a blown-up step overshot
    metrics = tidy_table(series("none", 0.1, "train_loss", [0, 399], [2.3, 0.1]))
    fig = plots.beta_and_curvature(metrics, predictiveness, beta, curvature)
    standard_top, batch_top, standard_low, batch_low = fig.axes[:4]
    for ax in (standard_top, batch_top, standard_low, batch_low):
        assert early_span(ax) == pytest.approx((0.0, 100.0))
    lines = lines_by_gid(standard_top)
    np.testing.assert_allclose(lines["none|0.1|lambda_max"].get_ydata(), [30.0, 18.0])
    np.testing.assert_allclose(lines["none|0.1|directional_curvature"].get_ydata(), [5.0, 4.0])
    np.testing.assert_allclose(lines["reference"].get_ydata(), [20.0, 20.0])
    assert standard_top.get_yscale() == "log"
    np.testing.assert_allclose(lines_by_gid(standard_low)["none|0.1|overshoot"].get_ydata(),
                               [0.5, 1.0])  # fmt: skip
    np.testing.assert_allclose(lines_by_gid(batch_low)["batch|0.1|overshoot"].get_ydata(),
                               [0.0, 0.0])  # fmt: skip
    assert "batch|0.1|lambda_max" not in lines_by_gid(batch_top)  # not measured: not drawn


def test_beta_and_curvature_with_three_normalisations_labels_rows_once_and_ticks_decades():
    steps = [0, 100]
    beta = tidy_table(
        series("none", 0.1, "effective_beta", steps, [20.0, 30.0])
        + series("batch", 0.1, "effective_beta", steps, [20.0, 30.0])
        + series("group", 0.1, "effective_beta", steps, [20.0, 30.0])
    )
    # GroupNorm's curvature along g is negative at step 0: a symmetric log axis
    curvature = tidy_table(series("group", 0.1, "directional_curvature", steps, [-1.0, 15.0]))
    empty = pd.DataFrame(columns=TIDY_COLUMNS)
    fig = plots.beta_and_curvature(empty, empty, beta, curvature)
    tops, lows = fig.axes[:3], fig.axes[3:6]
    assert [bool(ax.get_ylabel()) for ax in tops + lows] == [True, False, False] * 2
    group_top = tops[2]
    assert group_top.get_yscale() == "symlog"
    ticks = [t for t in group_top.get_yticks() if t != 0]
    linthresh = 0.3  # 1% of the largest |value| (30)
    assert ticks and all(abs(t) >= linthresh for t in ticks)  # none crowding 0
    assert all(np.log10(abs(t)).is_integer() for t in ticks)


def test_grad_change_vs_eta_labels_fewer_step_sizes_on_three_narrow_panels():
    rows = eta_table("grad_diff")
    rows = pd.concat([rows, rows[rows["normalization"] == "batch"].assign(normalization="group")])
    for ax in [ax for ax in visible_axes(plots.grad_change_vs_eta(rows)) if ax.get_title()]:
        assert len(ax.get_xticks()) <= 4


def test_another_experiments_figure_names_it_under_the_title_at_the_same_size():
    fig = plots.fig1_training(tidy_table(series("none", 0.1, "train_loss", [0, 1], [2.3, 2.2])))
    size = fig._suptitle.get_fontsize()
    title = fig.get_suptitle()
    plots.note_experiment(fig, "resnet_adam: resnet20, adam")
    assert fig.get_suptitle() == f"{title}\n(resnet_adam: resnet20, adam)"
    assert fig._suptitle.get_fontsize() == size
    plots.note_experiment(fig, "")  # the paper's own figures: unchanged
    assert fig.get_suptitle().count("resnet_adam") == 1


def test_lr_sweep_draws_each_runs_final_accuracy_against_its_rate():
    steps = list(range(100))
    records = []
    for lr, level in ((0.1, 0.9), (0.5, 0.1)):
        records += series("none", lr, "train_accuracy", steps, [level] * 100)
        records += series("batch", lr, "train_accuracy", steps, [1.0] * 100)
    diverged = tidy_table(series("none", 1.0, "train_accuracy", steps[:40], [0.3] * 40))
    diverged["diverged_at"] = 40
    fig = plots.lr_sweep(pd.concat([tidy_table(records), diverged]))
    (ax,) = visible_axes(fig)
    lines = lines_by_gid(ax)
    np.testing.assert_allclose(lines["none|sweep"].get_xdata(), [0.1, 0.5, 1.0])
    np.testing.assert_allclose(lines["none|sweep"].get_ydata(), [0.9, 0.1, 0.0])
    np.testing.assert_allclose(lines["batch|sweep"].get_ydata(), [1.0, 1.0])
    np.testing.assert_allclose(lines["none|diverged"].get_xdata(), [1.0])
    assert ax.get_xscale() == "log"


def test_noisy_bn_training_shades_the_early_window_and_lp_training_does_not():
    metrics = training_table(["none", "batch", "noisy_batch"])
    (ax,) = visible_axes(plots.noisy_bn_training(metrics))
    assert early_span(ax) == pytest.approx((0.0, quantities.early_end(metrics)))  # 0.25 × 301
    (lp_ax,) = visible_axes(plots.lp_training(metrics))
    assert not has_early_span(lp_ax)  # no claim judges early training on it


def test_dln_landscape_marks_the_steps_the_beta_claims_second_reading_leaves_out():
    beta, predictiveness = saturation_tables()
    landscape = pd.DataFrame(columns=TIDY_COLUMNS)
    fig = plots.dln_landscape(landscape, predictiveness, beta)
    beta_ax = visible_axes(fig)[2]
    marks = lines_by_gid(beta_ax)["none|0.1|saturated"]
    np.testing.assert_allclose(marks.get_xdata(), [100])
    np.testing.assert_allclose(marks.get_ydata(), [30.0])
    assert "batch|0.1|saturated" not in lines_by_gid(beta_ax)
    assert plots.SATURATED_LABEL in legend_labels(fig)
    assert not any(has_early_span(ax) for ax in fig.axes)  # judged over the whole run
