"""A DETR decoder layer: moment queries attend to each other, then to the clip memory.

DETR adds the queries' positional embedding to the queries and the clips' to the memory
at every layer (``nn.TransformerDecoder`` cannot), which is what lets a query's position
-- a free learnable vector in Moment-DETR, an anchor's embedding in RGTR -- steer where
it looks. Post-norm, as in DETR and Moment-DETR.
"""
from __future__ import annotations

from torch import Tensor, nn


class DecoderLayer(nn.Module):
    """``(tgt [B,N,d], query_pos [B|1,N,d], memory [B,T,d], mem_pos [B,T,d], pad [B,T]) -> [B,N,d]``."""

    def __init__(self, d_model: int = 128, n_heads: int = 4, ff_dim: int = 256, dropout: float = 0.1) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.ffn = nn.Sequential(nn.Linear(d_model, ff_dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ff_dim, d_model))
        self.norms = nn.ModuleList([nn.LayerNorm(d_model) for _ in range(3)])
        self.drop = nn.Dropout(dropout)

    def forward(self, tgt: Tensor, query_pos: Tensor, memory: Tensor, mem_pos: Tensor, pad: Tensor) -> Tensor:
        q = tgt + query_pos
        tgt = self.norms[0](tgt + self.drop(self.self_attn(q, q, tgt, need_weights=False)[0]))
        tgt = self.norms[1](tgt + self.drop(self.cross_attn(tgt + query_pos, memory + mem_pos, memory,
                                                            key_padding_mask=pad, need_weights=False)[0]))
        return self.norms[2](tgt + self.drop(self.ffn(tgt)))


def mlp(d_in: int, d_hidden: int, d_out: int, layers: int = 3) -> nn.Sequential:
    """DETR's prediction MLP: ``layers`` linear maps with ReLU between them."""
    mods: list[nn.Module] = []
    dims = [d_in] + [d_hidden] * (layers - 1) + [d_out]
    for i in range(layers):
        mods.append(nn.Linear(dims[i], dims[i + 1]))
        if i < layers - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)
