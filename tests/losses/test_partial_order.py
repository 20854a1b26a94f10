import numpy as np
import pytest
import torch

from mvkit.losses import PartialOrderLoss, PartialOrderOTLoss, create_loss


def _term(s, label, p, m1, m2):
    if label == 0:
        return max(0.0, -p - s) + max(0.0, s)
    if label == 1:
        return max(0.0, m1 + s) + max(0.0, -s - m2)
    return max(0.0, m2 + s)


def _loop_terms(sim, labels, anchor, p=0.17, m1=0.2, m2=0.26):
    """{(b, c): term} over the entries that count (not the anchor, not ignored)."""
    s, lab = sim.detach().tolist(), labels.tolist()
    out = {}
    for b in range(len(s)):
        for c in range(len(s[0])):
            if c == int(anchor[b]) or lab[b][c] < 0:
                continue
            out[(b, c)] = _term(s[b][c] - s[b][int(anchor[b])], lab[b][c], p, m1, m2)
    return out


def _case(seed, b=5, c=9):
    g = torch.Generator().manual_seed(seed)
    sim = (torch.rand(b, c, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    labels = torch.randint(0, 3, (b, c), generator=g)
    anchor = torch.randint(0, c, (b,), generator=g)
    labels[torch.arange(b), anchor] = 0
    labels[0, (int(anchor[0]) + 1) % c] = -1  # one ignored entry
    return sim, labels, anchor


@pytest.mark.parametrize("seed", range(6))
def test_matches_loop_reference(seed):
    sim, labels, anchor = _case(seed)
    terms = _loop_terms(sim, labels, anchor)
    got = PartialOrderLoss()(sim, labels, anchor)
    assert got.item() == pytest.approx(sum(terms.values()) / len(terms), rel=1e-12)


def test_hand_computed_2x3():
    # video 0: anchor col 0 (0.9); col 1 positive at 0.5 (s=-.4 -> [-.17+.4]=.23); col 2 negative 0.8 (s=-.1 -> .16)
    # video 1: anchor col 2 (0.6); col 0 partial at 0.5 (s=-.1 -> [.2-.1]=.1); col 1 negative 0.2 (s=-.4 -> 0)
    sim = torch.tensor([[0.9, 0.5, 0.8], [0.5, 0.2, 0.6]])
    labels = torch.tensor([[0, 0, 2], [1, 2, 0]])
    anchor = torch.tensor([0, 2])
    expected = (0.23 + 0.16 + 0.1 + 0.0) / 4  # anchors excluded from the mean
    assert PartialOrderLoss()(sim, labels, anchor).item() == pytest.approx(expected, abs=1e-6)


def test_partial_band():
    # a partial just inside the band [anchor - m2, anchor - m1] costs nothing; above or below it costs
    loss = PartialOrderLoss(m1=0.2, m2=0.26)
    anchor = torch.tensor([0])
    labels = torch.tensor([[0, 1]])
    assert loss(torch.tensor([[1.0, 0.77]]), labels, anchor).item() == pytest.approx(0.0, abs=1e-6)
    assert loss(torch.tensor([[1.0, 0.9]]), labels, anchor).item() == pytest.approx(0.1, abs=1e-6)
    assert loss(torch.tensor([[1.0, 0.6]]), labels, anchor).item() == pytest.approx(0.14, abs=1e-6)


def test_gradients_and_validation():
    sim, labels, anchor = _case(1)
    PartialOrderLoss()(sim, labels, anchor).backward()
    assert torch.isfinite(sim.grad).all() and sim.grad.abs().sum() > 0
    bad = labels.clone()
    bad[0, int(anchor[0])] = 2
    with pytest.raises(ValueError, match="anchor entry"):
        PartialOrderLoss()(sim, bad, anchor)
    with pytest.raises(ValueError, match="labels must be"):
        PartialOrderLoss()(sim, labels + 5, anchor)
    with pytest.raises(ValueError, match="anchor must have shape"):
        PartialOrderLoss()(sim, labels, anchor[:2])


@pytest.mark.parametrize("seed", range(4))
def test_ot_variant_matches_loop_reference(kernel_sinkhorn, seed):
    sim, labels, anchor = _case(seed)
    terms = _loop_terms(sim, labels, anchor)
    b, c = sim.shape
    gm = np.zeros((b, c))
    for (i, j), t in terms.items():
        gm[i, j] = t
    plan = kernel_sinkhorn(np.exp(-gm), eps=0.2, iters=50)
    total = 0.0
    for i in range(b):
        cols = [j for j in range(c) if (i, j) in terms]
        z = sum(plan[i, j] for j in cols)
        total += sum(plan[i, j] / z * terms[(i, j)] for j in cols)
    got = PartialOrderOTLoss()(sim, labels, anchor)
    assert got.item() == pytest.approx(total / b, rel=1e-6)


def test_ot_variant_with_gamma_zero_equals_plain():
    sim, labels, anchor = _case(3)
    labels[labels < 0] = 2  # same number of valid entries in every row
    plain = PartialOrderLoss()(sim, labels, anchor)
    ot = PartialOrderOTLoss(gamma=0.0)(sim, labels, anchor)
    assert ot.item() == pytest.approx(plain.item(), rel=1e-9)


def test_ot_weights_favour_violated_entries_and_are_detached():
    # Row 0 violates at column 1, row 1 at column 2 (negatives scoring above the anchor).
    sim = torch.tensor([[0.5, 0.9, 0.0], [0.5, 0.0, 0.9]], requires_grad=True)
    labels = torch.tensor([[0, 2, 2], [0, 2, 2]])
    anchor = torch.tensor([0, 0])
    loss = PartialOrderOTLoss(gamma=5.0, epsilon=0.05)
    from mvkit.losses.partial_order import partial_order_terms

    terms, valid = partial_order_terms(sim, labels, anchor, loss.p, loss.m1, loss.m2)
    w = loss.weights(terms, valid)
    assert not w.requires_grad
    assert w[0, 1] > w[0, 2] and w[1, 2] > w[1, 1]
    loss(sim, labels, anchor).backward()
    assert torch.isfinite(sim.grad).all()


def test_registry():
    assert isinstance(create_loss("partial_order", p=0.1), PartialOrderLoss)
    assert isinstance(create_loss("partial-order-ot"), PartialOrderOTLoss)
