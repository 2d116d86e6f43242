"""The image networks' task (VGG-A, ResNets) on the prepared images: batches, augmentation,
evaluation on the test set and, for noisy BatchNorm, the noise-free re-evaluation."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from .data import ARRAY_KEYS, DataError, load_prepared
from .models import NoisyBatchNorm, build_model
from .task import Task

MEAN, STD = 0.5, 0.5
EVAL_BATCH = 1000


def to_inputs(images: torch.Tensor) -> torch.Tensor:
    """uint8 NHWC -> normalised float NCHW, channels_last in memory (a permuted view)."""
    return images.permute(0, 3, 1, 2).float().div_(255).sub_(MEAN).div_(STD)


def augment(x: torch.Tensor) -> torch.Tensor:
    """Random crop (padding 4) and horizontal flip, on the device, from the global RNG."""
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4))
    dx, dy = torch.randint(0, 9, (2, n), device=x.device)
    rows = (dy[:, None] + torch.arange(32, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(32, device=x.device))[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chans = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    out = padded[batch, chans, rows, cols]
    flip = torch.rand(n, device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def epoch_order(n: int, epoch: int, seed: int) -> torch.Tensor:
    """The fresh permutation of an epoch; stateless, so resuming needs no saved state."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


def evaluate(model, x_test, y_test, ctx) -> tuple[float, float]:
    """Loss and accuracy on the whole test set, eval mode, large batches."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=x_test.device)
    correct = torch.zeros((), dtype=torch.int64, device=x_test.device)
    with torch.inference_mode(), ctx:
        for start in range(0, x_test.shape[0], EVAL_BATCH):
            x = to_inputs(x_test[start : start + EVAL_BATCH])
            y = y_test[start : start + EVAL_BATCH]
            out = model(x).float()
            loss_sum += F.cross_entropy(out, y, reduction="sum").double()
            correct += (out.argmax(1) == y).sum()
    model.train(was_training)
    n = x_test.shape[0]
    return loss_sum.item() / n, correct.item() / n


RECALIBRATION_BATCHES = 20


def noise_free_evaluation(model, x_train, x_test, y_test, ctx, batch_size) -> tuple[float, float]:
    """Test loss and accuracy of a noisy-BN network after re-estimating its BN running
    statistics on training batches without the injected noise (on a copy of the model).

    Eval mode switches the noise off, but the running statistics were gathered while every
    upstream layer injected it, so they describe other activations than eval mode sees.
    """
    twin = copy.deepcopy(model)
    for module in twin.modules():
        if isinstance(module, NoisyBatchNorm):
            module.inject_noise = False
            module.bn.reset_running_stats()
            module.bn.momentum = None  # a plain average over the batches below
    twin.train()
    with torch.no_grad(), ctx:
        for k in range(min(RECALIBRATION_BATCHES, x_train.shape[0] // batch_size)):
            twin(to_inputs(x_train[k * batch_size : (k + 1) * batch_size]))
    return evaluate(twin, x_test, y_test, ctx)


def vgg_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out.float(), y)


def task(settings: dict, data_path, device: torch.device, ctx) -> Task:
    """VGG-A on the prepared images: a fresh permutation per epoch, minibatches of
    batch_size (the last partial batch of an epoch dropped), optional augmentation."""
    data = load_prepared(data_path)
    x_train, y_train, x_test, y_test = (
        torch.from_numpy(data[key]).to(device) for key in ARRAY_KEYS
    )
    batch_size, seed = settings["batch_size"], settings["seed"]
    n_train = x_train.shape[0]
    per_epoch = n_train // batch_size
    if per_epoch == 0:
        raise DataError(
            f"train.batch_size {batch_size} exceeds the {n_train} training images of "
            f"{data_path}; at most {n_train}"
        )
    torch.manual_seed(seed)
    model = build_model(
        settings.get("model", "vgg_a"), settings["normalization"], settings["width"]
    )
    model = model.to(device, memory_format=torch.channels_last)
    orders: dict[int, torch.Tensor] = {}

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, k = divmod(step, per_epoch)
        if epoch not in orders:
            orders.clear()
            orders[epoch] = epoch_order(n_train, epoch, seed).to(device)
        idx = orders[epoch][k * batch_size : (k + 1) * batch_size]
        x = to_inputs(x_train[idx])
        if settings["augment"]:
            x = augment(x)
        return x, y_train[idx]

    return Task(
        model,
        vgg_loss,
        batch,
        batch_size,
        evaluate=lambda: evaluate(model, x_test, y_test, ctx),
        noise_free_evaluate=(
            (lambda: noise_free_evaluation(model, x_train, x_test, y_test, ctx, batch_size))
            if settings["normalization"] == "noisy_batch"
            else None
        ),
    )
