import math

import pytest
import torch

from mvkit.losses import HingeLoss, NRCCRLoss, create_loss


def _soft_ce_loop(student, target, tau):
    """1/2 (rows + columns) of -sum softmax(target/tau) log softmax(student/tau)."""

    def sm(xs):
        m = max(xs)
        e = [math.exp(x - m) for x in xs]
        return [v / sum(e) for v in e]

    s, t = student.tolist(), target.tolist()
    cols = lambda x: [list(c) for c in zip(*x)]
    out = []
    for ss, tt in ((s, t), (cols(s), cols(t))):
        total = 0.0
        for sr, tr in zip(ss, tt):
            q, p = sm([v / tau for v in tr]), sm([v / tau for v in sr])
            total += -sum(a * math.log(b) for a, b in zip(q, p))
        out.append(total / len(ss))
    return 0.5 * sum(out)


def _smooth_l1(a, b, beta):
    d = [abs(x - y) for x, y in zip(a.flatten().tolist(), b.flatten().tolist())]
    return sum(0.5 * v * v / beta if v < beta else v - 0.5 * beta for v in d) / len(d)


@pytest.mark.parametrize("seed", range(3))
def test_matches_composed_reference(make_case, seed):
    sim_src, pos = make_case(seed)
    g = torch.Generator().manual_seed(50 + seed)
    sim_tgt = torch.rand(sim_src.shape, generator=g, dtype=torch.float64)
    sim_cross = torch.rand(sim_src.shape, generator=g, dtype=torch.float64)
    feat_tgt = torch.randn(sim_src.shape[0], 5, generator=g, dtype=torch.float64) * 5
    feat_cross = torch.randn(sim_src.shape[0], 5, generator=g, dtype=torch.float64) * 5
    sim_back = torch.rand(sim_src.shape[0], sim_src.shape[0], generator=g, dtype=torch.float64)
    hard = HingeLoss(margin=0.2, max_violation=True)
    eye = torch.eye(sim_src.shape[0], dtype=torch.bool)
    expected = (
        hard(sim_src, pos).item()
        + 0.6 * hard(sim_tgt, pos).item()
        + 0.4 * _soft_ce_loop(sim_tgt, sim_cross, 0.07)
        + 0.1 * _smooth_l1(feat_tgt, feat_cross, 4.0)
        + 0.5 * hard(sim_back, eye).item()
    )
    got = NRCCRLoss()(sim_src, sim_tgt, pos, sim_cross, feat_tgt, feat_cross, sim_back)
    assert got.item() == pytest.approx(expected, rel=1e-9)


def test_optional_views_are_skipped():
    sim, pos = torch.rand(3, 3), torch.eye(3, dtype=torch.bool)
    base = NRCCRLoss()(sim, sim, pos)
    hard = HingeLoss(max_violation=True)(sim, pos)
    assert base.item() == pytest.approx(1.6 * hard.item(), rel=1e-6)
    with pytest.raises(ValueError, match="go together"):
        NRCCRLoss()(sim, sim, pos, feat_tgt=torch.zeros(3, 2))


def test_similarity_view_target_detached_feature_view_not():
    sim_src = torch.rand(4, 4)
    sim_tgt = torch.rand(4, 4, requires_grad=True)
    sim_cross = torch.rand(4, 4, requires_grad=True)
    feat_tgt = torch.randn(4, 3, requires_grad=True)
    feat_cross = torch.randn(4, 3, requires_grad=True)
    NRCCRLoss(l1_gamma=1.0)(
        sim_src, sim_tgt, torch.eye(4, dtype=torch.bool), sim_cross, feat_tgt, feat_cross
    ).backward()
    assert sim_cross.grad is None
    assert sim_tgt.grad.abs().sum() > 0
    # as in the released code both branches of the feature view receive gradient
    assert feat_tgt.grad.abs().sum() > 0 and feat_cross.grad.abs().sum() > 0


def test_back_translation_term_hand_computed():
    # only the back-translation view differs between the two calls
    sim = torch.eye(2)
    pos = torch.eye(2, dtype=torch.bool)
    sim_back = torch.tensor([[0.5, 0.6], [0.0, 0.9]])
    # VSE++ on sim_back: (0,0): row .2-.5+.6=.3, col .2-.5+0=0 ; (1,1): row 0, col .2-.9+.6=0 -> mean .15
    diff = NRCCRLoss()(sim, sim, pos, sim_back=sim_back) - NRCCRLoss()(sim, sim, pos)
    assert diff.item() == pytest.approx(0.5 * 0.15, abs=1e-6)
    assert isinstance(create_loss("NRCCR"), NRCCRLoss)
