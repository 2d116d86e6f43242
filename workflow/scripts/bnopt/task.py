"""What the training loop trains: a model, its loss, the batch of each step and its evaluations.

Each network family has a task module (bnopt.runs.task_module: bnopt.image_task for the image
networks, bnopt.dln for the deep linear network) with a function
`task(settings, data_path, device, ctx) -> Task`. The loop (bnopt.training) loads it by name, so
that its code is part of the identity of that family's runs only (bnopt.code_identity).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # kept torch-free: the workflow reads task_module when it parses
    import torch
    from torch import nn


def task_module(model: str) -> str:
    """The module of bnopt whose `task` trains `model`."""
    return "dln" if model == "dln" else "image_task"


@dataclass
class Task:
    """What the loop trains: a model, its loss, the batch of each step and its evaluations.

    VGG-A on images (bnopt.image_task) and the deep linear network on its full batch (bnopt.dln)
    are the two tasks; everything else (optimiser, probes, logging, divergence, checkpoints,
    outputs, metadata) is the loop's, the same for both.
    """

    model: nn.Module
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    batch: Callable[[int], tuple[torch.Tensor, torch.Tensor]]
    examples: int  # per step
    counts_correct: bool = True  # classification: training accuracy per step
    evaluate: Callable[[], tuple[float, float]] | None = None  # test loss and accuracy
    final_loss: Callable[[], float] | None = None  # the full-batch loss after the last update
    # noisy BN: the test metrics with running statistics re-estimated without the noise
    noise_free_evaluate: Callable[[], tuple[float, float]] | None = None
