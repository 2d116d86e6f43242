"""VGG-A and its normalisations against the protocol's numbers and formulas."""

import pytest
import torch
from torch import nn

from bnopt import models


def test_vgg_a_has_the_protocols_parameter_count():
    assert models.count_parameters(models.vgg_a("none", 1.0)) == 9_750_922


def test_width_multiplier_scales_channels():
    model = models.vgg_a("none", 0.125)
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 32, 32, 64, 64, 64, 64]
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("norm", models.NORMALIZATIONS)
def test_normalisation_sits_between_every_hidden_layer_and_its_relu(norm):
    model = list(models.vgg_a(norm, 0.0625))
    weights = [k for k, m in enumerate(model) if isinstance(m, nn.Conv2d | nn.Linear)]
    assert len(weights) == 11
    for k in weights[:-1]:
        expected = nn.ReLU if norm == "none" else nn.Module
        assert isinstance(model[k + 1], expected)
        if norm != "none":
            assert not isinstance(model[k + 1], nn.ReLU)
            assert isinstance(model[k + 2], nn.ReLU)
    assert weights[-1] == len(model) - 1  # logits: no normalisation, no ReLU


def test_glorot_initialisation_and_zero_biases():
    torch.manual_seed(0)
    model = models.vgg_a("batch", 0.25)
    for m in model:
        if isinstance(m, nn.Conv2d | nn.Linear):
            fan_in = m.weight[0].numel()
            fan_out = m.weight.shape[0] * m.weight[0, 0].numel()
            bound = (6 / (fan_in + fan_out)) ** 0.5
            assert m.weight.abs().max() <= bound
            assert m.weight.abs().max() > 0.9 * bound
            assert torch.all(m.bias == 0)
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
            assert m.momentum == 0.1 and m.eps == 1e-5


