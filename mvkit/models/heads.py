"""Video heads: pool cached frame features ``[B, T, D]`` (mask ``[B, T]``) into a retrieval space.

Every head has the same two-step shape so training can gather embeddings across ranks
and evaluation can chunk:

* ``embed_video(feats, masks) -> dict[str, Tensor]`` runs once per video;
* ``score(text_emb [Bt, E], video_emb) -> [Bt, Bv]`` compares texts and videos.

Text-independent heads (mean, seqTransf, preview) return one L2-normalised vector per
video and score with a dot product. The text-conditioned head (DCM / X-Pool) keeps
per-frame keys and values and pools them per (text, video) pair inside ``score``; callers
bound memory by scoring in chunks (see :func:`mvkit.models.factory.RetrievalModel.similarity_matrix`).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from mvkit.registry import registrar

#: head name (the ``head`` key of a space in a model config) -> head class
HEADS: dict[str, type[VideoHead]] = {}


def register_head(*names: str) -> Callable[[type[VideoHead]], type[VideoHead]]:
    """Class decorator: make a :class:`VideoHead` subclass available to model configs by name.

    A new head is its module plus a JSON config naming it (``{"spaces": {"main": {"head":
    "my_head", ...}}}``); registering a name twice with another class is an error.
    """
    return registrar(HEADS, "head", *names)


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``x [B, T, D]`` over valid frames (``mask [B, T]`` True); all-padded rows give 0.

    Padded frames get exactly zero weight, so a padded video pools to the same vector as
    the unpadded one.
    """
    w = mask.to(x.dtype).unsqueeze(-1)
    return (x * w).sum(1) / w.sum(1).clamp_min(1.0)


def attention_mask(mask: Tensor) -> Tensor:
    """``mask`` with all-padded rows unmasked, so attention softmax stays finite.

    A video without any valid frame (e.g. a stream it lacks) would make softmax return NaN;
    such rows attend to their padding instead and the caller ignores or replaces the output.
    """
    if mask.any(1).all():
        return mask
    out = mask.clone()
    out[~mask.any(1)] = True
    return out


class VideoHead(nn.Module):
    """Base class: the streams a head reads, and dot-product scoring of pooled vectors.

    A head describes itself to :func:`mvkit.models.create_model`, which never names head
    classes: :meth:`required_streams` (which store streams a config's space reads),
    :meth:`from_spec` (build from the space's config entry) and ``text_parts`` (how many
    normalised text blocks its ``score`` expects). The defaults fit a one-stream head whose
    constructor is ``(in_dim, embed_dim, stream=..., **options)``.
    """

    streams: tuple[str, ...] = ("appearance",)
    text_conditioned: bool = False
    text_parts: ClassVar[int] = 1

    @classmethod
    def required_streams(cls, spec: Mapping[str, Any]) -> list[str]:
        """Streams read by a space configured as ``spec`` (default: ``spec["stream"]``)."""
        return [spec.get("stream", "appearance")]

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], video_dims: Mapping[str, int], embed_dim: int) -> VideoHead:
        """Build the head of one space from its config entry (``head`` key removed)."""
        return cls(int(video_dims[spec.get("stream", "appearance")]), embed_dim, **spec)

    def embed_video(self, feats: dict[str, Tensor], masks: dict[str, Tensor]) -> dict[str, Tensor]:
        raise NotImplementedError

    def score(self, text_emb: Tensor, video_emb: dict[str, Tensor]) -> Tensor:
        """Cosine similarity of normalised text ``[Bt, E]`` and pooled video ``[Bv, E]``."""
        return text_emb @ video_emb["v"].t()


@register_head("mean")
class MeanHead(VideoHead):
    """Mean pooling over frames followed by a linear map (CLIP4Clip's parameter-free 'meanP' + projection)."""

    def __init__(self, in_dim: int, embed_dim: int, stream: str = "appearance") -> None:
        super().__init__()
        self.streams = (stream,)
        self.proj = nn.Linear(in_dim, embed_dim)

    def embed_video(self, feats: dict[str, Tensor], masks: dict[str, Tensor]) -> dict[str, Tensor]:
        s = self.streams[0]
        return {"v": F.normalize(self.proj(masked_mean(feats[s], masks[s])), dim=-1)}


