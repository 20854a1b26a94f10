"""Grounding models by name: ``create_grounding_model(name, video_dims=, text_dim=, clip_rate=)``.

* ``detr`` -- Moment-DETR-style: learnable moment queries, plain Hungarian matching;
* ``rgtr`` -- RGTR: anchor-pair queries (k-means on training moments), region-constrained
  matching, IoU-aware scoring head;
* ``rgtr_noiou`` -- RGTR without the IoU-aware head (ranked by class probability): the
  ablation of the claim that the head raises mAP;
* the sliding-window floor (:class:`~.floor.SlidingWindowFloor`) is not trained and is built
  with ``SlidingWindowFloor.from_training``.

A preset is a model class plus default options; :func:`register_grounding_model` adds one
from outside the package (``region_k`` and ``iou_weight`` configure the matcher and the
loss, the other options the model).
"""
from __future__ import annotations

from typing import Any

from mvkit.grounding.losses import SetCriterion
from mvkit.grounding.matching import HungarianMatcher
from mvkit.grounding.models.base import GroundingModel
from mvkit.grounding.models.detr import MomentDETR
from mvkit.grounding.models.floor import SlidingWindowFloor, joint_streams
from mvkit.grounding.models.rgtr import RGTR

MODELS: dict[str, tuple[type[GroundingModel], dict[str, Any]]] = {
    "detr": (MomentDETR, {"n_queries": 10, "region_k": None, "iou_weight": 0.0}),
    "rgtr": (RGTR, {"n_queries": 10, "region_k": 1, "iou_head": True, "iou_weight": 1.0}),
    "rgtr_noiou": (RGTR, {"n_queries": 10, "region_k": 1, "iou_head": False, "iou_weight": 0.0}),
}
_TRAINING_KEYS = ("region_k", "iou_weight")


def register_grounding_model(name: str, cls: type[GroundingModel], defaults: dict[str, Any] | None = None) -> None:
    """Add a preset (e.g. a new query scheme) so ``mvkit train-grounding --model name`` finds it."""
    MODELS[name] = (cls, dict(defaults or {}))


def grounding_config(name: str, **overrides: Any) -> dict[str, Any]:
    """The resolved options of preset ``name`` (its defaults with ``overrides`` on top)."""
    if name not in MODELS:
        raise ValueError(f"unknown grounding model {name!r}; known: {sorted(MODELS)}")
    return {"name": name, **MODELS[name][1], **overrides}


def create_grounding_model(name_or_config: str | dict[str, Any], *, video_dims: dict[str, int], text_dim: int,
                           clip_rate: float, anchors: Any = None, **overrides: Any) -> GroundingModel:
    """Build a preset (or a resolved config dict) for these input dims; ``config`` is kept on the model."""
    cfg = grounding_config(name_or_config, **overrides) if isinstance(name_or_config, str) else \
        {**name_or_config, **overrides}
    cls = MODELS[cfg["name"]][0]
    opts = {k: v for k, v in cfg.items() if k not in ("name", *_TRAINING_KEYS)}
    model = cls(video_dims, text_dim, clip_rate, anchors=anchors, **opts)
    model.config = {**cfg, "video_dims": dict(video_dims), "text_dim": int(text_dim), "clip_rate": float(clip_rate)}
    return model


def criterion_for(config: dict[str, Any]) -> SetCriterion:
    """The matcher and loss a config trains with (region-constrained for RGTR, IoU term if it has the head)."""
    return SetCriterion(HungarianMatcher(region_k=config.get("region_k")), iou_weight=float(config.get("iou_weight", 0.0)))


__all__ = ["MODELS", "RGTR", "GroundingModel", "MomentDETR", "SlidingWindowFloor", "create_grounding_model",
           "criterion_for", "grounding_config", "joint_streams", "register_grounding_model"]
