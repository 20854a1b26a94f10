"""Mithun et al.'s weighted-rank hinge: VSE++'s hardest negative weighted by the positive's rank."""

from __future__ import annotations

import torch

from mvkit.losses._masks import masked_max
from mvkit.losses.base import RetrievalLoss, check_sim_pos, register_loss


def rank_weight(
    n_ahead: torch.Tensor, n_neg: torch.Tensor, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """L(r) = 1 + 1/(N - r + 1) with r = 1 + n_ahead and N = 1 + n_neg.

    r is the positive's 1-based rank among itself and its negatives; the weight runs from
    1 + 1/N (positive ranked first) to 2 (positive ranked last).
    """
    r = 1 + n_ahead
    big_n = 1 + n_neg
    return 1.0 + 1.0 / (big_n - r + 1).to(dtype)


@register_loss("weighted_rank")
class WeightedRankHinge(RetrievalLoss):
    r"""Weighted-rank hardest-negative hinge (Mithun et al., ICMR 2018, eq. (3)).

    For every positive pair (i, j), with N_i / M_j the negatives of row i / column j:

        l(i, j) = L(r_t2v) [a - s_ij + max_{k in N_i} s_ik]_+ + L(r_v2t) [a - s_ij + max_{l in M_j} s_lj]_+
        L(r) = 1 + 1 / (N - r + 1)

    where, per direction, N = 1 + the number of negatives compared (Mithun et al.: "the
    number of compared videos", i.e. the batch size when every video appears once) and
    r = 1 + the number of negatives scoring >= s_ij (ties count against the positive).
    The weight is computed on detached similarities (a rank is piecewise constant: it
    carries no gradient), so only the hinge is differentiated.

    Note on the paper: the text says the weighting follows weighted ranking [31] (Usunier
    et al., ordered weighted pairwise classification, ICML 2009), whose L(r) =
    sum_{j<=r} alpha_j (e.g. alpha_j = 1/j) grows without bound in the rank, but the
    function actually written is 1 + 1/(N - r + 1): same direction (a worse rank weighs
    more) yet bounded in [1 + 1/N, 2], so a badly ranked positive counts at most twice as
    much. We implement the formula as printed. The paper also writes r_v as the rank of the matching sentence
    among "all compared sentences" while defining N via videos; here each direction uses
    its own count, which coincides with the paper's when Bt = Bv with unique videos.

    Reduction: mean over positive pairs (the paper sums over the batch).

    Args:
        margin: alpha, 0.2 in Mithun et al.
    """

    def __init__(self, margin: float = 0.2) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, sim: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Return the scalar loss for ``sim`` [Bt, Bv] and boolean ``pos`` [Bt, Bv]."""
        sim, pos = check_sim_pos(sim, pos)
        neg = ~pos
        pi, pj = pos.nonzero(as_tuple=True)
        s_pos = sim[pi, pj]
        row_hard, row_any = masked_max(sim, neg, dim=1)
        col_hard, col_any = masked_max(sim, neg, dim=0)
        with torch.no_grad():
            d = sim.detach()
            ahead_row = ((d[pi] >= s_pos.detach()[:, None]) & neg[pi]).sum(dim=1)
            ahead_col = ((d[:, pj].T >= s_pos.detach()[:, None]) & neg[:, pj].T).sum(dim=1)
            w_row = rank_weight(ahead_row, neg.sum(dim=1)[pi], sim.dtype)
            w_col = rank_weight(ahead_col, neg.sum(dim=0)[pj], sim.dtype)
        t2v = w_row * (self.margin - s_pos + row_hard[pi]).clamp(min=0) * row_any[pi]
        v2t = w_col * (self.margin - s_pos + col_hard[pj]).clamp(min=0) * col_any[pj]
        return (t2v + v2t).mean()
