"""The deep linear network experiment (paper Figs 3b, 5b, 9, 10; protocol section 7).

Minimise ||W_depth ... W_1 X - A X||_F^2, summed over the samples, by full-batch gradient
descent (plain, no momentum) from a Glorot initialisation; no biases. The variants put a
normalisation (BatchNorm over the whole batch, or an l_p normalisation) after layers
1..depth-1, never after the last one, and no nonlinearity anywhere. The paper's probes run
every `probes_every` steps on the full batch with this loss.

It trains in the loop of the VGG runs (bnopt.training), whose conventions it follows: `step`
t counts the updates already applied; the loss of step t is measured at w_t, and probes at
step t measure at w_t before update t+1. Because every step sees the whole data set, the
metrics also hold the exact loss after the last update (row `steps`). Gradient descent is
torch's SGD without momentum or weight decay: every W <- W - lr * grad W.

Everything runs on the CPU, in float32 unless `precision` is fp64. Measured at the paper's
settings (seed 0): a step at lr 1e-6 changes the weights far above float32 resolution (they
move by 0.2-0.9 over a run); float32 and float64 runs agree to ~1e-6 in the loss where the
dynamics are stable (Standard at lr 1e-7, all 10,000 steps) and part where gradient descent
reaches the edge of stability (Standard at lr 1e-6 from its loss spike at step ~85; BN
slowly), which is chaotic in any precision; final losses agree within 0.1 %, BN's effective
beta within a few percent, and the claim verdicts are the same. float64 costs the same on a
CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from .models import make_norm
from .task import Task

DTYPES = {"fp32": torch.float32, "fp64": torch.float64}


def build_dln(
    normalization: str = "none", depth: int = 25, dim: int = 10, dtype=torch.float32
) -> nn.Sequential:
    """depth bias-free dim x dim linear layers, a normalisation after all but the last.

    Glorot-uniform weights from the global RNG (seed it first). Modules are registered in
    forward order, so bnopt.models.weight_layers finds one layer per Linear with its norm.
    """
    modules: list[nn.Module] = []
    for number in range(1, depth + 1):
        linear = nn.Linear(dim, dim, bias=False)
        nn.init.xavier_uniform_(linear.weight)
        modules.append(linear)
        norm = make_norm(normalization, dim, 2) if number < depth else None
        if norm is not None:
            modules.append(norm)
    return nn.Sequential(*modules).to(dtype)


def make_problem(
    seed: int, n: int = 1000, dim: int = 10, dtype=torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """X (n samples of a standard Gaussian, one per row) and the targets A x of each sample.

    A is a dim x dim standard Gaussian matrix. Rows are samples, so the targets are X A^T
    and a model's output X W_1^T ... W_depth^T is compared with them row by row. Drawn and
    multiplied in float64, then cast, so the problem does not depend on the precision.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=generator, dtype=torch.float64)
    a = torch.randn(dim, dim, generator=generator, dtype=torch.float64)
    return x.to(dtype), (x @ a.T).to(dtype)


def dln_loss(out: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Squared Frobenius norm of the residual, summed over samples and outputs."""
    return ((out - targets) ** 2).sum()


def dln_parts(settings: dict):
    """The model, the full batch and the loss of one DLN run (bnopt.runs.dln_settings), in
    the order that fixes the random numbers: the problem from its own generator, then the
    weights from the global one seeded with the run's seed."""
    dtype = DTYPES[settings["precision"]]
    seed = settings["seed"]
    x, targets = make_problem(seed, settings["samples"], settings["dim"], dtype)
    torch.manual_seed(seed)
    model = build_dln(settings["normalization"], settings["depth"], settings["dim"], dtype)
    return model, x, targets


def task(settings: dict, data_path, device: torch.device, ctx) -> Task:
    """The deep linear network on its full batch, every step (bnopt.dln)."""
    model, x, targets = dln_parts(settings)
    model, x, targets = model.to(device), x.to(device), targets.to(device)

    def final_loss() -> float:
        with torch.no_grad():
            return dln_loss(model(x), targets).item()

    return Task(
        model,
        dln_loss,
        lambda step: (x, targets),
        x.shape[0],
        counts_correct=False,
        final_loss=final_loss,
    )
