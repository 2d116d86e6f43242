"""The probes against analytic cases, and one regression test per pitfall of protocol §8."""

import copy

import pytest
import torch
from torch import nn

from bnopt import probes
from bnopt.models import vgg_a, weight_layers


@pytest.fixture(autouse=True)
def float64():
    """Analytic comparisons in double precision; restored for the other test modules."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


class Quadratic(nn.Module):
    """The model's output is its parameter; the loss 0.5 w^T H w makes everything closed form."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward(self, inputs):
        return self.w


def quadratic_setup(seed=0, n=6):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=gen)
    h = a @ a.T + 0.1 * torch.eye(n)
    w = torch.randn(n, generator=gen)

    def loss_fn(out, targets):
        return 0.5 * out @ h @ out

    return Quadratic(w), loss_fn, h, w


def test_landscape_on_a_quadratic_matches_closed_forms():
    model, loss_fn, h, w = quadratic_setup()
    etas = [0.01, 0.05, 0.2]
    result = probes.landscape_probe(model, loss_fn, None, None, etas)
    g = h @ w
    hg = torch.linalg.vector_norm(h @ g).item()
    assert result.grad_norm == pytest.approx(torch.linalg.vector_norm(g).item())
    for eta, loss, diff, ratio in zip(
        etas, result.losses, result.grad_diffs, result.beta_ratios, strict=True
    ):
        w_eta = w - eta * g
        assert loss == pytest.approx((0.5 * w_eta @ h @ w_eta).item(), rel=1e-12)
        assert diff == pytest.approx(eta * hg, rel=1e-10)
        assert ratio == pytest.approx(hg / result.grad_norm, rel=1e-10)
    assert result.effective_beta == pytest.approx(hg / result.grad_norm, rel=1e-10)
    assert result.loss_range == (min(result.losses), max(result.losses))
    assert torch.equal(model.w.detach(), w)


def test_landscape_along_another_direction_matches_closed_forms_and_minus_g_is_the_default():
    model, loss_fn, h, w = quadratic_setup(seed=3)
    g = h @ w
    d = torch.randn(w.shape, generator=torch.Generator().manual_seed(7))
    etas = [0.01, 0.1]
    result = probes.landscape_probe(model, loss_fn, None, None, etas, direction=[d])
    hd = torch.linalg.vector_norm(h @ d).item()
    for eta, loss, diff, ratio in zip(
        etas, result.losses, result.grad_diffs, result.beta_ratios, strict=True
    ):
        w_eta = w + eta * d
        assert loss == pytest.approx((0.5 * w_eta @ h @ w_eta).item(), rel=1e-12)
        assert diff == pytest.approx(eta * hd, rel=1e-10)  # grad(w + eta d) - g = eta H d
        assert ratio == pytest.approx(hd / torch.linalg.vector_norm(d).item(), rel=1e-10)
    assert result.grad_norm == pytest.approx(torch.linalg.vector_norm(g).item())
    assert torch.equal(model.w.detach(), w)
    default = probes.landscape_probe(model, loss_fn, None, None, etas)
    along_minus_g = probes.landscape_probe(model, loss_fn, None, None, etas, direction=[-g])
    assert along_minus_g.losses == pytest.approx(default.losses, rel=1e-12)
    assert along_minus_g.grad_diffs == pytest.approx(default.grad_diffs, rel=1e-10)


def test_beta_is_divided_by_the_eta_that_produced_it_not_by_the_lr():
    # Pitfall 5: with the training lr in the denominator the ratio would grow with eta.
    model, loss_fn, h, w = quadratic_setup(seed=1)
    result = probes.landscape_probe(model, loss_fn, None, None, [0.001, 0.01, 0.1])
    assert max(result.beta_ratios) == pytest.approx(min(result.beta_ratios), rel=1e-9)


def test_each_eta_starts_from_the_saved_point_and_gradients_do_not_accumulate():
    # Pitfalls 3 and 4: the value at an eta does not depend on which etas came before it.
    model, loss_fn, _, _ = quadratic_setup(seed=2)
    together = probes.landscape_probe(model, loss_fn, None, None, [0.3, 0.1, 0.2])
    for k, eta in enumerate([0.3, 0.1, 0.2]):
        alone = probes.landscape_probe(model, loss_fn, None, None, [eta])
        assert together.losses[k] == alone.losses[0]
        assert together.grad_diffs[k] == alone.grad_diffs[0]


