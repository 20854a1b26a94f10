"""LECCR and CL2CM on the batch: plain InfoNCE on the other rows, English-guided targets on the
translated rows (the source caption tells the translation what it should match)."""
from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from mvkit.losses import CL2CMLoss, LECCRLoss
from mvkit.train.objectives.base import StepInput, register_objective
from mvkit.train.objectives.translation import TranslationObjective


class GuidedObjective(TranslationObjective):
    """InfoNCE on the batch's other rows + ``self.guided(step, mt_rows)`` on its translated rows."""

    def __init__(self, loss: nn.Module, kw: dict[str, Any]) -> None:
        super().__init__()
        self.loss, self._kw = loss, kw

    def guided(self, step: StepInput, mt: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, step: StepInput) -> Tensor:
        mt = self.mt_rows(step).to(step.sim.device)
        total = step.sim.new_zeros(())
        if (~mt).any():
            total = total + self.loss.contrastive(step.sim[~mt], step.pos[~mt])
        if mt.any():
            total = total + self.guided(step, mt)
        return total

    def describe(self) -> dict[str, Any]:
        return {"objective": self.name, "loss": f"infonce + {self.name} on translated rows", "loss_kwargs": self._kw}


@register_objective("leccr")
class LECCRObjective(GuidedObjective):
    """LECCR's softened matching on the batch: each machine-translated row is matched to the
    videos with its English source's graded similarities (``LECCRLoss``'s ``sim_ev``) as a
    detached soft target; other rows get plain InfoNCE. No MLLM slots here (``slot_sim`` off).
    """

    name = "leccr"

    def __init__(self, **kw: Any) -> None:
        super().__init__(LECCRLoss(**kw), kw)

    def guided(self, step: StepInput, mt: Tensor) -> Tensor:
        sim_ev = step.model.score(self.sources(step, mt), step.video_emb)
        return self.loss(step.sim[mt], step.pos[mt], sim_ev)


@register_objective("cl2cm")
class CL2CMObjective(GuidedObjective):
    """CL2CM's transfer on the batch: the text-text similarity of each machine-translated row
    to the English sources (in the joint space, detached by the loss) is routed to videos
    through those sources (``CL2CMLoss``; sources and rows align, so ``src_pos`` = ``pos``)
    and distilled into the row's text-video similarities; other rows get plain InfoNCE.
    """

    name = "cl2cm"

    def __init__(self, **kw: Any) -> None:
        super().__init__(CL2CMLoss(**kw), kw)

    def guided(self, step: StepInput, mt: Tensor) -> Tensor:
        rows = {k: v[mt] for k, v in step.text_emb.items()}
        sim_tt = step.model.text_similarity(rows, self.sources(step, mt))
        # the teacher reaches a video only through a source caption of it: keep the batch's
        # videos that some translated row describes (the others are in the rows' InfoNCE)
        cols = step.pos[mt].any(dim=0)
        return self.loss(step.sim[mt][:, cols], step.pos[mt][:, cols], sim_tt)
