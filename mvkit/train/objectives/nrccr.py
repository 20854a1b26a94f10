"""NRCCR on the batch: hinge on English and translated views plus back-translation consistency."""
from __future__ import annotations

from typing import Any

from torch import Tensor

from mvkit.losses import NRCCRLoss
from mvkit.train.objectives.base import StepInput, register_objective
from mvkit.train.objectives.translation import TranslationObjective


@register_objective("nrccr")
class NRCCRObjective(TranslationObjective):
    """NRCCR (Wang et al., ACM MM 2022) on the batch: H(other rows) + NRCCR(translated rows).

    For the machine-translated rows: sim_src = their English sources vs the batch's videos,
    sim_tgt = the rows themselves, sim_back = sources vs back-translations (text-text in the
    joint space, diagonal positives), all through the text side being trained. The
    cross-attention similarity and feature views need a cross-attention text module that
    these models lack; they are skipped (``NRCCRLoss`` treats them as optional). Other rows
    (English) get the same hinge.
    """

    name = "nrccr"

    def __init__(self, **kw: Any) -> None:
        super().__init__()
        self.loss = NRCCRLoss(**kw)
        self._kw = kw

    def forward(self, step: StepInput) -> Tensor:
        mt = self.mt_rows(step).to(step.sim.device)
        total = step.sim.new_zeros(())
        if (~mt).any():
            total = total + self.loss.hinge(step.sim[~mt], step.pos[~mt])
        if mt.any():
            src = self.sources(step, mt)
            back = self.back_translations(step, mt)
            sim_back = step.model.text_similarity(src, back) if back is not None else None
            total = total + self.loss(step.model.score(src, step.video_emb), step.sim[mt], step.pos[mt],
                                      sim_back=sim_back)
        return total

    def describe(self) -> dict[str, Any]:
        return {"objective": self.name, "loss": "hinge + nrccr (source, target, back-translation views)",
                "loss_kwargs": self._kw}
