"""Signal propagation at initialisation, before any training (beyond the paper).

Two questions the follow-up literature asks of a freshly initialised network, measured
layer by layer on one batch:

- the rank of the hidden representations (Daneshmand, Kohler et al. 2020, "Batch
  normalization provably avoids rank collapse for randomly initialised deep networks"):
  without BatchNorm the representations of different inputs align with depth, with it they
  keep a high rank;
- the gradient norm of each layer's weights (Yang et al. 2019, "A mean field theory of
  batch normalization"): at initialisation BatchNorm makes the gradient grow exponentially
  from the last layer towards the input.

Two networks, each with the experiment's normalisations and the project's initialisation
(Glorot uniform, zero biases): a VGG-style stack of `depth` 3x3 conv layers of `width`
channels on `images` training images (a 2x2 max-pool after the first two layers, then
constant 8x8 maps, global average pooling and a linear classifier, cross-entropy loss), and
the deep linear network of models.dln on its own full batch and loss (bnopt.dln). A layer's
representation is its output after its normalisation, before the ReLU (the layer's output
module of bnopt.models.weight_layers), one row per input: an (inputs x features) matrix.

Its rank is read two ways: the effective rank exp(H(p)) of the normalised singular values
p_i = s_i / sum s (Roy & Vetterli 2007; k equal singular values give k, no tolerance), and
the numerical rank of torch.linalg.matrix_rank in the representation's float32 (singular
values above s_max x max(rows, columns) x float32 epsilon). The effective rank is the
plotted and judged one: the numerical rank of a float32 matrix counts rounding noise once
the representations have aligned.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from torch import nn

from .dln import build_dln, dln_loss, make_problem
from .image_task import to_inputs
from .models import NUM_CLASSES, glorot_init, make_norm, weight_layers
from .tables import COLUMNS as TIDY_COLUMNS

POOLED_LAYERS = 2  # a 2x2 max-pool after each of the first two conv layers: 32x32 -> 8x8
QUANTITIES = ("effective_rank", "numerical_rank", "grad_norm", "relative_grad_norm")
COLUMNS = [*TIDY_COLUMNS, "network"]


def conv_stack(normalization: str, depth: int, width: int) -> nn.Sequential:
    """`depth` blocks conv 3x3 -> normalisation -> ReLU (-> max-pool after the first
    POOLED_LAYERS), global average pooling and a linear classifier; Glorot initialisation."""
    layers: list[nn.Module] = []
    channels = 3
    for number in range(1, depth + 1):
        layers.append(nn.Conv2d(channels, width, 3, padding=1))
        norm = make_norm(normalization, width, 4)
        layers += [norm] if norm is not None else []
        layers.append(nn.ReLU())
        if number <= POOLED_LAYERS:
            layers.append(nn.MaxPool2d(2, 2))
        channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, NUM_CLASSES)]
    model = nn.Sequential(*layers)
    glorot_init(model)
    return model


def effective_rank(matrix: torch.Tensor) -> float:
    """exp of the entropy of the normalised singular values (Roy & Vetterli 2007)."""
    singular = torch.linalg.svdvals(matrix.double())
    total = singular.sum()
    if not torch.isfinite(total) or total <= 0:
        return 0.0
    p = singular / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def numerical_rank(matrix: torch.Tensor) -> int:
    """torch.linalg.matrix_rank in float32 (its default tolerance)."""
    return int(torch.linalg.matrix_rank(matrix.float()))


def layer_measures(model: nn.Module, loss_of) -> list[dict]:
    """Per weight layer (numbered from 1): its representation's effective and numerical rank
    and its weight gradient's Frobenius norm, from one forward and backward pass in train
    mode (BatchNorm normalises with the batch's statistics, as in training)."""
    layers = weight_layers(model)
    outputs: dict[int, torch.Tensor] = {}
    hooks = [
        layer.output_module.register_forward_hook(
            lambda _m, _i, out, number=layer.number: outputs.__setitem__(number, out.detach())
        )
        for layer in layers
    ]
    try:
        model.train()
        model.zero_grad(set_to_none=True)
        loss_of(model).backward()
    finally:
        for hook in hooks:
            hook.remove()
    rows = []
    for layer in layers:
        representation = outputs[layer.number].flatten(1)
        rows.append(
            {
                "layer": layer.number,
                "effective_rank": effective_rank(representation),
                "numerical_rank": numerical_rank(representation),
                "grad_norm": float(layer.weight.grad.double().norm()),
            }
        )
    return rows


def conv_stack_measures(settings: dict, normalization: str, seed: int, images) -> list[dict]:
    """The conv stack's layers at `seed`: `settings["images"]` training images drawn with the
    seed, weights drawn after them from the global generator seeded with it."""
    generator = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(len(images["x_train"]), generator=generator)[: settings["images"]]
    x = to_inputs(torch.from_numpy(images["x_train"][chosen.numpy()])).contiguous()
    y = torch.from_numpy(images["y_train"][chosen.numpy()])
    torch.manual_seed(seed)
    model = conv_stack(normalization, settings["depth"], settings["width"])
    return layer_measures(model, lambda m: nn.functional.cross_entropy(m(x), y))[
        : settings["depth"]
    ]  # the conv layers (the classifier is the last weight layer)


def dln_measures(dln: dict, normalization: str, seed: int) -> list[dict]:
    """The deep linear network (models.dln) at `seed`, drawn as its training run draws it."""
    x, targets = make_problem(seed, dln["samples"], dln["dim"])
    torch.manual_seed(seed)
    model = build_dln(normalization, dln["depth"], dln["dim"])
    return layer_measures(model, lambda m: dln_loss(m(x), targets))


def with_relative_gradient(rows: list[dict]) -> list[dict]:
    """Each layer's gradient norm over the last layer's (1 at the last layer)."""
    last = rows[-1]["grad_norm"]
    return [{**row, "relative_grad_norm": row["grad_norm"] / last if last else math.nan}
            for row in rows]  # fmt: skip


def measure(settings: dict, images: dict | None) -> pd.DataFrame:
    """The experiment's table (settings: bnopt.runs.initialisation_settings; images: the
    prepared data, for the conv stack): every network x normalisation x seed x layer x
    quantity, as tidy rows (bnopt.tables.COLUMNS and `network`; lr and eta empty, step 0)."""
    records = []
    for network in settings["networks"]:
        for normalization in settings["normalizations"]:
            for seed in settings["seeds"]:
                if network == "conv_stack":
                    rows = conv_stack_measures(settings, normalization, seed, images)
                else:
                    rows = dln_measures(settings["dln"], normalization, seed)
                for row in with_relative_gradient(rows):
                    for quantity in QUANTITIES:
                        records.append({
                            "run": f"{network}_{normalization}_seed{seed}",
                            "normalization": normalization, "lr": np.nan, "seed": seed,
                            "step": 0, "quantity": quantity, "value": float(row[quantity]),
                            "layer": row["layer"], "eta": np.nan, "diverged_at": np.nan,
                            "network": network,
                        })  # fmt: skip
    return pd.DataFrame(records, columns=COLUMNS)
