"""VGG-A for 32x32 inputs with a choice of normalisation after every hidden weight layer.

Protocol section 1: conv -> norm -> ReLU after every conv and hidden Linear layer, never
after the logits layer; Glorot (xavier_uniform_) weights, zero biases.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

VGG_A = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")
HIDDEN = 512
NUM_CLASSES = 10
NORMALIZATIONS = ("none", "batch", "noisy_batch", "l1", "l2", "linf", "layer", "group")
# Group normalisation (Wu & He 2018) with their default of 32 groups, or one channel per group
# where a layer has fewer channels (gcd: the groups must divide the channels).
GROUPS = 32

# Algorithm 1 of the paper: noise constants.
NOISE_MU, NOISE_SIGMA, NOISE_R_MU, NOISE_R_SIGMA = 0.5, 1.25, 0.1, 0.1


class NoisyBatchNorm(nn.Module):
    """BatchNorm followed, in train mode only, by Algorithm 1's non-stationary noise.

    Per step and unit j: mu_j ~ U(-n_mu, n_mu), sigma_j ~ U(1, n_sigma); per sample i (and
    spatial position): m_ij ~ U(mu_j - r_mu, mu_j + r_mu), s_ij ~ N(sigma_j, r_sigma);
    output a_ij = s_ij * bn(x)_ij + m_ij. The noise carries no gradient. With
    `replay_noise` set, the noise of the previous draw is reused (the probes need the
    training step's own noise, so that differences come from the landscape).
    """

    def __init__(self, num_features: int, dims: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features) if dims == 4 else nn.BatchNorm1d(num_features)
        self.replay_noise = False
        self.inject_noise = True  # off: plain BN in train mode too (bnopt.training)
        self._noise: tuple[torch.Tensor, torch.Tensor] | None = None

    def draw_noise(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        unit_shape = [1, y.shape[1]] + [1] * (y.dim() - 2)
        opts = {"device": y.device, "dtype": y.dtype}
        mu = torch.empty(unit_shape, **opts).uniform_(-NOISE_MU, NOISE_MU)
        sigma = torch.empty(unit_shape, **opts).uniform_(1, NOISE_SIGMA)
        # In place, one pass each: the per-sample draws were 60% of a noisy step's time.
        m = torch.empty(y.shape, **opts).uniform_(-NOISE_R_MU, NOISE_R_MU).add_(mu)
        s = torch.empty(y.shape, **opts).normal_(0, NOISE_R_SIGMA).add_(sigma)
        return s, m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(x)
        if not self.training or not self.inject_noise:
            return y
        if not self.replay_noise or self._noise is None or self._noise[0].shape != y.shape:
            with torch.no_grad():
                self._noise = self.draw_noise(y)
        s, m = self._noise
        return y * s + m


class LpNorm(nn.Module):
    """l_p normalisation (protocol section 6): gamma * (y - mean y) / d_p + beta per channel.

    d_p is taken on the uncentred y over (N, H, W): d_1 = mean|y|, d_2 = sqrt(mean y^2),
    d_inf = max|y|. Running estimates of mean and d_p (momentum 0.1) serve eval mode, as
    BatchNorm's running statistics do.
    """

    def __init__(self, num_features: int, p: str, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        if p not in ("l1", "l2", "linf"):
            raise ValueError(f"unknown l_p normalisation {p!r}")
        self.p, self.eps, self.momentum = p, eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_scale", torch.ones(num_features))

    def scale(self, y: torch.Tensor, dims: list[int]) -> torch.Tensor:
        if self.p == "linf":
            return y.abs().amax(dims)
        # One pass over y (forward and backward) instead of abs/pow, mean and sqrt.
        count = y.numel() // y.shape[1]
        if self.p == "l1":
            return torch.linalg.vector_norm(y, 1, dims) / count
        return torch.linalg.vector_norm(y, 2, dims) / count**0.5

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        dims = [0] + list(range(2, y.dim()))
        shape = [1, y.shape[1]] + [1] * (y.dim() - 2)
        if self.training:
            mean, scale = y.mean(dims), self.scale(y, dims)
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach().float(), self.momentum)
                self.running_scale.lerp_(scale.detach().float(), self.momentum)
        else:
            mean, scale = self.running_mean, self.running_scale
        # gamma * (y - mean) / (d_p + eps) + beta as one multiply-add over y: per channel
        # y * gain + shift, the form PyTorch's own BatchNorm kernels use.
        gain = self.weight / (scale + self.eps)
        shift = self.bias - mean * gain
        return torch.addcmul(shift.view(shape), y, gain.view(shape))


def make_norm(normalization: str, num_features: int, dims: int) -> nn.Module | None:
    if normalization == "none":
        return None
    if normalization == "batch":
        return nn.BatchNorm2d(num_features) if dims == 4 else nn.BatchNorm1d(num_features)
    if normalization == "noisy_batch":
        return NoisyBatchNorm(num_features, dims)
    if normalization in ("l1", "l2", "linf"):
        return LpNorm(num_features, normalization)
    # Per-sample normalisations, no running statistics: gamma * (y - mean) / sqrt(var + eps)
    # + beta per channel, mean and (biased) variance of each sample over all its channels and
    # positions (layer) or over each group of channels and its positions (group).
    if normalization == "layer":
        return nn.GroupNorm(1, num_features)
    if normalization == "group":
        return nn.GroupNorm(group_count(num_features), num_features)
    raise ValueError(f"unknown normalisation {normalization!r}; one of {NORMALIZATIONS}")


def group_count(channels: int) -> int:
    return math.gcd(channels, GROUPS)


def scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def vgg_a(normalization: str = "none", width: float = 1.0) -> nn.Sequential:
    """VGG-A adapted to 32x32 inputs; layers registered in forward order."""
    layers: list[nn.Module] = []
    in_ch = 3
    for item in VGG_A:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        out_ch = scaled(item, width)
        layers.append(nn.Conv2d(in_ch, out_ch, 3, padding=1))
        norm = make_norm(normalization, out_ch, 4)
        layers += [norm] if norm is not None else []
        layers.append(nn.ReLU(inplace=True))
        in_ch = out_ch
    layers.append(nn.Flatten())
    hidden = scaled(HIDDEN, width)
    for fan_in in (in_ch, hidden):
        layers.append(nn.Linear(fan_in, hidden))
        norm = make_norm(normalization, hidden, 2)
        layers += [norm] if norm is not None else []
        layers.append(nn.ReLU(inplace=True))
    layers.append(nn.Linear(hidden, NUM_CLASSES))
    model = nn.Sequential(*layers)
    glorot_init(model)
    return model


def glorot_init(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)


class Layer(NamedTuple):
    """One weight layer: its weight, all parameters that move with it, its pre-ReLU output."""

    number: int
    weight: nn.Parameter
    params: list[nn.Parameter]
    output_module: nn.Module


def weight_layers(model: nn.Module) -> list[Layer]:
    """Group a model's parameters by weight layer, in registration (= forward) order.

    Every Conv/Linear starts a layer; modules with parameters registered after it (its
    normalisation) join it. Works for any model whose modules are registered in the order
    they run, such as an nn.Sequential.
    """
    groups: list[list] = []
    wrapped: set[int] = set()  # modules inside a noisy norm: the wrapper's output is pre-ReLU
    for module in model.modules():
        own = [p for p in module.parameters(recurse=False) if p.requires_grad]
        if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear):
            groups.append([module, list(own), module])
        elif groups and hasattr(module, "replay_noise"):
            groups[-1][2] = module
            wrapped.update(id(m) for m in module.modules())
        elif own and groups:
            groups[-1][1].extend(own)
            if id(module) not in wrapped:
                groups[-1][2] = module
    return [Layer(i + 1, g[0].weight, g[1], g[2]) for i, g in enumerate(groups)]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def flops_per_image(model: nn.Module, image_size: int = 32) -> int:
    """Multiply-adds x 2 of one forward pass (convs and linears only)."""
    flops, size = 0, image_size
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            flops += 2 * module.in_channels * module.out_channels * k * size * size
        elif isinstance(module, nn.MaxPool2d):
            size //= 2
        elif isinstance(module, nn.Linear):
            flops += 2 * module.in_features * module.out_features
    return flops
