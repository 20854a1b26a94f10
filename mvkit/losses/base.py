"""What every mvkit loss shares: a base class that declares its inputs, one input check, a registry.

A loss is a small ``nn.Module`` whose class attribute ``inputs`` names what ``forward``
consumes, the way torchmetrics classes declare their properties. The contrastive family
takes ``("sim", "pos")`` (``sim[i, j]``: text i vs video j; ``pos[i, j]``: text i describes
video j), so the trainer can run any such loss by name without further wiring
(:func:`mvkit.train.objectives.create_objective`). Losses that need more (teacher similarities,
partial-order labels, source captions) declare it too and come with an objective of their
own in :mod:`mvkit.train.objectives`.

Adding a loss is one file plus one registry line::

    from mvkit.losses.base import RetrievalLoss, register_loss

    @register_loss("my_hinge")
    class MyHinge(RetrievalLoss):
        inputs = ("sim", "pos")
        def forward(self, sim, pos): ...

after which ``create_loss("my_hinge")`` and ``mvkit train --loss my_hinge`` both work.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from mvkit.registry import registrar

#: the inputs of the contrastive family: the trainer wraps such a loss into an objective itself
SIM_POS = ("sim", "pos")


class RetrievalLoss(nn.Module):
    """Base class of mvkit's losses: ``inputs`` names the tensors ``forward`` takes, in order."""

    inputs: ClassVar[tuple[str, ...]] = SIM_POS


@dataclass(frozen=True)
class LossEntry:
    """A registered loss: its class and the keyword arguments its name fixes (``vse++``)."""

    cls: type[nn.Module]
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(getattr(self.cls, "inputs", ()))

    def build(self, **kw: Any) -> nn.Module:
        return self.cls(**{**self.fixed, **kw})


#: name -> registered loss (filled on import of :mod:`mvkit.losses`)
LOSSES: dict[str, LossEntry] = {}


def normalise_name(name: str) -> str:
    """Registry key of a name: case-, hyphen- and space-insensitive (``VSE-PP`` == ``vse_pp``)."""
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def register_loss(name: str, **fixed: Any) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: register ``cls`` as ``name`` (``fixed`` kwargs make a named variant).

    Registering the same name twice with another class is an error, so a user's loss never
    silently replaces a built-in one.
    """
    return registrar(LOSSES, "loss", normalise_name(name), wrap=lambda cls: LossEntry(cls, dict(fixed)))


def get_loss(name: str) -> LossEntry:
    """The registry entry of ``name``; unknown names raise ``ValueError`` listing the known ones."""
    key = normalise_name(name)
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; registered: {', '.join(sorted(LOSSES))}")
    return LOSSES[key]


def create_loss(name: str, **kw: Any) -> nn.Module:
    """Build the loss registered as ``name`` with keyword overrides.

    Unknown names raise ``ValueError`` listing the registered ones, so a typo in a config
    fails at start-up rather than mid-run.

    Example:
        >>> import torch
        >>> from mvkit.losses import create_loss
        >>> loss = create_loss("vse++", margin=0.2)
        >>> sim = torch.tensor([[0.9, 0.1], [0.3, 0.8]])
        >>> round(float(loss(sim, torch.eye(2, dtype=torch.bool))), 4)   # no violation
        0.0
    """
    return get_loss(name).build(**kw)


def check_same_shape(a: torch.Tensor, b: torch.Tensor, a_name: str, b_name: str) -> None:
    """Raise ``ValueError`` "<a_name> shape (..) does not match <b_name> shape (..)" unless equal.

    The one shape check of the losses (torchmetrics' ``_check_same_shape`` habit): every
    loss that pairs two matrices calls it, so the message is the same everywhere.
    """
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{a_name} shape {tuple(a.shape)} does not match {b_name} shape {tuple(b.shape)}")


def check_sim_pos(sim: torch.Tensor, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``sim`` [Bt, Bv] and ``pos`` [Bt, Bv]; return (float32-or-wider sim, bool pos).

    Losses are computed in at least float32 so that AMP half-precision similarities do not
    overflow in exp(); at least one positive pair is required (otherwise the mean over
    positive pairs is undefined and the batch is almost certainly mis-built).
    """
    if sim.dim() != 2:
        raise ValueError(f"sim must be 2-D [texts, videos], got shape {tuple(sim.shape)}")
    check_same_shape(pos, sim, "pos", "sim")
    pos = pos.to(device=sim.device, dtype=torch.bool)
    if not bool(pos.any()):
        raise ValueError("pos has no True entry: every batch needs at least one positive pair")
    return upcast(sim), pos


def upcast(x: torch.Tensor) -> torch.Tensor:
    """Half / bfloat16 -> float32 (exp() in a loss must not overflow); other dtypes unchanged."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