def small_bn_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(),
        nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU(),
        nn.Linear(8, 3),
    )  # fmt: skip


def batch(seed=0, n=16):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 5, generator=gen), torch.randint(0, 3, (n,), generator=gen)


def oracle_landscape(model, x, y, eta):
    """By hand: a deep copy in train mode, a fresh gradient, one step, one more gradient."""
    twin = copy.deepcopy(model).train()
    params = list(twin.parameters())
    g = torch.autograd.grad(nn.functional.cross_entropy(twin(x), y), params)
    with torch.no_grad():
        for p, gp in zip(params, g, strict=True):
            p -= eta * gp
    loss = nn.functional.cross_entropy(twin(x), y)
    g2 = torch.autograd.grad(loss, params)
    diff = torch.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(g2, g, strict=True)))
    return loss.item(), diff.item()


def test_probing_in_eval_mode_still_measures_the_train_mode_landscape():
    # Pitfall 1: BN must use batch statistics during probes; the mode is restored afterwards.
    model = small_bn_net()
    x, y = batch()
    model.train()
    model(x)  # move the running statistics away from their initial values
    model.eval()
    result = probes.landscape_probe(model, nn.functional.cross_entropy, x, y, [0.1])
    loss, diff = oracle_landscape(model, x, y, 0.1)
    assert result.losses[0] == pytest.approx(loss, rel=1e-10)
    assert result.grad_diffs[0] == pytest.approx(diff, rel=1e-10)
    assert not model.training


def test_probes_leave_running_statistics_parameters_and_training_gradient_untouched():
    # Pitfalls 2 and 7: the probes' forward passes must not move BN buffers, and the
    # optimiser must find the training gradient, not the last probe point's.
    model = small_bn_net()
    x, y = batch()
    nn.functional.cross_entropy(model(x), y).backward()
    before_buffers = [b.clone() for b in model.buffers()]
    before_params = [p.detach().clone() for p in model.parameters()]
    before_grads = [p.grad.clone() for p in model.parameters()]
    rng = torch.get_rng_state()
    grad = [p.grad for p in model.parameters()]
    probes.landscape_probe(model, nn.functional.cross_entropy, x, y, [0.1, 0.4], grad=grad)
    probes.ics_probe(model, nn.functional.cross_entropy, x, y, 0.1, [2, 3], grad=grad)
    for a, b in zip(before_buffers, model.buffers(), strict=True):
        assert torch.equal(a, b)
    for a, p in zip(before_params, model.parameters(), strict=True):
        assert torch.equal(a, p)
    for a, p in zip(before_grads, model.parameters(), strict=True):
        assert torch.equal(a, p.grad)
    assert torch.equal(rng, torch.get_rng_state())


def test_the_gradient_is_taken_on_the_probed_batch():
    # Pitfall 6: with g from another batch, ||grad L(w - eta g) - g|| would not vanish as
    # eta -> 0.
    model = small_bn_net()
    x, y = batch()
    tiny = probes.landscape_probe(model, nn.functional.cross_entropy, x, y, [1e-9])
    assert tiny.grad_diffs[0] < 1e-6 * tiny.grad_norm
    x2, y2 = batch(seed=5)
    other = [
        g.clone()
        for g in torch.autograd.grad(
            nn.functional.cross_entropy(model(x2), y2), list(model.parameters())
        )
    ]
    wrong = probes.landscape_probe(model, nn.functional.cross_entropy, x, y, [1e-9], grad=other)
    assert wrong.grad_diffs[0] > 1e-2 * wrong.grad_norm


