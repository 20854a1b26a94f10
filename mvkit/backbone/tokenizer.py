"""mvkit-tiny's tokenizer: a small BPE vocabulary learned on the world's captions in every language.

A byte-level tokenizer spends three tokens on each Devanagari or Tamil character, and
CLIP's English BPE shatters non-Latin scripts; a vocabulary learned on the captions of
*all* the world's languages keeps every language at a similar token count without
``[UNK]``. The text tower itself is pretrained on English only, so the non-English
token embeddings stay untrained: the vocabulary serves every language, the model does
not (yet) understand them. That gap is the cross-lingual problem mvkit studies.

Files (written next to the checkpoint): ``tokenizer.json`` (the ``tokenizers`` file,
also loadable by ``transformers.PreTrainedTokenizerFast`` / open_clip's
``HFTokenizer`` through ``tokenizer_config.json``).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from mvkit.io import atomic_write_json, atomic_write_text

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)   # ids 0, 1, 2, 3 (the config's pad_id / eos_id)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2) -> Any:
    """Learn a BPE vocabulary (NFKC, lower-cased, Metaspace words, split punctuation) on ``texts``.

    Every character seen in the corpus is kept in the initial alphabet, so any script the
    world writes tokenizes without ``[UNK]``; ``[BOS] ... [EOS]`` is added by the
    post-processor. Returns a ``tokenizers.Tokenizer``.
    """
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    texts = list(texts)
    alphabet = sorted({ch for t in texts for ch in unicodedata.normalize("NFKC", t).lower() if not ch.isspace()})
    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    # words at spaces (sentencepiece-style), punctuation (incl. "।" and "。") on its own
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()])
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=alphabet, limit_alphabet=len(alphabet) + 1, show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    bos, eos = tok.token_to_id(BOS), tok.token_to_id(EOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}", special_tokens=[(BOS, bos), (EOS, eos)])
    return tok


def save_tokenizer(tok: Any, folder: str | Path, context_length: int) -> None:
    """Write ``tokenizer.json`` plus a ``tokenizer_config.json`` that lets
    ``transformers.AutoTokenizer`` (and so open_clip's ``get_tokenizer('local-dir:...')``)
    load the same vocabulary."""
    folder = Path(folder)
    atomic_write_text(folder / "tokenizer.json", tok.to_str(pretty=False))
    atomic_write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": context_length,
        "pad_token": PAD, "unk_token": UNK, "bos_token": BOS, "eos_token": EOS,
        "clean_up_tokenization_spaces": False,
    })


class TinyTokenizer:
    """Callable ``texts -> LongTensor[N, context_length]`` over a ``tokenizer.json``.

    Sequences are ``[BOS] tokens [EOS]`` padded with ``[PAD]`` (id 0) to the full context
    length: open_clip's custom text tower slices its position embeddings but not its
    causal mask, so shorter batches would crash. Over-long captions are cut but keep
    their ``[EOS]`` (the tower pools at ``[EOS]``). Picklable (holds the JSON string).
    """

    def __init__(self, path: str | Path, context_length: int):
        self.path = str(path)
        self.context_length = int(context_length)
        self._json = Path(path).read_text(encoding="utf-8")
        self._tok = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "context_length": self.context_length, "_json": self._json, "_tok": None}

    @property
    def tokenizer(self) -> Any:
        if self._tok is None:
            from tokenizers import Tokenizer

            self._tok = Tokenizer.from_str(self._json)
            self._tok.no_padding()
            self._tok.no_truncation()
        return self._tok

    @property
    def pad_id(self) -> int:
        return self.tokenizer.token_to_id(PAD)

    @property
    def eos_id(self) -> int:
        return self.tokenizer.token_to_id(EOS)

    def encode_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids with ``[BOS]``/``[EOS]``, unpadded and untruncated."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def __call__(self, texts: str | Sequence[str], context_length: int | None = None) -> torch.Tensor:
        texts = [texts] if isinstance(texts, str) else list(texts)
        n = int(context_length or self.context_length)
        out = torch.full((len(texts), n), self.pad_id, dtype=torch.long)
        eos = self.eos_id
        for i, ids in enumerate(self.encode_ids(texts)):
            if len(ids) > n:
                ids = ids[: n - 1] + [eos]
            out[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out
