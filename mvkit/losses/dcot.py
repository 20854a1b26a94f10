"""DCOT: dual-view curricular optimal transport confidences for noisy machine-translated pairs."""

from __future__ import annotations

import torch

from mvkit.losses.base import RetrievalLoss, check_sim_pos, register_loss, upcast
from mvkit.losses.infonce import infonce_pair_terms
from mvkit.losses.sinkhorn import sinkhorn


def transport_confidence(
    sim: torch.Tensor,
    pos: torch.Tensor,
    epsilon: float,
    n_iters: int,
    threshold: float | None = None,
) -> torch.Tensor:
    """Per-row share of transported mass that lands on the row's positives, in [0, 1].

    Entropic OT between the n rows and m columns with cost 1 - sim, plus a dustbin row
    and column (SuperGlue's construction, Sarlin et al. 2020) whose cost is
    1 - ``threshold``: every row has mass 1 and may send it to the dustbin instead of a
    column that is not worth the threshold; the dustbins have masses m and n, so they can
    absorb everything. confidence_i = sum_{j pos} P_ij. A clean pair keeps its mass; a
    mistranslated caption that nothing supports, or that loses a contested video to a
    better caption, gives it to the dustbin or elsewhere. Without the dustbin a balanced
    plan must give every video to someone and cannot flag a pair that nobody else wants.

    ``threshold`` defaults to the batch's mean similarity (pairs must beat the average).
    """
    s = upcast(sim.detach())
    n, m = s.shape
    thr = float(s.mean()) if threshold is None else threshold
    cost = torch.full((n + 1, m + 1), 1.0 - thr, dtype=s.dtype, device=s.device)
    cost[:n, :m] = 1.0 - s
    a = torch.cat([torch.ones(n, dtype=s.dtype, device=s.device), s.new_tensor([float(m)])])
    b = torch.cat([torch.ones(m, dtype=s.dtype, device=s.device), s.new_tensor([float(n)])])
    plan = sinkhorn(cost, a / (n + m), b / (n + m), epsilon=epsilon, n_iters=n_iters, tol=1e-7)
    return ((plan[:n, :m] * pos).sum(dim=1) * (n + m)).clamp(0.0, 1.0)


@register_loss("dcot")
class DCOTLoss(RetrievalLoss):
    r"""Confidence-weighted contrastive loss with dual-view curricular OT (after DCOT, 2024).

    Inputs: ``sim_tv[i, j]`` machine-translated caption i vs video j (trained), ``pos``,
    ``sim_st[k, i]`` source (English) caption k vs translated caption i (cross-lingual
    view; ``pos_st`` marks translations, the diagonal by default), and the current
    ``epoch`` (0-based).

        c_m(i) = sum_{j: pos[i, j]} P^m_ij,       P^m = Sinkhorn(1 - sim_tv, dustbins)    (cross-modal view)
        c_l(i) = sum_{k: pos_st[k, i]} P^l_ki,    P^l = Sinkhorn(1 - sim_st, dustbins)    (cross-lingual view)
        lambda(e) = max(lambda_min, 1 - e / curriculum_epochs)
        c(i) = lambda c_l(i) + (1 - lambda) c_m(i)                                      (detached)
        L = mean_{(i,j) pos} c(i) 1/2 [ l_t2v(i, j) + l_v2t(i, j) ]                      (InfoNCE terms)

    The curriculum trusts the cross-lingual view first (text-text, same modality: a
    pretrained multilingual encoder already judges translations) and hands over to the
    cross-modal view as that network learns. Noisy pairs are down-weighted, never given
    negative weight, and the mean is over all positive pairs (not the sum of weights), so
    the loss shrinks when the batch looks noisy.

    What is interpretation: DCOT's abstract says only that pair confidence is quantified
    with optimal transport from the cross-lingual and cross-modal views and that a
    dual-view curriculum models the transport costs by learning stage. The share-of-mass
    confidence with dustbins (``transport_confidence``), cost 1 - similarity, the linear
    hand-over schedule and its defaults are ours; no released code was available here.

    Args:
        temperature: InfoNCE temperature.
        epsilon, n_iters: Sinkhorn regularisation and iterations.
        threshold: dustbin similarity (None = each view's batch mean similarity).
        curriculum_epochs: epochs over which the weight moves from the lingual to the modal view.
        lambda_min: final weight of the cross-lingual view.
    """

    inputs = ("sim_tv", "pos", "sim_st", "epoch")

    def __init__(
        self,
        temperature: float = 0.05,
        epsilon: float = 0.05,
        n_iters: int = 100,
        curriculum_epochs: int = 10,
        lambda_min: float = 0.0,
        threshold: float | None = None,
    ) -> None:
        super().__init__()
        if curriculum_epochs < 1 or not 0.0 <= lambda_min <= 1.0:
            raise ValueError("curriculum_epochs must be >= 1 and lambda_min in [0, 1]")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.epsilon, self.n_iters = epsilon, n_iters
        self.curriculum_epochs, self.lambda_min = curriculum_epochs, lambda_min
        self.threshold = threshold

    def lingual_weight(self, epoch: int) -> float:
        """lambda(epoch): the cross-lingual view's share of the confidence."""
        return max(self.lambda_min, 1.0 - epoch / self.curriculum_epochs)

    def confidence(
        self,
        sim_tv: torch.Tensor,
        pos: torch.Tensor,
        sim_st: torch.Tensor,
        epoch: int,
        pos_st: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Per-caption confidence c(i) in [0, 1], shape [Bt] (no gradient)."""
        n = sim_tv.shape[0]
        if sim_st.dim() != 2 or sim_st.shape[1] != n:
            raise ValueError(
                f"sim_st must be [sources, {n}] (source vs translated caption), got {tuple(sim_st.shape)}"
            )
        if pos_st is None:
            if sim_st.shape[0] != n:
                raise ValueError("pos_st is required when sim_st is not square")
            pos_st = torch.eye(n, dtype=torch.bool, device=sim_st.device)
        c_modal = transport_confidence(sim_tv, pos, self.epsilon, self.n_iters, self.threshold)
        # The lingual plan's columns are the translated captions: transpose to rows.
        c_lingual = transport_confidence(
            sim_st.T, pos_st.T.to(torch.bool), self.epsilon, self.n_iters, self.threshold
        )
        lam = self.lingual_weight(epoch)
        return lam * c_lingual.to(c_modal) + (1 - lam) * c_modal

    def forward(
        self,
        sim_tv: torch.Tensor,
        pos: torch.Tensor,
        sim_st: torch.Tensor,
        epoch: int,
        pos_st: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return the scalar loss; see the class docstring for the inputs."""
        sim_tv, pos = check_sim_pos(sim_tv, pos)
        conf = self.confidence(sim_tv, pos, sim_st, epoch, pos_st).to(sim_tv)
        t2v, v2t = infonce_pair_terms(sim_tv / self.temperature, pos)
        return (conf[:, None] * 0.5 * (t2v + v2t)).sum() / pos.sum()