def test_batchnorm_normalises_each_channel_in_train_mode():
    bn = models.make_norm("batch", 3, 4)
    y = bn(torch.randn(16, 3, 5, 5) * 4 + 2)
    assert torch.allclose(y.mean((0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(y.var((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-3)


@pytest.mark.parametrize(
    ("p", "scale"),
    [
        ("l1", lambda y: y.abs().mean((0, 2, 3))),
        ("l2", lambda y: y.pow(2).mean((0, 2, 3)).sqrt()),
        ("linf", lambda y: y.abs().amax((0, 2, 3))),
    ],
)
def test_lp_normalisation_formula(p, scale):
    torch.manual_seed(0)
    norm = models.LpNorm(3, p)
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
        norm.bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
    y = torch.randn(6, 3, 4, 4) * 3 + 1
    shape = (1, 3, 1, 1)
    d = scale(y).view(shape)  # on the uncentred y
    expected = (y - y.mean((0, 2, 3)).view(shape)) / (d + norm.eps)
    expected = expected * norm.weight.view(shape) + norm.bias.view(shape)
    assert torch.allclose(norm(y), expected, atol=1e-6)
    flat = models.LpNorm(3, p)
    y2 = torch.randn(6, 3) * 2
    assert flat(y2).shape == (6, 3)


def test_noisy_batchnorm_draws_algorithm_1_noise_per_unit_and_per_sample():
    torch.manual_seed(0)
    noisy = models.NoisyBatchNorm(4, 4)
    y = torch.zeros(64, 4, 8, 8)
    mus, sigmas, m_spread, s_spread = [], [], [], []
    for _ in range(300):
        s, m = noisy.draw_noise(y)
        mu, sigma = m.mean((0, 2, 3)), s.mean((0, 2, 3))  # per-unit centres
        mus.append(mu)
        sigmas.append(sigma)
        m_spread.append(m - mu.view(1, 4, 1, 1))
        s_spread.append(s - sigma.view(1, 4, 1, 1))
    mus, sigmas = torch.cat(mus), torch.cat(sigmas)
    m_spread, s_spread = torch.cat(m_spread), torch.cat(s_spread)
    # mu_j ~ U(-0.5, 0.5): mean 0, variance 1/12; sigma_j ~ U(1, 1.25): mean 1.125.
    assert mus.abs().max() <= 0.5 + 0.01
    assert mus.mean().item() == pytest.approx(0.0, abs=0.03)
    assert mus.var().item() == pytest.approx(1 / 12, rel=0.1)
    assert sigmas.min() >= 1 - 0.01 and sigmas.max() <= 1.25 + 0.01
    assert sigmas.mean().item() == pytest.approx(1.125, abs=0.01)
    # m_ij ~ U(mu_j - 0.1, mu_j + 0.1) per sample and position: sd 0.1 / sqrt(3);
    # s_ij ~ N(sigma_j, 0.1). A per-channel shared affine would have no spread at all.
    assert m_spread.abs().max() <= 0.1 + 0.01  # around the estimated centre
    assert m_spread.std().item() == pytest.approx(0.1 / 3**0.5, rel=0.02)
    assert s_spread.std().item() == pytest.approx(0.1, rel=0.02)


def test_noisy_batchnorm_applies_noise_in_train_mode_only_and_without_gradient():
    torch.manual_seed(0)
    noisy = models.NoisyBatchNorm(3, 4)
    x = torch.randn(8, 3, 4, 4, requires_grad=True)
    out = noisy(x)
    s, m = noisy._noise
    assert not s.requires_grad and not m.requires_grad
    assert torch.allclose(out, noisy.bn(x) * s + m, atol=1e-6)
    noisy.eval()
    assert torch.equal(noisy(x), noisy.bn(x))


def test_flops_of_vgg_a_at_width_1():
    macs = (
        3 * 64 * 9 * 32**2
        + 64 * 128 * 9 * 16**2
        + 128 * 256 * 9 * 8**2
        + 256 * 256 * 9 * 8**2
        + 256 * 512 * 9 * 4**2
        + 512 * 512 * 9 * 4**2
        + 2 * 512 * 512 * 9 * 2**2
        + 2 * 512 * 512
        + 512 * 10
    )
    assert models.flops_per_image(models.vgg_a("none", 1.0)) == 2 * macs


@pytest.mark.parametrize(
    "normalization, groups", [("layer", {8: 1, 64: 1}), ("group", {8: 4, 64: 32})]
)
def test_per_sample_normalisation_formula(normalization, groups):
    """gamma * (y - mean) / sqrt(var + eps) + beta, statistics per sample and group of
    channels (all channels for layer), the same in train and eval mode, no batch coupling."""
    torch.manual_seed(0)
    for channels, count in groups.items():
        norm = models.make_norm(normalization, channels, 4)
        with torch.no_grad():
            norm.weight.uniform_(0.5, 2.0)
            norm.bias.uniform_(-1.0, 1.0)
        y = torch.randn(5, channels, 4, 4, dtype=torch.float64) * 3 + 1
        norm = norm.double()
        grouped = y.reshape(5, count, -1)
        mean = grouped.mean(-1, keepdim=True)
        var = grouped.var(-1, unbiased=False, keepdim=True)
        expected = ((grouped - mean) / torch.sqrt(var + norm.eps)).reshape_as(y)
        expected = expected * norm.weight.view(1, -1, 1, 1) + norm.bias.view(1, -1, 1, 1)
        torch.testing.assert_close(norm.train()(y), expected)
        torch.testing.assert_close(norm.eval()(y), expected)
        torch.testing.assert_close(norm(y[:1]), expected[:1])  # one sample alone: the same
    linear = models.make_norm(normalization, 64, 2).double()
    x = torch.randn(3, 64, dtype=torch.float64)
    rows = x.reshape(3, groups[64], -1)
    want = (
        (rows - rows.mean(-1, keepdim=True))
        / torch.sqrt(rows.var(-1, unbiased=False, keepdim=True) + 1e-5)
    ).reshape_as(x)
    torch.testing.assert_close(linear(x), want)


def test_per_sample_norms_join_each_weight_layer():
    model = models.vgg_a("group", 0.125)
    layers = models.weight_layers(model)
    assert len(layers) == 11
    assert all(len(layer.params) == 4 for layer in layers[:-1])  # weight, bias, gamma, beta
    assert isinstance(layers[0].output_module, torch.nn.GroupNorm)


def test_groups_hold_at_least_two_channels():
    assert [models.group_count(c) for c in (64, 512, 32, 16, 8, 10, 7, 2)] == [
        32,
        32,
        16,
        8,
        4,
        5,
        1,
        1,
    ]


def test_the_config_checks_know_how_many_weight_layers_each_network_has():
    from bnopt.runs import MODELS, WEIGHT_LAYERS

    assert set(WEIGHT_LAYERS) == set(MODELS) - {"dln"}
    for name, count in WEIGHT_LAYERS.items():
        assert len(models.weight_layers(models.build_model(name, "batch", 0.25))) == count
