"""NRCCR: noise-robust cross-lingual cross-modal retrieval via multi-view self-distillation."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from mvkit.losses._distill import soft_cross_entropy
from mvkit.losses.base import RetrievalLoss, check_same_shape, check_sim_pos, register_loss, upcast
from mvkit.losses.hinge import HingeLoss


@register_loss("nrccr")
class NRCCRLoss(RetrievalLoss):
    r"""Multi-view self-distillation with back-translation consistency (after NRCCR, Wang et al., ACM MM 2022).

    Inputs (rows of the text matrices are aligned: row i is item i in every view):
      * ``sim_src``  [Bt, Bv] source (English) caption vs video;
      * ``sim_tgt``  [Bt, Bv] machine-translated target-language caption vs video (noisy);
      * ``pos``      [Bt, Bv] positives (shared by both);
      * ``sim_cross`` [Bt, Bv] optional: the cross-attention text (target attending to
        source) vs video -- the soft pseudo-target of the *similarity view*;
      * ``feat_tgt``, ``feat_cross`` [Bt, D] optional: target-language and cross-attention
        text embeddings -- the *feature view*;
      * ``sim_back`` [Bt, Bt] optional: source caption i vs back-translated caption k
        (target translated back to the source language); its positives are the diagonal.

        L = H(sim_src) + a H(sim_tgt)
            + b 1/2 [ CE(softmax_j(sim_cross/tau) | sim_tgt/tau) + CE(softmax_i(sim_cross/tau) | sim_tgt/tau) ]
            + g SmoothL1_beta(feat_tgt, feat_cross)
            + w H(sim_back, diagonal)

    with H the hardest-negative hinge (VSE++, margin 0.2, mean over positive pairs) and CE
    the soft cross-entropy -sum_j q_j log softmax(.)_j averaged over rows (columns); the
    similarity-view target is detached. Optional views that are not given are skipped.

    What is interpretation: the abstract names the two views, the cross-attention soft
    targets and the back-translation consistency; the concrete forms and the weights
    a = 0.6, b = 0.4, g = 0.1, w = 0.5, tau = 0.07, SmoothL1 beta = 4 and the hardest-negative
    hinge follow NRCCR's released training scripts, where the feature-view target is *not*
    detached (both branches move). The released code sums the hinge over the batch and
    adds an adversarial language-discriminator term; we average and leave it out.
    """

    inputs = ("sim_src", "sim_tgt", "pos")

    def __init__(
        self,
        margin: float = 0.2,
        max_violation: bool = True,
        temperature: float = 0.07,
        tri_alpha: float = 0.6,
        dtl_beta: float = 0.4,
        l1_gamma: float = 0.1,
        back_w: float = 0.5,
        smooth_l1_beta: float = 4.0,
    ) -> None:
        super().__init__()
        self.hinge = HingeLoss(margin=margin, max_violation=max_violation)
        self.temperature = temperature
        self.tri_alpha, self.dtl_beta, self.l1_gamma, self.back_w = (
            tri_alpha,
            dtl_beta,
            l1_gamma,
            back_w,
        )
        self.smooth_l1_beta = smooth_l1_beta

    def similarity_view(self, sim_tgt: torch.Tensor, sim_cross: torch.Tensor) -> torch.Tensor:
        """Soft cross-entropy of the target-language sims against the detached cross-attention sims."""
        s, t = (
            upcast(sim_tgt) / self.temperature,
            upcast(sim_cross.detach()).to(upcast(sim_tgt)) / self.temperature,
        )
        t2v = soft_cross_entropy(s, F.softmax(t, dim=1), dim=1)
        v2t = soft_cross_entropy(s, F.softmax(t, dim=0), dim=0)
        return 0.5 * (t2v + v2t)

    def forward(
        self,
        sim_src: torch.Tensor,
        sim_tgt: torch.Tensor,
        pos: torch.Tensor,
        sim_cross: torch.Tensor | None = None,
        feat_tgt: torch.Tensor | None = None,
        feat_cross: torch.Tensor | None = None,
        sim_back: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return the scalar loss; see the class docstring for the inputs."""
        sim_src, pos = check_sim_pos(sim_src, pos)
        check_same_shape(sim_tgt, sim_src, "sim_tgt", "sim_src")
        loss = self.hinge(sim_src, pos) + self.tri_alpha * self.hinge(sim_tgt, pos)
        if sim_cross is not None:
            check_same_shape(sim_cross, sim_tgt, "sim_cross", "sim_tgt")
            loss = loss + self.dtl_beta * self.similarity_view(sim_tgt, sim_cross)
        if (feat_tgt is None) != (feat_cross is None):
            raise ValueError("feat_tgt and feat_cross go together (the feature view needs both)")
        if feat_tgt is not None:
            loss = loss + self.l1_gamma * F.smooth_l1_loss(
                upcast(feat_tgt), upcast(feat_cross), beta=self.smooth_l1_beta
            )
        if sim_back is not None:
            if sim_back.dim() != 2 or sim_back.shape[0] != sim_back.shape[1]:
                raise ValueError(f"sim_back must be square [Bt, Bt], got {tuple(sim_back.shape)}")
            eye = torch.eye(sim_back.shape[0], dtype=torch.bool, device=sim_back.device)
            loss = loss + self.back_w * self.hinge(sim_back, eye)
        return loss
