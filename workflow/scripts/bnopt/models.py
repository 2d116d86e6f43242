"""The networks, for 32x32 inputs, with a choice of normalisation after every hidden weight
layer: VGG-A (the paper's) and the CIFAR ResNets 8 and 20 (beyond the paper).

Protocol section 1: conv -> norm -> ReLU after every conv and hidden Linear layer, never
after the logits layer; Glorot (xavier_uniform_) weights, zero biases. The ResNets keep the
same conventions (see `cifar_resnet`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

VGG_A = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")
HIDDEN = 512
NUM_CLASSES = 10
# Group normalisation (Wu & He 2018) with their default of 32 groups, fewer where a layer has
# under 64 channels: each group holds at least two channels (a group of one feature of a
# linear layer would normalise to a constant) and the groups divide the channels.
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


def batch_norm(num_features: int, dims: int) -> nn.Module:
    return nn.BatchNorm2d(num_features) if dims == 4 else nn.BatchNorm1d(num_features)


# The layer that each normalisation puts after a hidden weight layer with num_features
# outputs (dims: 4 after a conv, 2 after a Linear); None for none. Keyed by the names of
# bnopt.catalog.NORMALIZATIONS, in its order (tests/unit/test_catalog.py checks), without
# importing it: a label or colour edited there retrains no run (bnopt.code_identity).
# layer and group are per-sample, without running statistics: gamma * (y - mean) /
# sqrt(var + eps) + beta per channel, mean and (biased) variance of each sample over all its
# channels and positions (layer) or over each group of channels and its positions (group).
NORM_LAYERS: dict[str, Callable[[int, int], nn.Module | None]] = {
    "none": lambda num_features, dims: None,
    "batch": batch_norm,
    "noisy_batch": NoisyBatchNorm,
    "l1": lambda num_features, dims: LpNorm(num_features, "l1"),
    "l2": lambda num_features, dims: LpNorm(num_features, "l2"),
    "linf": lambda num_features, dims: LpNorm(num_features, "linf"),
    "layer": lambda num_features, dims: nn.GroupNorm(1, num_features),
    "group": lambda num_features, dims: nn.GroupNorm(group_count(num_features), num_features),
}
NORMALIZATIONS = tuple(NORM_LAYERS)


def make_norm(normalization: str, num_features: int, dims: int) -> nn.Module | None:
    if normalization not in NORM_LAYERS:
        raise ValueError(f"unknown normalisation {normalization!r}; one of {NORMALIZATIONS}")
    return NORM_LAYERS[normalization](num_features, dims)


def group_count(channels: int) -> int:
    """The most groups, at most GROUPS, that divide `channels` with >= 2 channels each."""
    fitting = [g for g in range(1, GROUPS + 1) if channels % g == 0 and channels // g >= 2]
    return max(fitting, default=1)


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
    """Multiply-adds x 2 of one forward pass (convs and linears only), from the output sizes
    of a forward pass of one image (so strides and pooling of any architecture count)."""
    flops = [0]

    def count(module, _inputs, output):
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        else:
            per_output = module.in_features
        flops[0] += 2 * per_output * output.numel()

    handles = [
        m.register_forward_hook(count)
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            dtype = next(model.parameters()).dtype
            model(torch.zeros(1, 3, image_size, image_size, dtype=dtype))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return flops[0]


# The CIFAR-10 ResNets of He et al. 2016, section 4.2: a 3x3 conv with 16 channels, then
# three stages of n basic blocks with 16, 32 and 64 channels (the first block of stages 2
# and 3 halves the resolution by stride 2), global average pooling and a linear layer:
# 6n + 2 weight layers. ResNet-20 (n = 3) is the beyond-the-paper network; ResNet-8 (n = 1),
# the family's smallest member, is the demo's CPU-sized stand-in for it. ResNet-20 is chosen
# over ResNet-18 because it is the residual network designed for 32x32 inputs (0.27M
# parameters, as in He et al.'s Table 6), cheap enough to run beside VGG-A. The shortcut
# across a change of shape is the paper's option A (subsample by 2 and pad the new channels
# with zeros): parameter-free, so every weight layer is on the main path and numbered in
# forward order like VGG's.
RESNET_STAGES = (16, 32, 64)
RESNET_DEPTHS = {"resnet8": 8, "resnet20": 20}


class PaddedShortcut(nn.Module):
    """Option A: x[:, :, ::2, ::2] with zero channels appended, to out_channels."""

    def __init__(self, out_channels: int):
        super().__init__()
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::2, ::2]
        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.out_channels - x.shape[1]))


class BasicBlock(nn.Module):
    """conv -> norm -> ReLU -> conv -> norm, plus the shortcut, then ReLU. Modules are
    registered in forward order (conv1, norm1, conv2, norm2): bnopt.models.weight_layers
    numbers the two convs in turn, each with its norm."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, normalization: str):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1)
        self.norm1 = make_norm(normalization, out_channels, 4) or nn.Identity()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1)
        self.norm2 = make_norm(normalization, out_channels, 4) or nn.Identity()
        changes = stride != 1 or in_channels != out_channels
        self.shortcut = PaddedShortcut(out_channels) if changes else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(self.norm2(self.conv2(y)) + self.shortcut(x))


def cifar_resnet(depth: int, normalization: str = "none", width: float = 1.0) -> nn.Sequential:
    """The ResNet of `depth` = 6n + 2 layers for 32x32 inputs, `width` times the channels,
    Glorot weights, zero biases.

    Every conv has a bias (as VGG's do: the standard network needs its affine shift). The
    pre-ReLU output of a block's second layer, as recorded by the activation probe, is the
    normalised branch before the shortcut is added.
    """
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"a CIFAR ResNet has 6n + 2 layers (8, 14, 20, ...), not {depth}")
    blocks = (depth - 2) // 6
    channels = [scaled(c, width) for c in RESNET_STAGES]
    layers: list[nn.Module] = [nn.Conv2d(3, channels[0], 3, padding=1)]
    norm = make_norm(normalization, channels[0], 4)
    layers += [norm] if norm is not None else []
    layers.append(nn.ReLU(inplace=True))
    in_channels = channels[0]
    for stage, out_channels in enumerate(channels):
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 else 1
            layers.append(BasicBlock(in_channels, out_channels, stride, normalization))
            in_channels = out_channels
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_channels, NUM_CLASSES)]
    model = nn.Sequential(*layers)
    glorot_init(model)
    return model


def resnet8(normalization: str = "none", width: float = 1.0) -> nn.Sequential:
    return cifar_resnet(RESNET_DEPTHS["resnet8"], normalization, width)


def resnet20(normalization: str = "none", width: float = 1.0) -> nn.Sequential:
    return cifar_resnet(RESNET_DEPTHS["resnet20"], normalization, width)


# The image networks' constructors, keyed by their names in bnopt.catalog.MODELS (not
# imported, as NORM_LAYERS; tests/unit/test_catalog.py checks they agree).
ARCHITECTURES = {"vgg_a": vgg_a, "resnet8": resnet8, "resnet20": resnet20}


def build_model(model: str, normalization: str, width: float) -> nn.Module:
    """One of ARCHITECTURES by name (bnopt.catalog's image models)."""
    if model not in ARCHITECTURES:
        raise ValueError(f"unknown model {model!r}; one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[model](normalization, width)
