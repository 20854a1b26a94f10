"""RUDDER's partial-order loss (positives / partials / negatives around an anchor caption),
plain and optimal-transport-weighted."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from mvkit.losses.base import RetrievalLoss, check_same_shape, register_loss, upcast
from mvkit.losses.sinkhorn import sinkhorn

POSITIVE, PARTIAL, NEGATIVE, IGNORE = 0, 1, 2, -1


def partial_order_terms(
    sim: torch.Tensor, labels: torch.Tensor, anchor: torch.Tensor, p: float, m1: float, m2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-entry partial-order terms [B, C] and the mask of entries that count.

    Validates the inputs (shapes, label values, anchor columns labelled positive) and
    returns (terms, valid) where ``valid`` excludes each row's anchor entry and entries
    labelled ``IGNORE`` (-1, e.g. padding when videos have different caption counts).
    """
    if sim.dim() != 2:
        raise ValueError(f"sim must be 2-D [videos, captions], got shape {tuple(sim.shape)}")
    check_same_shape(labels, sim, "labels", "sim")
    if anchor.shape != (sim.shape[0],):
        raise ValueError(f"anchor must have shape ({sim.shape[0]},), got {tuple(anchor.shape)}")
    labels = labels.to(sim.device).long()
    anchor = anchor.to(sim.device).long()
    if not bool(((labels >= IGNORE) & (labels <= NEGATIVE)).all()):
        raise ValueError("labels must be 0 (positive), 1 (partial), 2 (negative) or -1 (ignore)")
    if bool(((anchor < 0) | (anchor >= sim.shape[1])).any()):
        raise ValueError(f"anchor columns must lie in [0, {sim.shape[1]})")
    rows = torch.arange(sim.shape[0], device=sim.device)
    if not bool((labels[rows, anchor] == POSITIVE).all()):
        raise ValueError(
            "each anchor entry (a video's ground-truth caption) must be labelled positive (0)"
        )
    sim = upcast(sim)
    s = sim - sim[rows, anchor][:, None]
    terms = torch.where(
        labels == POSITIVE,
        F.relu(-p - s) + F.relu(s),
        torch.where(labels == PARTIAL, F.relu(m1 + s) + F.relu(-s - m2), F.relu(m2 + s)),
    )
    valid = labels != IGNORE
    valid[rows, anchor] = False
    if not bool(valid.any()):
        raise ValueError(
            "no entry besides the anchors: the partial-order loss needs other captions"
        )
    return terms * valid, valid


@register_loss("partial_order")
class PartialOrderLoss(RetrievalLoss):
    r"""Partial-order loss (Kumar et al., RUDDER, ICMI 2021).

    ``sim[b, c]``: similarity of video b and caption c; ``labels[b, c]``: 0 positive (another
    caption of b), 1 partial (a caption sharing some of b's content), 2 negative;
    ``anchor[b]``: the column of b's ground-truth caption. With s = sim[b, c] - sim[b, anchor[b]]:

        positive:  [-p - s]_+ + [s]_+          (stay within p below the anchor)
        partial:   [m1 + s]_+ + [-s - m2]_+    (between m1 and m2 below the anchor)
        negative:  [m2 + s]_+                  (at least m2 below the anchor)

    Reduction: mean over all entries except each row's anchor entry (its term is
    identically zero, s = 0, and carries no gradient; RUDDER's released code keeps it in
    the denominator, a constant factor C / (C - 1)) and entries labelled -1 (ignored).

    RUDDER's released code also labels partials 1 or 2 and negatives 3, and adds a plain
    hinge over the other videos' captions; mvkit's contract uses 0/1/2 and leaves the
    in-batch hinge to be combined explicitly (e.g. with ``HingeLoss``).

    Args (paper defaults): p = 0.17, m1 = 0.2, m2 = 0.26 (m1 < m2: partials sit in the band
    [anchor - m2, anchor - m1], negatives below anchor - m2).
    """

    inputs = ("sim", "labels", "anchor")

    def __init__(self, p: float = 0.17, m1: float = 0.2, m2: float = 0.26) -> None:
        super().__init__()
        self.p, self.m1, self.m2 = p, m1, m2

    def forward(
        self, sim: torch.Tensor, labels: torch.Tensor, anchor: torch.Tensor
    ) -> torch.Tensor:
        """Return the scalar loss; see the class docstring for the inputs."""
        terms, valid = partial_order_terms(sim, labels, anchor, self.p, self.m1, self.m2)
        return terms.sum() / valid.sum()


@register_loss("partial_order_ot")
class PartialOrderOTLoss(RetrievalLoss):
    r"""RUDDER's optimal-transport-weighted partial-order loss.

    The per-entry terms l_bc of ``PartialOrderLoss`` are re-weighted by an entropic
    transport plan so that the hardest (most violated) entries get most of each video's
    attention:

        K_bc   = exp(-gamma l_bc)                      (ground metric; detached)
        P      = Sinkhorn(cost = K, uniform marginals, epsilon)
        w_bc   = P_bc / sum_{c' valid} P_bc'           (anchor / ignored entries zeroed)
        L      = mean_b sum_c w_bc l_bc

    A large violation l gives a small cost K, hence more transported mass. The weights are
    not differentiated. With gamma = 0 every valid entry of a row gets the same weight and
    L equals ``PartialOrderLoss`` when all rows have the same number of valid entries.

    Note on the released code: it calls POT's ``sinkhorn(a, b, K, reg=-1/5)``; with a
    negative regulariser POT's kernel becomes exp(+K / 0.2), which favours the *easy*
    entries, against the paper's stated aim (attention to difficult-to-retrieve samples).
    We use epsilon = +0.2, which favours the hard ones. The code also divides by the
    number of entries (``mean`` of the weighted matrix); we average over videos only, so
    the scale matches the unweighted loss.

    Args: p, m1, m2 as in ``PartialOrderLoss``; gamma = 1.0 and epsilon = 0.2 and 50
    Sinkhorn iterations as in the released code.
    """

    inputs = ("sim", "labels", "anchor")

    def __init__(
        self,
        p: float = 0.17,
        m1: float = 0.2,
        m2: float = 0.26,
        gamma: float = 1.0,
        epsilon: float = 0.2,
        n_iters: int = 50,
    ) -> None:
        super().__init__()
        self.p, self.m1, self.m2 = p, m1, m2
        self.gamma, self.epsilon, self.n_iters = gamma, epsilon, n_iters

    def weights(self, terms: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Row-normalised transport weights [B, C] for per-entry terms (no gradient)."""
        plan = sinkhorn(
            torch.exp(-self.gamma * terms.detach()),
            epsilon=self.epsilon,
            n_iters=self.n_iters,
            tol=0.0,
        )
        plan = plan * valid
        return plan / plan.sum(dim=1, keepdim=True).clamp(min=torch.finfo(plan.dtype).tiny)

    def forward(
        self, sim: torch.Tensor, labels: torch.Tensor, anchor: torch.Tensor
    ) -> torch.Tensor:
        """Return the scalar loss; inputs as in ``PartialOrderLoss``."""
        terms, valid = partial_order_terms(sim, labels, anchor, self.p, self.m1, self.m2)
        w = self.weights(terms, valid)
        rows = valid.any(dim=1)
        return (w * terms).sum(dim=1)[rows].mean()
