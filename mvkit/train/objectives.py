"""The training objective hook: how a batch's embeddings become a loss.

The trainer embeds a batch, gathers the embeddings across ranks, and hands a
:class:`StepInput` to an :class:`Objective`. The default wraps a contrastive loss
``loss(sim, pos)`` from :func:`mvkit.losses.create_loss`; loss families that need more
than (sim, pos) plug in here without touching the trainer:

* C2KD: student (non-English) similarities vs an English teacher on the same videos —
  ``prepare`` builds the English counterparts (``ctx.build_split``), ``forward`` embeds
  them for ``step.caption_index`` and calls the C2KD loss;
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

from dataclasses import dataclass, field
from typing import Any, Callable

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
    device: torch.device = torch.device("cpu")


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


def default_objective(loss_name: str, loss_kwargs: dict | None, dual: bool) -> Objective:
    """The objective ``fit`` uses when none is given: contrastive, or dual-path for dual text."""
    from mvkit.losses import create_loss

    kw = dict(loss_kwargs or {})
    cls = DualPath if dual else Contrastive
    return cls(create_loss(loss_name, **kw), loss_name, kw)
