import pytest
import torch

from mvkit.losses import WeightedRankHinge, create_loss
from mvkit.losses.weighted_rank import rank_weight


def _loop_weighted(pairs, margin):
    terms = []
    for _, _, s_ij, row_negs, col_negs in pairs:
        total = 0.0
        for negs in (row_negs, col_negs):
            if negs:
                big_n = 1 + len(negs)
                r = 1 + sum(1 for x in negs if x >= s_ij)
                weight = 1 + 1 / (big_n - r + 1)
                total += weight * max(0.0, margin - s_ij + max(negs))
        terms.append(total)
    return sum(terms) / len(terms)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("margin", [0.2, 1.0])
def test_matches_loop_reference_with_duplicates(make_case, positive_pairs, seed, margin):
    sim, pos = make_case(seed, n_texts=8, n_cols=7)
    got = WeightedRankHinge(margin=margin)(sim, pos)
    assert got.item() == pytest.approx(
        _loop_weighted(positive_pairs(sim, pos), margin), rel=1e-9, abs=1e-12
    )


def test_rank_weight_range():
    # N = 4 (three negatives): r = 1 -> 1 + 1/4, r = 4 -> 2
    assert rank_weight(torch.tensor(0), torch.tensor(3)).item() == pytest.approx(1.25)
    assert rank_weight(torch.tensor(3), torch.tensor(3)).item() == pytest.approx(2.0)


def test_hand_computed_2x2():
    sim = torch.tensor([[0.5, 0.6], [0.1, 0.3]])
    pos = torch.eye(2, dtype=torch.bool)
    # (0,0): row neg .6 >= .5 -> r=2, N=2 -> L=2; hinge .2-.5+.6=.3 -> .6
    #        col neg .1 <  .5 -> r=1 -> L=1.5; hinge .2-.5+.1 -> 0
    # (1,1): row neg .1 -> r=1, L=1.5, hinge .2-.3+.1=0 ; col neg .6 -> r=2, L=2, hinge .2-.3+.6=.5 -> 1.0
    assert WeightedRankHinge()(sim, pos).item() == pytest.approx((0.6 + 1.0) / 2, abs=1e-6)


def test_weight_is_not_differentiated():
    # d loss / d s_ik for the hardest negative must equal the weight (a constant), not include dL/dr.
    sim = torch.tensor([[0.5, 0.6, 0.0]], requires_grad=True)
    pos = torch.tensor([[True, False, False]])
    loss = WeightedRankHinge()(sim, pos)
    loss.backward()
    # r = 2 of N = 3 -> L = 1 + 1/2; no column negatives
    assert loss.item() == pytest.approx(1.5 * 0.3, abs=1e-6)
    assert sim.grad.tolist()[0] == pytest.approx([-1.5, 1.5, 0.0])


def test_registry_and_gradients(make_case):
    sim, pos = make_case(2)
    loss = create_loss("weighted-rank", margin=0.5)(sim, pos)
    loss.backward()
    assert torch.isfinite(sim.grad).all() and sim.grad.abs().sum() > 0
