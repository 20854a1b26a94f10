"""BagOfTokens against a loop reference: unigram and hashed-bigram means over content tokens,
LayerNorm, residual MLP; padding and special tokens change nothing."""
from __future__ import annotations

import itertools

import torch

from mvkit.models.bag import BIGRAM_PRIME, BagOfTokens

SPECIAL = (0, 2, 3)      # pad, bos, eos


def _reference(bag: BagOfTokens, tokens: torch.Tensor) -> torch.Tensor:
    out = []
    for row in tokens.tolist():
        ids = [t for t in row if t not in SPECIAL]
        u = torch.stack([bag.unigrams.weight[t] for t in ids]).mean(0) if ids else torch.zeros(bag.unigrams.weight.shape[1])
        pairs = [(a, b) for a, b in itertools.pairwise(row) if a not in SPECIAL and b not in SPECIAL]
        if pairs:
            u = u + torch.stack([bag.bigrams.weight[(a * BIGRAM_PRIME + b) % bag.buckets] for a, b in pairs]).mean(0)
        x = torch.nn.functional.layer_norm(u, u.shape, bag.norm.weight, bag.norm.bias, bag.norm.eps)
        out.append(bag.proj(x + bag.mlp(x)))
    return torch.stack(out)


def test_bag_matches_the_loop_reference_and_ignores_padding():
    emb = torch.randn(50, 8, generator=torch.Generator().manual_seed(1))
    bag = BagOfTokens(emb, 6, SPECIAL, bigram_buckets=13, seed=3)
    tokens = torch.tensor([[2, 5, 7, 9, 3, 0, 0], [2, 11, 3, 0, 0, 0, 0], [2, 5, 9, 7, 3, 0, 0]])
    with torch.no_grad():
        got = bag(tokens)
        assert torch.allclose(got, _reference(bag, tokens), atol=1e-5)
        # more padding, or a batch cut to its longest caption, gives the same features
        assert torch.allclose(bag(torch.cat([tokens, torch.zeros(3, 4, dtype=torch.long)], 1)), got, atol=1e-6)
        assert torch.allclose(bag(tokens[:, :5]), got, atol=1e-6)
    # word order matters through the bigrams (rows 0 and 2 have the same unigrams)
    assert not torch.allclose(got[0], got[2], atol=1e-4)
    no_bigrams = BagOfTokens(emb, 6, SPECIAL, bigram_buckets=0, seed=3)
    with torch.no_grad():
        o = no_bigrams(tokens)
    assert torch.allclose(o[0], o[2], atol=1e-6)


def test_bag_starts_from_the_given_embeddings_and_is_seeded():
    emb = torch.randn(20, 4)
    a, b = BagOfTokens(emb, 4, SPECIAL, 16, seed=0), BagOfTokens(emb, 4, SPECIAL, 16, seed=0)
    assert torch.equal(a.unigrams.weight, emb) and isinstance(a.proj, torch.nn.Identity)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    c = BagOfTokens(emb, 4, SPECIAL, 16, seed=1)
    assert not torch.equal(a.bigrams.weight, c.bigrams.weight)
    assert BagOfTokens(emb, 7, SPECIAL, 16).proj.out_features == 7       # another width: a projection