def test_ics_on_a_linear_network_matches_the_gradient_computed_by_hand():
    torch.manual_seed(0)
    w1, w2, w3 = torch.randn(4, 3), torch.randn(2, 4), torch.randn(1, 2)
    model = nn.Sequential(
        nn.Linear(3, 4, bias=False), nn.Linear(4, 2, bias=False), nn.Linear(2, 1, bias=False)
    )
    with torch.no_grad():
        for layer, w in zip(model, (w1, w2, w3), strict=True):
            layer.weight.copy_(w)
    x, t = torch.randn(7, 3), torch.randn(7, 1)

    def loss_fn(out, targets):
        return 0.5 * ((out - targets) ** 2).sum()

    lr = 0.01
    # f = W3 W2 W1 x; with r = f - t, dL/dW1 = (W3 W2)^T r x^T, dL/dW2 = W3^T r (W1 x)^T.
    r = (w3 @ w2 @ w1 @ x.T) - t.T
    g1 = (w3 @ w2).T @ r @ x
    g2 = w3.T @ r @ (w1 @ x.T).T
    g3 = r @ (w2 @ w1 @ x.T).T
    w1_new, w2_new = w1 - lr * g1, w2 - lr * g2
    r2 = (w3 @ w2 @ w1_new @ x.T) - t.T
    g2_shift = w3.T @ r2 @ (w1_new @ x.T).T
    r3 = (w3 @ w2_new @ w1_new @ x.T) - t.T
    g3_shift = r3 @ (w2_new @ w1_new @ x.T).T

    result = probes.ics_probe(model, loss_fn, x, t, lr, [1, 2, 3])
    assert [r.layer for r in result] == [1, 2, 3]
    # Pitfall 8: layer 1 has no preceding layer, so G' = G exactly (it must not move itself).
    assert result[0].l2 == 0.0 and result[0].cosine == pytest.approx(1.0)
    assert result[1].l2 == pytest.approx(torch.linalg.norm(g2 - g2_shift).item(), rel=1e-10)
    cos = nn.functional.cosine_similarity(g2.flatten(), g2_shift.flatten(), dim=0).item()
    assert result[1].cosine == pytest.approx(cos, rel=1e-10)
    assert result[2].l2 == pytest.approx(torch.linalg.norm(g3 - g3_shift).item(), rel=1e-10)


def test_ics_moves_biases_and_normalisation_parameters_of_the_preceding_layers():
    # Pitfall 8: the shadow network must update every parameter before layer i.
    model = small_bn_net()
    x, y = batch()
    with torch.no_grad():  # make gamma/beta matter
        model[1].weight.uniform_(0.5, 1.5)
        model[1].bias.uniform_(-0.5, 0.5)
    lr = 0.5
    twin = copy.deepcopy(model)
    params = list(twin.parameters())
    g = torch.autograd.grad(nn.functional.cross_entropy(twin(x), y), params)
    with torch.no_grad():
        for p, gp in zip(params[:4], g[:4], strict=True):  # Linear1 w, b, BN1 gamma, beta
            p -= lr * gp
    (g_shift,) = torch.autograd.grad(nn.functional.cross_entropy(twin(x), y), [twin[3].weight])
    expected = torch.linalg.norm(g[4] - g_shift).item()
    (result,) = probes.ics_probe(model, nn.functional.cross_entropy, x, y, lr, [2])
    assert result.l2 == pytest.approx(expected, rel=1e-10)


def test_vgg_layer_groups_carry_their_normalisation_parameters():
    layers = weight_layers(vgg_a("batch", 0.125))
    assert len(layers) == 11
    assert all(len(layer.params) == 4 for layer in layers[:10])
    assert len(layers[10].params) == 2
    assert isinstance(layers[4].output_module, nn.BatchNorm2d)


def test_noisy_batchnorm_probes_reuse_the_training_steps_noise():
    torch.manual_seed(0)
    model = vgg_a("noisy_batch", 0.0625)  # float64 (this module's default dtype)
    x = torch.randn(8, 3, 32, 32)
    y = torch.randint(0, 10, (8,))
    loss = nn.functional.cross_entropy(model(x), y)
    grad = torch.autograd.grad(loss, list(model.parameters()))
    # With the training noise replayed, eta -> 0 gives back g exactly up to rounding; fresh
    # noise would change the gradient by O(1).
    tiny = probes.landscape_probe(model, nn.functional.cross_entropy, x, y, [1e-9, 1e-8], grad=grad)
    # Replayed noise: the change of gradient is linear in eta (fresh noise: constant, O(||g||)).
    assert tiny.grad_diffs[0] == pytest.approx(0.1 * tiny.grad_diffs[1], rel=1e-3)
    assert tiny.grad_diffs[1] < 1e-3 * tiny.grad_norm
    first_order = loss.item() - 1e-9 * tiny.grad_norm**2
    assert tiny.losses[0] == pytest.approx(first_order, rel=1e-8)


