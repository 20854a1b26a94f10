"""Moment-DETR (Lei et al., NeurIPS 2021): N learnable moment queries decoded over the clips.

The baseline RGTR sets out to fix. Queries start as zeros with a free learnable positional
embedding each (DETR's object queries); a 2-layer decoder attends over the query-aware
clip memory (:class:`~.encoder.GroundingEncoder`); every layer predicts, per query, a
foreground/none logit pair and a moment ``sigmoid(MLP(h)) = (centre, width)`` normalised by
the duration. Matching is plain Hungarian (no region), the ranking score is
``p(foreground)``. Defaults: 10 queries, ``d_model`` 128 (Moment-DETR: 256 on real
features; the embedded features are 128-d).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from mvkit.grounding.models.base import GroundingModel, head_outputs
from mvkit.grounding.models.decoder import DecoderLayer, mlp
from mvkit.grounding.models.encoder import GroundingEncoder


class MomentDETR(GroundingModel):
    """Learnable moment queries (module doc)."""

    def __init__(self, video_dims: Mapping[str, int], text_dim: int, clip_rate: float, n_queries: int = 10,
                 d_model: int = 128, n_heads: int = 4, enc_layers: int = 2, dec_layers: int = 2,
                 ff_dim: int = 256, dropout: float = 0.1, **_: Any) -> None:
        super().__init__()
        self.encoder = GroundingEncoder(video_dims, text_dim, clip_rate, d_model, enc_layers, n_heads, ff_dim, dropout)
        self.query_pos = nn.Embedding(n_queries, d_model)
        self.layers = nn.ModuleList([DecoderLayer(d_model, n_heads, ff_dim, dropout) for _ in range(dec_layers)])
        self.cls = nn.Linear(d_model, 2)
        self.span = mlp(d_model, d_model, 2)
        self.n_queries = n_queries

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        enc = self.encoder(batch["feats"], batch["masks"], batch["text"], batch["durations"])
        b = enc["memory"].shape[0]
        pos = self.query_pos.weight[None].expand(b, -1, -1)
        h = torch.zeros_like(pos)
        layers = []
        for layer in self.layers:
            h = layer(h, pos, enc["memory"], enc["pos"], ~enc["clip_mask"])
            layers.append(head_outputs(self.cls(h), self.span(h).sigmoid()))
        return {"layers": layers, "anchors": None, **{k: enc[k] for k in ("saliency", "clip_mask", "clip_centres")}}

    def scores(self, outputs: dict) -> Tensor:
        return outputs["layers"][-1]["logits"].float().softmax(-1)[..., 0]
