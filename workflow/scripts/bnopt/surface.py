"""The 2-D loss surface around a trained network (Li et al. 2018, "Visualizing the loss
landscape of neural nets"), the view users of the public reproductions expect. Beyond the
paper, and not its loss landscape (that is the range along the gradient, Fig 4a).

Two random directions d1, d2, filter-normalised: each filter (one output channel of a conv,
one output row of a linear layer) of a Gaussian direction is rescaled to the norm of the
same filter of the weights, so that networks of different scales (BN makes the loss
invariant to the scale of the weights before it) are compared at the same relative step;
biases and normalisation parameters get no direction (Li et al.'s choice). The loss
L(w + a d1 + b d2) is evaluated on a grid of (a, b) in [-span, span]^2 twice: in train-mode
normalisation on one fixed training batch (batch statistics, as the training steps saw
them; running statistics untouched), and in eval mode on the test set. The weights, buffers
and RNG are restored afterwards (bnopt.probes.preserved_state).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from .data import load_prepared
from .image_task import EVAL_BATCH, epoch_order, to_inputs, vgg_loss
from .models import build_model
from .probes import preserved_state, trainable

MODES = ("train_batch", "eval_test")


def filter_normalized_direction(model: nn.Module, generator: torch.Generator) -> list:
    """One direction per trainable parameter, drawn from `generator` (CPU), filter-normalised."""
    direction = []
    for p in trainable(model):
        if p.dim() <= 1:
            direction.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=generator, dtype=torch.float64).to(p)
        filters = p.detach().flatten(1).norm(dim=1)
        scale = filters / d.flatten(1).norm(dim=1).clamp_min(1e-30)
        direction.append(d * scale.view(-1, *([1] * (p.dim() - 1))))
    return direction


@torch.no_grad()
def loss_surface(
    model: nn.Module,
    loss_fn,
    train_batch: tuple[torch.Tensor, torch.Tensor],
    test_batches: list[tuple[torch.Tensor, torch.Tensor]],
    points: int,
    span: float,
    seed: int,
) -> list[tuple[str, float, float, float]]:
    """Rows (mode, a, b, loss) on a points x points grid; the test loss is the mean over
    `test_batches` weighted by their sizes."""
    generator = torch.Generator().manual_seed(seed)
    d1 = filter_normalized_direction(model, generator)
    d2 = filter_normalized_direction(model, generator)
    grid = np.linspace(-span, span, points)
    params = trainable(model)
    rows = []
    with preserved_state(model) as w0:
        # Eval mode first: the train-mode passes move running statistics (restored on exit).
        for mode in ("eval_test", "train_batch"):
            model.train(mode == "train_batch")
            for a in grid:
                for b in grid:
                    torch._foreach_copy_(params, w0)
                    torch._foreach_add_(params, d1, alpha=float(a))
                    torch._foreach_add_(params, d2, alpha=float(b))
                    if mode == "train_batch":
                        x, y = train_batch
                        loss = float(loss_fn(model(x), y))
                    else:
                        total = sum(float(loss_fn(model(x), y)) * len(y) for x, y in test_batches)
                        loss = total / sum(len(y) for _, y in test_batches)
                    rows.append((mode, float(a), float(b), loss))
    return rows


COLUMNS = ["run", "normalization", "lr", "seed", "mode", "a", "b", "loss"]


def run_surface(settings: dict, data_path, weights_path, surface: dict) -> pd.DataFrame:
    """The surface of one trained VGG/ResNet run (its settings: bnopt.runs.run_settings)
    around its final weights, on the CPU: the first minibatch of its first epoch and the first
    `surface["test_images"]` test images."""
    torch.manual_seed(settings["seed"])
    model = build_model(
        settings.get("model", "vgg_a"), settings["normalization"], settings["width"]
    )
    model.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    data = load_prepared(data_path)
    order = epoch_order(len(data["y_train"]), 0, settings["seed"])[: settings["batch_size"]]
    x_train = to_inputs(torch.from_numpy(data["x_train"])[order])
    y_train = torch.from_numpy(data["y_train"])[order].long()
    n = min(int(surface["test_images"]), len(data["y_test"]))
    x_test, y_test = torch.from_numpy(data["x_test"][:n]), torch.from_numpy(data["y_test"][:n])
    test = [
        (to_inputs(x_test[i : i + EVAL_BATCH]), y_test[i : i + EVAL_BATCH].long())
        for i in range(0, n, EVAL_BATCH)
    ]
    rows = loss_surface(
        model, vgg_loss, (x_train, y_train), test, int(surface["points"]),
        float(surface["span"]), int(surface["seed"]),
    )  # fmt: skip
    frame = pd.DataFrame(rows, columns=["mode", "a", "b", "loss"])
    for key in ("seed", "lr", "normalization"):
        frame.insert(0, key, settings[key])
    frame.insert(0, "run", settings["run"])
    return frame[COLUMNS]
