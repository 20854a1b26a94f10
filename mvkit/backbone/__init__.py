"""mvkit-tiny: the embedded backbone, an open_clip model plus motion and audio towers.

The CLIP part is a registered open_clip config (``mvkit-tiny``), built by open_clip's own
``create_model`` and loaded from ``open_clip_model.safetensors``; the motion and audio
towers live in ``streams.safetensors``. Everything ships in ``mvkit/assets/mvkit-tiny/``
and is rebuilt by ``mvkit pretrain-tiny`` (``mvkit/backbone/pretrain.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from mvkit.io import naming_load_errors, read_json

if TYPE_CHECKING:
    from mvkit.backbone.tokenizer import TinyTokenizer
    from mvkit.backbone.towers import StreamTowers

TINY_NAME = "mvkit-tiny"
ASSET_DIR = Path(__file__).resolve().parent.parent / "assets" / TINY_NAME
CLIP_WEIGHTS = "open_clip_model.safetensors"
STREAM_WEIGHTS = "streams.safetensors"
STREAMS_CONFIG = "streams_config.json"
TOKENIZER_FILE = "tokenizer.json"


def register_config() -> None:
    """Register the ``mvkit-tiny`` architecture with open_clip (idempotent)."""
    import open_clip

    if TINY_NAME not in open_clip.list_models():
        open_clip.add_model_config(ASSET_DIR / f"{TINY_NAME}.json")


def tiny_model_config() -> dict:
    """The open_clip model config of mvkit-tiny (embed_dim, vision_cfg, text_cfg)."""
    return read_json(ASSET_DIR / f"{TINY_NAME}.json")


@dataclass
class TinyParts:
    """What :func:`load_tiny` returns: the open_clip model, the stream towers and the tokenizer."""

    clip: torch.nn.Module
    towers: StreamTowers
    tokenizer: TinyTokenizer
    folder: Path
    files: list[Path]


def load_tiny(folder: str | Path | None = None, clip_weights: str | Path | None = None,
              device: str | torch.device = "cpu", precision: str = "fp32",
              random_init: bool = False) -> TinyParts:
    """Build mvkit-tiny through ``open_clip.create_model('mvkit-tiny', pretrained=<file>)``
    and load the motion/audio towers and tokenizer from ``folder`` (default: the shipped
    assets). ``clip_weights`` overrides the CLIP checkpoint file; ``random_init`` skips
    all weights (used by pretraining). Models are returned in eval mode.
    """
    import open_clip
    from safetensors.torch import load_file

    from mvkit.backbone.tokenizer import TinyTokenizer
    from mvkit.backbone.towers import StreamsConfig, StreamTowers

    register_config()
    folder = Path(folder) if folder is not None else ASSET_DIR
    files: list[Path] = []
    ckpt = None
    if not random_init:
        ckpt = Path(clip_weights) if clip_weights is not None else folder / CLIP_WEIGHTS
        if not ckpt.is_file():
            raise FileNotFoundError(
                f"{ckpt}: mvkit-tiny checkpoint missing; rebuild it with `mvkit pretrain-tiny`")
        files.append(ckpt)
    with naming_load_errors(ckpt or folder):
        if clip_weights is None and not random_init and folder != ASSET_DIR \
                and (folder / "open_clip_config.json").is_file():
            # a copied folder: open_clip's own 'local-dir:' path reads its config and weights
            clip = open_clip.create_model(f"local-dir:{folder}", precision=precision, device=device)
        else:
            clip = open_clip.create_model(TINY_NAME, pretrained=str(ckpt) if ckpt else None,
                                          precision=precision, device=device)
    cfg_path = folder / STREAMS_CONFIG
    cfg = StreamsConfig(**read_json(cfg_path)) if cfg_path.is_file() else StreamsConfig(
        embed_dim=tiny_model_config()["embed_dim"])
    towers = StreamTowers(cfg)
    if not random_init:
        sw = folder / STREAM_WEIGHTS
        if not sw.is_file():
            raise FileNotFoundError(f"{sw}: mvkit-tiny motion/audio weights missing")
        with naming_load_errors(sw, "motion/audio checkpoint"):
            towers.load_state_dict(load_file(str(sw)), strict=True)
        files.append(sw)
    towers.to(device)
    tok_path = folder / TOKENIZER_FILE
    if not tok_path.is_file():
        tok_path = ASSET_DIR / TOKENIZER_FILE
    if not tok_path.is_file():
        raise FileNotFoundError(f"{tok_path}: mvkit-tiny tokenizer missing; rebuild with `mvkit pretrain-tiny`")
    tokenizer = TinyTokenizer(tok_path, clip.context_length)
    return TinyParts(clip.eval(), towers.eval(), tokenizer, folder, files)


def has_stream_towers(folder: str | Path) -> bool:
    """True if ``folder`` holds mvkit-tiny motion/audio towers (``local-dir:`` copies)."""
    folder = Path(folder)
    return (folder / STREAM_WEIGHTS).is_file() and (folder / STREAMS_CONFIG).is_file()
