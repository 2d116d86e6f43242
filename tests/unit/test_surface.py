"""The 2-D loss surface (Li et al. 2018): filter-normalised directions, the grid of losses
against direct evaluations, and the model left as it was."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from bnopt.models import vgg_a
from bnopt.surface import filter_normalized_direction, loss_surface


def test_directions_are_filter_normalised_and_skip_biases_and_norm_parameters():
    torch.manual_seed(0)
    model = vgg_a("batch", 0.125)
    direction = filter_normalized_direction(model, torch.Generator().manual_seed(1))
    params = [p for p in model.parameters() if p.requires_grad]
    assert len(direction) == len(params)
    for p, d in zip(params, direction, strict=True):
        if p.dim() <= 1:
            assert not d.any()
        else:
            torch.testing.assert_close(d.flatten(1).norm(dim=1), p.detach().flatten(1).norm(dim=1))
            assert not torch.allclose(d, p)
    again = filter_normalized_direction(model, torch.Generator().manual_seed(1))
    assert all(torch.equal(a, b) for a, b in zip(direction, again, strict=True))


def test_the_surface_is_the_loss_at_each_grid_point_and_the_model_is_restored():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    test = [
        (torch.randn(10, 4), torch.randint(0, 3, (10,))),
        (torch.randn(5, 4), torch.arange(5) % 3),
    ]
    model.eval()
    before = copy.deepcopy(model.state_dict())
    loss_fn = nn.functional.cross_entropy
    rows = loss_surface(model, loss_fn, (x, y), test, points=3, span=0.5, seed=2)
    assert len(rows) == 2 * 9
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert not model.training
    generator = torch.Generator().manual_seed(2)
    d1 = filter_normalized_direction(model, generator)
    d2 = filter_normalized_direction(model, generator)
    table = {(mode, a, b): loss for mode, a, b, loss in rows}
    for a, b in ((0.0, 0.0), (-0.5, 0.5), (0.5, 0.0)):
        twin = copy.deepcopy(model)
        with torch.no_grad():
            for p, u, v in zip(twin.parameters(), d1, d2, strict=True):
                p += a * u + b * v
        twin.train()
        with torch.no_grad():
            train_loss = loss_fn(twin(x), y).item()
        twin.load_state_dict(
            {
                **twin.state_dict(),
                **{k: v for k, v in before.items() if "running" in k or "batches" in k},
            }
        )
        twin.eval()
        with torch.no_grad():
            test_loss = sum(loss_fn(twin(tx), ty).item() * len(ty) for tx, ty in test) / 15
        assert table[("train_batch", a, b)] == pytest.approx(train_loss, rel=1e-6)
        assert table[("eval_test", a, b)] == pytest.approx(test_loss, rel=1e-6)
    grid = sorted({a for _, a, _ in table})
    np.testing.assert_allclose(grid, [-0.5, 0.0, 0.5])
