"""``create_model``: build a retrieval model from a named JSON config plus explicit overrides.

Named configs live in ``mvkit/configs/<name>.json`` (open_clip's habit): ``mean``,
``seqtransf``, ``dcm``, ``dcm_dual``, ``rivrl``, ``activity``, ``fusion``, ``fusion_noaudio``;
:func:`add_model_config` registers one from outside the package. A config is ``{"name",
"embed_dim", "spaces": {space: {"head": kind, **head_kwargs}}, "weights": {space: w},
"text": {"dual": bool}}``; a path to such a JSON file works too. The factory asks each head
class what it reads and how it is built (``VideoHead.required_streams`` / ``from_spec`` /
``text_parts``), so a new head needs no edit here.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from mvkit.io import read_json
from mvkit.models.fusion import RetrievalModel
from mvkit.models.heads import HEADS, VideoHead
from mvkit.models.text import TextBase, TextProjection

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
#: configs registered from outside the package (name -> JSON path), see add_model_config
_EXTRA_CONFIGS: dict[str, Path] = {}


def list_models() -> list[str]:
    """Names of the model configs: the shipped ones and those added with add_model_config."""
    return sorted({p.stem for p in CONFIG_DIR.glob("*.json")} | set(_EXTRA_CONFIGS))


def add_model_config(path: str | Path) -> str:
    """Register the JSON model config at ``path`` under its ``name`` (or file stem); returns the name.

    The file is validated now, so a broken config fails where it is added.
    """
    path = Path(path)
    cfg = read_json(path)
    name = str(cfg.get("name") or path.stem)
    model_config(cfg)
    _EXTRA_CONFIGS[name] = path
    return name


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
            f = _EXTRA_CONFIGS.get(str(name_or_config), CONFIG_DIR / f"{name_or_config}.json")
            if not f.exists():
                raise ValueError(f"unknown model config {name_or_config!r}; named configs: {', '.join(list_models())}")
            cfg = read_json(f)
    cfg = _merge(cfg, overrides)
    if not cfg.get("spaces"):
        raise ValueError(f"model config {cfg.get('name', name_or_config)!r} has no 'spaces'")
    return cfg


def _head_class(cfg: Mapping[str, Any], space: str, kind: Any) -> type[VideoHead]:
    if kind not in HEADS:
        raise ValueError(f"model config {cfg.get('name')!r}, space {space!r}: unknown head {kind!r}; "
                         f"known: {', '.join(sorted(HEADS))}")
    return HEADS[kind]


def model_streams(cfg: Mapping[str, Any]) -> list[str]:
    """Video streams a resolved config reads (so the trainer loads only those from the store)."""
    out: list[str] = []
    for space, spec in cfg["spaces"].items():
        spec = dict(spec)
        need = _head_class(cfg, space, spec.pop("head", None)).required_streams(spec)
        out += [s for s in need if s not in out]
    return out


def create_model(name_or_config: str | Path | Mapping[str, Any], *, video_dims: Mapping[str, int],
                 text_dim: int, ml_text_dim: int | None = None, text_module: nn.Module | None = None,
                 **overrides: Any) -> RetrievalModel:
    """Build a :class:`RetrievalModel` from a named config (or JSON path / dict) plus overrides.

    video_dims: stream -> feature dim (``FeatureStore.dims``); text_dim: cached text feature
    dim (or the text module's output dim); ml_text_dim: the multilingual tower's dim for the
    dual text path (defaults to ``text_dim``); text_module: a trainable text side
    (:func:`mvkit.models.text_encoders.create_text_encoder`), else text features stay frozen.
    On the dual path a text module serves the non-English rows (the English rows keep the
    cached English features). Overrides merge into the config, e.g. ``embed_dim=128`` or
    ``spaces={"main": {"head": "seqtransf"}}`` or ``weights={"activity": 0.5}``.

    Example:
        >>> from mvkit.models import create_model
        >>> m = create_model("fusion", video_dims={"appearance": 16, "motion": 8, "audio": 4}, text_dim=12,
        ...                  embed_dim=32)
        >>> m.streams, sorted(m.heads)
        (['appearance', 'motion', 'audio'], ['activity', 'object'])
    """
    cfg = model_config(name_or_config, **overrides)
    e = int(cfg.get("embed_dim", 256))
    dual = bool(cfg.get("text", {}).get("dual", False))
    if dual:
        ml_dim = int(getattr(text_module, "out_dim", 0) or ml_text_dim or text_dim)
    else:
        ml_dim = None
    in_dim = text_dim if (dual or text_module is None) else int(getattr(text_module, "out_dim", text_dim))
    heads, projs = {}, {}
    for space, spec in cfg["spaces"].items():
        spec = dict(spec)
        cls = _head_class(cfg, space, spec.pop("head", None))
        _check_streams(cls.required_streams(spec), video_dims, cfg, space)
        heads[space] = cls.from_spec(spec, video_dims, e)
        projs[space] = TextProjection(in_dim, e, ml_dim, parts=cls.text_parts)
    streams = model_streams(cfg)
    return RetrievalModel(heads, projs, TextBase(in_dim, ml_dim, text_module, dual=dual), cfg.get("weights"), cfg,
                          {s: int(video_dims[s]) for s in streams})


def _check_streams(need: list[str], dims: Mapping[str, int], cfg: Mapping, space: str) -> None:
    missing = [s for s in need if s not in dims]
    if missing:
        raise ValueError(f"model config {cfg.get('name')!r}, space {space!r} needs streams {missing}; "
                         f"the features have {sorted(dims)}")
