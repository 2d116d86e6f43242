"""Gradient concentration in the Hessian's top eigenspace (bnopt.probes.gradient_concentration;
Ghorbani, Krishnan & Xiao 2019) against a dense eigendecomposition, in batch and population
statistics."""

import pytest
import torch
from torch import nn

from bnopt import probes


def tiny_problem(seed: int = 1):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))
    model = model.double()
    x, y = torch.randn(12, 3, dtype=torch.float64), torch.randint(0, 2, (12,))
    model(x)  # running statistics that differ from this batch's
    return model, x, y


def dense(model, x, y, population: bool):
    """The exact Hessian and gradient of the loss, in train or eval mode."""
    params = list(model.parameters())
    shapes = [p.shape for p in params]
    names = [name for name, _ in model.named_parameters()]
    flat = torch.cat([p.detach().flatten() for p in params])
    model.train(not population)

    def loss_of(vector):
        chunks = list(torch.split(vector, [s.numel() for s in shapes]))
        weights = {n: c.view(s) for n, c, s in zip(names, chunks, shapes, strict=True)}
        buffers = {n: b.clone() for n, b in model.named_buffers()}  # never moved
        out = torch.func.functional_call(model, {**weights, **buffers}, (x,))
        return nn.functional.cross_entropy(out, y)

    hessian = torch.autograd.functional.hessian(loss_of, flat)
    gradient = torch.autograd.functional.jacobian(loss_of, flat)
    model.train()
    return hessian, gradient


@pytest.mark.parametrize("population", [False, True])
@pytest.mark.parametrize("k", [1, 3, 10])
def test_the_share_matches_a_dense_eigendecomposition(population, k):
    model, x, y = tiny_problem()
    hessian, g = dense(model, x, y, population)
    values, vectors = torch.linalg.eigh(hessian)
    exact = float(((vectors[:, -k:].T @ g) ** 2).sum() / (g @ g))
    size = hessian.shape[0]
    result = probes.gradient_concentration(
        model, nn.functional.cross_entropy, x, y, k=k, iterations=size, population=population
    )
    assert result.share == pytest.approx(exact, abs=1e-8)
    assert result.top == pytest.approx(values[-k:].flip(0).tolist(), abs=1e-8)
    assert 0 <= result.share <= 1 + 1e-12


def test_batch_and_population_statistics_give_different_hessians_and_the_state_is_kept():
    model, x, y = tiny_problem()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train = probes.gradient_concentration(model, nn.functional.cross_entropy, x, y, k=3,
                                          iterations=40)  # fmt: skip
    population = probes.gradient_concentration(model, nn.functional.cross_entropy, x, y, k=3,
                                               iterations=40, population=True)  # fmt: skip
    assert train.top[0] != pytest.approx(population.top[0], rel=1e-3)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.training


def test_a_few_iterations_estimate_an_isolated_outliers_share():
    """A quadratic with one outlier eigenvalue: 8 Lanczos steps find it and g's share in it."""
    dim = 50
    torch.manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, dtype=torch.float64))
    eigenvalues = torch.cat([torch.tensor([100.0]), torch.linspace(0.1, 1.0, dim - 1)]).double()
    h = q @ torch.diag(eigenvalues) @ q.T
    w = torch.randn(dim, dtype=torch.float64)

    class Quadratic(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(w.clone())

        def forward(self, _):
            return 0.5 * self.w @ h @ self.w

    model = Quadratic()
    g = h @ w
    exact = float((q[:, 0] @ g) ** 2 / (g @ g))
    result = probes.gradient_concentration(model, lambda out, _: out, None, None, k=1,
                                           iterations=8)  # fmt: skip
    assert result.top[0] == pytest.approx(100.0, rel=1e-8)
    assert result.share == pytest.approx(exact, rel=1e-6)