def test_activation_recorder_samples_a_fixed_channel_without_touching_the_global_rng():
    torch.manual_seed(0)
    model = vgg_a("batch", 0.125).float()
    recorder = probes.ActivationRecorder(model, [2, 9], samples=10, seed=3)
    seen = {}
    layer2 = weight_layers(model)[1]
    layer2.output_module.register_forward_hook(
        lambda m, a, out: seen.update(out=out.detach().clone())
    )
    x = torch.randn(4, 3, 32, 32, dtype=torch.float32)
    model(x)
    assert recorder.take() == []
    recorder.active = True
    rng = torch.get_rng_state()
    model(x)
    records = recorder.take()
    assert torch.equal(rng, torch.get_rng_state())
    assert [r["layer"] for r in records] == [2, 9]
    channel = seen["out"][:, recorder.channels[2]]
    assert records[0]["mean"] == pytest.approx(channel.mean().item(), abs=1e-6)
    assert records[0]["var"] == pytest.approx(channel.var(unbiased=False).item(), rel=1e-5)
    assert set(records[0]["samples"]) <= set(channel.flatten().tolist())
    assert len(records[0]["samples"]) == 10
    assert len(records[1]["samples"]) == 4  # a Linear layer's channel has one value per sample
    assert recorder.channels == probes.ActivationRecorder(model, [2, 9], 10, 3).channels


# Saturation and curvature (issue: verdicts a researcher can trust)


def test_landscape_records_the_new_gradient_and_its_angle_in_closed_form():
    model, loss_fn, h, w = quadratic_setup(seed=3)
    etas = [0.01, 0.1, 1.0]
    result = probes.landscape_probe(model, loss_fn, None, None, etas)
    g = h @ w
    for eta, norm, cosine in zip(
        etas, result.step_grad_norms, result.step_grad_cosines, strict=True
    ):
        new = g - eta * h @ g  # the gradient of 0.5 w^T H w at w - eta g
        assert norm == pytest.approx(torch.linalg.vector_norm(new).item(), rel=1e-10)
        expected = (g @ new / (torch.linalg.vector_norm(g) * torch.linalg.vector_norm(new))).item()
        assert cosine == pytest.approx(expected, rel=1e-10)
    # ||delta g|| = eta ||Hg||: the gradient has changed as much as it measures once
    # eta >= ||g|| / ||Hg||, and only then.
    threshold = (torch.linalg.vector_norm(g) / torch.linalg.vector_norm(h @ g)).item()
    assert result.overshot == [eta >= threshold for eta in etas]
    assert any(result.overshot) and not all(result.overshot)


def test_ics_records_both_gradient_norms_and_the_relative_change():
    model = small_bn_net()
    x, y = batch()
    (r,) = probes.ics_probe(model, nn.functional.cross_entropy, x, y, 0.1, [3])
    layers = weight_layers(model)
    g = torch.autograd.grad(nn.functional.cross_entropy(model(x), y), [layers[2].weight])[0]
    assert r.grad_norm == pytest.approx(torch.linalg.vector_norm(g).item(), rel=1e-12)
    assert r.shifted_grad_norm > 0 and r.relative == pytest.approx(r.l2 / r.grad_norm)


def spectrum_quadratic(eigenvalues, seed=0):
    """0.5 w^T H w with H = Q diag(eigenvalues) Q^T for a random rotation Q."""
    n = len(eigenvalues)
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen))
    h = q @ torch.diag(torch.tensor(eigenvalues)) @ q.T
    w = torch.randn(n, generator=gen)
    return Quadratic(w), (lambda out, targets: 0.5 * out @ h @ out), h, w


@pytest.mark.parametrize(
    "eigenvalues",
    [[5.0, 3.0, 1.0, 0.5, 0.1, 0.01], [2.0, -7.0, 1.0, 0.3, 0.2, 0.1], [1e3, 1.0, 1e-3, 0.0]],
    ids=["positive", "a larger negative one", "spread over decades"],
)
def test_curvature_on_quadratics_with_known_spectra(eigenvalues):
    model, loss_fn, h, w = spectrum_quadratic(eigenvalues)
    result = probes.curvature_probe(model, loss_fn, None, None, max_iterations=20, tolerance=0)
    g = h @ w
    assert result.directional == pytest.approx((g @ h @ g / (g @ g)).item(), rel=1e-10)
    # The top algebraic eigenvalue (not the largest in size), exact once the Krylov space
    # is the whole space; never below the Rayleigh quotient of the starting vector g.
    assert result.lambda_max == pytest.approx(max(eigenvalues), rel=1e-8)
    # g = H w has no component along a null direction, so Lanczos from g cannot see one.
    reachable = [e for e in eigenvalues if e != 0]
    assert result.lambda_min == pytest.approx(min(reachable), rel=1e-8)
    assert result.lambda_max >= result.directional >= result.lambda_min
    assert result.converged and result.iterations <= len(eigenvalues)
    assert torch.equal(model.w.detach(), w)


