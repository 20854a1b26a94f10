"""Protocol / RetrievalResult / evaluate: numbers carry how they were obtained."""
from __future__ import annotations

import json

import pytest
import torch

from mvkit.metrics import Protocol, RetrievalResult, evaluate, per_language_table, ranks, summarize


def test_protocol_defaults_and_validation():
    p = Protocol()
    assert (p.split, p.direction, p.caption_rule, p.ties, p.normalization, p.selection_split) == (
        "test", "t2v", "all-captions", "pessimistic", "none", "val")
    assert Protocol(direction="v2t").caption_rule == "any-correct-caption"
    assert Protocol(split="test", selection_split="test").leaks_test
    assert not p.leaks_test
    with pytest.raises(ValueError, match="ties"):
        Protocol(ties="random")
    with pytest.raises(ValueError, match="direction"):
        Protocol(direction="t2t")
    with pytest.raises(ValueError, match="temperature"):
        Protocol(normalization="dual_softmax")
    with pytest.raises(ValueError, match="normalization"):
        Protocol(normalization="qb_norm")


def test_result_from_ranks_and_to_dict_is_json():
    r = torch.tensor([1, 3, 12, 1])
    res = RetrievalResult.from_ranks(r, Protocol(dataset="world", language="hi"), ci=True, n_boot=100)
    assert res.metrics == summarize(r) and res.n_queries == 4
    d = json.loads(json.dumps(res.to_dict()))
    assert d["protocol"]["language"] == "hi" and d["protocol"]["ties"] == "pessimistic"
    assert d["metrics"]["R1"] == 50.0 and len(d["ci"]["R1"]) == 2


def test_evaluate_both_directions_with_protocols():
    g = torch.Generator().manual_seed(0)
    video = torch.randn(12, 6, generator=g)
    cap = torch.arange(30) % 12
    text = video[cap] + 0.5 * torch.randn(30, 6, generator=g)
    out = evaluate(text, video, cap, split="val", language="en", chunk_size=5)
    assert out["t2v"].ranks.tolist() == ranks(text @ video.T, cap).tolist()
    assert out["v2t"].protocol.caption_rule == "any-correct-caption"
    assert out["t2v"].protocol.split == "val" and out["t2v"].protocol.temperature is None
    dsl = evaluate(text, video, cap, normalization="dual_softmax", temperature=0.1)
    assert dsl["t2v"].protocol.normalization == "dual_softmax" and dsl["t2v"].protocol.temperature == 0.1
    table = per_language_table(list(out.values()))
    assert list(table["direction"]) == ["t2v", "v2t"] and list(table["language"]) == ["en", "en"]
