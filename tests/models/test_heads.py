"""Heads: shapes, masks (padding never changes a result), chunked scoring, fusion sums, text side."""
from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from mvkit.models import TextBatch, VideoBatch, create_model, list_models, masked_mean
from mvkit.models.heads import CrossAttentionHead

DIMS = {"appearance": 12, "motion": 8, "audio": 5}
TD = 10


def _videos(b=5, t=6, seed=0, lengths=None, silent=()):
    g = torch.Generator().manual_seed(seed)
    lengths = lengths or [t - (i % 3) for i in range(b)]
    feats = {s: torch.randn(b, t, d, generator=g) for s, d in DIMS.items()}
    masks = {s: torch.arange(t)[None, :] < torch.tensor(lengths)[:, None] for s in DIMS}
    for i in silent:
        masks["audio"][i] = False
    return VideoBatch(feats, masks)


def _texts(b=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, TD, generator=g)
    return TextBatch(x, torch.tensor([i % 2 == 0 for i in range(b)]), ml_features=x.flip(1))


def _model(name, **kw):
    torch.manual_seed(0)
    return create_model(name, video_dims=DIMS, text_dim=TD, embed_dim=8, **kw).eval()


def _pad(vb: VideoBatch, extra: int, junk: float = 7.0) -> VideoBatch:
    """The same videos with ``extra`` padded frames full of junk (mask False)."""
    feats = {s: torch.cat([x, torch.full((x.shape[0], extra, x.shape[2]), junk)], 1) for s, x in vb.feats.items()}
    masks = {s: torch.cat([m, torch.zeros(m.shape[0], extra, dtype=torch.bool)], 1) for s, m in vb.masks.items()}
    # junk also in the already-padded positions
    for s, x in feats.items():
        x[~masks[s]] = junk
    return VideoBatch(feats, masks)


def test_masked_mean_hand_computed():
    x = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    m = torch.tensor([[True, True, False]])
    assert torch.equal(masked_mean(x, m), torch.tensor([[2.0, 3.0]]))
    assert torch.equal(masked_mean(x, torch.zeros_like(m)), torch.zeros(1, 2))


@pytest.mark.parametrize("name", list_models())
def test_shapes_and_range(name):
    m = _model(name)
    s = m.similarity(_texts(4), _videos(5, silent=(1,)))
    assert s.shape == (4, 5) and torch.isfinite(s).all()
    total_w = sum(m.weights.values())
    assert s.abs().max() <= total_w + 1e-5          # a (weighted) sum of cosines


@pytest.mark.parametrize("name", list_models())
def test_padding_is_ignored(name):
    m = _model(name)
    tb, vb = _texts(3), _videos(4, silent=(2,))
    ref = m.similarity(tb, vb)
    assert torch.allclose(m.similarity(tb, _pad(vb, 3)), ref, atol=1e-5)


def test_dcm_chunked_equals_unchunked_and_loop_reference():
    m = _model("dcm")
    tb, vb = _texts(7), _videos(9)
    te, ve = m.embed_text(tb), m.embed_video(vb)
    full = m.score(te, ve)
    for tc, vc in [(1, 1), (3, 2), (7, 9), (100, 4)]:
        assert torch.allclose(m.similarity_matrix(te, ve, tc, vc), full, atol=1e-6)
    # brute force: one (text, video) pair at a time, attention written out per head
    head: CrossAttentionHead = m.heads["main"]
    t = te["main"]
    frames = head.frame_proj(vb.feats["appearance"])
    h = head.heads
    for i in range(t.shape[0]):
        for j in range(frames.shape[0]):
            fj = frames[j][vb.masks["appearance"][j]]                     # valid frames only
            q, k, v = head.q(t[i]).view(h, -1), head.k(fj).view(len(fj), h, -1), head.v(fj).view(len(fj), h, -1)
            a = torch.softmax(torch.einsum("hd,thd->ht", q, k) / math.sqrt(q.shape[1]), -1)
            r = head.out(torch.einsum("ht,thd->hd", a, v).reshape(-1))
            pooled = F.normalize(head.ln(head.fc(r) + r), dim=-1)
            assert torch.allclose(full[i, j], t[i] @ pooled, atol=1e-5)


def test_dcm_chunk_memory_is_bounded(monkeypatch):
    m = _model("dcm")
    te, ve = m.embed_text(_texts(10)), m.embed_video(_videos(12))
    seen = []
    orig = m.heads["main"].score
    monkeypatch.setattr(m.heads["main"], "score", lambda t, v: seen.append((len(t), len(v["k"]))) or orig(t, v))
    m.similarity_matrix(te, ve, text_chunk=4, video_chunk=5)
    assert max(a for a, _ in seen) <= 4 and max(b for _, b in seen) <= 5 and len(seen) == 3 * 3


def test_fusion_is_weighted_sum_of_spaces():
    m = _model("fusion", weights={"object": 1.0, "activity": 0.25})
    tb, vb = _texts(4), _videos(6, silent=(0, 3))
    te, ve = m.embed_text(tb), m.embed_video(vb)
    per = m.space_scores(te, ve)
    assert set(per) == {"object", "activity"}
    assert torch.allclose(m.score(te, ve), per["object"] + 0.25 * per["activity"], atol=1e-6)
    # each space alone is that space's own cosine score (its text part against its pooled videos)
    for space in ("object", "activity"):
        assert torch.allclose(per[space], te[space] @ ve[f"{space}.v"].T, atol=1e-6)
    assert not torch.allclose(per["object"], per["activity"])


