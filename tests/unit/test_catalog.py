"""bnopt.catalog is the one source of the names of networks, normalisations and optimisers,
their labels and plot styles, the learning rates' format and the figures' resolution: every
other place that lists them agrees with it, or reads it."""

import ast
import itertools
import re
import subprocess
import sys

import pytest
import yaml
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from seaborn.palettes import SEABORN_PALETTES

from bnopt import catalog, models, optimizers, plots, report, runs
from bnopt.claims import lp
from bnopt.code_identity import PACKAGE, SCRIPTS, code_files
from bnopt.config import SCHEMA

SCHEMA_TEXT = yaml.safe_load(SCHEMA.read_text())
EXPERIMENT = SCHEMA_TEXT["$defs"]["experiment"]["properties"]
SECTIONS = SCHEMA_TEXT["properties"]


def python_files():
    return sorted(SCRIPTS.rglob("*.py"))


def test_the_catalog_imports_without_torch_pandas_or_matplotlib():
    code = (
        "import sys; import bnopt.catalog; "
        "print(sorted({'torch', 'pandas', 'matplotlib', 'numpy'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)  # fmt: skip
    assert result.stdout.strip() == "[]"


def test_the_config_schema_lists_the_catalogs_names():
    assert EXPERIMENT["normalizations"]["items"]["enum"] == list(catalog.NORMALIZATIONS)
    assert EXPERIMENT["model"]["enum"] == list(catalog.MODELS)
    assert EXPERIMENT["model"]["default"] == catalog.PAPER_MODEL
    assert EXPERIMENT["optimizer"]["enum"] == list(catalog.OPTIMIZERS)
    assert EXPERIMENT["optimizer"]["default"] == catalog.PAPER_OPTIMIZER
    own = [model.kind for model in catalog.MODELS.values() if model.kind]
    assert EXPERIMENT["kind"]["enum"] == [
        *runs.PAPER_EXPERIMENTS,
        *runs.LITERATURE_KINDS,
        None,
    ] and own == ["dln"]
    dln = SECTIONS["experiments"]["properties"]["dln"]["default"]
    assert dln["model"] == "dln" and dln["normalizations"] == list(catalog.dln_normalizations())
    configured = [name for name, o in catalog.OPTIMIZERS.items() if o.configured]
    assert list(SECTIONS["optimizers"]["properties"]) == configured


def test_every_catalogued_network_and_normalisation_has_a_constructor_and_no_other():
    assert tuple(models.NORM_LAYERS) == tuple(catalog.NORMALIZATIONS) == models.NORMALIZATIONS
    assert tuple(models.ARCHITECTURES) == catalog.image_models()
    assert set(models.RESNET_DEPTHS) <= set(catalog.MODELS)
    for name, depth in models.RESNET_DEPTHS.items():
        assert catalog.MODELS[name].weight_layers == depth
    algorithms = {optimizer.algorithm for optimizer in catalog.OPTIMIZERS.values()}
    assert algorithms == set(optimizers.NAMES)


def test_every_normalisation_has_its_labels_a_colour_and_a_line_style():
    colours = {c.upper() for c in SEABORN_PALETTES["colorblind"] + SEABORN_PALETTES["dark"]}
    for name, normalization in catalog.NORMALIZATIONS.items():
        assert normalization.label and normalization.text and normalization.short, name
        assert normalization.color.upper() in colours, name  # the palettes the figures use
        Line2D([], []).set_linestyle(normalization.line_style)  # matplotlib takes it
        assert normalization.family in ("standard", "batch", "lp", "per_sample"), name
    records = catalog.NORMALIZATIONS.values()
    for field in ("label", "text", "short", "color", "line_style"):
        values = [getattr(record, field) for record in records]
        assert len(set(map(str, values))) == len(values), f"two normalisations share a {field}"


def test_figures_report_and_claims_take_the_catalogs_labels_colours_and_styles():
    for name, normalization in catalog.NORMALIZATIONS.items():
        assert plots.normalization_label(name) == normalization.label
        assert plots.normalization_color(name) == to_rgb(normalization.color)
        assert plots.LINE_STYLES[name] == normalization.line_style
        run = {"run": "r", "normalization": name, "lr": 1e-6, "seed": 0}
        cells = [text for text, _ in report.run_cells(run)]
        assert cells[1] == normalization.text and cells[2] == "1e-06"
    assert plots.NORMALIZATION_ORDER == list(catalog.NORMALIZATIONS)
    assert plots.format_lr is report.format_lr is runs.format_lr is catalog.format_lr
    assert plots.DPI == report.FIGURE_DPI == catalog.FIGURE_DPI
    assert all(catalog.short_label(n) in lp.RULE for n in catalog.family("lp"))
    vgg, resnet = ({"model": m, "normalization": "none", "lr": 0.1, "seed": 0}
                   for m in ("vgg_a", "resnet20"))  # fmt: skip
    assert "VGG-A, ResNet-20; Standard;" in report.runs_in_words([vgg, resnet])


def test_run_names_cover_every_catalogued_combination():
    combinations = itertools.product(catalog.image_models(), catalog.OPTIMIZERS,
                                     catalog.NORMALIZATIONS)  # fmt: skip
    for model, optimizer, normalization in combinations:
        name = runs.run_name(normalization, 0.01, 2, model, optimizer)
        assert re.fullmatch(runs.IMAGE_RUN_PATTERN, name)
        assert runs.parse_run_name(name) == {"model": model, "optimizer": optimizer,
            "normalization": normalization, "lr": 0.01, "seed": 2}  # fmt: skip
    for normalization in catalog.dln_normalizations():
        name = runs.run_name(normalization, 1e-6, 0, model="dln")
        assert re.fullmatch(runs.RUN_PATTERN, name) and not re.fullmatch(
            runs.IMAGE_RUN_PATTERN, name
        )
    assert runs.run_name("batch", 0.1, 0) == "batch_lr0.1_seed0"  # the paper's: no prefix


@pytest.mark.parametrize("defined", ["format_lr", "normalization_label", "model_label"])
def test_no_module_defines_a_catalog_helper_again(defined):
    where = [
        path.relative_to(SCRIPTS).as_posix()
        for path in python_files()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef) and node.name == defined
    ]
    assert where == ["bnopt/catalog.py"]


def test_no_module_restates_a_catalogued_label_or_the_figures_resolution():
    catalog_file = PACKAGE / "catalog.py"
    # The networks' labels that the report shows (figures.py's "Deep linear network" is the
    # experiment's heading, not a label of the network).
    labels = {
        *(n.label for n in catalog.NORMALIZATIONS.values()),
        *(n.text for n in catalog.NORMALIZATIONS.values()),
        *(catalog.model_label(m) for m in catalog.image_models()),
    }
    found = []
    for path in python_files():
        if path == catalog_file:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in labels:
                found.append(f"{path.name}: {node.value!r}")
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                found += [f"{path.name}: {n}" for n in names if "DPI" in n]
    assert not found


def test_labels_and_colours_edited_in_the_catalog_retrain_no_run():
    """The training jobs' code identity leaves the catalog out: bnopt.models and
    bnopt.optimizers key their constructors by its names without importing it."""
    for entries in (("train.py", "bnopt/image_task.py"), ("train_dln.py", "bnopt/dln.py")):
        files = code_files(*(SCRIPTS / entry for entry in entries))
        assert PACKAGE / "catalog.py" not in files, entries
