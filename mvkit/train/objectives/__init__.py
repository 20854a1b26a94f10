"""Training objectives: what the trainer minimises, one module per family, registered by name.

``create_objective(name)`` turns ``TrainConfig.loss`` / ``mvkit train --loss`` into an
:class:`Objective`: a registered objective (``c2kd``, ``partial_order``, ``partial_order_ot``,
``nrccr``, ``dcot``, ``leccr``, ``cl2cm``) or any loss whose ``inputs`` are ``(sim, pos)``
(``infonce``, ``hinge``, ``vse``, ``vse++``, ``weighted_rank``, and a user's own), wrapped in
:class:`Contrastive` (or MKTVR's :class:`DualPath` for dual-text models). Every built-in is
registered when this package is imported.
"""
from mvkit.train.objectives.base import (
    OBJECTIVES,
    Objective,
    StepInput,
    TrainContext,
    embed_rows,
    register_objective,
)
from mvkit.train.objectives.c2kd import C2KD
from mvkit.train.objectives.contrastive import Contrastive, DualPath
from mvkit.train.objectives.dcot import DCOTObjective
from mvkit.train.objectives.factory import create_objective, objective_names
from mvkit.train.objectives.guided import CL2CMObjective, LECCRObjective
from mvkit.train.objectives.nrccr import NRCCRObjective
from mvkit.train.objectives.partial_order import (
    PartialOrderObjective,
    Probes,
    probe_features,
    world_probes,
)

__all__ = [
    "C2KD",
    "OBJECTIVES",
    "CL2CMObjective",
    "Contrastive",
    "DCOTObjective",
    "DualPath",
    "LECCRObjective",
    "NRCCRObjective",
    "Objective",
    "PartialOrderObjective",
    "Probes",
    "StepInput",
    "TrainContext",
    "create_objective",
    "embed_rows",
    "objective_names",
    "probe_features",
    "register_objective",
    "world_probes",
]
