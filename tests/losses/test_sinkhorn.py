import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from mvkit.losses.sinkhorn import sinkhorn


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 6)])
def test_matches_kernel_sinkhorn_and_marginals(kernel_sinkhorn, shape):
    rng = np.random.default_rng(0)
    cost = rng.random(shape)
    a = rng.random(shape[0]) + 0.5
    a /= a.sum()
    b = rng.random(shape[1]) + 0.5
    b /= b.sum()
    plan = sinkhorn(
        torch.tensor(cost), torch.tensor(a), torch.tensor(b), epsilon=0.3, n_iters=500, tol=1e-12
    )
    ref = kernel_sinkhorn(cost, a, b, 0.3, 500)
    np.testing.assert_allclose(plan.numpy(), ref, atol=1e-10)
    np.testing.assert_allclose(plan.sum(1).numpy(), a, atol=1e-9)
    np.testing.assert_allclose(plan.sum(0).numpy(), b, atol=1e-9)


def test_small_epsilon_is_stable_and_approaches_assignment():
    rng = np.random.default_rng(1)
    cost = rng.random((6, 6))
    plan = sinkhorn(torch.tensor(cost), epsilon=2e-3, n_iters=5000, tol=1e-10)
    assert torch.isfinite(plan).all()  # the kernel exp(-C/1e-3) would underflow
    _, cols = linear_sum_assignment(cost)
    assert (plan.argmax(dim=1).numpy() == cols).all()
    # columns are exact after each g-update; rows converge slowly at tiny epsilon
    np.testing.assert_allclose(plan.sum(1).numpy(), np.full(6, 1 / 6), atol=1e-4)
    np.testing.assert_allclose(plan.sum(0).numpy(), np.full(6, 1 / 6), atol=1e-9)


def test_constant_cost_gives_product_plan():
    plan = sinkhorn(torch.zeros(2, 4))
    assert torch.allclose(plan, torch.full((2, 4), 1 / 8))


def test_no_gradient_and_bad_input():
    cost = torch.rand(3, 3, requires_grad=True)
    assert not sinkhorn(cost).requires_grad
    with pytest.raises(ValueError, match="equal mass"):
        sinkhorn(torch.rand(2, 2), torch.tensor([0.5, 0.5]), torch.tensor([1.0, 1.0]))
    with pytest.raises(ValueError, match="epsilon"):
        sinkhorn(torch.rand(2, 2), epsilon=0)
