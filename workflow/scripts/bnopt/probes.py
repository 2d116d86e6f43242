"""The paper's probes, for any torch model, loss and batch (protocol sections 3, 4, 5, 8).

Every probe measures at the current point w_t on the given minibatch, with the model in
train mode (batch statistics), and leaves the model exactly as it found it: parameters,
`.grad`, normalisation running statistics, noise of noisy BatchNorm and the RNG state.
Gradients come from `torch.autograd.grad`, so no probe pass can accumulate into another
or into the training gradient held in `.grad`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .models import Layer, weight_layers

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class LandscapeResult:
    etas: list[float]
    losses: list[float]  # L(w - eta g)
    grad_diffs: list[float]  # ||grad L(w - eta g) - g||_2
    beta_ratios: list[float]  # grad_diff / ||eta g||_2
    grad_norm: float  # ||g||_2
    step_grad_norms: list[float]  # ||grad L(w - eta g)||_2
    step_grad_cosines: list[float]  # cos(g, grad L(w - eta g))

    @property
    def overshot(self) -> list[bool]:
        """Per eta: ||grad L(w - eta g) - g|| >= ||g||, the gradient has changed as much as
        it measures (or reversed): beta's ratio then says more about eta than about the
        curvature, since it is ~ ||g|| / (eta ||g||) = 1 / eta (protocol section 4)."""
        return [diff >= self.grad_norm for diff in self.grad_diffs]

    @property
    def loss_range(self) -> tuple[float, float]:
        return min(self.losses), max(self.losses)

    @property
    def grad_diff_range(self) -> tuple[float, float]:
        return min(self.grad_diffs), max(self.grad_diffs)

    @property
    def effective_beta(self) -> float:
        return max(self.beta_ratios)


@dataclass
class IcsResult:
    layer: int
    l2: float  # ||G - G'||_2
    cosine: float  # cos(G, G')
    grad_norm: float  # ||G||_2
    shifted_grad_norm: float  # ||G'||_2

    @property
    def relative(self) -> float:
        """||G - G'|| / ||G||: the change relative to the gradient's own size."""
        return self.l2 / self.grad_norm if self.grad_norm > 0 else float("nan")


@dataclass
class CurvatureResult:
    directional: float  # g^T H g / ||g||^2, the curvature along the gradient
    lambda_max: float  # the top Ritz value of H from a Lanczos run started at g
    lambda_min: float  # the bottom Ritz value (negative curvature, if any)
    iterations: int  # Hessian-vector products the Lanczos run took
    converged: bool  # the top Ritz pair's residual fell below the tolerance


def trainable(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def flat_norm(tensors: Sequence[torch.Tensor]) -> float:
    """l2 norm of the tensors flattened and concatenated, accumulated in float64."""
    norms = torch._foreach_norm([t.detach().double() for t in tensors])
    return torch.linalg.vector_norm(torch.stack(norms)).item()


@contextlib.contextmanager
def preserved_state(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Restore parameters, buffers, train/eval mode and RNG states on exit.

    Inside, the model is in train mode and noisy normalisations replay the noise of their
    last draw (the training step's). Yields a saved copy of the trainable parameters.
    """
    params = trainable(model)
    saved_params = [p.detach().clone() for p in params]
    buffers = [b for b in model.buffers()]
    saved_buffers = [b.clone() for b in buffers]
    modes = [(m, m.training) for m in model.modules()]
    noisy = [m for m in model.modules() if hasattr(m, "replay_noise")]
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    model.train()
    for m in noisy:
        m.replay_noise = True
    try:
        yield saved_params
    finally:
        with torch.no_grad():
            torch._foreach_copy_(params, saved_params)
            if buffers:
                torch._foreach_copy_(buffers, saved_buffers)
        for m, training in modes:
            m.training = training
        for m in noisy:
            m.replay_noise = False
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)


def set_params(params: list[nn.Parameter], base: list[torch.Tensor], step=None, scale=0.0):
    """params <- base + scale * step (step None: params <- base)."""
    with torch.no_grad():
        torch._foreach_copy_(params, base)
        if step is not None and scale != 0.0:
            torch._foreach_add_(params, step, alpha=scale)


def loss_at(model, loss_fn: LossFn, inputs, targets) -> torch.Tensor:
    return loss_fn(model(inputs), targets)


