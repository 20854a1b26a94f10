"""Text side: frozen cached caption features or a fine-tuned text tower, and MKTVR's dual path.

A :class:`TextBatch` carries what the text side needs for B captions. With frozen text
(the default) that is the cached features from the feature store; with fine-tuning it is
token ids per language group, run through ``encoder.text_module()``. With MKTVR's dual
path, English rows use the English tower and the other rows the multilingual tower
(``ml_features``), each followed by its own projection.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass
class TextBatch:
    """B captions for the text side.

    features: ``[B, D]`` cached features (frozen mode; for the dual path the English rows).
    is_en: ``[B]`` bool, True for English captions (routes rows in the dual path).
    ml_features: ``[B, D_ml]`` multilingual-tower features (dual path only; non-English rows used).
    token_groups: fine-tuning only: ``[(row_index LongTensor, tokens LongTensor[n, L])]``
        one group per language, as ``encoder.tokenize`` pads per call.
    """

    features: Tensor | None
    is_en: Tensor
    ml_features: Tensor | None = None
    token_groups: list[tuple[Tensor, Tensor]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.is_en.shape[0])

    def to(self, device: torch.device | str) -> TextBatch:
        mv = lambda t: None if t is None else t.to(device)
        return TextBatch(mv(self.features), self.is_en.to(device), mv(self.ml_features),
                         [(i.to(device), t.to(device)) for i, t in self.token_groups])


class Standardize(nn.Module):
    """Per-dimension ``(x - mean) / std`` with statistics fitted once on training data (buffers).

    Frozen encoder features are often highly anisotropic (all videos within a few degrees
    of one common direction); centring and scaling them with *training-split* statistics
    lets a small head learn from the differences. Identity until :meth:`fit` is called.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    @torch.no_grad()
    def fit(self, x: Tensor, eps: float = 1e-6) -> None:
        """Set the statistics from rows ``x [N, dim]`` (e.g. all valid training frames)."""
        x = x.reshape(-1, self.mean.shape[0]).float()
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0, unbiased=False).clamp_min(eps))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class TextBase(nn.Module):
    """Produces the base text features ``[B, D]`` (and ``[B, D_ml]`` for the dual path).

    Frozen mode passes the cached features through; fine-tune mode runs token groups through
    a trainable text module (``encoder.text_module()``) and scatters rows back in order.
    """

    def __init__(self, dim: int, ml_dim: int | None = None, module: nn.Module | None = None) -> None:
        super().__init__()
        self.dim, self.ml_dim = dim, ml_dim
        self.module = module
        self.norm = Standardize(dim)                    # cached features only (identity when fine-tuning)
        self.ml_norm = Standardize(ml_dim) if ml_dim else None

    @property
    def finetune(self) -> bool:
        return self.module is not None

    def forward(self, tb: TextBatch) -> tuple[Tensor, Tensor | None]:
        if self.module is None:
            if tb.features is None:
                raise ValueError("TextBatch has no cached features (frozen text mode needs them)")
            base = self.norm(tb.features)
        else:
            if not tb.token_groups:
                raise ValueError("TextBatch has no token groups (text fine-tuning needs them)")
            outs = [(idx, self.module(tok)) for idx, tok in tb.token_groups]
            base = outs[0][1].new_zeros(len(tb), outs[0][1].shape[1])
            for idx, out in outs:
                base = base.index_copy(0, idx, out)
        ml = tb.ml_features
        if ml is not None and self.ml_norm is not None:
            ml = self.ml_norm(ml)
        return base, ml


class TextProjection(nn.Module):
    """Linear map of base text features into one space, L2-normalised per part.

    out_i = W_E x_i for English rows and W_M m_i for the others when ``ml_dim`` is set
    (MKTVR's dual text path, trained with L = L_E + L_M; see mvkit.train.objectives).
    ``parts`` > 1 gives a head several sub-spaces (RIVRL's preview and intensive spaces):
    the output is ``parts`` normalised blocks of ``embed_dim`` side by side.
    """

    def __init__(self, dim: int, embed_dim: int, ml_dim: int | None = None, parts: int = 1) -> None:
        super().__init__()
        self.parts = parts
        self.proj = nn.Linear(dim, embed_dim * parts)
        self.proj_ml = nn.Linear(ml_dim, embed_dim * parts) if ml_dim else None

    def forward(self, base: Tensor, ml: Tensor | None, is_en: Tensor) -> Tensor:
        out = self.proj(base)
        if self.proj_ml is not None:
            if ml is None:
                raise ValueError("dual text path: TextBatch.ml_features is missing")
            out = torch.where(is_en.unsqueeze(-1), out, self.proj_ml(ml))
        b = out.shape[0]
        return F.normalize(out.view(b, self.parts, -1), dim=-1).view(b, -1)
