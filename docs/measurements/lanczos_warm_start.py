"""Does a warm start of Lanczos from the previous curvature step's top Ritz vector converge in
fewer Hessian-vector products than the curvature probe's start from g (issue 26, item 1)?

The demo's VGG-A (width 0.125, batch 64, plain SGD at lr 0.1, 400 steps, data from
`make demo`'s resources/synthetic.npz), the probe's stopping rule (relative residual of the
top Ritz pair 1e-3, at most 20 products). A warm-started run needs one more product for the
curvature along g, which the start from g gets as its first Lanczos coefficient.

    .venv/bin/python docs/measurements/lanczos_warm_start.py batch 50
"""

import sys

import torch
from torch import nn

from bnopt import data, probes
from bnopt.image_task import to_inputs
from bnopt.models import build_model

TOLERANCE, MOST = 1e-3, 20


def lanczos_from(start, grads, params) -> tuple[int, float, list[torch.Tensor]]:
    """Products to convergence, the top Ritz value and its vector."""

    def converged(alphas, betas, beta):
        values, vectors = torch.linalg.eigh(probes.tridiagonal(alphas, betas))
        return beta * abs(vectors[-1, -1].item()) <= TOLERANCE * abs(values[-1].item())

    norm = probes.flat_norm(start)
    alphas, betas, basis, _ = probes.lanczos(
        grads, params, [t / norm for t in start], MOST, converged
    )
    values, vectors = torch.linalg.eigh(probes.tridiagonal(alphas, betas))
    top = [
        sum(vectors[i, -1].item() * vector[j] for i, vector in enumerate(basis))
        for j in range(len(params))
    ]
    return len(alphas), values[-1].item(), top


def main(normalization: str, every: int) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    arrays = data.load_prepared("resources/synthetic.npz")
    images, labels = torch.from_numpy(arrays["x_train"]), torch.from_numpy(arrays["y_train"])
    model = build_model("vgg_a", normalization, 0.125)
    params = probes.trainable(model)
    loss_fn = nn.functional.cross_entropy
    generator = torch.Generator().manual_seed(0)
    previous, from_g, warm = None, 0, 0
    for step in range(400):
        chosen = torch.randint(0, len(images), (64,), generator=generator)
        x, y = to_inputs(images[chosen]), labels[chosen]
        if step % every == 0:
            with probes.preserved_state(model):
                grads = torch.autograd.grad(loss_fn(model(x), y), params, create_graph=True)
                g = [t.detach() for t in grads]
                products, value, top = lanczos_from(g, grads, params)
                if previous is not None:
                    warm_products, warm_value, top = lanczos_from(previous, grads, params)
                    from_g, warm = from_g + products, warm + warm_products + 1
                    print(f"step {step}: from g {products} products (lambda_max {value:.4g}), "
                          f"warm {warm_products} + 1 (lambda_max {warm_value:.4g})")  # fmt: skip
                previous = top
        model.zero_grad()
        loss_fn(model(x), y).backward()
        with torch.no_grad():
            for p in params:
                p -= 0.1 * p.grad
    print(f"{normalization}, every {every} steps: from g {from_g} products, warm {warm}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