def test_curvature_matches_the_dense_hessian_of_a_tiny_network():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))
    x, y = torch.randn(12, 3), torch.randint(0, 2, (12,))
    params = list(model.parameters())
    shapes = [p.shape for p in params]
    flat = torch.cat([p.detach().flatten() for p in params])

    def loss_of(vector):
        chunks, start = [], 0
        for shape in shapes:
            size = shape.numel()
            chunks.append(vector[start : start + size].view(shape))
            start += size
        names = [name for name, _ in model.named_parameters()]
        out = torch.func.functional_call(model, dict(zip(names, chunks, strict=True)), (x,))
        return nn.functional.cross_entropy(out, y)

    dense = torch.autograd.functional.hessian(loss_of, flat)
    top = torch.linalg.eigvalsh(dense).max().item()
    result = probes.curvature_probe(
        model, nn.functional.cross_entropy, x, y, max_iterations=flat.numel(), tolerance=1e-12
    )
    assert result.lambda_max == pytest.approx(top, rel=1e-6)
    point = flat.clone().requires_grad_()
    (grad,) = torch.autograd.grad(loss_of(point), point)
    assert result.directional == pytest.approx(
        (grad @ dense @ grad / (grad @ grad)).item(), rel=1e-8
    )


def test_the_curvature_probe_leaves_the_model_and_its_gradient_untouched():
    model = small_bn_net()
    x, y = batch()
    nn.functional.cross_entropy(model(x), y).backward()
    before = [t.clone() for t in (*model.parameters(), *model.buffers())]
    grads = [p.grad.clone() for p in model.parameters()]
    rng = torch.get_rng_state()
    probes.curvature_probe(model, nn.functional.cross_entropy, x, y, max_iterations=5)
    after = [*model.parameters(), *model.buffers()]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert all(torch.equal(a, p.grad) for a, p in zip(grads, model.parameters(), strict=True))
    assert torch.equal(rng, torch.get_rng_state())


# Beyond the paper: the ICS probe with the update another optimiser really makes


def linear_net_and_batch():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2), nn.Linear(2, 1))
    x, t = torch.randn(7, 3), torch.randn(7, 1)

    def loss_fn(out, targets):
        return 0.5 * ((out - targets) ** 2).sum()

    return model, loss_fn, x, t


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_ics_with_the_optimisers_update_matches_a_hand_computation(name):
    """G' after layers 1 and 2 took the update this optimiser makes at its third step,
    the update written out by hand from the optimiser's formulas and its state."""
    from bnopt.optimizers import Optimizer, OptimizerSettings

    model, loss_fn, x, t = linear_net_and_batch()
    lr, wd = 0.01, 1e-3
    if name == "momentum":
        settings = OptimizerSettings("sgd", lr=lr, momentum=0.9, weight_decay=wd)
    else:
        settings = OptimizerSettings("adam", lr=lr, weight_decay=wd)
    opt = Optimizer(model.parameters(), settings)
    grads_seen = []
    for step in range(3):
        opt.zero_grad()
        loss_fn(model(x + 0.1 * step), t).backward()
        grads_seen.append([p.grad.clone() + wd * p.detach() for p in model.parameters()])
        if step < 2:
            opt.step()
    params = [p.detach().clone() for p in model.parameters()]
    # By hand: the direction of step 3 from the gradients (with weight decay) of steps 1-3.
    if name == "momentum":
        expected = [-lr * (0.81 * a + 0.9 * b + c) for a, b, c in zip(*grads_seen, strict=True)]
    else:
        expected = []
        for a, b, c in zip(*grads_seen, strict=True):
            m = 0.1 * (0.81 * a + 0.9 * b + c)
            v = 0.001 * (0.999**2 * a**2 + 0.999 * b**2 + c**2)
            m_hat, v_hat = m / (1 - 0.9**3), v / (1 - 0.999**3)
            expected.append(-lr * m_hat / (v_hat.sqrt() + 1e-8))
    update = opt.update()
    for got, want in zip(update, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)
    (plain,) = probes.ics_probe(model, loss_fn, x + 0.2, t, lr, [3])
    (result,) = probes.ics_probe(model, loss_fn, x + 0.2, t, lr, [3], update=update)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for p, w, u in list(zip(twin.parameters(), params, expected, strict=True))[:4]:
            p.copy_(w + u)  # layers 1 and 2 (weights and biases) moved, layer 3 not
    (g_shift,) = torch.autograd.grad(loss_fn(twin(x + 0.2), t), [twin[2].weight])
    g_here = model[2].weight.grad  # the step's own gradient, held by the model
    assert result.l2 == pytest.approx(torch.linalg.norm(g_here - g_shift).item(), rel=1e-9)
    assert result.l2 != pytest.approx(plain.l2, rel=1e-3)  # not plain SGD's -lr * G
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), params, strict=True))


