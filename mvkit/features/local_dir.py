"""The ``local-dir:`` folder layout open_clip can load with no hub, and its check.

open_clip loads ``create_model("local-dir:<folder>")`` without the hub, but only past three
traps: the tokenizer files must sit at the folder root (``hf_tokenizer_name`` is ignored
there); a Hugging Face text tower's ``config.json`` must stay *out* of the root (or
transformers picks the tokenizer class from it); and without an open_clip weights file in the
folder the HF base weights are fetched from the hub. :func:`check_local_dir` names the trap a
hand-made folder falls into before open_clip reads it; ``mvkit export-encoder``
(:mod:`mvkit.features.export`) writes folders that avoid all three.

Layout::

    <folder>/open_clip_config.json        {"model_cfg": ..., "preprocess_cfg": ...}
    <folder>/open_clip_model.safetensors  every weight of the model
    <folder>/tokenizer.json ...           the tokenizer files (HF towers)
    <folder>/hf/config.json               the HF text model's config (text_cfg.hf_model_name)
    <folder>/mvkit_export.json            what was exported, its weights hash (written last)
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CONFIG = "open_clip_config.json"
WEIGHTS = "open_clip_model.safetensors"
HF_SUBDIR = "hf"
MARKER = "mvkit_export.json"
#: files a Hugging Face tokenizer may be read from (any one at the folder root will do)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                   "sentencepiece.bpe.model", "spiece.model", "sentencepiece.model", "vocab.txt", "vocab.json",
                   "merges.txt")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth")


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; a local-dir: folder needs open_clip's config "
                                "(write the folder with `mvkit export-encoder`)")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("model_cfg"), dict):
        raise ValueError(f"{path}: needs a 'model_cfg' object (open_clip's local-dir format)")
    return cfg


def check_local_dir(folder: str | os.PathLike) -> dict[str, Any] | None:
    """Check a ``local-dir:`` folder for the three traps before open_clip reads it.

    Raises a clear error naming the folder for: no weights file (open_clip would then ask
    the hub for the HF base weights), an HF tower without tokenizer files at the root, or the
    HF ``config.json`` at the root. Returns a ``text_cfg`` override when the folder was moved
    since export (``hf_model_name`` names the old place; its ``hf/`` subfolder is used), else None.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"local-dir:{folder}: no such folder")
    cfg = _read_config(folder)
    if not any(p.suffix in _WEIGHT_SUFFIXES for p in folder.iterdir() if p.is_file()):
        raise ValueError(f"{folder}: no open_clip weights file ({WEIGHTS}); without one open_clip asks the hub for "
                         "the base weights. Add the checkpoint, or write the folder with `mvkit export-encoder`")
    text_cfg = dict(cfg["model_cfg"].get("text_cfg") or {})
    if "hf_model_name" not in text_cfg:
        return None
    if not any((folder / f).is_file() for f in TOKENIZER_FILES):
        raise ValueError(f"{folder}: Hugging Face text tower without tokenizer files at the folder root (open_clip "
                         f"reads the tokenizer there, whatever hf_tokenizer_name says); copy e.g. tokenizer.json "
                         "and tokenizer_config.json into it, or use `mvkit export-encoder`")
    if (folder / "config.json").is_file():
        raise ValueError(f"{folder}: the HF model's config.json is at the folder root, where transformers would pick "
                         f"the tokenizer class from it; move it to {folder / HF_SUBDIR}/ and point "
                         "text_cfg.hf_model_name there (what `mvkit export-encoder` writes)")
    name = str(text_cfg["hf_model_name"])
    here = folder / name if not Path(name).is_absolute() else None
    if here is not None and (here / "config.json").is_file():
        return {**text_cfg, "hf_model_name": str(here.resolve()), "hf_model_pretrained": False}
    if Path(name).is_absolute() and not Path(name).exists() and (folder / HF_SUBDIR / "config.json").is_file():
        return {**text_cfg, "hf_model_name": str((folder / HF_SUBDIR).resolve()), "hf_model_pretrained": False}
    return None
