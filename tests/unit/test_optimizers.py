"""bnopt.optimizers against torch.optim: SGD bitwise, Adam to float rounding, `update`
without side effects, state through a checkpoint round trip."""

import copy

import pytest
import torch
from torch import nn

from bnopt.optimizers import Optimizer, OptimizerSettings


def model_and_batches(seed=0, steps=6):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    batches = [(torch.randn(8, 5), torch.randint(0, 3, (8,))) for _ in range(steps)]
    return model, batches


def train(model, opt, batches):
    for x, y in batches:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return [p.detach().clone() for p in model.parameters()]


def reference(name, model, s: OptimizerSettings):
    if name == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=s.lr,
            momentum=s.momentum,
            weight_decay=s.weight_decay,
            foreach=True,
        )
    return torch.optim.Adam(
        model.parameters(),
        lr=s.lr,
        betas=(s.beta1, s.beta2),
        eps=s.eps,
        weight_decay=s.weight_decay,
        foreach=True,
    )


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("weight_decay", [0.0, 5e-4])
def test_sgd_is_torch_sgd_bitwise(momentum, weight_decay):
    settings = OptimizerSettings("sgd", lr=0.1, momentum=momentum, weight_decay=weight_decay)
    ours, batches = model_and_batches()
    theirs = copy.deepcopy(ours)
    got = train(ours, Optimizer(ours.parameters(), settings), batches)
    want = train(theirs, reference("sgd", theirs, settings), batches)
    for a, b in zip(got, want, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_adam_is_torch_adam(weight_decay):
    settings = OptimizerSettings("adam", lr=1e-2, weight_decay=weight_decay)
    ours, batches = model_and_batches()
    theirs = copy.deepcopy(ours)
    got = train(ours, Optimizer(ours.parameters(), settings), batches)
    want = train(theirs, reference("adam", theirs, settings), batches)
    moved = max(
        float((a - p.detach()).abs().max())
        for a, p in zip(got, model_and_batches()[0].parameters(), strict=True)
    )
    assert moved > 1e-2  # the test is not vacuous: Adam moved the weights
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_adam_first_step_is_lr_times_sign():
    """At t = 1, m_hat = g and v_hat = g^2: the step is lr * g / (|g| + eps)."""
    w = nn.Parameter(torch.tensor([0.5, -2.0, 3.0]))
    opt = Optimizer([w], OptimizerSettings("adam", lr=0.01, eps=0.0))
    w.grad = torch.tensor([4.0, -0.5, 1e-3])
    opt.step()
    torch.testing.assert_close(w.detach(), torch.tensor([0.49, -1.99, 2.99]))


@pytest.mark.parametrize(
    "settings",
    [
        OptimizerSettings("sgd", lr=0.1),
        OptimizerSettings("sgd", lr=0.1, momentum=0.9, weight_decay=1e-3),
        OptimizerSettings("adam", lr=1e-3),
    ],
    ids=["sgd", "momentum", "adam"],
)
def test_update_is_the_next_step_and_changes_nothing(settings):
    model, batches = model_and_batches()
    opt = Optimizer(model.parameters(), settings)
    train(model, opt, batches[:3])  # some state to carry
    x, y = batches[3]
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    before = [p.detach().clone() for p in model.parameters()]
    state = copy.deepcopy(opt.state_dict())
    update = opt.update()
    assert [torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True)] == [
        True
    ] * 4
    assert opt.steps == state["steps"]
    for k, v in state["buffers"].items():
        assert all(torch.equal(a, b) for a, b in zip(v, opt.buffers[k], strict=True))
    opt.step()
    for p, w, u in zip(model.parameters(), before, update, strict=True):
        # p - w is rounded at the weights' scale (float32 eps x |w| ~ 1e-7)
        torch.testing.assert_close(p.detach() - w, u, rtol=1e-5, atol=1e-7)


def test_sgd_update_by_hand():
    w = nn.Parameter(torch.tensor([1.0, 2.0]))
    opt = Optimizer([w], OptimizerSettings("sgd", lr=0.5, momentum=0.9, weight_decay=0.1))
    w.grad = torch.tensor([1.0, -1.0])
    opt.step()  # d = g + 0.1 w = [1.1, -0.8]; b = d; w = w - 0.5 b
    torch.testing.assert_close(w.detach(), torch.tensor([0.45, 2.4]))
    w.grad = torch.tensor([0.0, 0.0])  # d = 0.1 w = [0.045, 0.24]; b = 0.9 b + d
    torch.testing.assert_close(opt.update()[0], -0.5 * torch.tensor([1.035, -0.48]))


def test_state_round_trip_continues_identically(tmp_path):
    settings = OptimizerSettings("adam", lr=1e-2)
    model, batches = model_and_batches()
    opt = Optimizer(model.parameters(), settings)
    train(model, opt, batches[:3])
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "c.pt")
    want = train(model, opt, batches[3:])
    restored, _ = model_and_batches()
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    restored.load_state_dict(state["model"])
    opt2 = Optimizer(restored.parameters(), settings)
    opt2.load_state_dict(state["opt"])
    for a, b in zip(train(restored, opt2, batches[3:]), want, strict=True):
        assert torch.equal(a, b)


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        OptimizerSettings("rmsprop")
