"""The registry of figures: each figure declared once, drawable, captioned, with a rule."""

import inspect

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.lines import Line2D
from matplotlib.text import Text

from bnopt import catalog, report
from bnopt.figures import FIGURE, FIGURES, PAPER_FIGURES
from bnopt.plots import (
    activations,
    dln,
    ics,
    initialisation,
    landscape,
    outliers,
    panels,
    save_figure,
    stability,
    style,
    training,
    weights,
)
from bnopt.tables import FAMILIES
from conftest import ROOT

TIDY_COLUMNS = ["run", "normalization", "lr", "seed", "step", "quantity", "value", "layer",
                "eta", "diverged_at"]  # fmt: skip


def test_every_figure_is_declared_once_with_known_tables():
    names = [spec.name for spec in FIGURES]
    assert len(names) == len(set(names)) == len(FIGURE) == 28
    assert PAPER_FIGURES == tuple(f"fig{i}_" + n for i, n in enumerate(
        ["training", "test_accuracy", "ics_l2", "ics_cosine", "loss_landscape",
         "gradient_predictiveness", "beta_smoothness"], start=1))  # fmt: skip
    for spec in FIGURES:
        assert spec.tables and set(spec.tables) <= {*FAMILIES, "surface", "initialisation"}, (
            spec.name
        )
        assert spec.category and spec.paper, spec.name


def test_the_report_categories_are_plain_names_of_what_the_figures_show():
    """`snakemake --report` lists the figures under these headings: an experiment, or what a
    figure beyond the paper shows (no "Seed notebooks' variant" a reader cannot place)."""
    assert {spec.category for spec in FIGURES} == {
        "Training", "Internal covariate shift", "Loss landscape", "Noisy BatchNorm",
        "l_p normalisation", "Deep linear network",
        "Loss across learning rates (not the paper's landscape)",
        "At initialisation (beyond the paper)", "Weights over training (beyond the paper)",
        "Sharpness and the edge of stability (beyond the paper)",
        "Hessian outliers (beyond the paper)",
    }  # fmt: skip
    assert FIGURE["lr_envelope_not_a_landscape"].category.startswith("Loss across learning")
    assert "seed notebooks" not in FIGURE["lr_envelope_not_a_landscape"].caption()


def test_every_figure_function_of_the_plot_modules_is_registered():
    """A figure function is one wrapped by plots.style.styled; each is in the registry, under
    its experiment's module, and the registry names no other."""
    drawn = {spec.draw for spec in FIGURES}
    found = set()
    plotted = (training, ics, landscape, activations, dln, initialisation, weights, stability)
    for module in (*plotted, outliers):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and hasattr(function, "__wrapped__"):
                found.add(f"{module.__name__.split('.')[-1]}.{name}")
    assert found == drawn


@pytest.mark.parametrize("name", list(FIGURE))
def test_empty_input_draws_a_no_data_note(name):
    spec = FIGURE[name]
    fig = spec.draw_function()(*[pd.DataFrame(columns=TIDY_COLUMNS) for _ in spec.tables])
    assert isinstance(fig, Figure)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]
    assert any("no data" in text for text in texts)


@pytest.mark.parametrize("name", list(FIGURE))
def test_each_caption_is_valid_restructuredtext_with_the_papers_figure(name):
    spec = FIGURE[name]
    rst = spec.caption()
    assert rst.startswith("**") and len(rst) > 150, name
    html = report.caption_html(rst)
    assert "system-message" not in html and "problematic" not in html, html
    if spec.paper.startswith("Fig"):
        assert f"(paper {spec.paper}" in rst, name


