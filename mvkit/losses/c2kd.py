"""C2KD: cross-lingual cross-modal knowledge distillation of text-video similarity distributions."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mvkit.losses._distill import soft_kl
from mvkit.losses.base import RetrievalLoss, check_same_shape, register_loss, upcast

POOLS = ("mean", "min", "max")


def pool_teachers(teacher_sims: torch.Tensor | Sequence[torch.Tensor], pool: str) -> torch.Tensor:
    """Element-wise mean / min / max of several teachers' similarity matrices (one passes through).

    ``pool="max"`` takes the largest teacher similarity of each (text, video) entry and
    ``"min"`` the smallest -- what the names say. (C2KD's released trainer swaps them:
    its ``teacher_sim_pool == 'max'`` branch calls ``torch.min`` and vice versa, so its
    default ``'min'`` is really an element-wise max.)
    """
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
    if isinstance(teacher_sims, torch.Tensor):
        return teacher_sims
    sims = list(teacher_sims)
    if not sims:
        raise ValueError("at least one teacher similarity matrix is needed")
    if any(s.shape != sims[0].shape for s in sims):
        raise ValueError(f"teacher similarity shapes differ: {[tuple(s.shape) for s in sims]}")
    stacked = torch.stack(sims)
    if pool == "mean":
        return stacked.mean(dim=0)
    return stacked.amin(dim=0) if pool == "min" else stacked.amax(dim=0)


@register_loss("c2kd")
class C2KDLoss(RetrievalLoss):
    r"""Cross-lingual cross-modal knowledge distillation (Rouditchenko et al., C2KD, 2022).

    The student sees captions in language l, the teacher(s) the English captions of the
    same items; both score the same videos, so row i of both matrices is item i. With
    tau the temperature, P_t = softmax(teacher_sim / tau), P_s = softmax(student_sim / tau):

        L = mean_i KL(P_t[i, :] || P_s[i, :])  +  mean_j KL(P_t[:, j] || P_s[:, j])

    i.e. the row-wise (text->video) plus the column-wise (video->text) distillation, each
    ``KLDivLoss(reduction="batchmean")`` as in the released code. The teacher is detached.
    Several teachers are pooled element-wise (mean, min or max of their similarities)
    before the softmax; see ``pool_teachers`` for the min/max swap in the released code.

    The paper trains with L_total = b * L_contrastive + (1 - b) * L_C2KD with b = 0.1 (the
    released default ``--balance``); combine with ``InfoNCE`` explicitly.

    Args:
        temperature: tau, 0.1 (released default ``--distill_temp``).
        pool: "mean", "min" or "max" for several teachers (released default: their
            "min", which computes a max; we default to "max" to keep that behaviour).
    """

    inputs = ("student_sim", "teacher_sim")

    def __init__(self, temperature: float = 0.1, pool: str = "max") -> None:
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.pool = pool

    def forward(
        self, student_sim: torch.Tensor, teacher_sim: torch.Tensor | Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """Return the scalar distillation loss for student [Bt, Bv] and teacher(s) [Bt, Bv]."""
        teacher = pool_teachers(teacher_sim, self.pool)
        check_same_shape(teacher, student_sim, "teacher", "student")
        s = upcast(student_sim) / self.temperature
        t = teacher.to(s) / self.temperature
        return soft_kl(s, t, dim=1) + soft_kl(s, t, dim=0)
