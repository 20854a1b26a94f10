import pytest
import torch

from mvkit.metrics import RetrievalAccumulator, text_video_ranks


def test_batched_equals_one_shot_whatever_the_batching():
    g = torch.Generator().manual_seed(0)
    text, video = torch.randn(30, 8, generator=g), torch.randn(10, 8, generator=g)
    cap_vid = torch.arange(30) % 10
    ref_t2v, ref_v2t = text_video_ranks(text, video, cap_vid)
    acc = RetrievalAccumulator()
    for lo in range(0, 30, 7):                           # ragged caption batches
        acc.update_text(text[lo:lo + 7], [f"v{int(v)}" for v in cap_vid[lo:lo + 7]])
    for lo in range(0, 30, 4):                           # each video seen once per caption
        acc.update_video(video[cap_vid[lo:lo + 4]], [f"v{int(v)}" for v in cap_vid[lo:lo + 4]])
    t2v, v2t = acc.ranks(chunk_size=3)
    assert torch.equal(t2v, ref_t2v)
    # videos arrive in order v0..v9 here, so v2t lines up with the reference
    assert torch.equal(v2t, ref_v2t)


def test_hand_computed_ties_are_pessimistic():
    acc = RetrievalAccumulator()
    acc.update_text(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), ["a", "b"])
    acc.update_video(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), ["a", "b"])   # a and b look the same
    t2v, _ = acc.ranks()
    assert t2v.tolist() == [2, 2]                                       # each tie counts against the query
    assert acc.compute()["t2v"]["R1"] == 0.0


def test_inconsistent_or_missing_videos_are_errors():
    acc = RetrievalAccumulator()
    acc.update_video(torch.ones(1, 2), ["a"])
    with pytest.raises(ValueError, match="'a' arrived twice"):
        acc.update_video(torch.zeros(1, 2), ["a"])
    acc.update_text(torch.ones(1, 2), ["zz"])
    with pytest.raises(ValueError, match="never added: \\['zz'\\]"):
        acc.ranks()
