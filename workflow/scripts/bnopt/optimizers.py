"""The training runs' optimisers, as plain tensor updates.

torch.optim is not used: its first call imports torch._dynamo, which cost 1.9-2.4 s of every
training job's 8-30 s on the 2-core demo machine (measured with cProfile, 2026-12-02), and a
probe needs the update the optimiser *would* make without advancing its state (`update`),
which torch.optim does not offer. The arithmetic is torch.optim's, op for op (its `foreach`
implementation), so SGD runs are bitwise those of torch.optim.SGD(foreach=True); a test
checks SGD with and without momentum and weight decay bitwise, and Adam to float rounding.

- sgd: d = g + weight_decay * w; with momentum, b = momentum * b + d (b = d at the first
  step) and d = b; then w <- w - lr * d.
- adam (Kingma & Ba, as torch.optim.Adam with amsgrad off): d = g + weight_decay * w;
  m = beta1 m + (1 - beta1) d; v = beta2 v + (1 - beta2) d^2; with t the step number from 1,
  w <- w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

NAMES = ("sgd", "adam")


@dataclass(frozen=True)
class OptimizerSettings:
    name: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        if self.name not in NAMES:
            raise ValueError(f"unknown optimizer {self.name!r}; one of {', '.join(NAMES)}")


class Optimizer:
    """The parameters' update rule and its state (momentum buffers, Adam's moments)."""

    def __init__(self, params, settings: OptimizerSettings):
        self.params = [p for p in params if p.requires_grad]
        self.settings = settings
        self.steps = 0
        self.buffers: dict[str, list[torch.Tensor]] = {}

    @property
    def is_plain_sgd(self) -> bool:
        """w <- w - lr * g exactly: no momentum, no weight decay."""
        s = self.settings
        return s.name == "sgd" and not s.momentum and not s.weight_decay

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _gradients(self) -> list[torch.Tensor]:
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        if self.settings.weight_decay:
            grads = torch._foreach_add(grads, self.params, alpha=self.settings.weight_decay)
        return grads

    def _advance(self, grads: list[torch.Tensor]) -> tuple[list, list | None, dict, float]:
        """This step's w <- w - scale * numerator / denominator (no denominator for SGD), and
        the state after it."""
        s = self.settings
        if s.name == "sgd":
            if not s.momentum:
                return grads, None, {}, s.lr
            if "momentum" not in self.buffers:
                bufs = [g.clone() for g in grads]
            else:
                bufs = torch._foreach_mul(self.buffers["momentum"], s.momentum)
                torch._foreach_add_(bufs, grads)
            return bufs, None, {"momentum": bufs}, s.lr
        t = self.steps + 1
        zeros = [torch.zeros_like(p) for p in self.params] if not self.buffers else None
        m = torch._foreach_lerp(self.buffers.get("exp_avg", zeros), grads, 1 - s.beta1)
        v = torch._foreach_mul(self.buffers.get("exp_avg_sq", zeros), s.beta2)
        torch._foreach_addcmul_(v, grads, grads, 1 - s.beta2)
        denominator = torch._foreach_sqrt(v)
        torch._foreach_div_(denominator, math.sqrt(1 - s.beta2**t))
        torch._foreach_add_(denominator, s.eps)
        return m, denominator, {"exp_avg": m, "exp_avg_sq": v}, s.lr / (1 - s.beta1**t)

    @torch.no_grad()
    def update(self) -> list[torch.Tensor]:
        """The change w_{t+1} - w_t this step would make to each parameter, from the current
        .grad, without changing the parameters or the optimiser's state."""
        numerator, denominator, _, scale = self._advance(self._gradients())
        if denominator is None:
            return torch._foreach_mul(numerator, -scale)
        return torch._foreach_mul(torch._foreach_div(numerator, denominator), -scale)

    @torch.no_grad()
    def preconditioner_scale(self) -> list[torch.Tensor] | None:
        """D = P^(-1/2) for the step Adam would make from the current .grad, written as
        w <- w - lr P^-1 m with P = (1 - beta1^t) (sqrt(v / (1 - beta2^t)) + eps) (Cohen et
        al. 2022), so that lambda_max(P^-1 H) = lambda_max(D H D); None for SGD, which does
        not precondition. State untouched."""
        if self.settings.name != "adam":
            return None
        _, denominator, _, _ = self._advance(self._gradients())
        bias = 1 - self.settings.beta1 ** (self.steps + 1)
        return [torch.rsqrt(d * bias) for d in denominator]

    def stability_threshold(self) -> float:
        """The largest curvature of the loss (of P^-1 H for Adam) at which this optimiser is
        stable on a quadratic, its preconditioner held fixed: plain SGD 2 / lr; heavy-ball
        momentum mu as here (b = mu b + g, w <- w - lr b) (2 + 2 mu) / lr; weight decay wd adds
        wd to every curvature, so it lowers the loss's threshold by wd; Adam's averaged
        momentum (2 + 2 beta1) / (lr (1 - beta1)), 38 / lr at beta1 = 0.9 (Cohen et al.
        2022). NaN for Adam with weight decay (P^-1 (H + wd) has no such scalar bound)."""
        s = self.settings
        if s.name == "adam":
            if s.weight_decay:
                return float("nan")
            return (2 + 2 * s.beta1) / (s.lr * (1 - s.beta1))
        return (2 + 2 * s.momentum) / s.lr - s.weight_decay

    @torch.no_grad()
    def step(self) -> None:
        numerator, denominator, state, scale = self._advance(self._gradients())
        if denominator is None:
            torch._foreach_add_(self.params, numerator, alpha=-scale)
        else:
            torch._foreach_addcdiv_(self.params, numerator, denominator, -scale)
        self.buffers = state
        self.steps += 1

    def state_dict(self) -> dict:
        return {"steps": self.steps, "buffers": {k: list(v) for k, v in self.buffers.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state["steps"])
        self.buffers = {k: [t.clone() for t in v] for k, v in state["buffers"].items()}


def run_optimizer(params, settings: dict) -> Optimizer:
    """A run's optimiser (settings as bnopt.runs.run_settings): plain SGD with the run's
    momentum and weight decay, unless it names an optimiser."""
    chosen = dict(settings.get("optimizer") or {"name": "sgd"})
    if chosen["name"] == "sgd":
        chosen.setdefault("momentum", settings.get("momentum", 0.0))
    optimizer_settings = OptimizerSettings(
        lr=settings["lr"], weight_decay=settings.get("weight_decay", 0.0), **chosen
    )
    return Optimizer(params, optimizer_settings)
