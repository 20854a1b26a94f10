import math

import numpy as np
import pytest
import torch

from mvkit.losses import DCOTLoss, create_loss
from mvkit.losses.dcot import transport_confidence


def _dustbin_confidence(kernel_sinkhorn, sim, pos, eps):
    """Brute force: augment with a dustbin row/column at cost 1 - mean(sim), masses 1 / m / n."""
    n, m = sim.shape
    thr = sim.mean()
    cost = np.full((n + 1, m + 1), 1 - thr)
    for i in range(n):
        for j in range(m):
            cost[i, j] = 1 - sim[i, j]
    a = np.array([1.0] * n + [m]) / (n + m)
    b = np.array([1.0] * m + [n]) / (n + m)
    plan = kernel_sinkhorn(cost, a, b, eps, 3000)
    return [min(1.0, (n + m) * sum(plan[i, j] for j in range(m) if pos[i, j])) for i in range(n)]


def _loop_dcot(kernel_sinkhorn, pairs, sim_tv, sim_st, epoch, tau=0.05, eps=0.2, curriculum=10):
    n = sim_tv.shape[0]
    c_m = _dustbin_confidence(
        kernel_sinkhorn, sim_tv.detach().numpy(), _pairs_mask(sim_tv, pairs), eps
    )
    c_l = _dustbin_confidence(kernel_sinkhorn, sim_st.numpy().T, np.eye(n, dtype=bool), eps)
    lam = max(0.0, 1 - epoch / curriculum)
    terms = []
    for i, _, s_ij, row_negs, col_negs in pairs:
        nce = 0.5 * (_nce(s_ij, row_negs, tau) + _nce(s_ij, col_negs, tau))
        terms.append((lam * c_l[i] + (1 - lam) * c_m[i]) * nce)
    return sum(terms) / len(terms)


def _pairs_mask(sim, pairs):
    mask = np.zeros(tuple(sim.shape), dtype=bool)
    for i, j, *_ in pairs:
        mask[i, j] = True
    return mask


def _nce(s_ij, negs, tau):
    num = math.exp(s_ij / tau)
    return -math.log(num / (num + sum(math.exp(x / tau) for x in negs)))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("epoch", [0, 4, 12])
def test_matches_loop_reference_with_duplicates(
    make_case, positive_pairs, kernel_sinkhorn, seed, epoch
):
    sim_tv, pos = make_case(seed)
    g = torch.Generator().manual_seed(7 + seed)
    sim_st = torch.rand(sim_tv.shape[0], sim_tv.shape[0], generator=g, dtype=torch.float64)
    loss = DCOTLoss(epsilon=0.2, n_iters=3000)
    got = loss(sim_tv, pos, sim_st, epoch)
    assert got.item() == pytest.approx(
        _loop_dcot(kernel_sinkhorn, list(positive_pairs(sim_tv, pos)), sim_tv, sim_st, epoch),
        rel=1e-6,
    )


def test_unsupported_pair_loses_confidence_in_both_views():
    # caption 2 is a mistranslation that reads like video 0 (which caption 0 describes better).
    sim = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.8, 0.1, 0.1]])
    pos = torch.eye(3, dtype=torch.bool)
    conf = transport_confidence(sim, pos, epsilon=0.05, n_iters=500)
    assert conf[1] > 0.99 and conf[2] < 0.01  # nothing supports pair (2, 2)
    assert conf[0] > 0.7  # caption 0 keeps most of the contested video (0.9 beats 0.8)
    # the source captions say caption 2 is a bad translation (low text-text similarity)
    sim_st = torch.tensor([[0.9, 0.2, 0.2], [0.2, 0.9, 0.2], [0.2, 0.2, 0.1]])
    early = DCOTLoss(epsilon=0.05).confidence(sim, pos, sim_st, epoch=0)
    assert early[0] > 0.99 and early[2] < 0.1


def test_curriculum_moves_from_lingual_to_modal_view():
    loss = DCOTLoss(curriculum_epochs=4)
    assert [loss.lingual_weight(e) for e in (0, 2, 4, 9)] == [1.0, 0.5, 0.0, 0.0]
    sim_tv = torch.tensor([[0.9, 0.1], [0.8, 0.2]])  # caption 1 looks wrong cross-modally
    sim_st = torch.tensor([[0.9, 0.1], [0.1, 0.9]])  # but is a faithful translation
    pos = torch.eye(2, dtype=torch.bool)
    early = loss.confidence(sim_tv, pos, sim_st, epoch=0)
    late = loss.confidence(sim_tv, pos, sim_st, epoch=4)
    assert early[1] > 0.9 and late[1] < early[1]


def test_weights_detached_gradients_flow_and_registry(make_case):
    sim_tv, pos = make_case(0)
    sim_st = torch.rand(sim_tv.shape[0], sim_tv.shape[0], dtype=torch.float64, requires_grad=True)
    create_loss("dcot")(sim_tv, pos, sim_st, epoch=3).backward()
    assert sim_st.grad is None and torch.isfinite(sim_tv.grad).all() and sim_tv.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="pos_st is required"):
        DCOTLoss()(sim_tv, pos, torch.rand(3, sim_tv.shape[0]), epoch=0)
