import math

import pytest
import torch

from mvkit.losses import C2KDLoss, CL2CMLoss, InfoNCE, create_loss
from mvkit.losses.cl2cm import text_to_video_teacher


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("aggregate", ["max", "mean"])
def test_matches_loop_reference_with_duplicates(make_case, seed, aggregate):
    sim_tv, pos = make_case(seed)
    g = torch.Generator().manual_seed(30 + seed)
    n_src = 5
    sim_tt = torch.rand(sim_tv.shape[0], n_src, generator=g, dtype=torch.float64)
    src_pos = torch.zeros(n_src, sim_tv.shape[1], dtype=torch.bool)
    for j in range(sim_tv.shape[1]):
        src_pos[j % n_src, j] = True  # every video has a source caption
    src_pos[0, :] |= pos[0]  # and some have several
    teacher = [[0.0] * sim_tv.shape[1] for _ in range(sim_tv.shape[0])]
    for i in range(sim_tv.shape[0]):
        for j in range(sim_tv.shape[1]):
            vals = [sim_tt[i, k].item() for k in range(n_src) if src_pos[k, j]]
            teacher[i][j] = max(vals) if aggregate == "max" else sum(vals) / len(vals)
    teacher = torch.tensor(teacher, dtype=torch.float64)
    assert torch.allclose(text_to_video_teacher(sim_tt, src_pos, aggregate), teacher)
    expected = InfoNCE(0.05)(sim_tv, pos) + 0.7 * C2KDLoss(temperature=0.05)(sim_tv, teacher)
    got = CL2CMLoss(weight=0.7, aggregate=aggregate)(sim_tv, pos, sim_tt, src_pos)
    assert got.item() == pytest.approx(expected.item(), rel=1e-10)


def test_hand_computed_teacher_2x2():
    # sources aligned with targets: teacher = sim_tt itself (one source caption per video)
    sim_tt = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    pos = torch.eye(2, dtype=torch.bool)
    assert torch.equal(text_to_video_teacher(sim_tt, pos), sim_tt)
    sim_tv = torch.zeros(2, 2)
    p = math.e / (1 + math.e)
    kl = p * math.log(2 * p) + (1 - p) * math.log(2 * (1 - p))
    got = CL2CMLoss(temperature=1.0, kd_temperature=1.0)(sim_tv, pos, sim_tt)
    assert got.item() == pytest.approx(math.log(2) + 2 * kl, rel=1e-6)


def test_teacher_detached_and_validation():
    sim_tv = torch.randn(3, 3, requires_grad=True)
    sim_tt = torch.randn(3, 3, requires_grad=True)
    CL2CMLoss()(sim_tv, torch.eye(3, dtype=torch.bool), sim_tt).backward()
    assert sim_tt.grad is None and sim_tv.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="at least one source caption"):
        text_to_video_teacher(torch.rand(2, 2), torch.tensor([[True, False], [False, False]]))
    assert create_loss("cl2cm", aggregate="mean").aggregate == "mean"
