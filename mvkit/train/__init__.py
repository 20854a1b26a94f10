"""Training on cached features: ``TrainConfig`` + ``fit`` -> ``RunRecord``, and ``evaluate``.

Model selection uses the validation split only; the test split is evaluated once, after
selection. Checkpoints resume exactly; ``torchrun`` computes the loss over the global batch.
Objectives (what is minimised) live in :mod:`mvkit.train.objectives`.
"""
from mvkit.train.evaluate import evaluate, evaluate_split, selection_score
from mvkit.train.objectives import (
    C2KD,
    OBJECTIVES,
    Contrastive,
    DualPath,
    Objective,
    StepInput,
    TrainContext,
    create_objective,
    register_objective,
)
from mvkit.train.record import RunRecord
from mvkit.train.sampler import UniqueVideoBatchSampler
from mvkit.train.schedule import WarmupCosine
from mvkit.train.trainer import TrainConfig, fit, load_model

__all__ = [
    "C2KD",
    "OBJECTIVES",
    "Contrastive",
    "DualPath",
    "Objective",
    "RunRecord",
    "StepInput",
    "TrainConfig",
    "TrainContext",
    "UniqueVideoBatchSampler",
    "WarmupCosine",
    "create_objective",
    "evaluate",
    "evaluate_split",
    "fit",
    "load_model",
    "register_objective",
    "selection_score",
]
