"""DCOT on the batch: optimal-transport confidences weight InfoNCE on machine-translated rows."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from mvkit.losses import DCOTLoss, InfoNCE
from mvkit.train.objectives.base import StepInput, TrainContext, register_objective
from mvkit.train.objectives.translation import TranslationObjective

#: where the cross-lingual view's text-text similarities come from
JUDGES = ("store", "model")


def _judge_features(judge: Any, captions: list, store: Any) -> Tensor:
    """Unit text features of ``captions`` by a frozen judge: the store's cached features, or an
    encoder (``judge.encode_text``), e.g. a multilingual tower such as mvkit-tiny-ml."""
    if judge == "store":
        from mvkit.train.data import cached_text_features

        return F.normalize(cached_text_features(store, captions), dim=-1)
    out = torch.zeros(len(captions), int(judge.text_dim))
    by_lang: dict[str, list[int]] = {}
    for i, c in enumerate(captions):
        by_lang.setdefault(c.lang, []).append(i)
    for lang, rows in by_lang.items():
        out[torch.tensor(rows)] = judge.encode_text([captions[i].text for i in rows], lang)
    return F.normalize(out, dim=-1)


@register_objective("dcot")
class DCOTObjective(TranslationObjective):
    """DCOT (2024): InfoNCE on the other rows + OT-confidence-weighted InfoNCE on translated rows.

    The cross-lingual view compares each translation with its English source. DCOT reads it
    from a pretrained multilingual text encoder, which is reliable before the cross-modal
    view has learnt anything (hence the lingual -> modal curriculum). ``judge`` says which:
    ``"store"`` (default) the cosine of the feature store's cached caption features (a fixed
    judge; only as multilingual as the store's text tower), an encoder object (any
    ``VideoTextEncoder``, e.g. one with ``text_model="mvkit-tiny-ml"``; its features are
    computed once), or ``"model"`` (the joint-space text similarity of the model being
    trained, without gradient). The curriculum's epoch comes from a step counter (a buffer,
    so resuming keeps it) divided by the steps per epoch of the trainer's sampler.
    """

    name = "dcot"

    def __init__(self, epochs: int = 1, judge: Any = "store", **kw: Any) -> None:
        super().__init__()
        if isinstance(judge, str) and judge not in JUDGES:
            raise ValueError(f"DCOT judge must be one of {JUDGES} or an encoder, got {judge!r}")
        kw.setdefault("curriculum_epochs", max(1, epochs))
        self.loss = DCOTLoss(**kw)
        self.nce = InfoNCE(temperature=self.loss.temperature)
        self.judge = judge
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self._kw = kw

    def prepare(self, ctx: TrainContext) -> None:
        super().prepare(ctx)
        from mvkit.train.sampler import UniqueVideoBatchSampler

        self.steps_per_epoch = max(1, len(UniqueVideoBatchSampler(
            ctx.train.caption_video.numpy(), ctx.config.batch_size, ctx.config.seed,
            captions_per_video=getattr(ctx.config, "captions_per_video", None))))
        if self.judge != "model":
            caps = ctx.train.captions
            self.mt_unit = _judge_features(self.judge, caps, ctx.store)
            self.src_unit = torch.zeros_like(self.mt_unit)
            found = self.src_found.nonzero().squeeze(1)
            src_caps = [self.src.captions[int(self.src_row[i])] for i in found]
            if src_caps:
                self.src_unit[found] = _judge_features(self.judge, src_caps, ctx.store)

    def forward(self, step: StepInput) -> Tensor:
        epoch = int(self.steps_done) // self.steps_per_epoch
        if self.training:
            self.steps_done += 1
        mt = self.mt_rows(step).to(step.sim.device)
        total = step.sim.new_zeros(())
        if (~mt).any():
            total = total + self.nce(step.sim[~mt], step.pos[~mt])
        if mt.any():
            ci = step.caption_index.cpu()[mt.cpu()]
            if self.judge == "model":
                with torch.no_grad():
                    rows = {k: v[mt] for k, v in step.text_emb.items()}
                    sim_st = step.model.text_similarity(self.sources(step, mt), rows)
            else:
                sim_st = (self.src_unit[ci] @ self.mt_unit[ci].T).to(step.sim)
            vi = step.video_index[mt]
            pos_st = vi[:, None] == vi[None, :]          # translations of one source share it
            total = total + self.loss(step.sim[mt], step.pos[mt], sim_st, epoch, pos_st)
        return total

    def describe(self) -> dict[str, Any]:
        judge = self.judge if isinstance(self.judge, str) else \
            f"encoder {getattr(self.judge, 'text_name', None) or getattr(self.judge, 'name', '?')}"
        return {"objective": self.name, "loss": "infonce + dcot (OT confidences, lingual->modal curriculum)",
                "judge": judge, "loss_kwargs": self._kw}
