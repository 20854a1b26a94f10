import pytest
import torch

from mvkit.losses import HingeLoss, create_loss


def _loop_hinge(pairs, margin, hardest):
    terms = []
    for _, _, s_ij, row_negs, col_negs in pairs:
        row = [max(0.0, margin - s_ij + x) for x in row_negs]
        col = [max(0.0, margin - s_ij + x) for x in col_negs]
        agg = (lambda xs: max(xs, default=0.0)) if hardest else sum
        terms.append(agg(row) + agg(col))
    return sum(terms) / len(terms)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("hardest", [False, True])
@pytest.mark.parametrize("margin", [0.2, 0.7])
def test_matches_loop_reference_with_duplicates(make_case, positive_pairs, seed, hardest, margin):
    sim, pos = make_case(seed)
    got = HingeLoss(margin=margin, max_violation=hardest)(sim, pos)
    assert got.item() == pytest.approx(
        _loop_hinge(positive_pairs(sim, pos), margin, hardest), rel=1e-9, abs=1e-12
    )


def test_hand_computed_3x3():
    sim = torch.tensor([[0.8, 0.7, 0.1], [0.5, 0.6, 0.2], [0.0, 0.65, 0.9]])
    pos = torch.eye(3, dtype=torch.bool)
    # pair (0,0): row negs .7,.1 -> [.2-.8+.7]=.1, 0 ; col negs .5,0 -> 0, 0
    # pair (1,1): row .5,.2 -> .1, 0 ;          col .7,.65 -> .3, .25
    # pair (2,2): row 0,.65 -> 0, 0 ;           col .1,.2 -> 0, 0
    vse = (0.1 + (0.1 + 0.3 + 0.25) + 0.0) / 3
    vsepp = (0.1 + (0.1 + 0.3) + 0.0) / 3
    assert HingeLoss()(sim, pos).item() == pytest.approx(vse, abs=1e-6)
    assert HingeLoss(max_violation=True)(sim, pos).item() == pytest.approx(vsepp, abs=1e-6)


def test_duplicate_video_is_not_a_negative():
    # Columns 0 and 1 are the same video: text 0 must not be pushed away from column 1.
    sim = torch.tensor([[0.5, 0.9], [0.9, 0.5]], requires_grad=True)
    pos = torch.ones(2, 2, dtype=torch.bool)
    loss = HingeLoss(max_violation=True)(sim, pos)
    assert loss.item() == 0.0


def test_gradients(make_case):
    sim, pos = make_case(1)
    HingeLoss(margin=0.5, max_violation=True)(sim, pos).backward()
    assert torch.isfinite(sim.grad).all() and sim.grad.abs().sum() > 0
    assert (sim.grad[pos] <= 0).all() and (sim.grad[~pos] >= 0).all()


def test_registry_aliases():
    assert create_loss("vse++").max_violation is True
    assert create_loss("VSE").max_violation is False
    assert create_loss("hinge", margin=0.3).margin == 0.3
