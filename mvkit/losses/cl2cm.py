"""CL2CM-style transfer of cross-lingual text-text similarity to the cross-modal network."""

from __future__ import annotations

import torch

from mvkit.losses._distill import soft_kl
from mvkit.losses.base import RetrievalLoss, check_sim_pos, register_loss, upcast
from mvkit.losses.infonce import InfoNCE

AGGREGATES = ("max", "mean")


def text_to_video_teacher(
    sim_tt: torch.Tensor, src_pos: torch.Tensor, aggregate: str = "max"
) -> torch.Tensor:
    """Teacher logits [Bt, Bv]: target caption i vs video j through video j's source captions.

    T[i, j] = max (or mean) over source captions k of video j (``src_pos[k, j]``) of
    ``sim_tt[i, k]``. Every video needs at least one source caption.
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    if sim_tt.dim() != 2 or src_pos.dim() != 2 or sim_tt.shape[1] != src_pos.shape[0]:
        raise ValueError(
            f"sim_tt [Bt, Bs] and src_pos [Bs, Bv] do not fit: {tuple(sim_tt.shape)}, {tuple(src_pos.shape)}"
        )
    src_pos = src_pos.to(device=sim_tt.device, dtype=torch.bool)
    if not bool(src_pos.any(dim=0).all()):
        raise ValueError("every video needs at least one source caption in src_pos")
    t = upcast(sim_tt.detach())[:, :, None]  # [Bt, Bs, 1]
    m = src_pos[None, :, :]  # [1, Bs, Bv]
    if aggregate == "max":
        return t.masked_fill(~m, float("-inf")).amax(dim=1)
    return (t * m).sum(dim=1) / m.sum(dim=1)


@register_loss("cl2cm")
class CL2CMLoss(RetrievalLoss):
    r"""Cross-lingual to cross-modal knowledge transfer (after CL2CM, 2024).

    Inputs: ``sim_tv[i, j]`` target-language caption i vs video j (the cross-modal network,
    trained); ``pos``; ``sim_tt[i, k]`` target-language caption i vs source (English)
    caption k from the cross-lingual network (same modality, smaller gap: the "reliable
    and comprehensive semantic correspondence"); ``src_pos[k, j]`` source caption k
    describes video j (defaults to ``pos`` when sources and targets are aligned row by row).

        T[i, j] = max_{k: src_pos[k, j]} sim_tt[i, k]                       (detached)
        L = InfoNCE_tau(sim_tv, pos)
            + w [ mean_i KL(softmax_j(T/tau_kd) || softmax_j(sim_tv/tau_kd))
                + mean_j KL(softmax_i(T/tau_kd) || softmax_i(sim_tv/tau_kd)) ]

    so the cross-modal network inherits the cross-lingual network's graded view of which
    videos a target caption is close to, including the non-matching ones a one-hot label
    ignores.

    What is interpretation: the CL2CM abstract states only that cross-lingual transfer
    supplies correspondence knowledge to the cross-modal network. Routing the text-text
    similarity to videos through their source captions, the symmetric KL (C2KD's form)
    and the defaults (w = 1, both temperatures 0.05, max aggregation) are ours.
    """

    inputs = ("sim_tv", "pos", "sim_tt")

    def __init__(
        self,
        temperature: float = 0.05,
        kd_temperature: float = 0.05,
        weight: float = 1.0,
        aggregate: str = "max",
    ) -> None:
        super().__init__()
        if aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
        self.contrastive = InfoNCE(temperature=temperature)
        self.kd_temperature, self.weight, self.aggregate = kd_temperature, weight, aggregate

    def forward(
        self,
        sim_tv: torch.Tensor,
        pos: torch.Tensor,
        sim_tt: torch.Tensor,
        src_pos: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return the scalar loss; see the class docstring for the inputs."""
        sim_tv, pos = check_sim_pos(sim_tv, pos)
        if sim_tt.shape[0] != sim_tv.shape[0]:
            raise ValueError(f"sim_tt has {sim_tt.shape[0]} rows, sim_tv {sim_tv.shape[0]}")
        teacher = text_to_video_teacher(
            sim_tt, pos if src_pos is None else src_pos, self.aggregate
        ).to(sim_tv)
        s, t = sim_tv / self.kd_temperature, teacher / self.kd_temperature
        transfer = soft_kl(s, t, dim=1) + soft_kl(s, t, dim=0)
        return self.contrastive(sim_tv, pos) + self.weight * transfer