def batch_gradient(model, loss_fn: LossFn, inputs, targets, grad=None) -> list[torch.Tensor]:
    """g = grad L(w) on this batch, unless the caller already holds it (the training step).

    Call inside `preserved_state`: the extra forward pass must not move running statistics.
    """
    params = trainable(model)
    if grad is None:
        grad = torch.autograd.grad(loss_at(model, loss_fn, inputs, targets), params)
    return [t.detach().to(p.dtype) for t, p in zip(grad, params, strict=True)]


def landscape_probe(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    etas: Sequence[float],
    grad: list[torch.Tensor] | None = None,
    direction: list[torch.Tensor] | None = None,
) -> LandscapeResult:
    """Loss, gradient change and beta ratio along the descent direction -g (Figs 4, 5, 6).

    For each eta, from the saved w_t: L(w_t - eta g), ||grad L(w_t - eta g) - g||_2 and its
    ratio to ||eta g||_2. `grad` is g if the caller holds it (the training step's gradient,
    in parameter order); otherwise it is computed on this batch. With `direction` d (one
    tensor per trainable parameter) the steps go along d instead: L(w_t + eta d), and the
    ratio is to ||eta d||_2; d = -g is the paper's probe, d = update / lr another optimiser's
    own step (bnopt.probe_records), whose eta = lr is the step it really makes.
    """
    params = trainable(model)
    losses, diffs, ratios, norms, cosines = [], [], [], [], []
    with preserved_state(model) as w0:
        g = batch_gradient(model, loss_fn, inputs, targets, grad)
        g_norm = flat_norm(g)
        step_norm = g_norm if direction is None else flat_norm(direction)
        for eta in etas:
            if direction is None:
                set_params(params, w0, g, -eta)
            else:
                set_params(params, w0, direction, eta)
            loss = loss_at(model, loss_fn, inputs, targets)
            new_grad = torch.autograd.grad(loss, params)
            diff = flat_norm(torch._foreach_sub(new_grad, g))
            norm = flat_norm(new_grad)
            losses.append(loss.item())
            diffs.append(diff)
            ratios.append(diff / (eta * step_norm) if step_norm > 0 else float("nan"))
            norms.append(norm)
            product = g_norm * norm
            cosines.append(flat_dot(g, new_grad) / product if product > 0 else float("nan"))
    return LandscapeResult(list(map(float, etas)), losses, diffs, ratios, g_norm, norms, cosines)


def ics_probe(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    lr: float,
    layer_numbers: Sequence[int],
    grad: list[torch.Tensor] | None = None,
    layers: list[Layer] | None = None,
    update: list[torch.Tensor] | None = None,
) -> list[IcsResult]:
    """Internal covariate shift as a change of gradient (Definition 2.1, Fig 3).

    G = grad of layer i's weight at w_t; G' = the same gradient on the same batch after
    every preceding layer (weights, biases and normalisation parameters) took this step's
    update, layer i itself and the later layers left at w_t. The update is plain SGD's
    -lr * G (the paper's), or `update`, one tensor per trainable parameter: the step another
    optimiser really makes (bnopt.optimizers.Optimizer.update).
    """
    params = trainable(model)
    layers = layers if layers is not None else weight_layers(model)
    index = {id(p): k for k, p in enumerate(params)}
    results = []
    with preserved_state(model) as w0:
        g = batch_gradient(model, loss_fn, inputs, targets, grad)
        for number in layer_numbers:
            if not 1 <= number <= len(layers):
                raise ValueError(f"layer #{number} does not exist; the model has {len(layers)}")
            layer = layers[number - 1]
            preceding = [index[id(p)] for lay in layers[: number - 1] for p in lay.params]
            set_params(params, w0)
            if preceding:
                with torch.no_grad():
                    moved = [params[k] for k in preceding]
                    if update is None:
                        torch._foreach_add_(moved, [g[k] for k in preceding], alpha=-lr)
                    else:
                        torch._foreach_add_(moved, [update[k] for k in preceding])
            loss = loss_at(model, loss_fn, inputs, targets)
            (g_shifted,) = torch.autograd.grad(loss, [layer.weight])
            g_here = g[index[id(layer.weight)]].double()
            g_shifted = g_shifted.detach().double()
            l2 = torch.linalg.vector_norm(g_here - g_shifted).item()
            cosine = nn.functional.cosine_similarity(
                g_here.flatten(), g_shifted.flatten(), dim=0, eps=1e-30
            ).item()
            norms = (torch.linalg.vector_norm(t).item() for t in (g_here, g_shifted))
            results.append(IcsResult(number, l2, cosine, *norms))
    return results


