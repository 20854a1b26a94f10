"""The training objective hook: how a batch's embeddings become a loss.

The trainer embeds a batch, gathers the embeddings across ranks, and hands a
:class:`StepInput` to an :class:`Objective`. The default wraps a contrastive loss
``loss(sim, pos)`` from :func:`mvkit.losses.create_loss`; loss families that need more
than (sim, pos) plug in here without touching the trainer:

* C2KD (built in, :class:`C2KD`, ``--loss c2kd``): student (non-English) similarities vs
  an English teacher on the same videos — ``prepare`` builds the English counterparts
  (``ctx.build_split``), ``forward`` embeds them for ``step.caption_index`` and calls
  :class:`mvkit.losses.C2KDLoss`;
* the partial-order loss: ``forward`` looks up ``ctx.dataset.partial_labels`` for the
  batch's (video, caption) pairs.

An objective is an ``nn.Module`` (its parameters, e.g. a learnable temperature, are
optimised and checkpointed with the model). Contract:

    class MyObjective(Objective):
        name = "my-objective"
        def prepare(self, ctx: TrainContext) -> None: ...      # once, before training
        def forward(self, step: StepInput) -> Tensor: ...      # scalar loss
        def describe(self) -> dict: ...                         # goes in the run record

and ``fit(config, objective=MyObjective(...))``. ``step.caption_index`` and
``step.video_index`` index the *global* batch (all ranks) into ``ctx.train``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from mvkit.models.fusion import Emb, RetrievalModel


@dataclass
class TrainContext:
    """What an objective may read before training: config, dataset, store(s), the train split."""

    config: Any
    dataset: Any
    store: Any
    train: Any                       # mvkit.train.data.SplitData of the training captions
    model: RetrievalModel
    build_split: Callable[..., Any]  # mvkit.train.data.build_split, bound to dataset/store
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    tokenize: Callable | None = None  # encoder.tokenize when the text tower is fine-tuned


@dataclass
class StepInput:
    """One training step, seen by the objective (embeddings already gathered across ranks)."""

    model: RetrievalModel
    text_emb: Emb
    video_emb: Emb
    caption_index: Tensor            # [B] global batch -> rows of ctx.train.captions
    video_index: Tensor              # [B] -> rows of ctx.train.video_ids
    is_en: Tensor                    # [B] bool
    _cache: dict[str, Tensor] = field(default_factory=dict, repr=False)

    @property
    def sim(self) -> Tensor:
        """``[B, B]`` similarity of every caption to every caption's video (computed once)."""
        if "sim" not in self._cache:
            self._cache["sim"] = self.model.score(self.text_emb, self.video_emb)
        return self._cache["sim"]

    @property
    def pos(self) -> Tensor:
        """``pos[i, j]``: caption i describes the video in column j (duplicates are positives)."""
        return self.video_index[:, None] == self.video_index[None, :]


class Objective(nn.Module):
    """Base class of the hook (see module docstring)."""

    name = "objective"

    def prepare(self, ctx: TrainContext) -> None:
        """Called once before training (and again on resume) with the loaded data."""

    def forward(self, step: StepInput) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"objective": self.name}


