"""Text side: frozen cached caption features or a trainable text module, and MKTVR's dual path.

A :class:`TextBatch` carries what the text side needs for B captions: the cached features
from the feature store (frozen text) and/or token ids (a trainable text side,
:mod:`mvkit.models.text_encoders`). With MKTVR's dual path, English rows use the English
tower and the other rows the multilingual one (cached ``ml_features`` or the trainable
module), each followed by its own projection.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass
class TextBatch:
    """B captions for the text side.

    features: ``[B, D]`` cached features (frozen text; for the dual path the English rows).
    is_en: ``[B]`` bool, True for English captions (routes rows in the dual path).
    ml_features: ``[B, D_ml]`` cached multilingual-tower features (dual path, frozen towers).
    tokens: ``[B, L]`` token ids, padded to the batch's longest caption (trainable text side).
    """

    features: Tensor | None
    is_en: Tensor
    ml_features: Tensor | None = None
    tokens: Tensor | None = None

    def __len__(self) -> int:
        return int(self.is_en.shape[0])

    def to(self, device: torch.device | str) -> TextBatch:
        def mv(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)
        return TextBatch(mv(self.features), self.is_en.to(device), mv(self.ml_features), mv(self.tokens))


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

    Without a module the cached features pass through (standardised). With a trainable
    module (a :class:`~mvkit.models.text_encoders.TrainableText`) the tokens go through it;
    on the dual path it serves the non-English rows while English rows keep the cached
    English-tower features.
    """

    def __init__(self, dim: int, ml_dim: int | None = None, module: nn.Module | None = None,
                 dual: bool = False) -> None:
        super().__init__()
        self.dim, self.ml_dim, self.dual = dim, ml_dim, bool(dual or ml_dim)
        self.module = module
        self.norm = Standardize(dim)                     # cached features only
        self.ml_norm = Standardize(ml_dim) if (self.dual and ml_dim and module is None) else None

    @property
    def trainable(self) -> bool:
        """True if a text module learns (captions go in as tokens, not cached features)."""
        return self.module is not None

    def _module_rows(self, tb: TextBatch, rows: Tensor | None) -> Tensor:
        if tb.tokens is None:
            raise ValueError("TextBatch has no tokens (a trainable text side needs them)")
        if rows is None:
            return self.module(tb.tokens)
        out = None
        idx = rows.nonzero().squeeze(1)
        if len(idx):
            part = self.module(tb.tokens[idx])
            out = part.new_zeros(len(tb), part.shape[1]).index_copy(0, idx, part)
        return out if out is not None else tb.tokens.new_zeros(len(tb), self.ml_dim or 1, dtype=torch.float)

    def forward(self, tb: TextBatch) -> tuple[Tensor, Tensor | None]:
        if self.module is not None and not self.dual:
            return self._module_rows(tb, None), None
        if tb.features is None:
            raise ValueError("TextBatch has no cached features (frozen text needs them)")
        base = self.norm(tb.features)
        if not self.dual:
            return base, None
        if self.module is not None:
            return base, self._module_rows(tb, ~tb.is_en)
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
