"""A bag of subword units: the fast trainable text student (seconds per language on a CPU).

A caption's tokens (from the encoder's own tokenizer) are averaged in an
``nn.EmbeddingBag``; hashed pairs of neighbouring tokens (bigrams) add a second bag so
some word order survives ("red circle" vs "red ... circle"); a residual MLP then maps the
sum to the text feature width::

    u = mean_i E[t_i]                       (unigrams, content tokens only)
    b = mean_i B[h(t_i, t_{i+1}) mod K]     (bigrams of neighbouring content tokens)
    x = LayerNorm(u + b);   f = P(x + MLP(x))

E starts from the text tower's token embeddings (mvkit-tiny's, or any open_clip tower's),
so the tokens the tower learnt begin where the tower put them; B starts small and random;
P is the identity when the widths agree. Special tokens (padding, begin / end of text)
carry no content and are left out of both bags. The cost is a gather and a mean per token,
so a translate-train epoch over 16 languages takes about a second on a 2-core CPU, against
minutes for a transformer.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

#: the multiplier of the bigram hash (a prime; the hash is (a * P + b) mod K)
BIGRAM_PRIME = 1_000_003


class BagOfTokens(nn.Module):
    """``tokens [B, L] -> features [B, out_dim]`` (see the module docstring for the formula).

    Args:
        token_embeddings: ``[vocab, width]`` initial unigram table (copied, then trained).
        out_dim: output width (the text feature width the heads expect).
        special_ids: token ids left out of the bags (padding, BOS / EOS, CLS / SEP).
        bigram_buckets: K, rows of the hashed bigram table (0 = unigrams only).
        hidden: width of the MLP's hidden layer (default 2 x width).
        seed: initialises the bigram table and the MLP (so a run is reproducible).
    """

    def __init__(self, token_embeddings: Tensor, out_dim: int, special_ids: Sequence[int] = (),
                 bigram_buckets: int = 8192, hidden: int | None = None, seed: int = 0) -> None:
        super().__init__()
        vocab, width = token_embeddings.shape
        gen = torch.Generator().manual_seed(int(seed))
        self.unigrams = nn.EmbeddingBag(vocab, width, mode="mean")
        with torch.no_grad():
            self.unigrams.weight.copy_(token_embeddings.float())
        self.buckets = int(bigram_buckets)
        self.bigrams = nn.EmbeddingBag(self.buckets, width, mode="mean") if self.buckets else None
        if self.bigrams is not None:
            with torch.no_grad():
                self.bigrams.weight.copy_(torch.randn(self.buckets, width, generator=gen) * 0.02)
        h = int(hidden or 2 * width)
        self.norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, h), nn.GELU(), nn.Linear(h, width))
        self.proj = nn.Identity() if out_dim == width else nn.Linear(width, out_dim)
        for m in [*self.mlp, self.proj]:
            if isinstance(m, nn.Linear):
                bound = 1.0 / m.in_features ** 0.5
                with torch.no_grad():
                    m.weight.copy_((torch.rand(m.weight.shape, generator=gen) * 2 - 1) * bound)
                    m.bias.copy_((torch.rand(m.bias.shape, generator=gen) * 2 - 1) * bound)
        self.register_buffer("special", torch.tensor(sorted({int(i) for i in special_ids}), dtype=torch.long),
                             persistent=False)
        self.out_dim = int(out_dim)

    def _bag(self, table: nn.EmbeddingBag, ids: Tensor, keep: Tensor) -> Tensor:
        """Mean of ``table`` rows of ``ids`` where ``keep`` (row-wise bags; empty bags give 0)."""
        lengths = keep.sum(1)
        offsets = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)[:-1]])
        return table(ids[keep], offsets)

    def forward(self, tokens: Tensor) -> Tensor:
        content = ~torch.isin(tokens, self.special)
        x = self._bag(self.unigrams, tokens, content)
        if self.bigrams is not None and tokens.shape[1] > 1:
            a, b = tokens[:, :-1], tokens[:, 1:]
            pair = content[:, :-1] & content[:, 1:]
            x = x + self._bag(self.bigrams, (a * BIGRAM_PRIME + b) % self.buckets, pair)
        x = self.norm(x)
        return self.proj(x + self.mlp(x))
