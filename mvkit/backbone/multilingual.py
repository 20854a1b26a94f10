"""mvkit-tiny-ml, the shipped multilingual text tower: its files and how they load.

A text-only tower (a :class:`~mvkit.models.bag.BagOfTokens` over mvkit-tiny's tokenizer) whose
space is mvkit-tiny's English text space, so it works with mvkit-tiny's video towers unchanged:
``create_encoder("mvkit-tiny", text_model="mvkit-tiny-ml")``. It is rebuilt by ``mvkit
pretrain-ml`` (:mod:`mvkit.backbone.pretrain_ml`, the distillation recipe; docs/multilingual.md).
Files in ``mvkit/assets/mvkit-tiny-ml/``: ``text.safetensors``, ``config.json`` (the bag's shape,
the tokenizer and the teacher's weights hash) and ``training_log.json``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from mvkit import backbone as bb
from mvkit.io import read_json

ML_NAME = "mvkit-tiny-ml"
ML_DIR = bb.ASSET_DIR.parent / ML_NAME
ML_WEIGHTS = "text.safetensors"
ML_CONFIG = "config.json"


class MultilingualTower(nn.Module):
    """A text-only tower: ``encode_text(tokens) -> [N, out_dim]`` through a bag of tokens.

    ``pads_freely``: padding never changes a bag's features, so batches may be cut to their
    longest caption (see :func:`mvkit.features.encoders.trimmable_text`).
    """

    pads_freely = True

    def __init__(self, text: nn.Module, context_length: int) -> None:
        super().__init__()
        self.text = text
        self.context_length = int(context_length)

    def encode_text(self, tokens: Tensor) -> Tensor:
        return self.text(tokens)


def load_multilingual(folder: str | Path | None = None, device: str | torch.device = "cpu") -> tuple[MultilingualTower, Any]:
    """``(tower, tokenizer)`` of the shipped (or a rebuilt) mvkit-tiny-ml; files are checked by name."""
    from safetensors.torch import load_file

    from mvkit.backbone.tokenizer import TinyTokenizer
    from mvkit.models.bag import BagOfTokens

    folder = Path(folder) if folder is not None else ML_DIR
    cfg_path, w_path = folder / ML_CONFIG, folder / ML_WEIGHTS
    for f in (cfg_path, w_path):
        if not f.is_file():
            raise FileNotFoundError(f"{f}: {ML_NAME} file missing; rebuild it with `mvkit pretrain-ml`")
    cfg = read_json(cfg_path)
    tok_path = folder / bb.TOKENIZER_FILE
    tokenizer = TinyTokenizer(tok_path if tok_path.is_file() else bb.ASSET_DIR / bb.TOKENIZER_FILE,
                              int(cfg["context_length"]))
    state = load_file(str(w_path))
    bag = BagOfTokens(torch.zeros(cfg["vocab_size"], cfg["width"]), cfg["out_dim"], cfg["special_ids"],
                      cfg["bigram_buckets"], cfg.get("hidden"))
    try:
        bag.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ValueError(f"{w_path}: weights do not fit {cfg_path}: {e}") from None
    return MultilingualTower(bag, cfg["context_length"]).to(device).eval(), tokenizer


def is_multilingual_dir(folder: str | Path) -> bool:
    """True if ``folder`` holds an mvkit-tiny-ml tower (config + weights)."""
    folder = Path(folder)
    return (folder / ML_CONFIG).is_file() and (folder / ML_WEIGHTS).is_file() \
        and read_json(folder / ML_CONFIG).get("architecture") == "bag"
