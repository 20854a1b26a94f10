"""The trainable text side, chosen by name: ``frozen``, ``tower`` or ``bag`` (one registry).

* ``frozen`` -- no text module: the model reads the feature store's cached caption features
  (what zero-shot means: the text side never sees a training caption);
* ``tower`` -- the encoder's own text tower (mvkit-tiny's transformer, any open_clip tower
  such as ``xlm-roberta-base-ViT-B-32`` or ``nllb-clip-base``, or the shipped multilingual
  ``mvkit-tiny-ml``) fine-tuned at ``TrainConfig.text_lr``, batches padded to their longest
  caption where the tower allows it;
* ``bag`` -- :class:`mvkit.models.bag.BagOfTokens` over the encoder's tokenizer, started from
  the tower's token embeddings: the fast student that learns a language in seconds on CPU.

Each is a :class:`TrainableText` (``tokenize(texts, lang)``, ``forward(tokens)``,
``spec()``) built by :func:`create_text_encoder` from the encoder whose features the run
uses. A checkpoint stores the spec, and :func:`check_text_spec` refuses to load it with
another encoder or tokenizer. A new text side is one function plus ``@register_text_encoder``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mvkit.registry import registrar

#: name of the text side that reads cached features (no module)
FROZEN = "frozen"


class TrainableText(nn.Module):
    """A text side that learns: ``forward(tokens [B, L]) -> [B, out_dim]`` plus its tokenizer.

    ``tokenizer`` is the encoder's :class:`~mvkit.features.encoders.TextTokenizer` (kept as
    a plain attribute, not trained); ``spec`` says what was built from what, for checkpoints.
    """

    def __init__(self, module: nn.Module, tokenizer: Any, out_dim: int, spec: dict[str, Any],
                 lr_scale: float = 0.1) -> None:
        super().__init__()
        self.module = module
        self.lr_scale = float(lr_scale)     # default text_lr = TrainConfig.lr x lr_scale
        self.tokenizer = tokenizer
        self.out_dim = int(out_dim)
        self._spec = dict(spec)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.module(tokens)

    def tokenize(self, texts: Sequence[str], lang: str) -> Tensor:
        """Token ids ``[N, L]`` of ``texts`` (padded to the longest where the module allows)."""
        return self.tokenizer.tokenize(list(texts), lang)

    @property
    def pad_id(self) -> int:
        return int(self.tokenizer.pad_id)

    @property
    def unk_id(self) -> int | None:
        return self.tokenizer.unk_id

    @property
    def special_ids(self) -> tuple[int, ...]:
        return tuple(self.tokenizer.special_ids)

    def spec(self) -> dict[str, Any]:
        """``{"name", "kwargs", "out_dim", "tokenizer", "encoder": {...}}`` (JSON-safe)."""
        return dict(self._spec)


TextFactory = Callable[..., "TrainableText | None"]
#: name -> factory ``f(encoder, **kwargs) -> TrainableText | None``
TEXT_ENCODERS: dict[str, TextFactory] = {}


def register_text_encoder(name: str) -> Callable[[TextFactory], TextFactory]:
    """Decorator: register a text-side factory ``f(encoder, **kwargs)`` under ``name``."""
    return registrar(TEXT_ENCODERS, "text encoder", name)


def base_identity(encoder: Any) -> dict[str, Any]:
    """What identifies the encoder a text side starts from (recorded in its spec)."""
    return {"encoder": encoder.name, "pretrained": encoder.pretrained,
            "text_model": getattr(encoder, "text_name", None),
            "text_pretrained": getattr(encoder, "text_pretrained", None),
            "weights_sha256": encoder.weights_sha256}


def _spec(name: str, encoder: Any, out_dim: int, kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "kwargs": dict(kwargs), "out_dim": int(out_dim),
            "tokenizer": encoder.tokenizer_identity, "encoder": base_identity(encoder)}


@register_text_encoder(FROZEN)
def frozen(encoder: Any = None) -> None:
    """Cached caption features from the feature store: nothing to build or train."""


@register_text_encoder("tower")
def tower(encoder: Any, text_model: str | None = None, text_pretrained: str | None = None) -> TrainableText:
    """The encoder's own text tower, fine-tuned (a trainable copy; the encoder stays frozen).

    ``text_model``: fine-tune that text tower instead (e.g. ``"mvkit-tiny-ml"`` or an open_clip
    multilingual tower), as MKTVR's dual path does for its non-English rows.
    """
    src = encoder.with_text_model(text_model, text_pretrained) if text_model else encoder
    kw = {"text_model": text_model, "text_pretrained": text_pretrained} if text_model else {}
    return TrainableText(src.text_module(), src.text_tokenizer(), src.text_dim, _spec("tower", src, src.text_dim, kw))


@register_text_encoder("bag")
def bag(encoder: Any, bigram_buckets: int = 8192, hidden: int | None = None, seed: int = 0,
        out_dim: int | None = None) -> TrainableText:
    """A :class:`~mvkit.models.bag.BagOfTokens` over the encoder's tokenizer, started from its
    token embeddings; ``out_dim`` defaults to the encoder's text feature width."""
    from mvkit.models.bag import BagOfTokens

    tok = encoder.text_tokenizer()
    dim = int(out_dim or encoder.text_dim)
    module = BagOfTokens(encoder.token_embeddings(), dim, tok.special_ids, bigram_buckets, hidden, seed)
    kw = {"bigram_buckets": bigram_buckets, "hidden": hidden, "seed": seed, "out_dim": out_dim}
    return TrainableText(module, tok, dim, _spec("bag", encoder, dim, kw), lr_scale=1.0)


