"""A retrieval model: one or more (text projection, video head) spaces whose similarities are summed.

Mithun et al. (ICMR 2018) learn an object space (appearance) and an activity space (motion,
with audio concatenated) and rank by the sum of the two similarities, optionally weighted.
A single-space model is the common case of the same class, so training, gathering and
chunked evaluation are written once.

Embeddings are flat ``dict[str, Tensor]`` with the batch on dim 0 (keys ``"space.key"``),
so they can be all-gathered across ranks and sliced into chunks without knowing the head.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from mvkit.models.heads import VideoHead
from mvkit.models.text import Standardize, TextBase, TextBatch, TextProjection

Emb = dict[str, Tensor]


@dataclass
class VideoBatch:
    """Cached features of B videos: per stream ``[B, T, D]`` and a bool mask ``[B, T]``.

    A video without a stream (e.g. a silent clip's audio) has an all-False mask row.
    """

    feats: dict[str, Tensor]
    masks: dict[str, Tensor]

    def __len__(self) -> int:
        return int(next(iter(self.masks.values())).shape[0])

    def to(self, device: torch.device | str) -> VideoBatch:
        return VideoBatch({k: v.to(device) for k, v in self.feats.items()},
                          {k: v.to(device) for k, v in self.masks.items()})

    def slice(self, start: int, stop: int) -> VideoBatch:
        return VideoBatch({k: v[start:stop] for k, v in self.feats.items()},
                          {k: v[start:stop] for k, v in self.masks.items()})


def slice_emb(emb: Emb, start: int, stop: int) -> Emb:
    """Rows ``start:stop`` of every tensor of an embedding dict."""
    return {k: v[start:stop] for k, v in emb.items()}


def emb_len(emb: Emb) -> int:
    return int(next(iter(emb.values())).shape[0])


class RetrievalModel(nn.Module):
    """Text features + cached video features -> similarity ``[Bt, Bv]`` (weighted sum over spaces).

    ``embed_text`` / ``embed_video`` run once per item; ``score`` compares embeddings;
    ``similarity(text_batch, video_batch) = score(embed_text(...), embed_video(...))``.
    ``similarity_matrix`` scores embeddings in (text, video) chunks so a text-conditioned
    head never forms more than ``[text_chunk, video_chunk, E]`` at once.
    """

    def __init__(self, heads: dict[str, VideoHead], text_projs: dict[str, TextProjection],
                 text: TextBase, weights: dict[str, float] | None = None,
                 config: dict[str, Any] | None = None, video_dims: dict[str, int] | None = None) -> None:
        super().__init__()
        if set(heads) != set(text_projs):
            raise ValueError(f"spaces differ: heads {sorted(heads)} vs text projections {sorted(text_projs)}")
        self.heads = nn.ModuleDict(heads)
        self.text_projs = nn.ModuleDict(text_projs)
        self.text = text
        self.weights = {k: float((weights or {}).get(k, 1.0)) for k in heads}
        self.config = dict(config or {})
        self.video_norms = nn.ModuleDict({s: Standardize(int(d)) for s, d in (video_dims or {}).items()})

    @property
    def streams(self) -> list[str]:
        """Video streams the model reads, in first-use order."""
        out: list[str] = []
        for h in self.heads.values():
            out += [s for s in h.streams if s not in out]
        return out

    @property
    def text_conditioned(self) -> bool:
        return any(h.text_conditioned for h in self.heads.values())

    def embed_text(self, tb: TextBatch) -> Emb:
        base, ml = self.text(tb)
        return {name: proj(base, ml, tb.is_en) for name, proj in self.text_projs.items()}

    @torch.no_grad()
    def fit_input_stats(self, feats: dict[str, Tensor], masks: dict[str, Tensor],
                        text: Tensor | None = None, ml_text: Tensor | None = None) -> None:
        """Fit the input standardisation on *training* data: valid frames per stream, text rows.

        Statistics are buffers (saved with the weights); call before training, never with
        validation or test data.
        """
        for s, norm in self.video_norms.items():
            if s in feats:
                x = feats[s][masks[s]]
                if len(x):
                    norm.fit(x)
        if text is not None and self.text.module is None:
            self.text.norm.fit(text)
        if ml_text is not None and self.text.ml_norm is not None:
            self.text.ml_norm.fit(ml_text)

    def embed_video(self, vb: VideoBatch) -> Emb:
        feats = {s: (self.video_norms[s](x) if s in self.video_norms else x) for s, x in vb.feats.items()}
        out = {}
        for name, head in self.heads.items():
            for k, v in head.embed_video(feats, vb.masks).items():
                out[f"{name}.{k}"] = v
        return out

    def score(self, text_emb: Emb, video_emb: Emb) -> Tensor:
        """Weighted sum over spaces of each head's score: ``[Bt, Bv]``."""
        total = None
        for name, head in self.heads.items():
            pre = f"{name}."
            v = {k[len(pre):]: t for k, t in video_emb.items() if k.startswith(pre)}
            s = self.weights[name] * head.score(text_emb[name], v)
            total = s if total is None else total + s
        return total

    def text_similarity(self, a: Emb, b: Emb) -> Tensor:
        """``[Na, Nb]`` text-text similarity in the joint space: weighted sum over spaces of dot products."""
        total = None
        for name in self.text_projs:
            s = self.weights[name] * (a[name] @ b[name].T)
            total = s if total is None else total + s
        return total

    def space_scores(self, text_emb: Emb, video_emb: Emb) -> dict[str, Tensor]:
        """Unweighted per-space scores (to study fusion: each space alone vs the sum)."""
        out = {}
        for name, head in self.heads.items():
            pre = f"{name}."
            out[name] = head.score(text_emb[name], {k[len(pre):]: t for k, t in video_emb.items()
                                                    if k.startswith(pre)})
        return out

    def similarity(self, tb: TextBatch, vb: VideoBatch) -> Tensor:
        """Similarity of every text to every video of the batches: ``[Bt, Bv]``."""
        return self.score(self.embed_text(tb), self.embed_video(vb))

    @torch.no_grad()
    def similarity_matrix(self, text_emb: Emb, video_emb: Emb, text_chunk: int = 512,
                          video_chunk: int = 256) -> Tensor:
        """Full ``[Nt, Nv]`` similarity from precomputed embeddings, scored chunk by chunk (on CPU).

        Peak extra memory is one ``[text_chunk, video_chunk, E]`` block for text-conditioned
        heads; the result does not depend on the chunk sizes.
        """
        nt, nv = emb_len(text_emb), emb_len(video_emb)
        out = torch.empty(nt, nv, dtype=torch.float32)
        for i in range(0, nt, text_chunk):
            t = slice_emb(text_emb, i, i + text_chunk)
            for j in range(0, nv, video_chunk):
                out[i:i + text_chunk, j:j + video_chunk] = self.score(t, slice_emb(video_emb, j, j + video_chunk)).float().cpu()
        return out
