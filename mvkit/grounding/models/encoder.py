"""The video-query encoder shared by every DETR-style grounding model here.

Moment-DETR's encoder, adapted to the inputs mvkit caches: clip features of several
streams and one sentence feature per query (the encoder interface gives pooled sentence
features, not tokens). Steps:

1. Standardise each input with training-split statistics (buffers, as the retrieval heads
   do) and project every stream to ``d_model``; a clip's token is the sum over the streams
   it has (a silent clip adds a learned "no audio" vector instead of audio).
2. Add position: a sine embedding of the clip's normalised centre and Moment-DETR's
   temporal endpoint features (TEF: the clip's start and end over the duration).
3. Condition clips on the query (QD-DETR's point that video tokens should see the text
   early): ``v_t <- v_t + MLP(v_t * q)``.
4. A transformer encoder over ``[query token; clip tokens]`` (padding masked).

Returns the clip memory ``[B, T, d]``, its positional embedding, the mask, the clip
centres and clip-level saliency logits (the in-window auxiliary of :mod:`..losses`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from mvkit.models.text import Standardize


def sine_embed(x: Tensor, dim: int, temperature: float = 10000.0) -> Tensor:
    """DETR's sine embedding of values in [0, 1]: ``[...] -> [..., dim]`` (sin and cos halves)."""
    half = dim // 2
    freq = temperature ** (2 * torch.arange(half, device=x.device, dtype=torch.float32) / dim)
    ang = x[..., None].float() * 2 * math.pi / freq
    return torch.cat([ang.sin(), ang.cos()], dim=-1)


class GroundingEncoder(nn.Module):
    """Clip features + sentence feature -> query-aware clip memory (module doc)."""

    def __init__(self, video_dims: Mapping[str, int], text_dim: int, clip_rate: float, d_model: int = 128,
                 n_layers: int = 2, n_heads: int = 4, ff_dim: int = 256, dropout: float = 0.1,
                 input_dropout: float = 0.1) -> None:
        super().__init__()
        self.streams = list(video_dims)
        self.clip_rate = float(clip_rate)
        self.d_model = d_model
        self.norms = nn.ModuleDict({s: Standardize(d) for s, d in video_dims.items()})
        self.text_norm = Standardize(text_dim)
        self.proj = nn.ModuleDict({s: nn.Sequential(nn.Dropout(input_dropout), nn.Linear(d, d_model))
                                   for s, d in video_dims.items()})
        self.missing = nn.ParameterDict({s: nn.Parameter(torch.zeros(d_model)) for s in video_dims})
        self.text_proj = nn.Sequential(nn.Dropout(input_dropout), nn.Linear(text_dim, d_model))
        self.tef = nn.Linear(2, d_model)
        self.in_norm = nn.LayerNorm(d_model)
        self.condition = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(), nn.Linear(d_model, d_model))
        layer = nn.TransformerEncoderLayer(d_model, n_heads, ff_dim, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.out_norm = nn.LayerNorm(d_model)
        self.saliency = nn.Linear(d_model, 1)

    @torch.no_grad()
    def fit_input_stats(self, feats: Mapping[str, Tensor], masks: Mapping[str, Tensor], text: Tensor) -> None:
        """Standardisation statistics from *training* clips (valid ones) and query features."""
        for s in self.streams:
            x = feats[s][masks[s]]
            if len(x):
                self.norms[s].fit(x)
        self.text_norm.fit(text)

    def clip_centres(self, n_clips: int, durations: Tensor) -> Tensor:
        """``[B, T]`` clip centres over the duration (clip ``k`` covers ``[k, k+1] / rate`` seconds)."""
        t = (torch.arange(n_clips, device=durations.device, dtype=torch.float32) + 0.5) / self.clip_rate
        return t[None] / durations[:, None].float()

    def forward(self, feats: Mapping[str, Tensor], masks: Mapping[str, Tensor], text: Tensor,
                durations: Tensor) -> dict[str, Tensor]:
        clip_mask = masks["appearance"]
        b, t = clip_mask.shape
        v = torch.zeros(b, t, self.d_model, device=text.device)
        for s in self.streams:
            x = self.proj[s](self.norms[s](feats[s]))
            m = masks[s][..., None]
            v = v + torch.where(m, x, self.missing[s].expand_as(x))
        centre = self.clip_centres(t, durations)
        half = 0.5 / self.clip_rate / durations[:, None].float()
        pos = sine_embed(centre.clamp(0, 1), self.d_model)
        v = self.in_norm(v + self.tef(torch.stack([centre - half, centre + half], -1)))
        q = self.text_proj(self.text_norm(text))
        v = v + self.condition(v * q[:, None])
        tokens = torch.cat([q[:, None], v + pos], 1)
        pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=text.device), ~clip_mask], 1)
        mem = self.out_norm(self.encoder(tokens, src_key_padding_mask=pad))[:, 1:]
        return {"memory": mem, "pos": pos, "clip_mask": clip_mask, "clip_centres": centre,
                "saliency": self.saliency(mem).squeeze(-1)}