class ActivationRecorder:
    """Samples one channel of chosen layers' pre-ReLU outputs during a forward pass.

    The channel of each layer is drawn once, at construction, from its own generator, as is
    the subsample of values kept; the global RNG is never touched, so recording does not
    change the training trajectory. Record only while `active` is set.
    """

    def __init__(self, model: nn.Module, layer_numbers: Sequence[int], samples: int, seed: int):
        self.generator = torch.Generator().manual_seed(seed)
        self.samples = samples
        self.active = False
        self.records: list[dict] = []
        self._handles = []
        layers = weight_layers(model)
        self.channels = {}
        for number in layer_numbers:
            if not 1 <= number <= len(layers):
                raise ValueError(f"layer #{number} does not exist; the model has {len(layers)}")
            layer = layers[number - 1]
            channels = layer.weight.shape[0]
            channel = int(torch.randint(channels, (1,), generator=self.generator))
            self.channels[number] = channel
            hook = self._hook(number, channel)
            self._handles.append(layer.output_module.register_forward_hook(hook))

    def _hook(self, number: int, channel: int):
        def record(module, args, output):
            if not self.active:
                return
            values = output.detach()[:, channel].float().flatten()
            keep = min(self.samples, values.numel())
            picks = torch.randperm(values.numel(), generator=self.generator)[:keep]
            self.records.append(
                {
                    "layer": number,
                    "channel": channel,
                    "mean": values.mean().item(),
                    "var": values.var(unbiased=False).item(),
                    "samples": values[picks.to(values.device)].cpu().tolist(),
                }
            )

        return record

    def take(self) -> list[dict]:
        records, self.records = self.records, []
        return records

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def hessian_vector_product(grads, params, vector) -> list[torch.Tensor]:
    """H v for the loss whose gradient `grads` was taken with create_graph=True."""
    dot = sum((g * v).sum() for g, v in zip(grads, vector, strict=True))
    return [h.detach() for h in torch.autograd.grad(dot, params, retain_graph=True)]


