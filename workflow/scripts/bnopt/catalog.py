"""The one catalog of names: every network, normalisation and optimiser the workflow knows,
with the labels and plot styles that go with each, and the formatting shared by run names,
figures, claims and the report.

Everything else reads these: the run names and their pattern (bnopt.runs), the figures'
colours, labels and line styles (bnopt.plots.style), the report's labels (bnopt.report) and
the claims' short names (bnopt.claims). The constructors stay in bnopt.models and the update
rules in bnopt.optimizers, keyed by the same names; they do not import this module, so that
a label or colour edited here retrains no run (bnopt.code_identity). The config schema
(workflow/schemas/config.schema.yaml) lists the same names; tests/unit/test_catalog.py checks
that all of them agree.

Plain data and small functions only: no torch, pandas or matplotlib (the workflow reads it
when it parses).
"""

from __future__ import annotations

from dataclasses import dataclass

FIGURE_DPI = 180  # every saved figure's resolution; the report shows them at print size


def format_lr(lr: float) -> str:
    """A learning rate as run names, figures, claims and the report write it: 0.1, 1e-06."""
    return f"{float(lr):g}"


@dataclass(frozen=True)
class Model:
    name: str
    label: str
    # Weight layers, numbered 1.. in forward order by the ICS and activation probes
    # (bnopt.models.weight_layers); None where the config sets it (the DLN: models.dln.depth,
    # the paper's 25).
    weight_layers: int | None
    image: bool = True  # trained on images (rule train); else the deep linear network's
    # The one experiment kind of its experiments (their figures and claims), or None: any of
    # the paper's image experiments (training, ics, landscape, noisy, lp).
    kind: str | None = None


@dataclass(frozen=True)
class Normalization:
    name: str
    label: str  # the figures' (matplotlib mathtext)
    text: str  # the report's (plain text)
    short: str  # the claims' statistics: "BN − Standard ...", "ℓ1 / BN ..."
    color: str  # the same in every figure; hex, from seaborn's colorblind and dark palettes
    line_style: str | tuple  # matplotlib linestyle where line style follows normalisation
    # standard, batch (BatchNorm and noisy BatchNorm), lp (the paper's ℓp normalisations) or
    # per_sample (beyond the paper: no batch statistics)
    family: str
    dln: bool = True  # the deep linear network offers it (an experiment with model: dln)


@dataclass(frozen=True)
class Optimizer:
    name: str
    label: str
    algorithm: str  # bnopt.optimizers' update rule (OptimizerSettings.name)
    configured: bool = True  # has a section `optimizers.<name>` in the config


def _by_name(*records):
    return {record.name: record for record in records}


# The paper's network first: its name is left out of its runs' names.
MODELS: dict[str, Model] = _by_name(
    Model("vgg_a", "VGG-A", 11),
    Model("resnet8", "ResNet-8", 8),
    Model("resnet20", "ResNet-20", 20),
    Model("dln", "Deep linear network", None, image=False, kind="dln"),
)

# In the order figures, legends and the report list them. The l_p normalisations avoid hues
# close to BatchNorm's orange, which they are drawn next to.
NORMALIZATIONS: dict[str, Normalization] = _by_name(
    Normalization("none", "Standard", "Standard", "Standard",
                  "#0173B2", "-", "standard"),  # colorblind[0]
    Normalization("batch", "Standard + BatchNorm", "Standard + BatchNorm", "BN",
                  "#DE8F05", "--", "batch"),  # colorblind[1]
    Normalization("noisy_batch", "Standard + Noisy BatchNorm", "Standard + Noisy BatchNorm",
                  "noisy BN", "#029E73", ":", "batch", dln=False),  # colorblind[2]
    Normalization("l1", "Standard + $\\ell_1$ norm", "Standard + l1 norm", "ℓ1",
                  "#CC78BC", "-.", "lp"),  # colorblind[4]
    Normalization("l2", "Standard + $\\ell_2$ norm", "Standard + l2 norm", "ℓ2",
                  "#591E71", (0, (5, 1.5, 1, 1.5, 1, 1.5)), "lp"),  # dark[4]
    Normalization("linf", "Standard + $\\ell_\\infty$ norm", "Standard + l∞ norm", "ℓ∞",
                  "#8C0800", (0, (1, 1)), "lp"),  # dark[3]
    Normalization("layer", "Standard + LayerNorm", "Standard + LayerNorm", "LayerNorm",
                  "#56B4E9", (0, (3, 1, 1, 1, 1, 1)), "per_sample", dln=False),  # colorblind[9]
    Normalization("group", "Standard + GroupNorm", "Standard + GroupNorm", "GroupNorm",
                  "#001C7F", (0, (5, 1)), "per_sample", dln=False),  # dark[0]
)  # fmt: skip

# The paper's first: its name is left out of its runs' names. sgd is plain SGD with
# train.momentum and train.weight_decay (the paper: 0, 0); momentum and adam take their
# settings from the config's `optimizers` section.
OPTIMIZERS: dict[str, Optimizer] = _by_name(
    Optimizer("sgd", "SGD", "sgd", configured=False),
    Optimizer("momentum", "SGD with momentum", "sgd"),
    Optimizer("adam", "Adam", "adam"),
)

PAPER_MODEL = next(iter(MODELS))
PAPER_OPTIMIZER = next(iter(OPTIMIZERS))


def image_models() -> tuple[str, ...]:
    """The networks trained on images (bnopt.models.ARCHITECTURES; config `model`)."""
    return tuple(name for name, model in MODELS.items() if model.image)


def family(name: str) -> tuple[str, ...]:
    """The normalisations of one family, in catalog order."""
    return tuple(n for n, record in NORMALIZATIONS.items() if record.family == name)


def dln_normalizations() -> tuple[str, ...]:
    return tuple(n for n, record in NORMALIZATIONS.items() if record.dln)


def normalization_label(name: str) -> str:
    """The figures' label; an unknown name as itself."""
    found = NORMALIZATIONS.get(name)
    return found.label if found else str(name)


def normalization_text(name: str) -> str:
    """The report's label (plain text); an unknown name as itself."""
    found = NORMALIZATIONS.get(name)
    return found.text if found else str(name)


def short_label(name: str) -> str:
    """The claims' short name (BN, ℓ1, ...); an unknown name as itself."""
    found = NORMALIZATIONS.get(name)
    return found.short if found else str(name)


def model_label(name: str) -> str:
    found = MODELS.get(name)
    return found.label if found else str(name)
