"""Symmetric InfoNCE (the cross-entropy "video-text matching" loss) with a positive mask."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from mvkit.losses._masks import masked_logsumexp
from mvkit.losses.base import RetrievalLoss, check_sim_pos, register_loss


@register_loss("infonce")
class InfoNCE(RetrievalLoss):
    r"""Symmetric InfoNCE over a text x video similarity matrix with several positives.

    For every positive pair (i, j) (``pos[i, j]``), with N_i the negatives of row i and
    M_j those of column j (entries where ``pos`` is False), and tau the temperature:

        l_t2v(i, j) = -log  exp(s_ij/tau) / (exp(s_ij/tau) + sum_{k in N_i} exp(s_ik/tau))
        l_v2t(i, j) = -log  exp(s_ij/tau) / (exp(s_ij/tau) + sum_{l in M_j} exp(s_lj/tau))
        L = 1/2 [ mean_{(i,j) pos} l_t2v(i, j) + mean_{(i,j) pos} l_v2t(i, j) ]

    Other positives of the same row (column) are left out of the denominator, so the same
    video twice in a batch (or several captions of one video) is never pushed apart.
    With one positive per row and column this is exactly MKTVR's eqs. (7)-(10)
    (Madasu et al., MKTVR, "Improving video retrieval using multilingual knowledge
    transfer"; van den Oord et al. 2018; CLIP, Radford et al. 2021). MKTVR
    averages each direction over the batch (1/B) and sums the two directions; we average
    the directions, which only halves the scale.

    Reduction: mean over positive pairs in each direction, directions averaged.

    Args:
        temperature: tau. MKTVR writes the raw dot product; with L2-normalised embeddings
            (cosines in [-1, 1]) a temperature is needed. CLIP's learnt scale saturates at
            100 (tau = 0.01); 0.05 is the common fixed choice for cosine similarities and
            trains stably from scratch, so it is the default here.
        learnable: learn log(1/tau) as a parameter (CLIP's ``logit_scale``), initialised
            from ``temperature``; the scale 1/tau is clamped to ``max_scale``.
        max_scale: upper clamp of 1/tau when learnable (CLIP uses 100).
    """

    def __init__(
        self, temperature: float = 0.05, learnable: bool = False, max_scale: float = 100.0
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.learnable = learnable
        self.max_scale = max_scale
        log_scale = torch.tensor(math.log(1.0 / temperature))
        if learnable:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)

    @property
    def temperature(self) -> float:
        """The current temperature tau (after clamping)."""
        return float(1.0 / self._scale().detach())

    def _scale(self) -> torch.Tensor:
        scale = self.log_scale.exp()
        return scale.clamp(max=self.max_scale) if self.learnable else scale

    def forward(self, sim: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Return the scalar loss for ``sim`` [Bt, Bv] and boolean ``pos`` [Bt, Bv]."""
        sim, pos = check_sim_pos(sim, pos)
        t2v, v2t = infonce_pair_terms(sim * self._scale().to(sim.dtype), pos)
        return 0.5 * (t2v.sum() + v2t.sum()) / pos.sum()


def infonce_pair_terms(
    logits: torch.Tensor, pos: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-positive-pair InfoNCE terms (t2v, v2t), each [Bt, Bv] and zero off the positives.

    ``logits`` are similarities already divided by the temperature. Exposed so that
    confidence-weighted losses (DCOT) can weight each pair before reducing.
    """
    neg = ~pos
    row_neg = masked_logsumexp(logits, neg, dim=1)  # [Bt]: log sum over row i's negatives
    col_neg = masked_logsumexp(logits, neg, dim=0)  # [Bv]: log sum over column j's negatives
    # -log of the positive's softmax against {itself} + negatives = softplus(lse_neg - s_ij).
    t2v = F.softplus(row_neg[:, None] - logits) * pos
    v2t = F.softplus(col_neg[None, :] - logits) * pos
    return t2v, v2t
