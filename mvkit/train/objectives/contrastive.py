"""The objective of every ``(sim, pos)`` loss, and MKTVR's dual-path sum L = L_E + L_M."""
from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from mvkit.train.objectives.base import Objective, StepInput


class Contrastive(Objective):
    """``loss(step.sim, step.pos)`` for the contrastive family (InfoNCE, hinge, weighted rank, ...)."""

    name = "contrastive"

    def __init__(self, loss: nn.Module, loss_name: str = "", loss_kwargs: dict | None = None) -> None:
        super().__init__()
        self.loss = loss
        self.loss_name, self.loss_kwargs = loss_name or type(loss).__name__, dict(loss_kwargs or {})

    def forward(self, step: StepInput) -> Tensor:
        return self.loss(step.sim, step.pos)

    def describe(self) -> dict[str, Any]:
        return {"objective": self.name, "loss": self.loss_name, "loss_kwargs": self.loss_kwargs}


class DualPath(Contrastive):
    """MKTVR's L = L_E + L_M: the loss over English rows plus the loss over the other rows.

    English captions go through the English text tower and the others through the
    multilingual tower (``TextProjection`` routes rows by ``is_en``); each subset is scored
    against all videos of the batch. A batch without one of the subsets adds only the other
    (Madasu et al., MKTVR, ECIR 2023, eq. 11).
    """

    name = "dual-path"

    def forward(self, step: StepInput) -> Tensor:
        sim, pos, en = step.sim, step.pos, step.is_en
        total = sim.new_zeros(())
        for rows in (en, ~en):
            if rows.any():
                total = total + self.loss(sim[rows], pos[rows])
        return total
