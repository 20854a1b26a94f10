import math

import pytest
import torch

from mvkit.losses import C2KDLoss, create_loss
from mvkit.losses.c2kd import pool_teachers


def _softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    return [v / sum(e) for v in e]


def _kl(p, q):
    return sum(a * math.log(a / b) for a, b in zip(p, q))


def _loop_c2kd(student, teacher, tau):
    s = (student.detach() / tau).tolist()
    t = (teacher.detach() / tau).tolist()
    rows = [_kl(_softmax(tr), _softmax(sr)) for sr, tr in zip(s, t)]
    cols = [_kl(_softmax([r[j] for r in t]), _softmax([r[j] for r in s])) for j in range(len(s[0]))]
    return sum(rows) / len(rows) + sum(cols) / len(cols)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("tau", [0.1, 1.0])
def test_matches_loop_reference(seed, tau):
    g = torch.Generator().manual_seed(seed)
    student = torch.rand(5, 7, generator=g, dtype=torch.float64) * 2 - 1
    teacher = torch.rand(5, 7, generator=g, dtype=torch.float64) * 2 - 1
    got = C2KDLoss(temperature=tau)(student, teacher)
    assert got.item() == pytest.approx(_loop_c2kd(student, teacher, tau), rel=1e-10)


def test_matches_released_kldivloss_form():
    # The released code: KLDivLoss(batchmean, log_target=True) on log_softmax rows, then on columns.
    student, teacher = torch.randn(4, 6), torch.randn(4, 6)
    kl = torch.nn.KLDivLoss(reduction="batchmean", log_target=True)
    ls = torch.nn.functional.log_softmax
    ref = kl(ls(student / 0.1, 1), ls(teacher / 0.1, 1)) + kl(
        ls(student.t() / 0.1, 1), ls(teacher.t() / 0.1, 1)
    )
    assert C2KDLoss()(student, teacher).item() == pytest.approx(ref.item(), rel=1e-5)


def test_hand_computed_2x2_and_zero_when_equal():
    # tau = 1; teacher rows/cols put e/(1+e) on the diagonal, student is uniform -> every KL = log 2 - H(p)
    teacher = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    student = torch.zeros(2, 2)
    p = math.e / (1 + math.e)
    kl = p * math.log(2 * p) + (1 - p) * math.log(2 * (1 - p))
    assert C2KDLoss(temperature=1.0)(student, teacher).item() == pytest.approx(2 * kl, rel=1e-6)
    assert C2KDLoss()(teacher, teacher).item() == pytest.approx(0.0, abs=1e-7)


def test_teacher_is_detached_and_student_gets_gradient():
    student = torch.randn(3, 4, requires_grad=True)
    teacher = torch.randn(3, 4, requires_grad=True)
    C2KDLoss()(student, [teacher, teacher * 0.5]).backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


def test_min_max_pooling_direction():
    a = torch.tensor([[0.1, 0.9], [0.5, -0.2]])
    b = torch.tensor([[0.3, 0.2], [0.5, 0.4]])
    assert torch.equal(pool_teachers([a, b], "max"), torch.tensor([[0.3, 0.9], [0.5, 0.4]]))
    assert torch.equal(pool_teachers([a, b], "min"), torch.tensor([[0.1, 0.2], [0.5, -0.2]]))
    assert torch.allclose(pool_teachers([a, b], "mean"), (a + b) / 2)
    student = torch.randn(2, 2)
    for pool, fn in (("max", torch.maximum), ("min", torch.minimum)):
        pooled = C2KDLoss(pool=pool)(student, [a, b])
        assert pooled.item() == pytest.approx(C2KDLoss()(student, fn(a, b)).item(), rel=1e-6)


def test_validation_and_registry():
    with pytest.raises(ValueError, match="pool"):
        C2KDLoss(pool="median")
    with pytest.raises(ValueError, match="does not match"):
        C2KDLoss()(torch.zeros(2, 3), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="shapes differ"):
        C2KDLoss()(torch.zeros(2, 3), [torch.zeros(2, 3), torch.zeros(2, 2)])
    assert create_loss("C2KD", temperature=0.2).temperature == 0.2