class Contrastive(Objective):
    """``loss(step.sim, step.pos)`` for the contrastive family (InfoNCE, hinge, weighted rank)."""

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
    against all videos of the batch. A batch without one of the subsets adds only the other.
    """

    name = "dual-path"

    def forward(self, step: StepInput) -> Tensor:
        sim, pos, en = step.sim, step.pos, step.is_en
        total = sim.new_zeros(())
        for rows in (en, ~en):
            if rows.any():
                total = total + self.loss(sim[rows], pos[rows])
        return total


class C2KD(Objective):
    """C2KD training: L = b * contrastive(sim, pos) + (1 - b) * C2KD(student_sim, teacher_sim).

    Student rows are the batch's non-English captions (their similarities to all videos of
    the batch); the teacher rows are English captions of the same items — the caption a
    translation was made from (``source_id``) when it is an English training caption, else
    the first English human caption of the same video — scored by the teacher model(s)
    against the same videos, without gradient. With no ``teachers`` the model being trained
    is its own English teacher. b = 0.1 and the C2KD loss defaults follow the released code
    (Rouditchenko et al., C2KD, 2022; see :class:`mvkit.losses.C2KDLoss`).
    """

    name = "c2kd"

    def __init__(self, contrastive: str = "infonce", balance: float = 0.1, temperature: float = 0.1,
                 pool: str = "max", teachers: Sequence[RetrievalModel] = (), **contrastive_kw: Any) -> None:
        super().__init__()
        from mvkit.losses import create_loss

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
        self.train_data = ctx.train
        self.tokenize = ctx.tokenize
        self.en = ctx.build_split("train", langs=["en"], kinds=["human"])
        by_id = {c.caption_id: i for i, c in enumerate(self.en.captions)}
        by_video: dict[str, int] = {}
        for i, c in enumerate(self.en.captions):
            by_video.setdefault(c.video_id, i)
        rows = [-1 if c.lang == "en" else by_id.get(c.source_id or "", by_video.get(c.video_id, -1))
                for c in ctx.train.captions]
        self.teacher_row = torch.tensor(rows, dtype=torch.long)

    def forward(self, step: StepInput) -> Tensor:
        loss = self.contrastive(step.sim, step.pos)
        rows = self.teacher_row[step.caption_index.cpu()]
        student = (~step.is_en.cpu()) & (rows >= 0)
        kd = step.sim.new_zeros(())
        if student.any():
            device = step.sim.device
            tb = self.en.text_batch(rows[student], self.tokenize).to(device)
            sims = []
            with torch.no_grad():
                for t in (self.teachers or [step.model]):
                    ve = step.video_emb if t is step.model else \
                        t.embed_video(self.train_data.video_batch(step.video_index.cpu()).to(device))
                    sims.append(t.score(t.embed_text(tb), ve))
            kd = self.kd(step.sim[student.to(device)], sims[0] if len(sims) == 1 else sims)
        return self.balance * loss + (1 - self.balance) * kd

    def describe(self) -> dict[str, Any]:
        return dict(self._desc)


#: losses that take (sim, pos) and can be used directly as ``--loss``
CONTRASTIVE_LOSSES = ("infonce", "hinge", "vse", "vse++", "weighted_rank")
#: objectives selectable by name (``TrainConfig.loss`` / ``--loss``), kwargs from loss_kwargs
OBJECTIVES: dict[str, Callable[..., Objective]] = {"c2kd": C2KD}


def default_objective(loss_name: str, loss_kwargs: dict | None, dual: bool,
                      epochs: int | None = None) -> Objective:
    """The objective for ``TrainConfig.loss``: a named objective (``c2kd``, ``nrccr``, ``dcot``),
    else the contrastive loss (MKTVR's dual path for dual-text models). Other loss families
    need an objective. A named objective with an ``epochs`` parameter (DCOT's curriculum)
    gets the run's epoch count unless ``loss_kwargs`` sets it."""
    import inspect

    import mvkit.train.paper_objectives  # noqa: F401  (registers nrccr, dcot)
    from mvkit.losses import create_loss

    kw = dict(loss_kwargs or {})
    key = loss_name.strip().lower().replace("-", "_")
    if key in OBJECTIVES:
        if epochs is not None and "epochs" in inspect.signature(OBJECTIVES[key]).parameters:
            kw.setdefault("epochs", epochs)
        return OBJECTIVES[key](**kw)
    from mvkit.losses import LOSSES

    if key not in {n.replace("-", "_") for n in CONTRASTIVE_LOSSES} and key not in LOSSES:
        raise ValueError(f"unknown loss {loss_name!r}; named objectives: {sorted(OBJECTIVES)}; "
                         f"contrastive losses: {list(CONTRASTIVE_LOSSES)}")
    if key not in {n.replace("-", "_") for n in CONTRASTIVE_LOSSES}:
        raise ValueError(f"loss {loss_name!r} does not take (sim, pos); train it through an objective "
                         f"(mvkit.train.Objective, passed as fit(..., objective=...)). Named objectives: "
                         f"{sorted(OBJECTIVES)}; contrastive losses: {list(CONTRASTIVE_LOSSES)}")
    cls = DualPath if dual else Contrastive
    return cls(create_loss(loss_name, **kw), loss_name, kw)