def test_no_audio_is_learned_not_zeros():
    m = _model("fusion")
    act = m.heads["activity"]
    vb = _videos(4, silent=(1,))
    e1 = act.embed_video(vb.feats, vb.masks)["v"]
    with torch.no_grad():
        act.no_audio.add_(1.0)
    e2 = act.embed_video(vb.feats, vb.masks)["v"]
    changed = (e1 - e2).abs().sum(1) > 1e-6
    assert changed.tolist() == [False, True, False, False]   # only the silent video uses it
    # a silent video is not the same as a video whose sound is all zeros
    zero = VideoBatch({**vb.feats, "audio": torch.zeros_like(vb.feats["audio"])},
                      {**vb.masks, "audio": vb.masks["appearance"].clone()})
    assert not torch.allclose(act.embed_video(zero.feats, zero.masks)["v"][1], e2[1])


def test_dual_text_path_routes_rows():
    m = _model("dcm_dual")
    tb = _texts(4)
    proj = m.text_projs["main"]
    out = m.embed_text(tb)["main"]
    en = F.normalize(proj.proj(tb.features), dim=-1)
    ml = F.normalize(proj.proj_ml(tb.ml_features), dim=-1)
    assert torch.allclose(out[tb.is_en], en[tb.is_en]) and torch.allclose(out[~tb.is_en], ml[~tb.is_en])


def test_trainable_text_module_reads_tokens_and_dual_path_routes_non_english_to_it():
    torch.manual_seed(0)

    class Toy(torch.nn.Module):          # tokens -> [B, 6]; out_dim tells the factory its width
        out_dim = 6

        def __init__(self):
            super().__init__()
            self.emb = torch.nn.EmbeddingBag(20, 6)

        def forward(self, tokens):
            return self.emb(tokens)

    module = Toy()
    m = create_model("mean", video_dims=DIMS, text_dim=TD, embed_dim=8, text_module=module)
    tokens = torch.tensor([[1, 2, 0], [3, 4, 5], [6, 7, 0]])
    base, ml = m.text(TextBatch(None, torch.tensor([True, False, True]), tokens=tokens))
    assert ml is None and torch.allclose(base, module(tokens))
    assert m.text_projs["main"].proj.in_features == 6          # projection sized by the module
    assert any(n.startswith("text.module.") for n, _ in m.named_parameters())
    # dual path: English rows keep their cached features, the others go through the module
    d = create_model("dcm_dual", video_dims=DIMS, text_dim=TD, embed_dim=8, text_module=module)
    is_en = torch.tensor([True, False, True])
    feats = torch.randn(3, TD)
    base, ml = d.text(TextBatch(feats, is_en, tokens=tokens))
    assert torch.allclose(base, d.text.norm(feats))
    assert torch.allclose(ml[1], module(tokens[1:2])[0]) and (ml[is_en] == 0).all()
    assert d.text_projs["main"].proj_ml.in_features == 6 and d.text_projs["main"].proj.in_features == TD


def test_rivrl_combines_preview_and_intensive():
    m = _model("rivrl")
    head = m.heads["main"]
    te, ve = m.embed_text(_texts(3)), m.embed_video(_videos(4))
    t = te["main"]
    p, i = t[:, :8] @ ve["main.p"].t(), t[:, 8:] @ ve["main.i"].t()
    assert torch.allclose(m.score(te, ve), head.preview_weight * p + (1 - head.preview_weight) * i, atol=1e-6)
    assert torch.allclose(t[:, :8].norm(dim=1), torch.ones(3)) and torch.allclose(t[:, 8:].norm(dim=1), torch.ones(3))


def test_factory_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown model config 'nope'"):
        create_model("nope", video_dims=DIMS, text_dim=TD)
    with pytest.raises(ValueError, match="needs streams \\['audio'\\]"):
        create_model("fusion", video_dims={"appearance": 4, "motion": 4}, text_dim=TD)
    with pytest.raises(ValueError, match="unknown head 'gru'"):
        create_model({"name": "x", "spaces": {"a": {"head": "gru"}}}, video_dims=DIMS, text_dim=TD)


def test_overrides_merge_nested():
    m = create_model("seqtransf", video_dims=DIMS, text_dim=TD, embed_dim=16, spaces={"main": {"layers": 1}})
    assert len(m.heads["main"].transformer.layers) == 1 and m.heads["main"].proj.out_features == 16


def test_standardize_hand_computed():
    from mvkit.models.text import Standardize
    s = Standardize(2)
    x = torch.tensor([[1.0, 10.0], [3.0, 10.0]])
    assert torch.equal(s(x), x)                     # identity before fitting
    s.fit(x)
    assert torch.allclose(s.mean, torch.tensor([2.0, 10.0])) and torch.allclose(s(x)[:, 0], torch.tensor([-1.0, 1.0]))
    assert torch.isfinite(s(x)).all()               # a constant dimension does not divide by zero