def flat_dot(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> float:
    """Sum of the elementwise products, accumulated in float64."""
    return sum(float((x.double() * y.double()).sum()) for x, y in zip(a, b, strict=True))


def curvature_probe(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    max_iterations: int = 20,
    tolerance: float = 1e-3,
    scale: Sequence[torch.Tensor] | None = None,
) -> CurvatureResult:
    """Curvature of the minibatch loss at w_t: along g, and the extreme Hessian eigenvalues.

    Hessian-vector products by double backward, in train mode on this batch, the model's
    state restored like every probe. The Lanczos run starts from g with full
    re-orthogonalisation, so its Krylov space holds g and its top Ritz value is never below
    the Rayleigh quotient g^T H g / ||g||^2 (the directional curvature). It stops when the
    residual of the top Ritz pair, beta_k |s_k|, is below `tolerance` times the Ritz value
    (then that value is within about that of an eigenvalue), when the Krylov space is
    exhausted, or after `max_iterations` products: the top Ritz value is a lower bound of
    lambda_max that more iterations can only raise.

    With `scale` (one tensor D_p per trainable parameter, broadcast against it) the same of
    D H D, the Hessian in the coordinates z with w = D z, started from D g: for a
    preconditioner P (Adam's), D = P^(-1/2) gives the eigenvalues of P^-1 H and the
    curvature gᵀP⁻¹HP⁻¹g / gᵀP⁻¹g along the preconditioned step; for D = ‖W_l‖ on each
    weight layer's weight and 0 elsewhere, the weight layers' Hessian per unit of relative
    perturbation, unchanged when a scale-invariant layer is rescaled.
    """
    params = trainable(model)
    with preserved_state(model):
        grads = torch.autograd.grad(
            loss_at(model, loss_fn, inputs, targets), params, create_graph=True
        )
        g = [t.detach() for t in grads]
        if scale is not None:
            g = [t * d for t, d in zip(g, scale, strict=True)]
        g_norm = flat_norm(g)
        if not g_norm > 0:
            return CurvatureResult(float("nan"), float("nan"), float("nan"), 0, False)

        def top_pair_converged(alphas, betas, beta) -> bool:
            values, vectors = torch.linalg.eigh(tridiagonal(alphas, betas))
            return beta * abs(vectors[-1, -1].item()) <= tolerance * abs(values[-1].item())

        alphas, betas, _, converged = lanczos(
            grads, params, [t / g_norm for t in g], max_iterations, top_pair_converged,
            scale=scale,
        )  # fmt: skip
        values = torch.linalg.eigh(tridiagonal(alphas, betas)).eigenvalues
    return CurvatureResult(alphas[0], values[-1].item(), values[0].item(), len(alphas), converged)


def lanczos(grads, params, start, iterations: int, converged=None, passes: int = 1, scale=None):
    """A Lanczos run on the Hessian H of the loss whose gradient `grads` was taken with
    create_graph=True (or on D H D, D the diagonal `scale`), from the unit vector `start`,
    with full re-orthogonalisation (`passes` times against the whole basis). It stops after
    `iterations` products, when the Krylov space is exhausted (or invariant: beta = 0), or
    when `converged(alphas, betas, beta)` says so. Returns the diagonal and off-diagonal of
    T_k, its k basis vectors, and whether it stopped before running out of iterations."""
    basis = [start]
    alphas: list[float] = []
    betas: list[float] = []
    if scale is None:
        size = sum(p.numel() for p in params)
    else:  # D H D acts on the coordinates where D is not zero
        size = sum(
            int(torch.count_nonzero(d.expand_as(p))) for d, p in zip(scale, params, strict=True)
        )
    for iteration in range(iterations):
        if scale is None:
            w = hessian_vector_product(grads, params, basis[-1])
        else:
            scaled = [v * d for v, d in zip(basis[-1], scale, strict=True)]
            w = [
                h * d
                for h, d in zip(hessian_vector_product(grads, params, scaled), scale, strict=True)
            ]
        alphas.append(flat_dot(w, basis[-1]))
        for _ in range(passes):
            for v in basis:
                torch._foreach_add_(w, v, alpha=-flat_dot(w, v))
        beta = flat_norm(w)
        exhausted = len(alphas) == size or beta == 0
        if exhausted or (converged is not None and converged(alphas, betas, beta)):
            return alphas, betas, basis, True
        if iteration == iterations - 1:
            break
        betas.append(beta)
        basis.append([t / beta for t in w])
    return alphas, betas, basis, False


def tridiagonal(alphas: Sequence[float], betas: Sequence[float]) -> torch.Tensor:
    """The Lanczos matrix T_k (float64) from its diagonal and its first k-1 off-diagonals."""
    k = len(alphas)
    t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if k > 1:
        off = torch.tensor(betas[: k - 1], dtype=torch.float64)
        t += torch.diag(off, 1) + torch.diag(off, -1)
    return t


@dataclass(frozen=True)
class ConcentrationResult:
    share: float  # ||P_k g||^2 / ||g||^2, P_k the projector on the top-k Ritz vectors
    top: tuple[float, ...]  # the top-k Ritz values, largest first
    iterations: int  # Hessian-vector products the Lanczos run took


def gradient_concentration(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    k: int = 10,
    iterations: int = 30,
    seed: int = 0,
    population: bool = False,
) -> ConcentrationResult:
    """The share of the minibatch gradient's squared norm in the span of the Hessian's top-k
    eigenvectors (Ghorbani, Krishnan & Xiao 2019), from Ritz vectors of a Lanczos run with
    full re-orthogonalisation started at a random unit vector (seeded): a start at g would
    put g in the Krylov space and bias the share towards 1. Train mode (batch statistics),
    or with `population` eval mode (a normaliser's running statistics). With `iterations`
    >= the number of parameters the Ritz pairs are the exact eigenpairs."""
    params = trainable(model)
    with preserved_state(model):
        if population:
            model.eval()
        grads = torch.autograd.grad(
            loss_at(model, loss_fn, inputs, targets), params, create_graph=True
        )
        g = [t.detach() for t in grads]
        g_norm = flat_norm(g)
        if not g_norm > 0:
            return ConcentrationResult(float("nan"), (), 0)
        generator = torch.Generator(device="cpu").manual_seed(seed)
        start = [torch.randn(p.shape, generator=generator, dtype=torch.float64) for p in params]
        start = [s.to(p.device, p.dtype) for s, p in zip(start, params, strict=True)]
        norm = flat_norm(start)
        # twice re-orthogonalised: the Ritz vectors must stay orthogonal to many digits
        alphas, betas, basis, _ = lanczos(
            grads, params, [t / norm for t in start], iterations, passes=2
        )
        values, vectors = torch.linalg.eigh(tridiagonal(alphas, betas))
        # g's coordinates in the Lanczos basis, then in the Ritz basis
        coordinates = torch.tensor([flat_dot(g, v) for v in basis], dtype=torch.float64)
        in_ritz = vectors.T @ coordinates
        top = min(k, len(alphas))
        share = float((in_ritz[-top:] ** 2).sum()) / g_norm**2
    return ConcentrationResult(share, tuple(values[-top:].flip(0).tolist()), len(alphas))
