"""C2KD: the English teacher's text-video similarity distribution distilled into the other languages."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from mvkit.losses import create_loss
from mvkit.models.fusion import Emb, RetrievalModel
from mvkit.train.objectives.base import Objective, StepInput, TrainContext, register_objective


def _rows(emb: Emb, idx: Tensor) -> Emb:
    return {k: v[idx] for k, v in emb.items()}


@torch.no_grad()
def _embed_all(model: RetrievalModel, table: Any, device: torch.device, chunk: int = 512) -> tuple[Emb, Emb]:
    """A frozen model's text embeddings of every caption and video embeddings of every video of ``table``."""
    model.eval()
    nt, nv = len(table.captions), len(table.video_ids)

    def cat(parts: list[Emb]) -> Emb:
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    te = cat([model.embed_text(table.text_batch(torch.arange(i, min(i + chunk, nt))).to(device))
              for i in range(0, nt, chunk)])
    ve = cat([model.embed_video(table.video_batch(torch.arange(i, min(i + chunk, nv))).to(device))
              for i in range(0, nv, chunk)])
    return te, ve


@register_objective("c2kd")
class C2KD(Objective):
    """C2KD training: L = b * contrastive(sim, pos) + (1 - b) * C2KD(student_sim, teacher_sim).

    Student rows are the batch's non-English captions (their similarities to all videos of
    the batch, through the text side being trained: frozen or trainable); the teacher rows
    are English captions of the same items -- the caption a translation was made from
    (``source_id``) when it is an English training caption, else the first English human
    caption of the same video -- scored by the frozen teacher model(s) against the same
    videos. Several teachers are pooled by ``pool`` (:class:`mvkit.losses.C2KDLoss`). A
    teacher is frozen, so its embeddings of every training caption and video are computed
    once in :meth:`prepare`; with no ``teachers`` the model being trained is its own
    English teacher (its similarities, without gradient). b = 0.1 and the loss defaults
    follow the released code (Rouditchenko et al., C2KD, 2022).
    """

    name = "c2kd"

    def __init__(self, contrastive: str = "infonce", balance: float = 0.1, temperature: float = 0.1,
                 pool: str = "max", teachers: Sequence[RetrievalModel] = (), **contrastive_kw: Any) -> None:
        super().__init__()
        if not 0 <= balance <= 1:
            raise ValueError(f"C2KD balance must be in [0, 1], got {balance}")
        self.contrastive = create_loss(contrastive, **contrastive_kw)
        self.kd = create_loss("c2kd", temperature=temperature, pool=pool)
        self.balance = balance
        self.teachers = list(teachers)              # plain list: not trained, not checkpointed
        self._desc = {"objective": self.name, "contrastive": contrastive, "contrastive_kwargs": contrastive_kw,
                      "balance": balance, "temperature": temperature, "pool": pool,
                      "teachers": len(self.teachers) or "self"}

    def prepare(self, ctx: TrainContext) -> None:
        self.en = ctx.build_split("train", langs=["en"], kinds=["human"])
        by_id = {c.caption_id: i for i, c in enumerate(self.en.captions)}
        by_video: dict[str, int] = {}
        for i, c in enumerate(self.en.captions):
            by_video.setdefault(c.video_id, i)
        rows = [-1 if c.lang == "en" else by_id.get(c.source_id or "", by_video.get(c.video_id, -1))
                for c in ctx.train.captions]
        self.teacher_row = torch.tensor(rows, dtype=torch.long)
        self.cached: list[tuple[Emb, Emb]] = []
        for k, t in enumerate(self.teachers):
            table = self._teacher_table(ctx, t, k)
            self.cached.append(_embed_all(t.to(ctx.device), table, ctx.device))

    def _teacher_table(self, ctx: TrainContext, teacher: RetrievalModel, k: int) -> Any:
        """The English training captions and training videos as teacher ``k`` reads them (checked)."""
        if teacher.text.module is not None:
            raise ValueError(f"C2KD teacher {k}: a teacher reads cached English features; its text side is "
                             "trainable (use a model trained with text_encoder='frozen')")
        table = ctx.build_split("train", langs=["en"], kinds=["human"], streams=teacher.streams, cached_text="all",
                                tokenizer=None)
        if table.video_ids != ctx.train.video_ids or [c.caption_id for c in table.captions] != \
                [c.caption_id for c in self.en.captions]:
            raise ValueError(f"C2KD teacher {k}: its training videos or English captions differ from the run's")
        width = int(table.text.shape[1])
        if int(teacher.text.dim) != width:
            raise ValueError(f"C2KD teacher {k} expects text features of width {teacher.text.dim}, the store's "
                             f"English features have width {width}")
        for s in teacher.streams:
            want = int(teacher.video_norms[s].mean.shape[0]) if s in teacher.video_norms else None
            have = int(table.feats[s].shape[-1])
            if want is not None and want != have:
                raise ValueError(f"C2KD teacher {k} expects {s!r} features of width {want}, the store has {have}")
        return table

    def forward(self, step: StepInput) -> Tensor:
        loss = self.contrastive(step.sim, step.pos)
        rows = self.teacher_row[step.caption_index.cpu()]
        student = (~step.is_en.cpu()) & (rows >= 0)
        kd = step.sim.new_zeros(())
        if student.any():
            device = step.sim.device
            t_rows, vids = rows[student].to(device), step.video_index
            sims = []
            with torch.no_grad():
                if self.teachers:
                    for t, (te, ve) in zip(self.teachers, self.cached):
                        sims.append(t.score(_rows(te, t_rows), _rows(ve, vids)))
                else:
                    te = step.model.embed_text(self.en.text_batch(rows[student]).to(device))
                    sims.append(step.model.score(te, step.video_emb))
            kd = self.kd(step.sim[student.to(device)], sims[0] if len(sims) == 1 else sims)
        return self.balance * loss + (1 - self.balance) * kd

    def describe(self) -> dict[str, Any]:
        return dict(self._desc)
