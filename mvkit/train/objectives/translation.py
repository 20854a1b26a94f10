"""What the noise-robust objectives share: which rows are machine translations, and tables of
their English sources and back-translations embedded by the model being trained."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from mvkit.models.fusion import Emb
from mvkit.train.objectives.base import Objective, StepInput, TrainContext, embed_rows


def back_translation_id(caption: Any) -> str | None:
    """Id of the back-translation of a machine-translated caption (embedded-world naming)."""
    if caption.kind != "machine-translated" or not caption.source_id:
        return None
    return f"{caption.source_id.split('#')[0]}#en2{caption.lang}2en#0"


class TranslationObjective(Objective):
    """Base of NRCCR, DCOT, LECCR and CL2CM: per training row, is it a machine translation, and
    where are its English source and back-translation (rows of ``self.src`` / ``self.back``).

    Sources and back-translations go through the text side being trained (cached features
    or tokens, as the model reads), so the objectives work with a frozen or trainable side.
    """

    def prepare(self, ctx: TrainContext) -> None:
        caps = ctx.train.captions
        self.is_mt = torch.tensor([c.kind == "machine-translated" for c in caps])
        self.src = ctx.build_split("train", langs=["en"], kinds=["human"])
        self.src_row, self.src_found = self.src.rows_of(
            [c.source_id if c.kind == "machine-translated" else None for c in caps])
        back = [back_translation_id(c) for c in caps]
        try:
            self.back = ctx.build_split("train", langs=["en"], kinds=["back-translated"])
            self.back_row, self.back_found = self.back.rows_of(back)
        except ValueError:        # a dataset without back-translations: that view is skipped
            self.back, self.back_found = None, torch.zeros(len(caps), dtype=torch.bool)
            self.back_row = torch.zeros(len(caps), dtype=torch.long)

    def mt_rows(self, step: StepInput) -> Tensor:
        """``[B]`` bool: the batch rows that are machine translations with a known source."""
        ci = step.caption_index.cpu()
        return self.is_mt[ci] & self.src_found[ci]

    def sources(self, step: StepInput, mt: Tensor) -> Emb:
        """The English sources of the translated rows ``mt``, embedded by the model being trained."""
        ci = step.caption_index.cpu()[mt.cpu()]
        return embed_rows(step.model, self.src, self.src_row[ci], step.sim.device)

    def back_translations(self, step: StepInput, mt: Tensor) -> Emb | None:
        """Their back-translations (None unless every translated row of the batch has one)."""
        ci = step.caption_index.cpu()[mt.cpu()]
        if self.back is None or not bool(self.back_found[ci].all()):
            return None
        return embed_rows(step.model, self.back, self.back_row[ci], step.sim.device)
