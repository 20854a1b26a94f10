import math

import pytest
import torch

from mvkit.losses import InfoNCE, create_loss


def _nce(s_ij, negs, tau):
    """-log of the positive's softmax against itself and its negatives."""
    num = math.exp(s_ij / tau)
    return -math.log(num / (num + sum(math.exp(x / tau) for x in negs)))


def _loop_infonce(pairs, tau):
    """Brute force: per positive pair, -log softmax against that row's (column's) negatives."""
    t2v, v2t = [], []
    for _, _, s_ij, row_negs, col_negs in pairs:
        t2v.append(_nce(s_ij, row_negs, tau))
        v2t.append(_nce(s_ij, col_negs, tau))
    return 0.5 * (sum(t2v) / len(t2v) + sum(v2t) / len(v2t))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("tau", [0.05, 0.5])
def test_matches_loop_reference_with_duplicates(make_case, positive_pairs, seed, tau):
    sim, pos = make_case(seed)
    assert (pos.sum(1) > 1).any() and (pos.sum(0) > 1).any()  # the case really has duplicates
    got = InfoNCE(temperature=tau)(sim, pos)
    assert got.item() == pytest.approx(_loop_infonce(positive_pairs(sim, pos), tau), rel=1e-9)


def test_hand_computed_2x2():
    sim = torch.tensor([[0.5, 0.1], [0.2, 0.4]], dtype=torch.float64)
    pos = torch.eye(2, dtype=torch.bool)
    # t2v: -log e^.5/(e^.5+e^.1), -log e^.4/(e^.4+e^.2); v2t: -log e^.5/(e^.5+e^.2), -log e^.4/(e^.4+e^.1)
    sp = lambda x: math.log1p(math.exp(x))
    expected = 0.5 * ((sp(-0.4) + sp(-0.2)) / 2 + (sp(-0.3) + sp(-0.3)) / 2)
    assert InfoNCE(temperature=1.0)(sim, pos).item() == pytest.approx(expected, rel=1e-12)


def test_other_positives_left_out_of_denominator():
    # Texts 0 and 1 both describe the video in columns 0 and 1 (duplicate); column 2 is another video.
    sim = torch.tensor([[0.9, 0.3, 0.0], [0.2, 0.8, 0.1], [0.0, 0.1, 0.7]], dtype=torch.float64)
    pos = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    loss = InfoNCE(temperature=1.0)(sim, pos)
    # t2v for (0, 0): -log e^.9 / (e^.9 + e^0), never e^.3 (the duplicate) in the denominator
    sp = lambda x: math.log1p(math.exp(x))
    t2v = [
        sp(0 - 0.9),
        sp(0 - 0.3),
        sp(0.1 - 0.2),
        sp(0.1 - 0.8),
        sp(math.log(math.exp(0) + math.exp(0.1)) - 0.7),
    ]
    v2t = [
        sp(0 - 0.9),
        sp(0.1 - 0.3),
        sp(0 - 0.2),
        sp(0.1 - 0.8),
        sp(math.log(math.exp(0) + math.exp(0.1)) - 0.7),
    ]
    assert loss.item() == pytest.approx(0.5 * (sum(t2v) / 5 + sum(v2t) / 5), rel=1e-12)


def test_gradients_flow_and_masked_positives_get_none_from_denominator(make_case):
    sim, pos = make_case(3)
    InfoNCE()(sim, pos).backward()
    assert torch.isfinite(sim.grad).all()
    assert (sim.grad[pos] < 0).all()  # positives are pulled up
    assert (sim.grad[~pos] > 0).all()  # negatives pushed down


def test_no_negatives_gives_zero_loss_and_finite_grad():
    sim = torch.tensor([[0.3, 0.1]], requires_grad=True)
    pos = torch.tensor([[True, True]])
    loss = InfoNCE()(sim, pos)
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-7)
    assert torch.isfinite(sim.grad).all()


def test_learnable_temperature_is_a_parameter_and_clamped():
    loss = InfoNCE(temperature=0.07, learnable=True)
    assert loss.temperature == pytest.approx(0.07)
    assert len(list(loss.parameters())) == 1
    sim = torch.randn(4, 4)
    out = loss(sim, torch.eye(4, dtype=torch.bool))
    out.backward()
    assert loss.log_scale.grad is not None
    with torch.no_grad():
        loss.log_scale.fill_(math.log(1000.0))
    assert loss.temperature == pytest.approx(0.01)  # 1/max_scale
    assert list(InfoNCE().parameters()) == []


def test_half_precision_input_is_computed_in_float32():
    sim = torch.randn(5, 5).half()
    out = InfoNCE()(sim, torch.eye(5, dtype=torch.bool))
    assert out.dtype == torch.float32 and torch.isfinite(out)


def test_validation_errors():
    with pytest.raises(ValueError, match="no True"):
        InfoNCE()(torch.zeros(2, 2), torch.zeros(2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="does not match"):
        InfoNCE()(torch.zeros(2, 2), torch.zeros(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="temperature"):
        InfoNCE(temperature=0)


def test_registry():
    assert isinstance(create_loss("InfoNCE", temperature=0.1), InfoNCE)
    with pytest.raises(ValueError, match="registered"):
        create_loss("nope")
