"""``create_objective``: a name (``TrainConfig.loss`` / ``--loss``) -> what the trainer runs."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mvkit.losses.base import LOSSES, SIM_POS, normalise_name
from mvkit.train.objectives.base import OBJECTIVES, Objective, takes
from mvkit.train.objectives.contrastive import Contrastive, DualPath


def objective_names() -> list[str]:
    """Every name the trainer accepts: registered objectives and the ``(sim, pos)`` losses."""
    return sorted(set(OBJECTIVES) | {k for k, e in LOSSES.items() if e.inputs == SIM_POS})


def create_objective(name: str, kwargs: Mapping[str, Any] | None = None, *, dual: bool = False,
                     epochs: int | None = None) -> Objective:
    """The objective registered as ``name``, else the ``(sim, pos)`` loss of that name wrapped.

    dual: the model has MKTVR's dual text path (a plain loss then becomes L_E + L_M).
    epochs: the run's epoch count, given to objectives that schedule by epoch (DCOT's
    curriculum) unless ``kwargs`` sets it. A loss that needs more than ``(sim, pos)`` and has
    no objective is an error that says what it consumes.

    Example:
        >>> from mvkit.train.objectives import create_objective
        >>> create_objective("vse++").describe()["loss"]
        'vse++'
        >>> type(create_objective("dcot", epochs=6)).__name__, create_objective("dcot", epochs=6).loss.curriculum_epochs
        ('DCOTObjective', 6)
    """
    kw = dict(kwargs or {})
    key = normalise_name(name)
    if key in OBJECTIVES:
        factory = OBJECTIVES[key]
        if epochs is not None and takes(factory, "epochs"):
            kw.setdefault("epochs", epochs)
        return factory(**kw)
    entry = LOSSES.get(key)
    if entry is None:
        raise ValueError(f"unknown loss {name!r}; trainable names: {', '.join(objective_names())}")
    if entry.inputs != SIM_POS:
        raise ValueError(f"loss {name!r} takes {entry.inputs}, not (sim, pos), and no objective is registered for it; "
                         "write one (mvkit.train.objectives.Objective + @register_objective) or pass fit(..., objective=...)")
    return (DualPath if dual else Contrastive)(entry.build(**kw), name, kw)