# Beyond the paper: ResNet-20


def test_resnet20_has_he_et_al_s_parameter_count_and_numbered_layers():
    from bnopt.models import count_parameters, resnet20

    conv = 3 * 16 * 9 + 6 * 16 * 16 * 9 + (16 * 32 + 5 * 32 * 32) * 9 + (32 * 64 + 5 * 64 * 64) * 9
    channels = 16 + 6 * 16 + 6 * 32 + 6 * 64  # one bias (and one gamma, beta) per channel
    assert count_parameters(resnet20("none")) == conv + channels + 64 * 10 + 10
    assert count_parameters(resnet20("batch")) == conv + 3 * channels + 64 * 10 + 10 == 270_410
    model = resnet20("batch", 0.5)
    layers = weight_layers(model)
    assert len(layers) == 20  # 6n + 2, n = 3
    assert all(len(layer.params) == 4 for layer in layers[:19]) and len(layers[19].params) == 2
    order = []
    hooks = []
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    for k, m in enumerate(convs):
        hooks.append(m.register_forward_hook(lambda mod, i, o, k=k: order.append(k)))
    model(torch.randn(2, 3, 32, 32))
    assert order == list(range(20))  # numbered in the order they run
    assert [layer.weight for layer in layers] == [m.weight for m in convs]
    for hook in hooks:
        hook.remove()


def test_resnet8_is_the_family_s_smallest_member_with_its_parameter_count_and_layers():
    from bnopt.models import build_model, cifar_resnet, count_parameters, resnet8

    # n = 1: one block per stage; the first of stages 2 and 3 changes the channels.
    conv = 3 * 16 * 9 + 2 * 16 * 16 * 9 + (16 * 32 + 32 * 32) * 9 + (32 * 64 + 64 * 64) * 9
    channels = 16 + 2 * 16 + 2 * 32 + 2 * 64
    assert count_parameters(resnet8("none")) == conv + channels + 64 * 10 + 10
    assert count_parameters(resnet8("group")) == conv + 3 * channels + 64 * 10 + 10 == 75_530
    model = build_model("resnet8", "batch", 0.5)
    layers = weight_layers(model)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert len(layers) == 8 and [layer.weight for layer in layers] == [m.weight for m in convs]
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    for depth in (6, 12):
        with pytest.raises(ValueError, match="6n"):
            cifar_resnet(depth)


def test_probes_on_resnet20_agree_with_direct_computations():
    from bnopt.models import resnet20

    torch.manual_seed(0)
    model = resnet20("batch", 0.25)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    loss_fn = nn.functional.cross_entropy
    lr = 0.1
    land = probes.landscape_probe(model, loss_fn, x, y, [lr])
    twin = copy.deepcopy(model)
    params = list(twin.parameters())
    g = torch.autograd.grad(loss_fn(twin(x), y), params)
    with torch.no_grad():
        for p, gp in zip(params, g, strict=True):
            p -= lr * gp
    assert land.losses[0] == pytest.approx(loss_fn(twin(x), y).item(), rel=1e-10)
    # ICS of layer 8 (a block's first conv): layers 1-7 took -lr G, the rest stayed.
    layers = weight_layers(model)
    twin = copy.deepcopy(model)
    twin_layers = weight_layers(twin)
    g = torch.autograd.grad(loss_fn(twin(x), y), list(twin.parameters()))
    index = {id(p): k for k, p in enumerate(twin.parameters())}
    with torch.no_grad():
        for layer in twin_layers[:7]:
            for p in layer.params:
                p -= lr * g[index[id(p)]]
    (g_shift,) = torch.autograd.grad(loss_fn(twin(x), y), [twin_layers[7].weight])
    expected = torch.linalg.norm(g[index[id(twin_layers[7].weight)]] - g_shift).item()
    (result,) = probes.ics_probe(model, loss_fn, x, y, lr, [8], layers=layers)
    assert result.l2 == pytest.approx(expected, rel=1e-9)