@register_head("seqtransf")
class SeqTransfHead(VideoHead):
    """CLIP4Clip's seqTransf: position embeddings + transformer over frames, residual to the input, mean.

    out = mean_t( Transformer(x + P)_t + x_t ) over valid frames, then a linear map.
    Padded frames are excluded from attention (key padding) and from the mean.
    """

    def __init__(self, in_dim: int, embed_dim: int, stream: str = "appearance", layers: int = 2,
                 heads: int = 4, max_frames: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        self.streams = (stream,)
        self.pos = nn.Parameter(torch.zeros(max_frames, in_dim))
        nn.init.normal_(self.pos, std=0.01)
        layer = nn.TransformerEncoderLayer(in_dim, heads, dim_feedforward=2 * in_dim, dropout=dropout,
                                           batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.proj = nn.Linear(in_dim, embed_dim)

    def embed_video(self, feats: dict[str, Tensor], masks: dict[str, Tensor]) -> dict[str, Tensor]:
        s = self.streams[0]
        x, m = feats[s], masks[s]
        if x.shape[1] > self.pos.shape[0]:
            raise ValueError(f"SeqTransfHead: {x.shape[1]} frames > max_frames={self.pos.shape[0]}")
        h = self.transformer(x + self.pos[: x.shape[1]], src_key_padding_mask=~attention_mask(m))
        return {"v": F.normalize(self.proj(masked_mean(h + x, m)), dim=-1)}


@register_head("dcm", "xpool")
class CrossAttentionHead(VideoHead):
    """Text-conditioned pooling: MKTVR's dual cross-modal encoder (X-Pool is the same idea).

    For text query t (already in the joint space) and frames F_v (projected to it):
        r_tv = MultiHeadAttention(Q = t, K = F_v, V = F_v)         (padded frames masked)
        R_tv = LayerNorm(Dropout(FC(r_tv)) + r_tv),   s(t, v) = cos(t, R_tv)
    (Madasu et al., MKTVR, ECIR 2023, eqs. 1-5; Gorti et al., X-Pool, CVPR 2022).
    The pooled video depends on the text, so ``score`` forms a ``[Bt, Bv, E]`` tensor:
    evaluate in chunks (never the full [videos, texts, dim] tensor).
    """

    text_conditioned = True

    def __init__(self, in_dim: int, embed_dim: int, stream: str = "appearance", heads: int = 4,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if embed_dim % heads:
            raise ValueError(f"CrossAttentionHead: embed_dim={embed_dim} not divisible by heads={heads}")
        self.streams = (stream,)
        self.heads = heads
        self.frame_proj = nn.Linear(in_dim, embed_dim)
        self.q = nn.Linear(embed_dim, embed_dim)
        self.k = nn.Linear(embed_dim, embed_dim)
        self.v = nn.Linear(embed_dim, embed_dim)
        self.out = nn.Linear(embed_dim, embed_dim)
        self.fc = nn.Linear(embed_dim, embed_dim)
        self.drop = nn.Dropout(dropout)
        self.ln = nn.LayerNorm(embed_dim)

    def embed_video(self, feats: dict[str, Tensor], masks: dict[str, Tensor]) -> dict[str, Tensor]:
        s = self.streams[0]
        f = self.frame_proj(feats[s])                       # [Bv, T, E]
        bv, t, e = f.shape
        h = self.heads
        return {"k": self.k(f).view(bv, t, h, e // h), "v": self.v(f).view(bv, t, h, e // h),
                "mask": masks[s]}

    def score(self, text_emb: Tensor, video_emb: dict[str, Tensor]) -> Tensor:
        k, v, mask = video_emb["k"], video_emb["v"], video_emb["mask"]
        bt, e = text_emb.shape
        h, dh = k.shape[2], k.shape[3]
        q = self.q(text_emb).view(bt, h, dh)
        logits = torch.einsum("ahd,bthd->abht", q, k) / math.sqrt(dh)       # [Bt, Bv, H, T]
        logits = logits.masked_fill(~attention_mask(mask)[None, :, None, :], float("-inf"))
        attn = logits.softmax(-1)
        # out() and fc() are linear, so they are applied to each video's values once instead
        # of to every (text, video) pair: r = out(attn . v) = attn . (W_out v) + b_out, and
        # fc(r) = attn . (W_fc W_out v) + W_fc b_out + b_fc. Same numbers, ~8x fewer FLOPs.
        u = torch.einsum("bthd,ehd->bthe", v, self.out.weight.view(e, h, dh))   # [Bv, T, H, E]
        u_fc = u @ self.fc.weight.t()
        r = torch.einsum("abht,bthe->abe", attn, u) + self.out.bias
        fc_r = torch.einsum("abht,bthe->abe", attn, u_fc) + (self.fc(self.out.bias))
        pooled = F.normalize(self.ln(self.drop(fc_r) + r), dim=-1)
        return torch.einsum("ae,abe->ab", text_emb, pooled)


@register_head("rivrl")
class PreviewIntensiveHead(VideoHead):
    """RIVRL-style two-branch video encoder: a cheap preview and an overview-aware intensive read.

    * preview: mean of frames -> linear -> space P (the gist of the video);
    * intensive reading: frames, each gated by the preview (x_t * sigmoid(W p)), go through a
      temporal 1-D convolution and attention pooling -> linear -> space I;
    * s(t, v) = w_p cos(t_P, v_P) + (1 - w_p) cos(t_I, v_I), the text projected into both spaces.
    (Dong et al., "Reading-strategy inspired visual representation learning for text-to-video
    retrieval", RIVRL, TCSVT 2022; the text side here is a projection, not their GRU.)
    """

    text_parts = 2          # the text is projected into the preview and the intensive space

    def __init__(self, in_dim: int, embed_dim: int, stream: str = "appearance", preview_weight: float = 0.5,
                 kernel: int = 3) -> None:
        super().__init__()
        self.streams = (stream,)
        self.preview_weight = preview_weight
        self.preview = nn.Linear(in_dim, embed_dim)
        self.gate = nn.Linear(embed_dim, in_dim)
        self.conv = nn.Conv1d(in_dim, in_dim, kernel, padding=kernel // 2)
        self.attn = nn.Linear(in_dim, 1)
        self.intensive = nn.Linear(in_dim, embed_dim)

    def embed_video(self, feats: dict[str, Tensor], masks: dict[str, Tensor]) -> dict[str, Tensor]:
        s = self.streams[0]
        x, m = feats[s], masks[s]
        p = self.preview(masked_mean(x, m))                                # [Bv, E]
        g = x * torch.sigmoid(self.gate(p)).unsqueeze(1)                  # overview-aware frames
        g = g * m.unsqueeze(-1).to(g.dtype)                               # padding stays zero for the conv
        c = F.gelu(self.conv(g.transpose(1, 2)).transpose(1, 2)) + g
        a = self.attn(c).squeeze(-1).masked_fill(~attention_mask(m), float("-inf")).softmax(-1)
        i = self.intensive((a.unsqueeze(-1) * c).sum(1))
        return {"p": F.normalize(p, dim=-1), "i": F.normalize(i, dim=-1)}

    def score(self, text_emb: Tensor, video_emb: dict[str, Tensor]) -> Tensor:
        e = text_emb.shape[1] // 2          # two normalised blocks (TextProjection parts=2)
        tp, ti = text_emb[:, :e], text_emb[:, e:]
        w = self.preview_weight
        return w * (tp @ video_emb["p"].t()) + (1 - w) * (ti @ video_emb["i"].t())


@register_head("activity")
class ActivityHead(VideoHead):
    """Mithun et al.'s activity space input: motion pooled, concatenated with audio when present.

    Silent videos (no valid audio frame) get a learned "no audio" vector and a has-audio flag
    instead of zeros passed off as sound. The concatenation goes through one linear map.
    """

    @classmethod
    def required_streams(cls, spec: Mapping[str, Any]) -> list[str]:
        return [s for s in (spec.get("motion", "motion"), spec.get("audio", "audio")) if s]

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], video_dims: Mapping[str, int], embed_dim: int) -> VideoHead:
        return cls(dict(video_dims), embed_dim, **spec)

    def __init__(self, in_dims: dict[str, int], embed_dim: int, motion: str = "motion",
                 audio: str | None = "audio") -> None:
        super().__init__()
        self.motion, self.audio = motion, audio
        self.streams = (motion,) + ((audio,) if audio else ())
        d = in_dims[motion]
        if audio:
            da = in_dims[audio]
            self.no_audio = nn.Parameter(torch.zeros(da))
            d += da + 1
        self.proj = nn.Linear(d, embed_dim)

    def embed_video(self, feats: dict[str, Tensor], masks: dict[str, Tensor]) -> dict[str, Tensor]:
        parts = [masked_mean(feats[self.motion], masks[self.motion])]
        if self.audio:
            m = masks[self.audio]
            has = m.any(1, keepdim=True)
            a = torch.where(has, masked_mean(feats[self.audio], m), self.no_audio.expand(m.shape[0], -1))
            parts += [a, has.to(a.dtype)]
        return {"v": F.normalize(self.proj(torch.cat(parts, -1)), dim=-1)}



