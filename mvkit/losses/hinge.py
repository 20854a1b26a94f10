"""Bidirectional hinge (triplet ranking) loss: VSE's sum over negatives, VSE++'s hardest."""

from __future__ import annotations

import torch

from mvkit.losses._masks import masked_max
from mvkit.losses.base import RetrievalLoss, check_sim_pos, register_loss


@register_loss("vse++", max_violation=True)
@register_loss("vse", max_violation=False)
@register_loss("hinge")
class HingeLoss(RetrievalLoss):
    r"""Bidirectional max-margin ranking loss over a masked similarity matrix.

    For every positive pair (i, j), with N_i the negatives of row i (videos text i does
    not describe) and M_j the negatives of column j (texts that do not describe video j):

        sum (VSE):       l(i, j) = sum_{k in N_i} [a - s_ij + s_ik]_+ + sum_{l in M_j} [a - s_ij + s_lj]_+
        max (VSE++):     l(i, j) = max_{k in N_i} [a - s_ij + s_ik]_+ + max_{l in M_j} [a - s_ij + s_lj]_+

    (Mithun et al., ICMR 2018, eqs. (1) and (2); Kiros et al. 2014 for the sum; Faghri
    et al., VSE++, BMVC 2018 for the hardest negative). A direction with no negative
    contributes 0. The same video twice in a batch is a positive, never a negative.

    Reduction: mean over positive pairs of the two directions' sum. The papers *sum* over
    the batch instead; the mean makes the learning rate independent of the batch size
    (multiply by the number of positive pairs to recover the papers' scale).

    Args:
        margin: alpha; Mithun et al. choose 0.2 empirically (also VSE++'s value).
        max_violation: False = sum over all negatives (VSE), True = hardest negative (VSE++).
    """

    def __init__(self, margin: float = 0.2, max_violation: bool = False) -> None:
        super().__init__()
        self.margin = margin
        self.max_violation = max_violation

    def forward(self, sim: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Return the scalar loss for ``sim`` [Bt, Bv] and boolean ``pos`` [Bt, Bv]."""
        sim, pos = check_sim_pos(sim, pos)
        neg = ~pos
        pi, pj = pos.nonzero(as_tuple=True)
        s_pos = sim[pi, pj][:, None]  # [P, 1]
        if self.max_violation:
            row_hard, row_any = masked_max(sim, neg, dim=1)  # hardest negative video per text
            col_hard, col_any = masked_max(sim, neg, dim=0)  # hardest negative text per video
            t2v = (self.margin - s_pos[:, 0] + row_hard[pi]).clamp(min=0) * row_any[pi]
            v2t = (self.margin - s_pos[:, 0] + col_hard[pj]).clamp(min=0) * col_any[pj]
        else:
            # [P, Bv] and [P, Bt] slices keep memory linear in the number of positive pairs.
            t2v = ((self.margin - s_pos + sim[pi]).clamp(min=0) * neg[pi]).sum(dim=1)
            v2t = ((self.margin - s_pos + sim[:, pj].T).clamp(min=0) * neg[:, pj].T).sum(dim=1)
        return (t2v + v2t).mean()
