"""The training-objective hook: how one step's embeddings become a loss, and the registry of names.

The trainer embeds a batch, gathers the embeddings across ranks, and hands a
:class:`StepInput` to an :class:`Objective`. A loss that consumes ``(sim, pos)`` needs no
objective of its own (:func:`mvkit.train.objectives.create_objective` wraps it); a loss that
needs more (teacher similarities, source captions, probe captions) comes with an objective
registered by name::

    @register_objective("my_objective")
    class MyObjective(Objective):
        def prepare(self, ctx: TrainContext) -> None: ...      # once, before training
        def forward(self, step: StepInput) -> Tensor: ...      # scalar loss
        def describe(self) -> dict: ...                         # goes in the run record

after which ``TrainConfig(loss="my_objective")`` / ``mvkit train --loss my_objective``
trains it. An objective is an ``nn.Module``: its parameters (e.g. a learnable temperature)
are optimised and checkpointed with the model. ``step.caption_index`` and
``step.video_index`` index the *global* batch (all ranks) into ``ctx.train``.

Extra captions (an MT row's English source, its back-translation, probe captions) are
embedded by the model being trained through :meth:`TrainContext.build_split` tables, which
carry whatever the model's text side reads (cached features or tokens), so an objective
works the same with a frozen or a trainable text side.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from mvkit.losses.base import normalise_name
from mvkit.models.fusion import Emb, RetrievalModel
from mvkit.registry import registrar


@dataclass
class TrainContext:
    """What an objective may read before training.

    config: the TrainConfig; dataset / store: the run's data; train: the training split as
    loaded (:class:`mvkit.train.data.SplitData`); model: the model being trained;
    build_split(split, **kw): loads another table of the dataset the way the model reads it
    (same streams, cached features and / or tokens; ``kw`` overrides ``langs``, ``kinds``,
    ``cached_text``, ``streams``); encoder: the feature encoder of the store, when the run
    has it; :meth:`require_encoder` builds it on demand (from the store's provenance,
    checked against its weights hash) for objectives that encode extra captions.
    """

    config: Any
    dataset: Any
    store: Any
    train: Any
    model: RetrievalModel
    build_split: Callable[..., Any]
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    encoder: Any = None
    encoder_factory: Callable[[], Any] | None = None

    def require_encoder(self) -> Any:
        """The feature encoder (built once on first use); an error says how to provide it."""
        if self.encoder is None and self.encoder_factory is not None:
            self.encoder = self.encoder_factory()
        if self.encoder is None:
            raise ValueError("this objective encodes captions with the feature encoder; pass fit(..., encoder=...)")
        return self.encoder


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
    """Base class of the hook (see the module docstring)."""

    name = "objective"

    def prepare(self, ctx: TrainContext) -> None:
        """Called once before training (and again on resume) with the loaded data."""

    def forward(self, step: StepInput) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"objective": self.name}


def embed_rows(model: RetrievalModel, table: Any, rows: Tensor, device: torch.device | str) -> Emb:
    """The model's text embeddings of rows ``rows`` of a caption table (features or tokens)."""
    return model.embed_text(table.text_batch(rows.cpu()).to(device))


ObjectiveFactory = Callable[..., Objective]
#: objective name -> factory (a class or function taking the objective's keyword arguments)
OBJECTIVES: dict[str, ObjectiveFactory] = {}


def register_objective(name: str) -> Callable[[ObjectiveFactory], ObjectiveFactory]:
    """Decorator: make an objective class (or factory function) trainable by ``name``."""
    return registrar(OBJECTIVES, "objective", normalise_name(name))


def takes(factory: Callable[..., Any], arg: str) -> bool:
    """True if ``factory`` (a class or function) accepts keyword ``arg``."""
    try:
        return arg in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
