"""Softmax-distribution matching shared by the distillation losses (C2KD, LECCR, CL2CM, NRCCR)."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def soft_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, dim: int) -> torch.Tensor:
    """Mean over the other axis of KL(softmax(teacher) || softmax(student)) along ``dim``.

    The teacher is detached here, so no caller can leak gradients into it by mistake.
    For dim=1 this is ``F.kl_div(log_softmax(s), log_softmax(t), log_target=True,
    reduction="batchmean")``, the form C2KD's released code uses.
    """
    log_p_t = F.log_softmax(teacher_logits.detach(), dim=dim)
    log_p_s = F.log_softmax(student_logits, dim=dim)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=dim)
    return kl.mean()


def soft_cross_entropy(
    student_logits: torch.Tensor, target_probs: torch.Tensor, dim: int
) -> torch.Tensor:
    """Mean over the other axis of -sum target * log_softmax(student) along ``dim`` (target detached)."""
    return -(target_probs.detach() * F.log_softmax(student_logits, dim=dim)).sum(dim=dim).mean()
