"""``create_model``: build a retrieval model from a named JSON config plus explicit overrides.

Named configs live in ``mvkit/configs/<name>.json`` (open_clip's habit): ``mean``,
``seqtransf``, ``dcm``, ``dcm_dual``, ``rivrl``, ``activity``, ``fusion``, ``fusion_noaudio``.
A config is ``{"name", "embed_dim", "spaces": {space: {"head": kind, **head_kwargs}},
"weights": {space: w}, "text": {"dual": bool}}``; a path to such a JSON file works too.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from mvkit.io import read_json
from mvkit.models.fusion import RetrievalModel
from mvkit.models.heads import HEADS, ActivityHead
from mvkit.models.text import TextBase, TextProjection

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def list_models() -> list[str]:
    """Names of the shipped model configs."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def _merge(base: dict, over: Mapping) -> dict:
    """Recursive dict update: nested dicts merge, everything else replaces."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def model_config(name_or_config: str | Path | Mapping[str, Any], **overrides: Any) -> dict[str, Any]:
    """Resolve a config name, JSON path or dict, then apply ``overrides`` (nested dicts merge)."""
    if isinstance(name_or_config, Mapping):
        cfg = dict(name_or_config)
    else:
        p = Path(name_or_config)
        if p.suffix == ".json" or p.exists():
            cfg = read_json(p)
        else:
            f = CONFIG_DIR / f"{name_or_config}.json"
            if not f.exists():
                raise ValueError(f"unknown model config {name_or_config!r}; named configs: {', '.join(list_models())}")
            cfg = read_json(f)
    cfg = _merge(cfg, overrides)
    if not cfg.get("spaces"):
        raise ValueError(f"model config {cfg.get('name', name_or_config)!r} has no 'spaces'")
    return cfg


def model_streams(cfg: Mapping[str, Any]) -> list[str]:
    """Video streams a resolved config reads (so the trainer loads only those from the store)."""
    out: list[str] = []
    for spec in cfg["spaces"].values():
        if spec.get("head") == "activity":
            need = [s for s in (spec.get("motion", "motion"), spec.get("audio", "audio")) if s]
        else:
            need = [spec.get("stream", "appearance")]
        out += [s for s in need if s not in out]
    return out


def create_model(name_or_config: str | Path | Mapping[str, Any], *, video_dims: Mapping[str, int],
                 text_dim: int, ml_text_dim: int | None = None, text_module: nn.Module | None = None,
                 **overrides: Any) -> RetrievalModel:
    """Build a :class:`RetrievalModel` from a named config (or JSON path / dict) plus overrides.

    video_dims: stream -> feature dim (``FeatureStore.dims``); text_dim: cached text feature
    dim (or the text module's output dim); ml_text_dim: the multilingual tower's dim for the
    dual text path (defaults to ``text_dim``); text_module: a trainable text tower
    (``encoder.text_module()``) for fine-tuning, else text features stay frozen.
    Overrides merge into the config, e.g. ``embed_dim=128`` or
    ``spaces={"main": {"head": "seqtransf"}}`` or ``weights={"activity": 0.5}``.
    """
    cfg = model_config(name_or_config, **overrides)
    e = int(cfg.get("embed_dim", 256))
    dual = bool(cfg.get("text", {}).get("dual", False))
    ml_dim = (ml_text_dim or text_dim) if dual else None
    heads, projs = {}, {}
    for space, spec in cfg["spaces"].items():
        spec = dict(spec)
        kind = spec.pop("head", None)
        if kind not in HEADS:
            raise ValueError(f"model config {cfg.get('name')!r}, space {space!r}: unknown head {kind!r}; "
                             f"known: {', '.join(sorted(HEADS))}")
        cls = HEADS[kind]
        _check_streams(model_streams({"spaces": {space: {"head": kind, **spec}}}), video_dims, cfg, space)
        if cls is ActivityHead:
            heads[space] = cls(dict(video_dims), e, **spec)
        else:
            heads[space] = cls(int(video_dims[spec.get("stream", "appearance")]), e, **spec)
        projs[space] = TextProjection(text_dim, e, ml_dim, parts=2 if kind == "rivrl" else 1)
    streams = model_streams(cfg)
    return RetrievalModel(heads, projs, TextBase(text_dim, ml_dim, text_module), cfg.get("weights"), cfg,
                          {s: int(video_dims[s]) for s in streams})


def _check_streams(need: list[str], dims: Mapping[str, int], cfg: Mapping, space: str) -> None:
    missing = [s for s in need if s not in dims]
    if missing:
        raise ValueError(f"model config {cfg.get('name')!r}, space {space!r} needs streams {missing}; "
                         f"the features have {sorted(dims)}")
