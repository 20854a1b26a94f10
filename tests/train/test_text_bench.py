"""`mvkit bench text`: the old fine-tuning path and today's compute the same thing; the benchmark runs."""
from __future__ import annotations

import torch

from mvkit.bench import text_bench as tb
from mvkit.models.text_encoders import create_text_encoder
from mvkit.train.data import build_split


def test_old_and_new_tower_paths_give_the_same_features(smoke):
    """Re-tokenised, full-context batches (before) and pre-tokenised, packed ones (now): same numbers."""
    dataset, store, enc = smoke
    tower = create_text_encoder("tower", enc)
    data = build_split(dataset, store, "train", ["appearance"], langs=["en", "de", "hi"], cached_text="none",
                       tokenizer=tower)
    rows = torch.arange(0, len(data.captions), max(1, len(data.captions) // 64))
    old = tb._old_batch(data, rows, enc)
    assert old.tokens.shape[1] == enc.tokenizer.context_length
    with torch.no_grad():
        before = tb._FullContext(tower)(old.tokens)
        now = tower(data.text_batch(rows).tokens)
    assert torch.allclose(before, now, atol=1e-5)


def test_throughput_reports_positive_rates(smoke):
    dataset, store, enc = smoke
    r = tb.throughput(dataset, store, enc, "bag", steps=2, batch_size=32)
    assert r["captions"] == 64 and r["captions_per_s"] > 0 and r["train_captions"] > 64


def test_the_packing_bound_counts_full_context_rows_over_packed_rows(smoke):
    """Short captions share rows, so the bound is above 1; a caption needs at least 2 tokens (BOS, EOS)."""
    dataset, store, enc = smoke
    r = tb.throughput(dataset, store, enc, "tower", steps=2, batch_size=32)
    assert 1.0 < r["packing_bound"] <= enc.tokenizer.context_length / 2
