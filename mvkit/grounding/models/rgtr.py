"""RGTR: Region-Guided TRansformer for temporal sentence grounding (Sun et al., AAAI 2025).

RGTR's diagnosis: DETR's free learnable queries collapse onto overlapping, redundant
proposals, because nothing gives each query a role. Its two changes, as the paper's
abstract states them and as mvkit implements them (the public repository TensorsSun/RGTR
holds no code, so details below that the abstract does not fix are our reading, named):

* **Anchor pairs** as moment queries: each query owns an anchor ``(centre, width)``,
  initialised by k-means on the training moments (:mod:`mvkit.grounding.anchors`) and
  learnable after. The query's positional embedding is an MLP of the anchor's sine
  embedding, and every decoder layer refines the moment relative to it,
  ``m_l = sigmoid(logit(m_{l-1}) + MLP(h_l))`` with ``m_0`` the anchor (DAB-DETR's
  anchor refinement; ours). With region-constrained matching
  (:class:`~mvkit.grounding.matching.HungarianMatcher` with ``region_k``, default 1) a
  ground-truth moment is given to a query whose anchor is nearest to it, so each query
  takes charge of one temporal region.
* **IoU-aware scoring head**: ``sigmoid(MLP(h))`` predicts each proposal's IoU with the
  ground truth (trained on every query, :mod:`mvkit.grounding.losses`); the ranking score
  is ``p_fg^(1 - alpha) * iou^alpha`` (``alpha`` 0.5: the geometric mean, ours). With
  ``iou_head=False`` the model ranks by ``p_fg`` alone (the ablation of the claims).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mvkit.grounding.models.base import GroundingModel, head_outputs
from mvkit.grounding.models.decoder import DecoderLayer, mlp
from mvkit.grounding.models.encoder import GroundingEncoder, sine_embed


def inverse_sigmoid(x: Tensor, eps: float = 1e-3) -> Tensor:
    x = x.clamp(eps, 1 - eps)
    return torch.log(x / (1 - x))


class RGTR(GroundingModel):
    """Anchor-pair queries, region-guided refinement, IoU-aware scores (module doc)."""

    def __init__(self, video_dims: Mapping[str, int], text_dim: int, clip_rate: float,
                 anchors: np.ndarray | Tensor | None = None, n_queries: int = 10, d_model: int = 128,
                 n_heads: int = 4, enc_layers: int = 2, dec_layers: int = 2, ff_dim: int = 256,
                 dropout: float = 0.1, iou_head: bool = True, iou_alpha: float = 0.5, **_: Any) -> None:
        super().__init__()
        if anchors is None:   # rebuilt from a checkpoint: the trained anchors are loaded next
            anchors = np.stack([(np.arange(n_queries) + 0.5) / n_queries, np.full(n_queries, 0.2)], 1)
        a = torch.as_tensor(np.asarray(anchors, dtype=np.float32))
        if a.ndim != 2 or a.shape[1] != 2:
            raise ValueError(f"RGTR: anchors must be [N, 2] (centre, width), got {tuple(a.shape)}")
        self.n_queries = a.shape[0]
        self.encoder = GroundingEncoder(video_dims, text_dim, clip_rate, d_model, enc_layers, n_heads, ff_dim, dropout)
        self.anchor_logit = nn.Parameter(inverse_sigmoid(a))
        self.content = nn.Embedding(self.n_queries, d_model)
        self.anchor_pos = mlp(d_model, d_model, d_model, layers=2)
        self.layers = nn.ModuleList([DecoderLayer(d_model, n_heads, ff_dim, dropout) for _ in range(dec_layers)])
        self.cls = nn.Linear(d_model, 2)
        self.span = mlp(d_model, d_model, 2)
        self.iou = mlp(d_model, d_model, 1) if iou_head else None
        self.iou_alpha = float(iou_alpha)
        self.d_model = d_model

    @property
    def anchors(self) -> Tensor:
        """The current anchors ``[N, 2]`` (centre, width), normalised."""
        return self.anchor_logit.sigmoid()

    def _anchor_embedding(self, ref: Tensor) -> Tensor:
        half = self.d_model // 2
        return self.anchor_pos(torch.cat([sine_embed(ref[..., 0], half), sine_embed(ref[..., 1], half)], -1))

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        enc = self.encoder(batch["feats"], batch["masks"], batch["text"], batch["durations"])
        b = enc["memory"].shape[0]
        ref = self.anchors[None].expand(b, -1, -1)
        h = self.content.weight[None].expand(b, -1, -1)
        layers = []
        for layer in self.layers:
            h = layer(h, self._anchor_embedding(ref), enc["memory"], enc["pos"], ~enc["clip_mask"])
            new = (inverse_sigmoid(ref) + self.span(h)).sigmoid()
            layers.append(head_outputs(self.cls(h), new, None if self.iou is None else self.iou(h).squeeze(-1)))
            ref = new.detach()
        return {"layers": layers, "anchors": self.anchors,
                **{k: enc[k] for k in ("saliency", "clip_mask", "clip_centres")}}

    def scores(self, outputs: dict) -> Tensor:
        last = outputs["layers"][-1]
        p = last["logits"].float().softmax(-1)[..., 0]
        if last["iou"] is None:
            return p
        return p.pow(1 - self.iou_alpha) * last["iou"].float().sigmoid().pow(self.iou_alpha)
