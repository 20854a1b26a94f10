import math

import pytest
import torch

from mvkit.losses import InfoNCE, LECCRLoss, create_loss


def _softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    return [v / sum(e) for v in e]


def _loop_leccr(sim_tv, pos, sim_ev, slot, alpha=0.8, w=0.3, tau=0.07, tau_kd=1.0):
    def mm(x):
        flat = [v for r in x for v in r]
        lo, hi = min(flat), max(flat)
        return [[(v - lo) / (hi - lo) for v in r] for r in x]

    ev = mm(sim_ev.tolist())
    guide = (
        ev
        if slot is None
        else [
            [alpha * a + (1 - alpha) * b for a, b in zip(ra, rb)]
            for ra, rb in zip(ev, mm(slot.tolist()))
        ]
    )
    s = sim_tv.detach().tolist()
    kl = 0.0
    for gi, si in zip(guide, s):
        q = _softmax([g / tau_kd for g in gi])
        p = _softmax([v / tau_kd for v in si])
        kl += sum(a * math.log(a / b) for a, b in zip(q, p))
    kl /= len(s)
    return (1 - w) * InfoNCE(temperature=tau)(sim_tv.detach(), pos).item() + w * kl


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("with_slots", [False, True])
def test_matches_loop_reference_with_duplicates(make_case, seed, with_slots):
    sim_tv, pos = make_case(seed)
    g = torch.Generator().manual_seed(100 + seed)
    sim_ev = torch.rand(sim_tv.shape, generator=g, dtype=torch.float64)
    slot = torch.rand(sim_tv.shape, generator=g, dtype=torch.float64) if with_slots else None
    got = LECCRLoss()(sim_tv, pos, sim_ev, slot)
    assert got.item() == pytest.approx(_loop_leccr(sim_tv, pos, sim_ev, slot), rel=1e-9)


def test_hand_computed_2x2_guide_only():
    # weight 1 -> pure KL; guide min-max -> [[1, 0], [0, 1]]; student uniform -> KL = log 2 - H(e/(1+e))
    sim_tv = torch.zeros(2, 2)
    sim_ev = torch.tensor([[0.9, 0.1], [0.1, 0.9]])
    p = math.e / (1 + math.e)
    kl = p * math.log(2 * p) + (1 - p) * math.log(2 * (1 - p))
    got = LECCRLoss(weight=1.0)(sim_tv, torch.eye(2, dtype=torch.bool), sim_ev)
    assert got.item() == pytest.approx(kl, rel=1e-6)


def test_guides_are_detached_and_student_learns():
    sim_tv = torch.randn(4, 4, requires_grad=True)
    sim_ev = torch.randn(4, 4, requires_grad=True)
    slot = torch.randn(4, 4, requires_grad=True)
    LECCRLoss()(sim_tv, torch.eye(4, dtype=torch.bool), sim_ev, slot).backward()
    assert sim_ev.grad is None and slot.grad is None
    assert sim_tv.grad.abs().sum() > 0


def test_validation_and_registry():
    with pytest.raises(ValueError, match="alpha and weight"):
        LECCRLoss(alpha=1.5)
    with pytest.raises(ValueError, match="sim_ev shape"):
        LECCRLoss()(torch.zeros(2, 2), torch.eye(2, dtype=torch.bool), torch.zeros(2, 3))
    assert isinstance(create_loss("leccr", weight=0.5), LECCRLoss)