def test_one_rule_draws_every_figure_and_snakemake_reads_the_same_captions():
    rules = {p.name: p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk")}
    # one rule statement, declared once per figure job
    assert rules["figures.smk"].count("\n    rule:") == 1
    assert "for job, targets in FIGURE_JOBS.items():" in rules["figures.smk"]
    assert "../scripts/plot.py" in rules["figures.smk"]
    others = "".join(text for name, text in rules.items() if name != "figures.smk")
    assert "../scripts/plot.py" not in others
    # the other rules with report() outputs attach the tidy tables and the claims' verdicts,
    # each under its own category
    # (the tables' one report() call is in common.smk's table_output, for every family)
    attached = others.replace('report(\n        f"results/tables/', "")
    attached = attached.replace('report(\n        f"results/figures/{target}.png"', "")
    assert "report(" not in attached.replace('report(\n            "results/claims.tsv"', "")
    assert 'category="Tables"' in rules["common.smk"] and "**table_outputs()" in rules["probes.smk"]
    assert 'category="Claims"' in rules["report.smk"]
    # snakemake --report shows each figure with its own caption file, the one this
    # workflow's report reads (FigureSpec.caption_path)
    assert 'caption=f"../report/{spec.caption_path.name}"' in rules["common.smk"]
    assert not (ROOT / "workflow/report/figure.rst").exists()


def test_figure_jobs_draw_an_experiments_figures_together_and_on_request_ones_alone():
    from bnopt.figures import figure_jobs, figure_targets

    kinds = {"landscape": "landscape", "ics": "ics", "resnet": "landscape"}
    targets = figure_targets(kinds, on_request=True)
    jobs = figure_jobs(targets)
    landscape = [
        s.name for s in FIGURES if s.experiment == "landscape" and not (s.on_request or s.own_step)
    ]
    assert jobs["landscape"] == landscape
    assert jobs["resnet"] == [f"resnet/{name}" for name in landscape]
    assert jobs["ics"] == [s.name for s in FIGURES if s.experiment == "ics"]
    assert jobs["landscape_loss_surface"] == ["loss_surface"]
    assert jobs["resnet_loss_surface"] == ["resnet/loss_surface"]
    # every target in exactly one job, and a job's figures read one experiment's tables
    assert sorted(sum(jobs.values(), [])) == sorted(targets)
    for names in jobs.values():
        assert len({targets[name][1] for name in names}) == 1
    # without the figures drawn on request, no job waits for the loss surface
    assert "landscape_loss_surface" not in figure_jobs(figure_targets(kinds))


GOLDEN = ROOT / "tests" / "unit" / "golden"


def surface_table() -> pd.DataFrame:
    """A loss surface of two runs on a 5 x 5 grid: a bowl, steeper without BN."""
    grid = np.linspace(-1, 1, 5)
    rows = [
        (f"{n}_lr0.1_seed0", n, 0.1, 0, mode, a, b, 0.1 + steep * (a * a + b * b))
        for n, steep in (("none", 5.0), ("batch", 1.0))
        for mode in ("train_batch", "eval_test")
        for a in grid
        for b in grid
    ]
    return pd.DataFrame(rows, columns=["run", "normalization", "lr", "seed", "mode", "a", "b",
                                       "loss"])  # fmt: skip


def golden_tables(spec) -> list[pd.DataFrame]:
    """The tidy tables of the small real runs stored for the golden test (VGG or DLN)."""
    if spec.tables == ("surface",):
        return [surface_table()]
    prefix = "dln" if spec.experiment == "dln" else "vgg"
    paths = [GOLDEN / f"{prefix}_{table}.tsv" for table in spec.tables]
    tables = [pd.read_csv(p, sep="\t") if p.exists() else pd.DataFrame() for p in paths]
    if "own_step" in spec.tables:  # the golden runs use plain SGD: their -g rows, renamed
        rows = pd.concat([pd.read_csv(GOLDEN / f"vgg_{t}.tsv", sep="\t")
                          for t in ("landscape", "predictiveness")])  # fmt: skip
        tables[spec.tables.index("own_step")] = rows.assign(quantity="own_step_" + rows["quantity"])
    if "curvature:preconditioned_lambda_max" in spec.draws:  # the golden runs use plain SGD:
        # an Adam copy of them, its curvature also as P^-1 H's at a tenth and 38 / lr
        at = spec.tables.index("curvature")
        adam = tables[at].assign(run="adam_" + tables[at]["run"])
        curvature = adam[~adam["quantity"].isin(["stability_threshold"])]
        preconditioned = curvature.assign(quantity="preconditioned_" + curvature["quantity"],
                                          value=curvature["value"] / 10)  # fmt: skip
        threshold = adam[adam["quantity"] == "stability_threshold"]
        threshold = threshold.assign(value=38 / threshold["lr"])
        tables[at] = pd.concat([tables[at], curvature, preconditioned, threshold])
    return tables


@pytest.mark.parametrize("name", list(FIGURE))
def test_every_figure_is_a_paper_size_with_print_sized_text(name, tmp_path):
    """One column (3.3 in) or the full width (6.8 in), text 7-9 pt, nothing sticking out
    (the saved image is no wider than the figure and its tight-bbox margin)."""
    spec = FIGURE[name]
    fig = spec.draw_function()(*golden_tables(spec))
    width = fig.get_size_inches()[0]
    assert width in (style.COLUMN_WIDTH, style.FULL_WIDTH)
    sizes = [
        t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
    ]
    assert sizes and 7 <= min(sizes) and max(sizes) <= 9, sorted(set(sizes))
    save_figure(fig, tmp_path / "f.png", tmp_path / "f.pdf")
    saved = imread(tmp_path / "f.png").shape[1] / style.DPI
    assert saved <= width + 0.25, f"{name}: {saved:.2f} in wide for a {width} in figure"


def with_two_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """The table and a second seed of each run, its values 10% higher."""
    if table.empty or "seed" not in table.columns:
        return table
    other = table.assign(seed=table["seed"] + 1, value=table["value"] * 1.1)
    other["run"] = other["run"].str.replace("seed0", "seed1")
    return pd.concat([table, other], ignore_index=True)


CHANGED = ("fig1_training", "fig5_loss_landscape", "fig6_gradient_predictiveness",
           "fig7_beta_smoothness", "beta_and_curvature", "noisy_bn_training", "lp_landscape",
           "dln_landscape")  # fmt: skip


@pytest.mark.parametrize("name", CHANGED)
def test_figures_of_several_seeds_keep_their_paper_width(name, tmp_path):
    """The seed notes under the titles and the seed bands fit the figure's width too."""
    spec = FIGURE[name]
    fig = spec.draw_function()(*[with_two_seeds(t) for t in golden_tables(spec)])
    width = fig.get_size_inches()[0]
    save_figure(fig, tmp_path / "f.png", tmp_path / "f.pdf")
    saved = imread(tmp_path / "f.png").shape[1] / style.DPI
    assert saved <= width + 0.25, f"{name}: {saved:.2f} in wide for a {width} in figure"


PAGE_WIDTH = 7.2  # the text block of a printed page: no saved figure may be wider


# What the demo runs beyond the golden runs (Standard and BN at one lr, one seed) in each
# experiment: its other normalisations, and whether it runs a second, 10x larger lr.
DEMO_RUNS = {
    "dln": (("l1", "l2", "linf"), True),
    "ics": ((), True),
    "landscape": (("group",), False),  # as the demo's resnet_landscape experiment
    "lp": (("l1", "l2", "linf"), False),
    "noisy": (("noisy_batch",), False),
    "training": ((), True),
    "scale_invariance": ((), False),
    "edge_of_stability": ((), False),
    "initialisation": ((), False),
    "hessian_outliers": ((), False),
}


def with_demo_runs(table: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """The table and copies of its BN runs for the demo's other normalisations and of every
    run at a second lr (values a few per cent apart): the lines, panels and legend entries of
    the demo's figures, e.g. five normalisations at two lrs in the deep linear network's."""
    if table.empty or "value" not in table.columns:
        return table
    normalizations, second_lr = DEMO_RUNS[experiment]
    base = table[table["normalization"] == "batch"]
    copies = []
    for k, name in enumerate(normalizations):
        assert name in catalog.NORMALIZATIONS
        copy = base.assign(normalization=name, value=base["value"] * (1.03 + 0.03 * k))
        copy["run"] = copy["run"].str.replace("batch_", f"{name}_", n=1, regex=False)
        copies.append(copy)
    table = pd.concat([table, *copies], ignore_index=True)
    if not second_lr:
        return table
    lr = float(table["lr"].iloc[0])
    faster = table.assign(lr=10 * table["lr"], value=table["value"] * 0.97)
    faster["run"] = faster["run"].str.replace(f"lr{lr:g}", f"lr{10 * lr:g}", regex=False)
    return pd.concat([table, faster], ignore_index=True)


def demo_like_tables(spec) -> list[pd.DataFrame]:
    """The golden tables with the demo's normalisations, lrs and two seeds (the loss surface's
    table as it is)."""
    return [
        with_two_seeds(with_demo_runs(t, spec.experiment)) if "value" in t.columns else t
        for t in golden_tables(spec)
    ]


@pytest.mark.parametrize("name", list(FIGURE))
def test_every_figure_fits_a_printed_page_with_the_demos_normalisations(name, tmp_path):
    """Its legend, titles and labels included: what sticks out widens the saved image (the
    demo's dln_ics came out 9.1 in wide, dln_landscape 10.1 in, for 6.8 in figures)."""
    spec = FIGURE[name]
    fig = spec.draw_function()(*demo_like_tables(spec))
    width = fig.get_size_inches()[0]
    save_figure(fig, tmp_path / "f.png", tmp_path / "f.pdf")
    saved = imread(tmp_path / "f.png").shape[1] / style.DPI
    assert saved <= PAGE_WIDTH, f"{name}: {saved:.2f} in wide, past a printed page"
    assert saved <= width + 0.25, f"{name}: {saved:.2f} in wide for a {width} in figure"


def labelled_y_ticks(ax) -> list[str]:
    """The labels the drawn axis shows on its y ticks within its view."""
    low, high = sorted(ax.get_ylim())
    return [
        label.get_text()
        for label in ax.get_yticklabels()
        if label.get_visible() and label.get_text() and low <= label.get_position()[1] <= high
    ]


@pytest.mark.parametrize("name", list(FIGURE))
def test_every_log_axis_reads_off_at_least_two_labelled_ticks(name):
    """A log axis spanning less than a decade labelled only at the powers of ten showed a
    single label (the demo's dln_training); panels sharing a y axis are read off the one of
    them that shows its labels."""
    spec = FIGURE[name]
    fig = spec.draw_function()(*demo_like_tables(spec))
    fig.draw_without_rendering()
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_yscale() != "log":
            continue
        shown = [labelled_y_ticks(a) for a in ax.get_shared_y_axes().get_siblings(ax)]
        assert max(len(labels) for labels in shown) >= 2, (name, ax.get_title(), shown)


def drawn_style(handle) -> tuple:
    """How a legend entry looks: its kind, colours, line pattern and marker."""
    if isinstance(handle, Line2D):
        pattern = str(getattr(handle, "_unscaled_dash_pattern", None))
        marker = handle.get_marker() if handle.get_marker() not in (None, "", " ") else "none"
        return ("line", to_rgba(handle.get_color()), handle.get_linestyle(), pattern, marker)
    colors = (to_rgba(handle.get_facecolor()), to_rgba(handle.get_edgecolor()))
    return ("area", *colors, handle.get_hatch())


def legend_entries(fig) -> dict[str, tuple]:
    entries = {}
    for legend in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            if text.get_text().strip():
                entries[text.get_text()] = drawn_style(handle)
    return entries


@pytest.mark.parametrize("name", list(FIGURE))
def test_legend_entries_that_mean_different_things_look_different(name):
    """In particular the 2 / lr reference line and the early-training window, once both a grey
    dotted line: now a dotted line and a shaded span, each with its own entry."""
    spec = FIGURE[name]
    fig = spec.draw_function()(*demo_like_tables(spec))
    entries = legend_entries(fig)
    looks: dict[tuple, str] = {}
    for label, look in entries.items():
        assert look not in looks, f"{name}: '{label}' is drawn like '{looks[look]}'"
        looks[look] = label
    if "2 / lr" in entries and panels.EARLY_WINDOW_LABEL in entries:
        assert entries["2 / lr"][0] == "line" and entries[panels.EARLY_WINDOW_LABEL][0] == "area"


def test_every_figure_drawing_the_early_window_or_2_over_lr_has_a_legend_entry_for_it():
    for spec in FIGURES:
        fig = spec.draw_function()(*demo_like_tables(spec))
        entries = legend_entries(fig)
        artists = [a for ax in fig.axes for a in (*ax.get_lines(), *ax.patches)]
        if any(a.get_gid() == "early-window" for a in artists):
            assert panels.EARLY_WINDOW_LABEL in entries, spec.name
        if any(a.get_label() == "2 / lr" for a in artists):
            assert "2 / lr" in entries, spec.name


def test_another_experiment_of_a_kind_gets_that_kinds_figures_in_its_folder():
    from bnopt.figures import FIGURES, figure_targets, table_paths

    paper = {kind: kind for kind in ("training", "ics", "landscape", "noisy", "lp", "dln")}
    drawn = [spec.name for spec in FIGURES if not spec.on_request and not spec.own_step
             and spec.experiment in paper]  # fmt: skip
    assert list(figure_targets(paper)) == drawn
    targets = figure_targets({**paper, "resnet": "landscape"})
    beyond = {name: pair for name, pair in targets.items() if name.startswith("resnet/")}
    landscape = [s.name for s in FIGURES if s.experiment == "landscape" and s.name in drawn]
    assert list(beyond) == [f"resnet/{name}" for name in landscape]
    spec, experiment = beyond["resnet/fig5_loss_landscape"]
    assert experiment == "resnet" and spec.name == "fig5_loss_landscape"
    assert table_paths(spec, experiment)["landscape"] == "results/tables/resnet/landscape.tsv"
    assert list(targets)[: len(figure_targets(paper))] == drawn  # paper first


def test_the_view_along_the_optimisers_own_step_is_drawn_only_where_it_differs_from_minus_g():
    from bnopt.figures import figure_targets

    kinds = {"landscape": "landscape", "adam_landscape": "landscape"}
    plain = figure_targets(kinds)
    assert "own_step_landscape" not in plain and "adam_landscape/own_step_landscape" not in plain
    own = figure_targets(kinds, own_step=["adam_landscape"])
    assert "adam_landscape/own_step_landscape" in own and "own_step_landscape" not in own
    assert set(own) - set(plain) == {"adam_landscape/own_step_landscape"}


def test_the_loss_surface_is_drawn_on_request_only_with_one_scale_per_mode():
    from bnopt.figures import figure_targets

    paper = {kind: kind for kind in ("training", "ics", "landscape", "noisy", "lp", "dln")}
    assert "loss_surface" not in figure_targets(paper)
    assert "loss_surface" in figure_targets(paper, on_request=True)
    fig = FIGURE["loss_surface"].draw_function()(surface_table())
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 4
    gids = {c.get_gid() for ax in panels for c in ax.collections}
    assert {"none|0.1|train_batch", "batch|0.1|eval_test"} <= gids


@pytest.mark.parametrize("name", list(FIGURE))
def test_every_figure_names_the_columns_it_draws_from_its_own_tables(name):
    spec = FIGURE[name]
    assert spec.draws, name
    for column in spec.draws:
        family, quantity = column.split(":")
        assert family in spec.tables and quantity, (name, column)
    assert len(set(spec.draws)) == len(spec.draws)


def fingerprint(fig) -> list:
    """What a figure draws, as numbers: every line's and collection's data, every patch but
    the shaded early-training or late window (they follow the run's length, not a drawn
    column)."""
    drawn = []
    for ax in fig.axes:
        for line in ax.get_lines():
            drawn.append(np.asarray(line.get_xydata(), dtype=float))
        for collection in ax.collections:
            for path in collection.get_paths():
                drawn.append(np.asarray(path.vertices, dtype=float))
        for patch in ax.patches:
            if patch.get_gid() not in ("early-window", "late-window"):
                drawn.append(np.asarray(patch.get_path().vertices, dtype=float))
        drawn.append(np.asarray([t.get_text() == "no data" for t in ax.texts], dtype=float))
    return [np.round(array, 9) for array in drawn]


def same(one: list, other: list) -> bool:
    return len(one) == len(other) and all(
        a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
        for a, b in zip(one, other, strict=True)
    )


def tidy(spec) -> bool:
    return all(table in FAMILIES and table != "surface" for table in spec.tables)


@pytest.mark.parametrize("name", [name for name, spec in FIGURE.items() if tidy(spec)])
def test_draws_names_exactly_the_columns_that_change_the_figure(name):
    """Each column in `draws` changes the figure when its values change; the figure stays the
    same when every column not in `draws` is left out."""
    spec = FIGURE[name]
    draw = spec.draw_function()
    tables = golden_tables(spec)
    full = fingerprint(draw(*tables))
    only_drawn = []
    for family, table in zip(spec.tables, tables, strict=True):
        kept = {c.split(":")[1] for c in spec.draws if c.split(":")[0] == family}
        only_drawn.append(table[table["quantity"].isin(kept)] if not table.empty else table)
    assert same(fingerprint(draw(*only_drawn)), full), f"{name} draws a column not in draws"
    for column in spec.draws:
        family, quantity = column.split(":")
        at = spec.tables.index(family)
        rows = tables[at]["quantity"] == quantity
        assert rows.any(), f"no {column} in the golden tables"
        fingerprints = []
        for factor in (1e-6, 1e6):  # smaller and larger (a rise clipped at 0 moves one way)
            changed, table = list(tables), tables[at].copy()
            table.loc[rows, "value"] = table.loc[rows, "value"] * factor
            changed[at] = table
            fingerprints.append(fingerprint(draw(*changed)))
        assert any(not same(f, full) for f in fingerprints), f"{name} does not draw {column}"