def create_text_encoder(name: str, encoder: Any = None, **kwargs: Any) -> TrainableText | None:
    """The text side registered as ``name`` built from ``encoder`` (None for ``frozen``).

    Example:
        >>> from mvkit.models.text_encoders import TEXT_ENCODERS, create_text_encoder
        >>> {"bag", "frozen", "tower"} <= set(TEXT_ENCODERS)
        True
        >>> create_text_encoder("frozen") is None
        True
    """
    if name not in TEXT_ENCODERS:
        raise ValueError(f"unknown text encoder {name!r}; registered: {', '.join(sorted(TEXT_ENCODERS))}")
    if name != FROZEN and encoder is None:
        raise ValueError(f"text encoder {name!r} is built from the feature encoder; pass encoder=")
    return TEXT_ENCODERS[name](encoder, **kwargs)


def check_text_spec(saved: dict[str, Any], built: TrainableText, where: str) -> None:
    """Refuse a rebuilt text side whose starting encoder or tokenizer differs from the saved one."""
    have, want = built.spec().get("encoder", {}), saved.get("encoder", {})
    if want.get("weights_sha256") and want["weights_sha256"] != have.get("weights_sha256"):
        raise ValueError(f"{where}: its text side ({saved.get('name')!r}) was trained from encoder "
                         f"{want.get('encoder')!r} with weights {str(want['weights_sha256'])[:12]}, but the "
                         f"encoder given has {str(have.get('weights_sha256'))[:12]} ({have.get('encoder')!r}); load it "
                         "with the encoder it was trained from")
    if saved.get("tokenizer") and saved["tokenizer"] != built.spec().get("tokenizer"):
        raise ValueError(f"{where}: its text side was trained with tokenizer {saved['tokenizer']}, the encoder "
                         f"given tokenizes with {built.spec().get('tokenizer')}")


def rebuild_text_encoder(saved: dict[str, Any], encoder: Any, where: str) -> TrainableText:
    """The text side a checkpoint describes, rebuilt from ``encoder`` and checked against the
    record, before its trained weights are loaded."""
    with torch.no_grad():
        built = create_text_encoder(saved["name"], encoder, **saved.get("kwargs", {}))
    if built is None:
        raise ValueError(f"{where}: the checkpoint's text side {saved.get('name')!r} has no module to rebuild")
    check_text_spec(saved, built, where)
    return built
